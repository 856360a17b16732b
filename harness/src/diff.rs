//! `iotcert diff`: what changed between two campaigns, typically two firmware versions.
//!
//! A manufacturer runs this before each release: every check whose verdict changed,
//! and checks that appear in only one campaign. A change to a worse verdict is a
//! regression and makes the command exit with [`crate::exit::FINDINGS`].

use crate::report::{Report, ReportResult};
use iotcert_suite::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

/// One check and unit whose verdict differs between the two campaigns.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub suite: String,
    pub check: String,
    pub unit: Option<String>,
    /// `None` when the check was not in that campaign.
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
    /// True when the verdict got worse (see [`rank`]).
    pub regression: bool,
    pub summary_after: Option<String>,
}

/// The comparison of two campaigns.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub firmware_before: String,
    pub firmware_after: String,
    pub unchanged: usize,
    pub changes: Vec<Change>,
}

impl Diff {
    pub fn regressions(&self) -> usize {
        self.changes.iter().filter(|c| c.regression).count()
    }
}

/// How good a verdict is for the device; a drop in rank is a regression.
fn rank(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Pass | Verdict::NotApplicable => 3,
        Verdict::Inconclusive => 2,
        Verdict::Error => 1,
        Verdict::Fail => 0,
    }
}

type Key = (String, String, Option<String>);

fn keyed(report: &Report) -> BTreeMap<Key, &ReportResult> {
    report
        .results
        .iter()
        .map(|r| ((r.suite.clone(), r.check.clone(), r.unit.clone()), r))
        .collect()
}

/// Compare campaign `before` with campaign `after`.
pub fn compare(before: &Report, after: &Report) -> Diff {
    let old = keyed(before);
    let new = keyed(after);
    let mut keys: Vec<&Key> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut unchanged = 0;
    let mut changes = Vec::new();
    for key in keys {
        let was = old.get(key).map(|r| r.verdict);
        let now = new.get(key).map(|r| r.verdict);
        if was == now {
            unchanged += 1;
            continue;
        }
        let regression = match (was, now) {
            (Some(was), Some(now)) => rank(now) < rank(was),
            (None, Some(now)) => rank(now) < rank(Verdict::Pass),
            _ => false,
        };
        changes.push(Change {
            suite: key.0.clone(),
            check: key.1.clone(),
            unit: key.2.clone(),
            before: was,
            after: now,
            regression,
            summary_after: new.get(key).map(|r| r.summary.clone()),
        });
    }
    Diff {
        before: before.campaign.id.clone(),
        after: after.campaign.id.clone(),
        firmware_before: before.device.firmware_version.clone(),
        firmware_after: after.device.firmware_version.clone(),
        unchanged,
        changes,
    }
}

/// The diff as text for a terminal.
pub fn to_text(diff: &Diff) -> String {
    let show = |v: Option<Verdict>| v.map_or("absent", Verdict::as_str);
    let mut out = format!(
        "{} (firmware {}) -> {} (firmware {}): {} changed, {} unchanged, {} regressions\n",
        diff.before,
        diff.firmware_before,
        diff.after,
        diff.firmware_after,
        diff.changes.len(),
        diff.unchanged,
        diff.regressions()
    );
    for change in &diff.changes {
        out.push_str(&format!(
            "{} {:<36} {:<10} {:>14} -> {:<14} {}\n",
            if change.regression { "!" } else { " " },
            change.check,
            change.unit.as_deref().unwrap_or("all"),
            show(change.before),
            show(change.after),
            change.summary_after.as_deref().unwrap_or("")
        ));
    }
    out
}
