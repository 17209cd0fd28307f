//! Command-line arguments of `pprof-chain flamegraph`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::args::ReadArgs;
use crate::flame::DEFAULT_MIN_WIDTH;

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
