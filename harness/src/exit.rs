//! The exit-code policy, in one place: what a finished campaign means to a CI job.
//!
//! - [`SUCCESS`] (0): every applicable `shall` check passed.
//! - [`FINDINGS`] (1): a `shall` check failed or could not be decided (INCONCLUSIVE).
//!   A failed `should` check is reported but does not fail the job.
//! - [`HARNESS_FAILURE`] (2): the harness failed (an ERROR verdict, a campaign left
//!   incomplete) or was misused (bad profile, out-of-scope address, unknown campaign).

use crate::report::ReportResult;
use iotcert_suite::{Modal, Verdict};

pub const SUCCESS: u8 = 0;
pub const FINDINGS: u8 = 1;
pub const HARNESS_FAILURE: u8 = 2;

/// What a set of results amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Findings,
    HarnessError,
    Incomplete,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Findings => "findings",
            Outcome::HarnessError => "harness-error",
            Outcome::Incomplete => "incomplete",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass => SUCCESS,
            Outcome::Findings => FINDINGS,
            Outcome::HarnessError | Outcome::Incomplete => HARNESS_FAILURE,
        }
    }
}

/// Judge a campaign's results; `pending` counts planned checks with no result yet.
pub fn outcome(results: &[ReportResult], pending: usize) -> Outcome {
    if results.iter().any(|r| r.verdict == Verdict::Error) {
        return Outcome::HarnessError;
    }
    if pending > 0 {
        return Outcome::Incomplete;
    }
    let shall_not_passed = results.iter().any(|r| {
        r.modal == Modal::Shall && matches!(r.verdict, Verdict::Fail | Verdict::Inconclusive)
    });
    if shall_not_passed {
        Outcome::Findings
    } else {
        Outcome::Pass
    }
}
