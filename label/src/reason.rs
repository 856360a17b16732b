//! Why a label was rejected: one stable code per reason, for people and for scripts.
//!
//! `iotcert verify` prints the code and exits 1; `--json` carries it. Codes are part of
//! the interface: never renamed, never reused. The table in `label/README.md` is this
//! enum's [`ReasonCode::description`] text, in verification order.

use std::fmt;

use serde::Serialize;

/// A rejection reason. Variants are listed in the order verification checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonCode {
    Malformed,
    PayloadType,
    SignatureCount,
    UnsupportedKey,
    KeyidMismatch,
    BadSignature,
    MalformedStatement,
    StatementType,
    UntrustedChain,
    SelfSignedSigner,
    MissingEku,
    KeyUsage,
    SignerNotValidAtIssue,
    LabMismatch,
    LifetimeExceedsSigner,
    LabelExpired,
    LabelNotYetValid,
    RevocationUnknown,
    RevokedCertificate,
    RevokedLabel,
    FirmwareMismatch,
    ReportMismatch,
}

impl ReasonCode {
    /// Every code, in verification order.
    pub const ALL: [ReasonCode; 22] = [
        ReasonCode::Malformed,
        ReasonCode::PayloadType,
        ReasonCode::SignatureCount,
        ReasonCode::UnsupportedKey,
        ReasonCode::KeyidMismatch,
        ReasonCode::BadSignature,
        ReasonCode::MalformedStatement,
        ReasonCode::StatementType,
        ReasonCode::UntrustedChain,
        ReasonCode::SelfSignedSigner,
        ReasonCode::MissingEku,
        ReasonCode::KeyUsage,
        ReasonCode::SignerNotValidAtIssue,
        ReasonCode::LabMismatch,
        ReasonCode::LifetimeExceedsSigner,
        ReasonCode::LabelExpired,
        ReasonCode::LabelNotYetValid,
        ReasonCode::RevocationUnknown,
        ReasonCode::RevokedCertificate,
        ReasonCode::RevokedLabel,
        ReasonCode::FirmwareMismatch,
        ReasonCode::ReportMismatch,
    ];

    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Malformed => "malformed",
            ReasonCode::PayloadType => "payload-type",
            ReasonCode::SignatureCount => "signature-count",
            ReasonCode::KeyidMismatch => "keyid-mismatch",
            ReasonCode::UnsupportedKey => "unsupported-key",
            ReasonCode::BadSignature => "bad-signature",
            ReasonCode::MalformedStatement => "malformed-statement",
            ReasonCode::StatementType => "statement-type",
            ReasonCode::UntrustedChain => "untrusted-chain",
            ReasonCode::SelfSignedSigner => "self-signed-signer",
            ReasonCode::MissingEku => "missing-eku",
            ReasonCode::KeyUsage => "key-usage",
            ReasonCode::SignerNotValidAtIssue => "signer-not-valid-at-issue",
            ReasonCode::LabMismatch => "lab-mismatch",
            ReasonCode::LifetimeExceedsSigner => "lifetime-exceeds-signer",
            ReasonCode::LabelExpired => "label-expired",
            ReasonCode::LabelNotYetValid => "label-not-yet-valid",
            ReasonCode::RevocationUnknown => "revocation-unknown",
            ReasonCode::RevokedCertificate => "revoked-certificate",
            ReasonCode::RevokedLabel => "revoked-label",
            ReasonCode::FirmwareMismatch => "firmware-mismatch",
            ReasonCode::ReportMismatch => "report-mismatch",
        }
    }

    /// What the code means, one sentence.
    pub fn description(self) -> &'static str {
        match self {
            ReasonCode::Malformed => {
                "not a label file: too large, not JSON, unknown format or field, bad base64 or certificate encoding"
            }
            ReasonCode::PayloadType => {
                "the envelope's payloadType is not application/vnd.in-toto+json (or the revocation list type)"
            }
            ReasonCode::SignatureCount => {
                "the envelope does not carry exactly one signature (none, or several)"
            }
            ReasonCode::KeyidMismatch => {
                "the signature's keyid is not the SHA-256 of the signer certificate's public key"
            }
            ReasonCode::UnsupportedKey => "the signer certificate's key is not ECDSA P-256",
            ReasonCode::BadSignature => {
                "the signature does not verify over the DSSE PAE with the signer certificate's key"
            }
            ReasonCode::MalformedStatement => {
                "the signed payload is not a well-formed label statement (subject, digest, validity window)"
            }
            ReasonCode::StatementType => {
                "the signed payload is not an in-toto Statement v1 with the iotcert label predicate type"
            }
            ReasonCode::UntrustedChain => {
                "the certificate chain does not lead to a given root, or carries certificates off that path"
            }
            ReasonCode::SelfSignedSigner => "the signer certificate is self-signed",
            ReasonCode::MissingEku => {
                "the signer certificate lacks the iotcert label-signing extended key usage"
            }
            ReasonCode::KeyUsage => {
                "a certificate's key usage forbids its place in the chain: a CA without keyCertSign, or a signer without digitalSignature"
            }
            ReasonCode::SignerNotValidAtIssue => {
                "the signer certificate (or a CA above it) was expired or not yet valid at issued_at"
            }
            ReasonCode::LabMismatch => {
                "the lab named in the predicate is not the organization named by the signer certificate"
            }
            ReasonCode::LifetimeExceedsSigner => {
                "the label expires after its signer certificate chain does"
            }
            ReasonCode::LabelExpired => "the label has expired: the given time is at or after expires_at",
            ReasonCode::LabelNotYetValid => "the label is not yet valid: the given time is before issued_at",
            ReasonCode::RevocationUnknown => {
                "a CRL of the signer's CA does not verify, so revocation cannot be decided"
            }
            ReasonCode::RevokedCertificate => {
                "the signer certificate or a CA above it is revoked by a CRL"
            }
            ReasonCode::RevokedLabel => "the label is on its lab's signed revocation list",
            ReasonCode::FirmwareMismatch => {
                "the firmware image (or digest) given is not the one the label is about"
            }
            ReasonCode::ReportMismatch => {
                "the campaign report (or digest) given is not the one the label binds in report_sha256"
            }
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A rejected label: the code, and what exactly was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Rejection {
    pub code: ReasonCode,
    pub detail: String,
}

impl Rejection {
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Rejection {
        Rejection {
            code,
            detail: detail.into(),
        }
    }
}
