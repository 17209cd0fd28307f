//! Collapsed stacks, the text format of Brendan Gregg's stackcollapse scripts
//! that flamegraph.pl, inferno and speedscope read: one line per stack, frames
//! root first joined by `;`, then the value (`main;worker;alloc 4096`), or two
//! values for a diff (`main;worker;alloc 1024 4096`).

use std::borrow::Cow;
use std::io::{self, Write};

use super::{DiffStack, Frame, Stack, INLINE_SUFFIX};

/// Writes one line per stack with full function names. Inlined frames end in
/// " (inline)".
pub fn write_folded(out: &mut dyn Write, stacks: &[Stack]) -> io::Result<()> {
    for stack in stacks {
        write_frames(out, &stack.frames)?;
        writeln!(out, " {}", format_value(stack.value))?;
    }
    Ok(())
}

/// Writes one line per stack with its value before and after.
pub fn write_folded_diff(out: &mut dyn Write, stacks: &[DiffStack]) -> io::Result<()> {
    for stack in stacks {
        write_frames(out, &stack.frames)?;
        writeln!(
            out,
            " {} {}",
            format_value(stack.before),
            format_value(stack.after)
        )?;
    }
    Ok(())
}

fn write_frames(out: &mut dyn Write, frames: &[Frame]) -> io::Result<()> {
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.write_all(b";")?;
        }
        out.write_all(escape_name(&frame.function).as_bytes())?;
        if frame.inlined {
            out.write_all(INLINE_SUFFIX.as_bytes())?;
        }
    }
    Ok(())
}

/// Replaces the characters that would break a collapsed line: `;` separates
/// frames (Go writes it inside generic struct shapes, `struct { a int; b int }`)
/// and a line break ends the stack.
pub(super) fn escape_name(name: &str) -> Cow<'_, str> {
    if name.contains([';', '\n', '\r']) {
        Cow::Owned(name.replace(';', ",").replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(name)
    }
}

/// Formats whole numbers without a fraction and other values with up to six
/// decimals, trailing zeros removed.
pub(super) fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn frame(name: &str, inlined: bool) -> Frame {
        Frame {
            function: Arc::from(name),
            inlined,
        }
    }

    #[test]
    fn folded_line_marks_inlined_frames() {
        let stacks = [Stack {
            frames: vec![
                frame("main.main", false),
                frame("main.run", false),
                frame("main.helper", true),
            ],
            value: 4096.0,
        }];
        let mut out = Vec::new();
        write_folded(&mut out, &stacks).expect("writing to a Vec succeeds");
        assert_eq!(
            String::from_utf8(out).expect("output is UTF-8"),
            "main.main;main.run;main.helper (inline) 4096\n"
        );
    }

    #[test]
    fn semicolon_in_name_is_replaced() {
        assert_eq!(
            escape_name("m.F[struct { a int; b int }]"),
            "m.F[struct { a int, b int }]"
        );
    }

    #[test]
    fn values_keep_six_decimals() {
        assert_eq!(format_value(576000.0), "576000");
        assert_eq!(format_value(48.0), "48");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1.0 / 3.0), "0.333333");
        assert_eq!(format_value(-7.0), "-7");
    }
}
