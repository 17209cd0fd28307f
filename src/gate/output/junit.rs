//! The report as JUnit XML: one test case per rule, a `<failure>` for each
//! broken rule and `<skipped>` for each rule that was not checked. CI
//! systems (GitHub Actions test reporters, GitLab, Jenkins) read this
//! layout.

use std::io::{self, Write};

use super::{baseline_description, run_description};
use crate::gate::{Report, RuleResult, Status};

/// Test suite name and the class name of every test case.
const SUITE: &str = "pprof-chain gate";
const CLASS: &str = "pprof-chain.gate";

pub fn write_junit(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let count = |status| report.rules.iter().filter(|r| r.status == status).count();
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\"",
        report.rules.len(),
        count(Status::Failed),
        count(Status::Skipped)
    );
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="{SUITE}" {counts}>"#)?;
    writeln!(out, r#"  <testsuite name="{SUITE}" {counts} time="0">"#)?;
    writeln!(out, "    <properties>")?;
    write_property(out, "run", &run_description(report))?;
    write_property(out, "baseline", &baseline_description(report))?;
    writeln!(out, "    </properties>")?;
    for rule in &report.rules {
        write_case(out, rule)?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn write_property(out: &mut dyn Write, name: &str, value: &str) -> io::Result<()> {
    writeln!(
        out,
        r#"      <property name="{}" value="{}"/>"#,
        escape(name),
        escape(value)
    )
}

fn write_case(out: &mut dyn Write, rule: &RuleResult) -> io::Result<()> {
    let open = format!(
        r#"    <testcase classname="{CLASS}" name="{}" time="0""#,
        escape(rule.name)
    );
    match rule.status {
        Status::Passed => writeln!(out, "{open}/>"),
        Status::Skipped => {
            let reason = rule.skip_reason.as_deref().unwrap_or("not checked");
            writeln!(out, "{open}>")?;
            writeln!(out, r#"      <skipped message="{}"/>"#, escape(reason))?;
            writeln!(out, "    </testcase>")
        }
        Status::Failed => {
            let plural = if rule.violations.len() == 1 { "" } else { "s" };
            let message = format!(
                "{}: {} violation{plural}",
                rule.title,
                rule.violations.len()
            );
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <failure message="{}" type="{}">"#,
                escape(&message),
                escape(rule.name)
            )?;
            for violation in &rule.violations {
                writeln!(out, "{}", escape(&violation.message))?;
                if let Some(fix) = &violation.fix {
                    writeln!(out, "fix: {}", escape(fix))?;
                }
            }
            writeln!(out, "      </failure>")?;
            writeln!(out, "    </testcase>")
        }
    }
}

/// Escapes text for an XML attribute or element, and replaces characters
/// that XML 1.0 does not allow (most control characters) with U+FFFD.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                escaped.push('\u{FFFD}')
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_handles_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1}y"), "x\u{FFFD}y");
        assert_eq!(escape("line\nnext"), "line\nnext");
    }
}
