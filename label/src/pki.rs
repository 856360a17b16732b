//! The label PKI: who may sign a label, and a development PKI to try it with.
//!
//! A scheme root CA certifies a lab intermediate CA, which certifies the lab's
//! label-signing certificate; that certificate carries our own extended key usage
//! ([`LABEL_SIGNING_EKU`]), so a lab's TLS or code-signing certificate can never sign a
//! label. The intermediate also signs an X.509 CRL of lab certificates (RFC 5280 section 5).
//!
//! [`init`] writes the development PKI that `certs/` holds. Tests build throw-away PKIs
//! with [`Authority`], choosing every validity window relative to a fixed instant, so no
//! test depends on the clock of the day some files were made.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

/// UUID from which the label-signing EKU is derived (ITU-T X.667 arc `2.25`), fixed once.
pub const LABEL_SIGNING_EKU_UUID: &str = "ce807478-c8f0-4f54-a8fe-e1325c23d8bb";

/// The label-signing extended key usage, `2.25.<the UUID as a decimal integer>`.
/// An OID under `2.25` needs no registration (ITU-T X.667 section 6.3).
pub const LABEL_SIGNING_EKU: &str = "2.25.274487943458666171849758438743641151675";

/// The DER contents octets of [`LABEL_SIGNING_EKU`] (no tag, no length), the form in
/// which webpki and x509-parser compare key purposes.
pub const LABEL_SIGNING_EKU_DER: &[u8] = &[
    0x69, 0x83, 0x9d, 0x80, 0xba, 0x9e, 0x99, 0x8f, 0x82, 0xbd, 0xa9, 0xa8, 0xff, 0xb8, 0xa6, 0xa5,
    0xe1, 0x8f, 0xb1, 0x3b,
];

/// `id-ce-extKeyUsage` (RFC 5280 section 4.2.1.12).
const EXTENDED_KEY_USAGE_OID: &[u64] = &[2, 5, 29, 37];

/// Why a PKI could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("no system randomness for a serial number")]
    Randomness,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists; pass Existing::Replace to overwrite the PKI")]
    AlreadyExists(PathBuf),
}

/// A certificate's validity window, `notBefore` to `notAfter` (both inclusive, RFC 5280
/// section 4.1.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From `start` for `length`.
    pub fn starting(start: OffsetDateTime, length: Duration) -> Validity {
        Validity {
            not_before: start,
            not_after: start + length,
        }
    }
}

/// What the extended key usage extension of a signer certificate says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerUsage {
    /// Our label-signing EKU: the only kind that can sign a label.
    LabelSigning,
    /// No EKU extension at all.
    NoExtendedKeyUsage,
    /// An EKU extension with code signing only.
    CodeSigningOnly,
}

/// A certificate authority: its certificate and its key. Used for the scheme root and
/// lab intermediates, in [`init`] and in tests.
pub struct Authority {
    certificate: rcgen::Certificate,
    key: KeyPair,
    serial: SerialNumber,
}

/// A freshly issued label-signing certificate and its key.
#[derive(Clone, Debug)]
pub struct IssuedSigner {
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The serial number, to revoke it in a CRL.
    pub serial: SerialNumber,
}

impl IssuedSigner {
    /// The PEM chain a signer is loaded from: this certificate, then `intermediates`
    /// from the one that issued it upwards (the root is never included).
    pub fn chain_pem(&self, intermediates: &[&Authority]) -> String {
        let mut chain = self.certificate_pem.clone();
        for authority in intermediates {
            chain.push_str(&authority.certificate_pem());
        }
        chain
    }
}

/// A label-signing certificate together with its subject, for [`Authority::issue_signer`].
#[derive(Clone, Copy, Debug)]
pub struct SignerSubject<'a> {
    /// Common name of the signing certificate.
    pub common_name: &'a str,
    /// The lab's name, as it appears on labels.
    pub organization: &'a str,
}

impl Authority {
    /// A new self-signed root CA.
    pub fn root(common_name: &str, validity: Validity) -> Result<Authority, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let serial = random_serial()?;
        let params = ca_params(common_name, validity, serial.clone(), None);
        let certificate = params.self_signed(&key)?;
        Ok(Authority {
            certificate,
            key,
            serial,
        })
    }

    /// A new intermediate CA certified by this authority; it may only certify end
    /// entities (path length 0).
    pub fn issue_intermediate(
        &self,
        common_name: &str,
        validity: Validity,
    ) -> Result<Authority, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let serial = random_serial()?;
        let params = ca_params(common_name, validity, serial.clone(), Some(0));
        let certificate = params.signed_by(&key, &self.certificate, &self.key)?;
        Ok(Authority {
            certificate,
            key,
            serial,
        })
    }

    /// A new end-entity certificate for signing labels (or, for tests, one whose EKU
    /// does not allow it).
    pub fn issue_signer(
        &self,
        subject: SignerSubject<'_>,
        validity: Validity,
        usage: SignerUsage,
    ) -> Result<IssuedSigner, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let serial = random_serial()?;
        let params = signer_params(subject, validity, serial.clone(), usage);
        let certificate = params.signed_by(&key, &self.certificate, &self.key)?;
        Ok(issued(&certificate, &key, serial))
    }

    /// A CRL (RFC 5280 section 5) signed by this authority revoking `serials`.
    pub fn crl_der(
        &self,
        serials: &[SerialNumber],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<Vec<u8>, PkiError> {
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: random_serial()?,
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: serial.clone(),
                    revocation_time: this_update,
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.certificate, &self.key)?;
        Ok(crl.der().to_vec())
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate.der().to_vec()
    }

    /// The certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        self.certificate.pem()
    }

    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The certificate's serial number, to revoke it in a CRL of its issuer.
    pub fn serial(&self) -> &SerialNumber {
        &self.serial
    }
}

