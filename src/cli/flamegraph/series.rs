//! Reading the snapshot series of a growth graph: each snapshot folded into
//! stacks of one sample type, in parallel.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::FlamegraphArgs;
use crate::analysis::growth::Axis;
use crate::cli::snapshots::axis_from_timestamps;
use crate::cli::{read_options, sample_index};
use crate::decode::{read_file, ReadOptions};
use crate::flame::{self, Stack};
use crate::model::{Profile, ProfileKind};

/// The folded stacks of one snapshot, valued by the chosen sample type.
pub(super) struct Snapshot {
    pub(super) stacks: Vec<Stack>,
    pub(super) total: i64,
    time_nanos: i64,
}

/// Profile kind and sample type that every snapshot of a series shares
/// with the first.
pub(super) struct SeriesShape<'a> {
    first: &'a Path,
    kind: ProfileKind,
    pub(super) sample: String,
}

/// Reads and folds every snapshot. The first one sets the sample type, by
/// --sample or its default, and the kind of profile that the others must
/// have. Returns those with the sample unit and the folded snapshots.
pub(super) fn read_series<'a>(
    args: &FlamegraphArgs,
    paths: &'a [PathBuf],
) -> Result<(SeriesShape<'a>, String, Vec<Snapshot>)> {
    let read = read_options(&args.read);
    let first = read_file(&paths[0], &read)?;
    let index = sample_index(&first, &paths[0], args.sample.as_deref())?;
    let shape = SeriesShape {
        first: &paths[0],
        kind: first.kind(),
        sample: first.sample_type_names()[index].to_string(),
    };
    let unit = first.sample_unit(index).to_string();
    let mut snapshots = vec![snapshot_of(&first, index)];
    // Only one profile is kept in memory per reading thread.
    drop(first);

    snapshots.extend(read_snapshots(&paths[1..], &read, &shape)?);
    Ok((shape, unit, snapshots))
}

fn snapshot_of(profile: &Profile, index: usize) -> Snapshot {
    Snapshot {
        stacks: flame::fold(profile, index),
        total: profile.totals()[index],
        time_nanos: profile.time_nanos,
    }
}

/// Reads and folds the snapshots after the first, using all cores. Results
/// keep the order of `paths`.
fn read_snapshots(
    paths: &[PathBuf],
    read: &ReadOptions,
    shape: &SeriesShape<'_>,
) -> Result<Vec<Snapshot>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let chunk_size = paths.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk_size)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|path| read_snapshot(path, read, shape))
                        .collect::<Result<Vec<Snapshot>>>()
                })
            })
            .collect();
        let mut snapshots = Vec::with_capacity(paths.len());
        for handle in handles {
            let chunk = handle
                .join()
                .map_err(|_| anyhow!("a thread reading the snapshots panicked"))??;
            snapshots.extend(chunk);
        }
        Ok(snapshots)
    })
}

fn read_snapshot(path: &Path, read: &ReadOptions, shape: &SeriesShape<'_>) -> Result<Snapshot> {
    let profile = read_file(path, read)?;
    let kind = profile.kind();
    if kind != shape.kind {
        bail!(
            "{}: is a {kind} profile but {} is a {} profile; \
             a growth graph needs snapshots of one kind",
            path.display(),
            shape.first.display(),
            shape.kind
        );
    }
    let index = profile.sample_type_index(&shape.sample).with_context(|| {
        format!(
            "{}: sample type {:?} not found, but {} has it; the profile has {}",
            path.display(),
            shape.sample,
            shape.first.display(),
            profile.sample_type_names().join(", ")
        )
    })?;
    Ok(snapshot_of(&profile, index))
}

/// Seconds since the first snapshot, from the profiles' timestamps.
pub(super) fn timestamp_axis(paths: &[PathBuf], snapshots: &[Snapshot]) -> Result<Axis> {
    let timestamps: Vec<(String, i64)> = paths
        .iter()
        .zip(snapshots)
        .map(|(path, snapshot)| (path.display().to_string(), snapshot.time_nanos))
        .collect();
    axis_from_timestamps(&timestamps)
}
