//! The records the harness keeps about a campaign: what was planned and what was decided.
//!
//! These are what the store persists and what reports are built from; they carry enough
//! (the profile text, the suites' descriptors and the plan) to resume or re-render a
//! campaign without the original files.

use iotcert_suite::pacer::PaceRecord;
use iotcert_suite::{Applicability, Effort, EvidenceKind, PlanKey, SuiteDescriptor, Verdict};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a campaign stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Running, or killed while running: `iotcert run --resume` finishes it.
    Running,
    /// Stopped by Ctrl-C; resumable.
    Interrupted,
    /// Every planned check has a result.
    Completed,
}

/// One planned decision of a campaign and whether it applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCheck {
    pub suite: String,
    #[serde(flatten)]
    pub key: PlanKey,
    pub applicability: Applicability,
}

/// A campaign: one run of suites against the units of one device profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CampaignRecord {
    /// Sortable by creation time: `20261121T203000Z-1a2b3c`.
    pub id: String,
    pub status: CampaignStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The profile file as given, so a resume or retest runs exactly the same profile.
    pub profile_path: String,
    pub profile_toml: String,
    /// sha256 of `profile_toml`.
    pub profile_digest: String,
    pub harness_version: String,
    /// The suites as they were when the campaign was planned.
    pub suites: Vec<SuiteDescriptor>,
    pub plan: Vec<PlannedCheck>,
    /// What each unit's pacer did, one entry per unit and run (a resumed campaign adds
    /// its own).
    #[serde(default)]
    pub pacing: Vec<UnitPace>,
}

/// What the pacer of one unit did during one run: the pace the unit held and every
/// back-off with its cause (a fragile stack is a robustness finding in itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitPace {
    pub unit: String,
    #[serde(flatten)]
    pub record: PaceRecord,
}

/// A reference to stored evidence: what it is and where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub kind: EvidenceKind,
    pub label: String,
    pub media_type: String,
    /// sha256 of the bytes, the key in the evidence store.
    pub sha256: String,
    pub size: u64,
    pub truncated: bool,
}

/// A decided check as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResult {
    pub campaign: String,
    pub suite: String,
    pub check: String,
    pub unit: Option<String>,
    pub verdict: Verdict,
    pub summary: String,
    pub remediation: Option<String>,
    pub evidence: Vec<EvidenceRef>,
    /// The testing the verdict rests on, when the suite measured it (fuzzing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    /// For a PASS, what the check observed of its positive control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// A label the lab issued, as the lab's register keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabelRecord {
    /// The label id (a UUID).
    pub id: String,
    pub campaign: String,
    pub scheme: String,
    pub level: u8,
    pub level_name: String,
    /// `manufacturer model firmware_version`.
    pub device: String,
    pub firmware_sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the signer's certificate chain stops being valid.
    #[serde(with = "time::serde::rfc3339")]
    pub signer_valid_until: OffsetDateTime,
    /// The label this one renews.
    pub supersedes: Option<String>,
    /// The label file exactly as issued.
    pub file: String,
    /// The human label (SVG with its QR code), as rendered at issue.
    pub svg: String,
    /// The report JSON whose digest the label binds (`report_sha256`), byte for byte;
    /// written beside the label as `label-report.json`. Empty for labels recorded
    /// before it was kept.
    #[serde(default)]
    pub report: String,
}
