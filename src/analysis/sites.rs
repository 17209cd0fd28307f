//! Aggregation of samples into sites: functions, or functions and lines, with
//! flat and cumulative values the way `go tool pprof -top` computes them.
//!
//! Flat values go to the leaf frame of each sample (the innermost inlined
//! callee). Cumulative values go once to every distinct site on the stack, so
//! recursion is not counted twice.

use std::collections::HashMap;
use std::sync::Arc;

use super::sampling::Sampling;
use crate::model::{FrameId, FuncId, LocId, Profile, Segment, Stack, StrId, Tail};

/// Grouping of samples into sites, as `go tool pprof -functions` and `-lines`
/// group them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Granularity {
    #[default]
    Functions,
    Lines,
}

/// One site: a function, or a line in a function. The names are shared
/// between the sites of one profile, so that a long name repeated on many
/// lines is stored and hashed once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteKey {
    pub function: Name,
    /// Source file and line; set only at line granularity.
    pub file: Option<Name>,
    pub line: Option<i64>,
}

/// A name that compares and hashes in constant time: names are interned for
/// the whole process, so equal names share one allocation, however many
/// profiles and sites they come from.
#[derive(Clone)]
pub struct Name {
    text: Arc<str>,
    hash: u64,
}

/// The names made so far, by text, with their hashes.
type Interned = std::collections::HashMap<Arc<str>, u64>;

impl Name {
    pub fn new(text: &str) -> Self {
        static NAMES: std::sync::OnceLock<std::sync::Mutex<(Interned, std::hash::RandomState)>> =
            std::sync::OnceLock::new();
        let names = NAMES.get_or_init(Default::default);
        // A panic while the lock was held leaves the set as it was.
        let mut guard = names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (interned, hasher) = &mut *guard;
        if let Some((text, &hash)) = interned.get_key_value(text) {
            return Name {
                text: text.clone(),
                hash,
            };
        }
        // Keyed at random, so a file cannot be built to make names collide.
        let hash = std::hash::BuildHasher::hash_one(&*hasher, text);
        let text: Arc<str> = Arc::from(text);
        interned.insert(text.clone(), hash);
        Name { text, hash }
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.text, f)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        // Interned: equal names are one allocation.
        Arc::ptr_eq(&self.text, &other.text)
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self == other {
            return std::cmp::Ordering::Equal;
        }
        self.text.cmp(&other.text)
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Self {
        Name::new(text)
    }
}

impl SiteKey {
    /// Returns the name go tool pprof prints for the site: the function,
    /// then the place when the site is a line.
    pub fn display(&self) -> String {
        match self.place() {
            Some(place) if self.function.is_empty() => place,
            Some(place) => format!("{} {place}", self.function),
            None => self.function.to_string(),
        }
    }

    /// Returns the file and line of a line site as go tool pprof prints
    /// them: `file:line`, the file alone at line 0, or nothing without
    /// either.
    pub fn place(&self) -> Option<String> {
        let file = self.file.as_deref().unwrap_or("");
        match self.line {
            Some(line) if line != 0 => Some(format!("{file}:{line}")),
            _ if !file.is_empty() => Some(file.to_string()),
            _ => None,
        }
    }
}

/// Returns the name go tool pprof gives a frame without a function name:
/// the base name of the location's mapping in brackets, else `<unknown>`.
fn object_name(profile: &Profile, location: LocId) -> Name {
    let file = profile
        .location_mapping(location)
        .map_or("", |mapping| profile.str(mapping.filename));
    if file.is_empty() {
        return Name::new("<unknown>");
    }
    let trimmed = file.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().filter(|base| !base.is_empty());
    Name::new(&format!("[{}]", base.unwrap_or("/")))
}

