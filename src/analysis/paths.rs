//! Retention paths: samples grouped by the allocating function (the leaf
//! frame) and the owner, the user function that keeps the allocation alive.
//!
//! The owner is the first frame, walking from the leaf towards the root, that
//! is outside the Go runtime and standard library, outside the library of a
//! known third-party wrapper (a logger, github.com/pkg/errors), and compiled as
//! a function of its own, not inlined into its caller. A loop that runs for
//! the life of a worker is rarely inlined, while small helpers that call the
//! wrapper usually are.

use std::collections::HashMap;

use super::sampling::Sampling;
use crate::model::{LocId, Profile, Stack};

/// Allocating function and owner of a group of samples.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathKey {
    pub site: String,
    /// `None` when every frame is in the runtime or standard library.
    pub owner: Option<String>,
}

/// Values of one path in one profile.
#[derive(Clone, Debug, Default)]
pub struct PathValues {
    /// Summed sample values, one per sample type.
    pub values: Vec<i64>,
    /// Frames from the leaf up to and including the owner, of the sample with
    /// the largest value at the first sample type that has one.
    pub frames: Vec<String>,
    /// Frames above the owner, callers first-to-last towards the root, of
    /// the same sample as `frames`.
    pub callers: Vec<String>,
    /// Sampling variance of the in-use bytes estimate (see [`Sampling`]);
    /// 0 for exact profiles and for profiles that are not sampled by size.
    pub variance: f64,
}

/// The import path of a Go function name: `net/http` for
/// `net/http.(*Request).WithContext`, `main` for `main.run.func1`.
pub fn import_path(function: &str) -> &str {
    let symbol_start = function.find(['(', '[']).unwrap_or(function.len());
    let package_start = function[..symbol_start]
        .rfind('/')
        .map_or(0, |slash| slash + 1);
    let path_end = function[package_start..symbol_start]
        .find('.')
        .map_or(symbol_start, |dot| package_start + dot);
    &function[..path_end]
}

/// Returns true for functions of the Go runtime and standard library: their
/// import path has no dot in its first element (`net/http`, `context`), except
/// the `main` package.
pub fn is_standard(function: &str) -> bool {
    let path = import_path(function);
    if path == "main" {
        return false;
    }
    let first = path.split('/').next().unwrap_or(path);
    !first.contains('.') || function.starts_with("type:")
}

/// Returns the module-like prefix of a function's import path, used to tell frames of
/// the wrapping library: `github.com/org/repo` for hosted paths, else the first
/// two elements (`go.uber.org/zap`).
pub fn library_of(function: &str) -> &str {
    let path = import_path(function);
    let elements = if path.starts_with("github.com/")
        || path.starts_with("gitlab.com/")
        || path.starts_with("bitbucket.org/")
    {
        3
    } else {
        2
    };
    match path.match_indices('/').nth(elements - 1) {
        Some((index, _)) => &path[..index],
        None => path,
    }
}

/// Facts about one function name that the owner rule uses.
struct Facts<'a> {
    name: &'a str,
    standard: bool,
    /// A known wrapper outside the standard library (a logger's With).
    third_party_wrapper: bool,
    library: &'a str,
}

/// Facts of every distinct function name, computed once per profile, and
/// the name index of every function.
struct Names<'a> {
    facts: Vec<Facts<'a>>,
    of_function: Vec<u32>,
    /// Name index of runtime.malg, which allocates goroutine structs.
    malg: Option<u32>,
}

impl<'a> Names<'a> {
    fn new(profile: &'a Profile) -> Self {
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut facts = Vec::new();
        let mut of_function = Vec::with_capacity(profile.functions.len());
        for function in &profile.functions {
            let name = profile.str(function.name);
            let id = *index.entry(name).or_insert_with(|| {
                let standard = is_standard(name);
                facts.push(Facts {
                    name,
                    standard,
                    third_party_wrapper: !standard
                        && crate::diagnosis::catalogue::family_of(name).is_some(),
                    library: library_of(name),
                });
                facts.len() as u32 - 1
            });
            of_function.push(id);
        }
        let malg = index.get("runtime.malg").copied();
        Names {
            facts,
            of_function,
            malg,
        }
    }
}

