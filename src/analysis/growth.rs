//! The growth engine shared by `diff` and `trend`: each snapshot is reduced
//! to per-site and per-path values, then every series is fitted against the
//! task count (or time). Two snapshots are the smallest series.

use std::collections::{BTreeSet, HashMap};

use super::fit::{fit, Fit};
use super::paths::{self, PathKey, PathValues};
use super::sampling::Sampling;
use super::sites::{aggregate_flat, Granularity, SiteKey};
use crate::model::{Profile, ProfileKind};

/// The part of one snapshot the analysis uses. The profile itself can be
/// dropped once this is built.
#[derive(Clone, Debug)]
pub struct Reduced {
    pub name: String,
    pub kind: ProfileKind,
    pub measures: Vec<Measure>,
    pub time_nanos: i64,
    /// Sampling period of the profile, in the unit of `period_type`. For
    /// `space` it is the bytes between heap samples (runtime.MemProfileRate).
    pub period: i64,
    /// Name of the period's type (`space` in Go heap profiles), when the
    /// profile has one.
    pub period_type: Option<String>,
    pub totals: Vec<i64>,
    pub sites: HashMap<SiteKey, SiteValues>,
    pub paths: HashMap<PathKey, PathValues>,
}

/// Flat values of one site in one profile.
#[derive(Clone, Debug)]
pub struct SiteValues {
    pub values: Vec<i64>,
    /// Sampling variance of the in-use bytes.
    pub variance: f64,
}

/// A sample type: name and unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    pub name: String,
    pub unit: String,
}

/// Samples from which [`reduce`] uses a second thread. Starting one takes
/// tens of microseconds, and the two passes over 10,000 samples take about a
/// millisecond.
const PARALLEL_REDUCE_SAMPLES: usize = 10_000;

/// Reduces a profile to flat values per site and values per retention path.
pub fn reduce(name: &str, profile: &Profile, granularity: Granularity) -> Reduced {
    // Sites and paths are two passes over the samples that share nothing,
    // so a large profile takes them on two threads.
    let parallel = profile.sample_count() >= PARALLEL_REDUCE_SAMPLES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let (table, paths) = if parallel {
        std::thread::scope(|scope| {
            let paths = scope.spawn(|| paths::collect(profile, &Sampling::of(profile)));
            let table = aggregate_flat(profile, granularity);
            let paths = paths
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (table, paths)
        })
    } else {
        let table = aggregate_flat(profile, granularity);
        (table, paths::collect(profile, &Sampling::of(profile)))
    };
    let sites = table
        .keys
        .iter()
        .enumerate()
        .map(|(site, key)| {
            let values = (0..table.width).map(|t| table.flat(site, t)).collect();
            let variance = table.variance[site];
            (key.clone(), SiteValues { values, variance })
        })
        .collect();
    let measures = profile
        .sample_types
        .iter()
        .map(|t| Measure {
            name: profile.str(t.kind).to_string(),
            unit: profile.str(t.unit).to_string(),
        })
        .collect();
    Reduced {
        name: name.to_string(),
        kind: profile.kind(),
        measures,
        time_nanos: profile.time_nanos,
        period: profile.period,
        period_type: profile.period_type.map(|t| profile.str(t.kind).to_string()),
        totals: table.totals.clone(),
        sites,
        paths,
    }
}

/// Source of the x values of the fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AxisSource {
    /// Task counts given on the command line.
    Option,
    /// The last number in each file name.
    FileNames,
    /// The manifest written by `record`.
    Manifest,
    /// The profiles' timestamps: growth is per second.
    Timestamps,
    /// Nothing known: x is the snapshot's position, and a rate is the change
    /// from one snapshot to the next.
    Order,
}

/// The x values of the fit, one per snapshot.
#[derive(Clone, Debug)]
pub struct Axis {
    pub source: AxisSource,
    pub values: Vec<f64>,
}

impl Axis {
    /// True when figures are per task, false when per second.
    pub fn per_task(&self) -> bool {
        matches!(
            self.source,
            AxisSource::Option | AxisSource::FileNames | AxisSource::Manifest
        )
    }

    /// Returns the unit of x: "task", "second" or "snapshot".
    pub fn unit(&self) -> &'static str {
        match self.source {
            AxisSource::Timestamps => "second",
            AxisSource::Order => "snapshot",
            _ => "task",
        }
    }

    /// Describes the source of the x values, for people.
    pub fn describe(&self) -> &'static str {
        match self.source {
            AxisSource::Option => "task counts from --tasks",
            AxisSource::FileNames => "task counts from the file names",
            AxisSource::Manifest => "task counts from the recording manifest",
            AxisSource::Timestamps => {
                "no task counts: growth per second from the profiles' timestamps"
            }
            AxisSource::Order => "no task counts: figures are changes between snapshots",
        }
    }

    pub fn span(&self) -> f64 {
        let first = self.values.first().copied().unwrap_or(0.0);
        let last = self.values.last().copied().unwrap_or(0.0);
        last - first
    }
}

