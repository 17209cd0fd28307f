//! `pprof-chain flamegraph`: an SVG flamegraph or collapsed stacks of one
//! profile, of the change between two snapshots, or of the growth rate of each
//! stack across a series of snapshots.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use tempfile::NamedTempFile;

use super::args::ReadArgs;
use super::snapshots::{axis_from_names, axis_from_option, axis_from_timestamps, expand_inputs};
use super::{read_options, sample_index, write_stdout};
use crate::analysis::fit::fit;
use crate::analysis::growth::{Axis, AxisSource, Reduced};
use crate::decode::{read_file, ReadOptions};
use crate::flame::{
    self, Stack, StackGrowth, StackSeries, SvgOptions, SvgSummary, DEFAULT_MIN_WIDTH,
};
use crate::model::{Profile, ProfileKind};
use crate::render::units::scaled;

#[derive(Debug, Args)]
#[command(after_help = "\
Frames are stacked root at the bottom. Functions that the compiler inlined are \
frames of their own. In an SVG their names start with \"(inline) \", so that a \
label cut to fit a narrow box keeps the function name, and in a single-profile \
graph they are drawn in blue-green (in a diff, colour shows the change). \
Collapsed stacks mark them with the suffix \" (inline)\", as go tool pprof does.

--growth fits a Theil-Sen line (the median of the slopes between all pairs of \
snapshots) to each stack's value across the snapshots, counting a stack that \
is absent from a snapshot as 0 there. A stack is drawn when its slope is \
positive (above --min-growth if given) and grows steadily: the confidence \
interval of about 95% of the slope (Sen's method) lies above 0. A one-time \
step, such as a runtime structure allocated once, or growth that stopped \
fails that test; --all-growing draws those stacks too. With two snapshots every \
positive slope passes, and with three every pairwise slope must be positive. \
The widest tower is the stack that grows fastest. Tooltips give each frame's \
growth per task (or per second) and its share of all growth drawn. The \
subtitle counts the stacks left out as not steady. --folded writes the slope \
of each drawn stack. Task counts come from --tasks, --tasks-from-names or a recording \
manifest in the folder. Without them growth is per second between the \
profiles' timestamps. When no stack is drawn, the SVG shows only a title and \
a message, --folded writes nothing, and the exit status is 0.

Frame names drop the folders of the import path (github.com/prometheus/common/\
expfmt.NewEncoder is drawn as expfmt.NewEncoder) unless two functions in the \
graph would then share a name; the tooltip of a frame shows the same name with \
its value and share of the total. --full-names keeps the whole path. Collapsed \
stacks (--folded) always have full names.

