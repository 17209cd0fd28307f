//! Reading the task count from a service: one sample of the Prometheus text
//! exposition format, or one number in expvar JSON.

use std::collections::BTreeSet;

use serde_json::Value;

/// Error reading a task count from a metrics response.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    #[error("invalid metric name {0:?}: use a Prometheus name such as tasks_total, optionally with labels as in requests_total{{code=\"200\"}}")]
    InvalidSelector(String),
    #[error("metric {metric:?} not found at {url}; {hint}")]
    Missing {
        metric: String,
        url: String,
        hint: String,
    },
    #[error("metric {metric:?} at {url} has the value {value}; a task count must be a finite number of 0 or more")]
    InvalidValue {
        metric: String,
        url: String,
        value: f64,
    },
    #[error("{url} did not return JSON ({reason}); check --expvar-url, which should serve Go's expvar handler (/debug/vars)")]
    InvalidJson { url: String, reason: String },
    #[error("expvar key {key:?} at {url} is {found}, not a number; give the key of a counter with --tasks-metric")]
    NotANumber {
        key: String,
        url: String,
        found: &'static str,
    },
}

/// Label pairs of a sample or a selector, as (name, value).
type Labels = Vec<(String, String)>;

/// A metric name with optional label matchers: `tasks_total` or
/// `requests_total{code="200"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricSelector {
    pub name: String,
    pub labels: Labels,
}

impl MetricSelector {
    /// Parses `name` or `name{label="value",...}`.
    pub fn parse(text: &str) -> Result<Self, MetricError> {
        let invalid = || MetricError::InvalidSelector(text.to_string());
        let (name, rest) = split_name(text.trim()).ok_or_else(invalid)?;
        let (labels, rest) = if rest.starts_with('{') {
            parse_labels(rest).ok_or_else(invalid)?
        } else {
            (Vec::new(), rest)
        };
        if !rest.trim().is_empty() {
            return Err(invalid());
        }
        Ok(MetricSelector {
            name: name.to_string(),
            labels,
        })
    }

    fn matches(&self, name: &str, labels: &[(String, String)]) -> bool {
        name == self.name && self.labels.iter().all(|wanted| labels.contains(wanted))
    }
}

impl std::fmt::Display for MetricSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        let pairs: Vec<String> = self
            .labels
            .iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect();
        write!(f, "{{{}}}", pairs.join(","))
    }
}

/// Reads the value of `selector` from a Prometheus text-format response.
/// The values of every sample that matches are summed, so a counter split by
/// labels (one series per status code, say) gives its total.
pub fn prometheus_value(
    text: &str,
    selector: &MetricSelector,
    url: &str,
) -> Result<f64, MetricError> {
    let mut sum = 0.0;
    let mut matched = false;
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A line that does not parse is skipped: one malformed series of an
        // unrelated metric should not stop the recording.
        let Some((name, labels, value)) = parse_sample(line) else {
            continue;
        };
        if selector.matches(name, &labels) {
            sum += value;
            matched = true;
        }
        names.insert(name);
    }
    if !matched {
        return Err(MetricError::Missing {
            metric: selector.to_string(),
            url: url.to_string(),
            hint: missing_metric_hint(selector, &names),
        });
    }
    check_count(sum, &selector.to_string(), url)
}

fn missing_metric_hint(selector: &MetricSelector, names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        return "the response contains no metric samples; check --metrics-url".to_string();
    }
    if names.contains(selector.name.as_str()) {
        return "no series of it has the given labels".to_string();
    }
    let stem = selector.name.trim_end_matches("_total");
    let similar: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| name.contains(stem) || name.ends_with("_total"))
        .take(8)
        .collect();
    if similar.is_empty() {
        format!("the response has {} other metrics", names.len())
    } else {
        format!("metrics there with similar names: {}", similar.join(", "))
    }
}

/// Splits a metric name off the front of `text`.
fn split_name(text: &str) -> Option<(&str, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let name = &text[..end];
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    starts_well.then_some((name, &text[end..]))
}

/// Parses `{key="value",...}` at the start of `text`; returns the pairs and
/// the text after the closing brace.
fn parse_labels(text: &str) -> Option<(Labels, &str)> {
    let mut rest = text.strip_prefix('{')?;
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after_key) = split_name(rest)?;
        let after_equals = after_key.trim_start().strip_prefix('=')?;
        let (value, after_value) = parse_quoted(after_equals.trim_start())?;
        labels.push((key.to_string(), value));
        rest = after_value.trim_start();
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return None;
        }
    }
}

/// Parses a double-quoted label value with the escapes `\\`, `\"` and `\n`.
fn parse_quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            _ => value.push(c),
        }
    }
    None
}

/// Parses one sample line: `name{labels} value [timestamp]`.
fn parse_sample(line: &str) -> Option<(&str, Labels, f64)> {
    let (name, rest) = split_name(line)?;
    let (labels, rest) = if rest.starts_with('{') {
        parse_labels(rest)?
    } else {
        (Vec::new(), rest)
    };
    let value = rest.split_whitespace().next()?;
    Some((name, labels, parse_float(value)?))
}

