//! The report: one type that is the JSON schema of every iotcert output.
//!
//! Markdown and HTML are renderings of this type (see [`crate::render`]); a manufacturer's
//! CI reads the JSON. The schema is versioned by [`REPORT_SCHEMA`]; fields are only ever
//! added within a version (version 2 replaced version 1's `ports_found` with `sections`,
//! each suite's own part of the report: the ports suite's holds the same list as its
//! `data`). An example of a whole report is `reports/example-report.json`.
//!
//! The harness knows no suite's evidence: a suite with more to show than its verdicts
//! makes its section from what the campaign recorded of it
//! ([`iotcert_suite::Suite::report_section`]), and every rendering draws sections alike.
//!
//! ```json
//! {
//!   "schema": "iotcert-report/2",
//!   "tool": {"name": "iotcert", "version": "0.1.0"},
//!   "campaign": {"id": "20261121T203000Z-1a2b3c", "status": "completed",
//!                "started_at": "2026-11-21T20:30:00Z", "finished_at": "2026-11-21T20:30:09Z",
//!                "profile_path": "examples/testbed-insecure.toml", "profile_digest": "9f2c…"},
//!   "device": {"manufacturer": "Acme", "model": "Cam", "firmware_version": "1.0.3", …},
//!   "units": [{"id": "unit-1", "address": "127.77.2.1"}],
//!   "suites": [{"id": "ports", "version": "0.1.0", "title": "Listening ports"}],
//!   "results": [{"suite": "ports", "check": "ports.debug-interface", "unit": "unit-1",
//!                "title": "…", "modal": "shall", "verdict": "FAIL", "summary": "…",
//!                "remediation": "…", "standards": {"en_303_645": ["5.6-4"], …},
//!                "evidence": [{"kind": "transcript", "label": "…", "sha256": "…", "preview": "…"}]}],
//!   "conformance": [{"provision": "5.6-4", "modal": "shall", "ts_103_701": ["5.6-4-1"],
//!                    "checks": ["ports.debug-interface"],
//!                    "verdicts": [{"unit": "unit-1", "verdict": "FAIL"}], "overall": "FAIL"}],
//!   "timings": [{"suite": "ports", "seconds": 4.1}],
//!   "label": null,
//!   "label_readiness": [{"level": 1, "name": "Baseline", "met": false,
//!                        "blockers": ["ports.debug-interface on unit-1: FAIL"]}],
//!   "sections": [{"suite": "ports", "title": "Ports found open",
//!                 "table": {"columns": ["Unit", "Declared", "Undeclared", "Ignored by the profile"],
//!                           "rows": [["unit-1", "22/tcp", "5555/tcp", ""]]},
//!                 "chart": {"caption": "…", "groups": [{"label": "unit-1: 1 undeclared of 2 open",
//!                           "tiles": [{"label": "5555/tcp", "status": "bad", "detail": "5555/tcp undeclared (adb)"}]}]},
//!                 "data": [{"unit": "unit-1", "ports": [{"port": 5555, "transport": "tcp",
//!                           "status": "undeclared", "service": "adb"}]}]}],
//!   "summary": {"pass": 3, "fail": 5, "inconclusive": 0, "not_applicable": 0, "error": 0,
//!               "outcome": "findings", "exit_code": 1}
//! }
//! ```

use crate::exit::FailOn;
use crate::model::{CampaignRecord, CampaignStatus, EvidenceRef, StoredResult, UnitPace};
use crate::registry;
use crate::store::{Store, StoreError};
use iotcert_label::{CheckOutcome, SuiteBudget};
use iotcert_suite::pacer::{PaceRecord, PacingMode};
use iotcert_suite::profile::DeviceIdentity;
use iotcert_suite::{
    CheckSpec, Effort, EvidenceKind, Modal, Profile, Recorded, RecordedEvidence, RecordedResult,
    ReportSection, SampleUnit, Standards, Suite, Verdict,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

/// Version tag of the report schema.
pub const REPORT_SCHEMA: &str = "iotcert-report/2";
/// The most characters of an evidence item shown inline in a report.
const PREVIEW_CHARS: usize = 4096;

/// A whole campaign report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    pub tool: Tool,
    pub campaign: CampaignInfo,
    pub device: DeviceIdentity,
    pub units: Vec<SampleUnit>,
    pub suites: Vec<SuiteInfo>,
    /// One entry per planned check and unit, in suite, check, unit order.
    pub results: Vec<ReportResult>,
    /// EN 303 645 provisions against verdicts: the conformance matrix.
    pub conformance: Vec<ProvisionRow>,
    /// How long each suite took, from campaign start to its last result.
    pub timings: Vec<SuiteTiming>,
    /// The newest trust label issued for this campaign, if any.
    #[serde(default)]
    pub label: Option<LabelInfo>,
    /// For each level of the default scheme: met, or the checks and suites that block
    /// it (what `iotcert label issue` would say).
    #[serde(default)]
    pub label_readiness: Vec<LevelReadiness>,
    /// Each suite's own part of the report, in suite order (the ports suite's ports
    /// found open on each unit); empty when no suite that ran has one.
    #[serde(default)]
    pub sections: Vec<SuiteSection>,
    /// The pace each unit held, per run, and every back-off of its pacer with the cause.
    #[serde(default)]
    pub pacing: Vec<PaceRow>,
    pub summary: Summary,
}

