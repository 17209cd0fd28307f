//! Diagnosis: which retention paths leak, grouped by the function to fix,
//! with the kind of leak, the figures per task and a fix hint.

pub mod catalogue;
mod kind;
pub mod verdict;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::growth::{Analysis, PathGrowth};
use crate::analysis::paths::is_standard;
pub use kind::{Kind, FLAT_OBJECTS_PER_TASK};
use verdict::{judge, rising_steps, Verdict};

/// Share of the last snapshot's total that a path must add to lead a finding,
/// unless it adds at least [`MATERIAL_BYTES`].
pub const MATERIAL_SHARE: f64 = 0.005;
/// Bytes of growth that always lead a finding.
pub const MATERIAL_BYTES: f64 = 1024.0 * 1024.0;
/// Minimum objects (or goroutines) a path must add to lead a finding: fewer
/// can be work in flight when the snapshot was taken.
pub const MIN_GROWTH_COUNT: f64 = 10.0;
/// Minimum bytes a path whose object count stays flat must add to lead a
/// finding.
pub const MIN_GROWTH_BYTES: f64 = 4096.0;
/// Owner of goroutine structs, whose stacks name no user function.
pub const UNKNOWN_OWNER: &str = "unknown";
/// Smallest retained share for a path to count as a leak: below it, what grows
/// is a small remainder of much churn.
pub const MIN_RETAINED_SHARE: f64 = 0.05;

/// Growth of the four heap measures, per task (or per second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rates {
    pub inuse_bytes: f64,
    pub inuse_objects: f64,
    pub alloc_bytes: f64,
    pub alloc_objects: f64,
    /// The primary measure for profiles that are not heap profiles (the
    /// goroutine count), else equal to inuse_bytes.
    pub primary: f64,
}

/// One allocating function of a finding.
#[derive(Clone, Debug, Serialize)]
pub struct SiteFinding {
    pub site: String,
    /// Frames from the owner down to the allocating function.
    pub call_path: Vec<String>,
    pub rates: Rates,
    /// Change of each measure between the first and last snapshot.
    pub change: Rates,
    pub retained_share: Option<f64>,
    pub verdict: Verdict,
    /// Change in standard errors of the heap sampling; infinite when exact.
    pub z_score: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn describe(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Memory retained under one owner that grows with tasks.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The known wrapper that names the pattern, if one is on the path.
    pub wrapper: Option<String>,
    /// The allocating function of the leading site.
    pub site: String,
    /// The function to fix: the user frame whose loop keeps the memory.
    pub owner: String,
    pub verdict: Verdict,
    pub confidence: Confidence,
    /// Growth at the leading site.
    pub rates: Rates,
    /// Growth over all sites of the finding.
    pub total_rates: Rates,
    pub retained_share: Option<f64>,
    /// Projected size of the owner's sites at `projection_tasks` tasks, in the
    /// unit of the primary measure (bytes for heap profiles).
    pub projection: Option<f64>,
    pub fix: String,
    pub sites: Vec<SiteFinding>,
}

/// Options of [`diagnose`].
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Task count the projection is made for.
    pub projection_tasks: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            projection_tasks: 1_000_000.0,
        }
    }
}

/// Findings of an analysis, most growth first. Paths that level off come
/// after the leaks, with kind `bounded`.
pub fn diagnose(analysis: &Analysis, options: &Options) -> Vec<Finding> {
    let judged: Vec<(&PathGrowth, Verdict)> = analysis
        .paths
        .iter()
        .map(|path| (path, judge(analysis, path)))
        .collect();
    let mut groups: BTreeMap<&str, Vec<(&PathGrowth, Verdict)>> = BTreeMap::new();
    for &(path, verdict) in &judged {
        let Some(owner) = owner_of(path) else {
            continue;
        };
        if qualifies(analysis, path, verdict) {
            groups.entry(owner).or_default().push((path, verdict));
        }
    }
    merge_nested_owners(&mut groups);
    let mut findings: Vec<Finding> = groups
        .into_iter()
        .filter(|(owner, members)| {
            let leading = members
                .iter()
                .any(|(path, verdict)| is_material(analysis, path, *verdict));
            let bounded = members.iter().all(|(_, v)| *v == Verdict::LevellingOff);
            leading && (bounded || owner_grows(analysis, owner))
        })
        .map(|(owner, members)| finding(analysis, owner, members, options))
        .collect();
    findings.sort_by(|a, b| {
        (b.kind != Kind::Bounded)
            .cmp(&(a.kind != Kind::Bounded))
            .then(b.total_rates.primary.total_cmp(&a.total_rates.primary))
    });
    findings
}

