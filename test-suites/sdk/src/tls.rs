//! A TLS client that looks at a server's certificate without trusting it.
//!
//! Three parts of iotcert open TLS to servers they must not validate: the tls suite
//! records the presented chain to judge it itself, the credentials suite needs only the
//! encrypted channel to reach a login, and the testbed's flawed cloud client accepts
//! anything on purpose. [`RecordingVerifier`] serves all three: it accepts any
//! certificate, keeps the chain of the last handshake (at most
//! [`MAX_RECORDED_CERTIFICATES`]), and still checks the handshake signatures, so the
//! channel is bound to the key the server showed.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex, PoisonError};

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
