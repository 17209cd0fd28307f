//! The report for people at a terminal or in a CI log.

use std::collections::BTreeSet;
use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::{baseline_description, outcome, run_description, wrap};
use crate::gate::format_bytes;
use crate::gate::{PassedFinding, Report, RuleResult, Status};
use crate::render::report::write_trimmed;

/// A comfy-table style with one rule under the header and no other lines,
/// as the growth report uses.
const HEADER_RULE: &str = "     ──            ";

/// Width the report is laid out for.
const WIDTH: usize = 100;

pub fn write_table(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "pprof-chain gate: {}", outcome(report))?;
    writeln!(out)?;
    write_labelled(out, "run", &run_description(report))?;
    write_labelled(out, "baseline", &baseline_description(report))?;
    writeln!(out)?;
    write_trimmed(out, &rule_table(&report.rules))?;
    let broken: Vec<&RuleResult> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Failed)
        .collect();
    if !broken.is_empty() {
        writeln!(out, "\nBroken rules")?;
    }
    // A leak that breaks several rules gets its fix hint once.
    let mut hinted = BTreeSet::new();
    for rule in broken {
        writeln!(out, "\n{}: {}", rule.name, rule.title)?;
        for violation in &rule.violations {
            write_indented(out, "  - ", &violation.message)?;
            if let Some(fix) = violation.fix.as_deref().filter(|fix| hinted.insert(*fix)) {
                write_indented(out, "    fix: ", fix)?;
            }
        }
    }
    write_notes(out, report)
}

fn rule_table(rules: &[RuleResult]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(HEADER_RULE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH as u16)
        .set_header(vec!["rule", "result", "checked", "requirement"]);
    for rule in rules {
        let (checked, requirement) = match (&rule.status, &rule.skip_reason) {
            (Status::Skipped, Some(reason)) => ("-".to_string(), reason.clone()),
            _ => (rule.checked.to_string(), rule.title.clone()),
        };
        table.add_row(vec![
            rule.name.to_string(),
            rule.status.describe().to_string(),
            checked,
            requirement,
        ]);
    }
    if let Some(column) = table.column_mut(2) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    table
}

fn write_notes(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if !report.allowed.is_empty() {
        writeln!(out, "\nAllowed by --allow")?;
        for allowed in &report.allowed {
            let matched = if allowed.by_owner {
                "the owner"
            } else {
                "the site"
            };
            let text = format!(
                "{} at {}: pattern '{}' matched {matched}",
                allowed.owner,
                allowed.sites.join(", "),
                allowed.pattern.as_str()
            );
            write_indented(out, "  - ", &text)?;
        }
    }
    if !report.passed_findings.is_empty() {
        writeln!(out, "\nFindings within the rules")?;
        for finding in &report.passed_findings {
            let text = format!(
                "{} at {}: {}{}",
                finding.owner,
                finding.site,
                finding.kind.describe(),
                growth_note(finding)
            );
            write_indented(out, "  - ", &text)?;
        }
    }
    Ok(())
}

/// ", linear growth, 12B per task" for a leak within the limits, and
/// nothing more for bounded growth.
pub(crate) fn growth_note(finding: &PassedFinding) -> String {
    match finding.bytes_per_task {
        Some(bytes) => format!(
            ", {}, {} per task",
            finding.verdict.describe(),
            format_bytes(bytes)
        ),
        None => String::new(),
    }
}

/// Writes `label` padded to a column, then `text` wrapped under itself.
fn write_labelled(out: &mut dyn Write, label: &str, text: &str) -> io::Result<()> {
    write_indented(out, &format!("{label:<10}"), text)
}

/// Writes `text` after `first`, wrapped at [`WIDTH`], with continuation
/// lines indented to the width of `first`.
fn write_indented(out: &mut dyn Write, first: &str, text: &str) -> io::Result<()> {
    let indent = " ".repeat(first.chars().count());
    let width = WIDTH.saturating_sub(indent.len()).max(20);
    for (i, line) in wrap(text, width).iter().enumerate() {
        let lead = if i == 0 { first } else { &indent };
        writeln!(out, "{lead}{line}")?;
    }
    Ok(())
}
