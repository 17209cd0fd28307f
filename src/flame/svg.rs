//! SVG flamegraphs drawn by inferno from folded stacks.
//!
//! inferno reads whole-number counts. A flamegraph of one set of values
//! multiplies fractional values (per-task figures) by [`FRACTION_SCALE`], and
//! inferno's `factor` option divides them again in the tooltips. Tooltips show
//! whole numbers either way.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use inferno::flamegraph::color::{Color, PaletteMap};
use inferno::flamegraph::{self, Options};

use super::folded::escape_name;
use super::{DiffStack, Frame, Stack};
use crate::render::names::Shortener;

/// Frames narrower than this percentage of the graph width are left out. In a
/// graph 1200 pixels wide, inferno's initial width, that is 1.2 pixels.
pub const DEFAULT_MIN_WIDTH: f64 = 0.1;

/// Prefix that marks an inlined frame in an SVG. It comes first because a
/// label too long for its box loses its start, and in narrow boxes a suffix
/// would leave only "..ine)" in place of the function name.
pub const SVG_INLINE_PREFIX: &str = "(inline) ";

/// Multiplier that turns fractional values into counts for inferno: values
/// keep three decimals.
const FRACTION_SCALE: f64 = 1000.0;

/// Text and layout settings of an SVG flamegraph.
#[derive(Clone, Debug)]
pub struct SvgOptions {
    /// Large text at the top.
    pub title: String,
    /// Smaller line under the title.
    pub subtitle: Option<String>,
    /// Unit shown after each value in tooltips, such as "bytes".
    pub count_name: String,
    /// Keep import paths in frame names. When false, a name loses the folders
    /// of its import path (`github.com/a/b/pkg.F` is drawn as `pkg.F`) unless
    /// another function in the graph would then have the same name.
    pub full_names: bool,
    /// Frames narrower than this percentage of the width are left out.
    pub min_width: f64,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            title: String::new(),
            subtitle: None,
            count_name: "samples".to_string(),
            full_names: false,
            min_width: DEFAULT_MIN_WIDTH,
        }
    }
}

/// Counts of stacks left out of a drawing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SvgSummary {
    /// Stacks with a negative value, which a flamegraph cannot draw.
    pub negative_stacks: usize,
}

/// Draws a flamegraph of `stacks`. Inlined frames start with "(inline) " and
/// are filled in blue-green, other frames in the warm colours of flamegraph.pl,
/// chosen from a hash of the name so that the same input gives the same SVG.
///
/// Frame widths keep three decimals of fractional values, but tooltips round
/// each value to a whole number and compute its percentage from that rounded
/// number (inferno 0.12.8), so a frame worth 0.3 shows "0, 0.00%". Scale such
/// values up first and name the scaled unit in `count_name`, as in "objects per
/// 1000 tasks".
///
/// Fails with `InvalidInput`, before writing anything, when no stack has a
/// value that rounds to a positive count.
pub fn write_svg(
    out: &mut dyn Write,
    stacks: &[Stack],
    options: &SvgOptions,
) -> io::Result<SvgSummary> {
    let scale = value_scale(stacks.iter().map(|s| s.value));
    let drawn = write_scaled(out, stacks, options, scale, 1.0 / scale)?;
    Ok(drawn.summary)
}

/// Stacks left out and total width of a drawing by [`write_scaled`].
pub(super) struct Drawn {
    pub summary: SvgSummary,
    /// Sum of the counts given to inferno: the width of the whole graph.
    pub total_count: u64,
}

/// Draws `stacks` with each value multiplied by `scale` and rounded to a
/// count, and tooltips that show each count multiplied by `factor`.
pub(super) fn write_scaled(
    out: &mut dyn Write,
    stacks: &[Stack],
    options: &SvgOptions,
    scale: f64,
    factor: f64,
) -> io::Result<Drawn> {
    let names = DisplayNames::new(stacks.iter().map(|s| s.frames.as_slice()), options);
    check_text_size(&names, stacks.iter().map(|s| s.frames.as_slice()))?;
    let mut summary = SvgSummary::default();
    let mut total_count: u64 = 0;
    let mut lines = Vec::with_capacity(stacks.len());
    for stack in stacks {
        if stack.value < 0.0 {
            summary.negative_stacks += 1;
            continue;
        }
        let count = to_count(stack.value, scale);
        if count > 0 {
            total_count = total_count.saturating_add(count);
            lines.push(format!("{} {count}", names.join(&stack.frames)));
        }
    }
    let mut palette = names.inline_palette();
    let mut inferno_options = inferno_options(options, factor);
    inferno_options.palette_map = Some(&mut palette);
    draw(out, &lines, &mut inferno_options)?;
    Ok(Drawn {
        summary,
        total_count,
    })
}

