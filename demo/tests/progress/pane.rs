//! Reading a tmux capture of iotcert's terminal display: the bars drawn at the bottom
//! of the screen and the result lines printed above them.

use std::collections::BTreeMap;

/// Verdict words, as result lines show them after the device's name.
const VERDICTS: [&str; 5] = ["PASS", "FAIL", "ERROR", "INCONCLUSIVE", "NOT_APPLICABLE"];

/// A suite of one device (the demo runs each suite once per device).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SuiteKey {
    pub device: String,
    pub suite: String,
}

/// One progress bar or spinner on screen.
#[derive(Debug)]
pub struct Bar {
    pub key: SuiteKey,
    /// `done/total`, when the line shows a count.
    pub counts: Option<(u64, u64)>,
    pub line: String,
}

/// One reading of the pane.
#[derive(Debug)]
pub struct Capture {
    /// Every line printed so far (scrollback and screen), wrapped lines joined.
    pub lines: Vec<String>,
    /// The bars on screen.
    pub bars: Vec<Bar>,
    /// Result lines printed so far, per suite of each device.
    pub results: BTreeMap<SuiteKey, usize>,
    /// The screen as it was, for failure messages.
    pub screen: String,
}

impl Capture {
    pub fn parse(scrollback: &str, screen: &str) -> Capture {
        let lines: Vec<String> = scrollback.lines().map(str::to_owned).collect();
        let mut results = BTreeMap::new();
        for line in &lines {
            if let Some(key) = result_line(line) {
                *results.entry(key).or_default() += 1;
            }
        }
        Capture {
            bars: screen.lines().filter_map(bar_line).collect(),
            lines,
            results,
            screen: screen.to_owned(),
        }
    }
}

/// `DEVICE VERDICT SUITE.CHECK UNIT SUMMARY`: the suite of the result.
fn result_line(line: &str) -> Option<SuiteKey> {
    let mut words = line.split_whitespace();
    let device = words.next()?;
    let verdict = words.next()?;
    let (suite, _check) = words.next()?.split_once('.')?;
    VERDICTS.contains(&verdict).then(|| SuiteKey {
        device: device.to_owned(),
        suite: suite.to_owned(),
    })
}

/// A line drawn by a bar: indicatif's spinner (a braille pattern) first, then the
/// device and the suite, and a `done/total` count when the bar has a length.
fn bar_line(line: &str) -> Option<Bar> {
    let mut words = line.split_whitespace();
    let spinner = words.next()?;
    if !spinner
        .chars()
        .all(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
    {
        return None;
    }
    let device = words.next()?.to_owned();
    let suite = words.next()?.to_owned();
    let counts = words.find_map(|word| {
        let (done, total) = word.split_once('/')?;
        Some((done.parse().ok()?, total.parse().ok()?))
    });
    Some(Bar {
        key: SuiteKey { device, suite },
        counts,
        line: line.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_results_are_told_apart() {
        let screen =
            "secure PASS           ports.debug-interface                unit-1     No debug\n\
                      \u{2816} secure ports             [          ] 0/12 unit-1: UDP probes\n\
                      \u{2812} secure tls               [==========] 0/0 31 checks\n\
                      \u{2812} secure credentials  unit-1: control logins\n";
        let capture = Capture::parse(screen, screen);
        let key = |suite: &str| SuiteKey {
            device: "secure".into(),
            suite: suite.into(),
        };
        assert_eq!(capture.results.get(&key("ports")), Some(&1));
        let bars: Vec<(&str, Option<(u64, u64)>)> = capture
            .bars
            .iter()
            .map(|b| (b.key.suite.as_str(), b.counts))
            .collect();
        assert_eq!(
            bars,
            [
                ("ports", Some((0, 12))),
                ("tls", Some((0, 0))),
                ("credentials", None)
            ]
        );
    }
}
