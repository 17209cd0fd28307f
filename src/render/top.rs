//! The top-sites table in the layout of `go tool pprof -top`, and its JSON.

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

use super::names::Shortener;
use super::units::{percentage, scaled_in, table_unit};
use crate::analysis::top::TopReport;

pub fn write_table(out: &mut dyn Write, file: &str, report: &TopReport) -> io::Result<()> {
    let min_value = report
        .rows
        .iter()
        .map(|row| {
            if row.flat != 0 {
                row.flat.unsigned_abs()
            } else {
                row.cum.unsigned_abs()
            }
        })
        .filter(|&v| v > 0)
        .min()
        .map_or(0, |v| i64::try_from(v).unwrap_or(i64::MAX));
    let unit = table_unit(min_value, report.total.saturating_abs(), &report.unit);
    let value = |v: i64| scaled_in(v, &report.unit, unit);
    let shown = report
        .rows
        .iter()
        .fold(0i64, |sum, row| sum.saturating_add(row.flat));
    writeln!(out, "File: {file}")?;
    writeln!(out, "Type: {}", report.sample_type)?;
    writeln!(
        out,
        "Showing sites accounting for {}, {} of {} total",
        value(shown),
        percentage(shown, report.total),
        value(report.total)
    )?;
    if report.dropped > 0 {
        writeln!(
            out,
            "Dropped {} sites (cum <= {})",
            report.dropped,
            value(report.drop_threshold)
        )?;
    }
    let names = Shortener::new(report.rows.iter().map(|row| &*row.site.function));
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["flat", "flat%", "sum%", "cum", "cum%", "site"]);
    let mut sum = 0i64;
    for row in &report.rows {
        sum = sum.saturating_add(row.flat);
        let mut name = names.short(&row.site.function);
        if let Some(place) = row.site.place() {
            name = if name.is_empty() {
                place
            } else {
                format!("{name} {place}")
            };
        }
        table.add_row([
            value(row.flat),
            percentage(row.flat, report.total),
            percentage(sum, report.total),
            value(row.cum),
            percentage(row.cum, report.total),
            name,
        ]);
    }
    for index in 0..5 {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    super::report::write_trimmed(out, &table)
}

#[derive(Serialize)]
struct JsonTop<'a> {
    file: &'a str,
    sample_type: &'a str,
    unit: &'a str,
    total: i64,
    dropped: usize,
    sites: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    function: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<i64>,
    flat: i64,
    cum: i64,
}

pub fn write_json(out: &mut dyn Write, file: &str, report: &TopReport) -> io::Result<()> {
    let json = JsonTop {
        file,
        sample_type: &report.sample_type,
        unit: &report.unit,
        total: report.total,
        dropped: report.dropped,
        sites: report
            .rows
            .iter()
            .map(|row| JsonRow {
                function: &row.site.function,
                file: row.site.file.as_deref(),
                line: row.site.line,
                flat: row.flat,
                cum: row.cum,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)
}
