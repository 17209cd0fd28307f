//! The JSON form of the growth report. The schema is documented in the
//! README; `schema_version` changes whenever a field changes meaning or is
//! removed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::report::{changed_sites, ReportOptions};
use crate::analysis::fit::Fit;
use crate::analysis::growth::{Analysis, AxisSource, Series};
use crate::diagnosis::verdict::{judge_series, Verdict};
use crate::diagnosis::{Confidence, Finding, Kind, Rates, SiteFinding};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    command: &'a str,
    kind: String,
    snapshots: Vec<JsonSnapshot<'a>>,
    axis: JsonAxis,
    totals: JsonChange,
    sites: Vec<JsonSite<'a>>,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonSnapshot<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
}

#[derive(Serialize)]
struct JsonAxis {
    /// "option", "file_names", "manifest", "timestamps" or "order".
    source: &'static str,
    /// "task", "second" or "snapshot".
    unit: &'static str,
}

/// Values of the four heap measures (or `primary` alone for other kinds).
#[derive(Serialize)]
struct JsonChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    inuse_bytes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inuse_objects: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alloc_bytes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alloc_objects: Option<f64>,
    primary: f64,
}

#[derive(Serialize)]
struct JsonSite<'a> {
    function: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<i64>,
    change: JsonChange,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_task: Option<JsonChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_second: Option<JsonChange>,
    retained_share: Option<f64>,
    /// Fit of the primary measure against the axis.
    fit: JsonFit,
    /// Fit of every measure, by sample type name.
    fits: BTreeMap<&'a str, JsonFit>,
    verdict: Verdict,
}

#[derive(Serialize)]
struct JsonFit {
    slope: f64,
    slope_low: f64,
    slope_high: f64,
    r_squared: f64,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    kind: Kind,
    wrapper: Option<&'a str>,
    site: &'a str,
    owner: &'a str,
    verdict: Verdict,
    confidence: Confidence,
    leak: bool,
    change: JsonChange,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_task: Option<JsonChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_per_task: Option<JsonChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_second: Option<JsonChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_per_second: Option<JsonChange>,
    retained_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projection: Option<JsonProjection>,
    fix: &'a str,
    sites: Vec<JsonFindingSite<'a>>,
}

#[derive(Serialize)]
struct JsonProjection {
    tasks: f64,
    /// In the unit of the primary measure: bytes for heap profiles.
    value: f64,
}

#[derive(Serialize)]
struct JsonFindingSite<'a> {
    site: &'a str,
    call_path: &'a [String],
    verdict: Verdict,
    change: JsonChange,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_task: Option<JsonChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_second: Option<JsonChange>,
    retained_share: Option<f64>,
    z_score: Option<f64>,
}

pub fn write_json(
    out: &mut dyn Write,
    analysis: &Analysis,
    findings: &[Finding],
    options: &ReportOptions,
) -> io::Result<()> {
    let report = JsonReport {
        schema_version: SCHEMA_VERSION,
        command: options.command,
        kind: analysis.kind.to_string(),
        snapshots: snapshots(analysis),
        axis: JsonAxis {
            source: source_name(&analysis.axis.source),
            unit: analysis.axis.unit(),
        },
        totals: series_change(analysis, &analysis.totals, |s, m| s.change(m)),
        sites: changed_sites(analysis)
            .into_iter()
            .map(|site| {
                let (per_task, per_second) = split_rates(
                    analysis,
                    series_change(analysis, &site.series, |s, m| s.slope(m)),
                );
                JsonSite {
                    function: &site.key.function,
                    file: site.key.file.as_deref(),
                    line: site.key.line,
                    change: series_change(analysis, &site.series, |s, m| s.change(m)),
                    per_task,
                    per_second,
                    retained_share: analysis.retained_share(&site.series),
                    fit: json_fit(&site.series.fits[analysis.primary]),
                    fits: analysis
                        .measures
                        .iter()
                        .zip(&site.series.fits)
                        .map(|(m, fit)| (m.name.as_str(), json_fit(fit)))
                        .collect(),
                    verdict: judge_series(analysis, &site.series, site.z_score),
                }
            })
            .collect(),
        findings: findings
            .iter()
            .map(|f| json_finding(analysis, f, options))
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

fn json_fit(fit: &Fit) -> JsonFit {
    JsonFit {
        slope: fit.slope,
        slope_low: fit.slope_low,
        slope_high: fit.slope_high,
        r_squared: fit.r_squared,
    }
}

fn snapshots(analysis: &Analysis) -> Vec<JsonSnapshot<'_>> {
    let unit = analysis.axis.unit();
    analysis
        .names
        .iter()
        .zip(&analysis.axis.values)
        .map(|(name, &x)| JsonSnapshot {
            file: name,
            tasks: (unit == "task").then_some(x),
            seconds: (unit == "second").then_some(x),
        })
        .collect()
}

fn source_name(source: &AxisSource) -> &'static str {
    match source {
        AxisSource::Option => "option",
        AxisSource::FileNames => "file_names",
        AxisSource::Manifest => "manifest",
        AxisSource::Timestamps => "timestamps",
        AxisSource::Order => "order",
    }
}

