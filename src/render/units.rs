//! Numbers formatted the way `go tool pprof` prints them: bytes in B, kB, MB
//! (powers of 1024), times in ns to s, counts as plain integers, two decimals
//! with a trailing ".00" removed.

const MEMORY_UNITS: [(&str, f64); 6] = [
    ("B", 1.0),
    ("kB", 1024.0),
    ("MB", 1048576.0),
    ("GB", 1073741824.0),
    ("TB", 1099511627776.0),
    ("PB", 1125899906842624.0),
];

const TIME_UNITS: [(&str, f64); 5] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("hrs", 3600e9),
];

/// Returns the scale table of a sample unit, or `None` for counts and unknown
/// units.
fn table(unit: &str) -> Option<&'static [(&'static str, f64)]> {
    let lower = unit.to_ascii_lowercase();
    let singular = if lower.len() > 2 {
        lower.strip_suffix('s').unwrap_or(&lower)
    } else {
        &lower
    };
    match singular {
        "b" | "byte" => Some(&MEMORY_UNITS),
        "ns" | "nanosecond" => Some(&TIME_UNITS),
        _ => None,
    }
}

/// Returns the largest unit in which `value` is at least 1, as pprof's
/// automatic scaling picks it, or `None` for units that do not scale.
pub fn auto_unit(value: f64, unit: &str) -> Option<&'static str> {
    let table = table(unit)?;
    let magnitude = value.abs();
    let chosen = table
        .iter()
        .rev()
        .find(|(_, factor)| magnitude / factor >= 1.0)
        .unwrap_or(&table[0]);
    Some(chosen.0)
}

/// Returns the one unit `go tool pprof` uses for a whole table: that of the
/// smallest nonzero value, moved up one step when the total is over 100 times
/// larger.
pub fn table_unit(min_value: i64, total: i64, unit: &str) -> Option<&'static str> {
    let min_value = if min_value == 0 { total } else { min_value };
    let min_unit = auto_unit(min_value as f64, unit)?;
    let max_unit = auto_unit(total as f64, unit)?;
    if min_unit != max_unit && (min_value as f64) * 100.0 < total as f64 {
        return auto_unit(100.0 * min_value as f64, unit);
    }
    Some(min_unit)
}

/// Formats `value` of `unit` in the fixed output unit `to` (from
/// [`table_unit`]), or as a plain number when the unit does not scale.
pub fn scaled_in(value: i64, unit: &str, to: Option<&str>) -> String {
    let factor = table(unit)
        .zip(to)
        .and_then(|(table, to)| table.iter().find(|(name, _)| *name == to))
        .map(|(name, factor)| (*name, *factor));
    match factor {
        Some((name, factor)) => with_unit(value as f64 / factor, name),
        None => trim(format!("{:.2}", value as f64)),
    }
}

/// Formats `value`, measured in `unit` ("bytes", "nanoseconds", "count"...),
/// in the largest unit in which it is at least 1.
pub fn scaled(value: i64, unit: &str) -> String {
    scaled_f64(value as f64, unit)
}

/// Like [`scaled`], for fractional values such as bytes per task.
pub fn scaled_f64(value: f64, unit: &str) -> String {
    let Some(table) = table(unit) else {
        return trim(format!("{value:.2}"));
    };
    let name = auto_unit(value, unit).unwrap_or("");
    let factor = table
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(1.0, |(_, f)| *f);
    with_unit(value / factor, name)
}

fn with_unit(value: f64, name: &str) -> String {
    let text = trim(format!("{value:.2}"));
    if text == "0" {
        return text;
    }
    format!("{text}{name}")
}

fn trim(text: String) -> String {
    match text.strip_suffix(".00") {
        Some("-0") | Some("0") => "0".into(),
        Some(stripped) => stripped.to_string(),
        None => text,
    }
}

/// Percentage of `value` in `total`, as pprof prints it in its tables.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total == 0 {
        0.0
    } else {
        (value as f64 / total as f64).abs() * 100.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "100%".into()
    } else if ratio >= 1.0 {
        format!("{ratio:.2}%")
    } else if ratio == 0.0 {
        "0%".into()
    } else {
        format!("{}%", format_g2(ratio))
    }
}

/// Go's %.2g for a small positive number: two significant digits.
fn format_g2(value: f64) -> String {
    let exponent = value.log10().floor() as i32;
    if exponent < -4 {
        let text = format!("{value:.1e}");
        return text.replace("e-", "e-0");
    }
    let decimals = (1 - exponent).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_scale_like_pprof() {
        assert_eq!(scaled(48, "bytes"), "48B");
        assert_eq!(scaled(18432, "bytes"), "18kB");
        assert_eq!(scaled(1408, "bytes"), "1.38kB");
        assert_eq!(scaled(13568, "bytes"), "13.25kB");
        assert_eq!(scaled(3 << 20, "bytes"), "3MB");
        assert_eq!(scaled(-1536, "bytes"), "-1.50kB");
        assert_eq!(scaled(0, "bytes"), "0");
    }

    #[test]
    fn table_unit_moves_up_for_small_minimum() {
        assert_eq!(table_unit(112, 17838, "bytes"), Some("kB"));
        assert_eq!(scaled_in(112, "bytes", Some("kB")), "0.11kB");
        assert_eq!(table_unit(500, 800, "bytes"), Some("B"));
        assert_eq!(table_unit(5, 100, "count"), None);
    }

    #[test]
    fn counts_stay_integers() {
        assert_eq!(scaled(33020, "count"), "33020");
        assert_eq!(scaled(-7, "count"), "-7");
    }

    #[test]
    fn percentages_like_pprof() {
        assert_eq!(percentage(33020, 47822), "69.05%");
        assert_eq!(percentage(47822, 47822), "100%");
        assert_eq!(percentage(0, 47822), "0%");
        assert_eq!(percentage(1, 300), "0.33%");
    }
}
