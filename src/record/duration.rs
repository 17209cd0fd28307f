//! Durations as the command line writes them: a decimal number and a unit,
//! or several such pairs in a row, as Go's `time.ParseDuration` reads them
//! (`500ms`, `10s`, `2m`, `1m30s`, `1.5h`).

use std::time::Duration;

/// Units accepted after a number, longest first so that `ms` is not read as
/// `m` followed by a stray `s`.
const UNITS: [(&str, f64); 4] = [("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];

/// Parses a duration such as `500ms`, `10s`, `2m` or `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = |reason: &str| {
        format!("invalid duration {text:?}: {reason}; use a number with ms, s, m or h, such as 500ms or 10s")
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end]
            .parse()
            .map_err(|_| invalid("a number is missing or malformed"))?;
        rest = &rest[number_end..];
        let Some((unit, factor)) = UNITS.iter().find(|(unit, _)| rest.starts_with(unit)) else {
            return Err(invalid("a unit is missing or unknown"));
        };
        rest = &rest[unit.len()..];
        seconds += number * factor;
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid("it is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_reads_each_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn parse_duration_adds_pairs() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1s250ms"), Ok(Duration::from_millis(1250)));
    }

    #[test]
    fn parse_duration_rejects_malformed_text() {
        for text in ["", "10", "s", "10x", "1.2.3s", "-1s", "10 s", "ms10"] {
            let error = parse_duration(text).expect_err(text);
            assert!(error.contains("invalid duration"), "{text}: {error}");
        }
    }
}