/// Draws a differential flamegraph: frame widths show the `after` values, and
/// a frame is red where its value grew, blue where it shrank, and stronger the
/// larger the change compared with the largest change. Inlined frames start
/// with "(inline) ".
///
/// Values are rounded to whole numbers, so scale small fractional values up
/// first. inferno 0.12.8 leaves its `factor` option out of the change
/// percentage in tooltips, so the scaling that [`write_svg`] uses for
/// fractions would inflate that percentage.
///
/// Fails with `InvalidInput`, before writing anything, when no stack has a
/// value that rounds to a positive count.
pub fn write_diff_svg(
    out: &mut dyn Write,
    stacks: &[DiffStack],
    options: &SvgOptions,
) -> io::Result<SvgSummary> {
    let names = DisplayNames::new(stacks.iter().map(|s| s.frames.as_slice()), options);
    check_text_size(&names, stacks.iter().map(|s| s.frames.as_slice()))?;
    let scale = 1.0;
    let mut summary = SvgSummary::default();
    let mut lines = Vec::with_capacity(stacks.len());
    for stack in stacks {
        if stack.before < 0.0 || stack.after < 0.0 {
            summary.negative_stacks += 1;
            continue;
        }
        let before = to_count(stack.before, scale);
        let after = to_count(stack.after, scale);
        if before > 0 || after > 0 {
            let frames = names.join(&stack.frames);
            lines.push(format!("{frames} {before} {after}"));
        }
    }
    let mut inferno_options = inferno_options(options, 1.0 / scale);
    draw(out, &lines, &mut inferno_options)?;
    Ok(summary)
}

fn inferno_options<'a>(options: &SvgOptions, factor: f64) -> Options<'a> {
    let mut inferno_options = Options::default();
    inferno_options.title = options.title.clone();
    inferno_options.subtitle = options.subtitle.clone();
    inferno_options.count_name = options.count_name.clone();
    inferno_options.min_width = options.min_width;
    inferno_options.factor = factor;
    // Colours come from a hash of the name instead of a random number, so the
    // same input always gives the same SVG.
    inferno_options.hash = true;
    inferno_options
}

fn draw(out: &mut dyn Write, lines: &[String], options: &mut Options<'_>) -> io::Result<()> {
    // inferno would write an SVG that shows an error message; nothing is
    // better than that for a file that replaces an earlier output.
    if lines.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no stack has a value that rounds to a positive count, so there is nothing to draw",
        ));
    }
    flamegraph::from_lines(options, lines.iter().map(String::as_str), out)
}

/// Largest folded text an SVG is drawn from. inferno takes the stacks as
/// lines of text, which a small file of deep stacks with long names can make
/// many gigabytes long. The largest profile of BENCHMARKS.md takes 77 MB.
const MAX_SVG_TEXT_BYTES: usize = 1 << 30;

/// Fails with `InvalidInput` when the stacks would take more than
/// [`MAX_SVG_TEXT_BYTES`] as folded text.
fn check_text_size<'a>(
    names: &DisplayNames,
    stacks: impl Iterator<Item = &'a [Frame]>,
) -> io::Result<()> {
    let mut size: usize = 0;
    for frames in stacks {
        // The separators and the counts after each line take a few bytes more.
        size = size.saturating_add(names.joined_len(frames) + 24);
        if size > MAX_SVG_TEXT_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the stacks take more than {} as folded text, the most an SVG is drawn \
                     from; write collapsed stacks with --folded instead",
                    crate::error::format_size(MAX_SVG_TEXT_BYTES as u64)
                ),
            ));
        }
    }
    Ok(())
}

