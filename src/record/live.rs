//! The live view of `record`: after each snapshot, a short trend of what has
//! been captured so far, with the leading findings and their figures per
//! task.

use std::io::{self, Write};

use crate::analysis::growth::{analyze, Analysis, Axis, AxisSource, Reduced, SeriesError};
use crate::diagnosis::{diagnose, Finding, Kind, Options, Rates};
use crate::render::report::{group_digits, number, rate};
use crate::render::units::scaled_f64;

/// The snapshots captured so far, reduced, with their task counts.
///
/// NOTE: every snapshot is kept and the whole series is fitted again after
/// each one, so memory and time per update grow with the run's length. That
/// is small for tens of snapshots but was not measured for long `--count 0`
/// runs; `--live 0` turns the view off.
#[derive(Default)]
pub struct LiveView {
    reduced: Vec<Reduced>,
    tasks: Vec<Option<f64>>,
}

/// Analysis of the snapshots captured so far.
pub struct LiveReport {
    pub analysis: Analysis,
    pub findings: Vec<Finding>,
}

impl LiveView {
    pub fn push(&mut self, reduced: Reduced, tasks: Option<f64>) {
        self.reduced.push(reduced);
        self.tasks.push(tasks);
    }

    pub fn len(&self) -> usize {
        self.reduced.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reduced.is_empty()
    }

    /// Fits every site against the task counts, or against time when a
    /// snapshot has no task count. Needs two snapshots or more.
    pub fn analyze(&self) -> Result<LiveReport, SeriesError> {
        let analysis = analyze(&self.reduced, self.axis())?;
        let findings = diagnose(&analysis, &Options::default());
        Ok(LiveReport { analysis, findings })
    }

    fn axis(&self) -> Axis {
        if let Some(values) = self.tasks.iter().copied().collect::<Option<Vec<f64>>>() {
            return Axis {
                source: AxisSource::Manifest,
                values,
            };
        }
        if self.reduced.iter().all(|r| r.time_nanos != 0) {
            let first = self.reduced[0].time_nanos;
            let values = self
                .reduced
                .iter()
                .map(|r| (r.time_nanos - first) as f64 / 1e9)
                .collect();
            return Axis {
                source: AxisSource::Timestamps,
                values,
            };
        }
        Axis {
            source: AxisSource::Order,
            values: (0..self.reduced.len()).map(|i| i as f64).collect(),
        }
    }
}

/// Writes the short report: one header line, then up to `limit` findings
/// with their owner and per-task figures.
pub fn write_live(out: &mut dyn Write, report: &LiveReport, limit: usize) -> io::Result<()> {
    let analysis = &report.analysis;
    write_header(out, analysis)?;
    let findings = &report.findings;
    if findings.is_empty() {
        writeln!(
            out,
            "  no finding: no retained memory grows with {}",
            axis_noun(&analysis.axis)
        )?;
    }
    let per = analysis.axis.unit();
    for (i, finding) in findings.iter().take(limit).enumerate() {
        let pattern = finding
            .wrapper
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let leak = if finding.kind == Kind::Bounded {
            ""
        } else {
            "leak: "
        };
        writeln!(
            out,
            "  {}. {leak}{}{pattern}, {}, confidence {}",
            i + 1,
            finding.kind.describe(),
            finding.verdict.describe(),
            finding.confidence.describe()
        )?;
        writeln!(out, "     owner {}  <- fix here", finding.owner)?;
        writeln!(
            out,
            "     per {per}: {} in all, {} at {}",
            rates_text(analysis, &finding.total_rates),
            rates_text(analysis, &finding.rates),
            finding.site
        )?;
    }
    if findings.len() > limit {
        writeln!(
            out,
            "  {} more findings; run `pprof-chain trend` on the folder for all of them",
            findings.len() - limit
        )?;
    }
    writeln!(out)
}

/// Writes why no report can be made yet, such as "the task counts are all
/// equal" while the service is idle.
pub fn write_unavailable(
    out: &mut dyn Write,
    snapshots: usize,
    error: &SeriesError,
) -> io::Result<()> {
    writeln!(out, "after {snapshots} snapshots: no trend yet: {error}\n")
}

