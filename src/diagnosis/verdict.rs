//! The verdict on one series: how its primary measure changes with tasks.

use serde::Serialize;

use super::{MIN_GROWTH_BYTES, MIN_GROWTH_COUNT};
use crate::analysis::fit::least_squares;
use crate::analysis::growth::{Analysis, PathGrowth, Series};

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

    /// Returns a short form for table cells.
    pub fn short(self) -> &'static str {
        match self {
            Verdict::Linear => "linear",
            Verdict::FasterThanLinear => "faster",
            Verdict::LevellingOff => "levels off",
            Verdict::Noise => "noise",
            Verdict::Shrinking => "shrinking",
            Verdict::Flat => "flat",
        }
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
    judge_series(analysis, &path.series, path.z_score)
}

/// Judges a series whose change is `z_score` standard errors of sampling.
pub fn judge_series(analysis: &Analysis, series: &Series, z_score: f64) -> Verdict {
    let measure = analysis.primary;
    let change = series.change(measure);
    let fit = &series.fits[measure];
    if change == 0.0 && fit.slope == 0.0 {
        return Verdict::Flat;
    }
    let enough_samples = z_score >= MIN_Z;
    let points = analysis.names.len();
    let interval_clear = points < 3 || fit.slope_low > 0.0 || fit.slope_high < 0.0;
    if !enough_samples || is_small(analysis, series) {
        return Verdict::Noise;
    }
    // A series that rose and then stayed flat has a robust slope near zero,
    // so its shape is checked before the slope's interval.
    if fit.levelling_off && change > 0.0 && still_allocating(analysis, series) {
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

/// True when the site allocates as much in the later snapshots as before
/// while keeping less: a bounded cache replaces entries. A site that simply
/// stopped allocating (a map between two table doublings) may grow again, so
/// its pause is not taken for a bound. Profiles without allocation counts
/// count as still allocating.
fn still_allocating(analysis: &Analysis, series: &Series) -> bool {
    let Some(alloc) = analysis.heap.alloc_objects else {
        return true;
    };
    let xs = &analysis.axis.values;
    let ys = &series.values[alloc];
    let n = xs.len();
    let split = (2 * n).div_ceil(3).clamp(2, n - 1);
    let (_, early, _) = least_squares(&xs[..split], &ys[..split]);
    let (_, late, _) = least_squares(&xs[split - 1..], &ys[split - 1..]);
    early > 0.0 && late >= 0.2 * early
}

/// Number of intervals between consecutive snapshots in which the primary
/// measure rose by more than one object's worth: a single allocation made
/// once rises in one interval only.
pub fn rising_steps(analysis: &Analysis, series: &Series) -> usize {
    let values = &series.values[analysis.primary];
    values.windows(2).filter(|w| w[1] > w[0]).count()
}

/// True for a change too small to tell from work in flight: under
/// [`MIN_GROWTH_COUNT`] objects and [`MIN_GROWTH_BYTES`] bytes at its largest.
fn is_small(analysis: &Analysis, series: &Series) -> bool {
    let largest = |m: usize| {
        let first = series.first(m);
        series.values[m]
            .iter()
            .map(|v| (v - first).abs())
            .fold(0.0, f64::max)
    };
    let heap = analysis.heap;
    match (heap.inuse_objects, heap.inuse_space) {
        (Some(objects), Some(space)) => {
            largest(objects) < MIN_GROWTH_COUNT && largest(space) < MIN_GROWTH_BYTES
        }
        _ => largest(analysis.primary) < MIN_GROWTH_COUNT,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::analysis::growth::{analyze, Axis, AxisSource, Measure, Reduced};
    use crate::analysis::paths::{PathKey, PathValues};
    use crate::model::ProfileKind;

    const MEASURES: [&str; 4] = [
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
    ];

    /// Builds a snapshot with one path of the given values, in the order of
    /// [`MEASURES`], and sampling `variance` of its in-use bytes.
    fn snapshot(values: [i64; 4], variance: f64) -> Reduced {
        let key = PathKey {
            site: "main.grow".into(),
            owner: Some("main.loop".into()),
        };
        let path = PathValues {
            values: values.to_vec(),
            frames: vec!["main.grow".into(), "main.loop".into()],
            callers: Vec::new(),
            variance,
        };
        Reduced {
            name: "snapshot".into(),
            kind: ProfileKind::Heap,
            measures: MEASURES
                .iter()
                .map(|name| Measure {
                    name: name.to_string(),
                    unit: if name.ends_with("space") {
                        "bytes"
                    } else {
                        "count"
                    }
                    .into(),
                })
                .collect(),
            time_nanos: 0,
            period: 1,
            period_type: None,
            totals: values.to_vec(),
            sites: HashMap::new(),
            paths: HashMap::from([(key, path)]),
        }
    }

    /// Judges the one path of a series whose in-use objects are `objects`
    /// (64 bytes each) and whose allocations grow by `allocated` per step.
    fn verdict(objects: &[i64], allocated: i64, variance: f64) -> Verdict {
        let reduced: Vec<Reduced> = objects
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                let alloc = allocated * i as i64 + 1000;
                snapshot([alloc, alloc * 64, count, count * 64], variance)
            })
            .collect();
        let axis = Axis {
            source: AxisSource::Option,
            values: (0..objects.len()).map(|i| i as f64 * 1000.0).collect(),
        };
        let analysis = analyze(&reduced, axis).expect("analysis");
        judge(&analysis, &analysis.paths[0])
    }

    #[test]
    fn steady_growth_is_linear() {
        assert_eq!(
            verdict(&[0, 1000, 2000, 3000, 4000], 1000, 0.0),
            Verdict::Linear
        );
    }

    #[test]
    fn square_growth_is_faster_than_linear() {
        let objects = [0, 100, 400, 900, 1600, 2500, 3600];
        assert_eq!(verdict(&objects, 4000, 0.0), Verdict::FasterThanLinear);
    }

    #[test]
    fn filled_cache_levels_off() {
        let objects = [0, 1000, 2000, 2000, 2000, 2000, 2000];
        assert_eq!(verdict(&objects, 1000, 0.0), Verdict::LevellingOff);
    }

    #[test]
    fn paused_growth_without_allocation_is_not_bounded() {
        let objects = [0, 1000, 2000, 2000, 2000, 2000, 2000];
        assert_ne!(verdict(&objects, 0, 0.0), Verdict::LevellingOff);
    }

    #[test]
    fn falling_series_is_shrinking() {
        assert_eq!(
            verdict(&[4000, 3000, 2000, 1000, 0], 1000, 0.0),
            Verdict::Shrinking
        );
    }

    #[test]
    fn change_within_sampling_error_is_noise() {
        // A standard error of 1 MB per snapshot against 256 kB of growth.
        let variance = 1e12;
        assert_eq!(
            verdict(&[0, 1000, 2000, 3000, 4000], 1000, variance),
            Verdict::Noise
        );
    }

    #[test]
    fn handful_of_objects_is_noise() {
        assert_eq!(verdict(&[0, 1, 2, 3, 4], 1, 0.0), Verdict::Noise);
    }

    #[test]
    fn unchanged_series_is_flat() {
        assert_eq!(verdict(&[500, 500, 500, 500], 1000, 0.0), Verdict::Flat);
    }
}