/// What one unit's pacer did in one run, with a sentence for readers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaceRow {
    #[serde(flatten)]
    pub pace: UnitPace,
    pub summary: String,
}

impl PaceRow {
    fn of(pace: &UnitPace) -> PaceRow {
        PaceRow {
            summary: pace_summary(&pace.record),
            pace: pace.clone(),
        }
    }
}

/// `adaptive under 1000000/s and 256 open: peak 16000/s, at the end 1800/s; 3
/// back-offs (lowest 250/s): the liveness probe went unanswered (2), …`.
fn pace_summary(record: &PaceRecord) -> String {
    let mode = match record.mode {
        PacingMode::Adaptive => "adaptive under",
        PacingMode::Fixed => "fixed at",
    };
    let mut summary = format!(
        "{mode} {:.0}/s and {} open; {} connections: peak {:.0}/s, at the end {:.0}/s",
        record.ceiling_rate,
        record.ceiling_window,
        record.connections,
        record.peak_rate,
        record.final_rate
    );
    if record.back_offs_total == 0 {
        summary.push_str("; no back-off");
    } else {
        summary.push_str(&format!(
            "; {} back-off(s), lowest {:.0}/s",
            record.back_offs_total, record.lowest_rate
        ));
    }
    let signs: Vec<String> = record
        .distress_seen
        .iter()
        .map(|(cause, count)| format!("{} ({count})", cause.describe()))
        .collect();
    if !signs.is_empty() {
        summary.push_str(&format!("; signs of distress: {}", signs.join(", ")));
    }
    summary
}

/// A suite's own part of the report, as the suite made it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteSection {
    /// The suite's id.
    pub suite: String,
    #[serde(flatten)]
    pub section: ReportSection,
}

/// Whether the campaign meets one level of the default scheme.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevelReadiness {
    pub level: u8,
    pub name: String,
    pub met: bool,
    /// Each blocking check or suite, as `check on unit: VERDICT`.
    pub blockers: Vec<String>,
}

/// A label issued for the campaign, as the report shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabelInfo {
    pub id: String,
    pub scheme: String,
    pub level: u8,
    pub level_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The human label, SVG.
    pub svg: String,
}

/// One EN 303 645 provision, the TS 103 701 test cases and checks that serve it, and
/// the verdict per unit (the worst of its checks there).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProvisionRow {
    pub provision: String,
    pub modal: Modal,
    /// The TS 103 701 test units of this provision (`5.1-1-2` under `5.1-1`) that its
    /// checks serve; a check serving several provisions lists only each one's own.
    pub ts_103_701: Vec<String>,
    pub checks: Vec<String>,
    /// `(unit, cell)` in unit order; checks across units count under `all units`.
    pub verdicts: Vec<UnitVerdict>,
    /// The worst cell over every column: met (`PASS`) only when every column that has
    /// a check of the provision passed.
    pub overall: MatrixCell,
}

/// A cell of the conformance matrix for one unit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnitVerdict {
    pub unit: String,
    pub verdict: MatrixCell,
}

/// What the conformance matrix shows for a provision on one unit: the worst verdict of
/// its checks there, `NOT_TESTED` when a check of the provision has no result there (a
/// suite not run, a campaign not finished), or `NO_CHECK` for a column no check of the
/// provision is decided in (the `all units` column of a provision judged per unit).
/// `NOT_TESTED` is never filled with NOT_APPLICABLE: that verdict is only the profile's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatrixCell {
    NoCheck,
    NotApplicable,
    Pass,
    NotTested,
    Inconclusive,
    Fail,
    Error,
}

impl From<Verdict> for MatrixCell {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Pass => MatrixCell::Pass,
            Verdict::Fail => MatrixCell::Fail,
            Verdict::Inconclusive => MatrixCell::Inconclusive,
            Verdict::NotApplicable => MatrixCell::NotApplicable,
            Verdict::Error => MatrixCell::Error,
        }
    }
}

