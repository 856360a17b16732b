//! The lab's side of trust labels: from a stored campaign to a signed label, and the
//! register of labels issued, renewed and revoked.
//!
//! The cryptography and the policy live in the `iotcert-label` crate; this module
//! gathers what it needs from the store (verdicts, profile, report digest, firmware),
//! keeps the register, and renders the human label.

use crate::exit::FailOn;
use crate::files;
use crate::model::{CampaignRecord, CampaignStatus, LabelRecord};
use crate::render::{self, Format};
use crate::report::{check_outcomes, suite_budgets, Report};
use crate::store::Store;
use anyhow::{bail, Context, Result};
use iotcert_label::{
    CampaignFacts, FirmwareSubject, IssueError, IssuedLabel, LabelDevice, LabelSigner,
    RevocationList, RevocationReason, SchemePolicy, Sha256Hex, ToolVersion,
};
use iotcert_suite::Profile;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a label issue gets its key, chain and policy.
pub struct Issuer {
    pub signer: LabelSigner,
    pub policy: SchemePolicy,
}

impl Issuer {
    /// Load the lab's key and chain (PEM) and the scheme policy (default: the built-in
    /// iotcert scheme).
    pub fn load(key: &Path, chain: &Path, scheme: Option<&Path>) -> Result<Issuer> {
        let key_pem = files::read_capped(key, files::DOCUMENT_CAP, "key")?;
        let chain_pem = files::read_capped(chain, files::DOCUMENT_CAP, "certificate chain")?;
        let signer = LabelSigner::from_pem(&key_pem, &chain_pem)?;
        let policy = match scheme {
            Some(path) => {
                let text = files::read_text_capped(path, files::CONFIG_CAP, "scheme policy")?;
                SchemePolicy::from_toml_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => SchemePolicy::default_scheme()?,
        };
        Ok(Issuer { signer, policy })
    }
}

/// A label was refused: the level and every check or suite that blocks it.
#[derive(Debug)]
pub struct Refusal {
    pub level: u8,
    pub blockers: Vec<String>,
}

/// What `issue_for_campaign` did.
pub enum Issued {
    Label(Box<(LabelRecord, IssuedLabel)>),
    Refused(Refusal),
}

/// Issue a label for a completed campaign at `level`, or at the highest level its
/// verdicts meet when `level` is `None`; records it in the store.
pub fn issue_for_campaign(
    store: &Store,
    campaign: &CampaignRecord,
    issuer: &Issuer,
    level: Option<u8>,
    supersedes: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Issued> {
    if campaign.status != CampaignStatus::Completed {
        bail!(
            "campaign {} is not completed: finish it with iotcert run --resume {}",
            campaign.id,
            campaign.id
        );
    }
    let report = Report::build(store, campaign, FailOn::default())?;
    let (facts, report_json) = campaign_facts(campaign, &report, supersedes)?;
    let mut levels: Vec<u8> = match level {
        Some(level) => vec![level],
        None => issuer.policy.levels.iter().map(|l| l.number).collect(),
    };
    levels.sort_unstable_by(|a, b| b.cmp(a));
    let mut lowest_refusal = None;
    for candidate in levels {
        match iotcert_label::issue(&issuer.policy, candidate, &facts, &issuer.signer, now) {
            Ok(issued) => {
                let url = issuer
                    .policy
                    .label_url(&issued.statement.predicate.label_id);
                let svg = iotcert_label::svg::render_svg(&issued.statement, url.as_deref())?;
                let record = record_of(
                    campaign,
                    &issuer.policy,
                    &issued,
                    &issuer.signer,
                    &facts,
                    svg,
                    report_json.clone(),
                );
                store.put_label(&record)?;
                return Ok(Issued::Label(Box::new((record, issued))));
            }
            Err(IssueError::Blocked(blockers)) => {
                lowest_refusal = Some(Refusal {
                    level: candidate,
                    blockers: blockers.iter().map(ToString::to_string).collect(),
                });
            }
            Err(other) => return Err(other.into()),
        }
    }
    match lowest_refusal {
        Some(refusal) => Ok(Issued::Refused(refusal)),
        None => bail!("the scheme policy defines no level"),
    }
}

/// Everything the label binds, gathered from the stored campaign, and the report
/// bytes its `report_sha256` is the digest of.
fn campaign_facts(
    campaign: &CampaignRecord,
    report: &Report,
    supersedes: Option<Uuid>,
) -> Result<(CampaignFacts, String)> {
    let profile = Profile::from_toml_str(&campaign.profile_toml)?;
    let firmware = firmware_subject(&profile, Path::new(&campaign.profile_path))?;
    let report_json = render::render(report, Format::Json, None)?;
    let outcomes = check_outcomes(&report.results);
    let facts = CampaignFacts {
        campaign_id: campaign.id.clone(),
        device: LabelDevice::from(&profile.device),
        firmware,
        profile_sha256: Sha256Hex::parse(&campaign.profile_digest)
            .ok_or_else(|| anyhow::anyhow!("stored profile digest is malformed"))?,
        report_sha256: Sha256Hex::of(report_json.as_bytes()),
        harness: ToolVersion {
            name: "iotcert".to_owned(),
            version: campaign.harness_version.clone(),
        },
        suites: campaign
            .suites
            .iter()
            .map(|s| (s.id.clone(), s.version.clone()))
            .collect(),
        outcomes,
        budgets: suite_budgets(&report.results),
        supersedes,
    };
    Ok((facts, report_json))
}

/// The firmware a label is about: the profile's image, hashed now and checked against
/// the declared digest, or the declared digest alone when the image is not at hand.
fn firmware_subject(profile: &Profile, profile_path: &Path) -> Result<FirmwareSubject> {
    let device = &profile.device;
    let image = device.firmware_image.as_ref().map(|image| {
        let base = profile_path.parent().unwrap_or(Path::new("."));
        if image.is_absolute() {
            image.clone()
        } else {
            base.join(image)
        }
    });
    let name = image
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}-{}", device.model, device.firmware_version));
    let declared = device.firmware_sha256.as_deref().and_then(Sha256Hex::parse);
    let measured = match image.as_ref().filter(|p| p.exists()) {
        Some(path) => Sha256Hex::parse(&hex::encode(files::sha256_of_file(path)?)),
        None => None,
    };
    let sha256 = match (measured, declared) {
        (Some(measured), Some(declared)) if measured != declared => bail!(
            "the firmware image hashes to {} but the profile declares {}: a label binds the firmware that was tested",
            measured.as_str(),
            declared.as_str()
        ),
        (Some(measured), _) => measured,
        (None, Some(declared)) => declared,
        (None, None) => bail!(
            "the profile names no readable firmware image and no firmware_sha256: a label must bind the firmware it is about"
        ),
    };
    Ok(FirmwareSubject { name, sha256 })
}

fn record_of(
    campaign: &CampaignRecord,
    policy: &SchemePolicy,
    issued: &IssuedLabel,
    signer: &LabelSigner,
    facts: &CampaignFacts,
    svg: String,
    report: String,
) -> LabelRecord {
    let predicate = &issued.statement.predicate;
    LabelRecord {
        id: predicate.label_id.to_string(),
        campaign: campaign.id.clone(),
        scheme: policy.scheme.id.clone(),
        level: predicate.level.number,
        level_name: predicate.level.name.clone(),
        device: format!(
            "{} {} {}",
            facts.device.manufacturer, facts.device.model, facts.device.firmware_version
        ),
        firmware_sha256: facts.firmware.sha256.as_str().to_owned(),
        issued_at: predicate.issued_at,
        expires_at: predicate.expires_at,
        signer_valid_until: signer.valid_until(),
        supersedes: predicate.supersedes.map(|id| id.to_string()),
        file: String::from_utf8_lossy(&issued.file).into_owned(),
        svg,
        report,
    }
}

/// The files of an issued label, as written.
pub struct LabelFiles {
    pub label: PathBuf,
    pub svg: PathBuf,
    /// The report whose digest the label binds (`verify --report`).
    pub report: PathBuf,
}

/// The name of the report file a label binds, beside label.json.
pub const LABEL_REPORT_FILE: &str = "label-report.json";

/// Write `label.json`, `label.svg` and the report the label binds into `dir`.
pub fn write_label(record: &LabelRecord, dir: &Path) -> Result<LabelFiles> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = LabelFiles {
        label: dir.join("label.json"),
        svg: dir.join("label.svg"),
        report: dir.join(LABEL_REPORT_FILE),
    };
    for (path, text) in [
        (&files.label, &record.file),
        (&files.svg, &record.svg),
        (&files.report, &record.report),
    ] {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(files)
}

/// Labels due for retest within `days`: the label expires, or its signer's chain does.
pub fn due(
    store: &Store,
    days: i64,
    now: OffsetDateTime,
) -> Result<Vec<(LabelRecord, &'static str)>> {
    let horizon = now + time::Duration::days(days);
    let superseded: Vec<String> = store
        .labels()?
        .into_iter()
        .filter_map(|l| l.supersedes)
        .collect();
    Ok(store
        .labels()?
        .into_iter()
        .filter(|label| !superseded.contains(&label.id))
        .filter_map(|label| {
            let why = if label.signer_valid_until <= label.expires_at
                && label.signer_valid_until <= horizon
            {
                "signer certificate expires"
            } else if label.expires_at <= horizon {
                "label expires"
            } else {
                return None;
            };
            Some((label, why))
        })
        .collect())
}

/// Add a label (by its exact id) to the lab's revocation list; returns the label id
/// and the newly signed list.
pub fn revoke(
    store: &Store,
    id: &str,
    reason: RevocationReason,
    signer: &LabelSigner,
    now: OffsetDateTime,
) -> Result<(Uuid, Vec<u8>)> {
    let label = store.label(id)?;
    let label_id = Uuid::parse_str(&label.id)?;
    let mut list = match store.revocation_list()? {
        Some(json) => serde_json::from_slice::<RevocationList>(&json)?,
        None => RevocationList::new(now),
    };
    list.revoke(label_id, reason, now)?;
    let signed = list.sign(signer, now)?;
    store.put_revocation_list(&serde_json::to_vec(&list)?)?;
    Ok((label_id, signed))
}
