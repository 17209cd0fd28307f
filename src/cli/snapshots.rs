//! Reading a set of snapshots in parallel and choosing the x axis of the fit.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::analysis::growth::{reduce, Axis, AxisSource, Reduced};
use crate::analysis::sites::Granularity;
use crate::decode::{read_file, ReadOptions};

/// Reads and reduces every file, using all cores; results keep input order.
pub(crate) fn read_reduced(
    paths: &[PathBuf],
    options: &ReadOptions,
    granularity: Granularity,
) -> Result<Vec<Reduced>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let mut results: Vec<Option<Result<Reduced>>> = (0..paths.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let chunks = results.chunks_mut(paths.len().div_ceil(workers));
        for (chunk_index, chunk) in chunks.enumerate() {
            let start = chunk_index * paths.len().div_ceil(workers);
            scope.spawn(move || {
                for (offset, slot) in chunk.iter_mut().enumerate() {
                    let path = &paths[start + offset];
                    *slot = Some(read_one(path, options, granularity));
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| bail!("a reader thread stopped early")))
        .collect()
}

fn read_one(path: &Path, options: &ReadOptions, granularity: Granularity) -> Result<Reduced> {
    let profile = read_file(path, options)?;
    Ok(reduce(&path.display().to_string(), &profile, granularity))
}

/// Task counts given on the command line.
pub(crate) fn axis_from_option(values: &[f64], count: usize) -> Result<Axis> {
    if values.len() != count {
        bail!(
            "--tasks has {} values for {count} snapshots; give one task count per snapshot",
            values.len()
        );
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
        bail!("invalid task count {bad} in --tasks: use numbers of 0 or more");
    }
    Ok(Axis {
        source: AxisSource::Option,
        values: values.to_vec(),
    })
}

/// The last run of digits in each file name (heap-012000.pb.gz: 12000).
pub(crate) fn axis_from_names(paths: &[PathBuf]) -> Result<Axis> {
    let values = paths
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            last_number(&name).with_context(|| {
                format!(
                    "{}: no number in the file name to read a task count from; \
                     give the counts with --tasks",
                    path.display()
                )
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok(Axis {
        source: AxisSource::FileNames,
        values,
    })
}

fn last_number(name: &str) -> Option<f64> {
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".pb")
        .trim_end_matches(".pprof");
    let end = stem.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = stem[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    stem[start..end].parse().ok()
}

/// Seconds since the first snapshot, from the profiles' timestamps.
pub(crate) fn axis_from_timestamps(reduced: &[Reduced]) -> Result<Axis> {
    if let Some(r) = reduced.iter().find(|r| r.time_nanos == 0) {
        bail!(
            "{} has no timestamp, so growth cannot be measured per second; \
             give task counts with --tasks or --tasks-from-names",
            r.name
        );
    }
    let first = reduced[0].time_nanos;
    Ok(Axis {
        source: AxisSource::Timestamps,
        values: reduced
            .iter()
            .map(|r| (r.time_nanos - first) as f64 / 1e9)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::last_number;

    #[test]
    fn last_number_reads_task_counts() {
        assert_eq!(last_number("heap-012000.pb.gz"), Some(12000.0));
        assert_eq!(last_number("heap.2.5000.pprof"), Some(5000.0));
        assert_eq!(last_number("heap.pb.gz"), None);
    }
}
