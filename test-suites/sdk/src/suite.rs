//! The `Suite` trait: what a conformance suite must provide to the engine.

use crate::check::CheckSpec;
use crate::context::RunContext;
use crate::profile::{Profile, ProfileError, SectionSpec};
use crate::report_section::{Recorded, ReportSection};
use serde::{Deserialize, Serialize};

/// A suite's identity and the checks it can decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteDescriptor {
    /// Stable id: `ports`, `credentials`, `tls`, `update`, `protofuzz`, or an external name.
    pub id: String,
    /// Semantic version; a change of verdict logic bumps it.
    pub version: String,
    pub title: String,
    pub checks: Vec<CheckSpec>,
}

/// Whether a check applies to a device, decided from its profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Applicability {
    Applicable,
    /// Never without a reason a reader can check against the profile.
    NotApplicable {
        reason: String,
    },
}

/// A failure of the suite itself (never of the device): becomes ERROR results.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SuiteError(pub String);

impl From<ProfileError> for SuiteError {
    /// A section the suite could not read: the harness refuses such a profile when it
    /// is loaded, so this is met only by a suite run on a profile nobody checked.
    fn from(error: ProfileError) -> Self {
        SuiteError(format!("profile: {error}"))
    }
}

/// A conformance suite.
#[async_trait::async_trait]
pub trait Suite: Send + Sync {
    /// Identity and checks; must not change between calls.
    fn descriptor(&self) -> SuiteDescriptor;

    /// The profile sections this suite reads (`[ports]`...), each with its type:
    /// [`SectionSpec::of::<T>()`](SectionSpec::of) for a `T:`
    /// [`ProfileSection`](crate::profile::ProfileSection). The harness checks them when
    /// the profile is loaded, before anything is sent, and refuses a section no suite
    /// reads.
    fn profile_sections(&self) -> Vec<SectionSpec> {
        Vec::new()
    }

    /// Whether `check` applies to the device described by `profile`.
    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability;

    /// True for a suite that may change the device's state for others: lock accounts
    /// (brute force), crash or restart it (fuzzing). The engine runs such suites one at
    /// a time, after every other suite has finished, so they cannot spoil other
    /// verdicts.
    fn disturbs_device(&self) -> bool {
        false
    }

    /// The suite's own part of the campaign report, made from what the campaign
    /// recorded of it (its results and their evidence), when it has more to show than
    /// its verdicts: the harness renders it without knowing the suite's evidence.
    fn report_section(&self, recorded: &dyn Recorded) -> Option<ReportSection> {
        let _ = recorded;
        None
    }

    /// Exercise the device and emit a result for every pending, applicable check.
    ///
    /// Return when done, or soon after the context's deadline or cancellation; the
    /// engine records every pending check left undecided as INCONCLUSIVE (deadline or
    /// cancellation) or ERROR (the suite returned without deciding it).
    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError>;
}