/// A frame of an expanded stack: a name index, and whether the compiler
/// inlined it into its caller.
#[derive(Clone, Copy)]
struct Frame {
    name: u32,
    inlined: bool,
}

/// Frames of every location, innermost first, and the library of the first
/// known third-party wrapper among them, computed once per profile.
struct LocationFrames<'a> {
    starts: Vec<u32>,
    frames: Vec<Frame>,
    /// The wrapper library of each location, or `None` while no location
    /// has one, as in most profiles, which then skip the search.
    wrapping: Option<Vec<Option<&'a str>>>,
}

impl<'a> LocationFrames<'a> {
    fn new(profile: &Profile, names: &Names<'a>) -> Self {
        let mut this = LocationFrames {
            starts: vec![0],
            frames: Vec::new(),
            wrapping: None,
        };
        for index in 0..profile.locations.len() {
            let lines = profile.location_lines(LocId(index as u32));
            let mut wrapping = None;
            for (i, line) in lines.iter().enumerate() {
                let name = names.of_function[line.function.index()];
                let facts = &names.facts[name as usize];
                if facts.third_party_wrapper && facts.library != "main" {
                    wrapping = wrapping.or(Some(facts.library));
                }
                this.frames.push(Frame {
                    name,
                    inlined: i + 1 < lines.len(),
                });
            }
            this.starts.push(this.frames.len() as u32);
            if let Some(library) = wrapping {
                let count = profile.locations.len();
                this.wrapping.get_or_insert_with(|| vec![None; count])[index] = Some(library);
            }
        }
        this
    }

