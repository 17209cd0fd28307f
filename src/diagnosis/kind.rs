//! The kind of a finding, decided from its numbers, and the fix hint.

use serde::Serialize;

use super::catalogue::{self, Family, Wrapper};
use super::verdict::Verdict;
use super::SiteFinding;
use crate::analysis::growth::Analysis;
use crate::model::ProfileKind;

/// In-use objects per task below which a site counts as holding a fixed
/// number of objects that grow in size.
pub const FLAT_OBJECTS_PER_TASK: f64 = 0.05;
/// Allocated bytes per retained byte above which a growing collection counts
/// as reallocating (slices double, maps rehash); a chain allocates each link
/// once, near 1.
pub(super) const REALLOCATING_ALLOC_RATIO: f64 = 1.3;
/// Allocated bytes per retained byte above which a growing value is being
/// copied on every change: each wrap copies the whole buffer.
const COPYING_ALLOC_RATIO: f64 = 8.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A chain of wrappers: each task adds a link that points at the last.
    Chain,
    /// One value whose buffer grows with every task.
    GrowingBuffer,
    /// A slice or map that only grows.
    UnboundedCollection,
    LeakedGoroutines,
    /// Retention per task that matches no known shape.
    Growth,
    /// Growth that levelled off, like a cache reaching its size.
    Bounded,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Chain => "chain of wrappers",
            Kind::GrowingBuffer => "growing buffer",
            Kind::UnboundedCollection => "unbounded collection",
            Kind::LeakedGoroutines => "leaked goroutines",
            Kind::Growth => "growth",
            Kind::Bounded => "bounded growth",
        }
    }
}

/// Index of the site that leads a finding: the largest-growing site on a
/// known wrapper's path, else the largest-growing site.
pub(super) fn leading_site(sites: &[SiteFinding]) -> usize {
    sites
        .iter()
        .position(|site| catalogue::find(&site.call_path).is_some() && site.rates.primary > 0.0)
        .unwrap_or(0)
}

pub(super) fn classify(
    analysis: &Analysis,
    leading: &SiteFinding,
    wrapper: Option<&Wrapper>,
    sites: &[SiteFinding],
) -> Kind {
    if sites.iter().all(|s| s.verdict == Verdict::LevellingOff) {
        return Kind::Bounded;
    }
    let goroutine_structs = leading.call_path.iter().any(|f| f == "runtime.malg");
    if analysis.kind == ProfileKind::Goroutine || goroutine_structs {
        return Kind::LeakedGoroutines;
    }
    let rates = leading.rates;
    let objects_flat = rates.inuse_objects < FLAT_OBJECTS_PER_TASK;
    if objects_flat && rates.inuse_bytes > 0.0 {
        let copying = leading.change.alloc_bytes > COPYING_ALLOC_RATIO * leading.change.inuse_bytes;
        return if copying {
            Kind::GrowingBuffer
        } else {
            Kind::UnboundedCollection
        };
    }
    let kept = leading.retained_share.is_none_or(|share| share >= 0.5);
    match wrapper {
        Some(_) if kept => Kind::Chain,
        _ if leading.change.alloc_bytes > REALLOCATING_ALLOC_RATIO * leading.change.inuse_bytes => {
            Kind::UnboundedCollection
        }
        _ => Kind::Growth,
    }
}

pub(super) fn fix_hint(
    kind: Kind,
    owner: &str,
    leading: &SiteFinding,
    wrapper: Option<&Wrapper>,
) -> String {
    let site = &leading.site;
    // " at SITE", left out when the owner allocates itself.
    let at_site = if *site == owner {
        String::new()
    } else {
        format!(" at {site}")
    };
    match (kind, wrapper) {
        (Kind::Chain, Some(wrapper)) => chain_hint(owner, wrapper),
        (Kind::GrowingBuffer, Some(wrapper)) if wrapper.family == Family::Logger => format!(
            "{owner} re-wraps a logger on every task and each {} copies all attributes so far; \
             use a loop-local logger (taskLogger := logger.With(...))",
            wrapper.function
        ),
        (Kind::GrowingBuffer, _) => format!(
            "{owner} grows one value{at_site} on every task and copies it each time; \
             rebuild it per task or bound its size"
        ),
        (Kind::UnboundedCollection, _) => format!(
            "{owner} adds to a slice or map{at_site} that is never trimmed; \
             bound it (evict, cap, or reset per batch)"
        ),
        (Kind::LeakedGoroutines, _) if owner == super::UNKNOWN_OWNER => {
            "each task leaves a goroutine that never exits; heap profiles do not record \
             who starts goroutines, so record goroutine profiles too (pprof-chain record \
             --goroutines) and run trend --kind goroutine to see where they block"
                .to_string()
        }
        (Kind::LeakedGoroutines, _) => format!(
            "goroutines running {owner} block forever in {site}; give each a way to finish \
             (cancel a context, close a channel, or buffer the reply channel)"
        ),
        (Kind::Bounded, _) => format!(
            "{owner} filled up to a bound and stopped growing{at_site}; no leak, \
             but check the bound fits the memory you have"
        ),
        _ if *site == owner => format!(
            "memory allocated in {owner} is kept for every task; \
             find what keeps it reachable (a variable reassigned in a loop, a map, a global)"
        ),
        _ => format!(
            "memory allocated at {site} under {owner} is kept for every task; \
             find what keeps it reachable (a variable reassigned in a loop, a map, a global)"
        ),
    }
}

fn chain_hint(owner: &str, wrapper: &Wrapper) -> String {
    let (example, fix, advice) = catalogue::reassignment(wrapper);
    format!(
        "in {owner} (or the loop that calls it), `{example}` reassigns the outer variable \
         on every task; use a loop-local variable instead: `{fix}`{advice}"
    )
}
