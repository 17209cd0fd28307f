//! Flamegraphs: samples folded into stacks, written as collapsed text or drawn
//! as SVG with inferno.
//!
//! Folding turns a profile into [`Stack`]s (frames root first, one value each)
//! or two profiles into [`DiffStack`]s. The writers take those lists and never
//! read a profile, so any caller that computes its own weight per stack can
//! draw it. [`StackSeries`] computes one such weight: the growth rate of each
//! stack across a series of snapshots, drawn by [`write_rate_svg`].

mod fold;
mod folded;
mod growth;
mod rate;
mod svg;

use std::sync::Arc;

pub use fold::{fold, fold_diff};
pub use folded::{write_folded, write_folded_diff};
pub use growth::{GrowthError, StackGrowth, StackSeries};
pub use rate::{amount_text, rate_text, write_empty_svg, write_rate_svg};
pub use svg::{
    write_diff_svg, write_svg, SvgOptions, SvgSummary, DEFAULT_MIN_WIDTH, SVG_INLINE_PREFIX,
};

/// Suffix that marks an inlined frame in collapsed stacks, as `go tool pprof`
/// marks it in its tables. SVGs use [`SVG_INLINE_PREFIX`] instead.
pub const INLINE_SUFFIX: &str = " (inline)";

/// One frame of a stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// Function name as the profile stores it, with the full import path, or
    /// the address in hex for a location without symbols.
    pub function: Arc<str>,
    /// True when the compiler inlined this function into the frame below it.
    pub inlined: bool,
}

/// A call stack, root first, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    pub frames: Vec<Frame>,
    pub value: f64,
}

/// A call stack, root first, and its values in two profiles.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffStack {
    pub frames: Vec<Frame>,
    pub before: f64,
    pub after: f64,
}

/// Divides both values of every stack by `divisor`, such as the number of
/// tasks handled between the two snapshots.
pub fn divide_diff(stacks: &mut [DiffStack], divisor: f64) {
    for stack in stacks {
        stack.before /= divisor;
        stack.after /= divisor;
    }
}

/// Returns the unit shown after each value in a tooltip: the sample unit, or
/// for plain counts the thing counted, taken from the sample type name
/// (`inuse_objects` gives "objects", `goroutine` gives "goroutines").
pub fn count_name(sample_type: &str, unit: &str) -> String {
    if unit != "count" {
        return unit.to_string();
    }
    let thing = sample_type.rsplit('_').next().unwrap_or(sample_type);
    if thing.is_empty() || thing.ends_with('s') {
        thing.to_string()
    } else {
        format!("{thing}s")
    }
}

/// Builds a stack of frames that are not inlined, for tests.
#[cfg(test)]
pub(crate) fn test_stack(names: &[&str], value: f64) -> Stack {
    let frames = names
        .iter()
        .map(|name| Frame {
            function: std::sync::Arc::from(*name),
            inlined: false,
        })
        .collect();
    Stack { frames, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_name_follows_unit_or_type() {
        assert_eq!(count_name("inuse_space", "bytes"), "bytes");
        assert_eq!(count_name("inuse_objects", "count"), "objects");
        assert_eq!(count_name("goroutine", "count"), "goroutines");
        assert_eq!(count_name("contentions", "count"), "contentions");
    }
}
