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
    /// Sites hidden because their |cum| is below `drop_threshold`, which
    /// go tool pprof's legend prints as "cum <= drop_threshold".
    pub dropped: usize,
    pub drop_threshold: i64,
}

/// Options of [`top`]; the defaults are `go tool pprof`'s.
#[derive(Clone, Copy, Debug)]
pub struct TopOptions {
    /// Hide sites whose |cum| is below this fraction of the sites' flat sum.
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
    // As go tool pprof does, the cutoff is a fraction of the sites' flat
    // sum, which leaves out samples without frames and keeps signs.
    let flat_sum = (0..table.len()).fold(0i64, |sum, site| {
        sum.wrapping_add(table.flat(site, sample_type))
    });
    let threshold = ((options.node_fraction * flat_sum as f64) as i64).wrapping_abs();
    let mut rows = Vec::new();
    let mut dropped = 0;
    for site in 0..table.len() {
        let cum = table.cum(site, sample_type);
        let flat = table.flat(site, sample_type);
        if flat == 0 && cum == 0 {
            continue;
        }
        if threshold > 0 && cum.unsigned_abs() < threshold.unsigned_abs() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(table: &SiteTable, node_fraction: f64) -> Vec<(String, i64, i64)> {
        let options = TopOptions {
            node_fraction,
            limit: None,
        };
        let report = top(table, 0, "inuse_space", "bytes", &options);
        report
            .rows
            .iter()
            .map(|row| (row.site.display(), row.flat, row.cum))
            .collect()
    }

    #[test]
    fn cutoff_is_share_of_flat_sum() {
        // The flat sum is 1000, so the cutoff is 5; 200 more without frames
        // count in the total only. A cum of 5 is not below the cutoff.
        let table = SiteTable::of_functions(&[("main.a", 5, 5), ("main.b", 995, 995)], 1200);
        let rows = shown(&table, 0.005);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[1], ("main.a".to_string(), 5, 5));
    }

    #[test]
    fn cutoff_drops_cum_below_it() {
        let table = SiteTable::of_functions(&[("main.a", 4, 4), ("main.b", 996, 996)], 1000);
        let report = top(&table, 0, "inuse_space", "bytes", &TopOptions::default());
        assert_eq!(report.dropped, 1);
        assert_eq!(report.drop_threshold, 5);
        assert_eq!(report.rows.len(), 1);
    }

    #[test]
    fn zero_fraction_keeps_zero_cum_with_flat() {
        // In a diff, a site can have flat 1 and cum 0 when a sample below it
        // adds 1 and one through it takes 1 away.
        let table = SiteTable::of_functions(&[("main.a", 1, 0), ("main.b", 990, 990)], 992);
        let rows = shown(&table, 0.0);
        assert!(rows.contains(&("main.a".to_string(), 1, 0)), "{rows:?}");
    }
}
