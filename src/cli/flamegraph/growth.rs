//! Growth graphs: the slope of each stack across a snapshot series, and the
//! title, subtitle and messages that describe it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::series::{read_series, timestamp_axis};
use super::{check_axis, file_name, FlamegraphArgs};
use crate::analysis::fit::fit;
use crate::analysis::growth::{Axis, AxisSource};
use crate::cli::output::Output;
use crate::flame::{self, Stack, StackGrowth, StackSeries, SvgOptions};

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

pub(super) fn draw_growth(
    args: &FlamegraphArgs,
    paths: &[PathBuf],
    axis: Option<Axis>,
    output: Output,
) -> Result<()> {
    let (shape, unit, snapshots) = read_series(args, paths)?;
    let axis = match axis {
        Some(axis) => axis,
        None => timestamp_axis(paths, &snapshots)?,
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