/// Seconds from the campaign's start to a suite's last recorded result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteTiming {
    pub suite: String,
    pub seconds: f64,
}

/// The program that wrote the report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Which campaign the report is about.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CampaignInfo {
    pub id: String,
    pub status: CampaignStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub profile_path: String,
    /// sha256 of the profile file, which a label binds.
    pub profile_digest: String,
}

/// A suite that took part, with its version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteInfo {
    pub id: String,
    pub version: String,
    pub title: String,
}

/// One decided check, with what the reader needs to understand it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportResult {
    pub suite: String,
    pub check: String,
    /// `None` for checks decided across units.
    pub unit: Option<String>,
    pub title: String,
    pub modal: Modal,
    pub verdict: Verdict,
    pub summary: String,
    /// What to change; present for FAIL.
    pub remediation: Option<String>,
    pub standards: Standards,
    /// What the check must observe before its PASS means anything.
    #[serde(default)]
    pub positive_control: String,
    /// For a PASS, what the check observed of its positive control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    pub evidence: Vec<ReportEvidence>,
    /// Test cases sent and time spent, for results that measure it (fuzzing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// An evidence item: its reference in the store and, for text, a preview.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportEvidence {
    pub kind: EvidenceKind,
    pub label: String,
    pub media_type: String,
    pub sha256: String,
    pub size: u64,
    /// True when the suite had to cut the evidence at its cap.
    pub truncated: bool,
    /// The start of the evidence when it is text.
    pub preview: Option<String>,
}

/// Counts per verdict and what they mean for a CI job.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub pass: u64,
    pub fail: u64,
    pub inconclusive: u64,
    pub not_applicable: u64,
    pub error: u64,
    /// The `--fail-on` policy the outcome was judged by.
    pub fail_on: FailOn,
    /// `pass`: nothing the policy counts as a finding; `findings`: something it does;
    /// `harness-error`: the harness failed somewhere; `incomplete`: checks still pending.
    pub outcome: String,
    /// The exit code `iotcert run` ends with for this report (see [`crate::exit`]).
    pub exit_code: u8,
}

impl Report {
    /// Build the report of a stored campaign, judged by `policy`, with the sections of
    /// the built-in suites.
    pub fn build(
        store: &Store,
        campaign: &CampaignRecord,
        policy: FailOn,
    ) -> Result<Report, StoreError> {
        let profile_dir = Path::new(&campaign.profile_path)
            .parent()
            .unwrap_or(Path::new("."));
        let suites = registry::builtin_suites(profile_dir);
        Report::build_with(store, campaign, policy, &suites)
    }

    /// Build the report of a stored campaign, judged by `policy`, asking `suites` for
    /// their sections.
    pub fn build_with(
        store: &Store,
        campaign: &CampaignRecord,
        policy: FailOn,
        suites: &[Arc<dyn Suite>],
    ) -> Result<Report, StoreError> {
        let profile = Profile::from_toml_str(&campaign.profile_toml)
            .map_err(|e| StoreError::Corrupt(format!("stored profile: {e}")))?;
        let stored = store.results(&campaign.id)?;
        let mut results = Vec::with_capacity(stored.len());
        for result in stored {
            let spec = find_check(campaign, &result.suite, &result.check);
            let evidence = result
                .evidence
                .iter()
                .map(|reference| report_evidence(store, reference))
                .collect::<Result<Vec<_>, _>>()?;
            results.push(to_report_result(result, spec, evidence));
        }
        let pending = campaign.plan.len().saturating_sub(results.len());
        let label_readiness = label_readiness(&results);
        let summary = Summary::of(&results, pending, policy, &label_readiness);
        let planned: Vec<(&CheckSpec, Option<&str>)> = campaign
            .plan
            .iter()
            .filter_map(|p| {
                find_check(campaign, &p.suite, &p.key.check)
                    .map(|spec| (spec, p.key.unit.as_deref()))
            })
            .collect();
        let conformance = conformance_matrix(&results, &planned, &profile.units);
        let timings = suite_timings(&results, campaign.started_at);
        let sections = suite_sections(store, campaign, &results, suites)?;
        let label = store
            .labels()?
            .into_iter()
            .filter(|l| l.campaign == campaign.id)
            .max_by_key(|l| l.issued_at)
            .map(|l| LabelInfo {
                id: l.id,
                scheme: l.scheme,
                level: l.level,
                level_name: l.level_name,
                issued_at: l.issued_at,
                expires_at: l.expires_at,
                svg: l.svg,
            });
        let pacing = campaign.pacing.iter().map(PaceRow::of).collect();
        Ok(Report {
            schema: REPORT_SCHEMA.to_owned(),
            tool: Tool {
                name: "iotcert".to_owned(),
                version: campaign.harness_version.clone(),
            },
            campaign: CampaignInfo {
                id: campaign.id.clone(),
                status: campaign.status,
                started_at: campaign.started_at,
                finished_at: campaign.finished_at,
                profile_path: campaign.profile_path.clone(),
                profile_digest: campaign.profile_digest.clone(),
            },
            device: profile.device.clone(),
            units: profile.units.clone(),
            suites: campaign
                .suites
                .iter()
                .map(|s| SuiteInfo {
                    id: s.id.clone(),
                    version: s.version.clone(),
                    title: s.title.clone(),
                })
                .collect(),
            results,
            conformance,
            timings,
            label,
            label_readiness,
            sections,
            pacing,
            summary,
        })
    }
}

