//! Who signed: reading the signer certificate and validating its chain to a root.
//!
//! x509-parser reads the fields we act on (key, validity, extended key usage,
//! subject); rustls-webpki builds and checks the path (RFC 5280 section 6) at the
//! label's `issued_at`, and separately checks the chain against the CRLs we were given
//! (RFC 5280 section 6.3), so the verifier can report revocation in its own step.

use std::cell::Cell;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy, VerifiedPath,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{Oid, OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::prelude::FromDer;

use crate::pki::LABEL_SIGNING_EKU_DER;
use crate::reason::{ReasonCode, Rejection};
use crate::statement::LabIdentity;

/// Labels and their chains are ECDSA P-256 / SHA-256 only (DESIGN.md section 8).
static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] =
    &[webpki::ring::ECDSA_P256_SHA256];

/// What the signer certificate says, independent of any time or root.
#[derive(Clone, Debug)]
pub(crate) struct SignerFacts {
    /// Uncompressed SEC1 point of the P-256 key.
    pub public_key: Vec<u8>,
    /// See [`crate::dsse::key_id`].
    pub key_id: String,
    pub not_before: i64,
    pub not_after: i64,
    /// The certificate names our label-signing EKU (RFC 5280 section 4.2.1.12).
    pub has_label_eku: bool,
    /// Issuer equals subject.
    pub self_issued: bool,
    pub lab: LabIdentity,
    /// The subject distinguished name, RFC 4514 style.
    pub subject: String,
    /// Serial number, hex.
    pub serial: String,
}

/// Why the signer certificate cannot even be read.
pub(crate) fn signer_facts(der: &[u8]) -> Result<SignerFacts, Rejection> {
    let malformed = |detail: String| Rejection::new(ReasonCode::Malformed, detail);
    let certificate =
        parse_whole(der).map_err(|detail| malformed(format!("signer certificate: {detail}")))?;
    let key_info = certificate.public_key();
    let curve = key_info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|parameters| Oid::try_from(parameters).ok());
    let point = &key_info.subject_public_key.data;
    let is_p256 = key_info.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY
        && curve == Some(OID_EC_P256)
        && point.len() == 65
        && point.first() == Some(&0x04);
    if !is_p256 {
        return Err(Rejection::new(
            ReasonCode::UnsupportedKey,
            format!(
                "signer key algorithm {} ({:?}) is not an uncompressed ECDSA P-256 key",
                key_info.algorithm.algorithm,
                curve.map(|oid| oid.to_id_string())
            ),
        ));
    }
    let has_label_eku = certificate
        .extended_key_usage()
        .map_err(|error| malformed(format!("signer certificate EKU: {error}")))?
        .is_some_and(|eku| {
            eku.value
                .other
                .iter()
                .any(|oid| oid.as_bytes() == LABEL_SIGNING_EKU_DER)
        });
    let subject = certificate.subject();
    let name = subject
        .iter_organization()
        .chain(subject.iter_common_name())
        .find_map(|attribute| attribute.as_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok(SignerFacts {
        public_key: point.to_vec(),
        key_id: crate::dsse::key_id(key_info.raw),
        not_before: certificate.validity().not_before.timestamp(),
        not_after: certificate.validity().not_after.timestamp(),
        has_label_eku,
        self_issued: certificate.subject().as_raw() == certificate.issuer().as_raw(),
        lab: LabIdentity { name },
        subject: subject.to_string(),
        serial: hex::encode(certificate.raw_serial()),
    })
}

/// The validity window of a certificate (both ends inclusive).
pub(crate) fn validity_window(der: &[u8]) -> Result<(i64, i64), String> {
    let certificate = parse_whole(der)?;
    Ok((
        certificate.validity().not_before.timestamp(),
        certificate.validity().not_after.timestamp(),
    ))
}

fn parse_whole(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], certificate)) => Ok(certificate),
        Ok((rest, _)) => Err(format!("{} bytes after the certificate", rest.len())),
        Err(error) => Err(format!("not an X.509 certificate: {error}")),
    }
}

/// A chain that leads to a root with the label EKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TrustedChain {
    /// Latest `notBefore` of the chain: the chain holds for any time in the window.
    pub valid_from: i64,
    /// Earliest `notAfter` of the chain.
    pub valid_until: i64,
    pub revocation: RevocationStatus,
}

/// What the CRLs say about a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RevocationStatus {
    /// No CRL lists a certificate of the chain (or there was none to check).
    NotRevoked,
    Revoked(String),
    /// A CRL that applies does not verify.
    Unknown(String),
}