    fn of(&self, location: LocId) -> &[Frame] {
        let i = location.index();
        &self.frames[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}

/// Expands `stack` into `frames`, leaf first, up to and including the owner,
/// and returns the owner's index. Frames past the owner are not expanded.
fn expand_to_owner(
    names: &Names<'_>,
    locations: &LocationFrames<'_>,
    stack: Stack<'_>,
    frames: &mut Vec<Frame>,
) -> Option<usize> {
    frames.clear();
    // The third-party library of a known wrapper on the stack (a logger such
    // as logrus or zap, or github.com/pkg/errors): its own frames are skipped
    // on the way to the owner.
    let wrapping = match &locations.wrapping {
        Some(wrapping) => stack.iter().find_map(|l| wrapping[l.index()]),
        None => None,
    };
    let mut first_user = None;
    for location in stack {
        for &frame in locations.of(location) {
            frames.push(frame);
            let facts = &names.facts[frame.name as usize];
            let user = !facts.standard && wrapping.is_none_or(|library| facts.library != library);
            if !user {
                continue;
            }
            first_user.get_or_insert(frames.len() - 1);
            if !frame.inlined {
                return Some(frames.len() - 1);
            }
        }
    }
    if first_user.is_some() {
        return first_user;
    }
    // Every frame outside the standard library is in the wrapping library:
    // take the outermost of them.
    frames
        .iter()
        .rposition(|frame| !names.facts[frame.name as usize].standard)
}

/// Expands a whole stack, leaf first.
fn expand_all(locations: &LocationFrames<'_>, stack: Stack<'_>, frames: &mut Vec<Frame>) {
    frames.clear();
    for location in stack {
        frames.extend_from_slice(locations.of(location));
    }
}

/// Sums of one path while a profile is read.
struct Accumulator {
    values: Vec<i64>,
    variance: f64,
    frames: Vec<u32>,
    callers: Vec<u32>,
    frames_weight: i64,
}

/// Groups all samples of a profile by path.
pub fn collect(profile: &Profile, sampling: &Sampling) -> HashMap<PathKey, PathValues> {
    let names = Names::new(profile);
    let width = profile.sample_types.len();
    // Keyed by site << 32 | owner, so the hash takes one write per sample
    // instead of two. Consecutive samples often share a path, so the last
    // one found is tried before the map.
    let mut index: foldhash::HashMap<u64, usize> = foldhash::HashMap::default();
    let mut paths: Vec<(u64, Accumulator)> = Vec::new();
    let mut last: Option<(u64, usize)> = None;
    let locations = LocationFrames::new(profile, &names);
    let mut frames = Vec::new();
    let mut whole = Vec::new();
    // In goroutine profiles every leaf is runtime.gopark, so the site is the
    // call the owner blocks in (runtime.chanrecv1, sync.(*WaitGroup).Wait).
    let blocking_site = profile.kind() == crate::model::ProfileKind::Goroutine;
    for sample in profile.samples() {
        let owner = expand_to_owner(&names, &locations, sample.stack, &mut frames);
        let Some(leaf) = frames.first() else { continue };
        let site = match owner {
            Some(i) if blocking_site && i > 0 => frames[i - 1].name,
            // Goroutine structs: name the allocation after runtime.malg, not
            // after the allocator's own frames below it.
            None => names
                .malg
                .filter(|m| frames.iter().any(|f| f.name == *m))
                .unwrap_or(leaf.name),
            _ => leaf.name,
        };
        let owner_name = owner.map_or(u32::MAX, |i| frames[i].name);
        let key = u64::from(site) << 32 | u64::from(owner_name);
        let slot = match last {
            Some((last_key, slot)) if last_key == key => slot,
            _ => *index.entry(key).or_insert_with(|| {
                paths.push((
                    key,
                    Accumulator {
                        values: vec![0; width],
                        variance: 0.0,
                        frames: Vec::new(),
                        callers: Vec::new(),
                        frames_weight: i64::MIN,
                    },
                ));
                paths.len() - 1
            }),
        };
        last = Some((key, slot));
        let entry = &mut paths[slot].1;
        entry.variance += sampling.variance(sample.values);
        for (total, value) in entry.values.iter_mut().zip(sample.values.iter()) {
            *total = total.wrapping_add(value);
        }
        let weight = sample.values.iter().rev().find(|&v| v != 0).unwrap_or(0);
        if weight > entry.frames_weight {
            entry.frames_weight = weight;
            expand_all(&locations, sample.stack, &mut whole);
            let end = owner.map_or(whole.len(), |i| i + 1);
            entry.frames.clear();
            entry.frames.extend(whole[..end].iter().map(|f| f.name));
            entry.callers.clear();
            entry.callers.extend(whole[end..].iter().map(|f| f.name));
        }
    }
    let name = |id: u32| names.facts[id as usize].name.to_string();
    paths
        .into_iter()
        .map(|(key, accumulator)| {
            let (site, owner) = ((key >> 32) as u32, key as u32);
            let key = PathKey {
                site: name(site),
                owner: (owner != u32::MAX).then(|| name(owner)),
            };
            let values = PathValues {
                values: accumulator.values,
                frames: accumulator.frames.iter().map(|&id| name(id)).collect(),
                callers: accumulator.callers.iter().map(|&id| name(id)).collect(),
                variance: accumulator.variance,
            };
            (key, values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_library_by_first_element() {
        assert!(is_standard("context.WithValue"));
        assert!(is_standard("net/http.(*Request).WithContext"));
        assert!(is_standard("runtime.malg"));
        assert!(!is_standard("main.pollEventsLeaky"));
        assert!(!is_standard("main.main.func1"));
        assert!(!is_standard(
            "github.com/sirupsen/logrus.(*Entry).WithField"
        ));
        assert!(!is_standard("go.uber.org/zap.(*Logger).With"));
    }

    #[test]
    fn library_is_the_module_like_prefix() {
        assert_eq!(
            library_of("github.com/sirupsen/logrus.(*Entry).WithField"),
            "github.com/sirupsen/logrus"
        );
        assert_eq!(
            library_of("github.com/org/repo/internal/x.(*T).M"),
            "github.com/org/repo"
        );
        assert_eq!(
            library_of("go.uber.org/zap/zapcore.(*CheckedEntry).Write"),
            "go.uber.org/zap"
        );
        assert_eq!(
            library_of("go.uber.org/zap.(*Logger).With"),
            "go.uber.org/zap"
        );
        assert_eq!(library_of("main.run"), "main");
    }
}