/// Moves the sites of an owner into the group of its caller when that caller
/// owns growing sites too. A helper that is not inlined (one that wraps and
/// returns a context, say) is taken for an owner, while the loop that calls it
/// owns other sites. Both belong to one finding, under the caller.
fn merge_nested_owners<'a>(groups: &mut BTreeMap<&'a str, Vec<(&'a PathGrowth, Verdict)>>) {
    while let Some((inner, outer)) = nested_owner(groups) {
        if let Some(members) = groups.remove(inner) {
            groups.entry(outer).or_default().extend(members);
        }
    }
}

/// Finds an owner whose sites' callers include another owner (nearest first)
/// and returns both, unless each calls the other.
fn nested_owner<'a>(
    groups: &BTreeMap<&'a str, Vec<(&'a PathGrowth, Verdict)>>,
) -> Option<(&'a str, &'a str)> {
    let callers_of = |owner: &str| -> Vec<&'a str> {
        groups
            .get(owner)
            .into_iter()
            .flatten()
            .flat_map(|(path, _)| path.callers.iter().map(String::as_str))
            .collect()
    };
    groups.keys().copied().find_map(|owner| {
        let outer = callers_of(owner).into_iter().find(|caller| {
            *caller != owner && groups.contains_key(caller) && !callers_of(caller).contains(&owner)
        })?;
        let (&outer, _) = groups.get_key_value(outer)?;
        Some((owner, outer))
    })
}

/// Owner under which a path is reported. Goroutine structs (runtime.malg)
/// are allocated on stacks without a user frame, so their growth is reported
/// under [`UNKNOWN_OWNER`].
fn owner_of(path: &PathGrowth) -> Option<&str> {
    match path.key.owner.as_deref() {
        Some(owner) => Some(owner),
        None if path.frames.iter().any(|f| f == "runtime.malg") => Some(UNKNOWN_OWNER),
        None => None,
    }
}

/// True when everything under `owner` together grows by a material amount:
/// bytes that only move between two sites of one owner (as the runtime's tiny
/// allocator can make them) are no growth.
fn owner_grows(analysis: &Analysis, owner: &str) -> bool {
    let measure = analysis.primary;
    let net: f64 = analysis
        .paths
        .iter()
        .filter(|path| owner_of(path) == Some(owner))
        .map(|path| path.series.change(measure))
        .sum();
    let total = analysis.totals.last(measure).abs();
    let bytes = analysis.measures[measure].unit == "bytes";
    net >= MATERIAL_SHARE * total || (bytes && net >= MATERIAL_BYTES)
}

