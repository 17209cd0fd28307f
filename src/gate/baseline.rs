//! Rules against a baseline: each site's retention per task and in-use
//! bytes, matched by function name.

use std::collections::BTreeSet;

use super::summary::{SiteSummary, Summary};
use super::within::Leaks;
use super::{Baseline, RuleId, RuleResult, Settings, Unit, Violation};
use crate::diagnosis::verdict::MIN_Z;
use crate::gate::format_bytes;
use crate::render::report::{group_digits, number};

const NO_BASELINE: &str = "no baseline given (--baseline)";

/// Checks the two baseline rules, or marks them skipped when there is no
/// baseline.
pub(super) fn rules(
    leaks: &Leaks<'_>,
    current: &Summary,
    baseline: Option<&Baseline>,
    settings: &Settings,
) -> Vec<RuleResult> {
    let tolerance = settings.tolerance_percent;
    let per_task_title = format!(
        "no growing site retains more per task than in the baseline, plus {}%",
        number(tolerance)
    );
    let inuse_title = format!(
        "no site holds more in-use memory than in the baseline, plus {}% and at least {}",
        number(tolerance),
        format_bytes(settings.min_inuse_increase)
    );
    let Some(baseline) = baseline else {
        return vec![
            RuleResult::skipped(RuleId::BaselineBytesPerTask, per_task_title, NO_BASELINE),
            RuleResult::skipped(RuleId::BaselineInuse, inuse_title, NO_BASELINE),
        ];
    };
    vec![
        per_task_rule(per_task_title, leaks, current, &baseline.summary, tolerance),
        inuse_rule(inuse_title, current, &baseline.summary, settings),
    ]
}

/// Checks the sites of this run's leaks: each fails when the lower end of
/// its growth per task is above both the baseline's growth plus the
/// tolerance and the upper end of the baseline's own interval.
fn per_task_rule(
    title: String,
    leaks: &Leaks<'_>,
    current: &Summary,
    baseline: &Summary,
    tolerance: f64,
) -> RuleResult {
    let sites: BTreeSet<&str> = leaks
        .judged
        .iter()
        .flat_map(|leak| leak.sites.iter().copied())
        .collect();
    let mut violations = Vec::new();
    for &site in &sites {
        let Some(now) = current.sites.get(site) else {
            continue;
        };
        let before = baseline.sites.get(site);
        let before_rate = before.map(|b| b.bytes_per_task).unwrap_or_default();
        let allowed =
            (before_rate.slope.max(0.0) * (1.0 + tolerance / 100.0)).max(before_rate.high);
        let figure = now.bytes_per_task;
        if figure.low <= allowed {
            continue;
        }
        let then = match before {
            Some(_) => format!(
                "{} per task in the baseline",
                format_bytes(before_rate.slope)
            ),
            None => "no in-use memory in the baseline".to_string(),
        };
        violations.push(Violation {
            site: site.to_string(),
            owner: None,
            kind: None,
            unit: Unit::BytesPerTask,
            measured: figure.slope,
            compared: figure.low,
            limit: Some(allowed),
            message: format!(
                "{site} retains {} per task (95% interval {} to {}) against {then}; \
                 at most {} per task is allowed",
                format_bytes(figure.slope),
                format_bytes(figure.low),
                format_bytes(figure.high),
                format_bytes(allowed)
            ),
            fix: None,
        });
    }
    RuleResult::checked(RuleId::BaselineBytesPerTask, title, sites.len(), violations)
}

/// Checks every site's in-use bytes at the last snapshot. A site fails when
/// its increase over the baseline exceeds the tolerance, the minimum
/// increase, and 3 standard errors of the heap sampling of both runs.
fn inuse_rule(
    title: String,
    current: &Summary,
    baseline: &Summary,
    settings: &Settings,
) -> RuleResult {
    if current.last_tasks != baseline.last_tasks {
        let reason = format!(
            "the run ended at {} tasks and the baseline at {}; in-use bytes are compared \
             only at equal task counts",
            group_digits(current.last_tasks),
            group_digits(baseline.last_tasks)
        );
        return RuleResult::skipped(RuleId::BaselineInuse, title, &reason);
    }
    let empty = SiteSummary {
        inuse_bytes: 0.0,
        inuse_objects: 0.0,
        inuse_bytes_stderr: 0.0,
        bytes_per_task: Default::default(),
        objects_per_task: Default::default(),
    };
    let mut violations = Vec::new();
    for (site, now) in &current.sites {
        let before = baseline.sites.get(site).unwrap_or(&empty);
        let increase = now.inuse_bytes - before.inuse_bytes;
        let noise = MIN_Z * now.inuse_bytes_stderr.hypot(before.inuse_bytes_stderr);
        let allowed = (before.inuse_bytes * settings.tolerance_percent / 100.0)
            .max(settings.min_inuse_increase)
            .max(noise);
        if increase <= allowed {
            continue;
        }
        violations.push(Violation {
            site: site.clone(),
            owner: None,
            kind: None,
            unit: Unit::Bytes,
            measured: now.inuse_bytes,
            compared: increase,
            limit: Some(allowed),
            message: format!(
                "{site} holds {} in use, {} more than the baseline's {}; \
                 an increase of at most {} is allowed",
                format_bytes(now.inuse_bytes),
                format_bytes(increase),
                format_bytes(before.inuse_bytes),
                format_bytes(allowed)
            ),
            fix: None,
        });
    }
    RuleResult::checked(
        RuleId::BaselineInuse,
        title,
        current.sites.len(),
        violations,
    )
}
