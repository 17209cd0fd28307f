//! Flamegraphs of one profile and of the change between two profiles.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{file_name, FlamegraphArgs};
use crate::analysis::growth::Axis;
use crate::cli::output::Output;
use crate::cli::{read_options, sample_index};
use crate::decode::read_file;
use crate::flame::{self, SvgOptions, SvgSummary};
use crate::model::Profile;
use crate::render::units::scaled;

pub(super) fn draw_profile(args: &FlamegraphArgs, path: &Path, output: Output) -> Result<()> {
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

pub(super) fn draw_diff(
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
    if tasks.is_none() && before.time_nanos != 0 && after.time_nanos < before.time_nanos {
        bail!(
            "{} was written before {} (profile timestamps); give the older snapshot first",
            after_path.display(),
            before_path.display()
        );
    }

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
