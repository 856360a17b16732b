//! Who signed: reading the signer certificate and validating its chain to a root.
//!
//! x509-parser reads the fields we act on (key, validity, key usage, extended key
//! usage, subject); rustls-webpki builds and checks the path (RFC 5280 section 6) at the
//! label's `issued_at`, and separately checks the chain against the CRLs we were given
//! (RFC 5280 section 6.3), so the verifier can report revocation in its own step.
//!
//! webpki ignores the keyUsage extension of certificates (it checks cRLSign only for a
//! CRL's issuer, and not for a root), so the path is checked here too: every CA on it,
//! the root included, must allow keyCertSign when it carries a keyUsage extension, and
//! the signer digitalSignature (RFC 5280 sections 4.2.1.3 and 6.1.4 (n)), as OpenSSL
//! requires ("key usage does not include certificate signing").

use std::cell::{Cell, RefCell};
use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use sha2::Digest as _;
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
    /// The subject distinguished name as encoded, for exact comparison.
    pub subject_der: Vec<u8>,
    /// Serial number, hex.
    pub serial: String,
    /// The certificate has no keyUsage extension, or one with digitalSignature.
    pub may_sign: bool,
}

/// What a CA certificate's keyUsage extension allows (RFC 5280 section 4.2.1.3); a CA
/// without the extension may sign anything its other extensions allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CaKeyUsage {
    pub cert_sign: bool,
    pub crl_sign: bool,
}

/// A trusted root: the anchor webpki builds paths to, and what its certificate's
/// keyUsage allows (webpki's anchors keep no extensions).
pub(crate) struct Root {
    pub anchor: TrustAnchor<'static>,
    pub key_usage: CaKeyUsage,
    /// The subject, RFC 4514 style.
    pub name: String,
}

/// A root from its DER certificate.
pub(crate) fn root(der: &[u8]) -> Result<Root, String> {
    let certificate = parse_whole(der)?;
    let key_usage = ca_key_usage(&certificate)?;
    let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(der))
        .map(|anchor| anchor.to_owned())
        .map_err(|error| format!("{error:?}"))?;
    Ok(Root {
        anchor,
        key_usage,
        name: certificate.subject().to_string(),
    })
}

fn ca_key_usage(certificate: &X509Certificate<'_>) -> Result<CaKeyUsage, String> {
    Ok(
        match certificate
            .key_usage()
            .map_err(|error| format!("keyUsage: {error}"))?
        {
            None => CaKeyUsage {
                cert_sign: true,
                crl_sign: true,
            },
            Some(usage) => CaKeyUsage {
                cert_sign: usage.value.key_cert_sign(),
                crl_sign: usage.value.crl_sign(),
            },
        },
    )
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
    let may_sign = certificate
        .key_usage()
        .map_err(|error| malformed(format!("signer certificate keyUsage: {error}")))?
        .is_none_or(|usage| usage.value.digital_signature());
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
        subject_der: subject.as_raw().to_vec(),
        serial: hex::encode(certificate.raw_serial()),
        may_sign,
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

/// What the path check needs of a CA certificate the file carries.
struct CaFacts<'a> {
    der: &'a [u8],
    subject: String,
    /// DER SubjectPublicKeyInfo.
    public_key: Vec<u8>,
    not_before: i64,
    not_after: i64,
    key_usage: Result<CaKeyUsage, String>,
}

fn ca_facts(der: &[u8]) -> Result<CaFacts<'_>, String> {
    let certificate = parse_whole(der)?;
    Ok(CaFacts {
        der,
        subject: certificate.subject().to_string(),
        public_key: certificate.public_key().raw.to_vec(),
        not_before: certificate.validity().not_before.timestamp(),
        not_after: certificate.validity().not_after.timestamp(),
        key_usage: ca_key_usage(&certificate),
    })
}