fn series_change(
    analysis: &Analysis,
    series: &Series,
    value: impl Fn(&Series, usize) -> f64,
) -> JsonChange {
    let heap = analysis.heap;
    let pick = |m: Option<usize>| m.map(|m| value(series, m));
    JsonChange {
        inuse_bytes: pick(heap.inuse_space),
        inuse_objects: pick(heap.inuse_objects),
        alloc_bytes: pick(heap.alloc_space),
        alloc_objects: pick(heap.alloc_objects),
        primary: value(series, analysis.primary),
    }
}

fn from_rates(analysis: &Analysis, rates: &Rates) -> JsonChange {
    let heap = analysis.heap;
    JsonChange {
        inuse_bytes: heap.inuse_space.map(|_| rates.inuse_bytes),
        inuse_objects: heap.inuse_objects.map(|_| rates.inuse_objects),
        alloc_bytes: heap.alloc_space.map(|_| rates.alloc_bytes),
        alloc_objects: heap.alloc_objects.map(|_| rates.alloc_objects),
        primary: rates.primary,
    }
}

/// Puts rates under per_task or per_second, or drops them when the axis is
/// only the snapshot order.
fn split_rates(analysis: &Analysis, rates: JsonChange) -> (Option<JsonChange>, Option<JsonChange>) {
    match analysis.axis.unit() {
        "task" => (Some(rates), None),
        "second" => (None, Some(rates)),
        _ => (None, None),
    }
}

fn json_finding<'a>(
    analysis: &Analysis,
    finding: &'a Finding,
    options: &ReportOptions,
) -> JsonFinding<'a> {
    let lead = finding.sites.iter().find(|s| s.site == finding.site);
    let change = lead.map_or_else(
        || from_rates(analysis, &Rates::default()),
        |s| from_rates(analysis, &s.change),
    );
    let (per_task, per_second) = split_rates(analysis, from_rates(analysis, &finding.rates));
    let (total_per_task, total_per_second) =
        split_rates(analysis, from_rates(analysis, &finding.total_rates));
    JsonFinding {
        kind: finding.kind,
        wrapper: finding.wrapper.as_deref(),
        site: &finding.site,
        owner: &finding.owner,
        verdict: finding.verdict,
        confidence: finding.confidence,
        leak: finding.verdict.is_leak(),
        change,
        per_task,
        total_per_task,
        per_second,
        total_per_second,
        retained_share: finding.retained_share,
        projection: finding.projection.map(|value| JsonProjection {
            tasks: options.projection_tasks,
            value,
        }),
        fix: &finding.fix,
        sites: finding
            .sites
            .iter()
            .map(|s| json_site(analysis, s))
            .collect(),
    }
}

fn json_site<'a>(analysis: &Analysis, site: &'a SiteFinding) -> JsonFindingSite<'a> {
    let (per_task, per_second) = split_rates(analysis, from_rates(analysis, &site.rates));
    JsonFindingSite {
        site: &site.site,
        call_path: &site.call_path,
        verdict: site.verdict,
        change: from_rates(analysis, &site.change),
        per_task,
        per_second,
        retained_share: site.retained_share,
        z_score: site.z_score.is_finite().then_some(site.z_score),
    }
}
