//! `pprof-chain flamegraph`: an SVG flamegraph or collapsed stacks of one
//! profile, or of the change between two snapshots.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use tempfile::NamedTempFile;

use super::args::ReadArgs;
use super::snapshots::{axis_from_names, axis_from_option};
use super::{read_options, sample_index, write_stdout};
use crate::analysis::growth::Axis;
use crate::decode::read_file;
use crate::flame::{self, SvgOptions, SvgSummary, DEFAULT_MIN_WIDTH};
use crate::model::Profile;
use crate::render::units::{scaled, scaled_f64};

#[derive(Debug, Args)]
#[command(after_help = "\
Frames are stacked root at the bottom. Functions that the compiler inlined are \
frames of their own. In an SVG their names start with \"(inline) \", so that a \
label cut to fit a narrow box keeps the function name, and in a single-profile \
graph they are drawn in blue-green (in a diff, colour shows the change). \
Collapsed stacks mark them with the suffix \" (inline)\", as go tool pprof does.

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
        required_unless_present = "diff",
        conflicts_with = "diff"
    )]
    pub file: Option<PathBuf>,
    /// Draw the change from BEFORE to AFTER: frame widths show AFTER, red
    /// frames grew and blue frames shrank
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"])]
    pub diff: Option<Vec<PathBuf>>,
    /// File to write, replaced if it exists; `-` writes to standard output
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: PathBuf,
    /// Sample type to draw, by name (inuse_space, alloc_objects...) or index;
    /// default: the profile's default, as go tool pprof chooses it
    #[arg(long, short = 's', value_name = "TYPE")]
    pub sample: Option<String>,
    /// Write collapsed stacks (`root;...;leaf value`, or `stack before after`
    /// with --diff) instead of SVG, for flamegraph.pl, inferno or speedscope
    #[arg(long)]
    pub folded: bool,
    /// With --diff: tasks handled when each snapshot was taken, as
    /// BEFORE,AFTER (for example 2000,12000). The title then gives the change
    /// per task, and --folded divides every value by the tasks handled between
    /// the snapshots
    #[arg(long, value_name = "BEFORE,AFTER", value_delimiter = ',', num_args = 1)]
    pub tasks: Option<Vec<f64>>,
    /// With --diff: read the task counts from the last number in each file
    /// name (heap-012000.pb.gz handled 12000 tasks)
    #[arg(long, conflicts_with = "tasks")]
    pub tasks_from_names: bool,
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
}

pub(super) fn run(args: FlamegraphArgs) -> Result<()> {
    let inputs = check_inputs(&args)?;
    let input_paths: Vec<&Path> = match &inputs {
        Inputs::One(path) => vec![path],
        Inputs::Two { before, after, .. } => vec![before, after],
    };
    let output = Output::create(&args.output, &input_paths)?;
    match &inputs {
        Inputs::One(path) => draw_profile(&args, path, output),
        Inputs::Two {
            before,
            after,
            tasks,
        } => draw_diff(&args, [before, after], tasks.as_ref(), output),
    }
}

fn check_inputs(args: &FlamegraphArgs) -> Result<Inputs> {
    if !(0.0..100.0).contains(&args.min_width) {
        bail!(
            "invalid --min-width {}: use a percentage from 0 up to 100",
            args.min_width
        );
    }

    // Checked here because clap skips `requires = "diff"` when PROFILE, which
    // conflicts with --diff, is present.
    let per_task = args.tasks.is_some() || args.tasks_from_names;
    let (before, after) = match (&args.file, args.diff.as_deref()) {
        (Some(_), None) if per_task => {
            bail!(
                "--tasks and --tasks-from-names apply to a diff; use them with --diff BEFORE AFTER"
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

/// Formats a value with its unit and an explicit sign: `+48B`, `-1.50kB`.
fn signed(value: f64, unit: &str) -> String {
    let text = scaled_f64(value, unit);
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
