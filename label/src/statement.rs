//! What a label says: an in-toto Statement v1 about one firmware image.
//!
//! The statement's `subject` is the firmware image (name and SHA-256), so a label is
//! about *this* firmware and no other; its predicate (type [`PREDICATE_TYPE`]) is what
//! the lab certifies: scheme and level, device, campaign, per-check verdicts and the
//! validity window. The wire form follows the in-toto Attestation Framework v1
//! (spec/v1/statement.md); the predicate is ours and documented in `label/README.md`.

use std::collections::BTreeMap;
use std::fmt;

use iotcert_suite::{Modal, Verdict};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// `_type` of an in-toto Statement v1 (statement.md, "Fields").
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// `predicateType` of an iotcert label predicate, version 1.
pub const PREDICATE_TYPE: &str = "https://iotcert.dev/label/v1";

/// DSSE `payloadType` of an in-toto statement (in-toto spec/v1/envelope.md).
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A lowercase hex SHA-256 digest; nothing else deserializes into it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Accepts exactly 64 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Sha256Hex> {
        let well_formed = text.len() == 64
            && text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        well_formed.then(|| Sha256Hex(text.to_owned()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Hex {
        use sha2::Digest as _;
        Sha256Hex(hex::encode(sha2::Sha256::digest(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for Sha256Hex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "sha256:{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Sha256Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Sha256Hex::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("expected 64 lowercase hex digits"))
    }
}

/// The firmware image a label is about: the statement's only subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareSubject {
    /// File name of the image, such as `camera-1.4.2.bin`.
    pub name: String,
    pub sha256: Sha256Hex,
}

/// The scheme whose policy the label meets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeRef {
    pub id: String,
    pub version: u32,
    /// SHA-256 of the exact policy file the label was issued under.
    pub policy_sha256: Sha256Hex,
}

/// The level of the scheme the device reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelRef {
    pub number: u8,
    pub name: String,
}

/// Who made the device and which firmware version it runs (the profile's identity
/// without its bench-local image path: the image itself is the subject).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelDevice {
    pub manufacturer: String,
    pub model: String,
    pub hardware_version: Option<String>,
    pub firmware_version: String,
}

impl From<&iotcert_suite::profile::DeviceIdentity> for LabelDevice {
    fn from(identity: &iotcert_suite::profile::DeviceIdentity) -> LabelDevice {
        LabelDevice {
            manufacturer: identity.manufacturer.clone(),
            model: identity.model.clone(),
            hardware_version: identity.hardware_version.clone(),
            firmware_version: identity.firmware_version.clone(),
        }
    }
}

/// The lab that tested the device, as its label-signing certificate names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabIdentity {
    /// The signer certificate subject's organization (or common name when it has
    /// none); verification requires the two to match.
    pub name: String,
}

/// A tool and its version: the harness, or one suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolVersion {
    pub name: String,
    pub version: String,
}

/// The verdict of one check over all sample units (per-unit verdicts are in the
/// report, whose digest the label carries). On the wire the modal verb keys the
/// provisions, as EN 303 645 words them: `{"verdict": "PASS", "shall": ["5.5-1"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CheckVerdictWire", into = "CheckVerdictWire")]
pub struct CheckVerdict {
    /// The worst verdict of the units: FAIL, ERROR, INCONCLUSIVE, PASS, NOT_APPLICABLE.
    pub verdict: Verdict,
    pub modal: Modal,
    /// ETSI EN 303 645 provisions the check serves, such as `5.5-1`.
    pub provisions: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckVerdictWire {
    verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shall: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    should: Option<Vec<String>>,
}

impl From<CheckVerdict> for CheckVerdictWire {
    fn from(check: CheckVerdict) -> CheckVerdictWire {
        let (shall, should) = match check.modal {
            Modal::Shall => (Some(check.provisions), None),
            Modal::Should => (None, Some(check.provisions)),
        };
        CheckVerdictWire {
            verdict: check.verdict,
            shall,
            should,
        }
    }
}

impl TryFrom<CheckVerdictWire> for CheckVerdict {
    type Error = &'static str;

    fn try_from(wire: CheckVerdictWire) -> Result<CheckVerdict, Self::Error> {
        let (modal, provisions) = match (wire.shall, wire.should) {
            (Some(provisions), None) => (Modal::Shall, provisions),
            (None, Some(provisions)) => (Modal::Should, provisions),
            _ => return Err("a check has exactly one of `shall` and `should`"),
        };
        Ok(CheckVerdict {
            verdict: wire.verdict,
            modal,
            provisions,
        })
    }
}

impl CheckVerdict {
    /// How bad a verdict is for a label, worst first: a check with several units
    /// shows its worst.
    pub fn severity(verdict: Verdict) -> u8 {
        match verdict {
            Verdict::Fail => 0,
            Verdict::Error => 1,
            Verdict::Inconclusive => 2,
            Verdict::Pass => 3,
            Verdict::NotApplicable => 4,
        }
    }
}

/// What the lab certifies (predicate type [`PREDICATE_TYPE`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelPredicate {
    pub label_id: Uuid,
    pub scheme: SchemeRef,
    pub level: LevelRef,
    pub device: LabelDevice,
    /// SHA-256 of the device profile the campaign ran.
    pub profile_sha256: Sha256Hex,
    pub lab: LabIdentity,
    pub campaign_id: String,
    pub harness: ToolVersion,
    /// Version of each suite that ran, by suite id.
    pub suites: BTreeMap<String, String>,
    /// Verdict of each check, by check id (such as `tls.legacy-protocol`).
    pub checks: BTreeMap<String, CheckVerdict>,
    /// SHA-256 of the campaign's JSON report.
    pub report_sha256: Sha256Hex,
    /// Start of validity, inclusive.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// End of validity, exclusive: the label is valid while `issued_at <= t < expires_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The label this one renews, after a retest.
    pub supersedes: Option<Uuid>,
}

