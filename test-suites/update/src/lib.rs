//! The update-signature suite of iotcert (`update`).
//!
//! EN 303 645 5.3-9 and 5.3-10 ask that a device verify the authenticity and integrity of
//! every update, 5.3-2 that it can be updated securely, and OWASP ISVS 3.4.6 that it
//! refuse older firmware. No scanner checks this by sending images; labs do it by hand.
//! This crate does it from the manufacturer's genuine image:
//!
//! 1. [`formats`] reads the image (SWUpdate `.swu`, RAUC bundle, or a plain image with a
//!    detached signature), and it is verified against the declared signer certificate;
//! 2. [`attacks`] makes the attack images (tampered, unsigned, untrusted signer,
//!    rollback), re-signing with [`cms`] and [`keys`] where an attack needs a signature;
//! 3. [`delivery`] sends each image, then the genuine one, through the profile's channel
//!    (HTTP upload, a local update server the device pulls from, or a command) and reads
//!    the running version after each ([`swupdate_websocket`] reads SWUpdate's install
//!    status where the profile names it as the acceptance signal);
//! 4. the suite decides the six [`checks`] from what each unit accepted. A refusal counts
//!    only when the same unit was seen to install the genuine image (the positive control):
//!    a mechanism that refuses everything proves nothing about verification.
//!
//! The suite's section of the profile, `[update]`, is [`UpdateOptions`].

pub mod attacks;
pub mod checks;
pub mod cms;
pub mod delivery;
mod device_text;
pub mod formats;
pub mod keys;
mod options;
mod suite;
pub mod swupdate_websocket;

pub use options::{
    TrustedTestSigner, UntrustedSigner, UpdateAcceptance, UpdateDelivery, UpdateFormat,
    UpdateOptions, UploadEncoding, VersionQuery, MAX_EXIT_CODE,
};
pub use suite::{UpdateSuite, SUITE_VERSION};

/// Lowercase hex SHA-256 of `bytes`: how images are named in evidence.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
