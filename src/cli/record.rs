//! `pprof-chain record URL --out DIR`: the command-line adapter of
//! [`crate::record`]. It validates the options, prints progress to stderr
//! and the live view to stdout.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use super::args::ReadArgs;
use super::snapshots::read_reduced;
use super::{read_options, write_stdout};
use crate::analysis::growth::reduce;
use crate::analysis::sites::Granularity;
use crate::record::duration::parse_duration;
use crate::record::http::FetchOptions;
use crate::record::live::{write_live, write_unavailable, LiveView};
use crate::record::metric::MetricSelector;
use crate::record::stop::install_ctrlc;
use crate::record::{
    record, Event, Existing, Folder, Outcome, RecordOptions, Saved, Stop, TaskMetric,
};
use crate::render::report::group_digits;
use crate::render::units::scaled_f64;

#[derive(Debug, Args)]
#[command(after_help = "\
The folder gets heap-000001.pb.gz, heap-000002.pb.gz, ... (and goroutine-NNNNNN.pb.gz \
with --goroutines) and manifest.json, which lists each file with its kind, task count \
and time. Files and manifest are written to a temporary file and renamed, so the folder \
is consistent at any moment, also after Ctrl-C. Read the series with \
`pprof-chain trend DIR`. --max-profile-bytes also limits the size of each HTTP response.

Ctrl-C stops after the current snapshot; a second Ctrl-C aborts at once (exit status 130).")]
pub struct RecordArgs {
    /// Base URL of the Go service, such as http://127.0.0.1:6060; the heap
    /// profile is fetched from URL/debug/pprof/heap?gc=1 (plain http only)
    #[arg(value_name = "URL")]
    pub url: String,
    /// Folder to write the snapshots and manifest.json into; created when
    /// missing, and it must be empty unless --append is given
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Continue the recording in a folder that already has a manifest.json:
    /// new files are numbered after the last existing one
    #[arg(long)]
    pub append: bool,
    /// Number of snapshots to take; 0 records until Ctrl-C
    #[arg(long, short = 'n', value_name = "N", default_value_t = 10)]
    pub count: u64,
    /// Time from the start of one snapshot to the start of the next (500ms,
    /// 10s, 2m, 1m30s)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Metric that counts the tasks handled: a Prometheus sample name,
    /// optionally with labels (name{label="value"}), or with --tasks-source
    /// expvar an expvar key (a dot descends into a nested object)
    #[arg(long, value_name = "NAME")]
    pub tasks_metric: Option<String>,
    /// Source of --tasks-metric [default: expvar when --expvar-url is
    /// given, else prometheus]
    #[arg(long, value_enum, value_name = "SOURCE", requires = "tasks_metric")]
    pub tasks_source: Option<TasksSource>,
    /// Prometheus text-format endpoint [default: URL/metrics]
    #[arg(
        long,
        value_name = "URL",
        requires = "tasks_metric",
        conflicts_with = "expvar_url"
    )]
    pub metrics_url: Option<String>,
    /// expvar JSON endpoint [default: URL/debug/vars]
    #[arg(long, value_name = "URL", requires = "tasks_metric")]
    pub expvar_url: Option<String>,
    /// Also record the goroutine profile (URL/debug/pprof/goroutine) with each
    /// snapshot
    #[arg(long)]
    pub goroutines: bool,
    /// Maximum time one request may take, including the GC that gc=1 requests
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Maximum wait for a TCP connection
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Attempts after the first for a failed connection, a timeout or a 5xx
    /// status. The wait before a retry starts at 500ms and doubles each
    /// time, up to 10s
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Findings shown on stdout after each snapshot; 0 turns the live view off
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub live: usize,
    /// Print progress to stderr even when it is not a terminal
    #[arg(long, short = 'v')]
    pub verbose: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TasksSource {
    /// A Prometheus text-format endpoint (--metrics-url)
    Prometheus,
    /// Go's expvar JSON (--expvar-url)
    Expvar,
}

/// Wait before the first retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub(super) fn run(args: RecordArgs) -> Result<()> {
    let options = record_options(&args)?;
    let existing = if args.append {
        Existing::Append
    } else {
        Existing::Reject
    };
    let mut folder = Folder::open(&args.out, existing)?;
    check_task_counts(&folder, &options)?;
    let stop = Stop::new();
    install_ctrlc(stop.clone()).context("failed to install the Ctrl-C handler")?;

    let mut printer = Printer::new(&args, &folder);
    let result = record(&options, &mut folder, &stop, &mut |event| {
        printer.event(event)
    });
    let saved = printer.saved;
    let out = args.out.display();
    match result {
        Ok(outcome) => {
            if outcome.saved == 0 {
                folder.remove_if_unused();
            }
            print_summary(&outcome, &folder, &args.out);
            Ok(())
        }
        Err(error) if saved > 0 => Err(error).with_context(|| {
            format!(
                "recording stopped after {}, saved in {out}",
                plural(saved, "snapshot")
            )
        }),
        Err(error) => {
            folder.remove_if_unused();
            Err(error.into())
        }
    }
}

