//! Folding of samples into stacks of frames, root first, with inlined
//! functions as frames of their own.

use std::collections::HashMap;
use std::sync::Arc;

use super::{DiffStack, Frame, Stack};
use crate::model::{LocId, Profile};

/// Folds every sample of `profile` into stacks valued by sample type
/// `sample_index`. Samples with the same frames are summed, stacks whose sum is
/// zero are left out, and the result is sorted by frames.
pub fn fold(profile: &Profile, sample_index: usize) -> Vec<Stack> {
    let mut stacks: Vec<Stack> = sum_stacks(profile, sample_index)
        .into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|(frames, value)| Stack {
            frames,
            value: value as f64,
        })
        .collect();
    stacks.sort_by(|a, b| a.frames.cmp(&b.frames));
    stacks
}

/// Folds two profiles into stacks valued by one sample type in each. A stack
/// found in only one profile has 0 in the other. Stacks that are zero in both
/// are left out, and the result is sorted by frames.
pub fn fold_diff(
    before: &Profile,
    before_index: usize,
    after: &Profile,
    after_index: usize,
) -> Vec<DiffStack> {
    let mut values: HashMap<Vec<Frame>, (i64, i64)> = HashMap::new();
    for (frames, value) in sum_stacks(before, before_index) {
        values.entry(frames).or_default().0 = value;
    }
    for (frames, value) in sum_stacks(after, after_index) {
        values.entry(frames).or_default().1 = value;
    }
    let mut stacks: Vec<DiffStack> = values
        .into_iter()
        .filter(|(_, (before, after))| *before != 0 || *after != 0)
        .map(|(frames, (before, after))| DiffStack {
            frames,
            before: before as f64,
            after: after as f64,
        })
        .collect();
    stacks.sort_by(|a, b| a.frames.cmp(&b.frames));
    stacks
}

/// Sums the values of samples whose frames are the same. Sums wrap on
/// overflow, as [`Profile::totals`] does, so the stacks add up to the total.
fn sum_stacks(profile: &Profile, sample_index: usize) -> HashMap<Vec<Frame>, i64> {
    let location_frames = frames_of_locations(profile);
    let mut sums: HashMap<Vec<Frame>, i64> = HashMap::new();
    let mut locations = Vec::new();
    for sample in profile.samples() {
        let value = sample.values.get(sample_index);
        if value == 0 {
            continue;
        }
        // Stacks are stored leaf first; folded stacks start at the root.
        locations.clear();
        locations.extend(sample.stack.iter());
        let frames: Vec<Frame> = locations
            .iter()
            .rev()
            .flat_map(|location| location_frames[location.index()].iter().cloned())
            .collect();
        let sum = sums.entry(frames).or_default();
        *sum = sum.wrapping_add(value);
    }
    sums
}

/// The frames of every location, root first: the function the code was
/// compiled into, then the functions inlined into it, innermost last.
fn frames_of_locations(profile: &Profile) -> Vec<Vec<Frame>> {
    let names: Vec<Arc<str>> = profile
        .functions
        .iter()
        .map(|function| Arc::from(profile.str(function.name)))
        .collect();
    (0..profile.locations.len())
        .map(|i| {
            let id = LocId(i as u32);
            let lines = profile.location_lines(id);
            if lines.is_empty() {
                let address = format!("{:#x}", profile.location(id).address);
                return vec![Frame {
                    function: Arc::from(address),
                    inlined: false,
                }];
            }
            // Lines are stored innermost first, so every line but the last one
            // is a function inlined into its caller.
            let last = lines.len() - 1;
            lines
                .iter()
                .enumerate()
                .rev()
                .map(|(j, line)| Frame {
                    function: names[line.function.index()].clone(),
                    inlined: j < last,
                })
                .collect()
        })
        .collect()
}
