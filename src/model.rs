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

/// A location as the analysis uses it, in 16 bytes: a profile may have
/// hundreds of thousands. Its mapping is kept in a column of its own (see
/// [`Profile::location_mapping`]), and its folded flag is not kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub address: u64,
    /// Range in [`Profile::lines`]; the first line is the innermost inlined
    /// callee and the last is the function the code was compiled into.
    pub lines: Range<u32>,
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
/// narrowest width that fits every id of the profile: one byte while the
/// profile has at most 255 locations, two bytes up to 65,535, else four. The
/// offset by one lets the decoder keep the protobuf's own ids, which start at
/// 1, when a profile numbers its locations 1 to N as Go does.
pub(crate) type Frames = SmallNumbers;

impl SmallNumbers {
    fn segment(&self, start: usize, end: usize) -> Segment<'_> {
        match self {
            SmallNumbers::U8(ids) => Segment::Byte(&ids[start..end]),
            SmallNumbers::U16(ids) => Segment::Narrow(&ids[start..end]),
            SmallNumbers::U32(ids) => Segment::Wide(&ids[start..end]),
        }
    }
}

/// The continuation of a sample's stack after the frames stored for the
/// sample itself: frame `offset` of the frames stored for the earlier sample
/// `sample`, and from there on as that sample's stack goes.
///
/// Sibling stacks share their outer frames, and a sample often follows a
/// sibling in the file: in the Go heap profiles of BENCHMARKS.md a sample
/// shared from a tenth to nine tenths of its frames with the one before it.
/// Those frames are stored once. The decoder gives each sample its own
/// leaf-side frames and a tail to the rest, always to an earlier sample, so
/// following tails never loops and takes at most one step per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    pub(crate) sample: u32,
    pub(crate) offset: u32,
}

impl Tail {
    /// The tail of a stack that ends with the sample's own frames.
    pub(crate) const NONE: Tail = Tail {
        sample: u32::MAX,
        offset: 0,
    };
}

/// The frames of all samples and where each stack goes on.
#[derive(Clone, Copy, Debug)]
struct StackStore<'a> {
    frames: &'a Frames,
    starts: &'a [u32],
    tails: &'a [Tail],
}

/// A run of stored frames of a stack, each a [`LocId`] plus one as in
/// [`Frames`]. Code that walks millions of frames matches on the width once
/// per segment and runs a loop generic over [`FrameId`].
#[derive(Clone, Copy, Debug)]
pub enum Segment<'a> {
    Byte(&'a [u8]),
    Narrow(&'a [u16]),
    Wide(&'a [u32]),
}

/// A stored frame of a [`Segment`].
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

/// Turns a stored frame, a location id plus one, into the id. The decoder
/// never stores 0, and the wrapping keeps this free of a panic branch.
#[inline(always)]
fn stored_id(stored: u32) -> LocId {
    LocId(stored.wrapping_sub(1))
}

/// The stack of one sample, leaf first: the sample's own frames, then those
/// its tail leads to.
#[derive(Clone, Copy, Debug)]
pub struct Stack<'a> {
    store: StackStore<'a>,
    sample: u32,
    len: u32,
}

impl<'a> Stack<'a> {
    pub fn len(self) -> usize {
        self.len as usize
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// Returns the leaf location, if the stack has any.
    pub fn first(self) -> Option<LocId> {
        self.iter().next()
    }

    /// Returns the runs of stored frames that make up the stack, leaf first.
    #[inline]
    pub fn segments(self) -> Segments<'a> {
        self.segments_before(Tail::NONE)
    }

    /// Returns the segments of the frames before position `stop` of the
    /// stack, which must be the tail of the next sample or [`Tail::NONE`].
    #[inline]
    pub(crate) fn segments_before(self, stop: Tail) -> Segments<'a> {
        Segments {
            store: self.store,
            next: Tail {
                sample: self.sample,
                offset: 0,
            },
            stop,
        }
    }

    /// Returns the index of the sample whose stack this is.
    pub(crate) fn sample_index(self) -> usize {
        self.sample as usize
    }

    /// Returns the frames stored for this sample itself.
    pub(crate) fn own_len(self) -> usize {
        let sample = self.sample as usize;
        (self.store.starts[sample + 1] - self.store.starts[sample]) as usize
    }

    /// Returns where the stack goes on after its own frames.
    pub(crate) fn tail(self) -> Tail {
        self.store.tails[self.sample as usize]
    }

    pub fn iter(self) -> StackIter<'a> {
        StackIter {
            current: SegmentIter::Byte([].iter()),
            segments: self.segments(),
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

/// Iterator over the segments of a [`Stack`].
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    store: StackStore<'a>,
    /// The sample whose frames come next, and where in them.
    next: Tail,
    /// The position where the walk ends, if before the root.
    stop: Tail,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    #[inline]
    fn next(&mut self) -> Option<Segment<'a>> {
        let sample = self.next.sample as usize;
        let base = *self.store.starts.get(sample)? as usize;
        let start = base + self.next.offset as usize;
        // A chain of tails visits each sample at most once, because the
        // decoder makes every tail point to an earlier sample.
        let end = if self.next.sample == self.stop.sample {
            self.next = Tail::NONE;
            base + self.stop.offset as usize
        } else {
            self.next = self.store.tails[sample];
            self.store.starts[sample + 1] as usize
        };
        Some(self.store.frames.segment(start, end))
    }
}