/// A lab that signs its own label-signing certificate: must never be trusted.
pub fn self_signed_signer(
    subject: SignerSubject<'_>,
    validity: Validity,
) -> Result<IssuedSigner, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let serial = random_serial()?;
    let params = signer_params(subject, validity, serial.clone(), SignerUsage::LabelSigning);
    let certificate = params.self_signed(&key)?;
    Ok(issued(&certificate, &key, serial))
}

/// A complete development PKI: scheme root, lab intermediate, lab label signer, and an
/// (empty) CRL of the intermediate.
pub struct DevelopmentPki {
    pub root: Authority,
    pub lab_ca: Authority,
    pub signer: IssuedSigner,
    pub crl_der: Vec<u8>,
}

impl DevelopmentPki {
    /// Windows relative to `now`: root 10 years, lab CA 5 years, signer 2 years, each
    /// starting one hour before `now`; the CRL is good for a year.
    pub fn generate(now: OffsetDateTime) -> Result<DevelopmentPki, PkiError> {
        let start = now - Duration::hours(1);
        let root = Authority::root(
            "iotcert development scheme root CA",
            Validity::starting(start, Duration::days(3653)),
        )?;
        let lab_ca = root.issue_intermediate(
            "iotcert development lab CA",
            Validity::starting(start, Duration::days(1826)),
        )?;
        let signer = lab_ca.issue_signer(
            SignerSubject {
                common_name: "iotcert development lab label signing",
                organization: "iotcert development lab",
            },
            Validity::starting(start, Duration::days(730)),
            SignerUsage::LabelSigning,
        )?;
        let crl_der = lab_ca.crl_der(&[], start, start + Duration::days(365))?;
        Ok(DevelopmentPki {
            root,
            lab_ca,
            signer,
            crl_der,
        })
    }

    /// The signer's chain, leaf then lab CA, as `iotcert label issue --cert` takes it.
    pub fn signer_chain_pem(&self) -> String {
        self.signer.chain_pem(&[&self.lab_ca])
    }
}

/// What [`init`] does when the directory already holds a PKI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Stop with [`PkiError::AlreadyExists`]: never lose a key by accident.
    Refuse,
    /// Overwrite every file.
    Replace,
}

/// The files [`init`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkiFiles {
    /// Scheme root certificate: what `iotcert verify --roots` trusts.
    pub root_certificate: PathBuf,
    pub root_key: PathBuf,
    pub lab_ca_certificate: PathBuf,
    pub lab_ca_key: PathBuf,
    pub signer_certificate: PathBuf,
    /// Signer certificate then lab CA: what `iotcert label issue --cert` takes.
    pub signer_chain: PathBuf,
    /// What `iotcert label issue --key` takes.
    pub signer_key: PathBuf,
    /// CRL of the lab CA, PEM.
    pub lab_ca_crl: PathBuf,
}

impl PkiFiles {
    fn in_dir(dir: &Path) -> PkiFiles {
        PkiFiles {
            root_certificate: dir.join("scheme-root.pem"),
            root_key: dir.join("scheme-root.key.pem"),
            lab_ca_certificate: dir.join("lab-ca.pem"),
            lab_ca_key: dir.join("lab-ca.key.pem"),
            signer_certificate: dir.join("lab-signer.pem"),
            signer_chain: dir.join("lab-signer-chain.pem"),
            signer_key: dir.join("lab-signer.key.pem"),
            lab_ca_crl: dir.join("lab-ca.crl.pem"),
        }
    }

    fn all(&self) -> [&PathBuf; 8] {
        [
            &self.root_certificate,
            &self.root_key,
            &self.lab_ca_certificate,
            &self.lab_ca_key,
            &self.signer_certificate,
            &self.signer_chain,
            &self.signer_key,
            &self.lab_ca_crl,
        ]
    }
}

