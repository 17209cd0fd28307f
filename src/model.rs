//! The in-memory profile: interned strings, typed ids and flat sample arrays.
//!
//! Nothing here depends on protobuf. The decoder fills a [`Profile`] and checks
//! every cross reference, so the lookups below can index without failing.

use std::ops::Range;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// Index into the profile's string table.
    StrId
);
id_type!(
    /// Index into [`Profile::functions`].
    FuncId
);
id_type!(
    /// Index into [`Profile::locations`].
    LocId
);
id_type!(
    /// Index into [`Profile::mappings`].
    MappingId
);

/// The measure and unit of one value column, such as inuse_space in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueType {
    pub kind: StrId,
    pub unit: StrId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: StrId,
    pub system_name: StrId,
    pub filename: StrId,
    pub start_line: i64,
}

/// One frame of a location: a function and a line in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub function: FuncId,
    pub line: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub address: u64,
    pub mapping: Option<MappingId>,
    /// Range in [`Profile::lines`]; the first line is the innermost inlined
    /// callee and the last is the function the code was compiled into.
    pub lines: Range<u32>,
    pub is_folded: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub memory_start: u64,
    pub memory_limit: u64,
    pub file_offset: u64,
    pub filename: StrId,
    pub build_id: StrId,
    pub has_functions: bool,
}

/// A sample label: a string value, or a number with an optional unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub key: StrId,
    pub str: StrId,
    pub num: i64,
    pub num_unit: StrId,
}

/// The locations of all stacks, each stored as its [`LocId`] plus one in the
/// narrowest width that holds every id of the profile: one byte while the
/// profile has at most 255 locations, two bytes up to 65,535, else four. The
/// offset by one lets the decoder keep the protobuf's own ids, which start at
/// 1, when a profile numbers its locations 1 to N as Go does.
#[derive(Clone, Debug)]
pub(crate) enum Frames {
    Byte(Vec<u8>),
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Frames {
    fn default() -> Self {
        Frames::Byte(Vec::new())
    }
}

impl Frames {
    fn slice(&self, start: usize, end: usize) -> Stack<'_> {
        match self {
            Frames::Byte(ids) => Stack::Byte(&ids[start..end]),
            Frames::Narrow(ids) => Stack::Narrow(&ids[start..end]),
            Frames::Wide(ids) => Stack::Wide(&ids[start..end]),
        }
    }
}

