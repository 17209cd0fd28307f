//! Reading a set of snapshots in parallel and choosing the x axis of the fit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use anyhow::{bail, Context, Result};

use crate::analysis::growth::{reduce, Axis, AxisSource, Reduced};
use crate::analysis::sites::Granularity;
use crate::decode::{read_file, ReadOptions};

/// Reads and reduces every file, using all cores; results keep input order.
///
/// Reading a large profile keeps two threads busy, one inflating and one
/// decoding, so at most half as many files as there are cores are read at
/// once. A thread that has read a file reduces it and drops the profile
/// while the next file is read. On two cores the two profiles of a diff are
/// then never held in memory together, and the reduction of the first
/// overlaps the reading of the second.
pub(crate) fn read_reduced(
    paths: &[PathBuf],
    options: &ReadOptions,
    granularity: Granularity,
) -> Result<Vec<Reduced>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.min(paths.len()).max(1);
    let reading = Permits::new((cores / 2).max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Reduced>>>> =
        (0..paths.len()).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(index) else {
                    break;
                };
                let result = read_one(path, options, granularity, &reading);
                *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            let result = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            result.unwrap_or_else(|| bail!("a reader thread stopped early"))
        })
        .collect()
}

fn read_one(
    path: &Path,
    options: &ReadOptions,
    granularity: Granularity,
    reading: &Permits,
) -> Result<Reduced> {
    let profile = {
        let _permit = reading.acquire();
        read_file(path, options)?
    };
    Ok(reduce(&path.display().to_string(), &profile, granularity))
}

/// A counting semaphore: at most `n` holders of a [`Permit`] at once.
struct Permits {
    free: Mutex<usize>,
    released: Condvar,
}

struct Permit<'a>(&'a Permits);

impl Permits {
    fn new(n: usize) -> Self {
        Permits {
            free: Mutex::new(n),
            released: Condvar::new(),
        }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.released.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.released.notify_one();
    }
}

/// File name endings read from a folder.
const PROFILE_SUFFIXES: [&str; 5] = [".pb.gz", ".pb", ".pprof", ".prof", ".gz"];

pub use crate::record::MANIFEST;

/// The snapshot files of a command, and their task counts when a recording
/// manifest gave them.
pub(crate) struct SeriesInput {
    pub paths: Vec<PathBuf>,
    pub manifest_tasks: Option<Vec<f64>>,
    /// True when some of the files came from a recording manifest.
    pub from_manifest: bool,
}

/// One entry of a recording manifest.
#[derive(Debug, serde::Deserialize)]
struct ManifestEntry {
    file: String,
    kind: String,
    tasks: Option<f64>,
}

#[derive(Debug, serde::Deserialize)]
struct Manifest {
    snapshots: Vec<ManifestEntry>,
}

/// Replaces each folder by the profiles of `kind` in it: the manifest's
/// entries in their order, else the files sorted by name.
pub(crate) fn expand_inputs(inputs: &[PathBuf], kind: &str) -> Result<SeriesInput> {
    let mut paths = Vec::new();
    let mut tasks: Option<Vec<f64>> = Some(Vec::new());
    let mut from_manifest = false;
    for input in inputs {
        if !input.is_dir() {
            paths.push(input.clone());
            tasks = None;
            continue;
        }
        let manifest = input.join(MANIFEST);
        if manifest.is_file() {
            from_manifest = true;
            let (files, counts) = read_manifest(&manifest, kind)?;
            paths.extend(files);
            match (&mut tasks, counts) {
                (Some(all), Some(counts)) => all.extend(counts),
                _ => tasks = None,
            }
        } else {
            paths.extend(list_folder(input, kind)?);
            tasks = None;
        }
    }
    Ok(SeriesInput {
        paths,
        manifest_tasks: tasks.filter(|t| !t.is_empty()),
        from_manifest,
    })
}

fn read_manifest(manifest: &Path, kind: &str) -> Result<(Vec<PathBuf>, Option<Vec<f64>>)> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("{}: cannot read the manifest", manifest.display()))?;
    let parsed: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid manifest", manifest.display()))?;
    let folder = manifest.parent().unwrap_or(Path::new("."));
    let entries: Vec<&ManifestEntry> = parsed.snapshots.iter().filter(|e| e.kind == kind).collect();
    if entries.is_empty() {
        bail!(
            "{}: the manifest lists no {kind} snapshots; choose another with --kind",
            manifest.display()
        );
    }
    let files = entries.iter().map(|e| folder.join(&e.file)).collect();
    let tasks = entries
        .iter()
        .map(|e| e.tasks)
        .collect::<Option<Vec<f64>>>();
    Ok((files, tasks))
}

fn list_folder(folder: &Path, kind: &str) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("{}: cannot list the folder", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.is_file()
                && PROFILE_SUFFIXES
                    .iter()
                    .any(|s| file_name(path).ends_with(s))
        })
        .collect();
    // A folder that mixes kinds (heap-*.pb.gz beside goroutine-*.pb.gz) is
    // narrowed to the requested kind by the file name prefix.
    let kinds = ["heap", "goroutine", "allocs", "profile", "block", "mutex"];
    let prefixes: std::collections::BTreeSet<&str> = found
        .iter()
        .filter_map(|p| kinds.iter().copied().find(|k| file_name(p).starts_with(k)))
        .collect();
    if prefixes.len() > 1 {
        found.retain(|p| file_name(p).starts_with(kind));
    }
    if found.is_empty() {
        bail!(
            "{}: no {kind} profiles in the folder (looked for names ending in {})",
            folder.display(),
            PROFILE_SUFFIXES.join(", ")
        );
    }
    found.sort();
    Ok(found)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Chooses the x axis: task counts from the option, the file names or the