/// Turns the arguments into the options of the recording loop.
fn record_options(args: &RecordArgs) -> Result<RecordOptions> {
    let base = base_url(&args.url)?;
    if args.timeout.is_zero() || args.connect_timeout.is_zero() {
        bail!("invalid --timeout or --connect-timeout of 0: use a duration above 0, such as 30s");
    }
    let fetch = FetchOptions {
        connect_timeout: args.connect_timeout,
        timeout: args.timeout,
        retries: args.retries,
        backoff: FIRST_BACKOFF,
        max_body_bytes: args.read.max_profile_bytes,
    };
    Ok(RecordOptions {
        heap_url: format!("{base}/debug/pprof/heap?gc=1"),
        goroutine_url: args
            .goroutines
            .then(|| format!("{base}/debug/pprof/goroutine")),
        tasks: task_metric(args, &base)?,
        count: (args.count > 0).then_some(args.count),
        interval: args.interval,
        fetch,
        read: read_options(&args.read),
    })
}

/// Returns the service's base URL without trailing slashes and without a
/// trailing /debug/pprof or /debug/pprof/heap, so that any of them can be
/// given.
fn base_url(url: &str) -> Result<String> {
    check_http(url, "URL")?;
    if url.contains('?') {
        bail!("invalid URL {url:?}: give the service's base URL, without a query");
    }
    let mut base = url.trim_end_matches('/');
    for suffix in ["/debug/pprof/heap", "/debug/pprof"] {
        if let Some(stripped) = base.strip_suffix(suffix) {
            base = stripped;
            break;
        }
    }
    Ok(base.trim_end_matches('/').to_string())
}

fn check_http(url: &str, option: &str) -> Result<()> {
    if url.starts_with("https://") {
        bail!(
            "invalid {option} {url:?}: https is not supported; use plain http, for example \
             through a port forward to 127.0.0.1"
        );
    }
    if !url.starts_with("http://") || url.len() == "http://".len() {
        bail!("invalid {option} {url:?}: expected an http:// URL such as http://127.0.0.1:6060");
    }
    Ok(())
}

fn task_metric(args: &RecordArgs, base: &str) -> Result<Option<TaskMetric>> {
    let Some(name) = &args.tasks_metric else {
        return Ok(None);
    };
    let source = match (args.tasks_source, &args.expvar_url) {
        (Some(TasksSource::Prometheus), Some(_)) => {
            bail!("--expvar-url cannot be used with --tasks-source prometheus; give --metrics-url")
        }
        (Some(source), _) => source,
        (None, Some(_)) => TasksSource::Expvar,
        (None, None) => TasksSource::Prometheus,
    };
    if source == TasksSource::Expvar && args.metrics_url.is_some() {
        bail!("--metrics-url cannot be used with --tasks-source expvar; give --expvar-url");
    }
    let metric = match source {
        TasksSource::Prometheus => {
            let url = args
                .metrics_url
                .clone()
                .unwrap_or(format!("{base}/metrics"));
            check_http(&url, "--metrics-url")?;
            TaskMetric::Prometheus {
                url,
                selector: MetricSelector::parse(name)?,
            }
        }
        TasksSource::Expvar => {
            let url = args
                .expvar_url
                .clone()
                .unwrap_or(format!("{base}/debug/vars"));
            check_http(&url, "--expvar-url")?;
            if name.is_empty() || name.split('.').any(str::is_empty) {
                bail!("invalid expvar key {name:?}: use a key such as tasks_total or stats.tasks");
            }
            TaskMetric::Expvar {
                url,
                key: name.clone(),
            }
        }
    };
    Ok(Some(metric))
}

/// Rejects appending snapshots without task counts to a recording that has
/// them: trend would then fall back to timestamps for the whole series.
fn check_task_counts(folder: &Folder, options: &RecordOptions) -> Result<()> {
    let has_tasks = folder
        .manifest()
        .snapshots
        .iter()
        .any(|e| e.tasks.is_some());
    if has_tasks && options.tasks.is_none() {
        bail!(
            "{}: the recording has task counts, so new snapshots need them too; \
             give --tasks-metric",
            folder.path().display()
        );
    }
    let missing = folder
        .manifest()
        .snapshots
        .iter()
        .any(|e| e.tasks.is_none());
    if missing && options.tasks.is_some() {
        eprintln!(
            "pprof-chain: warning: {}: earlier snapshots have no task count, so trend will \
             measure growth per second for the whole folder",
            folder.path().display()
        );
    }
    Ok(())
}

