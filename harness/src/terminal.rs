//! What the person at the terminal sees while a campaign runs, and the summary table.
//!
//! Progress goes to standard error (bars when it is a terminal, plain lines otherwise,
//! nothing with `--quiet`), so standard output stays clean for the summary or a machine
//! format. A plain result line is printed only after the result is stored.
//!
//! On a terminal every suite has one bar: a spinner until the suite reports a total,
//! then a bar of that length; it is cleared as soon as the suite's last result is
//! shown. Lines printed above the bars are cut to the terminal's width with an
//! ellipsis, never wrapped. Verdicts are coloured as `--color` says (auto: on a
//! terminal unless `NO_COLOR` is set). Text that comes from a profile or a device
//! (names, unit ids, summaries, messages) may hold control characters: they are shown
//! as visible escapes such as `\u{1b}`, never sent to the terminal raw.

use crate::engine::Observer;
use crate::model::StoredResult;
use crate::output::printable;
use crate::report::{Report, ReportResult};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use iotcert_suite::event::LogLevel;
use iotcert_suite::Verdict;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::IsTerminal;

/// How much to say while running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
}

/// When to colour verdicts (`--color`): the one choice the CLI parses.
pub use crate::output::ColorChoice;

/// Whether `choice` colours a stream that is (or is not) a terminal, in this process's
/// environment.
fn paints(choice: ColorChoice, stream_is_terminal: bool) -> bool {
    paints_with(
        choice,
        stream_is_terminal,
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// [`paints`] with the value of `NO_COLOR` given: auto colours a terminal unless
/// `NO_COLOR` is set to a non-empty value (no-color.org); an explicit choice wins.
fn paints_with(choice: ColorChoice, stream_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_terminal && no_color.is_none_or(OsStr::is_empty),
    }
}

/// The SGR sequence a verdict is drawn in.
fn verdict_style(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "\x1b[32m",
        Verdict::Fail => "\x1b[31m",
        Verdict::Error => "\x1b[1;35m",
        Verdict::Inconclusive => "\x1b[33m",
        Verdict::NotApplicable => "\x1b[2m",
    }
}

const RESET: &str = "\x1b[0m";

