//! What the person at the terminal sees while a campaign runs, and the summary table.
//!
//! Progress goes to standard error (bars when it is a terminal, plain lines otherwise,
//! nothing with `--quiet`), so standard output stays clean for the summary or a machine
//! format. A plain result line is printed only after the result is stored.

use crate::engine::Observer;
use crate::model::StoredResult;
use crate::report::Report;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use iotcert_suite::event::LogLevel;
use iotcert_suite::Verdict;
use std::collections::BTreeMap;
use std::io::IsTerminal;

/// How much to say while running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
}

/// Progress bars per suite on a terminal; plain lines elsewhere.
pub struct TerminalObserver {
    verbosity: Verbosity,
    device: String,
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
}

impl TerminalObserver {
    pub fn new(verbosity: Verbosity, device: &str) -> Self {
        let bars = (verbosity == Verbosity::Normal && std::io::stderr().is_terminal()).then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                BTreeMap::new(),
            )
        });
        TerminalObserver {
            verbosity,
            device: device.to_owned(),
            bars,
        }
    }

    fn line(&self, text: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }
}

impl Observer for TerminalObserver {
    fn suite_started(&mut self, suite: &str, pending: usize) {
        if let Some((multi, bars)) = &mut self.bars {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<24} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("{} {suite}", self.device));
            bar.set_message(format!("{pending} checks"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bars.insert(suite.to_owned(), bar);
        } else {
            self.line(&format!(
                "{} {suite}: started, {pending} checks to decide",
                self.device
            ));
        }
    }

    fn result(&mut self, result: &StoredResult) {
        self.line(&format!(
            "{} {:<14} {:<36} {:<10} {}",
            self.device,
            result.verdict.as_str(),
            result.check,
            result.unit.as_deref().unwrap_or("all"),
            first_line(&result.summary)
        ));
    }

    fn progress(&mut self, suite: &str, done: u64, total: u64, message: Option<&str>) {
        if let Some((_, bars)) = &self.bars {
            if let Some(bar) = bars.get(suite) {
                bar.set_length(total);
                bar.set_position(done);
                if let Some(message) = message {
                    bar.set_message(message.to_owned());
                }
            }
        }
    }

    fn log(&mut self, suite: &str, level: LogLevel, message: &str) {
        if level != LogLevel::Debug {
            self.line(&format!("{} {suite}: {message}", self.device));
        }
    }

    fn suite_finished(&mut self, suite: &str) {
        if let Some((_, bars)) = &mut self.bars {
            if let Some(bar) = bars.remove(suite) {
                bar.finish_and_clear();
            }
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The summary table: device, unit, check, verdict, EN 303 645 provision.
pub fn summary_table(reports: &[(&str, &Report)]) -> String {
    let mut rows = vec![[
        "DEVICE".to_owned(),
        "UNIT".to_owned(),
        "CHECK".to_owned(),
        "VERDICT".to_owned(),
        "EN 303 645".to_owned(),
    ]];
    for (device, report) in reports {
        for result in &report.results {
            rows.push([
                (*device).to_owned(),
                result.unit.clone().unwrap_or_else(|| "all".to_owned()),
                result.check.clone(),
                result.verdict.as_str().to_owned(),
                result.standards.en_303_645.join(", "),
            ]);
        }
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for (device, report) in reports {
        let s = &report.summary;
        out.push_str(&format!(
            "{device}: {} PASS, {} FAIL, {} INCONCLUSIVE, {} NOT_APPLICABLE, {} ERROR -> {}\n",
            s.pass, s.fail, s.inconclusive, s.not_applicable, s.error, s.outcome
        ));
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
