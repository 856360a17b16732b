//! Standard output that may be closed under us.
//!
//! `iotcert show … | head` closes the pipe early; Rust's `print!` then panics. Every
//! command writes through [`write`], which returns the error instead, and `main` ends
//! quietly (exit 0, nothing on stderr) when the error is a broken pipe, as ripgrep and
//! the coreutils do.

use std::io::Write;

/// Write `text` to standard output and flush it.
pub fn write(text: impl AsRef<[u8]>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_ref())?;
    stdout.flush()
}

/// [`write`] with a newline.
pub fn line(text: impl AsRef<str>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_ref().as_bytes())?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}

/// Whether an error chain ends in a closed standard output.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A time as machine output gives it: RFC 3339, UTC, as report.json does.
pub fn timestamp(time: time::OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time.unix_timestamp().to_string())
}

/// `text` with each control character but newline and tab (C0, DEL, C1) and each
/// noncharacter XML cannot carry (U+FFFE, U+FFFF) written as a visible Rust-style
/// escape, `\u{1b}`: nothing a device or a profile chose can move the cursor, set a
/// terminal's title, clear its screen or break an XML document. Every rendering and
/// every line on the terminal goes through it.
pub fn printable(text: &str) -> String {
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            shown.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            shown.push(c);
        }
    }
    shown
}

/// When to colour verdicts (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        let hostile = "Acme\x1b]0;pwned\x07\x1b[2J\u{9b}31m";
        let shown = printable(hostile);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "Acme\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{9b}31m");
        assert_eq!(printable("a\nb\tc\x1b\u{fffe}"), "a\nb\tc\\u{1b}\\u{fffe}");
        assert_eq!(printable("plain text, ümlaut"), "plain text, ümlaut");
    }

    #[test]
    fn times_are_rfc_3339_in_utc() {
        let t = time::macros::datetime!(2026-12-07 16:17:45.528 +01:00);
        assert_eq!(timestamp(t), "2026-12-07T15:17:45.528Z");
    }
}