/// True for a path that grows (or grew, for bounded growth) beyond noise by
/// enough to count, and keeps what it grows.
fn qualifies(analysis: &Analysis, path: &PathGrowth, verdict: Verdict) -> bool {
    if !(verdict.is_leak() || verdict == Verdict::LevellingOff) {
        return false;
    }
    let series = &path.series;
    let grown = grown(analysis, path, verdict);
    let bytes = analysis.measures[analysis.primary].unit == "bytes";
    let objects = match analysis.heap.inuse_objects {
        Some(m) if bytes => max_rise(&series.values[m]),
        _ => grown,
    };
    if objects >= MIN_GROWTH_COUNT {
        return analysis
            .retained_share(series)
            .is_none_or(|share| share >= MIN_RETAINED_SHARE);
    }
    // A value that grows in size (a buffer, a slice's backing array) keeps a
    // fixed number of objects, so its share of new objects kept means nothing.
    // It must reallocate as it grows, which one allocation made once does not,
    // and over three snapshots or more rise in two intervals at least.
    if !bytes || grown < MIN_GROWTH_BYTES {
        return false;
    }
    let reallocates = match (analysis.heap.alloc_space, analysis.heap.inuse_space) {
        (Some(alloc), Some(inuse)) => {
            series.change(alloc) >= kind::REALLOCATING_ALLOC_RATIO * series.change(inuse)
        }
        _ => false,
    };
    let repeated = analysis.names.len() < 3 || rising_steps(analysis, series) >= 2;
    reallocates && repeated
}

/// Growth of the primary measure: the change, or for a series that levelled
/// off, its highest rise.
fn grown(analysis: &Analysis, path: &PathGrowth, verdict: Verdict) -> f64 {
    let measure = analysis.primary;
    match verdict {
        Verdict::LevellingOff => max_rise(&path.series.values[measure]),
        _ => path.series.change(measure),
    }
}

/// True when a path adds enough to lead a finding: a share of the total, or
/// [`MATERIAL_BYTES`].
fn is_material(analysis: &Analysis, path: &PathGrowth, verdict: Verdict) -> bool {
    let measure = analysis.primary;
    let grown = grown(analysis, path, verdict);
    let total = analysis.totals.last(measure).abs();
    let bytes = analysis.measures[measure].unit == "bytes";
    grown >= MATERIAL_SHARE * total || (bytes && grown >= MATERIAL_BYTES)
}

fn max_rise(values: &[f64]) -> f64 {
    let first = values.first().copied().unwrap_or(0.0);
    values.iter().fold(0.0, |rise, v| f64::max(rise, v - first))
}

fn finding(
    analysis: &Analysis,
    owner: &str,
    mut members: Vec<(&PathGrowth, Verdict)>,
    options: &Options,
) -> Finding {
    let primary = analysis.primary;
    members.sort_by(|a, b| {
        b.0.series
            .change(primary)
            .total_cmp(&a.0.series.change(primary))
    });
    let sites: Vec<SiteFinding> = members
        .iter()
        .map(|&(path, verdict)| site_finding(analysis, path, verdict))
        .collect();
    let lead = kind::leading_site(&sites);
    let leading = &sites[lead];
    let wrapper = catalogue::find(&leading.call_path);
    let kind = kind::classify(analysis, leading, wrapper.as_ref(), &sites);
    let total_rates = sum_rates(sites.iter().map(|s| s.rates));
    let total_change = sum_rates(sites.iter().map(|s| s.change));
    let verdict = if kind == Kind::Bounded {
        Verdict::LevellingOff
    } else {
        leading.verdict
    };
    let retained_share = ratio(total_change.inuse_objects, total_change.alloc_objects);
    let projection = (analysis.axis.per_task() && verdict.is_leak()).then(|| {
        let last_x = analysis.axis.values.last().copied().unwrap_or(0.0);
        let target = options.projection_tasks.max(last_x);
        members
            .iter()
            .map(|(p, _)| {
                let fit = &p.series.fits[primary];
                p.series.last(primary) + fit.predict(target) - fit.predict(last_x)
            })
            .sum()
    });
    Finding {
        kind,
        wrapper: wrapper.as_ref().map(|w| w.function.clone()),
        site: leading.site.clone(),
        owner: owner.to_string(),
        verdict,
        confidence: confidence(analysis, leading, &members),
        rates: leading.rates,
        total_rates,
        retained_share,
        projection,
        fix: kind::fix_hint(kind, owner, leading, wrapper.as_ref()),
        sites,
    }
}