/// The sections of the suites that took part in the campaign, each made by its suite
/// from its own results and their evidence.
fn suite_sections(
    store: &Store,
    campaign: &CampaignRecord,
    results: &[ReportResult],
    suites: &[Arc<dyn Suite>],
) -> Result<Vec<SuiteSection>, StoreError> {
    let mut sections = Vec::new();
    for suite in suites {
        let id = suite.descriptor().id;
        if !campaign.suites.iter().any(|taken| taken.id == id) {
            continue;
        }
        let recorded = StoredRecord {
            store,
            results: recorded_results(results, &id),
            failure: RefCell::new(None),
        };
        let section = suite.report_section(&recorded);
        if let Some(failure) = recorded.failure.into_inner() {
            return Err(failure);
        }
        if let Some(section) = section {
            sections.push(SuiteSection { suite: id, section });
        }
    }
    Ok(sections)
}

/// The results of `suite`, as a suite reads them back.
fn recorded_results(results: &[ReportResult], suite: &str) -> Vec<RecordedResult> {
    results
        .iter()
        .filter(|result| result.suite == suite)
        .map(|result| RecordedResult {
            check: result.check.clone(),
            unit: result.unit.clone(),
            verdict: result.verdict,
            evidence: result
                .evidence
                .iter()
                .map(|evidence| RecordedEvidence {
                    kind: evidence.kind,
                    label: evidence.label.clone(),
                    media_type: evidence.media_type.clone(),
                    sha256: evidence.sha256.clone(),
                })
                .collect(),
        })
        .collect()
}

/// What the store holds of one suite. The first store failure is kept, so that the
/// report fails with it as it would reading any other evidence.
struct StoredRecord<'a> {
    store: &'a Store,
    results: Vec<RecordedResult>,
    failure: RefCell<Option<StoreError>>,
}

impl Recorded for StoredRecord<'_> {
    fn results(&self) -> &[RecordedResult] {
        &self.results
    }

    fn evidence(&self, sha256: &str) -> Option<Vec<u8>> {
        match self.store.evidence(sha256) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.failure.borrow_mut().get_or_insert(error);
                None
            }
        }
    }
}

fn find_check<'a>(campaign: &'a CampaignRecord, suite: &str, check: &str) -> Option<&'a CheckSpec> {
    campaign
        .suites
        .iter()
        .filter(|s| s.id == suite)
        .flat_map(|s| &s.checks)
        .find(|c| c.id == check)
}

fn to_report_result(
    result: StoredResult,
    spec: Option<&CheckSpec>,
    evidence: Vec<ReportEvidence>,
) -> ReportResult {
    let remediation = match (result.verdict, result.remediation, spec) {
        (_, Some(own), _) => Some(own),
        (Verdict::Fail, None, Some(spec)) => Some(spec.remediation.clone()),
        _ => None,
    };
    ReportResult {
        title: spec.map_or_else(|| result.check.clone(), |s| s.title.clone()),
        modal: spec.map_or(Modal::Should, |s| s.modal),
        standards: spec.map(|s| s.standards.clone()).unwrap_or_default(),
        positive_control: spec.map(|s| s.positive_control.clone()).unwrap_or_default(),
        proof: result.proof,
        suite: result.suite,
        check: result.check,
        unit: result.unit,
        verdict: result.verdict,
        summary: result.summary,
        remediation,
        evidence,
        effort: result.effort,
        recorded_at: result.recorded_at,
    }
}

