//! CMS (PKCS#7) SignedData: the detached signatures of SWUpdate and RAUC.
//!
//! Reading checks a signature the way the update software does: the signer's signature
//! over the signed attributes, the `messageDigest` attribute against the SHA-256 of the
//! content, and a signer certificate that is the trusted certificate or was issued by
//! it. Writing makes the same structure (what `openssl cms -sign -binary -outform DER`
//! makes) so an attack image differs from a genuine one only where the attack says.

use crate::keys::{self, KeyError, Signer};
use iotcert_wire::der::{self, DerError, Tlv};
use sha2::{Digest, Sha256};
use std::fmt;
use time::OffsetDateTime;

/// OID contents (without tag and length).
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Largest CMS signature read: signatures are a few kilobytes, certificates included.
pub const MAX_CMS_SIZE: usize = 256 * 1024;
/// Most certificates or signers read from one signature.
const MAX_ELEMENTS: usize = 16;

/// Why a CMS signature does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmsError {
    Malformed(String),
    Unsupported(String),
    Invalid(String),
}

impl fmt::Display for CmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmsError::Malformed(why) => write!(f, "malformed CMS signature: {why}"),
            CmsError::Unsupported(why) => write!(f, "unsupported CMS signature: {why}"),
            CmsError::Invalid(why) => write!(f, "CMS signature does not verify: {why}"),
        }
    }
}

impl std::error::Error for CmsError {}

impl From<DerError> for CmsError {
    fn from(error: DerError) -> Self {
        CmsError::Malformed(error.to_string())
    }
}

impl From<KeyError> for CmsError {
    fn from(error: KeyError) -> Self {
        CmsError::Invalid(error.to_string())
    }
}

/// One SignerInfo, as read.
#[derive(Clone, Debug)]
pub struct SignerInfo<'a> {
    /// The whole `[0]` signed attributes, when present.
    pub signed_attributes: Option<Tlv<'a>>,
    pub digest_algorithm: &'a [u8],
    pub signature: &'a [u8],
}

/// A parsed SignedData.
#[derive(Clone, Debug)]
pub struct SignedData<'a> {
    pub certificates: Vec<&'a [u8]>,
    pub signers: Vec<SignerInfo<'a>>,
    /// Encapsulated content, when the signature is not detached.
    pub content: Option<&'a [u8]>,
}

/// Parses a DER ContentInfo holding SignedData.
pub fn parse(bytes: &[u8]) -> Result<SignedData<'_>, CmsError> {
    if bytes.len() > MAX_CMS_SIZE {
        return Err(CmsError::Malformed(format!(
            "{} bytes, more than the {MAX_CMS_SIZE} a signature may have",
            bytes.len()
        )));
    }
    let (content_info, _) = der::expect(bytes, der::SEQUENCE)?;
    let (content_type, rest) = der::expect(content_info.content, der::OID)?;
    if content_type.content != OID_SIGNED_DATA {
        return Err(CmsError::Unsupported(
            "content type is not signedData".into(),
        ));
    }
    let (explicit, _) = der::expect(rest, der::CONTEXT_0)?;
    let (signed_data, _) = der::expect(explicit.content, der::SEQUENCE)?;
    let fields = der::children(signed_data.content, 8)?;
    let mut fields = fields.into_iter();
    let _version = fields
        .next()
        .filter(|f| f.tag == der::INTEGER)
        .ok_or_else(|| CmsError::Malformed("no version".into()))?;
    let _digests = fields
        .next()
        .filter(|f| f.tag == der::SET)
        .ok_or_else(|| CmsError::Malformed("no digestAlgorithms".into()))?;
    let encapsulated = fields
        .next()
        .filter(|f| f.tag == der::SEQUENCE)
        .ok_or_else(|| CmsError::Malformed("no encapContentInfo".into()))?;
    let (_, after_type) = der::expect(encapsulated.content, der::OID)?;
    let content = if after_type.is_empty() {
        None
    } else {
        let (explicit, _) = der::expect(after_type, der::CONTEXT_0)?;
        let (octets, _) = der::expect(explicit.content, der::OCTET_STRING)?;
        Some(octets.content)
    };
    let mut certificates = Vec::new();
    let mut signers = Vec::new();
    for field in fields {
        match field.tag {
            der::CONTEXT_0 => {
                certificates = der::children(field.content, MAX_ELEMENTS)?
                    .into_iter()
                    .filter(|c| c.tag == der::SEQUENCE)
                    .map(|c| c.raw)
                    .collect();
            }
            der::CONTEXT_1 => {}
            der::SET => {
                for info in der::children(field.content, MAX_ELEMENTS)? {
                    signers.push(parse_signer_info(info)?);
                }
            }
            _ => return Err(CmsError::Malformed("unexpected field in SignedData".into())),
        }
    }
    if signers.is_empty() {
        return Err(CmsError::Malformed("no SignerInfo".into()));
    }
    Ok(SignedData {
        certificates,
        signers,
        content,
    })
}

