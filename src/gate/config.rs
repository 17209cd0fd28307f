//! The `[gate]` table of `pprof-chain.toml`, the configuration file a
//! repository keeps next to its code. Flags given on the command line win
//! over the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::allow::Pattern;
use super::Limits;

/// Name of the configuration file read from the current directory.
pub const DEFAULT_FILE: &str = "pprof-chain.toml";

/// The whole file. Only the `[gate]` table is defined so far.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    gate: Option<GateConfig>,
}

/// Settings of the gate; every key is optional.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Baseline summary file or snapshot folder, relative to the file.
    pub baseline: Option<PathBuf>,
    pub max_bytes_per_task: Option<Size>,
    pub max_objects_per_task: Option<f64>,
    pub max_growth_percent: Option<f64>,
    pub tolerance_percent: Option<f64>,
    pub min_inuse_increase: Option<Size>,
    pub allow: Option<Vec<String>>,
}

/// The settings of a configuration file, checked. A `None` or an empty
/// list means the file does not set it.
#[derive(Debug, Default)]
pub struct FileSettings {
    pub limits: Limits,
    pub tolerance_percent: Option<f64>,
    pub min_inuse_increase: Option<f64>,
    pub allow: Vec<Pattern>,
}

impl GateConfig {
    /// Checks every value and converts sizes to bytes. An error names the
    /// key.
    pub fn settings(&self) -> Result<FileSettings, String> {
        let number = |value: Option<f64>, key: &str| {
            value
                .map(|v| check_non_negative(v).map_err(|e| format!("{key}: {e}")))
                .transpose()
        };
        let size =
            |value: &Option<Size>, key: &str| value.as_ref().map(|v| v.bytes(key)).transpose();
        Ok(FileSettings {
            limits: Limits {
                max_bytes_per_task: size(&self.max_bytes_per_task, "max_bytes_per_task")?,
                max_objects_per_task: number(self.max_objects_per_task, "max_objects_per_task")?,
                max_growth_percent: number(self.max_growth_percent, "max_growth_percent")?,
            },
            tolerance_percent: number(self.tolerance_percent, "tolerance_percent")?,
            min_inuse_increase: size(&self.min_inuse_increase, "min_inuse_increase")?,
            allow: self
                .allow
                .iter()
                .flatten()
                .map(|text| Pattern::new(text).map_err(|e| format!("allow: {e}")))
                .collect::<Result<Vec<Pattern>, String>>()?,
        })
    }
}

/// A byte count written as a number (`4096`) or with a suffix (`"64K"`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Size {
    Number(f64),
    Text(String),
}

impl Size {
    /// Converts the size to bytes. `key` names the setting in the error.
    pub fn bytes(&self, key: &str) -> Result<f64, String> {
        match self {
            Size::Number(n) => check_bytes(*n, &n.to_string()),
            Size::Text(text) => parse_bytes(text),
        }
        .map_err(|e| format!("{key}: {e}"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: failed to read the configuration: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: invalid configuration: {reason}")]
    Invalid { path: String, reason: String },
}

/// Reads the `[gate]` table of `path`. A relative `baseline` is resolved
/// against the folder of the file.
pub fn load(path: &Path) -> Result<GateConfig, ConfigError> {
    let display_path = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: display_path.clone(),
        reason: e.to_string(),
    })?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: display_path,
        reason: e.message().to_string() + &line_of(&text, e.span()),
    })?;
    let mut gate = file.gate.unwrap_or_default();
    if let Some(baseline) = &gate.baseline {
        let folder = path.parent().unwrap_or(Path::new(""));
        gate.baseline = Some(folder.join(baseline));
    }
    Ok(gate)
}

/// " (line N)" for the start of `span`, or nothing.
fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// Parses a byte count such as `64`, `1.5K`, `2M`, `2MiB` or `1G` (powers
/// of 1024). Fractions are allowed because a limit per task can be under
/// one byte.
pub fn parse_bytes(text: &str) -> Result<f64, String> {
    let invalid = || format!("invalid size {text:?}: use bytes, or a number with K, M or G");
    let lower = text.trim().to_ascii_lowercase();
    let unit_start = lower
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e')
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(unit_start);
    let multiplier = match unit {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(invalid()),
    };
    let number: f64 = digits.trim().parse().map_err(|_| invalid())?;
    check_bytes(number * multiplier, text)
}

fn check_bytes(bytes: f64, text: &str) -> Result<f64, String> {
    if bytes.is_finite() && bytes >= 0.0 {
        Ok(bytes)
    } else {
        Err(format!("invalid size {text:?}: use a size of 0 or more"))
    }
}

/// Parses a count or percentage of 0 or more.
pub fn parse_non_negative(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("invalid number {text:?}"))?;
    check_non_negative(value).map_err(|_| format!("invalid number {text:?}: use 0 or more"))
}

/// Rejects negative and non-finite values.
pub fn check_non_negative(value: f64) -> Result<f64, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("invalid value {value}: use 0 or more"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_bytes("64"), Ok(64.0));
        assert_eq!(parse_bytes("1.5K"), Ok(1536.0));
        assert_eq!(parse_bytes("2m"), Ok(2.0 * 1024.0 * 1024.0));
        assert_eq!(parse_bytes("0.5"), Ok(0.5));
        assert_eq!(parse_bytes("12B"), Ok(12.0));
        assert_eq!(parse_bytes("64KiB"), Ok(65536.0));
        assert_eq!(parse_bytes("1e3"), Ok(1000.0));
    }

    #[test]
    fn bad_sizes_are_rejected() {
        assert!(parse_bytes("").is_err());
        assert!(parse_bytes("K").is_err());
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("3X").is_err());
        assert!(parse_bytes("inf").is_err());
    }

    #[test]
    fn unknown_key_is_named() {
        let error = toml::from_str::<ConfigFile>("[gate]\nmax_byte_per_task = 3\n")
            .expect_err("unknown key");
        assert!(error.message().contains("max_byte_per_task"), "{error}");
    }

    #[test]
    fn integers_and_strings_are_sizes() {
        let file: ConfigFile =
            toml::from_str("[gate]\nmax_bytes_per_task = 64\nmin_inuse_increase = \"2M\"\n")
                .expect("valid file");
        let gate = file.gate.expect("gate table");
        let bytes = gate.max_bytes_per_task.expect("set");
        assert_eq!(bytes.bytes("max_bytes_per_task"), Ok(64.0));
        let increase = gate.min_inuse_increase.expect("set");
        assert_eq!(
            increase.bytes("min_inuse_increase"),
            Ok(2.0 * 1024.0 * 1024.0)
        );
    }
}
