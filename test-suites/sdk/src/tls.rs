//! A TLS client that looks at a server's certificate without trusting it.
//!
//! Three parts of iotcert open TLS to servers they must not validate: the tls suite
//! records the presented chain to judge it itself, the credentials suite needs only the
//! encrypted channel to reach a login, and the testbed's flawed cloud client accepts
//! anything on purpose. [`RecordingVerifier`] serves all three: it accepts any
//! certificate, keeps the chain of the last handshake (at most
//! [`MAX_RECORDED_CERTIFICATES`]), and still checks the handshake signatures, so the
//! channel is bound to the key the server showed.
//!
//! Checking those signatures fails on keys webpki refuses (RSA-1024), which devices
//! still hold: a probe that only needs to read what a server says before any secret is
//! sent (a login page, a `Server` header) uses [`read_any_server`] instead, which
//! checks nothing, so that a weak key never hides a finding from another suite.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Most certificates of one chain kept: a leaf and nine CAs is already absurd.
pub const MAX_RECORDED_CERTIFICATES: usize = 10;

/// Accepts every certificate, records the chain, checks handshake signatures.
#[derive(Debug)]
pub struct RecordingVerifier {
    chain: Mutex<Vec<Vec<u8>>>,
    provider: Arc<CryptoProvider>,
}

impl RecordingVerifier {
    /// A verifier checking handshake signatures with `provider`'s algorithms.
    pub fn new(provider: Arc<CryptoProvider>) -> RecordingVerifier {
        RecordingVerifier {
            chain: Mutex::new(Vec::new()),
            provider,
        }
    }

    /// The DER chain the server presented in the last handshake, leaf first.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        self.chain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(PoisonError::into_inner);
        chain.clear();
        chain.push(end_entity.to_vec());
        chain.extend(
            intermediates
                .iter()
                .take(MAX_RECORDED_CERTIFICATES - 1)
                .map(|c| c.to_vec()),
        );
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Accepts any certificate and any handshake signature: only for probes that read a
/// server, never to protect a secret the device must not learn.
#[derive(Debug)]
struct ReadAnyServer;

impl ServerCertVerifier for ReadAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA512,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA512,
            SignatureScheme::RSA_PKCS1_SHA1,
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::ECDSA_NISTP521_SHA512,
            SignatureScheme::ECDSA_SHA1_Legacy,
            SignatureScheme::ED25519,
            SignatureScheme::ED448,
        ]
    }
}

/// One client configuration for the whole process that completes a handshake with any
/// server, whatever its certificate or key (TLS 1.2 and 1.3, ring).
pub fn read_any_server() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| rustls::ClientConfig::builder());
        Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ReadAnyServer))
                .with_no_client_auth(),
        )
    });
    Arc::clone(config)
}
