//! The recording loop: fetch a GC-settled heap snapshot (and optionally the
//! goroutine profile), read the task count, check and save, then wait for
//! the next interval, until the count is reached or a stop is requested.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::folder::{Entry, Folder, FolderError, NewFile};
use super::http::{Client, Endpoint, FetchError, FetchOptions, Retry};
use super::metric::{expvar_value, prometheus_value, MetricError, MetricSelector};
use super::stop::Stop;
use crate::decode::{read_bytes, ReadOptions};
use crate::error::ProfileError;
use crate::model::{Profile, ProfileKind};

/// Source of the task count.
#[derive(Clone, Debug)]
pub enum TaskMetric {
    /// A sample of a Prometheus text-format endpoint.
    Prometheus {
        url: String,
        selector: MetricSelector,
    },
    /// A number in expvar JSON; dots in `key` descend into nested objects.
    Expvar { url: String, key: String },
}

impl TaskMetric {
    /// Returns the metric name as given on the command line.
    pub fn name(&self) -> String {
        match self {
            TaskMetric::Prometheus { selector, .. } => selector.to_string(),
            TaskMetric::Expvar { key, .. } => key.clone(),
        }
    }
}

/// Settings of one recording.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The heap profile URL, normally ending in `/debug/pprof/heap?gc=1`.
    pub heap_url: String,
    /// The goroutine profile URL, when goroutines are recorded as well.
    pub goroutine_url: Option<String>,
    pub tasks: Option<TaskMetric>,
    /// Snapshots to take; `None` records until a stop is requested.
    pub count: Option<u64>,
    /// Time from the start of one snapshot to the start of the next.
    pub interval: Duration,
    pub fetch: FetchOptions,
    pub read: ReadOptions,
}

/// Error that ended a recording early.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Metric(#[from] MetricError),
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error("{url}: the response {}", describe_profile_error(.error))]
    NotAProfile { url: String, error: ProfileError },
    #[error(
        "{url}: the response is a {found} profile, expected a {expected} profile; check the URL"
    )]
    WrongKind {
        url: String,
        expected: ProfileKind,
        found: ProfileKind,
    },
}

/// Phrases a decode error as the rest of "the response ...".
fn describe_profile_error(error: &ProfileError) -> String {
    match error {
        // These reasons name the kind of content and the next step already.
        ProfileError::NotAProfile(reason) => reason.clone(),
        other => format!("is not a valid pprof profile: {other}"),
    }
}

/// Progress report of the recording loop.
pub enum Event<'a> {
    /// A request failed and will be tried again after `retry.delay`.
    Retrying(&'a Retry<'a>),
    /// A snapshot was saved and the manifest lists it.
    Saved(&'a Saved<'a>),
    /// The task count is lower than at the previous snapshot, as after a
    /// restart of the service.
    TasksFell { previous: f64, current: f64 },
}

/// A snapshot that has been saved.
pub struct Saved<'a> {
    /// Position in this run, from 1.
    pub number: u64,
    /// Snapshots this run takes, if limited.
    pub count: Option<u64>,
    /// Manifest entries of the new files: the heap profile first.
    pub entries: &'a [Entry],
    pub heap: &'a Profile,
    /// Goroutines in the goroutine profile, when it was recorded.
    pub goroutines: Option<i64>,
    pub tasks: Option<f64>,
}

/// Result of a recording that ended without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub saved: u64,
    /// True when a stop request ended the run before the count was reached.
    pub interrupted: bool,
}

/// Records snapshots into `folder` until `options.count` is reached or
/// `stop` is requested. A stop request is honoured between fetches and
/// during waits, never in the middle of saving, so the folder stays
/// consistent.
pub fn record(
    options: &RecordOptions,
    folder: &mut Folder,
    stop: &Stop,
    observe: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome, RecordError> {
    let client = Client::new(options.fetch);
    let recorder = Recorder {
        options,
        client: &client,
        stop,
    };
    let mut previous_tasks = folder.manifest().snapshots.last().and_then(|e| e.tasks);
    let mut saved = 0;
    let mut next_start = Instant::now();
    loop {
        if options.count.is_some_and(|count| saved >= count) {
            return Ok(Outcome {
                saved,
                interrupted: false,
            });
        }
        if stop.sleep(next_start.saturating_duration_since(Instant::now())) {
            break;
        }
        next_start = Instant::now() + options.interval;
        match recorder.take(folder, saved + 1, previous_tasks, observe) {
            Ok(tasks) => {
                saved += 1;
                previous_tasks = tasks.or(previous_tasks);
            }
            Err(RecordError::Fetch(FetchError::Interrupted { .. })) => break,
            Err(error) => return Err(error),
        }
        if stop.is_requested() {
            break;
        }
    }
    Ok(Outcome {
        saved,
        interrupted: options.count.is_none_or(|count| saved < count),
    })
}

/// The parts one snapshot needs.
struct Recorder<'a> {
    options: &'a RecordOptions,
    client: &'a Client,
    stop: &'a Stop,
}

