//! Keys and certificates: reading the declared signer, signing attack images, and
//! making the attack signers (foreign, expired, wrong purpose).
//!
//! Signatures are ECDSA P-256 or RSA PKCS#1 v1.5, both over SHA-256: what SWUpdate, RAUC
//! and most home-grown schemes use. Attack signers are made fresh for every run with
//! rcgen, so no private key of an attack ever needs to be stored.

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use std::fmt;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a key, certificate or signature could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

fn key_error(what: impl fmt::Display) -> KeyError {
    KeyError(what.to_string())
}

/// The DER blocks of a PEM text with this label, or the input itself when it is DER.
pub fn pem_blocks(text: &[u8], label: &str) -> Vec<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(text) else {
        return vec![text.to_vec()];
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after_begin = rest.get(start + begin.len()..).unwrap_or_default();
        let Some(stop) = after_begin.find(&end) else {
            break;
        };
        let body: String = after_begin
            .get(..stop)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            blocks.push(der);
        }
        rest = after_begin.get(stop + end.len()..).unwrap_or_default();
    }
    blocks
}

/// The certificates of a PEM or DER file, in order.
pub fn certificates_from_file_bytes(bytes: &[u8]) -> Result<Vec<Vec<u8>>, KeyError> {
    let blocks = if bytes.starts_with(&[iotcert_wire::der::SEQUENCE]) {
        vec![bytes.to_vec()]
    } else {
        pem_blocks(bytes, "CERTIFICATE")
    };
    for block in &blocks {
        X509Certificate::from_der(block)
            .map_err(|e| key_error(format!("not an X.509 certificate: {e}")))?;
    }
    if blocks.is_empty() {
        return Err(key_error("no certificate found (expected PEM or DER)"));
    }
    Ok(blocks)
}

/// The public-key algorithm of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    Rsa,
}

/// A certificate's subjectPublicKey bits and algorithm.
pub fn public_key_of(certificate_der: &[u8]) -> Result<(KeyAlgorithm, Vec<u8>), KeyError> {
    let (_, certificate) = X509Certificate::from_der(certificate_der)
        .map_err(|e| key_error(format!("not an X.509 certificate: {e}")))?;
    let spki = certificate.public_key();
    let algorithm = match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.10045.2.1" => KeyAlgorithm::EcdsaP256,
        "1.2.840.113549.1.1.1" => KeyAlgorithm::Rsa,
        other => {
            return Err(key_error(format!(
                "unsupported public key algorithm {other}"
            )))
        }
    };
    Ok((algorithm, spki.subject_public_key.data.to_vec()))
}

/// Verifies a SHA-256 signature (ECDSA ASN.1 or RSA PKCS#1 v1.5) with a certificate's key.
pub fn verify_with_certificate(
    certificate_der: &[u8],
    message: &[u8],
    signature_bytes: &[u8],
) -> Result<(), KeyError> {
    let (algorithm, key) = public_key_of(certificate_der)?;
    let verifier: &dyn signature::VerificationAlgorithm = match algorithm {
        KeyAlgorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyAlgorithm::Rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
    };
    signature::UnparsedPublicKey::new(verifier, key)
        .verify(message, signature_bytes)
        .map_err(|_| key_error("the signature does not verify with the certificate's key"))
}

/// Whether `certificate` was issued by `issuer` (its signature verifies with the issuer's key).
pub fn issued_by(certificate_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, certificate)), Ok((_, issuer))) = (
        X509Certificate::from_der(certificate_der),
        X509Certificate::from_der(issuer_der),
    ) else {
        return false;
    };
    certificate
        .verify_signature(Some(issuer.public_key()))
        .is_ok()
}

