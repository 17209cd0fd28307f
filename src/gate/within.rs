//! Rules within one run: the diagnosis's leaks against the limits.

use std::collections::BTreeSet;

use super::allow::Allowlist;
use super::estimate::{stderr_from_z, task_span, Rate};
use super::{format_bytes, Allowed, Limits, PassedFinding, RuleId, RuleResult, Unit, Violation};
use crate::analysis::growth::{Analysis, PathGrowth};
use crate::diagnosis::{Finding, Kind};
use crate::render::report::{group_digits, number};

/// A finding with a leak verdict and its growth, counted over the sites
/// that grow linearly or faster and that no allow pattern matched.
pub(super) struct Leak<'a> {
    pub finding: &'a Finding,
    pub sites: Vec<&'a str>,
    pub bytes: Rate,
    pub objects: Rate,
    /// Growth over the run in percent of the first snapshot's in-use bytes.
    pub growth_percent: Rate,
}

pub(super) struct Leaks<'a> {
    pub judged: Vec<Leak<'a>>,
    pub allowed: Vec<Allowed>,
}

/// Picks the leaks out of the findings. Bounded growth and sites judged as
/// noise or levelling off are not leaks.
pub(super) fn leaks<'a>(
    analysis: &Analysis,
    findings: &'a [Finding],
    allow: &Allowlist,
) -> Leaks<'a> {
    let mut leaks = Leaks {
        judged: Vec::new(),
        allowed: Vec::new(),
    };
    for finding in findings {
        let growing: Vec<&str> = finding
            .sites
            .iter()
            .filter(|s| s.verdict.is_leak())
            .map(|s| s.site.as_str())
            .collect();
        if finding.kind == Kind::Bounded || growing.is_empty() {
            continue;
        }
        if let Some(pattern) = allow.find(&finding.owner) {
            leaks.allowed.push(Allowed {
                owner: finding.owner.clone(),
                sites: growing.iter().map(|s| s.to_string()).collect(),
                pattern: pattern.clone(),
                by_owner: true,
            });
            continue;
        }
        let mut remaining = Vec::new();
        for site in growing {
            match allow.find(site) {
                Some(pattern) => leaks.allowed.push(Allowed {
                    owner: finding.owner.clone(),
                    sites: vec![site.to_string()],
                    pattern: pattern.clone(),
                    by_owner: false,
                }),
                None => remaining.push(site),
            }
        }
        if !remaining.is_empty() {
            leaks.judged.push(estimate(analysis, finding, remaining));
        }
    }
    leaks
}

fn estimate<'a>(analysis: &Analysis, finding: &'a Finding, sites: Vec<&'a str>) -> Leak<'a> {
    let members: Vec<&PathGrowth> = analysis
        .paths
        .iter()
        .filter(|p| p.key.owner.as_deref() == Some(finding.owner.as_str()))
        .filter(|p| sites.contains(&p.key.site.as_str()))
        .collect();

    let bytes_measure = analysis.heap.inuse_space.unwrap_or(analysis.primary);
    let objects_measure = analysis.heap.inuse_objects.unwrap_or(analysis.primary);
    let bytes = sum_values(&members, bytes_measure);
    let objects = sum_values(&members, objects_measure);
    // The z-score of each path measures its change of the primary measure,
    // in-use bytes, against the heap sampling's standard error.
    let variance: f64 = members
        .iter()
        .map(|p| stderr_from_z(p.series.change(analysis.primary), p.z_score).powi(2))
        .sum();
    let bytes_stderr = variance.sqrt();
    let bytes_change = change(&bytes);
    let relative = if bytes_change != 0.0 {
        bytes_stderr / bytes_change.abs()
    } else {
        0.0
    };

    let xs = &analysis.axis.values;
    let bytes_rate = Rate::fit(xs, &bytes, bytes_stderr);
    let objects_rate = Rate::fit(xs, &objects, relative * change(&objects).abs());
    let start = analysis.totals.first(bytes_measure);
    let heap = if start > 0.0 {
        start
    } else {
        analysis.totals.last(bytes_measure).max(1.0)
    };
    let to_percent = |per_task: f64| per_task * task_span(xs) / heap * 100.0;
    Leak {
        finding,
        sites,
        bytes: bytes_rate,
        objects: objects_rate,
        growth_percent: Rate {
            slope: to_percent(bytes_rate.slope),
            low: to_percent(bytes_rate.low),
            high: to_percent(bytes_rate.high),
        },
    }
}

