//! The gate's report in four formats: a table for people, JSON for
//! programs, Markdown for a CI job summary or a pull-request comment, and
//! JUnit XML so that CI lists each rule as a test case.

pub mod junit;
pub mod markdown;
pub mod table;

use std::io::{self, Write};

use serde::Serialize;

use super::{Report, Status};
use crate::gate::format_bytes;
use crate::render::report::group_digits;

/// Version of the JSON layout; raised when a field changes meaning or is
/// removed.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    command: &'static str,
    #[serde(flatten)]
    report: &'a Report,
}

/// Writes the report as indented JSON.
pub fn write_json(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let document = JsonReport {
        schema_version: SCHEMA_VERSION,
        command: "gate",
        report,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// "passed" or "failed" with the rule counts, for a heading.
pub(crate) fn outcome(report: &Report) -> String {
    let count = |status| report.rules.iter().filter(|r| r.status == status).count();
    let (failed, passed, skipped) = (
        count(Status::Failed),
        count(Status::Passed),
        count(Status::Skipped),
    );
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    if report.passed {
        format!("passed ({passed} rules passed{skipped})")
    } else {
        let plural = if failed == 1 { "" } else { "s" };
        format!("failed ({failed} rule{plural} broken, {passed} passed{skipped})")
    }
}

/// Describes the run: snapshots, tasks, sampling and heap size.
pub(crate) fn run_description(report: &Report) -> String {
    let run = &report.run;
    let first = run.tasks.first().copied().unwrap_or(0.0);
    let last = run.tasks.last().copied().unwrap_or(0.0);
    format!(
        "{} snapshots from {} to {} tasks ({}), {}; in-use heap {} -> {}",
        run.snapshots.len(),
        group_digits(first),
        group_digits(last),
        run.axis,
        sampling(run.sample_period),
        format_bytes(run.first_inuse_bytes),
        format_bytes(run.last_inuse_bytes),
    )
}

/// Describes the baseline, or states that there was none.
pub(crate) fn baseline_description(report: &Report) -> String {
    match &report.baseline {
        None => "none".to_string(),
        Some(baseline) => format!(
            "{} ({} snapshots up to {} tasks, {})",
            baseline.source,
            baseline.snapshots,
            group_digits(baseline.last_tasks),
            sampling(baseline.sample_period)
        ),
    }
}

/// "every allocation recorded" or "sampled every 512kB on average".
fn sampling(period: f64) -> String {
    if period <= 1.0 {
        "every allocation recorded".to_string()
    } else {
        format!("sampled every {} on average", format_bytes(period))
    }
}

/// Splits `text` into lines of at most `width` characters at spaces; a
/// word longer than `width` gets a line of its own.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("a-very-long-word x", 5), vec!["a-very-long-word", "x"]);
        assert_eq!(wrap("", 10), vec![""]);
    }
}
