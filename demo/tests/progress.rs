//! The live display of a campaign as a person at a terminal sees it: `iotcert demo`
//! runs in a tmux pane of 160 × 50, and the pane (with its scrollback) is read while
//! the demo runs and once it has ended.
//!
//! What must hold: no suite shows a full `0/0` bar (a suite with no known total shows
//! a spinner), the bar of a suite whose last result is on screen is gone, no bar is
//! left when the demo ends, and no line is wider than the pane (result lines are cut,
//! never wrapped). tmux is required: scripts/test installs it, and without it this
//! test fails rather than passing unseen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod progress {
    pub mod pane;
    pub mod tmux;
}

use progress::pane::{Capture, SuiteKey};
use progress::tmux::Tmux;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const WIDTH: usize = 160;
const HEIGHT: usize = 50;
/// The demo's loopback block, 127.93.0.0/16: no other test uses it.
const LOOPBACK_BLOCK: &str = "93";
/// How often the pane is read while the demo runs.
const EVERY: Duration = Duration::from_millis(400);
/// The demo takes well under a minute; this leaves room for a loaded machine.
const AT_MOST: Duration = Duration::from_secs(420);

/// How many results each suite of each device recorded, from the demo's reports.
fn results_per_suite(out: &Path) -> BTreeMap<SuiteKey, usize> {
    let mut counts = BTreeMap::new();
    for device in ["secure", "insecure"] {
        let path = out.join(device).join("report.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the demo wrote no {}: {e}", path.display()));
        let report: serde_json::Value = serde_json::from_str(&text).unwrap();
        for result in report["results"].as_array().unwrap() {
            let check = result["check"].as_str().unwrap();
            let suite = check.split('.').next().unwrap().to_owned();
            *counts
                .entry(SuiteKey {
                    device: device.to_owned(),
                    suite,
                })
                .or_default() += 1;
        }
    }
    counts
}

#[test]
fn demo_in_a_160_column_terminal_shows_real_bars_clears_them_and_never_wraps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tmux = Tmux::start(
        dir.path(),
        WIDTH,
        HEIGHT,
        &[
            env!("CARGO_BIN_EXE_iotcert-demo"),
            "--loopback-block",
            LOOPBACK_BLOCK,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (width, height) = tmux.pane_size();
    assert_eq!(
        (width, height),
        (WIDTH, HEIGHT),
        "the pane has the asked size"
    );

    let started = Instant::now();
    let mut captures: Vec<Capture> = Vec::new();
    let exit_status = loop {
        let dead = tmux.exit_status();
        captures.push(Capture::parse(&tmux.scrollback(), &tmux.screen()));
        if let Some(status) = dead {
            break status;
        }
        assert!(
            started.elapsed() < AT_MOST,
            "the demo did not end within {AT_MOST:?}; the pane:\n{}",
            tmux.screen()
        );
        std::thread::sleep(EVERY);
    };
    let last = captures.last().unwrap();
    let expected = results_per_suite(&out);
    let context =
        |capture: &Capture| format!("exit status {exit_status}; the pane:\n{}", capture.screen);

    // The test saw the display it judges: bars of several suites, some with a length.
    let suites_seen: std::collections::BTreeSet<&str> = captures
        .iter()
        .flat_map(|c| c.bars.iter().map(|b| b.key.suite.as_str()))
        .collect();
    assert!(
        suites_seen.len() >= 3,
        "bars of at least three suites were seen (saw {suites_seen:?}); {}",
        context(last)
    );
    assert!(
        captures
            .iter()
            .flat_map(|c| &c.bars)
            .any(|b| b.counts.is_some_and(|(_, total)| total > 0)),
        "some bar had a real length; {}",
        context(last)
    );

    // Every fault found, the first example of each kind, so one run shows them all.
    let mut faults: BTreeMap<&str, String> = BTreeMap::new();
    for capture in &captures {
        if let Some(line) = capture.lines.iter().find(|l| l.chars().count() > WIDTH) {
            faults.entry("wrapped line").or_insert_with(|| {
                format!(
                    "a line of {} columns in a {WIDTH}-column pane: {line:?}\n{}",
                    line.chars().count(),
                    context(capture)
                )
            });
        }
        if let Some(bar) = capture.bars.iter().find(|b| b.counts == Some((0, 0))) {
            faults
                .entry("0/0 bar")
                .or_insert_with(|| format!("a 0/0 bar: {:?}\n{}", bar.line, context(capture)));
        }
    }
    // A suite whose every result is on screen has ended: its bar must be gone by the
    // next reading (one reading may fall between the last result and the clearing).
    for pair in captures.windows(2) {
        let [before, after] = pair else { continue };
        for bar in &after.bars {
            let total = expected.get(&bar.key).copied().unwrap_or(usize::MAX);
            let ended = |c: &Capture| c.results.get(&bar.key).copied().unwrap_or(0) >= total;
            if ended(before) && ended(after) && before.bars.iter().any(|b| b.key == bar.key) {
                faults.entry("lingering bar").or_insert_with(|| {
                    format!(
                        "{} {} has shown all its {total} results, yet its bar is still drawn: {:?}\n{}",
                        bar.key.device,
                        bar.key.suite,
                        bar.line,
                        context(after)
                    )
                });
            }
        }
    }
    if !last.bars.is_empty() {
        faults.insert(
            "bar left at the end",
            format!(
                "bars left when the demo ended: {:?}\n{}",
                last.bars,
                context(last)
            ),
        );
    }
    assert!(
        faults.is_empty(),
        "{}",
        faults
            .iter()
            .map(|(kind, example)| format!("== {kind}: {example}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for (key, total) in &expected {
        assert_eq!(
            last.results.get(key),
            Some(total),
            "every result of {} {} was shown as a line; {}",
            key.device,
            key.suite,
            context(last)
        );
    }
}