/// Write a development PKI made now into `dir` (created when missing). Keys are written
/// readable by their owner only.
pub fn init(dir: &Path, existing: Existing) -> Result<PkiFiles, PkiError> {
    let files = PkiFiles::in_dir(dir);
    if existing == Existing::Refuse {
        if let Some(found) = files.all().into_iter().find(|path| path.exists()) {
            return Err(PkiError::AlreadyExists(found.clone()));
        }
    }
    fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let pki = DevelopmentPki::generate(OffsetDateTime::now_utc())?;
    let crl_pem = pem_block("X509 CRL", &pki.crl_der);
    write_file(&files.root_certificate, &pki.root.certificate_pem(), false)?;
    write_file(&files.root_key, &pki.root.key_pem(), true)?;
    write_file(
        &files.lab_ca_certificate,
        &pki.lab_ca.certificate_pem(),
        false,
    )?;
    write_file(&files.lab_ca_key, &pki.lab_ca.key_pem(), true)?;
    write_file(
        &files.signer_certificate,
        &pki.signer.certificate_pem,
        false,
    )?;
    write_file(&files.signer_chain, &pki.signer_chain_pem(), false)?;
    write_file(&files.signer_key, &pki.signer.key_pem, true)?;
    write_file(&files.lab_ca_crl, &crl_pem, false)?;
    Ok(files)
}

/// PEM encoding (RFC 7468) of a DER object.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), PkiError> {
    let io_error = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(io_error)?;
    #[cfg(unix)]
    if secret {
        // `mode` applies only to a file created now; a replaced key is narrowed here.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_error)?;
    }
    file.write_all(contents.as_bytes()).map_err(io_error)
}

fn distinguished_name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    if let Some(organization) = organization {
        name.push(DnType::OrganizationName, organization);
    }
    name.push(DnType::CommonName, common_name);
    name
}

fn ca_params(
    common_name: &str,
    validity: Validity,
    serial: SerialNumber,
    path_length: Option<u8>,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(common_name, None);
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(serial);
    params.is_ca = IsCa::Ca(match path_length {
        Some(length) => BasicConstraints::Constrained(length),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn signer_params(
    subject: SignerSubject<'_>,
    validity: Validity,
    serial: SerialNumber,
    usage: SignerUsage,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(subject.common_name, Some(subject.organization));
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(serial);
    // No basicConstraints and no subject key identifier (RFC 5280 sections 4.2.1.9
    // and 4.2.1.2 allow both for an end entity): a smaller label.
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    match usage {
        SignerUsage::LabelSigning => {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    EXTENDED_KEY_USAGE_OID,
                    label_eku_extension_value(),
                ))
        }
        SignerUsage::NoExtendedKeyUsage => {}
        SignerUsage::CodeSigningOnly => {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning]
        }
    }
    params
}

/// `ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId` holding our OID only.
/// Written by hand because rcgen's OID type holds only 64-bit arcs and ours is 128-bit.
fn label_eku_extension_value() -> Vec<u8> {
    // A constant of a dozen bytes: it fits DER's short length form, checked at compile time.
    const OID_LENGTH: u8 = {
        assert!(LABEL_SIGNING_EKU_DER.len() < 126);
        #[allow(clippy::cast_possible_truncation)] // below 126, asserted above
        let length = LABEL_SIGNING_EKU_DER.len() as u8;
        length
    };
    let oid_length = OID_LENGTH;
    let mut value = vec![0x30, oid_length + 2, 0x06, oid_length];
    value.extend_from_slice(LABEL_SIGNING_EKU_DER);
    value
}

fn issued(certificate: &rcgen::Certificate, key: &KeyPair, serial: SerialNumber) -> IssuedSigner {
    IssuedSigner {
        certificate_der: certificate.der().to_vec(),
        certificate_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
        serial,
    }
}

/// A positive, non-zero 63-bit serial number (RFC 5280 section 4.1.2.2).
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Randomness)?;
    let value = (u64::from_be_bytes(bytes) >> 1) | 1;
    Ok(SerialNumber::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants are derived from the UUID exactly as X.667 says.
    #[test]
    fn eku_constants_derive_from_the_uuid() {
        let value = uuid::Uuid::parse_str(LABEL_SIGNING_EKU_UUID)
            .expect("a UUID")
            .as_u128();
        assert_eq!(LABEL_SIGNING_EKU, format!("2.25.{value}"));
        let mut arcs = Vec::new();
        let mut rest = value;
        loop {
            arcs.push((rest & 0x7f) as u8);
            rest >>= 7;
            if rest == 0 {
                break;
            }
        }
        let mut der = vec![2 * 40 + 25];
        for (index, byte) in arcs.iter().enumerate().rev() {
            der.push(if index == 0 { *byte } else { byte | 0x80 });
        }
        assert_eq!(der, LABEL_SIGNING_EKU_DER);
    }

    #[test]
    fn init_refuses_to_overwrite_and_replaces_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = init(dir.path(), Existing::Refuse).expect("first init");
        assert!(files.all().iter().all(|path| path.exists()));
        assert!(matches!(
            init(dir.path(), Existing::Refuse),
            Err(PkiError::AlreadyExists(_))
        ));
        init(dir.path(), Existing::Replace).expect("replace");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&files.signer_key)
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "keys are private");
        }
    }
}
