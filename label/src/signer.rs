//! The lab's label-signing key and certificate chain, checked once when loaded.
//!
//! Loading refuses a key that is not ECDSA P-256, a key that does not match the
//! certificate, and a certificate without the label-signing EKU or whose key usage
//! leaves out digitalSignature, so a lab finds out at `label issue` rather than from a
//! buyer's failed verification.

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

use crate::chain::{signer_facts, validity_window};
use crate::dsse::pae;
use crate::signed_file::MAX_CHAIN_CERTIFICATES;
use crate::statement::LabIdentity;

/// Why a signer could not be loaded or could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("signing key: {0}")]
    Key(String),
    #[error("certificate chain: {0}")]
    Chain(String),
    #[error("the signing key does not match the chain's first certificate")]
    KeyMismatch,
    #[error(
        "the certificate lacks the label-signing extended key usage {}",
        crate::pki::LABEL_SIGNING_EKU
    )]
    MissingEku,
    #[error("the certificate has a key usage without digitalSignature, so it may not sign")]
    KeyUsage,
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A lab's label-signing key and its certificate chain (signer first, root excluded).
pub struct LabelSigner {
    key: EcdsaKeyPair,
    random: SystemRandom,
    chain: Vec<Vec<u8>>,
    key_id: String,
    lab: LabIdentity,
    subject: String,
    valid_from: OffsetDateTime,
    valid_until: OffsetDateTime,
}

impl std::fmt::Debug for LabelSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LabelSigner")
            .field("key_id", &self.key_id)
            .field("lab", &self.lab)
            .finish_non_exhaustive()
    }
}

impl LabelSigner {
    /// From a PKCS#8 PEM private key and a PEM chain (signer certificate first, then
    /// its CAs; a root at the end is allowed but pointless).
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<LabelSigner, SignerError> {
        let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem)
            .map_err(|error| SignerError::Key(format!("no PKCS#8 PEM key: {error:?}")))?;
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .map(|certificate| certificate.map(|der| der.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| SignerError::Chain(format!("bad PEM: {error:?}")))?;
        LabelSigner::from_der(key.secret_pkcs8_der(), chain)
    }

    /// From a PKCS#8 DER private key and DER certificates, signer first.
    pub fn from_der(pkcs8: &[u8], chain: Vec<Vec<u8>>) -> Result<LabelSigner, SignerError> {
        let random = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &random)
            .map_err(|error| SignerError::Key(format!("not an ECDSA P-256 PKCS#8 key: {error}")))?;
        if chain.is_empty() || chain.len() > MAX_CHAIN_CERTIFICATES {
            return Err(SignerError::Chain(format!(
                "{} certificates; expected 1 to {MAX_CHAIN_CERTIFICATES}",
                chain.len()
            )));
        }
        let facts = chain
            .first()
            .map(|leaf| signer_facts(leaf))
            .transpose()
            .map_err(|rejection| SignerError::Chain(rejection.detail))?
            .ok_or_else(|| SignerError::Chain("no certificate".into()))?;
        if facts.public_key != key.public_key().as_ref() {
            return Err(SignerError::KeyMismatch);
        }
        if !facts.has_label_eku {
            return Err(SignerError::MissingEku);
        }
        if !facts.may_sign {
            return Err(SignerError::KeyUsage);
        }
        let (mut valid_from, mut valid_until) = (facts.not_before, facts.not_after);
        for der in chain.iter().skip(1) {
            let (not_before, not_after) = validity_window(der).map_err(SignerError::Chain)?;
            valid_from = valid_from.max(not_before);
            valid_until = valid_until.min(not_after);
        }
        let timestamp = |seconds| {
            OffsetDateTime::from_unix_timestamp(seconds)
                .map_err(|error| SignerError::Chain(format!("validity out of range: {error}")))
        };
        Ok(LabelSigner {
            key,
            random,
            key_id: facts.key_id,
            lab: facts.lab,
            subject: facts.subject,
            valid_from: timestamp(valid_from)?,
            valid_until: timestamp(valid_until)?,
            chain,
        })
    }

    /// The lab as the signer certificate names it.
    pub fn lab(&self) -> &LabIdentity {
        &self.lab
    }

    /// The signer certificate's subject, RFC 4514 style.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The DSSE key id of the signing key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Latest `notBefore` of the chain.
    pub fn valid_from(&self) -> OffsetDateTime {
        self.valid_from
    }

    /// Earliest `notAfter` of the chain: no label outlives it.
    pub fn valid_until(&self) -> OffsetDateTime {
        self.valid_until
    }

    /// DER certificates, signer first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Sign `body` of `payload_type` over the DSSE PAE (DSSE protocol v1.0, "To sign").
    pub fn sign_pae(&self, payload_type: &str, body: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.key
            .sign(&self.random, &pae(payload_type, body))
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|error| SignerError::Signing(error.to_string()))
    }

    /// A complete signed file (label or revocation list) carrying `body`.
    pub(crate) fn sign_file(
        &self,
        format: &str,
        payload_type: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        let signature = self.sign_pae(payload_type, body)?;
        crate::signed_file::write(
            format,
            payload_type,
            body,
            &self.key_id,
            &signature,
            &self.chain,
        )
        .map_err(|error| SignerError::Signing(error.to_string()))
    }
}