fn report_evidence(store: &Store, reference: &EvidenceRef) -> Result<ReportEvidence, StoreError> {
    let textual =
        reference.media_type.starts_with("text/") || reference.media_type == "application/json";
    let preview = if textual {
        store.evidence(&reference.sha256)?.map(|bytes| {
            let text = String::from_utf8_lossy(&bytes);
            match text.char_indices().nth(PREVIEW_CHARS) {
                Some((cut, _)) => format!(
                    "{}\n… ({} bytes in all)",
                    text.get(..cut).unwrap_or_default(),
                    bytes.len()
                ),
                None => text.into_owned(),
            }
        })
    } else {
        None
    };
    Ok(ReportEvidence {
        kind: reference.kind,
        label: reference.label.clone(),
        media_type: reference.media_type.clone(),
        sha256: reference.sha256.clone(),
        size: reference.size,
        truncated: reference.truncated,
        preview,
    })
}

impl Summary {
    fn of(
        results: &[ReportResult],
        pending: usize,
        policy: FailOn,
        readiness: &[LevelReadiness],
    ) -> Summary {
        let mut summary = Summary::default();
        for result in results {
            *match result.verdict {
                Verdict::Pass => &mut summary.pass,
                Verdict::Fail => &mut summary.fail,
                Verdict::Inconclusive => &mut summary.inconclusive,
                Verdict::NotApplicable => &mut summary.not_applicable,
                Verdict::Error => &mut summary.error,
            } += 1;
        }
        let judged: Vec<_> = results.iter().map(|r| (r.modal, r.verdict)).collect();
        let levels_met: Vec<u8> = readiness
            .iter()
            .filter(|l| l.met)
            .map(|l| l.level)
            .collect();
        let outcome = crate::exit::outcome(&judged, pending, policy, &levels_met);
        summary.fail_on = policy;
        summary.outcome = outcome.name().to_owned();
        summary.exit_code = outcome.exit_code();
        summary
    }
}

/// Label of results decided across units in the matrix.
const ALL_UNITS: &str = "all units";

/// The matrix rows, each with one cell per unit, and one for `all units` when a check
/// decided across units, so that every row lines up under the same columns.
///
/// Rows come from every check the campaign planned, so a check without a result (its
/// suite not run to the end) still shows its provision, as `NOT_TESTED` where it was to
/// be decided. A cell is the worst of its checks' verdicts, `NOT_TESTED` ranking worse
/// than PASS: a provision is never shown met while a check under it was not run.
fn conformance_matrix(
    results: &[ReportResult],
    planned: &[(&CheckSpec, Option<&str>)],
    units: &[SampleUnit],
) -> Vec<ProvisionRow> {
    let mut columns: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let across =
        results.iter().any(|r| r.unit.is_none()) || planned.iter().any(|(_, unit)| unit.is_none());
    if across {
        columns.push(ALL_UNITS);
    }
    let mut rows: BTreeMap<String, ProvisionRow> = BTreeMap::new();
    let mut cell =
        |provision: &str, spec: (&str, Modal, &[String]), unit: Option<&str>, value: MatrixCell| {
            let (check, modal, test_units) = spec;
            let row = rows
                .entry(provision.to_owned())
                .or_insert_with(|| ProvisionRow {
                    provision: provision.to_owned(),
                    modal,
                    ts_103_701: Vec::new(),
                    checks: Vec::new(),
                    verdicts: columns
                        .iter()
                        .map(|unit| UnitVerdict {
                            unit: (*unit).to_owned(),
                            verdict: MatrixCell::NoCheck,
                        })
                        .collect(),
                    overall: MatrixCell::NoCheck,
                });
            if modal == Modal::Shall {
                row.modal = Modal::Shall;
            }
            let own_prefix = format!("{provision}-");
            for unit_test in test_units {
                if unit_test.starts_with(&own_prefix) && !row.ts_103_701.contains(unit_test) {
                    row.ts_103_701.push(unit_test.clone());
                }
            }
            if !row.checks.iter().any(|known| known == check) {
                row.checks.push(check.to_owned());
            }
            let unit = unit.unwrap_or(ALL_UNITS);
            match row.verdicts.iter_mut().find(|v| v.unit == unit) {
                Some(existing) => existing.verdict = existing.verdict.max(value),
                None => row.verdicts.push(UnitVerdict {
                    unit: unit.to_owned(),
                    verdict: value,
                }),
            }
            row.overall = row.overall.max(value);
        };
    for (spec, unit) in planned {
        let decided = results
            .iter()
            .any(|r| r.check == spec.id && r.unit.as_deref() == *unit);
        if decided {
            continue;
        }
        for provision in &spec.standards.en_303_645 {
            let key = (
                spec.id.as_str(),
                spec.modal,
                spec.standards.ts_103_701.as_slice(),
            );
            cell(provision, key, *unit, MatrixCell::NotTested);
        }
    }
    for result in results {
        for provision in &result.standards.en_303_645 {
            let key = (
                result.check.as_str(),
                result.modal,
                result.standards.ts_103_701.as_slice(),
            );
            cell(
                provision,
                key,
                result.unit.as_deref(),
                result.verdict.into(),
            );
        }
    }
    let mut rows: Vec<ProvisionRow> = rows.into_values().collect();
    rows.sort_by_key(|row| provision_order(&row.provision));
    rows
}

