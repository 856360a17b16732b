//! Label revocation lists: how a lab withdraws a label before it expires.
//!
//! Lab *certificates* are revoked by X.509 CRLs of their CA; *labels* are revoked by the
//! lab itself, in a revocation list it signs with its label-signing key (a DSSE
//! envelope of payload type [`REVOCATION_PAYLOAD_TYPE`] in the same file format as a
//! label). A verifier trusts a list that verifies against the same roots, and applies
//! it to a label only when the list is signed with the label's own signing key, or
//! with a key certified under the same subject by the same chain of CA keys (the lab's
//! next key, after a rotation). Names alone never match: a CA under the same root that
//! certifies a key under a copy of a lab's subject cannot revoke that lab's labels. A
//! revoked label never verifies again, whatever `--at` says.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::signed_file::REVOCATION_LIST_FORMAT;
use crate::signer::{LabelSigner, SignerError};
use crate::statement::LabIdentity;

/// DSSE `payloadType` of a label revocation list.
pub const REVOCATION_PAYLOAD_TYPE: &str = "application/vnd.iotcert.label-revocations+json";

/// Why a label was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// A successor label replaces it (a retest).
    Superseded,
    /// The label should never have been issued (wrong device, wrong campaign).
    IssuedInError,
    /// A vulnerability now known makes the verdicts wrong.
    VulnerabilityDisclosed,
    /// The lab's signing key may be in other hands.
    KeyCompromise,
    /// The manufacturer or the scheme withdrew the certification.
    Withdrawn,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 5] = [
        RevocationReason::Superseded,
        RevocationReason::IssuedInError,
        RevocationReason::VulnerabilityDisclosed,
        RevocationReason::KeyCompromise,
        RevocationReason::Withdrawn,
    ];

    /// The stable name, as `--reason` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Superseded => "superseded",
            RevocationReason::IssuedInError => "issued-in-error",
            RevocationReason::VulnerabilityDisclosed => "vulnerability-disclosed",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RevocationReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = RevocationReason::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown reason {text:?}; one of {}", known.join(", "))
            })
    }
}

/// One revoked label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedLabel {
    pub label_id: Uuid,
    pub reason: RevocationReason,
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
}

/// A lab's list of revoked labels: the signed payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationList {
    /// When this version of the list was signed; its chain is validated at this time.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub entries: Vec<RevokedLabel>,
}

/// Why a revocation could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error("label {0} is already revoked")]
    AlreadyRevoked(Uuid),
    #[error(transparent)]
    Signing(#[from] SignerError),
}

/// A revocation list whose signature and chain verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedRevocationList {
    pub list: RevocationList,
    /// The lab that signed it.
    pub lab: LabIdentity,
    /// The signer certificate's subject, RFC 4514 style.
    pub signer_subject: String,
    /// The DSSE key id of the key that signed the list: the entries apply to labels
    /// this key signed, and to labels of the same subject whose keys the same CA keys
    /// certified.
    pub signer_key_id: String,
}

impl RevocationList {
    /// An empty list.
    pub fn new(issued_at: OffsetDateTime) -> RevocationList {
        RevocationList {
            issued_at: crate::timefmt::to_label_time(issued_at),
            entries: Vec::new(),
        }
    }

    /// Add a label; a label is revoked once.
    pub fn revoke(
        &mut self,
        label_id: Uuid,
        reason: RevocationReason,
        revoked_at: OffsetDateTime,
    ) -> Result<(), RevocationError> {
        if self.is_revoked(&label_id) {
            return Err(RevocationError::AlreadyRevoked(label_id));
        }
        self.entries.push(RevokedLabel {
            label_id,
            reason,
            revoked_at: crate::timefmt::to_label_time(revoked_at),
        });
        Ok(())
    }

    pub fn is_revoked(&self, label_id: &Uuid) -> bool {
        self.entries.iter().any(|entry| &entry.label_id == label_id)
    }

    /// The signed list file, stamped `issued_at` (the time of this version).
    pub fn sign(
        &self,
        signer: &LabelSigner,
        issued_at: OffsetDateTime,
    ) -> Result<Vec<u8>, RevocationError> {
        let stamped = RevocationList {
            issued_at: crate::timefmt::to_label_time(issued_at),
            entries: self.entries.clone(),
        };
        let payload = serde_json::to_vec(&stamped)
            .map_err(|error| SignerError::Signing(format!("revocation list: {error}")))?;
        Ok(signer.sign_file(REVOCATION_LIST_FORMAT, REVOCATION_PAYLOAD_TYPE, &payload)?)
    }
}