/// Why a path webpki accepts breaks RFC 5280 key usage: the first CA on it, from the
/// signer's issuer up to the root, that may not sign certificates.
fn key_usage_fault(path: &VerifiedPath<'_>, cas: &[CaFacts<'_>], roots: &[Root]) -> Option<String> {
    for certificate in path.intermediate_certificates() {
        let der = certificate.der();
        let Some(ca) = cas.iter().find(|ca| ca.der == der.as_ref()) else {
            return Some("a CA of the path is not one of the file's certificates".into());
        };
        match &ca.key_usage {
            Err(error) => return Some(format!("CA \"{}\": unreadable {error}", ca.subject)),
            Ok(usage) if !usage.cert_sign => {
                return Some(format!(
                    "CA \"{}\" certifies the next certificate of the chain, but its key usage does not include keyCertSign",
                    ca.subject
                ))
            }
            Ok(_) => {}
        }
    }
    let anchor = path.anchor();
    match roots.iter().find(|root| {
        root.anchor.subject == anchor.subject
            && root.anchor.subject_public_key_info == anchor.subject_public_key_info
    }) {
        Some(root) if !root.key_usage.cert_sign => Some(format!(
            "root \"{}\" certifies the chain, but its key usage does not include keyCertSign",
            root.name
        )),
        Some(_) => None,
        None => Some("the path ends at a root we were not given".into()),
    }
}

/// SHA-256 of the keys above the signer on `path`, in order up to the root's: which
/// authority certified the signer, whatever the certificates' names or serials.
fn issuer_chain_digest(path: &VerifiedPath<'_>, cas: &[CaFacts<'_>]) -> [u8; 32] {
    let mut hasher = sha2::Sha256::new();
    for certificate in path.intermediate_certificates() {
        let der = certificate.der();
        let key = cas
            .iter()
            .find(|ca| ca.der == der.as_ref())
            .map_or(&[][..], |ca| ca.public_key.as_slice());
        hasher.update(b"ca");
        hasher.update((key.len() as u64).to_be_bytes());
        hasher.update(key);
    }
    let anchor_key = path.anchor().subject_public_key_info.as_ref();
    hasher.update(b"root");
    hasher.update((anchor_key.len() as u64).to_be_bytes());
    hasher.update(anchor_key);
    hasher.finalize().into()
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
    /// See [`issuer_chain_digest`]: labels and revocation lists of one lab share it.
    pub issuer_chain: [u8; 32],
}

/// What the CRLs say about a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RevocationStatus {
    /// No CRL lists a certificate of the chain (or there was none to check).
    NotRevoked {
        /// A CRL of the signer certificate's issuer was given and verified.
        signer_crl: bool,
    },
    Revoked(String),
    /// A CRL that applies does not verify.
    Unknown(String),
}

/// Validate `chain` (signer first) to one of `anchors` at `issued_at` with the label
/// EKU, then check it against `crls`.
pub(crate) fn validate(
    chain: &[Vec<u8>],
    facts: &SignerFacts,
    roots: &[Root],
    anchors: &[TrustAnchor<'static>],
    crls: &[CertRevocationList<'static>],
    issued_at: i64,
) -> Result<TrustedChain, Rejection> {
    let untrusted = |detail: String| Rejection::new(ReasonCode::UntrustedChain, detail);
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(untrusted("no certificate".into()));
    };
    let cas = intermediates
        .iter()
        .map(|der| ca_facts(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|detail| untrusted(format!("CA certificate: {detail}")))?;
    let leaf = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let end_entity = EndEntityCert::try_from(&leaf)
        .map_err(|error| untrusted(format!("signer certificate refused by webpki: {error:?}")))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(issued_at.max(0).unsigned_abs()));
    // Every certificate of the file must be on the path, so none is left unchecked.
    // RFC 5280 key usage is checked on each candidate path, so that webpki goes on to
    // another path (another root of the same name) when one breaks it.
    let carries_extra = Cell::new(false);
    let key_usage_refusal = RefCell::new(None);
    let acceptable_path = |path: &VerifiedPath<'_>| {
        if path.intermediate_certificates().count() != intermediates.len() {
            carries_extra.set(true);
            return Err(webpki::Error::UnknownIssuer);
        }
        if let Some(fault) = key_usage_fault(path, &cas, roots) {
            key_usage_refusal.replace(Some(fault));
            return Err(webpki::Error::UnknownIssuer);
        }
        Ok(())
    };
    // RFC 5280 section 4.2.1.12: the EKU binds the end entity. A CA carrying an EKU
    // extension must include ours too; the signer's is checked below, it must be there.
    let usage = KeyUsage::required_if_present(LABEL_SIGNING_EKU_DER);
    let path = end_entity
        .verify_for_usage(
            SIGNATURE_ALGORITHMS,
            anchors,
            &intermediates,
            time,
            usage,
            None,
            Some(&acceptable_path),
        )
        .map_err(|error| {
            chain_rejection(
                error,
                facts,
                issued_at,
                carries_extra.get(),
                key_usage_refusal.take(),
            )
        })?;
    let issuer_chain = issuer_chain_digest(&path, &cas);
    refuse_signer_usage(facts)?;
    let (mut valid_from, mut valid_until) = (facts.not_before, facts.not_after);
    for ca in &cas {
        valid_from = valid_from.max(ca.not_before);
        valid_until = valid_until.min(ca.not_after);
    }
    let crl_refs: Vec<&CertRevocationList<'static>> = crls.iter().collect();
    // Verification is offline, so an old CRL still counts (its nextUpdate is not
    // enforced).
    let check_crls = |depth, status_policy| match RevocationOptionsBuilder::new(&crl_refs) {
        Err(_) => None,
        Ok(builder) => Some(
            end_entity
                .verify_for_usage(
                    SIGNATURE_ALGORITHMS,
                    anchors,
                    &intermediates,
                    time,
                    usage,
                    Some(
                        builder
                            .with_depth(depth)
                            .with_status_policy(status_policy)
                            .with_expiration_policy(ExpirationPolicy::Ignore)
                            .build(),
                    ),
                    Some(&acceptable_path),
                )
                .map(|_| ()),
        ),
    };
    let revocation = revocation_status(check_crls, facts);
    Ok(TrustedChain {
        valid_from,
        valid_until,
        revocation,
        issuer_chain,
    })
}