/// Prints the events of the recording: progress and the live view.
struct Printer {
    progress: bool,
    live_limit: usize,
    live: LiveView,
    live_failed: bool,
    saved: u64,
}

impl Printer {
    fn new(args: &RecordArgs, folder: &Folder) -> Self {
        let mut printer = Printer {
            progress: args.verbose || io::stderr().is_terminal(),
            live_limit: args.live,
            live: LiveView::default(),
            live_failed: false,
            saved: 0,
        };
        if args.live > 0 {
            printer.load_existing(folder, &args.read);
        }
        printer
    }

    /// Adds the heap snapshots an appended folder already has to the live
    /// view. A folder that cannot be read only makes the view start empty.
    fn load_existing(&mut self, folder: &Folder, read: &ReadArgs) {
        let heap: Vec<_> = folder
            .manifest()
            .snapshots
            .iter()
            .filter(|e| e.kind == "heap")
            .collect();
        if heap.is_empty() {
            return;
        }
        let paths: Vec<PathBuf> = heap.iter().map(|e| folder.path().join(&e.file)).collect();
        match read_reduced(&paths, &read_options(read), Granularity::Functions) {
            Ok(reduced) => {
                for (snapshot, entry) in reduced.into_iter().zip(&heap) {
                    self.live.push(snapshot, entry.tasks);
                }
            }
            Err(error) => eprintln!(
                "pprof-chain: warning: the live view leaves out the earlier snapshots: {error:#}"
            ),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Retrying(retry) => eprintln!(
                "pprof-chain: attempt {} of {} failed, retrying in {:?}: {}",
                retry.attempt, retry.attempts, retry.delay, retry.error
            ),
            Event::TasksFell { previous, current } => eprintln!(
                "pprof-chain: warning: the task count fell from {} to {}; if the service \
                 restarted, the counts before and after do not compare",
                group_digits(previous),
                group_digits(current)
            ),
            Event::Saved(saved) => {
                self.saved += 1;
                if self.progress {
                    eprintln!("{}", progress_line(saved));
                }
                self.update_live(saved);
            }
        }
    }

    fn update_live(&mut self, saved: &Saved<'_>) {
        if self.live_limit == 0 || self.live_failed {
            return;
        }
        let name = saved.entries.first().map_or("", |e| e.file.as_str());
        self.live.push(
            reduce(name, saved.heap, Granularity::Functions),
            saved.tasks,
        );
        if self.live.len() < 2 {
            return;
        }
        let report = self.live.analyze();
        let written = write_stdout(|out| match &report {
            Ok(report) => write_live(out, report, self.live_limit),
            Err(error) => write_unavailable(out, self.live.len(), error),
        });
        if let Err(error) = written {
            eprintln!("pprof-chain: warning: live view turned off: {error:#}");
            self.live_failed = true;
        }
    }
}

/// Formats a progress line such as
/// "snapshot 3/10: heap-000003.pb.gz, 1.2MB in use, 45,000 tasks".
fn progress_line(saved: &Saved<'_>) -> String {
    let position = match saved.count {
        Some(count) => format!("{}/{count}", saved.number),
        None => saved.number.to_string(),
    };
    let file = saved.entries.first().map_or("", |e| e.file.as_str());
    let mut line = format!("snapshot {position}: {file}");
    if let Some(index) = saved.heap.sample_type_index("inuse_space") {
        let bytes = saved.heap.totals()[index] as f64;
        line.push_str(&format!(", {} in use", scaled_f64(bytes, "bytes")));
    }
    if let Some(tasks) = saved.tasks {
        line.push_str(&format!(", {} tasks", group_digits(tasks)));
    }
    if let Some(goroutines) = saved.goroutines {
        line.push_str(&format!(", {} goroutines", group_digits(goroutines as f64)));
    }
    line
}

fn print_summary(outcome: &Outcome, folder: &Folder, out: &Path) {
    let total = folder
        .manifest()
        .snapshots
        .iter()
        .filter(|e| e.kind == "heap")
        .count();
    let out = out.display();
    if outcome.saved == 0 {
        eprintln!("pprof-chain: stopped before the first snapshot; nothing was saved in {out}");
        return;
    }
    let ended = if outcome.interrupted {
        "stopped by Ctrl-C after"
    } else {
        "recorded"
    };
    eprintln!(
        "pprof-chain: {ended} {} in {out} ({total} in the folder); \
         see what grows with: pprof-chain trend {out}",
        plural(outcome.saved, "snapshot")
    );
}

/// Formats a count with its noun: "1 snapshot", "3 snapshots".
fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
