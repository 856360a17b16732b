//! Events a suite emits while it runs, and the JSON Lines protocol of external suites.
//!
//! Built-in suites send [`SuiteEvent`]s through the [`crate::EventSink`]; an external
//! suite (any executable, in any language) writes the same events as JSON Lines on its
//! standard output, so a lab can add a check without rebuilding iotcert.
//!
//! # External-suite protocol
//!
//! The harness runs the program twice.
//!
//! 1. `PROGRAM [ARGS..] describe` must print one line, a [`crate::SuiteDescriptor`]:
//!
//! ```json
//! {"id":"vendor-x","version":"1.0.0","title":"Vendor X checks","checks":[{"id":"vendor-x.no-debug-uart","title":"No debug console on the network","modal":"shall","scope":"per_unit","description":"...","remediation":"...","positive_control":"an open port of the same unit was seen open","standards":{"en_303_645":["5.6-4"],"ts_103_701":["5.6-4-2"],"owasp_isvs":[],"owasp_iot_top10":["I9"]}}]}
//! ```
//!
//! 2. `PROGRAM [ARGS..] run` receives one JSON object on standard input, an
//!    [`ExternalRunRequest`]: the sample units, the profile, the checks still pending
//!    and the seconds left. It then prints one event per line:
//!
//! ```json
//! {"type":"started","check":"vendor-x.no-debug-uart","unit":"unit-1"}
//! {"type":"progress","done":1,"total":2,"message":"probing 127.0.0.1"}
//! {"type":"result","check":"vendor-x.no-debug-uart","unit":"unit-1","verdict":"PASS","summary":"no console answered on 23/tcp","proof":"23/tcp refused the connection while 80/tcp accepted one","evidence":[{"kind":"note","label":"probe","media_type":"text/plain","data":"bm8gYW5zd2Vy"}]}
//! {"type":"log","level":"info","message":"done"}
//! ```
//!
//! A PASS must carry `"proof"`: one sentence saying what the check observed of its
//! positive control (the descriptor's `positive_control` says what that is); a PASS
//! without it is recorded as ERROR. A result may carry `"effort":{"cases":N,"milliseconds":M}`, the testing it rests on
//! (schemes set minimums on it for fuzzing). Evidence `data` is base64. Lines longer than the harness's cap (1 MiB), malformed
//! lines, results for unknown checks and the program's exit status are all recorded:
//! a broken external suite yields ERROR results, never a crash of the harness. The
//! program is killed when the suite deadline passes. An external suite is lab code that
//! the lab trusts: the harness gives it only in-scope addresses, but cannot stop it from
//! opening sockets of its own.

use crate::evidence::Evidence;
use crate::profile::{Profile, SampleUnit};
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// The decision for one check on one unit (or across units), with its evidence.
// No `deny_unknown_fields`: serde cannot combine it with the internally tagged
// `SuiteEvent::Result` variant (the `type` tag would count as unknown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's stable id.
    pub check: String,
    /// The sample unit's id; `None` for checks decided across units.
    #[serde(default)]
    pub unit: Option<String>,
    pub verdict: Verdict,
    /// One or two sentences: what was found, or why no decision was possible.
    pub summary: String,
    /// What to change, when the verdict is FAIL; defaults to the check's remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// How much testing the verdict rests on, for checks whose strength grows with it
    /// (fuzzing); a scheme may require a minimum before it labels a device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    /// For a PASS, what the check observed of its positive control
    /// ([`crate::CheckSpec::positive_control`]). A PASS without it is not a PASS: the
    /// harness records ERROR instead ([`CheckResult::admitted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
}

/// What a check observed that makes its PASS mean something: the positive control.
///
/// A check that refused a tampered image proves nothing unless it saw the genuine one
/// accepted; a login probe that saw every password refused proves nothing unless it can
/// tell a good login from a bad one. The text says, for this result, what was seen
/// (`the declared credential opened 80/tcp; 14 wrong ones were refused`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Proof(String);