/// Parses a sample value, including Prometheus' `+Inf`, `-Inf` and `NaN`.
fn parse_float(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// Reads the number at `key` in an expvar JSON response. A dot in `key`
/// descends into a nested object (`stats.tasks`), but a top-level name that
/// itself contains dots (`http.requests`) is found as well.
pub fn expvar_value(text: &str, key: &str, url: &str) -> Result<f64, MetricError> {
    let root: Value = serde_json::from_str(text).map_err(|e| MetricError::InvalidJson {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let parts: Vec<&str> = key.split('.').collect();
    let Some(found) = lookup(&root, &parts) else {
        return Err(MetricError::Missing {
            metric: key.to_string(),
            url: url.to_string(),
            hint: expvar_hint(&root),
        });
    };
    let Some(number) = found.as_f64() else {
        return Err(MetricError::NotANumber {
            key: key.to_string(),
            url: url.to_string(),
            found: json_type(found),
        });
    };
    check_count(number, key, url)
}

/// Follows `parts` down nested objects, trying the longest dotted key first
/// at each level.
fn lookup<'a>(value: &'a Value, parts: &[&str]) -> Option<&'a Value> {
    if parts.is_empty() {
        return Some(value);
    }
    let object = value.as_object()?;
    (1..=parts.len()).rev().find_map(|taken| {
        let child = object.get(&parts[..taken].join("."))?;
        lookup(child, &parts[taken..])
    })
}

fn expvar_hint(root: &Value) -> String {
    match root.as_object() {
        Some(object) => {
            let keys: Vec<&str> = object.keys().map(String::as_str).take(20).collect();
            format!("its top-level keys are: {}", keys.join(", "))
        }
        None => format!("the response is a JSON {}, not an object", json_type(root)),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_count(value: f64, metric: &str, url: &str) -> Result<f64, MetricError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(MetricError::InvalidValue {
            metric: metric.to_string(),
            url: url.to_string(),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:1/metrics";

    const EXPOSITION: &str = "\
# HELP leakgen_tasks_total Tasks handled since the process started.
# TYPE leakgen_tasks_total counter
leakgen_tasks_total 5144
http_requests_total{code=\"200\",path=\"/a\"} 10
http_requests_total{code=\"500\",path=\"/a\"} 2 1712345678000
http_requests_total{code=\"200\",path=\"/b\"} 5
go_goroutines 12
";

    fn value(selector: &str) -> Result<f64, MetricError> {
        let selector = MetricSelector::parse(selector).expect("valid selector");
        prometheus_value(EXPOSITION, &selector, URL)
    }

    #[test]
    fn prometheus_value_reads_plain_counter() {
        assert_eq!(value("leakgen_tasks_total").ok(), Some(5144.0));
    }

    #[test]
    fn prometheus_value_sums_label_sets() {
        assert_eq!(value("http_requests_total").ok(), Some(17.0));
        assert_eq!(value("http_requests_total{code=\"200\"}").ok(), Some(15.0));
        assert_eq!(
            value("http_requests_total{code=\"200\", path=\"/b\"}").ok(),
            Some(5.0)
        );
    }

    #[test]
    fn prometheus_missing_metric_lists_similar_names() {
        let error = value("leakgen_tasks").expect_err("missing").to_string();
        assert!(error.contains("\"leakgen_tasks\" not found"), "{error}");
        assert!(error.contains("leakgen_tasks_total"), "{error}");
    }

    #[test]
    fn prometheus_label_mismatch_is_missing() {
        let error = value("http_requests_total{code=\"404\"}").expect_err("missing");
        assert!(error
            .to_string()
            .contains("no series of it has the given labels"));
    }

    #[test]
    fn prometheus_value_rejects_negative_count() {
        let selector = MetricSelector::parse("x").expect("valid selector");
        let error = prometheus_value("x -3\n", &selector, URL).expect_err("negative");
        assert!(matches!(error, MetricError::InvalidValue { .. }), "{error}");
    }

    #[test]
    fn label_values_unescape() {
        let text = "m{path=\"a\\\"b\\\\c\\nd\"} 7\n";
        let selector =
            MetricSelector::parse("m{path=\"a\\\"b\\\\c\\nd\"}").expect("valid selector");
        assert_eq!(selector.labels[0].1, "a\"b\\c\nd");
        assert_eq!(prometheus_value(text, &selector, URL).ok(), Some(7.0));
    }

    #[test]
    fn selector_rejects_malformed_names() {
        for text in [
            "",
            "9lives",
            "m{",
            "m{a=b}",
            "m extra",
            "m{a=\"b\" c=\"d\"}",
        ] {
            assert!(MetricSelector::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn expvar_value_follows_dotted_path() {
        let json = r#"{"tasks_total": 42, "stats": {"done": 7}, "http.requests": 3}"#;
        assert_eq!(expvar_value(json, "tasks_total", URL).ok(), Some(42.0));
        assert_eq!(expvar_value(json, "stats.done", URL).ok(), Some(7.0));
        assert_eq!(expvar_value(json, "http.requests", URL).ok(), Some(3.0));
    }

    #[test]
    fn expvar_missing_key_lists_keys() {
        let json = r#"{"cmdline": [], "memstats": {}}"#;
        let error = expvar_value(json, "tasks", URL)
            .expect_err("missing")
            .to_string();
        assert!(error.contains("cmdline, memstats"), "{error}");
    }

    #[test]
    fn expvar_rejects_non_numbers() {
        let json = r#"{"cmdline": ["a"], "name": "x"}"#;
        let error = expvar_value(json, "cmdline", URL)
            .expect_err("array")
            .to_string();
        assert!(error.contains("is an array, not a number"), "{error}");
        let error = expvar_value("<html>", "x", URL)
            .expect_err("html")
            .to_string();
        assert!(error.contains("did not return JSON"), "{error}");
    }
}