The output is written to a temporary file in the same folder and renamed over \
PATH when complete, so a failed run leaves no partial file.")]
pub struct FlamegraphArgs {
    /// Profile to draw (gzipped or plain pprof protobuf)
    #[arg(
        value_name = "PROFILE",
        required_unless_present_any = ["diff", "growth"],
        conflicts_with_all = ["diff", "growth"]
    )]
    pub file: Option<PathBuf>,
    /// Draw the change from BEFORE to AFTER: frame widths show AFTER, red
    /// frames grew and blue frames shrank
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"], conflicts_with = "growth")]
    pub diff: Option<Vec<PathBuf>>,
    /// Draw the growth rate of each stack across snapshots in the order they
    /// were taken, or across the profiles in one folder (read in file-name
    /// order). Frame widths are growth per task, or per second without task
    /// counts. Only stacks that grow are drawn
    #[arg(long, num_args = 1.., value_name = "SNAPSHOT")]
    pub growth: Option<Vec<PathBuf>>,
    /// File to write, replaced if it exists; `-` writes to standard output
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: PathBuf,
    /// Sample type to draw, by name (inuse_space, alloc_objects...) or index;
    /// default: the profile's default, as go tool pprof chooses it
    #[arg(long, short = 's', value_name = "TYPE")]
    pub sample: Option<String>,
    /// Write collapsed stacks (`root;...;leaf value`, `stack before after`
    /// with --diff, `stack growth` with --growth) instead of SVG, for
    /// flamegraph.pl, inferno or speedscope
    #[arg(long)]
    pub folded: bool,
    /// With --diff or --growth: tasks handled when each snapshot was taken,
    /// comma-separated, one per snapshot (2000,12000 for a diff). A diff's
    /// title then gives the change per task, and its --folded values are
    /// divided by the tasks handled between the snapshots
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', num_args = 1)]
    pub tasks: Option<Vec<f64>>,
    /// With --diff or --growth: read the task counts from the last number in
    /// each file name (heap-012000.pb.gz handled 12000 tasks)
    #[arg(long, conflicts_with = "tasks")]
    pub tasks_from_names: bool,
    /// With --growth: in a folder with several kinds of profile (heap-*,
    /// goroutine-*, or a recording manifest), read this kind [default: heap]
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// With --growth: draw only stacks that grow by more than this per task
    /// (per second without task counts), in the unit of the sample type:
    /// bytes for inuse_space, objects for inuse_objects [default: 0]
    #[arg(long, value_name = "AMOUNT")]
    pub min_growth: Option<f64>,
    /// With --growth: also draw stacks whose slope is positive but not
    /// clearly above 0, such as a one-time step or growth that stopped
    #[arg(long)]
    pub all_growing: bool,
    /// Keep the full import path in frame names
    #[arg(long)]
    pub full_names: bool,
    /// Leave out frames narrower than this percentage of the graph width
    #[arg(long, value_name = "PERCENT", default_value_t = DEFAULT_MIN_WIDTH)]
    pub min_width: f64,
    #[command(flatten)]
    pub read: ReadArgs,
}

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
    let output = Output::create(&args.output, &input_paths)?;
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
             but they are {} and {} ({})",
            axis.values[0],
            axis.values[1],
            axis.describe()
        );
    }
    Ok(Some(axis))
}

fn draw_profile(args: &FlamegraphArgs, path: &Path, output: Output) -> Result<()> {
    let profile = read_file(path, &read_options(&args.read))?;
    let index = sample_index(&profile, path, args.sample.as_deref())?;
    let stacks = flame::fold(&profile, index);

    if args.folded {
        return output.write(|out| flame::write_folded(out, &stacks));
    }

    let sample = profile.sample_type_names()[index];
    let unit = profile.sample_unit(index);
    if !stacks.iter().any(|stack| stack.value > 0.0) {
        bail!(
            "{}: no sample has a positive {sample} value, so there is nothing to draw",
            path.display()
        );
    }

    let total = profile.totals()[index];
    let options = SvgOptions {
        title: format!(
            "{}: {sample}, total {}",
            file_name(path),
            scaled(total, unit)
        ),
        subtitle: Some(names_note(args.full_names, true)),
        count_name: flame::count_name(sample, unit),
        full_names: args.full_names,
        min_width: args.min_width,
    };

    let mut summary = SvgSummary::default();
    output.write(|out| {
        summary = flame::write_svg(out, &stacks, &options)?;
        Ok(())
    })?;
    warn_negative(&summary, &[path], sample);
    Ok(())
}

fn draw_diff(
    args: &FlamegraphArgs,
    paths: [&Path; 2],
    tasks: Option<&Axis>,
    output: Output,
) -> Result<()> {
    let [before_path, after_path] = paths;
    let read = read_options(&args.read);
    let before = read_file(before_path, &read)?;
    let after = read_file(after_path, &read)?;
    check_same_kind(&before, before_path, &after, after_path)?;

    let before_index = sample_index(&before, before_path, args.sample.as_deref())?;
    let sample = before.sample_type_names()[before_index].to_string();
    let after_index = after.sample_type_index(&sample).with_context(|| {
        format!(
            "{}: sample type {sample:?} not found, but {} has it; the profile has {}",
            after_path.display(),
            before_path.display(),
            after.sample_type_names().join(", ")
        )
    })?;
    let mut stacks = flame::fold_diff(&before, before_index, &after, after_index);

    if args.folded {
        if let Some(axis) = tasks {
            flame::divide_diff(&mut stacks, axis.span());
        }
        return output.write(|out| flame::write_folded_diff(out, &stacks));
    }

    if !stacks.iter().any(|s| s.before > 0.0 || s.after > 0.0) {
        bail!(
            "{} and {}: no sample has a positive {sample} value, so there is nothing to draw",
            before_path.display(),
            after_path.display()
        );
    }

    let unit = after.sample_unit(after_index);
    let totals = [before.totals()[before_index], after.totals()[after_index]];
    let options = diff_options(args, paths, &sample, unit, totals, tasks);

    let mut summary = SvgSummary::default();
    output.write(|out| {
        summary = flame::write_diff_svg(out, &stacks, &options)?;
        Ok(())
    })?;
    warn_negative(&summary, &paths, &sample);
    Ok(())
}

