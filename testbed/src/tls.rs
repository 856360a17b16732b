//! The TLS identity of a virtual device: its certificates and its server configuration.
//!
//! A secure unit makes, when it starts, a CA of its own and a leaf certificate issued by
//! that CA for its address (an IP subject alternative name), so a client that trusts the CA
//! ([`crate::RunningDevice::ca_pem`]) verifies the device with stock tools. With
//! [`crate::Flaws::self_signed_certificate`] the unit instead presents a self-signed leaf that no
//! client can verify without trusting that very certificate. Everything TLS-related that
//! a flaw may weaken is decided here, in one place.

use crate::config::DeviceConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

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
    pub(crate) server_config: Arc<ServerConfig>,
}

/// Makes fresh keys and certificates for a device and the server configuration using them.
pub(crate) fn identity_for(config: &DeviceConfig) -> Result<TlsIdentity, TlsSetupError> {
    let now = OffsetDateTime::now_utc();
    let leaf_key = KeyPair::generate()?;
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
        server_config: Arc::new(server_config),
    })
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
