//! The gate: pass or fail a run of heap snapshots for CI.
//!
//! Within one run, every finding of the diagnosis with a leak verdict is
//! checked against the limits (bytes and objects per task, growth as a
//! percentage of the in-use heap), and any chain of wrappers fails. Against a
//! baseline, each site's retention per task and its in-use bytes are checked
//! against the baseline's plus a tolerance. Every comparison uses the lower
//! end of the growth's 95% interval, so noise alone does not fail a run.

pub mod allow;
mod baseline;
pub mod config;
pub mod estimate;
pub mod output;
pub mod summary;
mod within;

use serde::Serialize;

use crate::analysis::growth::{Analysis, Reduced};
use crate::diagnosis::verdict::Verdict;
use crate::diagnosis::{Finding, Kind, MATERIAL_BYTES};
use crate::render::report::rate;
use allow::{Allowlist, Pattern};
use summary::{Summary, SummaryError};

/// Tolerance of the baseline rules when none is given, in percent.
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 10.0;
/// Smallest increase of a site's in-use bytes over the baseline that fails
/// when none is given: the diagnosis's [`MATERIAL_BYTES`], 1 MiB.
pub const DEFAULT_MIN_INUSE_INCREASE: f64 = MATERIAL_BYTES;

/// Limits on the growth of one leak within a run. A limit that is `None` is
/// not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Limits {
    pub max_bytes_per_task: Option<f64>,
    pub max_objects_per_task: Option<f64>,
    pub max_growth_percent: Option<f64>,
}

impl Limits {
    /// Returns the limits as given, or a limit of 0 bytes per task when
    /// none is given, so that every leak the diagnosis confirms fails.
    pub fn or_default(self) -> Limits {
        let none = self.max_bytes_per_task.is_none()
            && self.max_objects_per_task.is_none()
            && self.max_growth_percent.is_none();
        if none {
            Limits {
                max_bytes_per_task: Some(0.0),
                ..self
            }
        } else {
            self
        }
    }
}

/// Everything that decides the gate, validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    pub limits: Limits,
    /// How far a site may grow beyond the baseline, in percent of the
    /// baseline's value.
    pub tolerance_percent: f64,
    /// Smallest increase of a site's in-use bytes over the baseline that
    /// can fail, in bytes.
    pub min_inuse_increase: f64,
    pub allow: Allowlist,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default().or_default(),
            tolerance_percent: DEFAULT_TOLERANCE_PERCENT,
            min_inuse_increase: DEFAULT_MIN_INUSE_INCREASE,
            allow: Allowlist::default(),
        }
    }
}

/// A baseline to compare with, and where it came from.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// The file or folder given to `--baseline`.
    pub source: String,
    pub summary: Summary,
}

/// The rules of the gate, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    Chain,
    BytesPerTask,
    ObjectsPerTask,
    GrowthPercent,
    BaselineBytesPerTask,
    BaselineInuse,
}

impl RuleId {
    /// Returns the rule's name in every output format (the JUnit test case
    /// name).
    pub fn name(self) -> &'static str {
        match self {
            RuleId::Chain => "chain",
            RuleId::BytesPerTask => "bytes-per-task",
            RuleId::ObjectsPerTask => "objects-per-task",
            RuleId::GrowthPercent => "growth-percent",
            RuleId::BaselineBytesPerTask => "baseline-bytes-per-task",
            RuleId::BaselineInuse => "baseline-inuse",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Not checked: no limit set, or no baseline.
    Skipped,
}

impl Status {
    pub fn describe(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        }
    }
}

/// Unit of a violation's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    BytesPerTask,
    ObjectsPerTask,
    Percent,
    Bytes,
}

/// One thing that broke a rule.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// The allocating function (for a finding, its leading site).
    pub site: String,
    /// The function that keeps the memory, for within-run rules.
    pub owner: Option<String>,
    pub kind: Option<Kind>,
    pub unit: Unit,
    /// Best estimate of the figure.
    pub measured: f64,
    /// The figure compared with the limit: the lower end of the estimate's
    /// 95% interval for growth, the increase for in-use bytes.
    pub compared: f64,
    /// Limit that `compared` had to stay under; `None` for the chain rule.
    pub limit: Option<f64>,
    /// One sentence for people, naming the site and the figures.
    pub message: String,
    pub fix: Option<String>,
}

/// The outcome of one rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleResult {
    pub id: RuleId,
    pub name: &'static str,
    /// Requirement of the rule with its limit, for people.
    pub title: String,
    pub status: Status,
    /// Number of leaks or sites the rule looked at.
    pub checked: usize,
    /// Reason the rule was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    pub violations: Vec<Violation>,
}

