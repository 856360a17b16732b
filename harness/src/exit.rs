//! The exit-code policy, in one place: what a finished campaign means to a CI job.
//!
//! - [`SUCCESS`] (0): nothing the chosen [`FailOn`] policy counts as a finding.
//! - [`FINDINGS`] (1): findings. By default ([`FailOn::Shall`]) a `shall` check that
//!   failed or could not be decided (INCONCLUSIVE); a failed `should` check is reported
//!   but does not fail the job. `level-N` policies fail the job when the campaign does
//!   not meet level N of the default scheme.
//! - [`HARNESS_FAILURE`] (2): the harness failed (an ERROR verdict, a campaign left
//!   incomplete) or was misused (bad profile, out-of-scope address, unknown campaign).
//!   No policy turns a harness failure into success.

use iotcert_suite::{Modal, Verdict};

pub const SUCCESS: u8 = 0;
pub const FINDINGS: u8 = 1;
pub const HARNESS_FAILURE: u8 = 2;

/// What fails a CI job (`--fail-on`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// A `shall` check that is FAIL or INCONCLUSIVE (EN 303 645 conformance).
    #[default]
    Shall,
    /// Any FAIL, `shall` or `should`.
    Fail,
    /// Any FAIL or INCONCLUSIVE, `shall` or `should`.
    Inconclusive,
    /// Nothing but harness failures.
    Never,
    /// Level 1 (Baseline) of the default scheme is not met.
    #[value(name = "level-1")]
    #[serde(rename = "level-1")]
    Level1,
    /// Level 2 (Hardened) of the default scheme is not met.
    #[value(name = "level-2")]
    #[serde(rename = "level-2")]
    Level2,
    /// Level 3 (Resilient) of the default scheme is not met.
    #[value(name = "level-3")]
    #[serde(rename = "level-3")]
    Level3,
}

impl FailOn {
    fn counts(self, (modal, verdict): (Modal, Verdict)) -> bool {
        match self {
            FailOn::Shall => {
                modal == Modal::Shall && matches!(verdict, Verdict::Fail | Verdict::Inconclusive)
            }
            FailOn::Fail => verdict == Verdict::Fail,
            FailOn::Inconclusive => matches!(verdict, Verdict::Fail | Verdict::Inconclusive),
            FailOn::Never | FailOn::Level1 | FailOn::Level2 | FailOn::Level3 => false,
        }
    }

    /// The scheme level this policy requires, if it is a level policy.
    fn level(self) -> Option<u8> {
        match self {
            FailOn::Level1 => Some(1),
            FailOn::Level2 => Some(2),
            FailOn::Level3 => Some(3),
            _ => None,
        }
    }
}

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

/// Judge a campaign's results, each as its check's modal and its verdict, under
/// `policy`; `pending` counts planned checks with no result yet, `levels_met` lists the
/// scheme levels the results meet.
pub fn outcome(
    results: &[(Modal, Verdict)],
    pending: usize,
    policy: FailOn,
    levels_met: &[u8],
) -> Outcome {
    if results
        .iter()
        .any(|&(_, verdict)| verdict == Verdict::Error)
    {
        return Outcome::HarnessError;
    }
    if pending > 0 {
        return Outcome::Incomplete;
    }
    let level_missed = policy
        .level()
        .is_some_and(|wanted| !levels_met.contains(&wanted));
    if level_missed || results.iter().any(|&judged| policy.counts(judged)) {
        Outcome::Findings
    } else {
        Outcome::Pass
    }
}