/// Cleans a file name as Go's `filepath.Clean` does on Unix: repeated and
/// trailing slashes and `.` elements dropped, `..` elements resolved where a
/// name precedes them.
pub fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Flat and cumulative values of every site for every sample type.
#[derive(Clone, Debug)]
pub struct SiteTable {
    pub keys: Vec<SiteKey>,
    /// `flat[site * width + sample_type]`.
    pub flat: Vec<i64>,
    pub cum: Vec<i64>,
    pub totals: Vec<i64>,
    /// The totals `go tool pprof` reports and takes shares of: sums of the
    /// absolute values of the samples, or of the samples a diff labels
    /// `pprof::base` when it has them. Empty, like `cum`, from
    /// [`aggregate_flat`].
    pub absolute_totals: Vec<i64>,
    /// Sampling variance of each site's flat in-use bytes (see [`Sampling`]).
    pub variance: Vec<f64>,
    pub width: usize,
    index: HashMap<SiteKey, usize>,
}

impl SiteTable {
    /// Returns a table of one sample type with the given flat and cum value
    /// of each function site.
    #[cfg(test)]
    pub(crate) fn of_functions(rows: &[(&str, i64, i64)], absolute_total: i64) -> Self {
        let keys: Vec<SiteKey> = rows
            .iter()
            .map(|&(function, _, _)| SiteKey {
                function: Name::new(function),
                file: None,
                line: None,
            })
            .collect();
        let index = keys.iter().cloned().zip(0..).collect();
        SiteTable {
            keys,
            flat: rows.iter().map(|&(_, flat, _)| flat).collect(),
            cum: rows.iter().map(|&(_, _, cum)| cum).collect(),
            totals: vec![rows.iter().map(|&(_, flat, _)| flat).sum()],
            absolute_totals: vec![absolute_total],
            variance: vec![0.0; rows.len()],
            width: 1,
            index,
        }
    }

    pub fn flat(&self, site: usize, sample_type: usize) -> i64 {
        self.flat[site * self.width + sample_type]
    }

    pub fn cum(&self, site: usize, sample_type: usize) -> i64 {
        self.cum[site * self.width + sample_type]
    }