fn check_same_kind(
    before: &Profile,
    before_path: &Path,
    after: &Profile,
    after_path: &Path,
) -> Result<()> {
    let (before_kind, after_kind) = (before.kind(), after.kind());
    if before_kind != after_kind {
        bail!(
            "{}: is a {after_kind} profile but {} is a {before_kind} profile; \
             a diff needs two profiles of the same kind",
            after_path.display(),
            before_path.display()
        );
    }
    Ok(())
}

/// Title and subtitle of a diff. With task counts the title gives the change
/// of the total per task. The frames keep their measured values: dividing
/// every value by the same number would change no width, colour or
/// percentage, and a frame's value divided by the task count is not its growth
/// per task.
fn diff_options(
    args: &FlamegraphArgs,
    paths: [&Path; 2],
    sample: &str,
    unit: &str,
    totals: [i64; 2],
    tasks: Option<&Axis>,
) -> SvgOptions {
    let names = format!("{} → {}", file_name(paths[0]), file_name(paths[1]));
    let change = totals[1].wrapping_sub(totals[0]) as f64;
    let sizes = format!("{} → {}", scaled(totals[0], unit), scaled(totals[1], unit));
    let colours = format!(
        "Red: own value grew, blue: shrank. Widths and tooltips: {}.",
        file_name(paths[1])
    );
    let (title, subtitle) = match tasks {
        None => (
            format!("{names}: {sample} {sizes} ({})", signed(change, unit)),
            format!("{colours} {}", names_note(args.full_names, false)),
        ),
        Some(axis) => {
            let span = axis.span();
            (
                format!(
                    "{names}: {sample} {} per task ({sizes} over {span} tasks)",
                    signed(change / span, unit)
                ),
                format!(
                    "Per task: change ÷ {span} tasks ({} → {}, {}). {colours}",
                    axis.values[0],
                    axis.values[1],
                    axis.describe()
                ),
            )
        }
    };
    SvgOptions {
        title,
        subtitle: Some(subtitle),
        count_name: flame::count_name(sample, unit),
        full_names: args.full_names,
        min_width: args.min_width,
    }
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

fn check_axis(axis: &Axis) -> Result<()> {
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

/// The folded stacks of one snapshot, valued by the chosen sample type.
struct Snapshot {
    stacks: Vec<Stack>,
    total: i64,
    time_nanos: i64,
}

/// Profile kind and sample type that every snapshot of a series shares
/// with the first.
struct SeriesShape<'a> {
    first: &'a Path,
    kind: ProfileKind,
    sample: String,
}

/// Figures of a growth graph, for its title and messages.
struct Growth {
    series: String,
    sample: String,
    unit: String,
    axis: Axis,
    snapshots: usize,
    /// Stacks with a value in at least one snapshot.
    stack_count: usize,
    /// Sum of the slopes of the stacks drawn: the width of the graph.
    drawn_rate: f64,
    /// Slope of the profile totals.
    total_rate: f64,
    /// Stacks with a positive slope left out because its confidence interval
    /// includes 0.
    unsteady: usize,
    all_growing: bool,
    min_growth: f64,
}

fn draw_growth(
    args: &FlamegraphArgs,
    paths: &[PathBuf],
    axis: Option<Axis>,
    output: Output,
) -> Result<()> {
    let (shape, unit, snapshots) = read_series(args, paths)?;
    let axis = match axis {
        Some(axis) => axis,
        None => timestamp_axis(paths, &snapshots, &shape.kind)?,
    };
    check_axis(&axis)?;

    let totals: Vec<f64> = snapshots.iter().map(|s| s.total as f64).collect();
    let mut series = StackSeries::new();
    for snapshot in snapshots {
        series.push(snapshot.stacks);
    }
    let min_growth = args.min_growth.unwrap_or(0.0);
    let (drawn, unsteady): (Vec<StackGrowth>, Vec<StackGrowth>) = series
        .slopes(&axis.values)?
        .into_iter()
        .filter(|stack| stack.slope > min_growth)
        .partition(|stack| args.all_growing || stack.grows_steadily());
    let drawn: Vec<Stack> = drawn.into_iter().map(StackGrowth::into_stack).collect();

    let growth = Growth {
        series: series_name(paths),
        sample: shape.sample,
        unit,
        total_rate: fit(&axis.values, &totals).slope,
        axis,
        snapshots: paths.len(),
        stack_count: series.stack_count(),
        drawn_rate: drawn.iter().map(|s| s.value).sum(),
        unsteady: unsteady.len(),
        all_growing: args.all_growing,
        min_growth,
    };
    write_growth(args, &drawn, &growth, output)
}

/// Reads and folds every snapshot. The first one sets the sample type, by
/// --sample or its default, and the kind of profile that the others must
/// have. Returns those with the sample unit and the folded snapshots.
fn read_series<'a>(
    args: &FlamegraphArgs,
    paths: &'a [PathBuf],
) -> Result<(SeriesShape<'a>, String, Vec<Snapshot>)> {
    let read = read_options(&args.read);
    let first = read_file(&paths[0], &read)?;
    let index = sample_index(&first, &paths[0], args.sample.as_deref())?;
    let shape = SeriesShape {
        first: &paths[0],
        kind: first.kind(),
        sample: first.sample_type_names()[index].to_string(),
    };
    let unit = first.sample_unit(index).to_string();
    let mut snapshots = vec![snapshot_of(&first, index)];
    // Only one profile is kept in memory per reading thread.
    drop(first);

    snapshots.extend(read_snapshots(&paths[1..], &read, &shape)?);
    Ok((shape, unit, snapshots))
}