impl Proof {
    /// The positive control as observed; a blank text is no proof.
    pub fn observed(what: impl Into<String>) -> Self {
        Proof(what.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the text says something.
    pub fn is_given(&self) -> bool {
        !self.0.trim().is_empty()
    }
}

/// A duration in whole milliseconds, for evidence and effort; saturating (u64
/// milliseconds last 584 million years), so a measured time is never wrapped.
pub fn whole_milliseconds(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The testing behind one result: test cases sent and time spent sending them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effort {
    pub cases: u64,
    pub milliseconds: u64,
}

impl CheckResult {
    /// A result without evidence; add it with [`CheckResult::with_evidence`].
    pub fn new(
        check: impl Into<String>,
        unit: Option<&str>,
        verdict: Verdict,
        summary: impl Into<String>,
    ) -> Self {
        CheckResult {
            check: check.into(),
            unit: unit.map(str::to_owned),
            verdict,
            summary: summary.into(),
            remediation: None,
            evidence: Vec::new(),
            effort: None,
            proof: None,
        }
    }

    /// A PASS, which cannot be built without the [`Proof`] of its positive control.
    pub fn pass(
        check: impl Into<String>,
        unit: Option<&str>,
        summary: impl Into<String>,
        proof: Proof,
    ) -> Self {
        Self::new(check, unit, Verdict::Pass, summary).with_proof(proof)
    }

    /// Attach the proof of the positive control (meaningful on a PASS only).
    pub fn with_proof(mut self, proof: Proof) -> Self {
        self.proof = Some(proof);
        self
    }

    /// The result as the harness records it: a PASS without a [`Proof`] (or with a
    /// blank one) becomes ERROR naming the suite that forgot it, and a NOT_APPLICABLE
    /// without a reason becomes ERROR too. The engine and [`crate::run_alone`] both pass
    /// every result through here, so a PASS without proof never reaches a report.
    pub fn admitted(self, suite: &str) -> Self {
        match self.verdict {
            Verdict::Pass if !self.proof.as_ref().is_some_and(Proof::is_given) => {
                let mut result = CheckResult::new(
                    self.check,
                    self.unit.as_deref(),
                    Verdict::Error,
                    format!(
                        "suite {suite} said PASS without proof of the check's positive control \
                         (a fault of the suite); it said: {}",
                        self.summary
                    ),
                );
                result.evidence = self.evidence;
                result.effort = self.effort;
                result
            }
            Verdict::NotApplicable if self.summary.trim().is_empty() => CheckResult::new(
                self.check,
                self.unit.as_deref(),
                Verdict::Error,
                format!(
                    "suite {suite} said NOT_APPLICABLE without a reason (a fault of the suite)"
                ),
            ),
            _ => self,
        }
    }

    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }

    pub fn with_remediation(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = Some(remediation.into());
        self
    }

    pub fn with_effort(mut self, effort: Effort) -> Self {
        self.effort = Some(effort);
        self
    }
}

/// Severity of a log event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
}

/// One thing a suite reports while it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SuiteEvent {
    /// Work on a check began.
    Started {
        check: String,
        #[serde(default)]
        unit: Option<String>,
    },
    /// A check was decided.
    Result(CheckResult),
    /// Progress of long work, for progress bars.
    Progress {
        done: u64,
        total: u64,
        #[serde(default)]
        message: Option<String>,
    },
    /// A remark for the campaign log.
    Log { level: LogLevel, message: String },
}

/// What an external suite receives on standard input for `run`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExternalRunRequest {
    pub units: Vec<SampleUnit>,
    pub profile: Profile,
    /// `(check, unit)` pairs still to decide; skip the rest (a resumed campaign).
    pub pending: Vec<crate::PlanKey>,
    pub seconds_left: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_lines_parse() {
        let lines = [
            r#"{"type":"started","check":"vendor-x.no-debug-uart","unit":"unit-1"}"#,
            r#"{"type":"progress","done":1,"total":2,"message":"probing 127.0.0.1"}"#,
            r#"{"type":"result","check":"vendor-x.no-debug-uart","unit":"unit-1","verdict":"PASS","summary":"no console answered on 23/tcp","proof":"23/tcp refused the connection while 80/tcp accepted one","evidence":[{"kind":"note","label":"probe","media_type":"text/plain","data":"bm8gYW5zd2Vy"}]}"#,
            r#"{"type":"log","level":"info","message":"done"}"#,
        ];
        for line in lines {
            let event: SuiteEvent = serde_json::from_str(line).unwrap();
            let again: SuiteEvent =
                serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
            assert_eq!(event, again);
        }
    }

    #[test]
    fn a_pass_without_proof_is_admitted_as_error_naming_the_suite() {
        let bare = CheckResult::new("x.y", Some("unit-1"), Verdict::Pass, "looked fine");
        let admitted = bare.admitted("vendor-x");
        assert_eq!(admitted.verdict, Verdict::Error);
        assert!(
            admitted.summary.contains("vendor-x"),
            "{}",
            admitted.summary
        );
        let blank = CheckResult::pass("x.y", None, "fine", Proof::observed("  "));
        assert_eq!(blank.admitted("s").verdict, Verdict::Error);
        let proven = CheckResult::pass(
            "x.y",
            None,
            "fine",
            Proof::observed("a bad login was refused and the declared one opened"),
        );
        assert_eq!(proven.clone().admitted("s"), proven);
        let line = r#"{"type":"result","check":"x","verdict":"PASS","summary":"fine"}"#;
        let SuiteEvent::Result(external) = serde_json::from_str(line).unwrap() else {
            panic!("not a result")
        };
        assert_eq!(external.admitted("ext").verdict, Verdict::Error);
    }

    #[test]
    fn a_fail_needs_no_proof_and_not_applicable_needs_a_reason() {
        let fail = CheckResult::new("x", None, Verdict::Fail, "admin/admin opened 80/tcp");
        assert_eq!(fail.clone().admitted("s"), fail);
        let na = CheckResult::new("x", None, Verdict::NotApplicable, " ");
        assert_eq!(na.admitted("s").verdict, Verdict::Error);
    }

    #[test]
    fn unknown_verdict_is_refused() {
        let line = r#"{"type":"result","check":"x","verdict":"MAYBE","summary":""}"#;
        assert!(serde_json::from_str::<SuiteEvent>(line).is_err());
    }
}