impl RuleResult {
    fn skipped(id: RuleId, title: String, reason: &str) -> RuleResult {
        RuleResult {
            id,
            name: id.name(),
            title,
            status: Status::Skipped,
            checked: 0,
            skip_reason: Some(reason.to_string()),
            violations: Vec::new(),
        }
    }

    fn checked(
        id: RuleId,
        title: String,
        checked: usize,
        violations: Vec<Violation>,
    ) -> RuleResult {
        let status = if violations.is_empty() {
            Status::Passed
        } else {
            Status::Failed
        };
        RuleResult {
            id,
            name: id.name(),
            title,
            status,
            checked,
            skip_reason: None,
            violations,
        }
    }
}

/// A leak, or some of its sites, left out of the rules by `--allow`.
#[derive(Clone, Debug, Serialize)]
pub struct Allowed {
    pub owner: String,
    /// The sites left out; all of the finding's sites when the owner matched.
    pub sites: Vec<String>,
    pub pattern: Pattern,
    /// True when the pattern matched the owner, false when it matched sites.
    pub by_owner: bool,
}

/// A finding that passed every rule: bounded growth, or a leak within the
/// limits.
#[derive(Clone, Debug, Serialize)]
pub struct PassedFinding {
    pub owner: String,
    pub site: String,
    pub kind: Kind,
    pub verdict: Verdict,
    /// Growth per task summed over the finding's sites; `None` for bounded
    /// growth, whose slope over the whole run means little.
    pub bytes_per_task: Option<f64>,
}

/// The run that was judged.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub snapshots: Vec<String>,
    pub tasks: Vec<f64>,
    /// Source of the task counts.
    pub axis: &'static str,
    /// Average bytes between heap samples; 1 when every allocation was
    /// recorded.
    pub sample_period: f64,
    pub first_inuse_bytes: f64,
    pub last_inuse_bytes: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BaselineInfo {
    pub source: String,
    pub snapshots: usize,
    pub last_tasks: f64,
    pub sample_period: f64,
}

/// The gate's decision and everything behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub passed: bool,
    pub run: RunInfo,
    pub baseline: Option<BaselineInfo>,
    pub settings: Settings,
    pub rules: Vec<RuleResult>,
    pub allowed: Vec<Allowed>,
    pub passed_findings: Vec<PassedFinding>,
}

impl Report {
    pub fn failed_rules(&self) -> usize {
        self.rules
            .iter()
            .filter(|r| r.status == Status::Failed)
            .count()
    }
}

/// Formats a byte count the way `go tool pprof` does ("1.50kB"), with the
/// unit on zero too ("0B").
pub fn format_bytes(value: f64) -> String {
    if value == 0.0 {
        "0B".to_string()
    } else {
        rate(value, "bytes")
    }
}

/// The run to judge: its snapshots, their analysis and diagnosis.
pub struct Run<'a> {
    pub reduced: &'a [Reduced],
    pub analysis: &'a Analysis,
    pub findings: &'a [Finding],
    /// Average bytes between heap samples; 1 when every allocation was
    /// recorded.
    pub sample_period: f64,
}

/// Judges a run, against a baseline if there is one.
pub fn evaluate(
    run: &Run<'_>,
    baseline: Option<&Baseline>,
    settings: &Settings,
) -> Result<Report, SummaryError> {
    let Run {
        reduced,
        analysis,
        findings,
        sample_period,
    } = *run;
    let leaks = within::leaks(analysis, findings, &settings.allow);
    let mut rules = within::rules(analysis, &leaks, &settings.limits);
    let allow = &settings.allow;
    let current = Summary::build(reduced, &analysis.axis, sample_period, |key| {
        !allow.covers_path(key)
    })?;
    rules.extend(baseline::rules(&leaks, &current, baseline, settings));
    let passed_findings = within::passed_findings(findings, &leaks, &rules);
    let primary = analysis.primary;
    let run = RunInfo {
        snapshots: analysis.names.clone(),
        tasks: analysis.axis.values.clone(),
        axis: analysis.axis.describe(),
        sample_period,
        first_inuse_bytes: analysis.totals.first(primary),
        last_inuse_bytes: analysis.totals.last(primary),
    };
    Ok(Report {
        passed: rules.iter().all(|r| r.status != Status::Failed),
        run,
        baseline: baseline.map(|b| BaselineInfo {
            source: b.source.clone(),
            snapshots: b.summary.snapshots,
            last_tasks: b.summary.last_tasks,
            sample_period: b.summary.sample_period,
        }),
        settings: settings.clone(),
        rules,
        allowed: leaks.allowed,
        passed_findings,
    })
}