/// Values of one site or path across snapshots, with a fit per measure.
#[derive(Clone, Debug)]
pub struct Series {
    /// `values[measure][snapshot]`.
    pub values: Vec<Vec<f64>>,
    pub fits: Vec<Fit>,
}

impl Series {
    fn new(values: Vec<Vec<f64>>, xs: &[f64]) -> Self {
        let fits = values.iter().map(|ys| fit(xs, ys)).collect();
        Series { values, fits }
    }

    pub fn first(&self, measure: usize) -> f64 {
        self.values[measure].first().copied().unwrap_or(0.0)
    }

    pub fn last(&self, measure: usize) -> f64 {
        self.values[measure].last().copied().unwrap_or(0.0)
    }

    pub fn change(&self, measure: usize) -> f64 {
        self.last(measure) - self.first(measure)
    }

    pub fn slope(&self, measure: usize) -> f64 {
        self.fits[measure].slope
    }
}

#[derive(Clone, Debug)]
pub struct SiteGrowth {
    pub key: SiteKey,
    pub series: Series,
    /// See [`PathGrowth::z_score`].
    pub z_score: f64,
}

#[derive(Clone, Debug)]
pub struct PathGrowth {
    pub key: PathKey,
    /// Frames from the allocating function up to the owner, leaf first.
    pub frames: Vec<String>,
    /// Frames above the owner, nearest caller first.
    pub callers: Vec<String>,
    pub series: Series,
    /// Change of the primary measure divided by its sampling standard error:
    /// the evidence against sampling noise. Infinite when the profiles
    /// recorded every allocation.
    pub z_score: f64,
}

/// Indexes of the heap measures, where the profiles have them.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapMeasures {
    pub inuse_space: Option<usize>,
    pub inuse_objects: Option<usize>,
    pub alloc_space: Option<usize>,
    pub alloc_objects: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Analysis {
    pub kind: ProfileKind,
    pub measures: Vec<Measure>,
    pub heap: HeapMeasures,
    /// The measure growth is judged on: inuse_space for heap profiles, the
    /// goroutine count for goroutine profiles, else the last sample type.
    pub primary: usize,
    pub names: Vec<String>,
    pub axis: Axis,
    pub totals: Series,
    pub sites: Vec<SiteGrowth>,
    pub paths: Vec<PathGrowth>,
}

/// Error raised when a set of snapshots cannot be analysed together.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("need at least two snapshots, got {0}")]
    TooFew(usize),
    #[error("{later} is a {later_kind} profile but {first} is a {first_kind} profile; compare profiles of one kind")]
    MixedKinds {
        first: String,
        first_kind: ProfileKind,
        later: String,
        later_kind: ProfileKind,
    },
    #[error("{later} has sample types {later_types} but {first} has {first_types}")]
    MixedTypes {
        first: String,
        first_types: String,
        later: String,
        later_types: String,
    },
    #[error("the snapshots' {0} are all equal, so nothing can be measured per task or per second")]
    FlatAxis(&'static str),
    #[error("got {values} task counts for {snapshots} snapshots")]
    AxisLength { values: usize, snapshots: usize },
}

/// Fits every site and path of the snapshots against `axis`.
pub fn analyze(reduced: &[Reduced], axis: Axis) -> Result<Analysis, SeriesError> {
    check(reduced, &axis)?;
    let first = &reduced[0];
    let measures = first.measures.clone();
    let xs = &axis.values;
    let heap = heap_measures(&measures);
    let primary = primary_measure(&first.kind, &measures, &heap);
    let totals = Series::new(
        (0..measures.len())
            .map(|m| reduced.iter().map(|r| r.totals[m] as f64).collect())
            .collect(),
        xs,
    );
    let site_keys: BTreeSet<&SiteKey> = reduced.iter().flat_map(|r| r.sites.keys()).collect();
    let sites = site_keys
        .into_iter()
        .map(|key| {
            let series = Series::new(
                gather(reduced, measures.len(), |r| {
                    r.sites.get(key).map(|s| &s.values)
                }),
                xs,
            );
            let variance =
                |r: Option<&Reduced>| r.and_then(|r| r.sites.get(key)).map_or(0.0, |s| s.variance);
            let spread = variance(reduced.first()) + variance(reduced.last());
            let mut series = series;
            widen_for_sampling(&mut series, primary, spread, xs);
            SiteGrowth {
                key: key.clone(),
                z_score: z_score(series.change(primary), spread),
                series,
            }
        })
        .collect();
    let path_keys: BTreeSet<&PathKey> = reduced.iter().flat_map(|r| r.paths.keys()).collect();
    let paths = path_keys
        .into_iter()
        .map(|key| path_growth(reduced, measures.len(), primary, key, xs))
        .collect();
    Ok(Analysis {
        kind: first.kind.clone(),
        measures,
        heap,
        primary,
        names: reduced.iter().map(|r| r.name.clone()).collect(),
        axis,
        totals,
        sites,
        paths,
    })
}

