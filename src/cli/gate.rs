//! `pprof-chain gate SNAPSHOT...`: pass or fail a run of heap snapshots.
//!
//! Exit status 0 when every rule passes, 1 when a rule is broken, 2 on a
//! usage or input error (through `main`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use std::process::ExitCode;

use super::args::ReadArgs;
use super::output::{same_file, OutputFile, Rejections};
use super::snapshots::{
    axis_from_names, axis_from_option, choose_axis, expand_inputs, read_reduced, SeriesInput,
};
use super::{read_options, write_stdout};
use crate::analysis::growth::{analyze, Analysis, Reduced};
use crate::analysis::sites::Granularity;
use crate::decode::ReadOptions;
use crate::diagnosis::{diagnose, Options};
use crate::gate::allow::{Allowlist, Pattern};
use crate::gate::config::{self, parse_bytes, parse_non_negative, FileSettings, GateConfig};
use crate::gate::output::{self, junit, markdown, table};
use crate::gate::summary::Summary;
use crate::gate::{evaluate, Baseline, Limits, Report, Run, Settings};
use crate::gate::{DEFAULT_MIN_INUSE_INCREASE, DEFAULT_TOLERANCE_PERCENT};

const DECISION: &str = "\
How the gate decides:
  Within the run, the diagnosis of `trend` finds the memory each owner keeps
  per task. Only findings with a leak verdict (linear or faster growth) are
  judged: bounded growth that levels off and changes within sampling noise
  pass. A leak verdict needs a change of at least 3 standard errors of Go's
  heap sampling and, with three or more snapshots, a Theil-Sen slope whose
  95% interval excludes zero. A finding then breaks a limit only when the
  lower end of its 95% interval is above the limit: the interval is the
  wider of Sen's interval and the slope plus or minus 1.96 sampling standard
  errors. Every chain of wrappers (context.WithValue, fmt.Errorf, logger
  With ...) breaks the chain rule whatever its size.

  Against a baseline, sites are matched by function name, never by line.
  The sites of this run's leaks break baseline-bytes-per-task when the lower
  end of their growth per task is above the baseline's growth plus the
  tolerance and above the upper end of the baseline's interval. Every site
  breaks baseline-inuse when its in-use bytes at the last snapshot exceed
  the baseline's by more than the tolerance, --min-inuse-increase, and 3
  sampling standard errors of both runs; this rule needs both runs to end at
  the same task count.

  Use three or more snapshots: with two, only the sampling error is known.

Settings come from flags, then the [gate] table of the configuration file,
then the defaults. --allow patterns from both are used.

Exit status: 0 when every rule passes, 1 when a rule is broken, 2 on a usage
or input error (including a damaged profile).";

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when every rule passes, 1 when a rule is broken, 2 on a usage \
        or input error. --help tells how the gate decides.",
    after_long_help = DECISION
)]
pub struct GateArgs {
    /// Heap snapshots of one run in the order they were taken, or a folder
    /// holding them
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<PathBuf>,
    /// Tasks handled when each snapshot was taken, comma-separated, one per
    /// snapshot [default: from the folder's recording manifest, else the last
    /// number in each file name, as in heap-012000.pb.gz]
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', num_args = 1)]
    pub tasks: Option<Vec<f64>>,
    /// Fail when a leak retains more than SIZE bytes per task, summed over
    /// its sites (suffixes K, M, G; fractions allowed) [default: 0 when no
    /// --max-* limit is set, so every confirmed leak fails]
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub max_bytes_per_task: Option<f64>,
    /// Fail when a leak retains more than N objects per task
    #[arg(long, value_name = "N", value_parser = parse_non_negative)]
    pub max_objects_per_task: Option<f64>,
    /// Fail when a leak grows the in-use heap by more than PERCENT of its size
    /// at the first snapshot over the run
    #[arg(long, value_name = "PERCENT", value_parser = parse_non_negative)]
    pub max_growth_percent: Option<f64>,
    /// Compare with a baseline: a file written by --write-baseline, or a folder
    /// of an earlier run's snapshots
    #[arg(long, value_name = "FILE|DIR")]
    pub baseline: Option<PathBuf>,
    /// Write this run's per-site summary to FILE, for a later --baseline
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// How far a site may grow beyond the baseline, in percent of the
    /// baseline's value [default: 10]
    #[arg(long, value_name = "PERCENT", value_parser = parse_non_negative)]
    pub tolerance_percent: Option<f64>,
    /// Smallest increase of a site's in-use bytes over the baseline that can
    /// fail [default: 1M]
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub min_inuse_increase: Option<f64>,
    /// Leave out memory whose allocating function (site) or owner (the
    /// function that keeps it) matches GLOB. `*` matches any characters and
    /// `?` matches one. Repeat the option for more patterns
    #[arg(long, value_name = "GLOB")]
    pub allow: Vec<String>,
    /// Read settings from the [gate] table of FILE [default: pprof-chain.toml
    /// in the current directory, when present]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore pprof-chain.toml in the current directory
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = GateFormat::Table)]
    pub format: GateFormat,
    /// Write the report to FILE (replaced atomically) instead of standard
    /// output. The exit status still reports pass or fail
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormat {
    /// A table for people
    Table,
    /// JSON for programs
    Json,
    /// GitHub-flavoured Markdown for a CI job summary or a pull-request comment
    Markdown,
    /// JUnit XML: one test case per rule, a failure per broken rule
    Junit,
}

