//! The growth report of `diff` and `trend`: a site table and the findings
//! under it, as a table for people or as JSON.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};

use super::names::{elide_all, Shortener};
use super::units::{scaled, scaled_f64};
use crate::analysis::growth::{Analysis, SiteGrowth};
use crate::diagnosis::verdict::judge_series;
use crate::diagnosis::{Finding, Kind, Rates};

pub use super::json::write_json;

/// A comfy-table style with one rule under the header and no other lines.
const HEADER_RULE: &str = "     ──            ";

/// Characters of a site name shown in a table before its middle is cut out.
const NAME_WIDTH: usize = 30;
/// The same for the wider table of a series of three or more snapshots.
const FIT_NAME_WIDTH: usize = 24;

/// Terminal width the table is laid out for.
const WIDTH: u16 = 100;

pub struct ReportOptions {
    pub command: &'static str,
    /// Rows of the site table.
    pub limit: usize,
    pub projection_tasks: f64,
}

/// Sites whose values changed, largest growth of the primary measure first.
pub fn changed_sites(analysis: &Analysis) -> Vec<&SiteGrowth> {
    let primary = analysis.primary;
    let mut sites: Vec<&SiteGrowth> = analysis
        .sites
        .iter()
        .filter(|s| {
            if analysis.names.len() >= 3 {
                s.series.values[primary]
                    .iter()
                    .any(|v| *v != s.series.first(primary))
            } else {
                (0..analysis.measures.len()).any(|m| s.series.change(m) != 0.0)
            }
        })
        .collect();
    let growth = |s: &SiteGrowth| {
        if analysis.names.len() >= 3 {
            s.series.slope(primary)
        } else {
            s.series.change(primary)
        }
    };
    sites.sort_by(|a, b| {
        growth(b)
            .total_cmp(&growth(a))
            .then_with(|| {
                b.series
                    .change(primary)
                    .total_cmp(&a.series.change(primary))
            })
            .then_with(|| {
                largest_other_change(analysis, b).total_cmp(&largest_other_change(analysis, a))
            })
            .then_with(|| a.key.cmp(&b.key))
    });
    sites
}

/// Returns the largest absolute change of any measure but the primary one,
/// so that sites whose in-use values did not change sort by their allocations.
fn largest_other_change(analysis: &Analysis, site: &SiteGrowth) -> f64 {
    (0..analysis.measures.len())
        .filter(|&m| m != analysis.primary)
        .map(|m| site.series.change(m).abs())
        .fold(0.0, f64::max)
}

pub fn write_table(
    out: &mut dyn Write,
    analysis: &Analysis,
    findings: &[Finding],
    options: &ReportOptions,
) -> io::Result<()> {
    write_header(out, analysis)?;
    let sites = changed_sites(analysis);
    let shown = &sites[..sites.len().min(options.limit)];
    if shown.is_empty() {
        writeln!(out, "\nNo site changed between the snapshots.")?;
    } else {
        writeln!(out)?;
        let table = if analysis.names.len() >= 3 {
            fit_table(analysis, shown)
        } else {
            site_table(analysis, shown)
        };
        write_trimmed(out, &table)?;
        if sites.len() > shown.len() {
            writeln!(
                out,
                "{} more sites changed; show them with --limit {}",
                sites.len() - shown.len(),
                sites.len()
            )?;
        }
    }
    writeln!(out)?;
    write_findings(out, analysis, findings, options)
}

fn write_header(out: &mut dyn Write, analysis: &Analysis) -> io::Result<()> {
    let count = analysis.names.len();
    for (i, name) in analysis.names.iter().enumerate() {
        let label = match (i, count) {
            (0, 2) => "before",
            (1, 2) => "after",
            _ => "snapshot",
        };
        let x = analysis.axis.values[i];
        match analysis.axis.unit() {
            "task" => writeln!(out, "{label:<8} {name}  ({} tasks)", group_digits(x))?,
            "second" => writeln!(out, "{label:<8} {name}  (+{x:.1}s)")?,
            _ => writeln!(out, "{label:<8} {name}")?,
        }
    }
    writeln!(out, "axis     {}", analysis.axis.describe())?;
    let primary = analysis.primary;
    let measure = &analysis.measures[primary];
    let totals = &analysis.totals;
    writeln!(
        out,
        "total    {} {} -> {} ({})",
        measure.name,
        scaled(totals.first(primary) as i64, &measure.unit),
        scaled(totals.last(primary) as i64, &measure.unit),
        signed(scaled(totals.change(primary) as i64, &measure.unit)),
    )
}