fn write_header(out: &mut dyn Write, analysis: &Analysis) -> io::Result<()> {
    let axis = &analysis.axis;
    let first = axis.values.first().copied().unwrap_or(0.0);
    let last = axis.values.last().copied().unwrap_or(0.0);
    let span = match axis.unit() {
        "task" => format!(" ({} to {} tasks)", group_digits(first), group_digits(last)),
        "second" => format!(" (over {last:.1}s, no task counts)"),
        _ => String::new(),
    };
    let measure = &analysis.measures[analysis.primary];
    let totals = &analysis.totals;
    let now = scaled_f64(totals.last(analysis.primary), &measure.unit);
    let change = scaled_f64(totals.change(analysis.primary), &measure.unit);
    let sign = if change.starts_with('-') { "" } else { "+" };
    let measure_label = if measure.name == "inuse_space" {
        "in use".to_string()
    } else {
        measure.name.clone()
    };
    writeln!(
        out,
        "after {} snapshots{span}: {now} {measure_label}, {sign}{change} since the first",
        analysis.names.len(),
    )
}

fn axis_noun(axis: &Axis) -> &'static str {
    match axis.unit() {
        "task" => "the task count",
        "second" => "time",
        _ => "the snapshots",
    }
}

/// "+64B and 2 objects" for heap profiles, else the primary measure alone.
fn rates_text(analysis: &Analysis, rates: &Rates) -> String {
    if analysis.heap.inuse_space.is_none() {
        let unit = &analysis.measures[analysis.primary].unit;
        return rate(rates.primary, unit);
    }
    let objects = number(rates.inuse_objects);
    let noun = if objects == "1" { "object" } else { "objects" };
    format!("{} and {objects} {noun}", rate(rates.inuse_bytes, "bytes"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::analysis::growth::reduce;
    use crate::analysis::sites::Granularity;
    use crate::decode::{read_file, ReadOptions};

    fn ctxchain(name: &str) -> Reduced {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/profiles/ctxchain")
            .join(name);
        let profile = read_file(&path, &ReadOptions::default()).expect("fixture profile");
        reduce(name, &profile, Granularity::Functions)
    }

    fn view(tasks: [Option<f64>; 3]) -> LiveView {
        let mut view = LiveView::default();
        let names = [
            "heap-000000.pb.gz",
            "heap-003000.pb.gz",
            "heap-006000.pb.gz",
        ];
        for (name, count) in names.into_iter().zip(tasks) {
            view.push(ctxchain(name), count);
        }
        view
    }

    fn render(view: &LiveView, limit: usize) -> String {
        let report = view.analyze().expect("analysis");
        let mut out = Vec::new();
        write_live(&mut out, &report, limit).expect("write to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn live_view_names_owner_per_task() {
        let text = render(&view([Some(0.0), Some(3000.0), Some(6000.0)]), 3);
        assert!(
            text.starts_with("after 3 snapshots (0 to 6,000 tasks):"),
            "{text}"
        );
        assert!(
            text.contains("leak: chain of wrappers (context.WithValue)"),
            "{text}"
        );
        assert!(text.contains("owner main.runCtxChain"), "{text}");
        assert!(
            text.contains(
                "per task: 64.02B and 2 objects in all, 48B and 1 object at context.WithValue"
            ),
            "{text}"
        );
    }

    #[test]
    fn live_view_falls_back_to_timestamps() {
        let view = view([Some(0.0), None, Some(6000.0)]);
        let report = view.analyze().expect("analysis");
        assert_eq!(report.analysis.axis.source, AxisSource::Timestamps);
    }

    #[test]
    fn live_view_limit_zero_lists_no_finding() {
        let text = render(&view([Some(0.0), Some(3000.0), Some(6000.0)]), 0);
        assert!(!text.contains("owner"), "{text}");
        assert!(text.contains("1 more findings"), "{text}");
    }

    #[test]
    fn live_view_reports_flat_task_counts() {
        let view = view([Some(5.0), Some(5.0), Some(5.0)]);
        let error = view.analyze().err().expect("flat axis");
        let mut out = Vec::new();
        write_unavailable(&mut out, view.len(), &error).expect("write to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(
            text.starts_with("after 3 snapshots: no trend yet:"),
            "{text}"
        );
    }
}
