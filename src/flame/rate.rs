//! SVG flamegraphs of rates, such as bytes per task.
//!
//! inferno draws whole counts and prints whole counts in tooltips. A rate is
//! therefore multiplied by a power of ten for the drawing, and each tooltip
//! is then rewritten to show the rate itself ("context.WithValue (48B per
//! task, 75.00%)").

use std::io::{self, Write};

use super::svg::{write_scaled, SvgOptions, SvgSummary};
use super::Stack;
use crate::render::units::{auto_unit, scaled_f64};

/// Largest sum of counts given to inferno. inferno computes positions with
/// f64, which represents whole numbers exactly up to 2^53 (about 9.0e15).
const MAX_TOTAL_COUNT: f64 = 1e15;

/// Draws a flamegraph whose values are rates of `unit` per `per` ("task" or
/// "second"), with the tooltips of [`rate_text`]. Negative stacks are counted
/// and left out, like in [`super::write_svg`].
///
/// Frame widths are the values multiplied by a power of ten, so the `fg:w`
/// attributes of the SVG are in those scaled units. A tooltip that could not
/// be rewritten (a change in inferno's tooltip format) still reads right: it
/// names the scaled unit, as in "48,000,000 bytes per 1000000 tasks".
///
/// Fails with `InvalidInput`, before writing anything, when no stack has a
/// positive value.
pub fn write_rate_svg(
    out: &mut dyn Write,
    stacks: &[Stack],
    options: &SvgOptions,
    unit: &str,
    per: &str,
) -> io::Result<SvgSummary> {
    let scale = rate_scale(stacks);
    let scaled_count_name = format!("{} per {scale} {per}s", options.count_name);
    let scaled_options = SvgOptions {
        count_name: scaled_count_name.clone(),
        ..options.clone()
    };
    let mut svg = Vec::new();
    let drawn = write_scaled(&mut svg, stacks, &scaled_options, scale, 1.0)?;
    let svg = String::from_utf8(svg).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;

    let tooltip = |count: u64| rate_text(count as f64 / scale, unit, &options.count_name, per);
    let relabelled = relabel_tooltips(&svg, &scaled_count_name, drawn.total_count, &tooltip);
    out.write_all(relabelled.as_bytes())?;
    Ok(drawn.summary)
}

/// Formats a rate for people: "48B per task", "1.50kB per second",
/// "2 objects per task". Bytes and times scale as in `go tool pprof`; other
/// units are counts named by `count_name`.
pub fn rate_text(value: f64, unit: &str, count_name: &str, per: &str) -> String {
    let number = amount_text(value, unit);
    if auto_unit(value, unit).is_some() {
        return format!("{number} per {per}");
    }
    let name = match count_name.strip_suffix('s') {
        Some(singular) if number == "1" => singular,
        _ => count_name,
    };
    format!("{number} {name} per {per}")
}

/// Formats a value with its unit, two decimals, or two significant digits
/// when two decimals would show 0 (0.0012B).
pub fn amount_text(value: f64, unit: &str) -> String {
    let text = scaled_f64(value, unit);
    if text != "0" || value == 0.0 || !value.is_finite() {
        return text;
    }
    let decimals = (1 - value.abs().log10().floor() as i32).max(0) as usize;
    let smallest_unit = auto_unit(value, unit).unwrap_or("");
    format!("{value:.decimals$}{smallest_unit}")
}