/// The subject of a certificate, for evidence.
pub fn subject_of(certificate_der: &[u8]) -> String {
    X509Certificate::from_der(certificate_der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_else(|_| "(unreadable certificate)".to_owned())
}

/// A private key and the certificate that goes with it, able to sign.
pub struct Signer {
    key: SigningKey,
    /// DER of the signer's certificate.
    pub certificate: Vec<u8>,
    /// Further certificates to ship with a CMS signature (the issuing CA).
    pub chain: Vec<Vec<u8>>,
    /// What this signer is, for evidence: "foreign self-signed", "expired"...
    pub description: String,
}

enum SigningKey {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl Signer {
    /// A signer from a PKCS#8 key (PEM or DER) and its certificate (PEM or DER).
    pub fn from_files(
        key_bytes: &[u8],
        certificate_bytes: &[u8],
        description: &str,
    ) -> Result<Signer, KeyError> {
        let key_der = pem_blocks(key_bytes, "PRIVATE KEY")
            .into_iter()
            .next()
            .ok_or_else(|| key_error("no PKCS#8 PRIVATE KEY block found"))?;
        let certificate = certificates_from_file_bytes(certificate_bytes)?
            .into_iter()
            .next()
            .ok_or_else(|| key_error("no certificate"))?;
        Ok(Signer {
            key: signing_key(&key_der)?,
            certificate,
            chain: Vec::new(),
            description: description.to_owned(),
        })
    }

    /// SHA-256 signature of `message`: ECDSA (ASN.1 DER) or RSA PKCS#1 v1.5.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let random = SystemRandom::new();
        match &self.key {
            SigningKey::Ecdsa(pair) => pair
                .sign(&random, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| key_error("ECDSA signing failed")),
            SigningKey::Rsa(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &random, message, &mut out)
                    .map_err(|_| key_error("RSA signing failed"))?;
                Ok(out)
            }
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.key {
            SigningKey::Ecdsa(_) => KeyAlgorithm::EcdsaP256,
            SigningKey::Rsa(_) => KeyAlgorithm::Rsa,
        }
    }
}

fn signing_key(pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
    if let Ok(pair) = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8,
        &SystemRandom::new(),
    ) {
        return Ok(SigningKey::Ecdsa(pair));
    }
    RsaKeyPair::from_pkcs8(pkcs8)
        .map(SigningKey::Rsa)
        .map_err(|e| key_error(format!("key is neither ECDSA P-256 nor RSA PKCS#8: {e}")))
}

fn fresh_key() -> Result<(rcgen::KeyPair, SigningKey), KeyError> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(key_error)?;
    let signing = signing_key(&pair.serialize_der())?;
    Ok((pair, signing))
}

fn name(common_name: &str) -> rcgen::DistinguishedName {
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, common_name);
    name.push(rcgen::DnType::OrganizationName, "iotcert attack signer");
    name
}

/// A key nobody trusts, with a self-signed certificate that looks like a signer's.
pub fn foreign_signer() -> Result<Signer, KeyError> {
    let (pair, key) = fresh_key()?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = name("iotcert foreign update signer");
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
    let certificate = params.self_signed(&pair).map_err(key_error)?;
    Ok(Signer {
        key,
        certificate: certificate.der().to_vec(),
        chain: Vec::new(),
        description:
            "a fresh ECDSA P-256 key with a self-signed certificate the device has never seen"
                .to_owned(),
    })
}

/// How a certificate issued by the trusted CA is made unfit for signing updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfit {
    /// Validity ended a year ago.
    Expired,
    /// Extended key usage TLS server only: not code signing, not e-mail protection.
    WrongPurpose,
}

/// A certificate issued by the trusted CA (whose key the lab was given) that a careful
/// device must still refuse.
pub fn unfit_signer(
    ca_key_pem: &[u8],
    ca_certificate_pem: &[u8],
    unfit: Unfit,
) -> Result<Signer, KeyError> {
    let ca_key_text = std::str::from_utf8(ca_key_pem).map_err(key_error)?;
    let ca_pair = rcgen::KeyPair::from_pem(ca_key_text).map_err(key_error)?;
    let ca_text = std::str::from_utf8(ca_certificate_pem).map_err(key_error)?;
    let ca_params = rcgen::CertificateParams::from_ca_cert_pem(ca_text).map_err(key_error)?;
    let ca_der = certificates_from_file_bytes(ca_certificate_pem)?
        .into_iter()
        .next()
        .ok_or_else(|| key_error("no CA certificate"))?;
    // Re-made from the same name and key, so what it signs chains to the real CA.
    let ca_certificate = ca_params.self_signed(&ca_pair).map_err(key_error)?;
    let (pair, key) = fresh_key()?;
    let now = OffsetDateTime::now_utc();
    let mut params = rcgen::CertificateParams::default();
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let description = match unfit {
        Unfit::Expired => {
            params.distinguished_name = name("iotcert expired update signer");
            params.not_before = now - Duration::days(730);
            params.not_after = now - Duration::days(365);
            "a certificate issued by the trusted CA that expired a year ago"
        }
        Unfit::WrongPurpose => {
            params.distinguished_name = name("iotcert TLS server certificate");
            params.not_before = now - Duration::days(1);
            params.not_after = now + Duration::days(365);
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
            "a valid certificate issued by the trusted CA for TLS servers only (no code or e-mail signing purpose)"
        }
    };
    let certificate = params
        .signed_by(&pair, &ca_certificate, &ca_pair)
        .map_err(key_error)?;
    Ok(Signer {
        key,
        certificate: certificate.der().to_vec(),
        chain: vec![ca_der],
        description: description.to_owned(),
    })
}
