//! `pprof-chain diff BEFORE AFTER`.

use anyhow::{bail, Result};

use super::args::{DiffArgs, Format};
use super::snapshots::{axis_from_names, axis_from_option, read_reduced};
use super::{granularity, read_options, write_report, ReportFormat};
use crate::analysis::growth::{analyze, Axis, AxisSource, Reduced};
use crate::model::ProfileKind;
use crate::render::report::ReportOptions;

pub(super) fn run(args: DiffArgs) -> Result<()> {
    if !(args.project.is_finite() && args.project > 0.0) {
        bail!(
            "invalid --project {}: use a task count above 0",
            args.project
        );
    }
    let paths = vec![args.before.clone(), args.after.clone()];
    if args.before == args.after {
        bail!(
            "{}: BEFORE and AFTER are the same file; give two snapshots",
            args.before.display()
        );
    }
    let axis = match (&args.tasks, args.tasks_from_names) {
        (Some(values), _) => axis_from_option(values, 2)?,
        (None, true) => axis_from_names(&paths)?,
        (None, false) => Axis {
            source: AxisSource::Order,
            values: vec![0.0, 1.0],
        },
    };
    let reduced = read_reduced(&paths, &read_options(&args.read), granularity(args.lines))?;
    if reduced[0].kind != ProfileKind::Heap && reduced[0].kind == reduced[1].kind {
        eprintln!(
            "pprof-chain: note: {} is a {} profile; diff is made for heap profiles",
            reduced[0].name, reduced[0].kind
        );
    }
    check_order(&reduced, &axis)?;
    let analysis = analyze(&reduced, axis)?;
    let format = match args.format {
        Format::Table => ReportFormat::Table,
        Format::Json => ReportFormat::Json,
    };
    let options = ReportOptions {
        command: "diff",
        limit: args.limit,
        projection_tasks: args.project,
    };
    write_report(&analysis, &options, format)
}

/// Rejects a pair given newest first: by task counts when known, else by the
/// profiles' timestamps.
fn check_order(reduced: &[Reduced], axis: &Axis) -> Result<()> {
    let (before, after) = (&reduced[0], &reduced[1]);
    // Profiles of two kinds are rejected by the analysis, with a message
    // that names both kinds; their order means nothing.
    if before.kind != after.kind {
        return Ok(());
    }
    if axis.source != AxisSource::Order {
        if axis.values[1] < axis.values[0] {
            bail!(
                "{} has fewer tasks ({}) than {} ({}); give the older snapshot first",
                after.name,
                axis.values[1],
                before.name,
                axis.values[0]
            );
        }
        return Ok(());
    }
    if before.time_nanos != 0 && after.time_nanos != 0 && after.time_nanos < before.time_nanos {
        bail!(
            "{} was written before {} (profile timestamps); give the older snapshot first",
            after.name,
            before.name
        );
    }
    Ok(())
}
