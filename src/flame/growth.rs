//! Growth of each folded stack across a series of snapshots: the Theil-Sen
//! slope of the stack's value against the task count (or the time), so that a
//! flamegraph can show how fast each stack grows.

use std::collections::HashMap;

use thiserror::Error;

use super::{Frame, Stack};
use crate::analysis::fit::fit;

/// Error from fitting slopes to a [`StackSeries`].
#[derive(Debug, Error, PartialEq)]
pub enum GrowthError {
    #[error("a growth rate needs at least two snapshots, got {0}")]
    TooFew(usize),
    #[error("got {values} x values for {snapshots} snapshots")]
    AxisLength { values: usize, snapshots: usize },
    #[error("the x values are all equal, so no slope can be fitted")]
    FlatAxis,
}

/// The fitted growth of one stack.
#[derive(Clone, Debug, PartialEq)]
pub struct StackGrowth {
    pub frames: Vec<Frame>,
    /// Theil-Sen slope: the median of the slopes between all pairs of
    /// snapshots, in the sample unit per unit of x.
    pub slope: f64,
    /// Lower end of the slope's confidence interval of about 95% (Sen's
    /// method). With two snapshots it equals the slope, with three it is the
    /// smallest pairwise slope.
    pub slope_low: f64,
}

impl StackGrowth {
    /// True when the confidence interval of the slope lies above 0: the stack
    /// grew between most pairs of snapshots, which a one-time step or growth
    /// that stopped does not.
    pub fn grows_steadily(&self) -> bool {
        self.slope_low > 0.0
    }

    /// Converts to a stack valued by its slope, for drawing.
    pub fn into_stack(self) -> Stack {
        Stack {
            frames: self.frames,
            value: self.slope,
        }
    }
}

/// Folded stacks of several snapshots, merged by frames.
#[derive(Debug, Default)]
pub struct StackSeries {
    /// Value of each stack in each snapshot so far. The list of a stack may
    /// end early: a stack absent from the later snapshots has 0 there.
    values: HashMap<Vec<Frame>, Vec<f64>>,
    snapshots: usize,
}

impl StackSeries {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the folded stacks of the next snapshot. A stack that appears
    /// twice in `stacks` counts with the sum of its values.
    pub fn push(&mut self, stacks: Vec<Stack>) {
        let index = self.snapshots;
        self.snapshots += 1;
        for stack in stacks {
            let values = self.values.entry(stack.frames).or_default();
            values.resize(index + 1, 0.0);
            values[index] += stack.value;
        }
    }

    /// Number of snapshots pushed.
    pub fn len(&self) -> usize {
        self.snapshots
    }

    pub fn is_empty(&self) -> bool {
        self.snapshots == 0
    }

    /// Number of distinct stacks with a value in at least one snapshot.
    pub fn stack_count(&self) -> usize {
        self.values.len()
    }

    /// Fits each stack's values against `xs`, one x per snapshot, and returns
    /// the stacks whose Theil-Sen slope is not zero, sorted by frames. A stack
    /// absent from a snapshot counts as 0 there.
    pub fn slopes(&self, xs: &[f64]) -> Result<Vec<StackGrowth>, GrowthError> {
        if self.snapshots < 2 {
            return Err(GrowthError::TooFew(self.snapshots));
        }
        if xs.len() != self.snapshots {
            return Err(GrowthError::AxisLength {
                values: xs.len(),
                snapshots: self.snapshots,
            });
        }
        if xs.iter().all(|x| *x == xs[0]) {
            return Err(GrowthError::FlatAxis);
        }

        let mut ys = vec![0.0; self.snapshots];
        let mut stacks = Vec::new();
        for (frames, values) in &self.values {
            ys.fill(0.0);
            ys[..values.len()].copy_from_slice(values);
            let line = fit(xs, &ys);
            if line.slope != 0.0 {
                stacks.push(StackGrowth {
                    frames: frames.clone(),
                    slope: line.slope,
                    slope_low: line.slope_low,
                });
            }
        }
        stacks.sort_by(|a, b| a.frames.cmp(&b.frames));
        Ok(stacks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flame::test_stack as stack;

    fn slopes_of(growth: Vec<StackGrowth>) -> Vec<Stack> {
        growth.into_iter().map(StackGrowth::into_stack).collect()
    }

    #[test]
    fn steady_growth_gives_its_rate() {
        let mut series = StackSeries::new();
        for tasks in [0.0, 1000.0, 2000.0, 3000.0] {
            series.push(vec![
                stack(&["main", "leak"], 48.0 * tasks),
                stack(&["main", "flat"], 4096.0),
            ]);
        }
        let growth = series
            .slopes(&[0.0, 1000.0, 2000.0, 3000.0])
            .expect("four snapshots on a rising axis");
        assert!(growth[0].grows_steadily());
        assert_eq!(slopes_of(growth), [stack(&["main", "leak"], 48.0)]);
    }

    #[test]
    fn one_time_step_is_not_steady() {
        // 112 bytes appear once, after the third of seven snapshots. 12 of
        // the 21 pairwise slopes are positive and 9 are 0.
        let mut series = StackSeries::new();
        for value in [0.0, 0.0, 0.0, 112.0, 112.0, 112.0, 112.0] {
            series.push(vec![stack(&["main", "runtime"], value)]);
        }
        let xs = [0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0];
        let growth = series.slopes(&xs).expect("seven snapshots");
        assert!(growth[0].slope > 0.0, "slope {}", growth[0].slope);
        assert_eq!(growth[0].slope_low, 0.0);
        assert!(!growth[0].grows_steadily());
    }

    #[test]
    fn absent_stack_counts_as_zero() {
        let mut series = StackSeries::new();
        series.push(vec![stack(&["main", "gone"], 300.0)]);
        series.push(vec![stack(&["main", "new"], 100.0)]);
        series.push(vec![stack(&["main", "new"], 200.0)]);
        let slopes = slopes_of(series.slopes(&[0.0, 1.0, 2.0]).expect("three snapshots"));
        // "gone" falls from 300 to 0 and stays there: the pairwise slopes are
        // -300, -150 and 0, with median -150. "new" has 100, 50 and 100.
        assert_eq!(
            slopes,
            [
                stack(&["main", "gone"], -150.0),
                stack(&["main", "new"], 100.0)
            ]
        );
    }

    #[test]
    fn repeated_stack_in_one_snapshot_is_summed() {
        let mut series = StackSeries::new();
        series.push(vec![stack(&["main"], 0.0)]);
        series.push(vec![stack(&["main"], 16.0), stack(&["main"], 48.0)]);
        let slopes = slopes_of(series.slopes(&[0.0, 1.0]).expect("two snapshots"));
        assert_eq!(slopes, [stack(&["main"], 64.0)]);
    }

    #[test]
    fn unusable_axis_is_rejected() {
        let mut series = StackSeries::new();
        series.push(vec![stack(&["main"], 1.0)]);
        assert_eq!(series.slopes(&[0.0]), Err(GrowthError::TooFew(1)));
        series.push(vec![stack(&["main"], 2.0)]);
        assert_eq!(
            series.slopes(&[0.0, 1.0, 2.0]),
            Err(GrowthError::AxisLength {
                values: 3,
                snapshots: 2
            })
        );
        assert_eq!(series.slopes(&[5.0, 5.0]), Err(GrowthError::FlatAxis));
    }
}
