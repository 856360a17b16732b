//! The TLS identity of a virtual device: its certificates and its server configuration.
//!
//! A secure unit makes, when it starts, a CA of its own and a leaf certificate issued by
//! that CA for its address (an IP subject alternative name), so a client that trusts the CA
//! ([`crate::RunningDevice::ca_pem`]) verifies the device with stock tools. With
//! [`crate::Flaws::self_signed_certificate`] the unit instead presents a self-signed leaf that no
//! client can verify without trusting that very certificate. Everything TLS-related that
//! a flaw may weaken is decided here, in one place.
//!
//! The leaf's key is drawn at random per unit (ECDSA P-256), so two units never share one
//! (EN 303 645 5.1-2). With [`crate::Flaws::shared_tls_key`] every unit instead derives an
//! Ed25519 key from one seed baked into the "firmware", as on devices whose image ships
//! the same `server.key`: every unit then presents the same public key. Ed25519 because
//! its private key *is* a 32-byte seed, so ring derives it without any other library.

use crate::config::DeviceConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, PKCS_ED25519,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The seed every unit of a model with [`crate::Flaws::shared_tls_key`] derives its TLS
/// server key from: one key for the whole model, as if baked into the firmware image.
const SHARED_TLS_KEY_SEED: &[u8] = b"iotcert-testbed: AcmeCam firmware 1.0.3 TLS server key";
/// An Ed25519 private key in PKCS#8 v1 (RFC 8410 section 7) is this DER prefix followed by
/// the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// How long before now certificates start being valid, to absorb clock differences.
const BACKDATE: Duration = Duration::hours(1);
/// Validity of a device CA.
const CA_VALIDITY: Duration = Duration::days(5 * 365);
/// Validity of a device's leaf certificate.
const LEAF_VALIDITY: Duration = Duration::days(365);

/// Why the TLS identity could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS configuration refused: {0}")]
    Configuration(#[from] rustls::Error),
}

/// What the TLS services of one device present, and what a client must trust.
pub(crate) struct TlsIdentity {
    /// PEM of the certificate a client must trust to verify the device: the device CA, or
    /// the self-signed leaf itself.
    pub(crate) trust_anchor_pem: String,
    /// Hex SHA-256 of the leaf's SubjectPublicKeyInfo (DER): the same on every unit of a
    /// model with [`crate::Flaws::shared_tls_key`].
    pub(crate) key_sha256: String,
    pub(crate) server_config: Arc<ServerConfig>,
}

/// Makes fresh keys and certificates for a device and the server configuration using them.
pub(crate) fn identity_for(config: &DeviceConfig) -> Result<TlsIdentity, TlsSetupError> {
    let now = OffsetDateTime::now_utc();
    let leaf_key = server_key(config.flaws.shared_tls_key)?;
    let key_sha256 = hex::encode(Sha256::digest(leaf_key.public_key_der()));
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = common_name(&config.name);
    leaf.subject_alt_names = vec![SanType::IpAddress(config.address)];
    leaf.not_before = now - BACKDATE;
    leaf.not_after = now + LEAF_VALIDITY;

    let (leaf_certificate, trust_anchor_pem) = if config.flaws.self_signed_certificate {
        let certificate = leaf.self_signed(&leaf_key)?;
        let pem = certificate.pem();
        (certificate, pem)
    } else {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::default();
        ca.distinguished_name = common_name(&format!("{} device CA", config.name));
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = now - BACKDATE;
        ca.not_after = now + CA_VALIDITY;
        let ca_certificate = ca.self_signed(&ca_key)?;

        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let certificate = leaf.signed_by(&leaf_key, &ca_certificate, &ca_key)?;
        (certificate, ca_certificate.pem())
    };

    let chain: Vec<CertificateDer<'static>> = vec![leaf_certificate.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server_config = server_config(chain, key)?;
    Ok(TlsIdentity {
        trust_anchor_pem,
        key_sha256,
        server_config: Arc::new(server_config),
    })
}

/// The key of a new unit's TLS services: derived from the model's shared seed, or freshly
/// random.
fn server_key(shared: bool) -> Result<KeyPair, rcgen::Error> {
    if !shared {
        return KeyPair::generate();
    }
    let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
    pkcs8.extend_from_slice(&Sha256::digest(SHARED_TLS_KEY_SEED));
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), &PKCS_ED25519)
}

/// The rustls configuration of every TLS service of the device: TLS 1.3 and 1.2 with
/// rustls's default (strong) cipher suites, no client authentication. A flaw that weakens
/// TLS (legacy versions, weak suites) belongs here.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    // The provider is named rather than taken from the process default, because the
    // process hosting the device may link more than one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)
}

fn common_name(name: &str) -> DistinguishedName {
    let mut distinguished_name = DistinguishedName::new();
    distinguished_name.push(DnType::CommonName, name);
    distinguished_name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_with_the_flaw_present_one_key_and_others_their_own() {
        let unit = |name: &str, address: &str, shared: bool| {
            let mut config = DeviceConfig::secure(name, address.parse().expect("an address"));
            config.flaws.shared_tls_key = shared;
            identity_for(&config).expect("a TLS identity")
        };
        let (a, b) = (unit("a", "127.66.0.1", true), unit("b", "127.66.0.2", true));
        assert_eq!(a.key_sha256, b.key_sha256);
        let (c, d) = (
            unit("c", "127.66.0.3", false),
            unit("d", "127.66.0.4", false),
        );
        assert_ne!(c.key_sha256, d.key_sha256);
        assert_ne!(a.key_sha256, c.key_sha256);
    }
}
