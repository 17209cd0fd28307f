//! The verdict on one series: how its primary measure changes with tasks.

use serde::Serialize;

use crate::analysis::growth::{Analysis, PathGrowth};

/// Smallest change, in standard errors of the sampling, that counts as real.
pub const MIN_Z: f64 = 3.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Grows in proportion to the task count.
    Linear,
    /// Grows faster than the task count: a quadratic fits clearly better.
    FasterThanLinear,
    /// Grew, then stopped growing in the later snapshots.
    LevellingOff,
    /// Changes, but not beyond sampling noise.
    Noise,
    Shrinking,
    /// No change.
    Flat,
}

impl Verdict {
    pub fn is_leak(self) -> bool {
        matches!(self, Verdict::Linear | Verdict::FasterThanLinear)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Linear => "linear growth",
            Verdict::FasterThanLinear => "faster than linear",
            Verdict::LevellingOff => "levelling off",
            Verdict::Noise => "noise",
            Verdict::Shrinking => "shrinking",
            Verdict::Flat => "flat",
        }
    }
}

/// Judges a path on the analysis' primary measure.
pub fn judge(analysis: &Analysis, path: &PathGrowth) -> Verdict {
    let measure = analysis.primary;
    let series = &path.series;
    let change = series.change(measure);
    let fit = &series.fits[measure];
    if change == 0.0 && fit.slope == 0.0 {
        return Verdict::Flat;
    }
    let enough_samples = path.z_score >= MIN_Z;
    let points = analysis.names.len();
    let interval_clear = points < 3 || fit.slope_low > 0.0 || fit.slope_high < 0.0;
    if !enough_samples {
        return Verdict::Noise;
    }
    // A series that rose and then stayed flat has a robust slope near zero,
    // so it is told by its shape before the slope's interval is looked at.
    if fit.levelling_off && change > 0.0 {
        return Verdict::LevellingOff;
    }
    if !interval_clear {
        return Verdict::Noise;
    }
    if fit.slope < 0.0 || (points < 3 && change < 0.0) {
        return Verdict::Shrinking;
    }
    if fit.accelerating {
        return Verdict::FasterThanLinear;
    }
    if points >= 3 && fit.r_squared < 0.5 {
        return Verdict::Noise;
    }
    Verdict::Linear
}
