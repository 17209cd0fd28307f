//! `pprof-chain trend SNAPSHOT...`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::args::{TrendArgs, TrendFormat};
use super::snapshots::{axis_from_names, axis_from_option, axis_from_timestamps, read_reduced};
use super::{granularity, read_options, write_stdout};
use crate::analysis::growth::analyze;
use crate::diagnosis::{diagnose, Options};
use crate::render::report::{self, ReportOptions};

/// File name endings read from a folder.
const PROFILE_SUFFIXES: [&str; 5] = [".pb.gz", ".pb", ".pprof", ".prof", ".gz"];

pub(super) fn run(args: TrendArgs) -> Result<()> {
    if !(args.project.is_finite() && args.project > 0.0) {
        bail!("invalid --project {}: use a task count above 0", args.project);
    }
    let paths = expand_folders(&args.snapshots)?;
    if paths.len() < 2 {
        bail!(
            "trend needs at least two snapshots, got {}; give more files or a folder",
            paths.len()
        );
    }
    let reduced = read_reduced(&paths, &read_options(&args.read), granularity(args.lines))?;
    let axis = match (&args.tasks, args.tasks_from_names) {
        (Some(values), _) => axis_from_option(values, paths.len())?,
        (None, true) => axis_from_names(&paths)?,
        (None, false) => axis_from_timestamps(&reduced)?,
    };
    let analysis = analyze(&reduced, axis)?;
    let options = Options {
        projection_tasks: args.project,
    };
    let findings = diagnose(&analysis, &options);
    let report_options = ReportOptions {
        command: "trend",
        limit: args.limit,
        projection_tasks: args.project,
    };
    write_stdout(|out| match args.format {
        TrendFormat::Table => report::write_table(out, &analysis, &findings, &report_options),
        TrendFormat::Json => report::write_json(out, &analysis, &findings, &report_options),
        TrendFormat::Dot => crate::render::dot::write_dot(out, &analysis, &findings),
    })
}

/// Replaces each folder by the profiles in it, sorted by name.
fn expand_folders(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            paths.push(input.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(input)
            .with_context(|| format!("{}: cannot list the folder", input.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                path.is_file()
                    && name.is_some_and(|n| PROFILE_SUFFIXES.iter().any(|s| n.ends_with(s)))
            })
            .collect();
        if found.is_empty() {
            bail!(
                "{}: no profiles in the folder (looked for names ending in {})",
                input.display(),
                PROFILE_SUFFIXES.join(", ")
            );
        }
        found.sort();
        paths.extend(found);
    }
    Ok(paths)
}