fn parse_signer_info(info: Tlv<'_>) -> Result<SignerInfo<'_>, CmsError> {
    if info.tag != der::SEQUENCE {
        return Err(CmsError::Malformed("SignerInfo is not a SEQUENCE".into()));
    }
    let fields = der::children(info.content, 8)?;
    let mut fields = fields.into_iter().peekable();
    let _version = fields.next();
    let _sid = fields.next();
    let digest = fields
        .next()
        .filter(|f| f.tag == der::SEQUENCE)
        .ok_or_else(|| CmsError::Malformed("no digestAlgorithm".into()))?;
    let (digest_oid, _) = der::expect(digest.content, der::OID)?;
    let signed_attributes = match fields.peek() {
        Some(f) if f.tag == der::CONTEXT_0 => fields.next(),
        _ => None,
    };
    let _signature_algorithm = fields.next();
    let signature = fields
        .next()
        .filter(|f| f.tag == der::OCTET_STRING)
        .ok_or_else(|| CmsError::Malformed("no signature value".into()))?;
    Ok(SignerInfo {
        signed_attributes,
        digest_algorithm: digest_oid.content,
        signature: signature.content,
    })
}

/// How a verified signature chains to the trusted certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Subject of the certificate whose key made the signature.
    pub signer: String,
    /// True when the signer is the trusted certificate itself, false when it was issued by it.
    pub signer_is_trusted_certificate: bool,
}

impl Verified {
    /// The signer and how it chains, for evidence.
    pub fn describe(&self) -> String {
        if self.signer_is_trusted_certificate {
            format!("{}, the trusted certificate itself", self.signer)
        } else {
            format!("{}, issued by the trusted certificate", self.signer)
        }
    }
}

/// Verifies a detached (or encapsulated) signature over `content` against the trusted
/// certificates: one of them must be the signer or its issuer.
pub fn verify(signature: &[u8], content: &[u8], trusted: &[Vec<u8>]) -> Result<Verified, CmsError> {
    let signed = parse(signature)?;
    let content = signed.content.unwrap_or(content);
    let digest = Sha256::digest(content);
    let mut failures = Vec::new();
    for signer in &signed.signers {
        if signer.digest_algorithm != OID_SHA256 {
            failures.push("digest algorithm is not SHA-256".to_owned());
            continue;
        }
        let signed_message: Vec<u8> = match &signer.signed_attributes {
            None => content.to_vec(),
            Some(attributes) => {
                if message_digest(attributes.content)? != digest.as_slice() {
                    failures.push("messageDigest does not match the content".to_owned());
                    continue;
                }
                // The signature covers the attributes encoded as a SET, not as [0].
                let mut set = attributes.raw.to_vec();
                if let Some(tag) = set.first_mut() {
                    *tag = der::SET;
                }
                set
            }
        };
        let candidates = signed
            .certificates
            .iter()
            .copied()
            .chain(trusted.iter().map(Vec::as_slice));
        for certificate in candidates {
            if keys::verify_with_certificate(certificate, &signed_message, signer.signature)
                .is_err()
            {
                continue;
            }
            if let Some(anchor) = trusted.iter().find(|t| t.as_slice() == certificate) {
                return Ok(Verified {
                    signer: keys::subject_of(anchor),
                    signer_is_trusted_certificate: true,
                });
            }
            if trusted.iter().any(|t| keys::issued_by(certificate, t)) {
                return Ok(Verified {
                    signer: keys::subject_of(certificate),
                    signer_is_trusted_certificate: false,
                });
            }
            failures.push(format!(
                "signed by {}, which neither is nor was issued by a trusted certificate",
                keys::subject_of(certificate)
            ));
        }
        failures.push("no certificate's key verifies the signature".to_owned());
    }
    Err(CmsError::Invalid(failures.join("; ")))
}

fn message_digest(attributes: &[u8]) -> Result<Vec<u8>, CmsError> {
    for attribute in der::children(attributes, MAX_ELEMENTS)? {
        let (oid, rest) = der::expect(attribute.content, der::OID)?;
        if oid.content == OID_MESSAGE_DIGEST {
            let (values, _) = der::expect(rest, der::SET)?;
            let (value, _) = der::expect(values.content, der::OCTET_STRING)?;
            return Ok(value.content.to_vec());
        }
    }
    Err(CmsError::Malformed(
        "signed attributes carry no messageDigest".into(),
    ))
}

