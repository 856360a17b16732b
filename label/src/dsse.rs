//! DSSE, the envelope that carries a signed payload: what is signed and how.
//!
//! A label is signed over the DSSE pre-authentication encoding (PAE) of its payload
//! type and body (DSSE protocol v1.0, "Signature Definition"), never over raw JSON, so
//! the payload type is authenticated and no JSON canonicalisation is needed. Signatures
//! are ECDSA P-256 / SHA-256, ASN.1 DER encoded, the form securesystemslib and
//! cryptography produce.
//!
//! Our envelope is stricter than DSSE's parsing rules (envelope.md, "Parsing rules"):
//! unknown fields are refused and `keyid` must be present, so that no byte of a label
//! file goes unchecked. `keyid` still only has to match; it never selects a key.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use serde::{Deserialize, Serialize};

/// The JSON envelope of DSSE (envelope.md, "Standard JSON envelope").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Base64 of the serialized body.
    pub payload: String,
    /// How to interpret the body; authenticated through the PAE.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// Lowercase hex SHA-256 of the signer's SubjectPublicKeyInfo (see [`key_id`]).
    pub keyid: String,
    /// Base64 of the DER-encoded ECDSA signature.
    pub sig: String,
}

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where `LEN` is
/// the ASCII decimal byte length with no leading zeros (DSSE protocol v1.0, "Functions").
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let header = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    );
    let mut encoded = Vec::with_capacity(header.len() + body.len());
    encoded.extend_from_slice(header.as_bytes());
    encoded.extend_from_slice(body);
    encoded
}

/// The key id of a signer: lowercase hex SHA-256 of its DER SubjectPublicKeyInfo.
pub fn key_id(subject_public_key_info_der: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(subject_public_key_info_der))
}

/// Base64 as signers write it: standard alphabet, padded.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Base64 as DSSE verifiers must read it: standard or URL-safe alphabet, padded or not
/// (DSSE protocol v1.0, "verifiers MUST accept either"). Non-zero trailing bits are
/// refused, so one string decodes to one byte sequence and back.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let (mut url_safe, mut standard) = (false, false);
    for byte in text.bytes() {
        url_safe |= matches!(byte, b'-' | b'_');
        standard |= matches!(byte, b'+' | b'/');
    }
    let padded = text.ends_with('=');
    let engine = match (url_safe, standard, padded) {
        (true, true, _) => return None,
        (true, false, true) => &URL_SAFE,
        (true, false, false) => &URL_SAFE_NO_PAD,
        (false, _, true) => &STANDARD,
        (false, _, false) => &STANDARD_NO_PAD,
    };
    engine.decode(text).ok()
}

/// Verify a DER ECDSA P-256 / SHA-256 signature over the PAE of `payload_type` and
/// `body` with an uncompressed SEC1 public key point.
pub fn verify_pae(
    public_key_point: &[u8],
    payload_type: &str,
    body: &[u8],
    signature: &[u8],
) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key_point)
        .verify(&pae(payload_type, body), signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of DSSE protocol v1.0, "Test Vectors".
    #[test]
    fn pae_matches_the_dsse_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn base64_accepts_both_alphabets_and_refuses_mixtures() {
        let bytes = [0xfb, 0xff, 0xfe];
        assert_eq!(decode_base64("+//+"), Some(bytes.to_vec()));
        assert_eq!(decode_base64("-__-"), Some(bytes.to_vec()));
        assert_eq!(decode_base64("+__-"), None);
        assert_eq!(decode_base64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("aGk"), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("aGl="), None, "non-zero trailing bits");
        assert_eq!(decode_base64("aG k="), None);
    }
}