fn sum_values(members: &[&PathGrowth], measure: usize) -> Vec<f64> {
    let count = members
        .first()
        .map_or(0, |p| p.series.values[measure].len());
    (0..count)
        .map(|i| members.iter().map(|p| p.series.values[measure][i]).sum())
        .collect()
}

fn change(values: &[f64]) -> f64 {
    values.last().copied().unwrap_or(0.0) - values.first().copied().unwrap_or(0.0)
}

/// Checks the four within-run rules and returns them in report order.
pub(super) fn rules(analysis: &Analysis, leaks: &Leaks<'_>, limits: &Limits) -> Vec<RuleResult> {
    let judged = &leaks.judged;
    let span = task_span(&analysis.axis.values);
    vec![
        chain_rule(judged),
        limit_rule(
            RuleId::BytesPerTask,
            limits.max_bytes_per_task,
            judged,
            LimitKind::Bytes,
        ),
        limit_rule(
            RuleId::ObjectsPerTask,
            limits.max_objects_per_task,
            judged,
            LimitKind::Objects,
        ),
        limit_rule(
            RuleId::GrowthPercent,
            limits.max_growth_percent,
            judged,
            LimitKind::Percent { span },
        ),
    ]
}

/// True for a chain of wrappers, and for a logger re-wrapped on every task:
/// its buffer grows instead of its object count, but the fix is the same.
fn is_chain(finding: &Finding) -> bool {
    finding.kind == Kind::Chain
        || (finding.kind == Kind::GrowingBuffer && finding.wrapper.is_some())
}

fn chain_rule(judged: &[Leak<'_>]) -> RuleResult {
    let violations = judged
        .iter()
        .filter(|leak| is_chain(leak.finding))
        .map(|leak| {
            let finding = leak.finding;
            let wrapper = finding.wrapper.as_deref().unwrap_or(&finding.site);
            Violation {
                site: finding.site.clone(),
                owner: Some(finding.owner.clone()),
                kind: Some(finding.kind),
                unit: Unit::BytesPerTask,
                measured: leak.bytes.slope,
                compared: leak.bytes.low,
                limit: None,
                message: format!(
                    "{} keeps a chain of {wrapper} values that grows by {} and {} objects per task",
                    finding.owner,
                    format_bytes(leak.bytes.slope),
                    number(leak.objects.slope)
                ),
                fix: Some(finding.fix.clone()),
            }
        })
        .collect();
    let title = "no chain of wrappers grows with the task count".to_string();
    RuleResult::checked(RuleId::Chain, title, judged.len(), violations)
}

#[derive(Clone, Copy)]
enum LimitKind {
    Bytes,
    Objects,
    /// Growth in percent of the in-use heap over `span` tasks.
    Percent {
        span: f64,
    },
}

impl LimitKind {
    fn flag(self) -> &'static str {
        match self {
            LimitKind::Bytes => "--max-bytes-per-task",
            LimitKind::Objects => "--max-objects-per-task",
            LimitKind::Percent { .. } => "--max-growth-percent",
        }
    }

    fn unit(self) -> Unit {
        match self {
            LimitKind::Bytes => Unit::BytesPerTask,
            LimitKind::Objects => Unit::ObjectsPerTask,
            LimitKind::Percent { .. } => Unit::Percent,
        }
    }

    fn rate<'a>(self, leak: &'a Leak<'_>) -> &'a Rate {
        match self {
            LimitKind::Bytes => &leak.bytes,
            LimitKind::Objects => &leak.objects,
            LimitKind::Percent { .. } => &leak.growth_percent,
        }
    }

    /// Formats a figure in this kind's unit without "per task": "64B", "2",
    /// "5%".
    fn amount(self, value: f64) -> String {
        match self {
            LimitKind::Bytes => format_bytes(value),
            LimitKind::Objects => number(value),
            LimitKind::Percent { .. } => format!("{}%", number(value)),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            LimitKind::Bytes => " per task",
            LimitKind::Objects => " objects per task",
            LimitKind::Percent { .. } => "",
        }
    }

    fn title(self, limit: f64) -> String {
        let limit_text = format!("{}{}", self.amount(limit), self.suffix());
        match self {
            LimitKind::Bytes | LimitKind::Objects => {
                format!("no leak retains more than {limit_text}")
            }
            LimitKind::Percent { span } => format!(
                "no leak grows the in-use heap by more than {limit_text} over the run ({} tasks)",
                group_digits(span)
            ),
        }
    }

    fn growth(self) -> &'static str {
        match self {
            LimitKind::Percent { .. } => "grows the in-use heap by",
            _ => "grows by",
        }
    }
}