/// Iterator over the locations of a [`Stack`].
#[derive(Clone, Debug)]
pub struct StackIter<'a> {
    current: SegmentIter<'a>,
    segments: Segments<'a>,
}

#[derive(Clone, Debug)]
enum SegmentIter<'a> {
    Byte(std::slice::Iter<'a, u8>),
    Narrow(std::slice::Iter<'a, u16>),
    Wide(std::slice::Iter<'a, u32>),
}

impl Iterator for StackIter<'_> {
    type Item = LocId;

    #[inline]
    fn next(&mut self) -> Option<LocId> {
        loop {
            let stored = match &mut self.current {
                SegmentIter::Byte(ids) => ids.next().map(|&id| u32::from(id)),
                SegmentIter::Narrow(ids) => ids.next().map(|&id| u32::from(id)),
                SegmentIter::Wide(ids) => ids.next().copied(),
            };
            if let Some(stored) = stored {
                return Some(stored_id(stored));
            }
            self.current = match self.segments.next()? {
                Segment::Byte(ids) => SegmentIter::Byte(ids.iter()),
                Segment::Narrow(ids) => SegmentIter::Narrow(ids.iter()),
                Segment::Wide(ids) => SegmentIter::Wide(ids.iter()),
            };
        }
    }
}

/// Small numbers, each stored in the fewest bytes that fit every number so
/// far: one, two or four. Stack frames, stack lengths and label set indexes
/// mostly take one or two bytes each.
#[derive(Clone, Debug)]
pub(crate) enum SmallNumbers {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Default for SmallNumbers {
    fn default() -> Self {
        SmallNumbers::U8(Vec::new())
    }
}

impl SmallNumbers {
    pub(crate) fn len(&self) -> usize {
        match self {
            SmallNumbers::U8(numbers) => numbers.len(),
            SmallNumbers::U16(numbers) => numbers.len(),
            SmallNumbers::U32(numbers) => numbers.len(),
        }
    }

    pub(crate) fn iter(&self) -> SmallIter<'_> {
        match self {
            SmallNumbers::U8(numbers) => SmallIter::U8(numbers.iter()),
            SmallNumbers::U16(numbers) => SmallIter::U16(numbers.iter()),
            SmallNumbers::U32(numbers) => SmallIter::U32(numbers.iter()),
        }
    }

    /// Returns number `index`; panics if there is none.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> u32 {
        match self {
            SmallNumbers::U8(numbers) => u32::from(numbers[index]),
            SmallNumbers::U16(numbers) => u32::from(numbers[index]),
            SmallNumbers::U32(numbers) => numbers[index],
        }
    }
}

/// Iterator over [`SmallNumbers`], in order.
pub(crate) enum SmallIter<'a> {
    U8(std::slice::Iter<'a, u8>),
    U16(std::slice::Iter<'a, u16>),
    U32(std::slice::Iter<'a, u32>),
}

impl Iterator for SmallIter<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        match self {
            SmallIter::U8(numbers) => numbers.next().map(|&n| u32::from(n)),
            SmallIter::U16(numbers) => numbers.next().map(|&n| u32::from(n)),
            SmallIter::U32(numbers) => numbers.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            SmallIter::U8(numbers) => numbers.size_hint(),
            SmallIter::U16(numbers) => numbers.size_hint(),
            SmallIter::U32(numbers) => numbers.size_hint(),
        }
    }
}

/// The values of all samples, row by row: in four bytes each while every
/// value of the profile fits, as in most heap profiles, else in eight.
#[derive(Clone, Debug)]
pub(crate) enum ValueStore {
    Narrow(Vec<i32>),
    Wide(Vec<i64>),
}

impl Default for ValueStore {
    fn default() -> Self {
        ValueStore::Narrow(Vec::new())
    }
}

impl Samples {
    fn stack_store(&self) -> StackStore<'_> {
        StackStore {
            frames: &self.frames,
            starts: &self.stack_starts,
            tails: &self.tails,
        }
    }
}

impl ValueStore {
    pub(crate) fn len(&self) -> usize {
        match self {
            ValueStore::Narrow(values) => values.len(),
            ValueStore::Wide(values) => values.len(),
        }
    }

    fn rows(&self, width: usize) -> ValueRows<'_> {
        match self {
            ValueStore::Narrow(values) => ValueRows::Narrow(values.chunks_exact(width)),
            ValueStore::Wide(values) => ValueRows::Wide(values.chunks_exact(width)),
        }
    }

    fn row(&self, start: usize, end: usize) -> Values<'_> {
        match self {
            ValueStore::Narrow(values) => Values::Narrow(&values[start..end]),
            ValueStore::Wide(values) => Values::Wide(&values[start..end]),
        }
    }
}