/// Picks the power of ten that multiplies every value. It makes the largest
/// value at least a million, so rounding to whole counts moves no frame by
/// more than a millionth of the largest one. The power is at most 1e11, and
/// the sum of the counts stays under [`MAX_TOTAL_COUNT`].
fn rate_scale(stacks: &[Stack]) -> f64 {
    let positive = || {
        stacks
            .iter()
            .map(|s| s.value)
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    scale_for(positive().fold(0.0, f64::max), positive().sum())
}

fn scale_for(max: f64, sum: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mut exponent = (6.0 - max.log10()).ceil().clamp(0.0, 11.0) as i32;
    while exponent > 0 && sum * 10f64.powi(exponent) > MAX_TOTAL_COUNT {
        exponent -= 1;
    }
    10f64.powi(exponent)
}

/// Rewrites every tooltip that inferno wrote as `NAME (COUNT COUNT_NAME,
/// SHARE%)` to `NAME (TEXT, SHARE%)`, where TEXT is `label(COUNT)` and SHARE is
/// computed from the count and `total_count` with two decimals. Other
/// `<title>` texts are kept as they are.
///
/// The name part stays as inferno escaped it. The new text must end in one
/// group in parentheses, because inferno's search strips that group to find
/// the function name.
fn relabel_tooltips(
    svg: &str,
    count_name: &str,
    total_count: u64,
    label: &dyn Fn(u64) -> String,
) -> String {
    const OPEN: &str = "<title>";
    const CLOSE: &str = "</title>";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(start) = rest.find(OPEN) {
        let text_start = start + OPEN.len();
        let Some(length) = rest[text_start..].find(CLOSE) else {
            break;
        };
        let text = &rest[text_start..text_start + length];
        out.push_str(&rest[..text_start]);
        match relabel_one(text, count_name, total_count, label) {
            Some(new_text) => out.push_str(&new_text),
            None => out.push_str(text),
        }
        rest = &rest[text_start + length..];
    }
    out.push_str(rest);
    out
}

fn relabel_one(
    text: &str,
    count_name: &str,
    total_count: u64,
    label: &dyn Fn(u64) -> String,
) -> Option<String> {
    let (name, figures) = text.rsplit_once(" (")?;
    let figures = figures.strip_suffix(')')?;
    let (count, rest) = figures.split_once(' ')?;
    let share = rest.strip_prefix(count_name)?.strip_prefix(", ")?;
    if !share.ends_with('%') {
        return None;
    }
    let count: u64 = count.replace(',', "").parse().ok()?;
    let percent = if total_count == 0 {
        0.0
    } else {
        100.0 * count as f64 / total_count as f64
    };
    Some(format!("{name} ({}, {percent:.2}%)", label(count)))
}

/// Writes an SVG with only a title, a subtitle and a message, for a graph in
/// which nothing has a width, so that an SVG replacing an earlier output
/// explains why it is empty. Each sentence of the subtitle gets a line of its
/// own, because there is no graph to set the width.
pub fn write_empty_svg(out: &mut dyn Write, options: &SvgOptions, message: &str) -> io::Result<()> {
    let subtitle = options.subtitle.as_deref().unwrap_or("");
    let lines: Vec<&str> = subtitle
        .split_inclusive(". ")
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let message_y = 58 + 18 * lines.len().saturating_sub(1) + 36;
    let height = message_y + 30;

    writeln!(out, r#"<?xml version="1.0" standalone="no"?>"#)?;
    writeln!(
        out,
        r#"<svg version="1.1" width="1200" height="{height}" viewBox="0 0 1200 {height}" xmlns="http://www.w3.org/2000/svg" font-family="Verdana, sans-serif">"#
    )?;
    writeln!(
        out,
        r##"<rect x="0" y="0" width="1200" height="{height}" fill="#f4f4e8"/>"##
    )?;

    writeln!(
        out,
        r#"<text id="title" x="600" y="30" text-anchor="middle" font-size="17">{}</text>"#,
        escape_xml(&options.title)
    )?;
    writeln!(
        out,
        r##"<text id="subtitle" x="600" y="58" text-anchor="middle" font-size="12" fill="#444444">"##
    )?;
    for (i, line) in lines.iter().enumerate() {
        let dy = if i == 0 { 0 } else { 18 };
        writeln!(
            out,
            r#"<tspan x="600" dy="{dy}">{}</tspan>"#,
            escape_xml(line)
        )?;
    }
    writeln!(out, "</text>")?;

    writeln!(
        out,
        r#"<text id="message" x="600" y="{message_y}" text-anchor="middle" font-size="14">{}</text>"#,
        escape_xml(message)
    )?;
    writeln!(out, "</svg>")
}

fn escape_xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flame::test_stack as stack;

    fn options() -> SvgOptions {
        SvgOptions {
            count_name: "bytes".to_string(),
            ..SvgOptions::default()
        }
    }

    #[test]
    fn rate_text_scales_bytes() {
        assert_eq!(rate_text(48.0, "bytes", "bytes", "task"), "48B per task");
        assert_eq!(
            rate_text(1536.0, "bytes", "bytes", "second"),
            "1.50kB per second"
        );
        assert_eq!(
            rate_text(0.0012, "bytes", "bytes", "task"),
            "0.0012B per task"
        );
    }

    #[test]
    fn rate_text_names_counts() {
        assert_eq!(
            rate_text(2.0, "count", "objects", "task"),
            "2 objects per task"
        );
        assert_eq!(
            rate_text(1.0, "count", "objects", "task"),
            "1 object per task"
        );
        assert_eq!(
            rate_text(0.25, "count", "objects", "task"),
            "0.25 objects per task"
        );
    }

    #[test]
    fn scale_gives_a_million_counts() {
        assert_eq!(rate_scale(&[stack(&["a"], 48.0)]), 1e5);
        assert_eq!(rate_scale(&[stack(&["a"], 0.5)]), 1e7);
        assert_eq!(rate_scale(&[stack(&["a"], 5e8)]), 1.0);
        assert_eq!(rate_scale(&[stack(&["a"], -3.0)]), 1.0);
    }

    #[test]
    fn scale_keeps_sum_exact() {
        // A million counts for the largest value would make the sum 1e16.
        assert_eq!(scale_for(1.0, 1e10), 1e5);
    }

    #[test]
    fn tooltips_show_rates() {
        let stacks = [
            stack(&["main", "leak"], 48.0),
            stack(&["main", "small"], 16.0),
        ];
        let mut out = Vec::new();
        write_rate_svg(&mut out, &stacks, &options(), "bytes", "task").expect("SVG is written");
        let svg = String::from_utf8(out).expect("SVG is UTF-8");
        assert!(svg.contains("<title>leak (48B per task, 75.00%)</title>"));
        assert!(svg.contains("<title>small (16B per task, 25.00%)</title>"));
        assert!(svg.contains("<title>main (64B per task, 100.00%)</title>"));
        assert!(svg.contains("<title>all (64B per task, 100.00%)</title>"));
        assert!(
            svg.contains(r#"fg:w="4800000""#),
            "widths are scaled by 1e5"
        );
    }

    #[test]
    fn unknown_tooltip_is_kept() {
        let label = |count: u64| format!("{count} x");
        let svg = "<g><title>f (3 things, 1.00%)</title></g><title>g (2 n, 5.00%)</title>";
        let relabelled = relabel_tooltips(svg, "n", 4, &label);
        assert_eq!(
            relabelled,
            "<g><title>f (3 things, 1.00%)</title></g><title>g (2 x, 50.00%)</title>"
        );
    }

    #[test]
    fn empty_svg_escapes_title() {
        let options = SvgOptions {
            title: "a<b & \"c\"".to_string(),
            ..SvgOptions::default()
        };
        let mut out = Vec::new();
        write_empty_svg(&mut out, &options, "nothing grows").expect("SVG is written");
        let svg = String::from_utf8(out).expect("SVG is UTF-8");
        assert!(svg.contains("a&lt;b &amp; &quot;c&quot;"));
        assert!(svg.contains(">nothing grows<"));
    }
}