    pub fn find(&self, key: &SiteKey) -> Option<usize> {
        self.index.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Marks a location of more than one site in [`LocationSites::single`].
const SEVERAL: u32 = u32::MAX;

/// Marks a function whose site is not known yet.
const UNKNOWN_SITE: u32 = u32::MAX;

/// The site of every frame of every location, computed once per profile.
pub struct LocationSites {
    starts: Vec<u32>,
    sites: Vec<u32>,
    /// The site of each location that has exactly one, as most locations do
    /// (those without inlined calls); [`SEVERAL`] for the others.
    single: Vec<u32>,
    pub keys: Vec<SiteKey>,
    index: HashMap<SiteKey, usize>,
}

impl LocationSites {
    pub fn new(profile: &Profile, granularity: Granularity) -> Self {
        let mut this = LocationSites {
            starts: vec![0],
            sites: Vec::new(),
            single: Vec::with_capacity(profile.locations.len()),
            keys: Vec::new(),
            index: HashMap::new(),
        };
        // Names by string, for the strings that functions use: a file name
        // is looked up in the process-wide set once per profile.
        let mut names: HashMap<StrId, Name, foldhash::fast::RandomState> = HashMap::default();
        let mut name = |id: StrId| -> Name {
            names
                .entry(id)
                .or_insert_with(|| Name::new(profile.str(id)))
                .clone()
        };
        // File names as go tool pprof shows them, cleaned.
        let mut files: HashMap<StrId, Name, foldhash::fast::RandomState> = HashMap::default();
        let mut file = |id: StrId| -> Name {
            files
                .entry(id)
                .or_insert_with(|| match profile.str(id) {
                    "" => Name::new(""),
                    text => Name::new(&clean_path(text)),
                })
                .clone()
        };
        // The site of each function, or of each function and line, once
        // known: a profile has far fewer of them than locations, and looking
        // one up here costs less than hashing its name.
        let mut by_function = vec![UNKNOWN_SITE; profile.functions.len()];
        let mut by_line: HashMap<(FuncId, i64), u32, foldhash::fast::RandomState> =
            HashMap::default();
        for i in 0..profile.locations.len() {
            let lines = profile.location_lines(LocId(i as u32));
            let location_id = LocId(i as u32);
            if lines.is_empty() {
                // go tool pprof names such a frame after its mapping, and
                // the address goes at function and line granularity alike.
                let key = SiteKey {
                    function: object_name(profile, location_id),
                    file: None,
                    line: None,
                };
                let site = this.intern(key);
                this.sites.push(site);
            }
            for line in lines {
                let function = profile.function(line.function);
                if profile.str(function.name).is_empty() {
                    // Named by place when there is one, else by mapping, so
                    // the site depends on the location, not the function.
                    let place = match granularity {
                        Granularity::Lines => {
                            let file = file(function.filename);
                            (line.line != 0 || !file.is_empty()).then_some((file, line.line))
                        }
                        Granularity::Functions => None,
                    };
                    let key = match place {
                        Some((file, number)) => SiteKey {
                            function: Name::new(""),
                            file: Some(file),
                            line: Some(number),
                        },
                        None => SiteKey {
                            function: object_name(profile, location_id),
                            file: None,
                            line: None,
                        },
                    };
                    let site = this.intern(key);
                    this.sites.push(site);
                    continue;
                }
                let site = match granularity {
                    Granularity::Functions => {
                        let known = &mut by_function[line.function.index()];
                        if *known == UNKNOWN_SITE {
                            let function = profile.function(line.function);
                            *known = this.intern(SiteKey {
                                function: name(function.name),
                                file: None,
                                line: None,
                            });
                        }
                        *known
                    }
                    Granularity::Lines => *by_line
                        .entry((line.function, line.line))
                        .or_insert_with(|| {
                            let function = profile.function(line.function);
                            this.intern(SiteKey {
                                function: name(function.name),
                                file: Some(file(function.filename)),
                                line: Some(line.line),
                            })
                        }),
                };
                this.sites.push(site);
            }
            let start = *this.starts.last().unwrap_or(&0) as usize;
            let own = &this.sites[start..];
            this.single
                .push(if own.len() == 1 { own[0] } else { SEVERAL });
            this.starts.push(this.sites.len() as u32);
        }
        this
    }

    fn intern(&mut self, key: SiteKey) -> u32 {
        if let Some(&site) = self.index.get(&key) {
            return site as u32;
        }
        let site = self.keys.len();
        self.index.insert(key.clone(), site);
        self.keys.push(key);
        site as u32
    }

    /// Sites of a location's frames, innermost first.
    pub fn of(&self, location: LocId) -> &[u32] {
        let i = location.index();
        &self.sites[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// Sites of a whole stack, leaf first.
    pub fn stack<'a>(&'a self, stack: Stack<'a>) -> impl Iterator<Item = u32> + 'a {
        stack
            .iter()
            .flat_map(move |loc| self.of(loc).iter().copied())
    }
}

/// Aggregates every sample of `profile` into sites.
pub fn aggregate(profile: &Profile, granularity: Granularity) -> SiteTable {
    aggregate_with(profile, granularity, true)
}

/// Aggregates flat values only, which takes one step per sample instead of
/// one per frame; `cum` is left empty.
pub fn aggregate_flat(profile: &Profile, granularity: Granularity) -> SiteTable {
    aggregate_with(profile, granularity, false)
}

fn aggregate_with(profile: &Profile, granularity: Granularity, cumulative: bool) -> SiteTable {
    let sites = LocationSites::new(profile, granularity);
    let width = profile.sample_types.len();
    let count = sites.keys.len();
    let mut flat = vec![0i64; count * width];
    let mut cum = vec![0i64; if cumulative { count * width } else { 0 }];
    let mut stack_sites = StackSites::new(&sites);
    let mut variance = vec![0.0; count];
    let sampling = Sampling::of(profile);
    let mut values = vec![0i64; width];
    for sample in profile.samples() {
        let leaf = sample
            .stack
            .iter()
            .find_map(|location| sites.of(location).first());
        let Some(&leaf) = leaf else { continue };
        sample.values.copy_to(&mut values);
        variance[leaf as usize] += sampling.variance(sample.values);
        add(&mut flat, leaf as usize, width, &values);
        if !cumulative {
            continue;
        }
        stack_sites.move_to(sample.stack);
        for &site in &stack_sites.active {
            add(&mut cum, site as usize, width, &values);
        }
    }
    SiteTable {
        keys: sites.keys,
        flat,
        cum,
        totals: profile.totals(),
        absolute_totals: if cumulative {
            absolute_totals(profile)
        } else {
            Vec::new()
        },
        variance,
        width,
        index: sites.index,
    }
}

/// Returns the totals `go tool pprof` reports (see
/// [`SiteTable::absolute_totals`]).
fn absolute_totals(profile: &Profile) -> Vec<i64> {
    let width = profile.sample_types.len();
    let mut all = vec![0i64; width];
    let mut base = vec![0i64; width];
    let index = |text: &str| profile.strings.iter().position(|s| s == text);
    let base_label = index("pprof::base").zip(index("true"));
    let mut any_base = false;
    for sample in profile.samples() {
        let is_base = base_label.is_some_and(|(key, value)| {
            let (key, value) = (key as u32, value as u32);
            sample
                .labels
                .iter()
                .any(|l| l.key.0 == key && l.str.0 == value)
        });
        any_base |= is_base;
        for (t, value) in sample.values.iter().enumerate() {
            all[t] = all[t].wrapping_add(value.wrapping_abs());
            if is_base {
                base[t] = base[t].wrapping_add(value.wrapping_abs());
            }
        }
    }
    // As go tool pprof does, base samples decide only when they sum to more
    // than 0 for the sample type.
    if any_base {
        for (total, base) in all.iter_mut().zip(&base) {
            if *base > 0 {
                *total = *base;
            }
        }
    }
    all
}

/// The distinct sites of one stack at a time, for cumulative values, which
/// count each site once per sample however often it recurs. Consecutive
/// samples often share their outer frames (see [`Tail`]). Moving the counts
/// from one such stack to the next takes removing the previous stack's
/// leaf-side frames and adding the new ones, not a walk over whole stacks.
/// When that would cost more than counting the new stack afresh, the counts
/// are rebuilt.
struct StackSites<'a> {
    sites: &'a LocationSites,
    /// Occurrences of each site in the current stack.
    count: Vec<u32>,
    /// The sites that occur in the current stack, and the index of each
    /// site in this list.
    active: Vec<u32>,
    slot: Vec<u32>,
    current: Option<Stack<'a>>,
}

impl<'a> StackSites<'a> {
    fn new(sites: &'a LocationSites) -> Self {
        StackSites {
            sites,
            count: vec![0; sites.keys.len()],
            active: Vec::new(),
            slot: vec![0; sites.keys.len()],
            current: None,
        }
    }

    /// Makes the counts those of `stack`.
    fn move_to(&mut self, stack: Stack<'a>) {
        let tail = stack.tail();
        let own = stack.own_len();
        // The previous stack's frames before the point where this stack's
        // tail enters it are the ones this stack does not share.
        let slide = match self.current {
            Some(previous)
                if tail != Tail::NONE && previous.sample_index() + 1 == stack.sample_index() =>
            {
                let removed = previous.len() - (stack.len() - own);
                (removed + own <= stack.len() + self.active.len()).then_some(previous)
            }
            _ => None,
        };
        match slide {
            Some(previous) => {
                for segment in previous.segments_before(tail) {
                    self.apply(segment, Self::remove);
                }
                for segment in stack.segments_before(tail) {
                    self.apply(segment, Self::insert);
                }
            }
            None => {
                for &site in &self.active {
                    self.count[site as usize] = 0;
                }
                self.active.clear();
                for segment in stack.segments() {
                    self.apply(segment, Self::insert);
                }
            }
        }
        self.current = Some(stack);
    }

    /// Calls `change` with every site of every frame of `segment`, in a loop
    /// compiled for each frame width.
    #[inline]
    fn apply(&mut self, segment: Segment<'_>, change: fn(&mut Self, u32)) {
        match segment {
            Segment::Byte(ids) => self.apply_frames(ids, change),
            Segment::Narrow(ids) => self.apply_frames(ids, change),
            Segment::Wide(ids) => self.apply_frames(ids, change),
        }
    }

    #[inline]
    fn apply_frames<T: FrameId>(&mut self, frames: &[T], change: fn(&mut Self, u32)) {
        for &frame in frames {
            let location = frame.location();
            let single = self.sites.single[location.index()];
            if single != SEVERAL {
                change(self, single);
                continue;
            }
            let sites = self.sites;
            for &site in sites.of(location) {
                change(self, site);
            }
        }
    }

    #[inline]
    fn insert(&mut self, site: u32) {
        let count = &mut self.count[site as usize];
        *count += 1;
        if *count == 1 {
            self.slot[site as usize] = self.active.len() as u32;
            self.active.push(site);
        }
    }

    #[inline]
    fn remove(&mut self, site: u32) {
        let count = &mut self.count[site as usize];
        *count -= 1;
        if *count == 0 {
            let slot = self.slot[site as usize] as usize;
            self.active.swap_remove(slot);
            if let Some(&moved) = self.active.get(slot) {
                self.slot[moved as usize] = slot as u32;
            }
        }
    }
}

#[inline]
fn add(table: &mut [i64], site: usize, width: usize, values: &[i64]) {
    let row = &mut table[site * width..(site + 1) * width];
    let values = &values[..width];
    for i in 0..width {
        row[i] = row[i].wrapping_add(values[i]);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn clean_path_matches_go() {
        let cases = [
            ("x/./y//z.go", "x/y/z.go"),
            ("/a/b/../c.go", "/a/c.go"),
            ("../a/../../b.go", "../../b.go"),
            ("/../a.go", "/a.go"),
            ("a/..", "."),
            ("dir/", "dir"),
            ("/", "/"),
        ];
        for (path, cleaned) in cases {
            assert_eq!(clean_path(path), cleaned, "{path}");
        }
    }

    #[test]
    fn line_site_names_follow_pprof() {
        let site = |function: &str, file: &str, line: i64| SiteKey {
            function: Name::new(function),
            file: Some(Name::new(file)),
            line: Some(line),
        };
        assert_eq!(site("main.f", "a.go", 10).display(), "main.f a.go:10");
        assert_eq!(site("main.g", "w.go", 0).display(), "main.g w.go");
        assert_eq!(site("", "e.go", 7).display(), "e.go:7");
        assert_eq!(site("main.h", "", 0).display(), "main.h");
    }
    use crate::testing::{decode, encode, sibling_stacks, Random, TestSample};

    /// Sums each sample's values into every distinct function of its stack,
    /// one sample at a time, by name.
    fn naive_cum(profile: &Profile) -> BTreeMap<String, i64> {
        let mut cum = BTreeMap::new();
        for sample in profile.samples() {
            let mut names = BTreeSet::new();
            for location in sample.stack {
                for line in profile.location_lines(location) {
                    names.insert(profile.function_name(line.function).to_string());
                }
            }
            for name in names {
                *cum.entry(name).or_insert(0) += sample.values.get(1);
            }
        }
        cum
    }

    #[test]
    fn cumulative_values_count_each_site_once() {
        // Few locations, so that stacks recur often, and some with inlined
        // calls, so that locations have several sites.
        let mut random = Random(0x51_7cc1_b727_220a);
        let stacks = sibling_stacks(&mut random, 4_000, 12);
        let samples: Vec<TestSample> = stacks
            .into_iter()
            .map(|stack| TestSample {
                values: [1, 1 + random.below(1000) as i64],
                stack,
                bytes: None,
            })
            .collect();
        let profile = decode(&encode(12, 3, &samples));
        let table = aggregate(&profile, Granularity::Functions);
        let cum: BTreeMap<String, i64> = table
            .keys
            .iter()
            .enumerate()
            .map(|(site, key)| (key.function.to_string(), table.cum(site, 1)))
            .filter(|&(_, value)| value != 0)
            .collect();
        assert_eq!(cum, naive_cum(&profile));
        assert!(
            cum.contains_key("main.caller3"),
            "no inlined caller in {cum:?}"
        );
    }
}