fn snapshot_of(profile: &Profile, index: usize) -> Snapshot {
    Snapshot {
        stacks: flame::fold(profile, index),
        total: profile.totals()[index],
        time_nanos: profile.time_nanos,
    }
}

/// Reads and folds the snapshots after the first, using all cores. Results
/// keep the order of `paths`.
fn read_snapshots(
    paths: &[PathBuf],
    read: &ReadOptions,
    shape: &SeriesShape<'_>,
) -> Result<Vec<Snapshot>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let chunk_size = paths.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk_size)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|path| read_snapshot(path, read, shape))
                        .collect::<Result<Vec<Snapshot>>>()
                })
            })
            .collect();
        let mut snapshots = Vec::with_capacity(paths.len());
        for handle in handles {
            let chunk = handle
                .join()
                .map_err(|_| anyhow!("a thread reading the snapshots panicked"))??;
            snapshots.extend(chunk);
        }
        Ok(snapshots)
    })
}

fn read_snapshot(path: &Path, read: &ReadOptions, shape: &SeriesShape<'_>) -> Result<Snapshot> {
    let profile = read_file(path, read)?;
    let kind = profile.kind();
    if kind != shape.kind {
        bail!(
            "{}: is a {kind} profile but {} is a {} profile; \
             a growth graph needs snapshots of one kind",
            path.display(),
            shape.first.display(),
            shape.kind
        );
    }
    let index = profile.sample_type_index(&shape.sample).with_context(|| {
        format!(
            "{}: sample type {:?} not found, but {} has it; the profile has {}",
            path.display(),
            shape.sample,
            shape.first.display(),
            profile.sample_type_names().join(", ")
        )
    })?;
    Ok(snapshot_of(&profile, index))
}