/// Validate `chain` (signer first) to one of `anchors` at `issued_at` with the label
/// EKU, then check it against `crls`.
pub(crate) fn validate(
    chain: &[Vec<u8>],
    facts: &SignerFacts,
    anchors: &[TrustAnchor<'static>],
    crls: &[CertRevocationList<'static>],
    issued_at: i64,
) -> Result<TrustedChain, Rejection> {
    let untrusted = |detail: String| Rejection::new(ReasonCode::UntrustedChain, detail);
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(untrusted("no certificate".into()));
    };
    let leaf = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let end_entity = EndEntityCert::try_from(&leaf)
        .map_err(|error| untrusted(format!("signer certificate refused by webpki: {error:?}")))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(issued_at.max(0).unsigned_abs()));
    // Every certificate of the file must be on the path, so none is left unchecked.
    let carries_extra = Cell::new(false);
    let whole_chain_used = |path: &VerifiedPath<'_>| {
        if path.intermediate_certificates().count() == intermediates.len() {
            Ok(())
        } else {
            carries_extra.set(true);
            Err(webpki::Error::UnknownIssuer)
        }
    };
    // RFC 5280 section 4.2.1.12: the EKU binds the end entity. A CA carrying an EKU
    // extension must include ours too; the signer's is checked below, it must be there.
    let usage = KeyUsage::required_if_present(LABEL_SIGNING_EKU_DER);
    end_entity
        .verify_for_usage(
            SIGNATURE_ALGORITHMS,
            anchors,
            &intermediates,
            time,
            usage,
            None,
            Some(&whole_chain_used),
        )
        .map_err(|error| chain_rejection(error, facts, issued_at, carries_extra.get()))?;
    if !facts.has_label_eku {
        return Err(Rejection::new(
            ReasonCode::MissingEku,
            format!(
                "signer certificate has no extended key usage {}",
                crate::pki::LABEL_SIGNING_EKU
            ),
        ));
    }
    let (mut valid_from, mut valid_until) = (facts.not_before, facts.not_after);
    for der in chain.iter().skip(1) {
        let (not_before, not_after) = validity_window(der)
            .map_err(|detail| untrusted(format!("CA certificate: {detail}")))?;
        valid_from = valid_from.max(not_before);
        valid_until = valid_until.min(not_after);
    }
    let revocation = if crls.is_empty() {
        RevocationStatus::NotRevoked
    } else {
        let crl_refs: Vec<&CertRevocationList<'static>> = crls.iter().collect();
        match RevocationOptionsBuilder::new(&crl_refs) {
            Err(_) => RevocationStatus::NotRevoked,
            Ok(builder) => {
                // RFC 5280 section 6.3: every certificate of the path, against the CRL of
                // its issuer when we have it. Verification is offline, so an old CRL
                // still counts (its nextUpdate is not enforced).
                let options = builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .with_expiration_policy(ExpirationPolicy::Ignore)
                    .build();
                match end_entity.verify_for_usage(
                    SIGNATURE_ALGORITHMS,
                    anchors,
                    &intermediates,
                    time,
                    usage,
                    Some(options),
                    Some(&whole_chain_used),
                ) {
                    Ok(_) => RevocationStatus::NotRevoked,
                    Err(webpki::Error::CertRevoked) => RevocationStatus::Revoked(format!(
                        "a CRL revokes the signer certificate (serial {}) or a CA above it",
                        facts.serial
                    )),
                    Err(error) => {
                        RevocationStatus::Unknown(format!("checking the CRLs failed: {error:?}"))
                    }
                }
            }
        }
    };
    Ok(TrustedChain {
        valid_from,
        valid_until,
        revocation,
    })
}

fn chain_rejection(
    error: webpki::Error,
    facts: &SignerFacts,
    issued_at: i64,
    carries_extra: bool,
) -> Rejection {
    use webpki::Error;
    match error {
        Error::CertExpired { .. } | Error::CertNotValidYet { .. } => {
            let detail = if issued_at < facts.not_before || issued_at > facts.not_after {
                format!(
                    "the signer certificate is valid from {} to {}, the label was issued at {}",
                    seconds_text(facts.not_before),
                    seconds_text(facts.not_after),
                    seconds_text(issued_at)
                )
            } else {
                format!(
                    "a CA certificate of the chain was not valid at issued_at {}",
                    seconds_text(issued_at)
                )
            };
            Rejection::new(ReasonCode::SignerNotValidAtIssue, detail)
        }
        Error::RequiredEkuNotFoundContext(_) | Error::EmptyEkuExtension => Rejection::new(
            ReasonCode::MissingEku,
            format!(
                "a certificate of the chain has an extended key usage without {}",
                crate::pki::LABEL_SIGNING_EKU
            ),
        ),
        Error::UnknownIssuer if facts.self_issued => Rejection::new(
            ReasonCode::SelfSignedSigner,
            format!(
                "the signer certificate \"{}\" is issued by itself, not by a given root",
                facts.subject
            ),
        ),
        Error::UnknownIssuer if carries_extra => Rejection::new(
            ReasonCode::UntrustedChain,
            "the chain carries certificates that are not on the path to a given root",
        ),
        Error::UnknownIssuer => Rejection::new(
            ReasonCode::UntrustedChain,
            "the chain does not lead to any of the given roots",
        ),
        Error::InvalidSignatureForPublicKey => Rejection::new(
            ReasonCode::UntrustedChain,
            "a certificate's signature does not verify with its issuer's key: \
             a forged chain, or one to another root of the same name",
        ),
        other => Rejection::new(
            ReasonCode::UntrustedChain,
            format!("chain validation failed: {other:?}"),
        ),
    }
}

fn seconds_text(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(crate::timefmt::rfc3339)
        .unwrap_or_else(|_| format!("@{seconds}"))
}