/// Picks the multiplier for inferno's counts: 1 when every value is a whole
/// number, else [`FRACTION_SCALE`].
fn value_scale(mut values: impl Iterator<Item = f64>) -> f64 {
    if values.all(|v| v.fract() == 0.0) {
        1.0
    } else {
        FRACTION_SCALE
    }
}

fn to_count(value: f64, scale: f64) -> u64 {
    // `as` saturates: a value beyond u64 becomes u64::MAX, NaN becomes 0.
    (value * scale).round() as u64
}

/// Frame names as drawn: shortened unless full names were requested, with
/// `;` escaped and the inline prefix added.
struct DisplayNames {
    names: HashMap<Frame, String>,
}

impl DisplayNames {
    fn new<'a>(stacks: impl Iterator<Item = &'a [Frame]>, options: &SvgOptions) -> Self {
        let distinct: HashSet<&Frame> = stacks.flat_map(|frames| frames.iter()).collect();
        let shortener = Shortener::new(distinct.iter().map(|frame| &*frame.function));
        let names = distinct
            .into_iter()
            .map(|frame| {
                let name = if options.full_names {
                    escape_name(&frame.function).into_owned()
                } else {
                    escape_name(&shortener.short(&frame.function)).into_owned()
                };
                if frame.inlined {
                    (frame.clone(), format!("{SVG_INLINE_PREFIX}{name}"))
                } else {
                    (frame.clone(), name)
                }
            })
            .collect();
        DisplayNames { names }
    }

    /// Returns the length of what [`DisplayNames::join`] returns.
    fn joined_len(&self, frames: &[Frame]) -> usize {
        let names: usize = frames.iter().map(|frame| self.names[frame].len()).sum();
        names + frames.len().saturating_sub(1)
    }

    fn join(&self, frames: &[Frame]) -> String {
        let mut line = String::new();
        for (i, frame) in frames.iter().enumerate() {
            if i > 0 {
                line.push(';');
            }
            line.push_str(&self.names[frame]);
        }
        line
    }

    /// Colours for the inlined frames: blue-green shades, so they stand apart
    /// from the red, orange and yellow of the other frames.
    fn inline_palette(&self) -> PaletteMap {
        let mut palette = PaletteMap::default();
        for (frame, name) in &self.names {
            if frame.inlined {
                palette.insert(name, inline_color(name));
            }
        }
        palette
    }
}

/// Picks a blue-green shade by an FNV-1a hash of the name, so neighbouring
/// inlined frames differ a little and the same name always gets the same shade.
fn inline_color(name: &str) -> Color {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let shade = (hash % 64) as u8;
    Color {
        r: 40 + shade / 2,
        g: 170 + shade,
        b: 180 + shade,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flame::test_stack as stack;

    #[test]
    fn fractional_values_keep_widths() {
        let stacks = [stack(&["main", "a"], 0.25), stack(&["main", "b"], 0.75)];
        let mut out = Vec::new();
        write_svg(&mut out, &stacks, &SvgOptions::default()).expect("SVG is written");
        let svg = String::from_utf8(out).expect("SVG is UTF-8");
        assert!(
            svg.contains(r#"fg:w="250""#),
            "frame a is 250 thousandths wide"
        );
        assert!(
            svg.contains(r#"fg:w="750""#),
            "frame b is 750 thousandths wide"
        );
        assert!(svg.contains("all (1 samples, 100%)"));
    }

    #[test]
    fn nothing_to_draw_writes_nothing() {
        let stacks = [stack(&["main"], 0.0), stack(&["main", "a"], -5.0)];
        let mut out = Vec::new();
        let error =
            write_svg(&mut out, &stacks, &SvgOptions::default()).expect_err("no positive value");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }

    #[test]
    fn negative_stacks_are_counted() {
        let stacks = [stack(&["main", "a"], 10.0), stack(&["main", "b"], -5.0)];
        let mut out = Vec::new();
        let summary = write_svg(&mut out, &stacks, &SvgOptions::default()).expect("SVG is written");
        assert_eq!(summary.negative_stacks, 1);
    }
}