/// The stack of one sample, leaf first. Each element is a [`LocId`] plus one,
/// as in [`Frames`]; iterating yields the ids themselves.
#[derive(Clone, Copy, Debug)]
pub enum Stack<'a> {
    Byte(&'a [u8]),
    Narrow(&'a [u16]),
    Wide(&'a [u32]),
}

impl<'a> Stack<'a> {
    pub fn len(self) -> usize {
        match self {
            Stack::Byte(ids) => ids.len(),
            Stack::Narrow(ids) => ids.len(),
            Stack::Wide(ids) => ids.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Returns the leaf location, if the stack has any.
    pub fn first(self) -> Option<LocId> {
        self.iter().next()
    }

    pub fn iter(self) -> StackIter<'a> {
        match self {
            Stack::Byte(ids) => StackIter::Byte(ids.iter()),
            Stack::Narrow(ids) => StackIter::Narrow(ids.iter()),
            Stack::Wide(ids) => StackIter::Wide(ids.iter()),
        }
    }

    /// Returns the location ids as a vector, leaf first.
    pub fn to_vec(self) -> Vec<LocId> {
        self.iter().collect()
    }
}

impl<'a> IntoIterator for Stack<'a> {
    type Item = LocId;
    type IntoIter = StackIter<'a>;

    fn into_iter(self) -> StackIter<'a> {
        self.iter()
    }
}

/// A stored frame of a [`Stack`] slice. Code that walks millions of frames
/// matches on the stack's width once and runs a loop generic over this trait,
/// instead of matching once per frame through [`StackIter`].
pub trait FrameId: Copy {
    fn location(self) -> LocId;
}

impl FrameId for u8 {
    #[inline(always)]
    fn location(self) -> LocId {
        stored_id(u32::from(self))
    }
}

impl FrameId for u16 {
    #[inline(always)]
    fn location(self) -> LocId {
        stored_id(u32::from(self))
    }
}

impl FrameId for u32 {
    #[inline(always)]
    fn location(self) -> LocId {
        stored_id(self)
    }
}

/// Iterator over the locations of a [`Stack`].
#[derive(Clone, Debug)]
pub enum StackIter<'a> {
    Byte(std::slice::Iter<'a, u8>),
    Narrow(std::slice::Iter<'a, u16>),
    Wide(std::slice::Iter<'a, u32>),
}

/// Turns a stored frame, a location id plus one, into the id. The decoder
/// never stores 0, and the wrapping keeps this free of a panic branch.
#[inline]
fn stored_id(stored: u32) -> LocId {
    LocId(stored.wrapping_sub(1))
}

impl Iterator for StackIter<'_> {
    type Item = LocId;

    #[inline]
    fn next(&mut self) -> Option<LocId> {
        let stored = match self {
            StackIter::Byte(ids) => u32::from(*ids.next()?),
            StackIter::Narrow(ids) => u32::from(*ids.next()?),
            StackIter::Wide(ids) => *ids.next()?,
        };
        Some(stored_id(stored))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match self {
            StackIter::Byte(ids) => ids.len(),
            StackIter::Narrow(ids) => ids.len(),
            StackIter::Wide(ids) => ids.len(),
        };
        (len, Some(len))
    }
}

impl DoubleEndedIterator for StackIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<LocId> {
        let stored = match self {
            StackIter::Byte(ids) => u32::from(*ids.next_back()?),
            StackIter::Narrow(ids) => u32::from(*ids.next_back()?),
            StackIter::Wide(ids) => *ids.next_back()?,
        };
        Some(stored_id(stored))
    }
}

impl ExactSizeIterator for StackIter<'_> {}

/// All samples of a profile, stored column-wise so that large profiles stay
/// compact: sample `i` has frames `frames[stack_starts[i]..stack_starts[i+1]]`
/// and values `values[i * width..(i + 1) * width]`.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub(crate) stack_starts: Vec<u32>,
    pub(crate) frames: Frames,
    pub(crate) values: Vec<i64>,
    pub(crate) label_sets: Vec<u32>,
    pub(crate) width: usize,
}

/// A borrowed view of one sample.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    /// Leaf first.
    pub stack: Stack<'a>,
    pub values: &'a [i64],
    pub labels: &'a [Label],
}

/// Iterator over the samples of a profile, in the order of the file.
pub struct SampleIter<'a> {
    starts: std::slice::Windows<'a, u32>,
    values: std::slice::ChunksExact<'a, i64>,
    label_sets: std::slice::Iter<'a, u32>,
    frames: &'a Frames,
    sets: &'a [Vec<Label>],
}

impl<'a> Iterator for SampleIter<'a> {
    type Item = Sample<'a>;

    #[inline]
    fn next(&mut self) -> Option<Sample<'a>> {
        let set = *self.label_sets.next()?;
        let bounds = self.starts.next()?;
        let values = self.values.next()?;
        Some(Sample {
            stack: self.frames.slice(bounds[0] as usize, bounds[1] as usize),
            values,
            labels: &self.sets[set as usize],
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.label_sets.size_hint()
    }
}

impl ExactSizeIterator for SampleIter<'_> {}

/// Kind of a profile, judged from its sample types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// Heap or allocs profile (alloc_objects, alloc_space, inuse_objects, inuse_space).
    Heap,
    Goroutine,
    Cpu,
    /// Block or mutex contention.
    Contention,
    /// Anything else, named by its sample types.
    Other(String),
}

