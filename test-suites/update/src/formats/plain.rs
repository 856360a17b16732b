//! Plain images with a detached signature: the home-grown scheme of many devices, a raw
//! ECDSA P-256 (DER) or RSA PKCS#1 v1.5 signature over the SHA-256 of the whole image.

use crate::keys;

/// A plain image and its detached signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plain {
    pub image: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Plain {
    pub fn verify(&self, trusted: &[Vec<u8>]) -> Result<String, String> {
        for certificate in trusted {
            if keys::verify_with_certificate(certificate, &self.image, &self.signature).is_ok() {
                return Ok(format!(
                    "the detached signature verifies with the key of {}",
                    keys::subject_of(certificate)
                ));
            }
        }
        Err("the detached signature does not verify with the declared signer's key".into())
    }
}
