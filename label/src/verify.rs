//! Offline verification: is this label genuine, unexpired, unrevoked, about this firmware?
//!
//! The checks run in a fixed order (DESIGN.md section 8) and the first that fails gives
//! the [`Rejection`] its [`ReasonCode`]:
//!
//! 1. parse the file (size cap, strict JSON, base64, chain of 1 to 4 certificates): `malformed`
//! 2. DSSE payload type is `application/vnd.in-toto+json`: `payload-type`
//! 3. exactly one signature: `signature-count`
//! 4. the signer key is ECDSA P-256: `unsupported-key`; keyid matches it: `keyid-mismatch`
//! 5. the signature verifies over the DSSE PAE (DSSE protocol v1.0, "To verify"): `bad-signature`
//! 6. only then is the payload parsed: an in-toto Statement v1 with our predicate
//!    (`statement-type`), well formed (`malformed-statement`)
//! 7. the chain leads to a given root at `issued_at` (RFC 5280 section 6, webpki), every
//!    certificate of the file on the path: `untrusted-chain`, `self-signed-signer`;
//!    the signer has the label EKU: `missing-eku`; every CA on the path may sign
//!    certificates and the signer may sign (keyUsage): `key-usage`; each certificate was
//!    valid at `issued_at`: `signer-not-valid-at-issue`; the predicate names the
//!    signer's subject: `lab-mismatch`; the label expires no later than the chain:
//!    `lifetime-exceeds-signer`
//! 8. `issued_at <= at < expires_at`: `label-expired`, `label-not-yet-valid`
//! 9. CRLs (RFC 5280 section 6.3): `revocation-unknown`, `revoked-certificate`; the lab's
//!    signed revocation list (signed by the label's key, or by a key the same CA keys
//!    certified under the same subject): `revoked-label`
//! 10. the firmware image or digest, when given, is the subject's: `firmware-mismatch`
//! 11. the campaign report or its digest, when given, is the one `report_sha256`
//!     binds: `report-mismatch`
//!
//! Expiry is always enforced: there is no switch to turn it off, only `at`. A valid
//! label says whether its revocation was checked at all ([`RevocationCheck`]).
//!
//! A [`Verifier`] holds the roots, CRLs and revocation lists, and remembers chains it
//! has validated (keyed by their exact bytes, with the window in which they hold), so
//! verifying many labels of one lab costs one signature check each. It is `Sync`: one
//! verifier serves any number of labels and threads, and [`VerdictRecord`] writes each
//! verdict as one JSON object (a line of JSON Lines).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor};
use serde::Serialize;
use sha2::Digest as _;
use time::OffsetDateTime;
use uuid::Uuid;
use webpki::{CertRevocationList, OwnedCertRevocationList};

use crate::chain::{
    root, signer_facts, validate, RevocationStatus, Root, SignerFacts, TrustedChain,
};
use crate::dsse::verify_pae;
use crate::reason::{ReasonCode, Rejection};
use crate::revocation::{
    RevocationList, RevokedLabel, VerifiedRevocationList, REVOCATION_PAYLOAD_TYPE,
};
use crate::signed_file::{self, ParsedFile, LABEL_FORMAT, REVOCATION_LIST_FORMAT};
use crate::statement::{LabIdentity, LabelStatement, Sha256Hex, StatementError, PAYLOAD_TYPE};
use crate::timefmt::rfc3339;

/// Chains remembered at most; the memory is emptied when full.
const CHAIN_CACHE_ENTRIES: usize = 64;

/// The firmware a label must be about.
#[derive(Clone, Copy, Debug)]
pub enum FirmwareCheck<'a> {
    /// The image bytes; hashed here.
    Image(&'a [u8]),
    /// The image's SHA-256, hex (for images too large to hold in memory).
    Sha256(&'a str),
}

/// The campaign report a label binds by its `report_sha256`.
#[derive(Clone, Copy, Debug)]
pub enum ReportCheck<'a> {
    /// The report file's bytes, exactly as issued beside the label; hashed here.
    Bytes(&'a [u8]),
    /// The report's SHA-256, hex.
    Sha256(&'a str),
}

/// What a label is checked against besides roots, time and revocation data.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// The firmware the label must be about.
    pub firmware: Option<FirmwareCheck<'a>>,
    /// The report the label must bind.
    pub report: Option<ReportCheck<'a>>,
}

/// Whether a valid label's revocation was checked: `not_checked` means that nothing
/// the verifier was given (CRL or revocation list) could have revoked it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCheck {
    /// At least one of [`RevocationSources`] applied to the label.
    Checked,
    /// No CRL of the signer's CA and no revocation list of the label's lab was given.
    NotChecked,
}

