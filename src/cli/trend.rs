//! `pprof-chain trend SNAPSHOT...`.

use anyhow::{bail, Result};

use super::args::{TrendArgs, TrendFormat};
use super::snapshots::{check_kind, choose_axis, expand_inputs, read_reduced, sort_by_axis};
use super::{granularity, read_options, write_report, ReportFormat};
use crate::analysis::growth::analyze;
use crate::render::report::ReportOptions;

pub(super) fn run(args: TrendArgs) -> Result<()> {
    if !(args.project.is_finite() && args.project > 0.0) {
        bail!(
            "invalid --project {}: use a task count above 0",
            args.project
        );
    }
    let input = expand_inputs(&args.snapshots, args.kind.as_deref().unwrap_or("heap"))?;
    let paths = &input.paths;
    if paths.len() < 2 {
        bail!(
            "trend needs at least two snapshots, got {}; give more files or a folder",
            paths.len()
        );
    }
    let mut reduced = read_reduced(paths, &read_options(&args.read), granularity(args.lines))?;
    if let Some(kind) = &args.kind {
        check_kind(&reduced, kind)?;
    }
    let mut axis = choose_axis(
        &input,
        args.tasks.as_deref(),
        args.tasks_from_names,
        &reduced,
    )?;
    if sort_by_axis(&mut reduced, &mut axis) {
        let order = if axis.per_task() {
            "task count"
        } else {
            "time"
        };
        eprintln!("pprof-chain: note: snapshots put in order of {order}");
    }
    let analysis = analyze(&reduced, axis)?;
    let format = match args.format {
        TrendFormat::Table => ReportFormat::Table,
        TrendFormat::Json => ReportFormat::Json,
        TrendFormat::Dot => ReportFormat::Dot,
    };
    let options = ReportOptions {
        command: "trend",
        limit: args.limit,
        projection_tasks: args.project,
    };
    write_report(&analysis, &options, format)
}