/// A label's statement: its subject and its predicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LabelStatement {
    pub firmware: FirmwareSubject,
    pub predicate: LabelPredicate,
}

/// Why a signed payload is not a label statement.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// Not an in-toto Statement v1 carrying our predicate type.
    #[error("{0}")]
    WrongType(String),
    /// The right types, but a field is missing, malformed or inconsistent.
    #[error("{0}")]
    Malformed(String),
}

#[derive(Serialize)]
struct WireStatementOut<'a> {
    #[serde(rename = "_type")]
    statement_type: &'static str,
    subject: [WireSubject<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: &'a LabelPredicate,
}

#[derive(Serialize)]
struct WireSubject<'a> {
    name: &'a str,
    digest: BTreeMap<&'static str, &'a str>,
}

/// in-toto says consumers ignore fields they do not know (statement.md, "Parsing
/// rules"); the payload is signed, so nothing unknown can be slipped in.
#[derive(Deserialize)]
struct WireStatementIn {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<WireSubjectIn>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: LabelPredicate,
}

#[derive(Deserialize)]
struct WireSubjectIn {
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct WireTypesIn {
    #[serde(rename = "_type")]
    statement_type: Option<String>,
    #[serde(rename = "predicateType")]
    predicate_type: Option<String>,
}

impl LabelStatement {
    /// The serialized body a DSSE envelope carries. Fails only for a time RFC 3339
    /// cannot write (a year outside 0000-9999).
    pub fn to_payload(&self) -> Result<Vec<u8>, serde_json::Error> {
        let statement = WireStatementOut {
            statement_type: STATEMENT_TYPE,
            subject: [WireSubject {
                name: &self.firmware.name,
                digest: BTreeMap::from([("sha256", self.firmware.sha256.as_str())]),
            }],
            predicate_type: PREDICATE_TYPE,
            predicate: &self.predicate,
        };
        serde_json::to_vec(&statement)
    }

    /// Parse and check a signed payload (only ever called after its signature verified,
    /// DSSE protocol v1.0, "To verify").
    pub fn from_payload(payload: &[u8]) -> Result<LabelStatement, StatementError> {
        // A key given twice would be read one way here and another way elsewhere.
        crate::strict_json::reject_duplicate_keys(payload).map_err(|error| {
            StatementError::Malformed(format!("not an iotcert label statement: {error}"))
        })?;
        let statement: WireStatementIn = match serde_json::from_slice(payload) {
            Ok(statement) => statement,
            Err(error) => return Err(classify_parse_failure(payload, error)),
        };
        check_types(
            Some(&statement.statement_type),
            Some(&statement.predicate_type),
        )?;
        let [subject] = <[WireSubjectIn; 1]>::try_from(statement.subject).map_err(|subjects| {
            StatementError::Malformed(format!(
                "a label has exactly one subject, the firmware image; found {}",
                subjects.len()
            ))
        })?;
        if subject.name.is_empty() {
            return Err(StatementError::Malformed("subject has no name".into()));
        }
        let sha256 = subject
            .digest
            .get("sha256")
            .and_then(|digest| Sha256Hex::parse(digest))
            .ok_or_else(|| {
                StatementError::Malformed("subject has no lowercase hex sha256 digest".into())
            })?;
        let predicate = statement.predicate;
        if predicate.expires_at <= predicate.issued_at {
            return Err(StatementError::Malformed(format!(
                "expires_at {} is not after issued_at {}",
                crate::timefmt::rfc3339(predicate.expires_at),
                crate::timefmt::rfc3339(predicate.issued_at)
            )));
        }
        if predicate.issued_at.unix_timestamp() < 0 {
            return Err(StatementError::Malformed(
                "issued_at is before 1970-01-01".into(),
            ));
        }
        Ok(LabelStatement {
            firmware: FirmwareSubject {
                name: subject.name,
                sha256,
            },
            predicate,
        })
    }
}

fn classify_parse_failure(payload: &[u8], error: serde_json::Error) -> StatementError {
    if let Ok(types) = serde_json::from_slice::<WireTypesIn>(payload) {
        if let Err(wrong) =
            check_types(types.statement_type.as_ref(), types.predicate_type.as_ref())
        {
            return wrong;
        }
    }
    StatementError::Malformed(format!("not an iotcert label statement: {error}"))
}

fn check_types(
    statement_type: Option<&String>,
    predicate_type: Option<&String>,
) -> Result<(), StatementError> {
    if statement_type.map(String::as_str) != Some(STATEMENT_TYPE) {
        return Err(StatementError::WrongType(format!(
            "_type is {statement_type:?}, expected {STATEMENT_TYPE}"
        )));
    }
    if predicate_type.map(String::as_str) != Some(PREDICATE_TYPE) {
        return Err(StatementError::WrongType(format!(
            "predicateType is {predicate_type:?}, expected {PREDICATE_TYPE}"
        )));
    }
    Ok(())
}
