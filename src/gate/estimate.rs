//! Growth per task with an interval that covers two sources of error: the
//! scatter of the snapshots around the fitted line, and Go's heap sampling.

use serde::{Deserialize, Serialize};

use crate::analysis::fit::fit;

/// Two-sided 95% quantile of the normal distribution.
pub const Z_95: f64 = 1.96;

/// A slope with its about-95% interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Theil-Sen slope: units per task.
    pub slope: f64,
    /// Lower end of the interval; the rules compare this with their limits.
    pub low: f64,
    pub high: f64,
}

impl Rate {
    /// Fits `ys` against the task counts `xs` (at least two, not all equal).
    ///
    /// The interval is the wider of two: Sen's interval of the slope, which
    /// needs three or more snapshots, and the slope plus or minus 1.96
    /// sampling standard errors. `change_stderr` is the standard error of
    /// the change between the first and the last snapshot, 0 for exact
    /// profiles.
    pub fn fit(xs: &[f64], ys: &[f64], change_stderr: f64) -> Rate {
        let line = fit(xs, ys);
        let span = task_span(xs);
        let margin = if span > 0.0 {
            Z_95 * change_stderr / span
        } else {
            0.0
        };
        Rate {
            slope: line.slope,
            low: line.slope_low.min(line.slope - margin),
            high: line.slope_high.max(line.slope + margin),
        }
    }
}

/// Tasks between the smallest and the largest task count.
pub fn task_span(xs: &[f64]) -> f64 {
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max - min
}

/// Standard error of a change of `change` that is known to `z_score`
/// standard errors: 0 when the profiles are exact (an infinite z-score) or
/// nothing changed.
pub fn stderr_from_z(change: f64, z_score: f64) -> f64 {
    if change == 0.0 || !z_score.is_finite() || z_score <= 0.0 {
        0.0
    } else {
        change.abs() / z_score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_has_no_margin() {
        let xs = [0.0, 1000.0, 2000.0, 3000.0];
        let ys = [0.0, 64000.0, 128000.0, 192000.0];
        let rate = Rate::fit(&xs, &ys, 0.0);
        assert_eq!(rate.slope, 64.0);
        assert_eq!(rate.low, 64.0);
        assert_eq!(rate.high, 64.0);
    }

    #[test]
    fn sampling_error_widens_the_interval() {
        let xs = [0.0, 1000.0];
        let ys = [0.0, 64000.0];
        // A change of 64000 known to 4 standard errors: 16000 each.
        let rate = Rate::fit(&xs, &ys, 16000.0);
        assert_eq!(rate.slope, 64.0);
        assert!((rate.low - (64.0 - 1.96 * 16.0)).abs() < 1e-9, "{rate:?}");
        assert!((rate.high - (64.0 + 1.96 * 16.0)).abs() < 1e-9, "{rate:?}");
    }

    #[test]
    fn stderr_is_zero_for_exact_profiles() {
        assert_eq!(stderr_from_z(1000.0, f64::INFINITY), 0.0);
        assert_eq!(stderr_from_z(0.0, 0.0), 0.0);
        assert_eq!(stderr_from_z(-1000.0, 4.0), 250.0);
    }
}