pub(super) fn run(args: GateArgs) -> Result<ExitCode> {
    let (settings, baseline_path) = settings(&args, load_config(&args)?)?;
    let input = expand_inputs(&args.snapshots, "heap")?;
    let report_file = create_output(args.output.as_deref(), &input, &args)?;
    let baseline_file = create_output(args.write_baseline.as_deref(), &input, &args)?;

    let read = read_options(&args.read);
    let current = read_run(input, args.tasks.as_deref(), &read, "run")?;
    let baseline = match baseline_path {
        Some(path) => Some(load_baseline(&path, &read)?),
        None => None,
    };
    if let Some(destination) = baseline_file {
        let summary = Summary::build(
            &current.reduced,
            &current.analysis.axis,
            current.sample_period,
            |_| true,
        )?;
        destination.write(|out| summary.write(out))?;
    }
    let findings = diagnose(&current.analysis, &Options::default());
    let run = Run {
        reduced: &current.reduced,
        analysis: &current.analysis,
        findings: &findings,
        sample_period: current.sample_period,
    };
    let report = evaluate(&run, baseline.as_ref(), &settings)?;

    let format = args.format;
    let write = |out: &mut dyn Write| write_report(out, format, &report);
    match report_file {
        Some(destination) => {
            let path = destination.path().display().to_string();
            destination.write(write)?;
            eprintln!(
                "pprof-chain gate: {}; report written to {path}",
                output::outcome(&report)
            );
        }
        None => write_stdout(write)?,
    }
    if report.passed {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

/// Messages for an output path (-o or --write-baseline) that is an input or a
/// folder.
const REJECTIONS: Rejections = Rejections {
    is_input: "the output path is an input; give another file name",
    is_directory: "the output path is a folder; give a file name",
};

/// Checks an output path (-o or --write-baseline) before any profile is
/// read: it must not be an input snapshot or the other output.
fn create_output(
    path: Option<&Path>,
    input: &SeriesInput,
    args: &GateArgs,
) -> Result<Option<OutputFile>> {
    let Some(path) = path else {
        return Ok(None);
    };
    if let (Some(report), Some(baseline)) = (&args.output, &args.write_baseline) {
        if same_file(report, baseline) {
            bail!(
                "{}: -o and --write-baseline name the same file; give two file names",
                path.display()
            );
        }
    }
    let mut inputs: Vec<&Path> = input.paths.iter().map(PathBuf::as_path).collect();
    inputs.extend(args.snapshots.iter().map(PathBuf::as_path));
    OutputFile::create(path, &inputs, &REJECTIONS).map(Some)
}

fn write_report(out: &mut dyn Write, format: GateFormat, report: &Report) -> io::Result<()> {
    match format {
        GateFormat::Table => table::write_table(out, report),
        GateFormat::Json => output::write_json(out, report),
        GateFormat::Markdown => markdown::write_markdown(out, report),
        GateFormat::Junit => junit::write_junit(out, report),
    }
}

/// Loads the configuration file and returns it with its path: --config,
/// else pprof-chain.toml in the current directory when it exists.
fn load_config(args: &GateArgs) -> Result<Option<(PathBuf, GateConfig)>> {
    if args.no_config {
        return Ok(None);
    }
    let path = match &args.config {
        Some(path) => path.clone(),
        None => {
            let default = PathBuf::from(config::DEFAULT_FILE);
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    let config = config::load(&path)?;
    Ok(Some((path, config)))
}

/// Merges flags over the configuration file over the defaults, and returns
/// the settings and the baseline to read.
fn settings(
    args: &GateArgs,
    config: Option<(PathBuf, GateConfig)>,
) -> Result<(Settings, Option<PathBuf>)> {
    let file = match &config {
        Some((path, config)) => {
            let checked = config.settings();
            checked.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => FileSettings::default(),
    };
    let limits = Limits {
        max_bytes_per_task: args.max_bytes_per_task.or(file.limits.max_bytes_per_task),
        max_objects_per_task: args
            .max_objects_per_task
            .or(file.limits.max_objects_per_task),
        max_growth_percent: args.max_growth_percent.or(file.limits.max_growth_percent),
    };
    let mut patterns = file.allow;
    for text in &args.allow {
        patterns.push(Pattern::new(text).map_err(anyhow::Error::msg)?);
    }
    let settings = Settings {
        limits: limits.or_default(),
        tolerance_percent: args
            .tolerance_percent
            .or(file.tolerance_percent)
            .unwrap_or(DEFAULT_TOLERANCE_PERCENT),
        min_inuse_increase: args
            .min_inuse_increase
            .or(file.min_inuse_increase)
            .unwrap_or(DEFAULT_MIN_INUSE_INCREASE),
        allow: Allowlist::new(patterns),
    };
    let baseline = args
        .baseline
        .clone()
        .or(config.and_then(|(_, c)| c.baseline));
    Ok((settings, baseline))
}

/// One run read and analysed.
struct RunData {
    reduced: Vec<Reduced>,
    analysis: Analysis,
    /// Average bytes between heap samples; 1 when every allocation was
    /// recorded.
    sample_period: f64,
}

/// Reads and analyses the snapshots of one run; task counts come from
/// `tasks`, else the recording manifest, else the file names.
fn read_run(
    input: SeriesInput,
    tasks: Option<&[f64]>,
    read: &ReadOptions,
    role: &str,
) -> Result<RunData> {
    if input.paths.len() < 2 {
        bail!(
            "the gate needs at least two snapshots of the {role}, got {}; give more files or a folder",
            input.paths.len()
        );
    }
    let reduced = read_reduced(&input.paths, read, Granularity::Functions)?;
    let axis = match (tasks, &input.manifest_tasks) {
        (Some(values), _) => axis_from_option(values, input.paths.len())?,
        (None, Some(_)) => choose_axis(&input, None, false, &reduced)?,
        (None, None) if input.from_manifest => bail!(
            "the recording manifest has no task counts (record with --tasks-metric), and the \
             numbers in recorded file names count snapshots, not tasks; give --tasks"
        ),
        (None, None) => axis_from_names(&input.paths).context(
            "the gate needs task counts: give --tasks, name the files after the task count \
             (heap-012000.pb.gz), or write a recording manifest",
        )?,
    };
    let analysis = analyze(&reduced, axis)?;
    if analysis.heap.inuse_space.is_none() || analysis.heap.inuse_objects.is_none() {
        bail!(
            "{} is a {} profile without in-use sample types; the gate judges heap profiles",
            analysis.names[0],
            analysis.kind
        );
    }
    let sample_period = sample_period(&reduced);
    Ok(RunData {
        reduced,
        analysis,
        sample_period,
    })
}

/// Reads `--baseline`: a summary file, or a folder of snapshots whose task
/// counts come from its manifest or its file names.
fn load_baseline(path: &Path, read: &ReadOptions) -> Result<Baseline> {
    let summary = if path.is_dir() {
        let context = || format!("{}: failed to read the baseline folder", path.display());
        let input = expand_inputs(&[path.to_path_buf()], "heap").with_context(context)?;
        let run = read_run(input, None, read, "baseline").with_context(context)?;
        Summary::build(&run.reduced, &run.analysis.axis, run.sample_period, |_| {
            true
        })?
    } else {
        Summary::read(path)?
    };
    Ok(Baseline {
        source: path.display().to_string(),
        summary,
    })
}

/// Average bytes between heap samples of the run, from its last snapshot;
/// 1 when every allocation was recorded.
fn sample_period(reduced: &[Reduced]) -> f64 {
    let Some(last) = reduced.last() else {
        return 1.0;
    };
    let by_space = last.period_type.as_deref() == Some("space");
    if by_space && last.period > 1 {
        last.period as f64
    } else {
        1.0
    }
}
