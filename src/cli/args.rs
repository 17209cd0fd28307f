//! Command-line arguments as clap parses them. Nothing here is used by the
//! engine directly: `mod.rs` turns these into validated options first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pprof-chain",
    version,
    about = "Find Go memory that grows with load, from pprof heap snapshots",
    long_about = "Find Go memory that grows with load, from pprof heap snapshots.\n\n\
        Reads gzipped or plain pprof protobuf profiles (and legacy text heap profiles), \
        as written by runtime/pprof and \
        served by /debug/pprof/heap, and reports which allocation sites grow with the \
        number of tasks handled, what kind of leak it is and which function to fix.",
    after_help = "Exit status: 0 on success, 1 when gate finds a regression, 2 on a usage \
                  or input error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the sites with the largest values, like `go tool pprof -top`
    Top(TopArgs),
    /// Compare two heap snapshots and name what grows per task
    Diff(DiffArgs),
    /// Fit growth per task across a series of snapshots
    Trend(TrendArgs),
    /// Fail a build whose heap snapshots show a leak or a regression
    Gate(super::gate::GateArgs),
    /// Capture a GC-settled snapshot series from a live Go service
    Record(super::record::RecordArgs),
    /// Write a flamegraph (SVG) or collapsed stacks: of a profile, of a diff, or
    /// of growth per task across snapshots
    Flamegraph(super::flamegraph::FlamegraphArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people
    Table,
    /// JSON for programs; the schema is documented in the README
    Json,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Largest decompressed profile to read, in bytes (suffixes K, M, G
    /// allowed); decoded profiles may take up to 8 times this in memory
    #[arg(long, value_name = "SIZE", default_value = "128M", value_parser = parse_size)]
    pub max_profile_bytes: u64,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Profile to read (gzipped or plain pprof protobuf, or a legacy text heap
    /// profile)
    pub file: PathBuf,
    /// Sample type to show, by name (inuse_space, alloc_objects...) or index;
    /// default: the profile's default, as go tool pprof chooses it
    #[arg(long, short = 's', value_name = "TYPE")]
    pub sample: Option<String>,
    /// Aggregate by function and line instead of by function
    #[arg(long)]
    pub lines: bool,
    /// Show at most N rows
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    /// Hide sites whose cumulative value is below this fraction of the total
    #[arg(long, value_name = "FRACTION", default_value_t = 0.005)]
    pub node_fraction: f64,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Snapshot taken first
    pub before: PathBuf,
    /// Snapshot taken later
    pub after: PathBuf,
    /// Tasks handled when each snapshot was taken, as BEFORE,AFTER (for
    /// example 2000,12000); figures are then given per task
    #[arg(long, value_name = "BEFORE,AFTER", value_delimiter = ',', num_args = 1)]
    pub tasks: Option<Vec<f64>>,
    /// Read the task counts from the last number in each file name (for
    /// example heap-012000.pb.gz handled 12000 tasks)
    #[arg(long, conflicts_with = "tasks")]
    pub tasks_from_names: bool,
    /// Task count the projection of each leak is made for
    #[arg(long, value_name = "TASKS", default_value_t = 1_000_000.0)]
    pub project: f64,
    /// Aggregate by function and line instead of by function
    #[arg(long)]
    pub lines: bool,
    /// Show at most N rows in the site table
    #[arg(long, short = 'n', value_name = "N", default_value_t = 15)]
    pub limit: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrendFormat {
    /// A table for people
    Table,
    /// JSON for programs; the schema is documented in the README
    Json,
    /// Graphviz DOT of the call paths that grow, edges weighted by growth
    Dot,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Snapshots, or folders holding them: a folder with a recording manifest
    /// gives the manifest's files, any other folder its profiles. Snapshots
    /// are put in order of their task counts, or of their times without them
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<PathBuf>,
    /// Tasks handled when each snapshot was taken, comma-separated, one per
    /// snapshot; without task counts growth is per second of the profiles'
    /// timestamps
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', num_args = 1)]
    pub tasks: Option<Vec<f64>>,
    /// Read the task counts from the last number in each file name
    #[arg(long, conflicts_with = "tasks")]
    pub tasks_from_names: bool,
    /// Kind of profile to read (heap or goroutine): picks it from a folder
    /// holding several kinds or a recording manifest, and rejects files of
    /// another kind [default: heap, in folders]
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Task count the projection of each leak is made for
    #[arg(long, value_name = "TASKS", default_value_t = 1_000_000.0)]
    pub project: f64,
    /// Aggregate by function and line instead of by function
    #[arg(long)]
    pub lines: bool,
    /// Show at most N rows in the site table
    #[arg(long, short = 'n', value_name = "N", default_value_t = 15)]
    pub limit: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = TrendFormat::Table)]
    pub format: TrendFormat,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Parses a byte size such as 4096, 64K, 128M or 2G (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (digits, multiplier) = match trimmed.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let multiplier = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => {
                    return Err(format!(
                        "invalid size {text:?}: use a number with K, M or G"
                    ))
                }
            };
            (&trimmed[..i], multiplier)
        }
        _ => (trimmed, 1),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("invalid size {text:?}: use a number with K, M or G"))?;
    number
        .checked_mul(multiplier)
        .filter(|&size| size > 0)
        .ok_or_else(|| format!("invalid size {text:?}: must be between 1 and 2^64-1 bytes"))
}