/// Seconds since the first snapshot, from the profiles' timestamps.
fn timestamp_axis(paths: &[PathBuf], snapshots: &[Snapshot], kind: &ProfileKind) -> Result<Axis> {
    // NOTE: axis_from_timestamps takes reduced snapshots but reads only their
    // names and timestamps, so the other fields are left empty here.
    let stubs: Vec<Reduced> = paths
        .iter()
        .zip(snapshots)
        .map(|(path, snapshot)| Reduced {
            name: path.display().to_string(),
            kind: kind.clone(),
            measures: Vec::new(),
            time_nanos: snapshot.time_nanos,
            totals: Vec::new(),
            sites: HashMap::new(),
            paths: HashMap::new(),
        })
        .collect();
    axis_from_timestamps(&stubs)
}

/// Names a series by the folder of its snapshots, or by its first and last
/// file when they are in different folders.
fn series_name(paths: &[PathBuf]) -> String {
    let folder = paths[0].parent();
    let one_folder = paths.iter().all(|path| path.parent() == folder);
    match folder.and_then(Path::file_name) {
        Some(name) if one_folder => name.to_string_lossy().into_owned(),
        _ => format!(
            "{} … {}",
            file_name(&paths[0]),
            file_name(&paths[paths.len() - 1])
        ),
    }
}

fn write_growth(
    args: &FlamegraphArgs,
    drawn: &[Stack],
    growth: &Growth,
    output: Output,
) -> Result<()> {
    if drawn.is_empty() {
        eprintln!(
            "pprof-chain: {}: {}, so the output has no stacks",
            growth.series,
            growth.nothing_text()
        );
    }
    if args.folded {
        return output.write(|out| flame::write_folded(out, drawn));
    }

    let options = growth.svg_options(args, drawn.len());
    if drawn.is_empty() {
        let message = if growth.all_growing {
            "No stack has a positive slope."
        } else {
            "Growth counts as steady when the 95% interval of the slope lies above 0. \
             One-time steps and growth that stopped fall short of that."
        };
        return output.write(|out| flame::write_empty_svg(out, &options, message));
    }
    output.write(|out| {
        flame::write_rate_svg(out, drawn, &options, &growth.unit, growth.axis.unit())?;
        Ok(())
    })
}

impl Growth {
    fn svg_options(&self, args: &FlamegraphArgs, drawn: usize) -> SvgOptions {
        let count_name = flame::count_name(&self.sample, &self.unit);
        let per = self.axis.unit();
        let title = if drawn == 0 {
            format!(
                "{}: {} across {} snapshots",
                self.series,
                self.nothing_text(),
                self.snapshots
            )
        } else {
            format!(
                "{}: {} grows {} ({drawn} of {} stacks)",
                self.series,
                self.sample,
                flame::rate_text(self.drawn_rate, &self.unit, &count_name, per),
                self.stack_count
            )
        };
        // The subtitle is one line of about 160 characters at most in a
        // window 1200 pixels wide, so --help explains the rest.
        let values = &self.axis.values;
        let subtitle = format!(
            "{} snapshots, {} → {} {per}s ({}). Profile total {}.{}",
            self.snapshots,
            axis_value(values[0]),
            axis_value(values[values.len() - 1]),
            axis_source(&self.axis),
            self.signed_rate(self.total_rate, &count_name),
            self.left_out_text()
        );
        SvgOptions {
            title,
            subtitle: Some(subtitle),
            count_name,
            full_names: args.full_names,
            min_width: args.min_width,
        }
    }

    /// Formats a rate with an explicit sign: "+64.06B per task".
    fn signed_rate(&self, rate: f64, count_name: &str) -> String {
        let text = flame::rate_text(rate, &self.unit, count_name, self.axis.unit());
        if rate > 0.0 {
            format!("+{text}")
        } else {
            text
        }
    }

    /// Why nothing is drawn: "no stack grows steadily in inuse_space".
    fn nothing_text(&self) -> String {
        let steadily = if self.all_growing { "" } else { " steadily" };
        format!(
            "no stack grows{steadily} in {}{}",
            self.sample,
            self.threshold_text()
        )
    }

    /// " by more than AMOUNT per task" when --min-growth is above 0.
    fn threshold_text(&self) -> String {
        if self.min_growth > 0.0 {
            format!(
                " by more than {} per {}",
                flame::amount_text(self.min_growth, &self.unit),
                self.axis.unit()
            )
        } else {
            String::new()
        }
    }