/// Columns a character takes on a terminal: 2 for East Asian wide and fullwidth
/// characters and emoji, 1 for the rest. A guess on the safe side: a line judged too
/// wide is only cut a little early, never wrapped.
fn columns_of(c: char) -> usize {
    match u32::from(c) {
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

fn columns(text: &str) -> usize {
    text.chars().map(columns_of).sum()
}

/// A piece of a line, drawn in a style (an SGR sequence) or plain.
struct Piece<'a> {
    text: Cow<'a, str>,
    style: Option<&'static str>,
}

impl<'a> Piece<'a> {
    fn plain(text: impl Into<Cow<'a, str>>) -> Self {
        Piece {
            text: text.into(),
            style: None,
        }
    }
}

/// Join `pieces` into one line of at most `width` columns (cut with `…` when longer),
/// styling the styled pieces when `paint` is set. The pieces must be printable.
fn render(pieces: &[Piece], paint: bool, width: Option<usize>) -> String {
    let total: usize = pieces.iter().map(|p| columns(&p.text)).sum();
    let (mut budget, cut) = match width {
        Some(width) if total > width => (width.saturating_sub(1), true),
        _ => (total, false),
    };
    let mut line = String::new();
    for piece in pieces {
        let mut kept = 0;
        for (index, c) in piece.text.char_indices() {
            let needed = columns_of(c);
            if needed > budget {
                break;
            }
            budget -= needed;
            kept = index + c.len_utf8();
        }
        let text = &piece.text[..kept];
        match piece.style {
            Some(style) if paint && !text.is_empty() => {
                line.push_str(style);
                line.push_str(text);
                line.push_str(RESET);
            }
            _ => line.push_str(text),
        }
        if kept < piece.text.len() {
            break;
        }
    }
    if cut {
        line.push('…');
    }
    line
}

/// `text` for one line of the terminal: [`printable`], and its newlines and tabs escaped
/// too (whatever `printable` keeps for multi-line documents), so it neither breaks the
/// line nor takes more columns than counted.
fn one_line(text: &str) -> String {
    let shown = printable(text);
    if !shown.contains(['\n', '\t']) {
        return shown;
    }
    shown.replace('\n', "\\u{a}").replace('\t', "\\u{9}")
}

/// `text`, printable on one line and cut to `width` columns.
fn fit(text: &str, width: Option<usize>) -> String {
    render(&[Piece::plain(one_line(text))], false, width)
}

/// The width of standard error when it is a terminal.
fn stderr_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only fills the `winsize` it is given, which lives on our stack.
    let status = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    (status == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Columns of a bar's line besides its prefix and its message: the spinner and the
/// spaces around the prefix...
const LINE_COLUMNS: usize = 3;
/// ...and, once the bar has a length, `[`, the bar, `] `, the `/` between the counts
/// and the space after them (the counts' digits come on top).
const BAR_COLUMNS: usize = 1 + 30 + 2 + 1 + 1;
/// The prefix (device and suite) is padded to this many columns, and cut at twice it.
const PREFIX_COLUMNS: usize = 24;

/// The bars of the running suites, drawn on a terminal.
struct Bars {
    multi: MultiProgress,
    shown: BTreeMap<String, ProgressBar>,
    /// Results each started suite has still to report; its bar ends with the last.
    awaited: BTreeMap<String, usize>,
    /// Results of a suite that arrived before the engine said it started (the two
    /// travel on different channels): counted against its first bar.
    early: BTreeMap<String, usize>,
    /// The terminal's width now (it may be resized while the campaign runs).
    width: fn() -> Option<usize>,
}

impl Bars {
    fn new(target: ProgressDrawTarget, width: fn() -> Option<usize>) -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(target),
            shown: BTreeMap::new(),
            awaited: BTreeMap::new(),
            early: BTreeMap::new(),
            width,
        }
    }

    fn spinner_style() -> ProgressStyle {
        ProgressStyle::with_template("{spinner} {prefix:<24} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
    }

    fn bar_style() -> ProgressStyle {
        ProgressStyle::with_template("{spinner} {prefix:<24} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    /// Set `bar`'s message, printable and cut to the room its line leaves.
    fn set_message(&self, bar: &ProgressBar, message: &str) {
        let room = (self.width)().map(|width| {
            let prefix = columns(&bar.prefix()).max(PREFIX_COLUMNS);
            let counts = match bar.length() {
                Some(length) => BAR_COLUMNS + 2 * length.max(bar.position()).to_string().len(),
                None => 0,
            };
            width.saturating_sub(LINE_COLUMNS + prefix + counts)
        });
        bar.set_message(fit(message, room));
    }

    /// Clear the bar of `suite`, if it has one.
    fn finish(&mut self, suite: &str) {
        self.awaited.remove(suite);
        if let Some(bar) = self.shown.remove(suite) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// Progress bars per suite on a terminal; plain lines elsewhere.
pub struct TerminalObserver {
    verbosity: Verbosity,
    /// The device's name, printable.
    device: String,
    /// Whether verdicts are coloured.
    paint: bool,
    bars: Option<Bars>,
}

impl TerminalObserver {
    /// An observer that colours verdicts when standard error is a terminal and
    /// `NO_COLOR` is not set; see [`TerminalObserver::with_color`].
    pub fn new(verbosity: Verbosity, device: &str) -> Self {
        let on_terminal = std::io::stderr().is_terminal();
        let bars = (verbosity == Verbosity::Normal && on_terminal)
            .then(|| Bars::new(ProgressDrawTarget::stderr(), stderr_columns));
        TerminalObserver {
            verbosity,
            device: one_line(device),
            paint: paints(ColorChoice::Auto, on_terminal),
            bars,
        }
    }

    /// Colour verdicts as `choice` says (`--color`).
    pub fn with_color(mut self, choice: ColorChoice) -> Self {
        self.paint = paints(choice, std::io::stderr().is_terminal());
        self
    }

    /// Print a line: above the bars (cut to the terminal's width) while some are
    /// drawn, else straight to standard error.
    fn line(&self, pieces: &[Piece]) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        match &self.bars {
            Some(bars) => {
                let text = render(pieces, self.paint, (bars.width)());
                if bars.shown.is_empty() {
                    // Through indicatif, a line with no bar below is padded to the
                    // terminal's width, and the next one starts by wrapping it.
                    eprintln!("{text}");
                } else {
                    let _ = bars.multi.println(text);
                }
            }
            None => eprintln!("{}", render(pieces, self.paint, None)),
        }
    }
}

impl Observer for TerminalObserver {
    fn suite_started(&mut self, suite: &str, pending: usize) {
        let suite_shown = one_line(suite);
        let Some(bars) = &mut self.bars else {
            self.line(&[Piece::plain(format!(
                "{} {suite_shown}: started, {pending} checks to decide",
                self.device
            ))]);
            return;
        };
        let awaited = pending.saturating_sub(bars.early.remove(suite).unwrap_or(0));
        if awaited == 0 {
            return;
        }
        let bar = bars.multi.add(ProgressBar::no_length());
        bar.set_style(Bars::spinner_style());
        bar.set_prefix(fit(
            &format!("{} {suite_shown}", self.device),
            Some(2 * PREFIX_COLUMNS),
        ));
        bars.set_message(&bar, &format!("{pending} checks to decide"));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bars.shown.insert(suite.to_owned(), bar);
        bars.awaited.insert(suite.to_owned(), awaited);
    }

    fn result(&mut self, result: &StoredResult) {
        self.line(&result_line(&self.device, result));
        let Some(bars) = &mut self.bars else { return };
        match bars.awaited.get_mut(&result.suite) {
            Some(awaited) => {
                *awaited = awaited.saturating_sub(1);
                if *awaited == 0 {
                    bars.finish(&result.suite);
                }
            }
            // Before the suite started: either decided at planning (NOT_APPLICABLE,
            // no bar to end) or the suite's own result overtaking its start.
            None if result.verdict != Verdict::NotApplicable => {
                *bars.early.entry(result.suite.clone()).or_default() += 1;
            }
            None => {}
        }
    }

    fn progress(&mut self, suite: &str, done: u64, total: u64, message: Option<&str>) {
        let Some(bars) = &self.bars else { return };
        let Some(bar) = bars.shown.get(suite) else {
            return;
        };
        match (total, bar.length()) {
            (0, Some(_)) => {
                bar.unset_length();
                bar.set_style(Bars::spinner_style());
            }
            (0, None) => {}
            (total, length) => {
                if length.is_none() {
                    bar.set_style(Bars::bar_style());
                }
                bar.set_length(total);
                bar.set_position(done.min(total));
            }
        }
        if let Some(message) = message {
            bars.set_message(bar, message);
        }
    }

    fn log(&mut self, suite: &str, level: LogLevel, message: &str) {
        if level != LogLevel::Debug {
            self.line(&[Piece::plain(format!(
                "{} {}: {}",
                self.device,
                one_line(suite),
                one_line(message)
            ))]);
        }
    }

    fn suite_finished(&mut self, suite: &str) {
        if let Some(bars) = &mut self.bars {
            bars.finish(suite);
        }
    }
}

/// `DEVICE VERDICT CHECK UNIT SUMMARY`, the summary's first line only; `device` is
/// printable already.
fn result_line<'a>(device: &'a str, result: &'a StoredResult) -> [Piece<'a>; 3] {
    let verdict = result.verdict.as_str();
    [
        Piece::plain(format!("{device} ")),
        Piece {
            text: Cow::Borrowed(verdict),
            style: Some(verdict_style(result.verdict)),
        },
        Piece::plain(format!(
            "{:pad$} {:<36} {:<10} {}",
            "",
            one_line(&result.check),
            one_line(result.unit.as_deref().unwrap_or("all")),
            one_line(first_line(&result.summary)),
            pad = 14usize.saturating_sub(verdict.len())
        )),
    ]
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The summary table: device, unit, check, verdict, EN 303 645 provision; verdicts
/// coloured when standard output is a terminal and `NO_COLOR` is not set.
pub fn summary_table(reports: &[(&str, &Report)]) -> String {
    summary_table_with(reports, ColorChoice::Auto)
}

/// [`summary_table`], coloured as `choice` says (`--color`).
pub fn summary_table_with(reports: &[(&str, &Report)], choice: ColorChoice) -> String {
    let rows: Vec<(&str, &ReportResult)> = reports
        .iter()
        .flat_map(|(device, report)| report.results.iter().map(move |result| (*device, result)))
        .collect();
    let mut out = table(&rows, paints(choice, std::io::stdout().is_terminal()));
    for (device, report) in reports {
        let s = &report.summary;
        out.push_str(&format!(
            "{}: {} PASS, {} FAIL, {} INCONCLUSIVE, {} NOT_APPLICABLE, {} ERROR -> {}\n",
            one_line(device),
            s.pass,
            s.fail,
            s.inconclusive,
            s.not_applicable,
            s.error,
            s.outcome
        ));
    }
    out
}

/// The table's lines: a header, then one row per result of a device.
fn table(results: &[(&str, &ReportResult)], paint: bool) -> String {
    const VERDICT_COLUMN: usize = 3;
    let mut rows = vec![(
        None,
        [
            "DEVICE".to_owned(),
            "UNIT".to_owned(),
            "CHECK".to_owned(),
            "VERDICT".to_owned(),
            "EN 303 645".to_owned(),
        ],
    )];
    for (device, result) in results {
        rows.push((
            Some(result.verdict),
            [
                one_line(device),
                one_line(result.unit.as_deref().unwrap_or("all")),
                one_line(&result.check),
                result.verdict.as_str().to_owned(),
                one_line(&result.standards.en_303_645.join(", ")),
            ],
        ));
    }
    let mut widths = [0usize; 5];
    for (_, row) in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(columns(cell));
        }
    }
    let mut out = String::new();
    for (verdict, row) in &rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            match verdict {
                Some(verdict) if paint && index == VERDICT_COLUMN => {
                    line.push_str(verdict_style(*verdict));
                    line.push_str(cell);
                    line.push_str(RESET);
                }
                _ => line.push_str(cell),
            }
            line.push_str(&" ".repeat(width.saturating_sub(columns(cell))));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Count of verdicts, for tests and one-line summaries.
pub fn count(report: &Report, verdict: Verdict) -> usize {
    report
        .results
        .iter()
        .filter(|r| r.verdict == verdict)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotcert_suite::{Modal, Standards};
    use time::OffsetDateTime;

    const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J";
    /// Text that would break a line or take more columns than counted.
    const BREAKING: &str = "one\ntwo\tthree";

    fn stored(check: &str, unit: &str, verdict: Verdict, summary: &str) -> StoredResult {
        StoredResult {
            campaign: "c".into(),
            suite: check.split('.').next().unwrap_or(check).into(),
            check: check.into(),
            unit: Some(unit.into()),
            verdict,
            summary: summary.into(),
            remediation: None,
            evidence: Vec::new(),
            effort: None,
            proof: None,
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn reported(check: &str, unit: &str, verdict: Verdict, provision: &str) -> ReportResult {
        ReportResult {
            suite: "s".into(),
            check: check.into(),
            unit: Some(unit.into()),
            title: check.into(),
            modal: Modal::Shall,
            verdict,
            summary: String::new(),
            remediation: None,
            standards: Standards {
                en_303_645: vec![provision.into()],
                ..Standards::default()
            },
            positive_control: String::new(),
            proof: None,
            evidence: Vec::new(),
            effort: None,
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// `text` without the SGR sequences this module draws verdicts with.
    fn without_our_colours(text: &str) -> String {
        [
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Error,
            Verdict::Inconclusive,
            Verdict::NotApplicable,
        ]
        .iter()
        .fold(text.replace(RESET, ""), |text, verdict| {
            text.replace(verdict_style(*verdict), "")
        })
    }

    fn has_controls(text: &str) -> bool {
        text.chars().any(char::is_control)
    }

    #[test]
    fn terminal_controls_from_a_device_are_shown_not_obeyed() {
        assert_eq!(one_line(HOSTILE), "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J");
        assert_eq!(one_line(BREAKING), "one\\u{a}two\\u{9}three");
        assert_eq!(one_line("plain text, ümlaut"), "plain text, ümlaut");

        let hostile = format!("{HOSTILE}{BREAKING}");
        let device = one_line(&hostile);
        let result = stored(&hostile, &hostile, Verdict::Fail, HOSTILE);
        for paint in [false, true] {
            let line = render(&result_line(&device, &result), paint, Some(400));
            assert!(!has_controls(&without_our_colours(&line)), "{line:?}");
            assert!(line.contains("\\u{1b}]0;pwned\\u{7}"), "{line:?}");
        }
        let row = reported(&hostile, &hostile, Verdict::Pass, &hostile);
        for paint in [false, true] {
            let table = table(&[(&hostile, &row)], paint);
            let table = without_our_colours(&table).replace('\n', "");
            assert!(!has_controls(&table), "{table:?}");
        }
    }

    #[test]
    fn progress_messages_and_names_are_printable() {
        let hostile = format!("{HOSTILE}{BREAKING}");
        let mut observer = TerminalObserver {
            verbosity: Verbosity::Normal,
            device: one_line(&hostile),
            paint: false,
            bars: Some(Bars::new(ProgressDrawTarget::hidden(), || Some(160))),
        };
        observer.suite_started(&hostile, 1);
        observer.progress(&hostile, 1, 4, Some(&hostile));
        let bars = observer.bars.as_ref().unwrap();
        let bar = &bars.shown[&hostile];
        assert!(!has_controls(&bar.message()), "{:?}", bar.message());
        assert!(!has_controls(&bar.prefix()), "{:?}", bar.prefix());
    }

    #[test]
    fn colour_follows_the_choice_and_no_color() {
        let set = Some(OsStr::new("1"));
        for terminal in [false, true] {
            assert!(!paints_with(ColorChoice::Never, terminal, None));
            assert!(
                paints_with(ColorChoice::Always, terminal, set),
                "an explicit choice wins"
            );
            assert!(!paints_with(ColorChoice::Auto, terminal, set));
        }
        assert!(paints_with(ColorChoice::Auto, true, None));
        assert!(
            paints_with(ColorChoice::Auto, true, Some(OsStr::new(""))),
            "empty is unset"
        );
        assert!(
            !paints_with(ColorChoice::Auto, false, None),
            "not into a pipe"
        );

        let rows = [
            reported("a.one", "unit-1", Verdict::Pass, "5.1-1"),
            reported("a.two", "unit-1", Verdict::Fail, "5.1-1"),
            reported("a.three", "unit-1", Verdict::Error, "5.1-1"),
            reported("a.four", "unit-1", Verdict::Inconclusive, "5.1-1"),
            reported("a.five", "unit-1", Verdict::NotApplicable, "5.1-1"),
        ];
        let rows: Vec<(&str, &ReportResult)> = rows.iter().map(|r| ("dev", r)).collect();
        let result = stored("a.two", "unit-1", Verdict::Fail, "it failed");
        let paints = |choice: ColorChoice| paints_with(choice, true, set);
        for choice in [ColorChoice::Never, ColorChoice::Auto] {
            let table = table(&rows, paints(choice));
            assert!(
                !table.contains('\x1b'),
                "{choice:?} with NO_COLOR: {table:?}"
            );
            let line = render(&result_line("dev", &result), paints(choice), None);
            assert!(!line.contains('\x1b'), "{choice:?} with NO_COLOR: {line:?}");
        }
        let table = table(&rows, paints(ColorChoice::Always));
        for (verdict, colour) in [
            ("PASS", "\x1b[32m"),
            ("FAIL", "\x1b[31m"),
            ("ERROR", "\x1b[1;35m"),
            ("INCONCLUSIVE", "\x1b[33m"),
            ("NOT_APPLICABLE", "\x1b[2m"),
        ] {
            assert!(
                table.contains(&format!("{colour}{verdict}{RESET}")),
                "{table}"
            );
        }
        // Colour does not move the columns.
        assert_eq!(without_our_colours(&table), self::table(&rows, false));
        let line = render(&result_line("dev", &result), true, None);
        assert!(line.starts_with("dev \x1b[31mFAIL\x1b[0m "), "{line:?}");
        assert_eq!(
            without_our_colours(&line),
            render(&result_line("dev", &result), false, None)
        );
    }

    #[test]
    fn lines_are_cut_to_the_width_with_an_ellipsis() {
        let long = stored(
            "tls.certificate-trust",
            "unit-1",
            Verdict::Fail,
            &"x".repeat(300),
        );
        let line = render(&result_line("dev", &long), false, Some(160));
        assert_eq!(columns(&line), 160);
        assert!(line.ends_with('…'), "{line}");
        let short = stored("tls.certificate-trust", "unit-1", Verdict::Fail, "short");
        let line = render(&result_line("dev", &short), false, Some(160));
        assert!(line.ends_with("short") && columns(&line) < 160, "{line}");
        // Wide characters take two columns; a cut inside a coloured verdict still resets.
        assert_eq!(fit("日本語のテキスト", Some(7)), "日本語…");
        let coloured = render(&result_line("dev", &long), true, Some(6));
        assert_eq!(coloured, "dev \x1b[31mF\x1b[0m…");
        assert_eq!(fit("abc", Some(3)), "abc");
        assert_eq!(fit("abcd", Some(0)), "…");
    }

    #[test]
    fn a_bar_has_a_length_only_once_the_suite_gives_one_and_ends_with_its_last_result() {
        let mut observer = TerminalObserver {
            verbosity: Verbosity::Normal,
            device: "dev".into(),
            paint: false,
            bars: Some(Bars::new(ProgressDrawTarget::hidden(), || Some(160))),
        };
        // Decided at planning, before any suite starts: no bar to end.
        observer.result(&stored(
            "tls.client",
            "unit-1",
            Verdict::NotApplicable,
            "no",
        ));
        // A suite's own result may overtake the news that it started.
        observer.result(&stored("ports.a", "unit-1", Verdict::Pass, "ok"));
        observer.suite_started("tls", 2);
        observer.suite_started("ports", 2);
        let bar = |observer: &TerminalObserver, suite: &str| {
            observer
                .bars
                .as_ref()
                .and_then(|b| b.shown.get(suite))
                .cloned()
        };
        let tls = bar(&observer, "tls").unwrap();
        assert_eq!(tls.length(), None, "a spinner until a total is known");
        observer.progress("tls", 0, 0, Some("starting"));
        assert_eq!(tls.length(), None, "no total: still a spinner, never 0/0");
        observer.progress("tls", 1, 4, Some("1 of 4"));
        assert_eq!((tls.position(), tls.length()), (1, Some(4)));
        observer.progress("tls", 0, 0, Some("something else"));
        assert_eq!(tls.length(), None);

        observer.result(&stored("tls.a", "unit-1", Verdict::Pass, "ok"));
        assert!(bar(&observer, "tls").is_some());
        observer.result(&stored("tls.b", "unit-1", Verdict::Fail, "no"));
        assert!(
            bar(&observer, "tls").is_none(),
            "gone with the suite's last result"
        );
        assert!(tls.is_finished());

        let ports = bar(&observer, "ports").unwrap();
        observer.result(&stored("ports.b", "unit-1", Verdict::Pass, "ok"));
        assert!(ports.is_finished(), "the early result counted");

        observer.suite_started("update", 3);
        let update = bar(&observer, "update").unwrap();
        observer.suite_finished("update");
        assert!(update.is_finished() && bar(&observer, "update").is_none());
        observer.suite_finished("update");
    }
}