impl Recorder<'_> {
    /// Takes, checks and saves one snapshot; returns its task count.
    fn take(
        &self,
        folder: &mut Folder,
        number: u64,
        previous_tasks: Option<f64>,
        observe: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<f64>, RecordError> {
        let heap_url = &self.options.heap_url;
        let heap_data = self.fetch(heap_url, Endpoint::Heap, observe)?;
        let unix_nanos = unix_nanos_now();
        let heap = self.decode(heap_url, &heap_data, ProfileKind::Heap)?;
        let mut files = vec![NewFile {
            kind: "heap",
            data: &heap_data,
            url: heap_url,
        }];

        let goroutine_data = match &self.options.goroutine_url {
            Some(url) => Some((url, self.fetch(url, Endpoint::Goroutine, observe)?)),
            None => None,
        };
        let mut goroutines = None;
        if let Some((url, data)) = &goroutine_data {
            let profile = self.decode(url, data, ProfileKind::Goroutine)?;
            goroutines = goroutine_count(&profile);
            files.push(NewFile {
                kind: "goroutine",
                data,
                url,
            });
        }

        // The task count is read after the profiles, so it includes every
        // task that the heap snapshot can reflect.
        let tasks = match &self.options.tasks {
            Some(metric) => Some(self.read_tasks(metric, observe)?),
            None => None,
        };
        if let (Some(previous), Some(current)) = (previous_tasks, tasks) {
            if current < previous {
                observe(Event::TasksFell { previous, current });
            }
        }

        let entries = folder.add_snapshot(&files, tasks, unix_nanos)?;
        observe(Event::Saved(&Saved {
            number,
            count: self.options.count,
            entries,
            heap: &heap,
            goroutines,
            tasks,
        }));
        Ok(tasks)
    }

    fn fetch(
        &self,
        url: &str,
        endpoint: Endpoint,
        observe: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<u8>, FetchError> {
        self.client.get(url, endpoint, self.stop, &mut |retry| {
            observe(Event::Retrying(retry))
        })
    }

    fn decode(
        &self,
        url: &str,
        data: &[u8],
        expected: ProfileKind,
    ) -> Result<Profile, RecordError> {
        // Snapshots are stored as served, so they must be protobuf: a legacy
        // text heap profile would read here but be saved as text.
        if crate::decode::is_legacy_heap_text(data) {
            return Err(RecordError::NotAProfile {
                url: url.to_string(),
                error: ProfileError::NotAProfile(
                    "is a legacy text heap profile (debug=1); fetch the profile without \
                     debug= to get protobuf"
                        .into(),
                ),
            });
        }
        let profile =
            read_bytes(data, &self.options.read).map_err(|error| RecordError::NotAProfile {
                url: url.to_string(),
                error,
            })?;
        let found = profile.kind();
        if found != expected {
            return Err(RecordError::WrongKind {
                url: url.to_string(),
                expected,
                found,
            });
        }
        Ok(profile)
    }

    fn read_tasks(
        &self,
        metric: &TaskMetric,
        observe: &mut dyn FnMut(Event<'_>),
    ) -> Result<f64, RecordError> {
        let value = match metric {
            TaskMetric::Prometheus { url, selector } => {
                let body = self.fetch(url, Endpoint::Metrics, observe)?;
                prometheus_value(&String::from_utf8_lossy(&body), selector, url)?
            }
            TaskMetric::Expvar { url, key } => {
                let body = self.fetch(url, Endpoint::Expvar, observe)?;
                expvar_value(&String::from_utf8_lossy(&body), key, url)?
            }
        };
        Ok(value)
    }
}

/// Sum of the `goroutine` sample type: the number of goroutines.
fn goroutine_count(profile: &Profile) -> Option<i64> {
    let index = profile.sample_type_index("goroutine")?;
    profile.totals().get(index).copied()
}

fn unix_nanos_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