fn limit_rule(id: RuleId, limit: Option<f64>, judged: &[Leak<'_>], kind: LimitKind) -> RuleResult {
    let Some(limit) = limit else {
        let title = format!("no limit set with {}", kind.flag());
        return RuleResult::skipped(id, title, &format!("no {} limit is set", kind.flag()));
    };
    let violations = judged
        .iter()
        .filter(|leak| kind.rate(leak).low > limit)
        .map(|leak| {
            let finding = leak.finding;
            let figure = kind.rate(leak);
            Violation {
                site: finding.site.clone(),
                owner: Some(finding.owner.clone()),
                kind: Some(finding.kind),
                unit: kind.unit(),
                measured: figure.slope,
                compared: figure.low,
                limit: Some(limit),
                message: format!(
                    "{} ({}) {} {}{suffix} (95% interval {} to {}) at {}, over the limit of {}{suffix}",
                    finding.owner,
                    finding.kind.describe(),
                    kind.growth(),
                    kind.amount(figure.slope),
                    kind.amount(figure.low),
                    kind.amount(figure.high),
                    leak.sites.join(", "),
                    kind.amount(limit),
                    suffix = kind.suffix(),
                ),
                fix: Some(finding.fix.clone()),
            }
        })
        .collect();
    RuleResult::checked(id, kind.title(limit), judged.len(), violations)
}

/// Findings that broke no rule and were not allowed: bounded growth and
/// leaks within every limit.
pub(super) fn passed_findings(
    findings: &[Finding],
    leaks: &Leaks<'_>,
    rules: &[RuleResult],
) -> Vec<PassedFinding> {
    let broken: BTreeSet<&str> = rules
        .iter()
        .flat_map(|r| &r.violations)
        .filter_map(|v| v.owner.as_deref())
        .collect();
    // Owners whose every growing site was allowed are listed as allowed.
    let judged: BTreeSet<&str> = leaks
        .judged
        .iter()
        .map(|leak| leak.finding.owner.as_str())
        .collect();
    let allowed: BTreeSet<&str> = leaks
        .allowed
        .iter()
        .map(|a| a.owner.as_str())
        .filter(|owner| !judged.contains(owner))
        .collect();
    findings
        .iter()
        .filter(|f| !broken.contains(f.owner.as_str()) && !allowed.contains(f.owner.as_str()))
        .map(|f| PassedFinding {
            owner: f.owner.clone(),
            site: f.site.clone(),
            kind: f.kind,
            verdict: f.verdict,
            bytes_per_task: (f.kind != Kind::Bounded).then_some(f.total_rates.inuse_bytes),
        })
        .collect()
}