/// The values of one sample, one per sample type.
#[derive(Clone, Copy, Debug)]
pub enum Values<'a> {
    Narrow(&'a [i32]),
    Wide(&'a [i64]),
}

impl<'a> Values<'a> {
    pub fn len(self) -> usize {
        match self {
            Values::Narrow(values) => values.len(),
            Values::Wide(values) => values.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Returns the value of sample type `index`; panics if there is none.
    #[inline]
    pub fn get(self, index: usize) -> i64 {
        match self {
            Values::Narrow(values) => i64::from(values[index]),
            Values::Wide(values) => values[index],
        }
    }

    pub fn iter(self) -> impl DoubleEndedIterator<Item = i64> + 'a {
        let (narrow, wide) = match self {
            Values::Narrow(values) => (values, &[][..]),
            Values::Wide(values) => (&[][..], values),
        };
        let narrow = narrow.iter().map(|&value| i64::from(value));
        narrow.chain(wide.iter().copied())
    }

    /// Copies the values into `out`, which must have room for them all.
    #[inline]
    pub fn copy_to(self, out: &mut [i64]) {
        match self {
            Values::Narrow(values) => {
                for (slot, &value) in out.iter_mut().zip(values) {
                    *slot = i64::from(value);
                }
            }
            Values::Wide(values) => out[..values.len()].copy_from_slice(values),
        }
    }

    pub fn to_vec(self) -> Vec<i64> {
        self.iter().collect()
    }
}

/// The rows of a [`ValueStore`], in order.
enum ValueRows<'a> {
    Narrow(std::slice::ChunksExact<'a, i32>),
    Wide(std::slice::ChunksExact<'a, i64>),
}

impl<'a> Iterator for ValueRows<'a> {
    type Item = Values<'a>;

    #[inline]
    fn next(&mut self) -> Option<Values<'a>> {
        match self {
            ValueRows::Narrow(rows) => rows.next().map(Values::Narrow),
            ValueRows::Wide(rows) => rows.next().map(Values::Wide),
        }
    }
}

/// All samples of a profile, stored column-wise so that large profiles stay
/// compact: sample `i` has its own frames `frames[stack_starts[i]..
/// stack_starts[i+1]]`, then those its tail `tails[i]` leads to, and values
/// `values[i * width..(i + 1) * width]`.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub(crate) stack_starts: Vec<u32>,
    pub(crate) tails: Vec<Tail>,
    /// Frames in each sample's whole stack.
    pub(crate) stack_lens: SmallNumbers,
    pub(crate) frames: Frames,
    pub(crate) values: ValueStore,
    /// The index in [`Profile::label_sets`] of each sample's labels.
    pub(crate) label_sets: SmallNumbers,
    pub(crate) width: usize,
}

/// A borrowed view of one sample.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    /// Leaf first.
    pub stack: Stack<'a>,
    pub values: Values<'a>,
    pub labels: &'a [Label],
}

/// Iterator over the samples of a profile, in the order of the file.
pub struct SampleIter<'a> {
    store: StackStore<'a>,
    index: u32,
    values: ValueRows<'a>,
    label_sets: SmallIter<'a>,
    lens: SmallIter<'a>,
    sets: &'a [Vec<Label>],
}

impl<'a> Iterator for SampleIter<'a> {
    type Item = Sample<'a>;

    #[inline]
    fn next(&mut self) -> Option<Sample<'a>> {
        let set = self.label_sets.next()?;
        let len = self.lens.next()?;
        let values = self.values.next()?;
        let sample = self.index;
        self.index += 1;
        Some(Sample {
            stack: Stack {
                store: self.store,
                sample,
                len,
            },
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
    /// The mapping of each location as its index plus one, 0 for none.
    pub(crate) location_mappings: Vec<u32>,
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

    /// Returns the mapping of a location, if the file gives one.
    pub fn location_mapping(&self, id: LocId) -> Option<&Mapping> {
        let stored = *self.location_mappings.get(id.index())?;
        self.mappings.get(stored.checked_sub(1)? as usize)
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
        let width = samples.width;
        Sample {
            stack: Stack {
                store: samples.stack_store(),
                sample: index as u32,
                len: samples.stack_lens.get(index),
            },
            values: samples.values.row(index * width, (index + 1) * width),
            labels: &self.label_sets[samples.label_sets.get(index) as usize],
        }
    }

    pub fn samples(&self) -> SampleIter<'_> {
        let samples = &self.samples;
        SampleIter {
            store: samples.stack_store(),
            index: 0,
            // Values have a width of at least 1 whenever there are samples.
            values: samples.values.rows(samples.width.max(1)),
            label_sets: samples.label_sets.iter(),
            lens: samples.stack_lens.iter(),
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
        for row in self.samples.values.rows(width.max(1)) {
            for (total, value) in totals.iter_mut().zip(row.iter()) {
                *total = total.wrapping_add(value);
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
