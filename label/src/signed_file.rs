//! The file a label (or a label revocation list) travels in: a DSSE envelope plus the
//! signer's certificate chain, so it verifies offline against nothing but a root.
//!
//! Parsing is the first verification step and treats the bytes as hostile: a size cap,
//! strict JSON with no unknown field and no key given twice, strict base64, a bounded
//! chain. Nothing here
//! trusts anything; the payload is returned still unparsed, because DSSE says to parse
//! it only once its signature verified (DSSE protocol v1.0, "To verify").

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::dsse::{decode_base64, encode_base64, Envelope, EnvelopeSignature};
use crate::reason::{ReasonCode, Rejection};

/// Largest file we read: a label is a few KiB.
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// Most certificates a chain may carry (leaf and up to three CAs).
pub const MAX_CHAIN_CERTIFICATES: usize = 4;

/// `format` of a label file.
pub const LABEL_FORMAT: &str = "iotcert-label/v1";

/// `format` of a label revocation list file.
pub const REVOCATION_LIST_FORMAT: &str = "iotcert-label-revocations/v1";

/// The file: see `label/README.md` for the schema and an example.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedFileJson {
    format: String,
    envelope: Envelope,
    /// Base64 (standard, padded) DER certificates: the signer first, then its CAs up
    /// to, not including, the root.
    certificate_chain: Vec<String>,
}

/// A parsed file whose signature is still to be checked.
pub(crate) struct ParsedFile {
    pub payload: Vec<u8>,
    pub payload_type: String,
    pub keyid: String,
    pub signature: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

/// Write a signed file: compact JSON (labels travel in size-limited places) and a
/// final newline.
pub(crate) fn write(
    format: &str,
    payload_type: &str,
    payload: &[u8],
    keyid: &str,
    signature: &[u8],
    chain: &[Vec<u8>],
) -> Result<Vec<u8>, serde_json::Error> {
    let file = SignedFileJson {
        format: format.to_owned(),
        envelope: Envelope {
            payload: encode_base64(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                keyid: keyid.to_owned(),
                sig: encode_base64(signature),
            }],
        },
        certificate_chain: chain.iter().map(|der| STANDARD.encode(der)).collect(),
    };
    let mut bytes = serde_json::to_vec(&file)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Steps 1 to 3 of verification: parse, payload type, exactly one signature.
pub(crate) fn parse(
    bytes: &[u8],
    format: &str,
    payload_type: &str,
) -> Result<ParsedFile, Rejection> {
    let malformed = |detail: String| Rejection::new(ReasonCode::Malformed, detail);
    if bytes.len() > MAX_FILE_BYTES {
        return Err(malformed(format!(
            "{} bytes, more than the {MAX_FILE_BYTES} a label file may have",
            bytes.len()
        )));
    }
    crate::strict_json::reject_duplicate_keys(bytes)
        .map_err(|error| malformed(format!("not a label file: {error}")))?;
    let file: SignedFileJson = serde_json::from_slice(bytes)
        .map_err(|error| malformed(format!("not a label file: {error}")))?;
    if file.format != format {
        return Err(malformed(format!(
            "format is {:?}, expected {format:?}",
            file.format
        )));
    }
    if file.certificate_chain.is_empty() || file.certificate_chain.len() > MAX_CHAIN_CERTIFICATES {
        return Err(malformed(format!(
            "{} certificates in the chain; expected 1 to {MAX_CHAIN_CERTIFICATES}",
            file.certificate_chain.len()
        )));
    }
    let chain = file
        .certificate_chain
        .iter()
        .enumerate()
        .map(|(index, text)| {
            STANDARD
                .decode(text)
                .map_err(|error| malformed(format!("certificate {index}: bad base64: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = file.envelope;
    let payload = decode_base64(&envelope.payload)
        .ok_or_else(|| malformed("envelope payload is not base64".into()))?;
    let mut signatures = Vec::with_capacity(envelope.signatures.len());
    for (index, signature) in envelope.signatures.into_iter().enumerate() {
        let bytes = decode_base64(&signature.sig)
            .ok_or_else(|| malformed(format!("signature {index} is not base64")))?;
        signatures.push((signature.keyid, bytes));
    }
    if envelope.payload_type != payload_type {
        return Err(Rejection::new(
            ReasonCode::PayloadType,
            format!(
                "payloadType is {:?}, expected {payload_type:?}",
                envelope.payload_type
            ),
        ));
    }
    // One lab signs a label: a second signature, even a copy of the first, is refused
    // rather than ignored, so nothing in the file goes unverified.
    let count = signatures.len();
    let Some((keyid, signature)) = signatures.pop().filter(|_| count == 1) else {
        return Err(Rejection::new(
            ReasonCode::SignatureCount,
            format!("{count} signatures; a label carries exactly one"),
        ));
    };
    Ok(ParsedFile {
        payload,
        payload_type: envelope.payload_type,
        keyid,
        signature,
        chain,
    })
}
