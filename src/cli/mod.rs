//! The command-line adapter: turns parsed arguments into engine options, runs
//! the command and writes its output. All errors reach `main` as
//! [`anyhow::Error`] and end the process with exit status 2.

pub mod args;
mod diff;
pub mod flamegraph;
pub mod gate;
mod output;
pub mod record;
mod snapshots;
mod trend;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::analysis::growth::Analysis;
use crate::analysis::sites::{aggregate, Granularity};
use crate::analysis::top::{top, TopOptions};
use crate::decode::{read_file, ReadOptions};
use crate::diagnosis::{diagnose, Options};
use crate::model::Profile;
use crate::render;
use crate::render::report::ReportOptions;
use args::{Cli, Command, Format, ReadArgs, TopArgs};

/// Runs a command. The exit status is 0, or 1 when `gate` finds a
/// regression; errors become status 2 in `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let done = match cli.command {
        Command::Gate(args) => return gate::run(args),
        Command::Top(args) => run_top(args),
        Command::Diff(args) => diff::run(args),
        Command::Trend(args) => trend::run(args),
        Command::Record(args) => record::run(args),
        Command::Flamegraph(args) => flamegraph::run(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

pub(crate) fn read_options(args: &ReadArgs) -> ReadOptions {
    ReadOptions {
        max_profile_bytes: args.max_profile_bytes,
    }
}

pub(crate) fn granularity(lines: bool) -> Granularity {
    if lines {
        Granularity::Lines
    } else {
        Granularity::Functions
    }
}

/// Resolves `--sample` (a name or an index) to a sample type index.
pub(crate) fn sample_index(profile: &Profile, file: &Path, sample: Option<&str>) -> Result<usize> {
    let Some(sample) = sample else {
        return Ok(profile.default_sample_index());
    };
    if let Some(index) = profile.sample_type_index(sample) {
        return Ok(index);
    }
    if let Ok(index) = sample.parse::<usize>() {
        if index < profile.sample_types.len() {
            return Ok(index);
        }
    }
    bail!(
        "{}: sample type {sample:?} not found; the profile has {} (or give an index from 0 to {})",
        file.display(),
        profile.sample_type_names().join(", "),
        profile.sample_types.len().saturating_sub(1)
    )
}

fn run_top(args: TopArgs) -> Result<()> {
    if !(0.0..1.0).contains(&args.node_fraction) {
        bail!(
            "invalid --node-fraction {}: use a value from 0 up to 1",
            args.node_fraction
        );
    }
    let profile = read_file(&args.file, &read_options(&args.read))?;
    let index = sample_index(&profile, &args.file, args.sample.as_deref())?;
    let table = aggregate(&profile, granularity(args.lines));
    let options = TopOptions {
        node_fraction: args.node_fraction,
        limit: args.limit,
    };
    let name = profile.sample_type_names()[index].to_string();
    let report = top(&table, index, &name, profile.sample_unit(index), &options);
    let file = args.file.display().to_string();
    write_stdout(|out| match args.format {
        Format::Table => render::top::write_table(out, &file, &report),
        Format::Json => render::top::write_json(out, &file, &report),
    })
}

/// Output of `diff` and `trend`.
pub(crate) enum ReportFormat {
    Table,
    Json,
    Dot,
}

/// Diagnoses an analysis and writes the report of `diff` or `trend` to
/// stdout.
pub(crate) fn write_report(
    analysis: &Analysis,
    options: &ReportOptions,
    format: ReportFormat,
) -> Result<()> {
    let diagnosis = Options {
        projection_tasks: options.projection_tasks,
    };
    let findings = diagnose(analysis, &diagnosis);
    write_stdout(|out| match format {
        ReportFormat::Table => render::report::write_table(out, analysis, &findings, options),
        ReportFormat::Json => render::report::write_json(out, analysis, &findings, options),
        ReportFormat::Dot => render::dot::write_dot(out, analysis, &findings),
    })
}

/// Runs `write` on a buffered stdout. A closed pipe (`| head`) is success.
pub(crate) fn write_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = write(&mut out).and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