/// Columns of the site table: measure index and heading.
fn columns(analysis: &Analysis) -> Vec<(usize, &'static str)> {
    let heap = analysis.heap;
    let wanted = [
        (heap.inuse_space, "in-use"),
        (heap.inuse_objects, "obj"),
        (heap.alloc_space, "alloc"),
    ];
    let found: Vec<(usize, &'static str)> = wanted
        .iter()
        .filter_map(|(m, heading)| m.map(|m| (m, *heading)))
        .collect();
    if found.is_empty() {
        vec![(analysis.primary, "change")]
    } else {
        found
    }
}

fn site_table(analysis: &Analysis, sites: &[&SiteGrowth]) -> Table {
    let per = analysis.axis.unit();
    let rates = per != "snapshot";
    let cols = columns(analysis);
    let mut header = vec!["site".to_string()];
    for (i, (_, heading)) in cols.iter().enumerate() {
        header.push(format!("Δ {heading}"));
        if rates && i == 0 {
            header.push(format!("per {per}"));
        }
        if rates && i == 1 {
            header.push(format!("obj/{}", short_unit(per)));
        }
    }
    if analysis.retained_share(&analysis.totals).is_some() {
        header.push("kept".into());
    }
    let names = site_names(sites, NAME_WIDTH);
    let mut table = Table::new();
    table
        .load_preset(HEADER_RULE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header.clone());
    for (site, name) in sites.iter().zip(names) {
        let mut row = vec![name];
        for (i, (m, _)) in cols.iter().enumerate() {
            let unit = &analysis.measures[*m].unit;
            row.push(signed(scaled(site.series.change(*m) as i64, unit)));
            if rates && i < 2 {
                row.push(rate(site.series.slope(*m), unit));
            }
        }
        if header.last().is_some_and(|h| h == "kept") {
            row.push(share(analysis.retained_share(&site.series)));
        }
        table.add_row(row);
    }
    for index in 1..header.len() {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    keep_names_wide(&mut table, NAME_WIDTH);
    table
}

/// Writes `text` after `label`, wrapped at [`WIDTH`] columns with the
/// continuation lines indented under the text.
fn write_wrapped(out: &mut dyn Write, label: &str, text: &str) -> io::Result<()> {
    let indent = " ".repeat(label.chars().count());
    let limit = usize::from(WIDTH);
    let mut line = label.to_string();
    let mut empty = true;
    for word in words(text) {
        let fits = line.chars().count() + 1 + word.chars().count() <= limit;
        if !empty && !fits {
            writeln!(out, "{line}")?;
            line = indent.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(out, "{line}")
}

/// Frames of a call path shown in full; longer paths keep their ends.
const MAX_PATH_FRAMES: usize = 12;

/// Frames kept from the outer end of a long path; the rest of
/// [`MAX_PATH_FRAMES`] comes from the end at the site.
const PATH_HEAD_FRAMES: usize = 4;

/// Shortens a call path for the report. A frame repeated in a row, as in
/// direct recursion, is shown once with its count. A path still longer than
/// [`MAX_PATH_FRAMES`] keeps its two ends around a count of the frames left
/// out.
fn fold_path(path: &[String]) -> Vec<String> {
    let mut folded: Vec<(String, usize)> = Vec::new();
    for frame in path {
        match folded.last_mut() {
            Some((last, count)) if last == frame => *count += 1,
            _ => folded.push((frame.clone(), 1)),
        }
    }
    let mut names: Vec<String> = folded
        .into_iter()
        .map(|(frame, count)| match count {
            1 => frame,
            count => format!("{frame} ×{count}"),
        })
        .collect();
    if names.len() > MAX_PATH_FRAMES {
        let tail = MAX_PATH_FRAMES - PATH_HEAD_FRAMES;
        let left_out = names.len() - MAX_PATH_FRAMES;
        names.splice(
            PATH_HEAD_FRAMES..names.len() - tail,
            [format!("… {left_out} frames …")],
        );
    }
    names
}

/// Abbreviates an axis unit for a column heading.
fn short_unit(unit: &str) -> &str {
    match unit {
        "second" => "s",
        other => other,
    }
}

/// Splits text at spaces, except inside `code spans`, which stay whole.
fn words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut in_code = false;
    for (i, c) in text.char_indices() {
        match c {
            '`' => in_code = !in_code,
            ' ' if !in_code => {
                words.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    words.push(&text[start..]);
    words
}

/// Writes a table without the padding comfy-table leaves at line ends.
pub fn write_trimmed(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Builds the site table of a series of three or more snapshots: the robust
/// growth per task of the primary measure with its interval, fit and verdict.
fn fit_table(analysis: &Analysis, sites: &[&SiteGrowth]) -> Table {
    let primary = analysis.primary;
    let unit = &analysis.measures[primary].unit;
    let per = analysis.axis.unit();
    let change = if Some(primary) == analysis.heap.inuse_space {
        "Δ in-use".to_string()
    } else {
        format!("Δ {}", analysis.measures[primary].name)
    };
    let mut header = vec![
        "site".to_string(),
        change,
        format!("per {per}"),
        "interval".into(),
        "R²".into(),
    ];
    let objects = analysis.heap.inuse_objects.filter(|&m| m != primary);
    if objects.is_some() {
        header.push(format!("obj/{}", short_unit(per)));
    }
    header.push("verdict".into());
    let names = site_names(sites, FIT_NAME_WIDTH);
    let mut table = Table::new();
    table
        .load_preset(HEADER_RULE)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.clone());
    for (site, name) in sites.iter().zip(names) {
        let fit = &site.series.fits[primary];
        let mut row = vec![
            name,
            signed(scaled(site.series.change(primary) as i64, unit)),
            rate(fit.slope, unit),
            format!(
                "{}–{}",
                rate(fit.slope_low, unit),
                rate(fit.slope_high, unit)
            ),
            format!("{:.2}", fit.r_squared),
        ];
        if let Some(m) = objects {
            row.push(number(site.series.slope(m)));
        }
        let verdict = judge_series(analysis, &site.series, site.z_score);
        row.push(verdict.short().to_string());
        table.add_row(row);
    }
    for index in 1..header.len() - 1 {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    // Names are cut to FIT_NAME_WIDTH and every other cell has a bounded
    // width, so the table fits WIDTH columns without wrapping a number.
    table
}

/// Gives the site column room for [`NAME_WIDTH`] characters, so names wrap
/// last.
fn keep_names_wide(table: &mut Table, width: usize) {
    if let Some(column) = table.column_mut(0) {
        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
            width as u16 + 2,
        )));
    }
}

/// Display names of the table's sites: import paths dropped where that stays
/// unambiguous, then the middle cut out of names longer than the column.
fn site_names(sites: &[&SiteGrowth], width: usize) -> Vec<String> {
    let shortener = Shortener::new(sites.iter().map(|s| &*s.key.function));
    let names: Vec<String> = sites
        .iter()
        .map(|site| {
            let name = shortener.short(&site.key.function);
            match site.key.place() {
                Some(place) if name.is_empty() => short_file(&place).to_string(),
                Some(place) => format!("{name} {}", short_file(&place)),
                None => name,
            }
        })
        .collect();
    elide_all(&names, width)
}

fn short_file(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

fn write_findings(
    out: &mut dyn Write,
    analysis: &Analysis,
    findings: &[Finding],
    options: &ReportOptions,
) -> io::Result<()> {
    let leaks = findings.iter().filter(|f| f.kind != Kind::Bounded).count();
    if findings.is_empty() {
        let what = match analysis.kind {
            crate::model::ProfileKind::Goroutine => "no goroutines accumulate",
            _ => "no retained memory grows",
        };
        let with = match analysis.axis.unit() {
            "task" => "the task count",
            "second" => "time",
            _ => "the snapshots",
        };
        return writeln!(out, "No finding: {what} with {with}.");
    }
    let bounded = findings.len() - leaks;
    let plural = if leaks == 1 { "" } else { "s" };
    if bounded > 0 {
        writeln!(
            out,
            "Findings ({leaks} suspected leak{plural}, {bounded} bounded)"
        )?;
    } else {
        writeln!(out, "Findings ({leaks} suspected leak{plural})")?;
    }
    let per = analysis.axis.unit();
    for (i, finding) in findings.iter().enumerate() {
        writeln!(out)?;
        let pattern = finding
            .wrapper
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}. {}{pattern}: {}, confidence {}",
            i + 1,
            finding.kind.describe(),
            finding.verdict.describe(),
            finding.confidence.describe()
        )?;
        writeln!(out, "   site   {}", finding.site)?;
        writeln!(
            out,
            "          {}",
            rates_line(analysis, &finding.rates, per)
        )?;
        writeln!(out, "   owner  {}  <- fix here", finding.owner)?;
        if let Some(lead) = finding.sites.iter().find(|s| s.site == finding.site) {
            if lead.call_path.len() > 1 {
                write_wrapped(out, "   path   ", &fold_path(&lead.call_path).join(" -> "))?;
            }
        }
        if finding.sites.len() > 1 {
            writeln!(
                out,
                "   all {} sites under the owner: {}",
                finding.sites.len(),
                rates_line(analysis, &finding.total_rates, per)
            )?;
            for site in finding.sites.iter().filter(|s| s.site != finding.site) {
                writeln!(
                    out,
                    "          {:<36} {}",
                    site.site,
                    rates_line(analysis, &site.rates, per)
                )?;
            }
        }
        if let Some(held) = finding.projection {
            let measure = &analysis.measures[analysis.primary];
            let name = match measure.name.as_str() {
                "goroutine" => "goroutines",
                other => other,
            };
            writeln!(
                out,
                "   at {} tasks: {} {name}",
                group_digits(options.projection_tasks),
                rate(held, &measure.unit),
            )?;
        }
        write_wrapped(out, "   fix    ", &finding.fix)?;
    }
    Ok(())
}

fn rates_line(analysis: &Analysis, rates: &Rates, per: &str) -> String {
    let suffix = if per == "snapshot" {
        String::new()
    } else {
        format!(" per {per}")
    };
    if analysis.heap.inuse_space.is_none() {
        let unit = &analysis.measures[analysis.primary].unit;
        return format!("{}{suffix}", rate(rates.primary, unit));
    }
    // A value that grows in size keeps its object count, so a share of new
    // objects kept would read as churn. The share is left out then.
    let objects_grow = rates.inuse_objects.abs() >= crate::diagnosis::FLAT_OBJECTS_PER_TASK;
    let kept = (rates.alloc_objects > 0.0 && objects_grow)
        .then(|| share(Some(rates.inuse_objects / rates.alloc_objects)))
        .map(|s| format!(", {s} kept"))
        .unwrap_or_default();
    format!(
        "{} and {}{suffix}{kept}",
        rate(rates.inuse_bytes, "bytes"),
        objects(rates.inuse_objects)
    )
}

fn objects(count: f64) -> String {
    let text = number(count);
    if text == "1" {
        "1 object".into()
    } else {
        format!("{text} objects")
    }
}

/// Formats a rate such as "48B" or "0.33", with a sign only when negative.
pub fn rate(value: f64, unit: &str) -> String {
    if unit == "bytes" {
        return scaled_f64(value, unit);
    }
    number(value)
}

/// Formats a plain number with about three significant digits.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    let text = if magnitude >= 100.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

pub fn share(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if (v * 100.0).abs() >= 10.0 => format!("{:.0}%", v * 100.0),
        Some(v) => format!("{:.1}%", v * 100.0),
    }
}

fn signed(text: String) -> String {
    if text.starts_with('-') || text == "0" {
        text
    } else {
        format!("+{text}")
    }
}

/// 12000 as "12,000".
pub fn group_digits(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if value < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::fold_path;

    fn frames(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn fold_path_counts_repeated_frames() {
        let path = frames(&["main.main", "main.pad", "main.pad", "main.pad", "main.leaf"]);
        assert_eq!(fold_path(&path), ["main.main", "main.pad ×3", "main.leaf"]);
    }

    #[test]
    fn fold_path_keeps_short_paths_whole() {
        let path = frames(&["main.main", "main.a", "main.b", "main.a", "main.leaf"]);
        assert_eq!(fold_path(&path), path);
    }

    #[test]
    fn fold_path_keeps_both_ends_of_long_paths() {
        let path: Vec<String> = (0..30).map(|i| format!("main.f{i}")).collect();
        let folded = fold_path(&path);
        assert_eq!(folded.len(), 13);
        assert_eq!(folded[..4], path[..4]);
        assert_eq!(folded[4], "… 18 frames …");
        assert_eq!(folded[5..], path[22..]);
    }
}
