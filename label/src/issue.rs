//! Issuing a label: the policy decides, the statement is built, the lab signs.
//!
//! [`issue`] is the only way the harness makes a label: it evaluates the scheme policy
//! first and refuses with every blocker, stamps the validity window (the scheme's
//! lifetime, capped by the signer chain's `notAfter`), then signs the statement in a
//! DSSE envelope. [`sign_statement`] signs a ready statement with no policy, for tests
//! and tools that must produce labels the policy would refuse.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::policy::{
    evaluate_level, unknown_level, Blocker, CheckOutcome, SchemePolicy, SuiteBudget,
};
use crate::signed_file::LABEL_FORMAT;
use crate::signer::{LabelSigner, SignerError};
use crate::statement::{
    CheckVerdict, FirmwareSubject, LabelDevice, LabelPredicate, LabelStatement, LevelRef,
    SchemeRef, Sha256Hex, ToolVersion, PAYLOAD_TYPE,
};
use crate::timefmt::{add_months, rfc3339, to_label_time};

/// What the harness knows about a finished campaign, for a label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignFacts {
    pub campaign_id: String,
    pub device: LabelDevice,
    /// The firmware image tested: the statement's subject.
    pub firmware: FirmwareSubject,
    pub profile_sha256: Sha256Hex,
    pub report_sha256: Sha256Hex,
    /// The harness version, such as `iotcert 0.1.0`.
    pub harness: ToolVersion,
    /// Version of each suite that ran, by suite id.
    pub suites: BTreeMap<String, String>,
    pub outcomes: Vec<CheckOutcome>,
    /// Budgets the suites spent, for the policy's `min_budget`.
    pub budgets: Vec<SuiteBudget>,
    /// The label this one renews (retest).
    pub supersedes: Option<Uuid>,
}

/// A signed label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedLabel {
    pub statement: LabelStatement,
    /// The label file (JSON), as written to `label.json`.
    pub file: Vec<u8>,
}

/// Why no label was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The campaign does not meet the level; each blocker names a check or suite.
    #[error("the campaign does not meet the level: {}", list(.0))]
    Blocked(Vec<Blocker>),
    /// The signer chain is not valid at the issue time, or would give a label no life.
    #[error("{0}")]
    SignerNotValid(String),
    /// The policy was not read from a file, so the label could not bind its digest.
    #[error("the scheme policy has no source digest: load it with SchemePolicy::from_toml_str")]
    PolicyWithoutSource,
    #[error(transparent)]
    Signing(#[from] SignerError),
}

fn list(blockers: &[Blocker]) -> String {
    blockers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Issue a label for `facts` at `level` of `policy`, signed by `signer`, valid from
/// `issued_at` (stamped in UTC to the second).
pub fn issue(
    policy: &SchemePolicy,
    level: u8,
    facts: &CampaignFacts,
    signer: &LabelSigner,
    issued_at: OffsetDateTime,
) -> Result<IssuedLabel, IssueError> {
    let level_policy = policy
        .level(level)
        .ok_or_else(|| IssueError::Blocked(vec![unknown_level(policy)]))?;
    evaluate_level(level_policy, &facts.outcomes, &facts.budgets).map_err(IssueError::Blocked)?;
    let policy_sha256 = policy
        .source_sha256
        .clone()
        .ok_or(IssueError::PolicyWithoutSource)?;
    let issued_at = to_label_time(issued_at);
    if issued_at < signer.valid_from() || issued_at > signer.valid_until() {
        return Err(IssueError::SignerNotValid(format!(
            "the signer chain is valid from {} to {}, not at {}",
            rfc3339(signer.valid_from()),
            rfc3339(signer.valid_until()),
            rfc3339(issued_at)
        )));
    }
    let lifetime_end = add_months(issued_at, policy.scheme.label_lifetime_months.get())
        .unwrap_or(signer.valid_until());
    let expires_at = lifetime_end.min(signer.valid_until());
    if expires_at <= issued_at {
        return Err(IssueError::SignerNotValid(format!(
            "the signer chain expires at {}, leaving the label no validity",
            rfc3339(signer.valid_until())
        )));
    }
    let checks = per_check(&facts.outcomes);
    let statement = LabelStatement {
        firmware: facts.firmware.clone(),
        predicate: LabelPredicate {
            label_id: Uuid::new_v4(),
            scheme: SchemeRef {
                id: policy.scheme.id.clone(),
                version: policy.scheme.version.get(),
                policy_sha256,
            },
            level: LevelRef {
                number: level_policy.number,
                name: level_policy.name.clone(),
            },
            device: facts.device.clone(),
            profile_sha256: facts.profile_sha256.clone(),
            lab: signer.lab().clone(),
            campaign_id: facts.campaign_id.clone(),
            harness: facts.harness.clone(),
            suites: facts.suites.clone(),
            checks,
            report_sha256: facts.report_sha256.clone(),
            issued_at,
            expires_at,
            supersedes: facts.supersedes,
        },
    };
    let file = sign_statement(&statement, signer)?;
    Ok(IssuedLabel { statement, file })
}

/// One verdict per check: the worst over its units.
fn per_check(outcomes: &[CheckOutcome]) -> BTreeMap<String, CheckVerdict> {
    let mut checks: BTreeMap<String, CheckVerdict> = BTreeMap::new();
    for outcome in outcomes {
        let entry = checks
            .entry(outcome.check.clone())
            .or_insert_with(|| CheckVerdict {
                verdict: outcome.verdict,
                modal: outcome.modal,
                provisions: outcome.en_303_645.clone(),
            });
        if CheckVerdict::severity(outcome.verdict) < CheckVerdict::severity(entry.verdict) {
            entry.verdict = outcome.verdict;
        }
    }
    checks
}

/// Sign a statement as it is, without any policy: the label file bytes.
pub fn sign_statement(
    statement: &LabelStatement,
    signer: &LabelSigner,
) -> Result<Vec<u8>, SignerError> {
    let payload = statement
        .to_payload()
        .map_err(|error| SignerError::Signing(format!("statement: {error}")))?;
    signer.sign_file(LABEL_FORMAT, PAYLOAD_TYPE, &payload)
}
