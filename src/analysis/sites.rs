//! Aggregation of samples into sites: functions, or functions and lines, with
//! flat and cumulative values the way `go tool pprof -top` computes them.
//!
//! Flat values go to the leaf frame of each sample (the innermost inlined
//! callee). Cumulative values go once to every distinct site on the stack, so
//! recursion is not counted twice.

use std::collections::HashMap;

use super::sampling::Sampling;
use crate::model::{FrameId, LocId, Profile, Stack};

/// Grouping of samples into sites, as `go tool pprof -functions` and `-lines`
/// group them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Granularity {
    #[default]
    Functions,
    Lines,
}

/// One site: a function, or a line in a function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteKey {
    pub function: String,
    /// Source file and line; set only at line granularity.
    pub file: Option<String>,
    pub line: Option<i64>,
}

impl SiteKey {
    pub fn display(&self) -> String {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{} {file}:{line}", self.function),
            _ => self.function.clone(),
        }
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
    /// Sampling variance of each site's flat in-use bytes (see [`Sampling`]).
    pub variance: Vec<f64>,
    pub width: usize,
    index: HashMap<SiteKey, usize>,
}

impl SiteTable {
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
        for (i, location) in profile.locations.iter().enumerate() {
            let lines = profile.location_lines(LocId(i as u32));
            if lines.is_empty() {
                let key = SiteKey {
                    function: format!("{:#x}", location.address),
                    file: None,
                    line: None,
                };
                let site = this.intern(key);
                this.sites.push(site);
            }
            for line in lines {
                let function = profile.function(line.function);
                let key = match granularity {
                    Granularity::Functions => SiteKey {
                        function: profile.str(function.name).to_string(),
                        file: None,
                        line: None,
                    },
                    Granularity::Lines => SiteKey {
                        function: profile.str(function.name).to_string(),
                        file: Some(profile.str(function.filename).to_string()),
                        line: Some(line.line),
                    },
                };
                let site = this.intern(key);
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
    let mut seen = vec![usize::MAX; count];
    let mut variance = vec![0.0; count];
    let sampling = Sampling::of(profile);
    for (index, sample) in profile.samples().enumerate() {
        let leaf = sample
            .stack
            .iter()
            .find_map(|location| sites.of(location).first());
        let Some(&leaf) = leaf else { continue };
        variance[leaf as usize] += sampling.variance(sample.values);
        add(&mut flat, leaf as usize, width, sample.values);
        if !cumulative {
            continue;
        }
        add(&mut cum, leaf as usize, width, sample.values);
        seen[leaf as usize] = index;
        let mut walk = CumulativeWalk {
            sites: &sites,
            seen: &mut seen,
            cum: &mut cum,
            sample: index,
            values: sample.values,
        };
        match sample.stack {
            Stack::Byte(ids) => walk.add(ids),
            Stack::Narrow(ids) => walk.add(ids),
            Stack::Wide(ids) => walk.add(ids),
        }
    }
    SiteTable {
        keys: sites.keys,
        flat,
        cum,
        totals: profile.totals(),
        variance,
        width,
        index: sites.index,
    }
}

/// Adds one sample's values to the cumulative value of every distinct site
/// of its stack.
struct CumulativeWalk<'a> {
    sites: &'a LocationSites,
    /// The index of the last sample added to each site.
    seen: &'a mut [usize],
    cum: &'a mut [i64],
    sample: usize,
    values: &'a [i64],
}

impl CumulativeWalk<'_> {
    /// Visits the same sites as `LocationSites::stack`, without its flattening
    /// iterator, in a loop compiled for each frame width. A location of one
    /// site takes one lookup.
    fn add<T: FrameId>(&mut self, frames: &[T]) {
        let width = self.values.len();
        for &frame in frames {
            let location = frame.location();
            let single = self.sites.single[location.index()];
            if single != SEVERAL {
                self.visit(single as usize, width);
                continue;
            }
            for &site in self.sites.of(location) {
                self.visit(site as usize, width);
            }
        }
    }

    #[inline(always)]
    fn visit(&mut self, site: usize, width: usize) {
        if self.seen[site] != self.sample {
            self.seen[site] = self.sample;
            add(self.cum, site, width, self.values);
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
