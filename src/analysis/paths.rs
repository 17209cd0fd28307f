//! Retention paths: samples grouped by the allocating function (the leaf
//! frame) and the owner, the user function that holds the allocation.
//!
//! The owner is the first frame, walking from the leaf towards the root, that
//! is neither in the Go runtime or standard library nor in the library of the
//! allocating function, and that was compiled as a function of its own (not
//! inlined into its caller): a loop that runs for the life of a worker is
//! never an inlined helper, while small helpers that call the wrapper are.

use std::collections::HashMap;

use super::sampling::Sampling;
use crate::model::{LocId, Profile};

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
    frames_weight: i64,
    /// Sampling variance of the in-use bytes estimate (see [`Sampling`]);
    /// 0 for exact profiles and for profiles that are not sampled by size.
    pub variance: f64,
}

/// The import path of a Go function name: `net/http` for
/// `net/http.(*Request).WithContext`, `main` for `main.run.func1`.
pub fn import_path(function: &str) -> &str {
    let symbol_start = function.find(['(', '[']).unwrap_or(function.len());
    let package_start = function[..symbol_start].rfind('/').map_or(0, |slash| slash + 1);
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

/// The module-like prefix of a function's import path, used to tell frames of
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

/// A frame of an expanded stack.
struct Frame<'a> {
    function: &'a str,
    inlined: bool,
}

fn expand<'a>(profile: &'a Profile, stack: &[LocId], frames: &mut Vec<Frame<'a>>) {
    frames.clear();
    for &location in stack {
        let lines = profile.location_lines(location);
        for (i, line) in lines.iter().enumerate() {
            frames.push(Frame {
                function: profile.function_name(line.function),
                inlined: i + 1 < lines.len(),
            });
        }
    }
}

/// Index of the owner frame in a leaf-first stack.
fn owner_index(frames: &[Frame<'_>]) -> Option<usize> {
    let wrapping = wrapping_library(frames);
    let is_user = |frame: &Frame<'_>| {
        !is_standard(frame.function)
            && wrapping.is_none_or(|library| library_of(frame.function) != library)
    };
    let mut first_user = None;
    for (i, frame) in frames.iter().enumerate() {
        if !is_user(frame) {
            continue;
        }
        first_user.get_or_insert(i);
        if !frame.inlined {
            return Some(i);
        }
    }
    if first_user.is_some() {
        return first_user;
    }
    // Every frame outside the standard library is in the wrapping library:
    // take the outermost of them.
    frames.iter().rposition(|frame| !is_standard(frame.function))
}

/// The third-party library of a known wrapper on the stack (a logger such as
/// logrus or zap, or github.com/pkg/errors), whose own frames are skipped on
/// the way to the owner.
fn wrapping_library<'a>(frames: &[Frame<'a>]) -> Option<&'a str> {
    frames
        .iter()
        .filter(|frame| !is_standard(frame.function))
        .find(|frame| crate::diagnosis::catalogue::family_of(frame.function).is_some())
        .map(|frame| library_of(frame.function))
        .filter(|library| *library != "main")
}

/// Groups all samples of a profile by path.
pub fn collect(profile: &Profile, sampling: &Sampling) -> HashMap<PathKey, PathValues> {
    let width = profile.sample_types.len();
    let mut paths: HashMap<PathKey, PathValues> = HashMap::new();
    let mut frames = Vec::new();
    // In goroutine profiles every leaf is runtime.gopark; the call the owner
    // blocks in (runtime.chanrecv1, sync.(*WaitGroup).Wait) says more.
    let blocking_site = profile.kind() == crate::model::ProfileKind::Goroutine;
    for sample in profile.samples() {
        expand(profile, sample.stack, &mut frames);
        let Some(leaf) = frames.first() else { continue };
        let owner = owner_index(&frames);
        let site = match owner {
            Some(i) if blocking_site && i > 0 => frames[i - 1].function,
            _ => leaf.function,
        };
        let key = PathKey {
            site: site.to_string(),
            owner: owner.map(|i| frames[i].function.to_string()),
        };
        let entry = paths.entry(key).or_insert_with(|| PathValues {
            values: vec![0; width],
            frames: Vec::new(),
            frames_weight: i64::MIN,
            variance: 0.0,
        });
        entry.variance += sampling.variance(sample.values);
        for (total, value) in entry.values.iter_mut().zip(sample.values) {
            *total = total.wrapping_add(*value);
        }
        let weight = sample.values.iter().rev().copied().find(|&v| v != 0).unwrap_or(0);
        if weight > entry.frames_weight {
            entry.frames_weight = weight;
            let end = owner.map_or(frames.len(), |i| i + 1);
            entry.frames = frames[..end].iter().map(|f| f.function.to_string()).collect();
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_library_is_told_by_the_first_path_element() {
        assert!(is_standard("context.WithValue"));
        assert!(is_standard("net/http.(*Request).WithContext"));
        assert!(is_standard("runtime.malg"));
        assert!(!is_standard("main.pollEventsLeaky"));
        assert!(!is_standard("main.main.func1"));
        assert!(!is_standard("github.com/sirupsen/logrus.(*Entry).WithField"));
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
        assert_eq!(library_of("go.uber.org/zap/zapcore.(*CheckedEntry).Write"), "go.uber.org/zap");
        assert_eq!(library_of("go.uber.org/zap.(*Logger).With"), "go.uber.org/zap");
        assert_eq!(library_of("main.run"), "main");
    }
}
