//! `pprof-chain flamegraph`: an SVG flamegraph or collapsed stacks of one
//! profile, of the change between two snapshots, or of the growth rate of each
//! stack across a series of snapshots.
//!
//! This module checks the arguments and picks the graph. `profile` draws one
//! profile or a diff, `series` reads a snapshot series, and `growth` draws its
//! growth rates.

mod args;
mod growth;
mod profile;
mod series;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::output::{Output, Rejections};
use super::snapshots::{axis_from_names, axis_from_option, expand_inputs};
use crate::analysis::growth::{Axis, AxisSource};
pub use args::FlamegraphArgs;
use growth::draw_growth;
use profile::{draw_diff, draw_profile};

/// Messages for an output path (-o) that is an input or a directory.
const REJECTIONS: Rejections = Rejections {
    is_input: "the output path is an input profile; give -o another file name",
    is_directory: "the output path is a directory; give -o a file name",
};

/// The profiles to draw, after the arguments are checked.
enum Inputs {
    One(PathBuf),
    Two {
        before: PathBuf,
        after: PathBuf,
        tasks: Option<Axis>,
    },
    /// A snapshot series. Without an axis, the axis comes from the profiles'
    /// timestamps once they are read.
    Series {
        paths: Vec<PathBuf>,
        axis: Option<Axis>,
    },
}

pub(super) fn run(args: FlamegraphArgs) -> Result<()> {
    let inputs = check_inputs(&args)?;
    let input_paths: Vec<&Path> = match &inputs {
        Inputs::One(path) => vec![path],
        Inputs::Two { before, after, .. } => vec![before, after],
        Inputs::Series { paths, .. } => paths.iter().map(PathBuf::as_path).collect(),
    };
    let output = Output::create(&args.output, &input_paths, &REJECTIONS)?;
    match inputs {
        Inputs::One(path) => draw_profile(&args, &path, output),
        Inputs::Two {
            before,
            after,
            tasks,
        } => draw_diff(&args, [&before, &after], tasks.as_ref(), output),
        Inputs::Series { paths, axis } => draw_growth(&args, &paths, axis, output),
    }
}

fn check_inputs(args: &FlamegraphArgs) -> Result<Inputs> {
    if !(0.0..100.0).contains(&args.min_width) {
        bail!(
            "invalid --min-width {}: use a percentage from 0 up to 100",
            args.min_width
        );
    }

    if let Some(snapshots) = &args.growth {
        return check_series(args, snapshots);
    }
    if args.kind.is_some() || args.min_growth.is_some() || args.all_growing {
        bail!(
            "--kind, --min-growth and --all-growing apply to a growth graph; \
             use them with --growth SNAPSHOT..."
        );
    }

    // Checked here because clap skips `requires = "diff"` when PROFILE, which
    // conflicts with --diff, is present.
    let per_task = args.tasks.is_some() || args.tasks_from_names;
    let (before, after) = match (&args.file, args.diff.as_deref()) {
        (Some(_), None) if per_task => {
            bail!(
                "--tasks and --tasks-from-names apply to a diff or a growth graph; \
                 use them with --diff BEFORE AFTER or --growth SNAPSHOT..."
            )
        }
        (Some(file), None) => return Ok(Inputs::One(file.clone())),
        (None, Some([before, after])) => (before.clone(), after.clone()),
        _ => bail!("give one PROFILE, or --diff BEFORE AFTER"),
    };
    if before == after {
        bail!(
            "{}: BEFORE and AFTER are the same file; give two snapshots",
            before.display()
        );
    }
    let tasks = task_counts(args, &before, &after)?;
    Ok(Inputs::Two {
        before,
        after,
        tasks,
    })
}

/// Reads the task counts of a diff from --tasks or the file names, if given.
fn task_counts(args: &FlamegraphArgs, before: &Path, after: &Path) -> Result<Option<Axis>> {
    let axis = match (&args.tasks, args.tasks_from_names) {
        (Some(values), _) => axis_from_option(values, 2)?,
        (None, true) => axis_from_names(&[before.to_path_buf(), after.to_path_buf()])?,
        (None, false) => return Ok(None),
    };
    if axis.span() <= 0.0 {
        bail!(
            "task counts must grow from BEFORE to AFTER to give a change per task, \
             but {} has {} and {} has {} ({}); give the older snapshot first",
            before.display(),
            axis.values[0],
            after.display(),
            axis.values[1],
            axis.describe()
        );
    }
    Ok(Some(axis))
}

/// Expands the snapshots of --growth and reads their task counts, when given,
/// so that a bad option fails before any profile is read.
fn check_series(args: &FlamegraphArgs, snapshots: &[PathBuf]) -> Result<Inputs> {
    if let Some(min) = args.min_growth {
        if !(min.is_finite() && min >= 0.0) {
            bail!("invalid --min-growth {min}: use an amount of 0 or more");
        }
    }
    let input = expand_inputs(snapshots, args.kind.as_deref().unwrap_or("heap"))?;
    let count = input.paths.len();
    if count < 2 {
        bail!("--growth needs at least two snapshots, got {count}; give more files or a folder");
    }
    let axis = match (&args.tasks, args.tasks_from_names, input.manifest_tasks) {
        (Some(values), _, _) => Some(axis_from_option(values, count)?),
        (None, true, _) => Some(axis_from_names(&input.paths)?),
        (None, false, Some(values)) => Some(Axis {
            source: AxisSource::Manifest,
            values,
        }),
        (None, false, None) => None,
    };
    if let Some(axis) = &axis {
        check_axis(axis)?;
    }
    Ok(Inputs::Series {
        paths: input.paths,
        axis,
    })
}

pub(super) fn check_axis(axis: &Axis) -> Result<()> {
    if axis.values.iter().all(|x| *x == axis.values[0]) {
        bail!(
            "the snapshots' x values are all {} ({}), so no growth rate can be measured; \
             give task counts that differ with --tasks",
            axis.values[0],
            axis.describe()
        );
    }
    Ok(())
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}
