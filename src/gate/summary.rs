//! The per-site summary of a run: what `--write-baseline` stores and what a
//! later run is compared with. Sites are keyed by function name only, so
//! code that moves to other lines or files still matches its baseline.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::estimate::{task_span, Rate};
use crate::analysis::growth::{Axis, Reduced};
use crate::analysis::paths::PathKey;

/// Value of the `format` field, so that another JSON file given to
/// `--baseline` is rejected with a clear message.
pub const FORMAT: &str = "pprof-chain gate baseline";
/// Version of the summary layout; raised when a field changes meaning.
pub const VERSION: u32 = 1;

/// A run reduced to what the baseline rules compare.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub format: String,
    pub version: u32,
    /// Number of snapshots the summary was made from.
    pub snapshots: usize,
    /// Task counts of the first and the last snapshot.
    pub first_tasks: f64,
    pub last_tasks: f64,
    /// Average bytes allocated between two heap samples
    /// (runtime.MemProfileRate, 524288 by default); 1 when every allocation
    /// was recorded.
    pub sample_period: f64,
    /// Total in-use bytes at the last snapshot.
    pub inuse_bytes: f64,
    /// Sites with in-use memory in at least one snapshot, by function name.
    pub sites: BTreeMap<String, SiteSummary>,
}

/// One allocating function: in-use memory at the last snapshot and its
/// growth per task over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSummary {
    pub inuse_bytes: f64,
    pub inuse_objects: f64,
    /// Sampling standard error of `inuse_bytes`; 0 for exact profiles.
    pub inuse_bytes_stderr: f64,
    pub bytes_per_task: Rate,
    pub objects_per_task: Rate,
}

/// Error from building or reading a summary.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("the profiles have no {0} sample type; the gate judges heap profiles (heap-*.pb.gz)")]
    NotHeap(&'static str),
    #[error("{path}: failed to read the baseline: {reason}")]
    Read { path: String, reason: String },
    #[error(
        "{path}: not a gate baseline ({reason}); give a file written by \
         `pprof-chain gate --write-baseline` or a folder of snapshots"
    )]
    Invalid { path: String, reason: String },
    #[error(
        "{path}: baseline version {found} is not supported (this build reads version {VERSION}); \
         write it again with --write-baseline"
    )]
    Version { path: String, found: u32 },
}

/// Values of one site across the snapshots of a run.
#[derive(Default)]
struct Accumulator {
    bytes: Vec<f64>,
    objects: Vec<f64>,
    variance: Vec<f64>,
}

impl Summary {
    /// Summarizes the snapshots of one run against their task counts,
    /// counting only the retention paths for which `keep` returns true.
    pub fn build(
        reduced: &[Reduced],
        axis: &Axis,
        sample_period: f64,
        keep: impl Fn(&PathKey) -> bool,
    ) -> Result<Summary, SummaryError> {
        let first = reduced
            .first()
            .ok_or(SummaryError::NotHeap("inuse_space"))?;
        let find = |name: &'static str| {
            first
                .measures
                .iter()
                .position(|m| m.name == name)
                .ok_or(SummaryError::NotHeap(name))
        };
        let inuse_space = find("inuse_space")?;
        let inuse_objects = find("inuse_objects")?;
        let count = reduced.len();
        let mut sites: BTreeMap<&str, Accumulator> = BTreeMap::new();
        for (index, snapshot) in reduced.iter().enumerate() {
            for (key, path) in &snapshot.paths {
                if !keep(key) {
                    continue;
                }
                let entry = sites
                    .entry(key.site.as_str())
                    .or_insert_with(|| Accumulator {
                        bytes: vec![0.0; count],
                        objects: vec![0.0; count],
                        variance: vec![0.0; count],
                    });
                entry.bytes[index] += path.values[inuse_space] as f64;
                entry.objects[index] += path.values[inuse_objects] as f64;
                entry.variance[index] += path.variance;
            }
        }
        let xs = &axis.values;
        let sites = sites
            .into_iter()
            .filter(|(_, values)| values.bytes.iter().any(|&b| b != 0.0))
            .map(|(site, values)| (site.to_string(), site_summary(xs, &values)))
            .collect();
        let last = reduced.last().unwrap_or(first);
        Ok(Summary {
            format: FORMAT.to_string(),
            version: VERSION,
            snapshots: count,
            first_tasks: xs.first().copied().unwrap_or(0.0),
            last_tasks: xs.last().copied().unwrap_or(0.0),
            sample_period,
            inuse_bytes: last.totals[inuse_space] as f64,
            sites,
        })
    }

    /// Reads a summary written by [`Summary::write`].
    pub fn read(path: &Path) -> Result<Summary, SummaryError> {
        let display_path = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| SummaryError::Read {
            path: display_path.clone(),
            reason: e.to_string(),
        })?;
        let invalid = |reason: String| SummaryError::Invalid {
            path: display_path.clone(),
            reason,
        };
        if text.starts_with(&[0x1f, 0x8b]) {
            return Err(invalid("it is gzip data, perhaps a single profile".into()));
        }
        // Check the format and version first, so that a future layout gets
        // the version message rather than a complaint about a field.
        let header: Header =
            serde_json::from_slice(&text).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(invalid(format!("its \"format\" field is not {FORMAT:?}")));
        }
        if header.version != Some(VERSION) {
            return Err(SummaryError::Version {
                path: display_path,
                found: header.version.unwrap_or(0),
            });
        }
        serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))
    }

    /// Writes the summary as indented JSON, sites sorted by name so that a
    /// committed baseline changes line by line.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

fn site_summary(xs: &[f64], values: &Accumulator) -> SiteSummary {
    let last = xs.len() - 1;
    let change_stderr = (values.variance[0] + values.variance[last]).sqrt();
    let bytes_change = values.bytes[last] - values.bytes[0];
    // NOTE: heap sampling is by bytes, so the error of the object count is
    // taken to be the same share of its change as for the bytes. That holds
    // when the site allocates objects of one size.
    let relative = if bytes_change != 0.0 {
        change_stderr / bytes_change.abs()
    } else {
        0.0
    };
    let objects_change = values.objects[last] - values.objects[0];
    debug_assert!(task_span(xs) > 0.0);
    SiteSummary {
        inuse_bytes: values.bytes[last],
        inuse_objects: values.objects[last],
        inuse_bytes_stderr: values.variance[last].sqrt(),
        bytes_per_task: Rate::fit(xs, &values.bytes, change_stderr),
        objects_per_task: Rate::fit(xs, &values.objects, relative * objects_change.abs()),
    }
}