/// Makes a detached CMS signature over `content` by `signer`, shipping its certificate
/// and chain, with contentType, signingTime and messageDigest signed attributes.
pub fn sign_detached(signer: &Signer, content: &[u8]) -> Result<Vec<u8>, CmsError> {
    let sha256 = der::tlv(der::SEQUENCE, &[&der::oid(OID_SHA256)]);
    let digest = Sha256::digest(content);
    let now = OffsetDateTime::now_utc();
    let utc = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        now.year().rem_euclid(100),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let mut attributes = [
        attribute(OID_CONTENT_TYPE, &der::oid(OID_DATA)),
        attribute(
            OID_SIGNING_TIME,
            &der::tlv(der::UTC_TIME, &[utc.as_bytes()]),
        ),
        attribute(OID_MESSAGE_DIGEST, &der::tlv(der::OCTET_STRING, &[&digest])),
    ];
    // DER orders the elements of a SET OF by their encoding.
    attributes.sort();
    let parts: Vec<&[u8]> = attributes.iter().map(Vec::as_slice).collect();
    let attribute_set = der::tlv(der::SET, &parts);
    let signature_value = signer.sign(&attribute_set)?;
    let mut implicit_attributes = attribute_set;
    if let Some(tag) = implicit_attributes.first_mut() {
        *tag = der::CONTEXT_0;
    }
    let signature_algorithm = match signer.algorithm() {
        keys::KeyAlgorithm::EcdsaP256 => der::tlv(der::SEQUENCE, &[&der::oid(OID_ECDSA_SHA256)]),
        keys::KeyAlgorithm::Rsa => der::tlv(
            der::SEQUENCE,
            &[&der::oid(OID_RSA_ENCRYPTION), &[der::NULL, 0]],
        ),
    };
    let (issuer, serial) = issuer_and_serial(&signer.certificate)?;
    let signer_info = der::tlv(
        der::SEQUENCE,
        &[
            &[der::INTEGER, 1, 1],
            &der::tlv(der::SEQUENCE, &[&issuer, &serial]),
            &sha256,
            &implicit_attributes,
            &signature_algorithm,
            &der::tlv(der::OCTET_STRING, &[&signature_value]),
        ],
    );
    let mut certificates: Vec<&[u8]> = vec![&signer.certificate];
    certificates.extend(signer.chain.iter().map(Vec::as_slice));
    let signed_data = der::tlv(
        der::SEQUENCE,
        &[
            &[der::INTEGER, 1, 1],
            &der::tlv(der::SET, &[&sha256]),
            &der::tlv(der::SEQUENCE, &[&der::oid(OID_DATA)]),
            &der::tlv(der::CONTEXT_0, &certificates),
            &der::tlv(der::SET, &[&signer_info]),
        ],
    );
    Ok(der::tlv(
        der::SEQUENCE,
        &[
            &der::oid(OID_SIGNED_DATA),
            &der::tlv(der::CONTEXT_0, &[&signed_data]),
        ],
    ))
}

fn attribute(oid: &[u8], value: &[u8]) -> Vec<u8> {
    der::tlv(
        der::SEQUENCE,
        &[&der::oid(oid), &der::tlv(der::SET, &[value])],
    )
}

/// The issuer Name and serialNumber INTEGER encodings of a certificate.
fn issuer_and_serial(certificate: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CmsError> {
    let (outer, _) = der::expect(certificate, der::SEQUENCE)?;
    let (tbs, _) = der::expect(outer.content, der::SEQUENCE)?;
    let mut rest = tbs.content;
    let (first, after) = der::read(rest)?;
    rest = after;
    // An explicit version [0] comes first in v3 certificates.
    let serial = if first.tag == der::CONTEXT_0 {
        let (serial, after) = der::expect(rest, der::INTEGER)?;
        rest = after;
        serial
    } else {
        first
    };
    let (_signature_algorithm, after) = der::expect(rest, der::SEQUENCE)?;
    let (issuer, _) = der::expect(after, der::SEQUENCE)?;
    Ok((issuer.raw.to_vec(), serial.raw.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_signature_verifies_and_tampering_does_not() {
        let signer = keys::foreign_signer().unwrap();
        let signature = sign_detached(&signer, b"software = { version = \"1\"; }").unwrap();
        let trusted = vec![signer.certificate.clone()];
        let verified = verify(&signature, b"software = { version = \"1\"; }", &trusted).unwrap();
        assert!(verified.signer_is_trusted_certificate);
        assert!(verify(&signature, b"software = { version = \"2\"; }", &trusted).is_err());
        let stranger = keys::foreign_signer().unwrap();
        assert!(verify(
            &signature,
            b"software = { version = \"1\"; }",
            &[stranger.certificate]
        )
        .is_err());
    }

    #[test]
    fn garbage_is_refused() {
        for garbage in [&b""[..], b"\x30\x80", b"\x30\x03\x06\x01\x00", &[0x30; 300]] {
            assert!(parse(garbage).is_err());
        }
    }
}