/// Which revocation data applied to a valid label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RevocationSources {
    /// A CRL of the signer certificate's CA was given, verified and consulted (CRLs of
    /// the CAs above it are consulted too when given).
    pub signer_crl: bool,
    /// A revocation list of the label's lab was given: signed by the label's key, or
    /// by a key certified under the same subject by the same CA keys.
    pub lab_revocation_list: bool,
}

impl RevocationSources {
    /// `checked` when any source applied.
    pub fn check(self) -> RevocationCheck {
        if self.signer_crl || self.lab_revocation_list {
            RevocationCheck::Checked
        } else {
            RevocationCheck::NotChecked
        }
    }
}

/// The verifier could not be set up (a misuse, not a verdict on a label).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("roots: {0}")]
    Roots(String),
    #[error("CRL: {0}")]
    Crl(String),
    #[error("revocation list: {0}")]
    RevocationList(Rejection),
}

/// The signer of a verified label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignerSummary {
    pub lab: LabIdentity,
    /// The signer certificate's subject, RFC 4514 style.
    pub subject: String,
    pub key_id: String,
    /// Serial number of the signer certificate, hex.
    pub serial: String,
    /// The earliest `notAfter` of the chain.
    #[serde(with = "time::serde::rfc3339")]
    pub chain_valid_until: OffsetDateTime,
}

/// A label that passed every check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedLabel {
    pub statement: LabelStatement,
    pub signer: SignerSummary,
    /// Whether a firmware image or digest was checked against the subject.
    pub firmware_checked: bool,
    /// Whether the campaign report (or its digest) was checked against `report_sha256`.
    pub report_checked: bool,
    /// `checked` or `not_checked`: whether any revocation data applied to this label.
    pub revocation: RevocationCheck,
    /// Which revocation data applied.
    pub revocation_sources: RevocationSources,
    /// The time the label was verified for.
    #[serde(with = "time::serde::rfc3339")]
    pub verified_at: OffsetDateTime,
}

/// One label's verdict as one JSON object, the form `iotcert verify --json` prints
/// (one line per label when verifying many):
/// `{"file": ..., "valid": true, "label": {...}}` or
/// `{"file": ..., "valid": false, "code": "...", "detail": "..."}`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct VerdictRecord<'a> {
    /// The label file, as the caller names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a VerifiedLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ReasonCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
}

impl<'a> VerdictRecord<'a> {
    pub fn new(file: Option<&'a str>, outcome: &'a Result<VerifiedLabel, Rejection>) -> Self {
        match outcome {
            Ok(label) => VerdictRecord {
                file,
                valid: true,
                label: Some(label),
                code: None,
                detail: None,
            },
            Err(rejection) => VerdictRecord {
                file,
                valid: false,
                label: None,
                code: Some(rejection.code),
                detail: Some(&rejection.detail),
            },
        }
    }
}

struct CachedSigner {
    facts: SignerFacts,
    trusted: Option<TrustedChain>,
}

/// Who signed a revocation list; its entries count for the labels [`Self::covers`].
struct Revoker {
    key_id: String,
    subject_der: Vec<u8>,
    issuer_chain: [u8; 32],
}

impl Revoker {
    /// The label's own key, or a key of the same subject certified by the same CA keys
    /// up to the same root: never a name alone.
    fn covers(&self, label_signer: &SignerFacts, label_chain: &TrustedChain) -> bool {
        self.key_id == label_signer.key_id
            || (self.subject_der == label_signer.subject_der
                && self.issuer_chain == label_chain.issuer_chain)
    }
}

/// One verified revocation list: its signer and what it revokes.
struct LabRevocations {
    revoker: Revoker,
    entries: HashMap<Uuid, RevokedLabel>,
}

/// Verifies labels offline against fixed roots, CRLs and revocation lists.
pub struct Verifier {
    roots: Vec<Root>,
    /// The roots' anchors, in the form webpki takes them.
    anchors: Vec<TrustAnchor<'static>>,
    crls: Vec<CertRevocationList<'static>>,
    revocation_lists: Vec<LabRevocations>,
    chains: Mutex<HashMap<[u8; 32], CachedSigner>>,
}

