//! The five verdicts a check can end with.
//!
//! TS 103 701 knows only PASS and FAIL. The other three are ours, and each says why no
//! PASS or FAIL could be given, so a reader never mistakes "not tested" for "passed".

use serde::{Deserialize, Serialize};
use std::fmt;

/// The outcome of one check on one sample unit (or across units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The device was exercised and met the requirement.
    Pass,
    /// The device was exercised and did not meet the requirement.
    Fail,
    /// The harness could not decide: unreachable, timed out, deadline reached.
    Inconclusive,
    /// The requirement does not apply to this device; always carries a written reason.
    NotApplicable,
    /// The harness itself failed; never a fault of the device.
    Error,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Inconclusive,
        Verdict::NotApplicable,
        Verdict::Error,
    ];

    /// The name used in reports and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::NotApplicable => "NOT_APPLICABLE",
            Verdict::Error => "ERROR",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