/// `5.10-1` after `5.6-4`: compare the numbers, not the text.
fn provision_order(provision: &str) -> Vec<u32> {
    provision
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|part| part.parse().ok())
        .collect()
}

fn suite_timings(results: &[ReportResult], started_at: OffsetDateTime) -> Vec<SuiteTiming> {
    let mut last: BTreeMap<&str, OffsetDateTime> = BTreeMap::new();
    for result in results {
        let entry = last
            .entry(result.suite.as_str())
            .or_insert(result.recorded_at);
        *entry = (*entry).max(result.recorded_at);
    }
    last.into_iter()
        .map(|(suite, at)| SuiteTiming {
            suite: suite.to_owned(),
            seconds: ((at - started_at).as_seconds_f64()).max(0.0),
        })
        .collect()
}

/// Evaluate every level of the default scheme against the results.
/// The campaign's verdicts as a scheme policy sees them.
pub(crate) fn check_outcomes(results: &[ReportResult]) -> Vec<CheckOutcome> {
    results
        .iter()
        .map(|r| CheckOutcome {
            suite: r.suite.clone(),
            check: r.check.clone(),
            unit: r.unit.clone(),
            verdict: r.verdict,
            modal: r.modal,
            en_303_645: r.standards.en_303_645.clone(),
            proven: r
                .proof
                .as_deref()
                .is_some_and(|proof| !proof.trim().is_empty()),
        })
        .collect()
}

/// The budget each suite spent, for a scheme's `min_budget`: the least effort among the
/// suite's measured results (one per fuzzed protocol and unit), because a level is only
/// as strong as the protocol that was fuzzed least. Suites that measure nothing are
/// absent, which a level with a minimum for them refuses.
pub(crate) fn suite_budgets(results: &[ReportResult]) -> Vec<SuiteBudget> {
    let mut least: BTreeMap<&str, SuiteBudget> = BTreeMap::new();
    for result in results {
        let Some(effort) = result.effort else {
            continue;
        };
        let spent = SuiteBudget {
            suite: result.suite.clone(),
            cases: effort.cases,
            seconds: effort.milliseconds / 1000,
        };
        least
            .entry(result.suite.as_str())
            .and_modify(|budget| {
                budget.cases = budget.cases.min(spent.cases);
                budget.seconds = budget.seconds.min(spent.seconds);
            })
            .or_insert(spent);
    }
    least.into_values().collect()
}