impl Verifier {
    /// Roots as PEM (one or more certificates) or one DER certificate; CRLs as PEM or
    /// DER; revocation lists as signed files, each verified here against the roots.
    pub fn new(
        roots: &[u8],
        crls: &[&[u8]],
        revocation_lists: &[&[u8]],
    ) -> Result<Verifier, SetupError> {
        let roots = read_certificates(roots)?
            .iter()
            .enumerate()
            .map(|(index, der)| {
                root(der).map_err(|error| SetupError::Roots(format!("root {index}: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let crls = crls
            .iter()
            .enumerate()
            .map(|(index, bytes)| {
                read_crl(bytes).map_err(|e| SetupError::Crl(format!("{index}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        refuse_crls_of_roots_that_may_not_sign_them(&roots, &crls)?;
        let mut verifier = Verifier {
            anchors: roots.iter().map(|root| root.anchor.clone()).collect(),
            roots,
            crls,
            revocation_lists: Vec::new(),
            chains: Mutex::new(HashMap::new()),
        };
        for bytes in revocation_lists {
            let (verified, revoker) = verifier
                .open_revocation_list_of(bytes)
                .map_err(SetupError::RevocationList)?;
            verifier.revocation_lists.push(LabRevocations {
                revoker,
                entries: verified
                    .list
                    .entries
                    .into_iter()
                    .map(|entry| (entry.label_id, entry))
                    .collect(),
            });
        }
        Ok(verifier)
    }

    /// Verify a label file for time `at`, and against `firmware` when given: the same
    /// as [`Verifier::verify_with`] without a report.
    pub fn verify(
        &self,
        label: &[u8],
        at: OffsetDateTime,
        firmware: Option<FirmwareCheck<'_>>,
    ) -> Result<VerifiedLabel, Rejection> {
        self.verify_with(
            label,
            at,
            VerifyOptions {
                firmware,
                report: None,
            },
        )
    }

    /// Verify a label file for time `at`, and against the firmware and report of
    /// `options` when given.
    pub fn verify_with(
        &self,
        label: &[u8],
        at: OffsetDateTime,
        options: VerifyOptions<'_>,
    ) -> Result<VerifiedLabel, Rejection> {
        let file = signed_file::parse(label, LABEL_FORMAT, PAYLOAD_TYPE)?;
        let (chain_key, facts) = self.authenticate(&file)?;
        let statement = LabelStatement::from_payload(&file.payload).map_err(statement_rejection)?;
        let predicate = &statement.predicate;
        let trusted = self.trusted_chain(
            &chain_key,
            &file.chain,
            &facts,
            predicate.issued_at.unix_timestamp(),
        )?;
        if predicate.lab != facts.lab {
            return Err(Rejection::new(
                ReasonCode::LabMismatch,
                format!(
                    "the label names lab {:?}, the signer certificate {:?} ({})",
                    predicate.lab.name, facts.lab.name, facts.subject
                ),
            ));
        }
        if predicate.expires_at.unix_timestamp() > trusted.valid_until {
            return Err(Rejection::new(
                ReasonCode::LifetimeExceedsSigner,
                format!(
                    "the label expires at {}, after its signer chain ({})",
                    rfc3339(predicate.expires_at),
                    seconds_text(trusted.valid_until)
                ),
            ));
        }
        if at >= predicate.expires_at {
            return Err(Rejection::new(
                ReasonCode::LabelExpired,
                format!(
                    "expired at {}, verifying at {}",
                    rfc3339(predicate.expires_at),
                    rfc3339(at)
                ),
            ));
        }
        if at < predicate.issued_at {
            return Err(Rejection::new(
                ReasonCode::LabelNotYetValid,
                format!(
                    "valid from {}, verifying at {}",
                    rfc3339(predicate.issued_at),
                    rfc3339(at)
                ),
            ));
        }
        let signer_crl = match &trusted.revocation {
            RevocationStatus::NotRevoked { signer_crl } => *signer_crl,
            RevocationStatus::Unknown(detail) => {
                return Err(Rejection::new(
                    ReasonCode::RevocationUnknown,
                    detail.clone(),
                ))
            }
            RevocationStatus::Revoked(detail) => {
                return Err(Rejection::new(
                    ReasonCode::RevokedCertificate,
                    detail.clone(),
                ))
            }
        };
        let mut lab_revocation_list = false;
        for lab_list in &self.revocation_lists {
            if !lab_list.revoker.covers(&facts, &trusted) {
                continue;
            }
            lab_revocation_list = true;
            if let Some(entry) = lab_list.entries.get(&predicate.label_id) {
                return Err(Rejection::new(
                    ReasonCode::RevokedLabel,
                    format!(
                        "label {} revoked at {}: {}",
                        entry.label_id,
                        rfc3339(entry.revoked_at),
                        entry.reason
                    ),
                ));
            }
        }
        if let Some(firmware) = options.firmware {
            check_firmware(&statement, firmware)?;
        }
        if let Some(report) = options.report {
            check_report(&statement, report)?;
        }
        let revocation_sources = RevocationSources {
            signer_crl,
            lab_revocation_list,
        };
        let chain_valid_until = OffsetDateTime::from_unix_timestamp(trusted.valid_until)
            .map_err(|_| Rejection::new(ReasonCode::Malformed, "chain validity out of range"))?;
        Ok(VerifiedLabel {
            signer: SignerSummary {
                lab: facts.lab,
                subject: facts.subject,
                key_id: facts.key_id,
                serial: facts.serial,
                chain_valid_until,
            },
            statement,
            firmware_checked: options.firmware.is_some(),
            report_checked: options.report.is_some(),
            revocation: revocation_sources.check(),
            revocation_sources,
            verified_at: at,
        })
    }

    /// Verify a label revocation list (signature, and chain at its `issued_at`).
    pub fn open_revocation_list(&self, bytes: &[u8]) -> Result<VerifiedRevocationList, Rejection> {
        self.open_revocation_list_of(bytes).map(|(list, _)| list)
    }

    fn open_revocation_list_of(
        &self,
        bytes: &[u8],
    ) -> Result<(VerifiedRevocationList, Revoker), Rejection> {
        let file = signed_file::parse(bytes, REVOCATION_LIST_FORMAT, REVOCATION_PAYLOAD_TYPE)?;
        let (chain_key, facts) = self.authenticate(&file)?;
        crate::strict_json::reject_duplicate_keys(&file.payload).map_err(|error| {
            Rejection::new(
                ReasonCode::MalformedStatement,
                format!("not a label revocation list: {error}"),
            )
        })?;
        let list: RevocationList = serde_json::from_slice(&file.payload).map_err(|error| {
            Rejection::new(
                ReasonCode::MalformedStatement,
                format!("not a label revocation list: {error}"),
            )
        })?;
        if list.issued_at.unix_timestamp() < 0 {
            return Err(Rejection::new(
                ReasonCode::MalformedStatement,
                "issued_at is before 1970-01-01",
            ));
        }
        let trusted = self.trusted_chain(
            &chain_key,
            &file.chain,
            &facts,
            list.issued_at.unix_timestamp(),
        )?;
        let revoker = Revoker {
            key_id: facts.key_id.clone(),
            subject_der: facts.subject_der,
            issuer_chain: trusted.issuer_chain,
        };
        Ok((
            VerifiedRevocationList {
                list,
                lab: facts.lab,
                signer_subject: facts.subject,
                signer_key_id: facts.key_id,
            },
            revoker,
        ))
    }

    /// Steps 4 and 5: the signer's key, its key id, and the signature over the PAE.
    fn authenticate(&self, file: &ParsedFile) -> Result<([u8; 32], SignerFacts), Rejection> {
        let chain_key = chain_digest(&file.chain);
        let facts = self.signer(&chain_key, &file.chain)?;
        if file.keyid != facts.key_id {
            return Err(Rejection::new(
                ReasonCode::KeyidMismatch,
                format!(
                    "keyid {:?} is not the signer's {}",
                    file.keyid, facts.key_id
                ),
            ));
        }
        if !verify_pae(
            &facts.public_key,
            &file.payload_type,
            &file.payload,
            &file.signature,
        ) {
            return Err(Rejection::new(
                ReasonCode::BadSignature,
                "the signature does not verify with the signer certificate's key",
            ));
        }
        Ok((chain_key, facts))
    }

    fn signer(&self, chain_key: &[u8; 32], chain: &[Vec<u8>]) -> Result<SignerFacts, Rejection> {
        if let Some(cached) = self.cache().get(chain_key) {
            return Ok(cached.facts.clone());
        }
        let leaf = chain
            .first()
            .ok_or_else(|| Rejection::new(ReasonCode::Malformed, "no certificate"))?;
        let facts = signer_facts(leaf)?;
        let mut cache = self.cache();
        if cache.len() >= CHAIN_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(
            *chain_key,
            CachedSigner {
                facts: facts.clone(),
                trusted: None,
            },
        );
        Ok(facts)
    }

    fn trusted_chain(
        &self,
        chain_key: &[u8; 32],
        chain: &[Vec<u8>],
        facts: &SignerFacts,
        issued_at: i64,
    ) -> Result<TrustedChain, Rejection> {
        let remembered = self
            .cache()
            .get(chain_key)
            .and_then(|cached| cached.trusted.clone())
            .filter(|trusted| trusted.valid_from <= issued_at && issued_at <= trusted.valid_until);
        if let Some(trusted) = remembered {
            return Ok(trusted);
        }
        let trusted = validate(
            chain,
            facts,
            &self.roots,
            &self.anchors,
            &self.crls,
            issued_at,
        )?;
        if let Some(cached) = self.cache().get_mut(chain_key) {
            cached.trusted = Some(trusted.clone());
        }
        Ok(trusted)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], CachedSigner>> {
        self.chains.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn statement_rejection(error: StatementError) -> Rejection {
    match error {
        StatementError::WrongType(detail) => Rejection::new(ReasonCode::StatementType, detail),
        StatementError::Malformed(detail) => Rejection::new(ReasonCode::MalformedStatement, detail),
    }
}

fn check_firmware(
    statement: &LabelStatement,
    firmware: FirmwareCheck<'_>,
) -> Result<(), Rejection> {
    let expected = &statement.firmware.sha256;
    let given = match firmware {
        FirmwareCheck::Image(bytes) => Sha256Hex::of(bytes),
        FirmwareCheck::Sha256(text) => {
            Sha256Hex::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
                Rejection::new(
                    ReasonCode::FirmwareMismatch,
                    format!("{text:?} is not a SHA-256 digest"),
                )
            })?
        }
    };
    if &given == expected {
        Ok(())
    } else {
        Err(Rejection::new(
            ReasonCode::FirmwareMismatch,
            format!(
                "the firmware has sha256 {given}, the label is about {} with sha256 {expected}",
                statement.firmware.name
            ),
        ))
    }
}

fn check_report(statement: &LabelStatement, report: ReportCheck<'_>) -> Result<(), Rejection> {
    let expected = &statement.predicate.report_sha256;
    let given = match report {
        ReportCheck::Bytes(bytes) => Sha256Hex::of(bytes),
        ReportCheck::Sha256(text) => {
            Sha256Hex::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
                Rejection::new(
                    ReasonCode::ReportMismatch,
                    format!("{text:?} is not a SHA-256 digest"),
                )
            })?
        }
    };
    if &given == expected {
        Ok(())
    } else {
        Err(Rejection::new(
            ReasonCode::ReportMismatch,
            format!(
                "the report has sha256 {given}, the label binds the report with sha256 {expected}"
            ),
        ))
    }
}

/// RFC 5280 section 4.2.1.3: a root whose keyUsage leaves out cRLSign signs no CRL.
/// webpki checks cRLSign for CAs below the roots only, so a CRL in the name of such a
/// root (and of no other root of that name) is refused here.
fn refuse_crls_of_roots_that_may_not_sign_them(
    roots: &[Root],
    crls: &[CertRevocationList<'static>],
) -> Result<(), SetupError> {
    for (index, crl) in crls.iter().enumerate() {
        let mut same_name = roots
            .iter()
            .filter(|root| root.anchor.subject.as_ref() == crl.issuer())
            .peekable();
        if let Some(root) = same_name.peek() {
            let name = root.name.clone();
            if same_name.all(|root| !root.key_usage.crl_sign) {
                return Err(SetupError::Crl(format!(
                    "{index}: issued in the name of root \"{name}\", whose key usage does not include cRLSign"
                )));
            }
        }
    }
    Ok(())
}

/// SHA-256 over the chain, each certificate length-prefixed.
fn chain_digest(chain: &[Vec<u8>]) -> [u8; 32] {
    let mut hasher = sha2::Sha256::new();
    for der in chain {
        hasher.update((der.len() as u64).to_be_bytes());
        hasher.update(der);
    }
    hasher.finalize().into()
}

fn read_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    if !contains_pem(bytes) {
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    let certificates = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| SetupError::Roots(format!("bad PEM: {error:?}")))?;
    if certificates.is_empty() {
        return Err(SetupError::Roots("no CERTIFICATE in the PEM".into()));
    }
    Ok(certificates)
}

fn read_crl(bytes: &[u8]) -> Result<CertRevocationList<'static>, String> {
    let der = if contains_pem(bytes) {
        CertificateRevocationListDer::from_pem_slice(bytes)
            .map_err(|error| format!("bad PEM: {error:?}"))?
            .as_ref()
            .to_vec()
    } else {
        bytes.to_vec()
    };
    OwnedCertRevocationList::from_der(&der)
        .map(CertRevocationList::from)
        .map_err(|error| format!("not a CRL: {error:?}"))
}

fn contains_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

fn seconds_text(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(rfc3339)
        .unwrap_or_else(|_| format!("@{seconds}"))
}