fn check(reduced: &[Reduced], axis: &Axis) -> Result<(), SeriesError> {
    if reduced.len() < 2 {
        return Err(SeriesError::TooFew(reduced.len()));
    }
    let first = &reduced[0];
    let type_names = |r: &Reduced| {
        r.measures
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for later in &reduced[1..] {
        if later.kind != first.kind {
            return Err(SeriesError::MixedKinds {
                first: first.name.clone(),
                first_kind: first.kind.clone(),
                later: later.name.clone(),
                later_kind: later.kind.clone(),
            });
        }
        if later.measures != first.measures {
            return Err(SeriesError::MixedTypes {
                first: first.name.clone(),
                first_types: type_names(first),
                later: later.name.clone(),
                later_types: type_names(later),
            });
        }
    }
    if axis.values.len() != reduced.len() {
        return Err(SeriesError::AxisLength {
            values: axis.values.len(),
            snapshots: reduced.len(),
        });
    }
    if axis.values.iter().all(|&x| x == axis.values[0]) {
        let what = match axis.source {
            AxisSource::Timestamps => "timestamps",
            _ => "task counts",
        };
        return Err(SeriesError::FlatAxis(what));
    }
    Ok(())
}

fn gather<'a>(
    reduced: &'a [Reduced],
    width: usize,
    row: impl Fn(&'a Reduced) -> Option<&'a Vec<i64>>,
) -> Vec<Vec<f64>> {
    (0..width)
        .map(|m| {
            reduced
                .iter()
                .map(|r| row(r).map_or(0.0, |values| values[m] as f64))
                .collect()
        })
        .collect()
}

fn path_growth(
    reduced: &[Reduced],
    width: usize,
    primary: usize,
    key: &PathKey,
    xs: &[f64],
) -> PathGrowth {
    let values = gather(reduced, width, |r| r.paths.get(key).map(|p| &p.values));
    let latest = reduced.iter().rev().find_map(|r| r.paths.get(key));
    let frames = latest.map(|p| p.frames.clone()).unwrap_or_default();
    let callers = latest.map(|p| p.callers.clone()).unwrap_or_default();
    let variance =
        |r: Option<&Reduced>| r.and_then(|r| r.paths.get(key)).map_or(0.0, |p| p.variance);
    let spread = variance(reduced.first()) + variance(reduced.last());
    let mut series = Series::new(values, xs);
    widen_for_sampling(&mut series, primary, spread, xs);
    PathGrowth {
        key: key.clone(),
        frames,
        callers,
        z_score: z_score(series.change(primary), spread),
        series,
    }
}

/// Widens the primary fit's interval by the sampling error of the slope
/// between the first and last snapshot, given the summed variance of both.
fn widen_for_sampling(series: &mut Series, primary: usize, variance: f64, xs: &[f64]) {
    let span = xs.last().copied().unwrap_or(0.0) - xs.first().copied().unwrap_or(0.0);
    if variance > 0.0 && span != 0.0 {
        series.fits[primary].widen(variance.sqrt() / span.abs());
    }
}

/// Returns a change in standard errors, given the summed variance of its two
/// ends.
fn z_score(change: f64, variance: f64) -> f64 {
    if change == 0.0 {
        0.0
    } else if variance == 0.0 {
        f64::INFINITY
    } else {
        change.abs() / variance.sqrt()
    }
}

fn heap_measures(measures: &[Measure]) -> HeapMeasures {
    let find = |name: &str| measures.iter().position(|m| m.name == name);
    HeapMeasures {
        inuse_space: find("inuse_space"),
        inuse_objects: find("inuse_objects"),
        alloc_space: find("alloc_space"),
        alloc_objects: find("alloc_objects"),
    }
}

fn primary_measure(kind: &ProfileKind, measures: &[Measure], heap: &HeapMeasures) -> usize {
    let last = measures.len().saturating_sub(1);
    match kind {
        ProfileKind::Heap => heap.inuse_space.or(heap.alloc_space).unwrap_or(last),
        ProfileKind::Goroutine => measures
            .iter()
            .position(|m| m.name == "goroutine")
            .unwrap_or(last),
        _ => last,
    }
}

impl Analysis {
    /// Change of in-use objects divided by change of allocated objects: near 1
    /// when everything allocated is kept (a leak), near 0 for churn.
    pub fn retained_share(&self, series: &Series) -> Option<f64> {
        let inuse = self.heap.inuse_objects?;
        let alloc = self.heap.alloc_objects?;
        let allocated = series.change(alloc);
        if allocated <= 0.0 {
            return None;
        }
        Some(series.change(inuse) / allocated)
    }
}