    /// " N stacks without steady growth not drawn (--all-growing)." when
    /// there are such stacks.
    fn left_out_text(&self) -> String {
        match self.unsteady {
            0 => String::new(),
            1 => " 1 stack without steady growth not drawn (--all-growing).".to_string(),
            count => format!(" {count} stacks without steady growth not drawn (--all-growing)."),
        }
    }
}

/// Describes where the x values came from, in fewer words than
/// [`Axis::describe`].
fn axis_source(axis: &Axis) -> &'static str {
    match axis.source {
        AxisSource::Option => "task counts from --tasks",
        AxisSource::FileNames => "task counts from the file names",
        AxisSource::Manifest => "task counts from the manifest",
        AxisSource::Timestamps => "no task counts: seconds between the profiles' timestamps",
        AxisSource::Order => "no task counts: snapshot numbers",
    }
}

/// Formats a task count or a number of seconds: whole numbers without a
/// fraction, others with up to two decimals.
fn axis_value(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn names_note(full_names: bool, inline_colour: bool) -> String {
    let paths = if full_names {
        "Full import paths."
    } else {
        "Import paths shortened (--full-names keeps them)."
    };
    if inline_colour {
        format!("{paths} Frames starting with (inline), in blue-green, are inlined functions.")
    } else {
        paths.to_string()
    }
}

/// Formats a value with its unit and an explicit sign: `+48B`, `-1.50kB`,
/// `+0.0012B`.
fn signed(value: f64, unit: &str) -> String {
    let text = flame::amount_text(value, unit);
    if value > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

fn warn_negative(summary: &SvgSummary, paths: &[&Path], sample: &str) {
    if summary.negative_stacks > 0 {
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "pprof-chain: warning: {}: {} stacks have a negative {sample} value and are not drawn",
            files.join(" and "),
            summary.negative_stacks
        );
    }
}

/// Destination of the output: standard output, or a file that is written as a
/// temporary file in the same folder and renamed over the destination once
/// complete. Dropping an `Output` before [`Output::write`] finishes deletes the
/// temporary file.
enum Output {
    Stdout,
    File { path: PathBuf, temp: NamedTempFile },
}

impl Output {
    /// Checks the destination and creates the temporary file, so that a path
    /// that cannot be written fails before any profile is read.
    fn create(path: &Path, inputs: &[&Path]) -> Result<Output> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout);
        }
        if inputs.iter().any(|input| same_file(path, input)) {
            bail!(
                "{}: the output path is an input profile; give -o another file name",
                path.display()
            );
        }
        if path.is_dir() {
            bail!(
                "{}: the output path is a directory; give -o a file name",
                path.display()
            );
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            bail!(
                "{}: cannot write the output: folder {} does not exist",
                path.display(),
                folder.display()
            );
        }
        let temp = temp_file_in(folder).with_context(|| {
            format!(
                "{}: cannot write the output: failed to create a file in {}",
                path.display(),
                folder.display()
            )
        })?;
        Ok(Output::File {
            path: path.to_path_buf(),
            temp,
        })
    }

    /// Runs `write` on the output and, for a file, renames the complete
    /// temporary file over the destination.
    fn write(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        let (path, mut temp) = match self {
            Output::Stdout => return write_stdout(write),
            Output::File { path, temp } => (path, temp),
        };
        let fail = |e: io::Error| anyhow::anyhow!("{}: failed to write: {e}", path.display());
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out).map_err(fail)?;
        out.flush().map_err(fail)?;
        drop(out);
        temp.as_file().sync_all().map_err(fail)?;
        temp.persist(&path).map_err(|e| {
            anyhow::anyhow!(
                "{}: failed to replace the file: {}",
                path.display(),
                e.error
            )
        })?;
        Ok(())
    }
}

/// Creates a temporary file in `folder` with mode 0666 less the umask, like a
/// file created by the shell. tempfile's default mode, 0600, would make the
/// renamed output unreadable to other users.
fn temp_file_in(folder: &Path) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pprof-chain-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder)
}

/// True when both paths name the same file, through links or `..` too.
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