/// The signer's own certificate must carry the label-signing EKU and a key usage that
/// allows signatures.
fn refuse_signer_usage(facts: &SignerFacts) -> Result<(), Rejection> {
    if !facts.has_label_eku {
        return Err(Rejection::new(
            ReasonCode::MissingEku,
            format!(
                "signer certificate has no extended key usage {}",
                crate::pki::LABEL_SIGNING_EKU
            ),
        ));
    }
    if !facts.may_sign {
        return Err(Rejection::new(
            ReasonCode::KeyUsage,
            format!(
                "the signer certificate \"{}\" has a key usage without digitalSignature",
                facts.subject
            ),
        ));
    }
    Ok(())
}

/// What verifying the path again with the CRLs said.
type CrlOutcome = Result<(), webpki::Error>;

/// RFC 5280 section 6.3: every certificate of the path, against the CRL of its issuer
/// when we have it; then whether the signer's was among them. `check_crls` verifies the
/// path again with the CRLs at a depth and an unknown-status policy (`None`: no CRLs).
fn revocation_status(
    check_crls: impl Fn(RevocationCheckDepth, UnknownStatusPolicy) -> Option<CrlOutcome>,
    facts: &SignerFacts,
) -> RevocationStatus {
    match check_crls(RevocationCheckDepth::Chain, UnknownStatusPolicy::Allow) {
        None => RevocationStatus::NotRevoked { signer_crl: false },
        Some(Ok(_)) => RevocationStatus::NotRevoked {
            signer_crl: matches!(
                check_crls(RevocationCheckDepth::EndEntity, UnknownStatusPolicy::Deny),
                Some(Ok(_))
            ),
        },
        Some(Err(webpki::Error::CertRevoked)) => RevocationStatus::Revoked(format!(
            "a CRL revokes the signer certificate (serial {}) or a CA above it",
            facts.serial
        )),
        Some(Err(webpki::Error::IssuerNotCrlSigner)) => RevocationStatus::Unknown(
            "a CRL is signed by a CA whose key usage does not include cRLSign".into(),
        ),
        Some(Err(error)) => {
            RevocationStatus::Unknown(format!("checking the CRLs failed: {error:?}"))
        }
    }
}

fn chain_rejection(
    error: webpki::Error,
    facts: &SignerFacts,
    issued_at: i64,
    carries_extra: bool,
    key_usage_refusal: Option<String>,
) -> Rejection {
    use webpki::Error;
    if let (Error::UnknownIssuer, Some(fault)) = (&error, key_usage_refusal) {
        return Rejection::new(ReasonCode::KeyUsage, fault);
    }
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