/// manifest, else the profiles' timestamps.
pub(crate) fn choose_axis(
    input: &SeriesInput,
    tasks: Option<&[f64]>,
    from_names: bool,
    reduced: &[Reduced],
) -> Result<Axis> {
    match (tasks, from_names, &input.manifest_tasks) {
        (Some(values), _, _) => axis_from_option(values, input.paths.len()),
        (None, true, manifest) => {
            if manifest.is_some() {
                eprintln!(
                    "pprof-chain: note: --tasks-from-names replaces the task counts of the \
                     recording manifest"
                );
            }
            axis_from_names(&input.paths)
        }
        (None, false, Some(values)) => Ok(Axis {
            source: AxisSource::Manifest,
            values: values.clone(),
        }),
        (None, false, None) => {
            let timestamps: Vec<(String, i64)> = reduced
                .iter()
                .map(|r| (r.name.clone(), r.time_nanos))
                .collect();
            axis_from_timestamps(&timestamps)
        }
    }
}

/// Puts the snapshots in the order of the axis (task count or time), so a
/// series given newest first is read the right way round. Returns true when
/// the order changed.
pub(crate) fn sort_by_axis(reduced: &mut Vec<Reduced>, axis: &mut Axis) -> bool {
    let mut order: Vec<usize> = (0..reduced.len()).collect();
    order.sort_by(|&a, &b| axis.values[a].total_cmp(&axis.values[b]));
    if order.iter().enumerate().all(|(i, &j)| i == j) {
        return false;
    }
    let mut taken: Vec<Option<Reduced>> = reduced.drain(..).map(Some).collect();
    let mut values: Vec<f64> = order.iter().map(|&i| axis.values[i]).collect();
    // Seconds count from the earliest snapshot.
    if axis.source == AxisSource::Timestamps {
        let first = values.first().copied().unwrap_or(0.0);
        values.iter_mut().for_each(|v| *v -= first);
    }
    reduced.extend(order.iter().filter_map(|&i| taken[i].take()));
    axis.values = values;
    true
}

/// Rejects profiles that are not of the kind requested with --kind.
pub(crate) fn check_kind(reduced: &[Reduced], kind: &str) -> Result<()> {
    for r in reduced {
        let found = r.kind.to_string();
        if !found.eq_ignore_ascii_case(kind) {
            bail!(
                "{} is a {found} profile, not {kind} as --kind requests",
                r.name
            );
        }
    }
    Ok(())
}

/// Task counts given on the command line.
pub(crate) fn axis_from_option(values: &[f64], count: usize) -> Result<Axis> {
    if values.len() != count {
        let plural = if values.len() == 1 { "" } else { "s" };
        bail!(
            "--tasks has {} value{plural} for {count} snapshots; give one task count per snapshot",
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

/// Reads the last run of digits in each file name (heap-012000.pb.gz: 12000).
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

/// Builds an axis of seconds since the first snapshot from each snapshot's
/// name and profile timestamp in nanoseconds since the Unix epoch. A timestamp
/// of 0 means the profile has none, which is an error.
pub(crate) fn axis_from_timestamps(timestamps: &[(String, i64)]) -> Result<Axis> {
    if let Some((name, _)) = timestamps.iter().find(|(_, nanos)| *nanos == 0) {
        bail!(
            "{name} has no timestamp, so growth cannot be measured per second; \
             give task counts with --tasks or --tasks-from-names"
        );
    }
    let first = timestamps.first().map_or(0, |(_, nanos)| *nanos);
    Ok(Axis {
        source: AxisSource::Timestamps,
        values: timestamps
            .iter()
            .map(|(_, nanos)| (nanos - first) as f64 / 1e9)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::{axis_from_timestamps, last_number, AxisSource, Ordering, Permits};

    #[test]
    fn last_number_reads_task_counts() {
        assert_eq!(last_number("heap-012000.pb.gz"), Some(12000.0));
        assert_eq!(last_number("heap.2.5000.pprof"), Some(5000.0));
        assert_eq!(last_number("heap.pb.gz"), None);
    }

    #[test]
    fn timestamp_axis_counts_seconds() {
        let timestamps = [
            ("a.pb.gz".to_string(), 5_000_000_000),
            ("b.pb.gz".to_string(), 7_500_000_000),
        ];
        let axis = axis_from_timestamps(&timestamps).expect("axis");
        assert_eq!(axis.source, AxisSource::Timestamps);
        assert_eq!(axis.values, [0.0, 2.5]);
    }

    #[test]
    fn timestamp_axis_names_missing_timestamp() {
        let timestamps = [
            ("a.pb.gz".to_string(), 5_000_000_000),
            ("b.pb.gz".to_string(), 0),
        ];
        let error = axis_from_timestamps(&timestamps).expect_err("missing timestamp rejected");
        assert!(
            error.to_string().starts_with("b.pb.gz has no timestamp"),
            "{error}"
        );
    }

    #[test]
    fn permits_bound_the_holders_at_once() {
        use std::sync::atomic::AtomicUsize;
        let permits = Permits::new(2);
        let holding = AtomicUsize::new(0);
        let max_holding = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let _permit = permits.acquire();
                        let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                        max_holding.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        holding.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        let max_holding = max_holding.load(Ordering::SeqCst);
        assert!(
            max_holding <= 2,
            "{max_holding} threads held a permit at once"
        );
        assert_eq!(*permits.free.lock().expect("lock"), 2);
    }
}
