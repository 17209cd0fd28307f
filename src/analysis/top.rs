//! The top-sites report: sites sorted by flat value with the same node
//! dropping rule as `go tool pprof -top`.

use super::sites::{SiteKey, SiteTable};

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopRow {
    pub site: SiteKey,
    pub flat: i64,
    pub cum: i64,
}

#[derive(Clone, Debug)]
pub struct TopReport {
    pub sample_type: String,
    pub unit: String,
    pub total: i64,
    pub rows: Vec<TopRow>,
    /// Sites hidden because their cumulative value is at most `drop_threshold`.
    pub dropped: usize,
    pub drop_threshold: i64,
}

/// Options of [`top`]; the defaults are `go tool pprof`'s.
#[derive(Clone, Copy, Debug)]
pub struct TopOptions {
    /// Hide sites whose |cum| is at most this fraction of |total|.
    pub node_fraction: f64,
    /// Show at most this many rows.
    pub limit: Option<usize>,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            node_fraction: 0.005,
            limit: None,
        }
    }
}

/// Builds the report for one sample type of an aggregated profile.
pub fn top(
    table: &SiteTable,
    sample_type: usize,
    name: &str,
    unit: &str,
    options: &TopOptions,
) -> TopReport {
    let total = table.absolute_totals.get(sample_type).copied().unwrap_or(0);
    let threshold = (options.node_fraction * total.unsigned_abs() as f64) as i64;
    let mut rows = Vec::new();
    let mut dropped = 0;
    for site in 0..table.len() {
        let cum = table.cum(site, sample_type);
        let flat = table.flat(site, sample_type);
        if flat == 0 && cum == 0 {
            continue;
        }
        if cum.unsigned_abs() as i64 <= threshold {
            dropped += 1;
            continue;
        }
        rows.push(TopRow {
            site: table.keys[site].clone(),
            flat,
            cum,
        });
    }
    rows.sort_by(|a, b| {
        b.flat
            .unsigned_abs()
            .cmp(&a.flat.unsigned_abs())
            .then_with(|| a.site.display().cmp(&b.site.display()))
            .then_with(|| b.cum.unsigned_abs().cmp(&a.cum.unsigned_abs()))
    });
    if let Some(limit) = options.limit {
        rows.truncate(limit);
    }
    TopReport {
        sample_type: name.to_string(),
        unit: unit.to_string(),
        total,
        rows,
        dropped,
        drop_threshold: threshold,
    }
}