fn label_readiness(results: &[ReportResult]) -> Vec<LevelReadiness> {
    let Ok(policy) = iotcert_label::SchemePolicy::default_scheme() else {
        return Vec::new();
    };
    let outcomes = check_outcomes(results);
    let budgets = suite_budgets(results);
    policy
        .levels
        .iter()
        .map(|level| {
            let blockers = match iotcert_label::evaluate(&policy, level.number, &outcomes, &budgets)
            {
                Ok(()) => Vec::new(),
                Err(blockers) => blockers.iter().map(ToString::to_string).collect(),
            };
            LevelReadiness {
                level: level.number,
                name: level.name.clone(),
                met: blockers.is_empty(),
                blockers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(check: &str, unit: Option<&str>, provision: &str, verdict: Verdict) -> ReportResult {
        ReportResult {
            suite: "s".into(),
            check: check.into(),
            unit: unit.map(str::to_owned),
            title: check.into(),
            modal: Modal::Shall,
            verdict,
            summary: String::new(),
            remediation: None,
            standards: Standards {
                en_303_645: vec![provision.into()],
                ..Standards::default()
            },
            positive_control: String::new(),
            proof: None,
            evidence: Vec::new(),
            effort: None,
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn units() -> Vec<SampleUnit> {
        ["unit-1", "unit-2"]
            .iter()
            .map(|id| SampleUnit {
                id: (*id).into(),
                address: "127.0.0.1".parse().unwrap(),
                hostname: None,
            })
            .collect()
    }

    fn spec(id: &str, en: &[&str], ts: &[&str]) -> CheckSpec {
        CheckSpec {
            id: id.into(),
            title: id.into(),
            modal: Modal::Shall,
            scope: iotcert_suite::CheckScope::PerUnit,
            description: String::new(),
            remediation: String::new(),
            positive_control: String::new(),
            standards: iotcert_suite::check::standards(en, ts, &[], &[]),
        }
    }

    #[test]
    fn every_matrix_row_has_the_same_columns() {
        let units = units();
        let results = [
            result("a.shared", None, "5.1-1", Verdict::Fail),
            result("a.each", Some("unit-1"), "5.1-1", Verdict::Pass),
            result("b.each", Some("unit-2"), "5.6-1", Verdict::Fail),
        ];
        let rows = conformance_matrix(&results, &[], &units);
        assert_eq!(rows.len(), 2);
        for row in &rows {
            let columns: Vec<&str> = row.verdicts.iter().map(|v| v.unit.as_str()).collect();
            assert_eq!(
                columns,
                ["unit-1", "unit-2", ALL_UNITS],
                "{}",
                row.provision
            );
        }
        let provision_5_6_1 = &rows[1];
        assert_eq!(provision_5_6_1.verdicts[1].verdict, MatrixCell::Fail);
        assert_eq!(provision_5_6_1.verdicts[2].verdict, MatrixCell::NoCheck);
        assert_eq!(provision_5_6_1.overall, MatrixCell::Fail);
    }

    /// A provision is never shown met while one of its checks is INCONCLUSIVE or was
    /// planned and never decided; the missing cell says NOT_TESTED, not NOT_APPLICABLE.
    #[test]
    fn a_provision_is_not_met_while_a_check_is_inconclusive_or_not_tested() {
        let units = units();
        let planned_spec = spec("c.never-ran", &["5.5-1"], &["5.5-1-2"]);
        let planned = [
            (&planned_spec, Some("unit-1")),
            (&planned_spec, Some("unit-2")),
        ];
        let results = [
            result("a.fine", Some("unit-1"), "5.5-1", Verdict::Pass),
            result("a.fine", Some("unit-2"), "5.5-1", Verdict::Pass),
            result("b.fine", Some("unit-1"), "5.6-1", Verdict::Pass),
            result("b.unsure", Some("unit-2"), "5.6-1", Verdict::Inconclusive),
            result("b.fine", Some("unit-2"), "5.6-1", Verdict::Pass),
        ];
        let rows = conformance_matrix(&results, &planned, &units);
        let row = |provision: &str| rows.iter().find(|r| r.provision == provision).unwrap();
        let tls = row("5.5-1");
        assert_eq!(tls.verdicts[0].verdict, MatrixCell::NotTested);
        assert_eq!(tls.overall, MatrixCell::NotTested);
        assert!(tls.checks.contains(&"c.never-ran".to_owned()));
        let ports = row("5.6-1");
        assert_eq!(ports.verdicts[0].verdict, MatrixCell::Pass);
        assert_eq!(ports.verdicts[1].verdict, MatrixCell::Inconclusive);
        assert_eq!(ports.overall, MatrixCell::Inconclusive);
    }

    /// A check serving 5.3-2 and 5.9-2 with test unit 5.3-2-2 lists it under 5.3-2 only.
    #[test]
    fn the_ts_column_lists_only_the_provisions_own_test_units() {
        let mut both = result("u.health", Some("unit-1"), "5.3-2", Verdict::Pass);
        both.standards =
            iotcert_suite::check::standards(&["5.3-2", "5.9-2"], &["5.3-2-2"], &[], &[]);
        let rows = conformance_matrix(&[both], &[], &units());
        let own = |provision: &str| {
            rows.iter()
                .find(|r| r.provision == provision)
                .map(|r| r.ts_103_701.clone())
                .unwrap()
        };
        assert_eq!(own("5.3-2"), ["5.3-2-2"]);
        assert!(own("5.9-2").is_empty());
    }

    /// A suite the harness knows nothing of: its section counts the greetings in its
    /// own evidence format, `hello;hola`.
    struct Greeter {
        chart: bool,
    }

    #[async_trait::async_trait]
    impl Suite for Greeter {
        fn descriptor(&self) -> iotcert_suite::SuiteDescriptor {
            iotcert_suite::SuiteDescriptor {
                id: "greeter".into(),
                version: "0.1.0".into(),
                title: "Greeter".into(),
                checks: vec![spec("greeter.hello", &["5.6-1"], &[])],
            }
        }

        fn applicability(
            &self,
            _check: &CheckSpec,
            _profile: &Profile,
        ) -> iotcert_suite::Applicability {
            iotcert_suite::Applicability::Applicable
        }

        fn report_section(&self, recorded: &dyn Recorded) -> Option<ReportSection> {
            use iotcert_suite::report_section::{
                SectionTable, Tile, TileChart, TileGroup, TileStatus,
            };
            let mut rows = Vec::new();
            let mut groups = Vec::new();
            for result in recorded.results() {
                let unit = result.unit.clone()?;
                let evidence = result.evidence.first()?;
                let text = String::from_utf8(recorded.evidence(&evidence.sha256)?).ok()?;
                let greetings: Vec<&str> = text.split(';').collect();
                rows.push(vec![unit.clone(), greetings.len().to_string()]);
                groups.push(TileGroup {
                    label: unit.clone(),
                    tiles: greetings
                        .iter()
                        .map(|greeting| Tile {
                            label: (*greeting).to_owned(),
                            status: TileStatus::Good,
                            detail: format!("{unit} said {greeting}"),
                        })
                        .collect(),
                });
            }
            Some(ReportSection {
                title: "Greetings".into(),
                table: SectionTable {
                    columns: vec!["Unit".into(), "Greetings".into()],
                    rows,
                },
                chart: self.chart.then(|| TileChart {
                    caption: "Greetings per unit".into(),
                    groups,
                }),
                data: serde_json::json!({"greeted": true}),
            })
        }

        async fn run(
            &self,
            _ctx: iotcert_suite::RunContext,
        ) -> Result<(), iotcert_suite::SuiteError> {
            Ok(())
        }
    }

    fn greeted(chart: bool) -> Report {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let text = "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1\"\n\
                    [[units]]\nid = \"unit-1\"\naddress = \"127.0.0.1\"\n";
        let profile = Profile::from_toml_str(text).unwrap();
        let suites: Vec<Arc<dyn Suite>> = vec![Arc::new(Greeter { chart })];
        let campaign = crate::engine::plan_campaign("profile.toml", text, &profile, &suites);
        store.put_campaign(&campaign).unwrap();
        let result = StoredResult {
            campaign: campaign.id.clone(),
            suite: "greeter".into(),
            check: "greeter.hello".into(),
            unit: Some("unit-1".into()),
            verdict: Verdict::Fail,
            summary: "greeted".into(),
            remediation: None,
            evidence: Vec::new(),
            effort: None,
            proof: None,
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        };
        let evidence = [iotcert_suite::Evidence::text(
            EvidenceKind::Note,
            "greetings of unit-1",
            "hello;hola",
        )];
        store.record_result(result, &evidence).unwrap();
        Report::build_with(&store, &campaign, FailOn::default(), &suites).unwrap()
    }

    /// Issue 15, item 3: a suite's own section reaches every rendering, drawn from the
    /// generic shape the suite gave, the harness knowing nothing of its evidence.
    #[test]
    fn a_suites_section_is_reported_and_rendered_without_knowing_its_evidence() {
        use crate::render::{render, Format};
        let report = greeted(false);
        assert_eq!(report.sections.len(), 1);
        assert_eq!(report.sections[0].suite, "greeter");
        assert_eq!(report.sections[0].section.table.rows, [["unit-1", "2"]]);
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sections"][0]["suite"], "greeter");
        assert_eq!(json["sections"][0]["title"], "Greetings");
        assert_eq!(json["sections"][0]["data"]["greeted"], true);
        let markdown = render(&report, Format::Md, None).unwrap();
        assert!(
            markdown.contains(
                "## Greetings\n\n| Unit | Greetings |\n|---|---|\n| unit\\-1 | 2 |\n\n## Conformance"
            ),
            "{markdown}"
        );
        let html = render(&report, Format::Html, None).unwrap();
        assert!(
            html.contains("<h2 id=\"section-greeter\">Greetings</h2>"),
            "{html}"
        );
        assert!(html.contains("<td>unit-1</td><td>2</td>"), "{html}");
        assert!(!html.contains("chart-greeter"), "{html}");

        let charted = render(&greeted(true), Format::Html, None).unwrap();
        assert!(charted.contains("<svg id=\"chart-greeter\""), "{charted}");
        assert!(
            charted.contains("<title>unit-1 said hola</title>"),
            "{charted}"
        );
        assert!(charted.contains("class=\"tile good\""), "{charted}");
        assert!(!charted.contains("section-greeter"), "{charted}");
    }
}