fn site_finding(analysis: &Analysis, path: &PathGrowth, verdict: Verdict) -> SiteFinding {
    let series = &path.series;
    let heap = analysis.heap;
    let pick = |measure: Option<usize>, f: &dyn Fn(usize) -> f64| measure.map_or(0.0, f);
    let rates = Rates {
        inuse_bytes: pick(heap.inuse_space, &|m| series.slope(m)),
        inuse_objects: pick(heap.inuse_objects, &|m| series.slope(m)),
        alloc_bytes: pick(heap.alloc_space, &|m| series.slope(m)),
        alloc_objects: pick(heap.alloc_objects, &|m| series.slope(m)),
        primary: series.slope(analysis.primary),
    };
    let change = Rates {
        inuse_bytes: pick(heap.inuse_space, &|m| series.change(m)),
        inuse_objects: pick(heap.inuse_objects, &|m| series.change(m)),
        alloc_bytes: pick(heap.alloc_space, &|m| series.change(m)),
        alloc_objects: pick(heap.alloc_objects, &|m| series.change(m)),
        primary: series.change(analysis.primary),
    };
    let mut call_path = user_callers(&path.callers);
    call_path.extend(path.frames.iter().rev().cloned());
    SiteFinding {
        site: path.key.site.clone(),
        call_path,
        rates,
        change,
        retained_share: analysis.retained_share(series),
        verdict,
        z_score: path.z_score,
    }
}

/// The callers above an owner up to the outermost frame outside the runtime
/// and standard library, outermost first: the loop that calls a helper shows
/// in the path even when the helper is taken for the owner.
fn user_callers(callers: &[String]) -> Vec<String> {
    let Some(outermost) = callers.iter().rposition(|f| !is_standard(f)) else {
        return Vec::new();
    };
    callers[..=outermost].iter().rev().cloned().collect()
}

fn sum_rates(rates: impl Iterator<Item = Rates>) -> Rates {
    rates.fold(Rates::default(), |a, b| Rates {
        inuse_bytes: a.inuse_bytes + b.inuse_bytes,
        inuse_objects: a.inuse_objects + b.inuse_objects,
        alloc_bytes: a.alloc_bytes + b.alloc_bytes,
        alloc_objects: a.alloc_objects + b.alloc_objects,
        primary: a.primary + b.primary,
    })
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// High: the change is at least 6 standard errors of the sampling (about 36
/// recorded samples), nearly all of it kept, and with three or more snapshots
/// a straight fit. Medium: at least 4 standard errors (about 16 samples) and
/// most of it kept. Low otherwise, and always for a value that grows in size
/// between two snapshots only.
fn confidence(
    analysis: &Analysis,
    leading: &SiteFinding,
    members: &[(&PathGrowth, Verdict)],
) -> Confidence {
    let z = members.iter().map(|(p, _)| p.z_score).fold(0.0, f64::max);
    // A value that grows in size keeps its object count, so its share of new
    // objects kept means nothing for it.
    let share = if leading.rates.inuse_objects.abs() < kind::FLAT_OBJECTS_PER_TASK {
        1.0
    } else {
        leading.retained_share.unwrap_or(1.0)
    };
    let fit = members
        .iter()
        .find(|(p, _)| p.key.site == leading.site)
        .map(|(p, _)| p.series.fits[analysis.primary]);
    let straight = analysis.names.len() < 3 || fit.is_some_and(|f| f.r_squared >= 0.9);
    // With two snapshots, a value that grows in size without new objects
    // looks the same as a large allocation made once.
    let two_point_flat = analysis.names.len() < 3
        && analysis.heap.inuse_objects.is_some()
        && leading.change.inuse_objects.abs() < MIN_GROWTH_COUNT;
    if two_point_flat {
        Confidence::Low
    } else if z >= 6.0 && share >= 0.9 && straight {
        Confidence::High
    } else if z >= 4.0 && share >= 0.5 {
        Confidence::Medium
    } else {
        Confidence::Low
    }
}
