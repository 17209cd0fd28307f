//! The report as GitHub-flavoured Markdown, for `$GITHUB_STEP_SUMMARY` or a
//! pull-request comment.

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::table::growth_note;
use super::{baseline_description, outcome, run_description};
use crate::gate::{Report, Status};

pub fn write_markdown(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "## pprof-chain gate: {}", escape(&outcome(report)))?;
    writeln!(out)?;
    writeln!(out, "- Run: {}", escape(&run_description(report)))?;
    writeln!(out, "- Baseline: {}", escape(&baseline_description(report)))?;
    writeln!(out)?;

    writeln!(out, "| Rule | Result | Checked | Requirement |")?;
    writeln!(out, "| --- | --- | ---: | --- |")?;
    for rule in &report.rules {
        let (result, checked, requirement) = match (rule.status, &rule.skip_reason) {
            (Status::Skipped, Some(reason)) => ("skipped", "-".to_string(), reason.as_str()),
            (Status::Failed, _) => ("**failed**", rule.checked.to_string(), rule.title.as_str()),
            _ => ("passed", rule.checked.to_string(), rule.title.as_str()),
        };
        writeln!(
            out,
            "| `{}` | {result} | {checked} | {} |",
            rule.name,
            escape(requirement)
        )?;
    }

    // A leak that breaks several rules gets its fix hint once.
    let mut hinted = BTreeSet::new();
    for rule in report.rules.iter().filter(|r| r.status == Status::Failed) {
        writeln!(out)?;
        writeln!(out, "### Broken: `{}`", rule.name)?;
        writeln!(out)?;
        for violation in &rule.violations {
            writeln!(out, "- {}", escape(&violation.message))?;
            if let Some(fix) = violation.fix.as_deref().filter(|fix| hinted.insert(*fix)) {
                writeln!(out, "  Fix: {}", escape(fix))?;
            }
        }
    }
    write_notes(out, report)
}

fn write_notes(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if !report.allowed.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Allowed by `--allow`")?;
        writeln!(out)?;
        for allowed in &report.allowed {
            let matched = if allowed.by_owner {
                "the owner"
            } else {
                "the site"
            };
            writeln!(
                out,
                "- {} at {}: pattern {} matched {matched}",
                code(&allowed.owner),
                allowed
                    .sites
                    .iter()
                    .map(|s| code(s))
                    .collect::<Vec<_>>()
                    .join(", "),
                code(allowed.pattern.as_str())
            )?;
        }
    }
    if !report.passed_findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Findings within the rules")?;
        writeln!(out)?;
        for finding in &report.passed_findings {
            writeln!(
                out,
                "- {} at {}: {}{}",
                code(&finding.owner),
                code(&finding.site),
                finding.kind.describe(),
                escape(&growth_note(finding))
            )?;
        }
    }
    Ok(())
}

/// Escapes `text` for Markdown. Text between pairs of backticks stays a
/// code span, as the fix hints intend. Elsewhere the characters that
/// Markdown reads as markup or as a table cell border get a backslash, which
/// CommonMark allows before any ASCII punctuation.
pub fn escape(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    // An odd number of parts means the backticks pair up.
    let spans = parts.len() % 2 == 1;
    let mut escaped = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            escaped.push_str(if spans { "`" } else { "\\`" });
        }
        if spans && i % 2 == 1 {
            // NOTE: a `|` in a code span would still end a table cell; only
            // list items, never table cells, hold code spans here.
            escaped.push_str(part);
        } else {
            escape_plain(part, &mut escaped);
        }
    }
    escaped
}

fn escape_plain(text: &str, escaped: &mut String) {
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '|' | '~' | '&') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
}

/// Wraps `text` in a code span, with a fence longer than any run of
/// backticks in it.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_go_names_literal() {
        assert_eq!(escape("main.(*cache).put"), "main.(\\*cache).put");
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("a -> b"), "a -> b");
    }

    #[test]
    fn escape_keeps_paired_code_spans() {
        assert_eq!(
            escape("use `x := f(*p)` in *f*"),
            "use `x := f(*p)` in \\*f\\*"
        );
        assert_eq!(escape("odd ` tick"), "odd \\` tick");
        assert_eq!(escape("`a*b`"), "`a*b`");
    }

    #[test]
    fn code_span_outgrows_backticks() {
        assert_eq!(code("main.run"), "`main.run`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }
}
