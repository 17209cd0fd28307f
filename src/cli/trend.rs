//! `pprof-chain trend SNAPSHOT...`.

use anyhow::{bail, Result};

use super::args::{TrendArgs, TrendFormat};
use super::snapshots::{choose_axis, expand_inputs, read_reduced};
use super::{granularity, read_options, write_stdout};
use crate::analysis::growth::analyze;
use crate::diagnosis::{diagnose, Options};
use crate::render::report::{self, ReportOptions};

pub(super) fn run(args: TrendArgs) -> Result<()> {
    if !(args.project.is_finite() && args.project > 0.0) {
        bail!(
            "invalid --project {}: use a task count above 0",
            args.project
        );
    }
    let input = expand_inputs(&args.snapshots, &args.kind)?;
    let paths = &input.paths;
    if paths.len() < 2 {
        bail!(
            "trend needs at least two snapshots, got {}; give more files or a folder",
            paths.len()
        );
    }
    let reduced = read_reduced(paths, &read_options(&args.read), granularity(args.lines))?;
    let axis = choose_axis(
        &input,
        args.tasks.as_deref(),
        args.tasks_from_names,
        &reduced,
    )?;
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