impl std::fmt::Display for ProfileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileKind::Heap => f.write_str("heap"),
            ProfileKind::Goroutine => f.write_str("goroutine"),
            ProfileKind::Cpu => f.write_str("CPU"),
            ProfileKind::Contention => f.write_str("contention"),
            ProfileKind::Other(types) => write!(f, "{types}"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub strings: Vec<String>,
    pub sample_types: Vec<ValueType>,
    pub default_sample_type: Option<StrId>,
    pub period_type: Option<ValueType>,
    pub period: i64,
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub comments: Vec<StrId>,
    pub drop_frames: StrId,
    pub keep_frames: StrId,
    pub functions: Vec<Function>,
    pub locations: Vec<Location>,
    pub lines: Vec<Line>,
    pub mappings: Vec<Mapping>,
    pub(crate) samples: Samples,
    pub(crate) label_sets: Vec<Vec<Label>>,
}

impl Profile {
    pub fn str(&self, id: StrId) -> &str {
        &self.strings[id.index()]
    }

    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id.index()]
    }

    pub fn function_name(&self, id: FuncId) -> &str {
        self.str(self.function(id).name)
    }

    pub fn location(&self, id: LocId) -> &Location {
        &self.locations[id.index()]
    }

    /// Frames of a location, innermost inlined callee first.
    pub fn location_lines(&self, id: LocId) -> &[Line] {
        let range = &self.location(id).lines;
        &self.lines[range.start as usize..range.end as usize]
    }

    pub fn sample_count(&self) -> usize {
        self.samples.label_sets.len()
    }

    pub fn sample(&self, index: usize) -> Sample<'_> {
        let samples = &self.samples;
        let start = samples.stack_starts[index] as usize;
        let end = samples.stack_starts[index + 1] as usize;
        let width = samples.width;
        Sample {
            stack: samples.frames.slice(start, end),
            values: &samples.values[index * width..(index + 1) * width],
            labels: &self.label_sets[samples.label_sets[index] as usize],
        }
    }

    pub fn samples(&self) -> SampleIter<'_> {
        let samples = &self.samples;
        SampleIter {
            starts: samples.stack_starts.windows(2),
            // Values have a width of at least 1 whenever there are samples.
            values: samples.values.chunks_exact(samples.width.max(1)),
            label_sets: samples.label_sets.iter(),
            frames: &samples.frames,
            sets: &self.label_sets,
        }
    }

    /// Names of the sample types, such as `inuse_space`.
    pub fn sample_type_names(&self) -> Vec<&str> {
        self.sample_types.iter().map(|t| self.str(t.kind)).collect()
    }

    pub fn sample_type_index(&self, name: &str) -> Option<usize> {
        self.sample_types
            .iter()
            .position(|t| self.str(t.kind) == name)
    }

    pub fn sample_unit(&self, index: usize) -> &str {
        self.str(self.sample_types[index].unit)
    }

    /// Returns the sample type `go tool pprof` shows when none is chosen: the one named
    /// by default_sample_type, else the last.
    pub fn default_sample_index(&self) -> usize {
        self.default_sample_type
            .and_then(|id| self.sample_types.iter().position(|t| t.kind == id))
            .unwrap_or(self.sample_types.len().saturating_sub(1))
    }

    /// Sums of every value column over all samples.
    pub fn totals(&self) -> Vec<i64> {
        let width = self.samples.width;
        let mut totals = vec![0i64; width];
        for row in self.samples.values.chunks_exact(width.max(1)) {
            for (total, value) in totals.iter_mut().zip(row) {
                *total = total.wrapping_add(*value);
            }
        }
        totals
    }

    pub fn kind(&self) -> ProfileKind {
        let names = self.sample_type_names();
        let has = |name: &str| names.contains(&name);
        if has("inuse_space") || has("alloc_space") {
            ProfileKind::Heap
        } else if has("goroutine") {
            ProfileKind::Goroutine
        } else if has("cpu") || (has("samples") && names.len() == 2) {
            ProfileKind::Cpu
        } else if has("contentions") || has("delay") {
            ProfileKind::Contention
        } else {
            ProfileKind::Other(names.join("/"))
        }
    }

    /// Returns the numeric label `key` of a sample, if present.
    pub fn numeric_label(&self, sample: &Sample<'_>, key: &str) -> Option<i64> {
        sample
            .labels
            .iter()
            .find(|label| label.str.0 == 0 && self.str(label.key) == key)
            .map(|label| label.num)
    }
}
