//! The device's cloud client: the device as a TLS client.
//!
//! Devices phone home; whether they verify the server they reach is where IoT devices
//! fail most (EN 303 645 5.5-1, OWASP ISVS 4.1.3). A device given a [`CloudClient`]
//! connects every [`CloudClient::interval`] from its own address to the configured
//! server, performs a TLS handshake for [`CloudClient::server_name`] and, when it
//! succeeds, sends one telemetry request. A secure device verifies the server against
//! [`CloudClient::trusted_ca_pem`]; with [`crate::Flaws::cloud_client_accepts_any_certificate`]
//! it accepts whatever certificate it is shown.

use iotcert_suite::tls::RecordingVerifier;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio_util::sync::CancellationToken;

/// Time allowed for connecting and for the handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Where and how the device's cloud client connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudClient {
    /// The cloud server (in a lab: the harness, on loopback).
    pub server: SocketAddr,
    /// The host name the client expects the server's certificate to carry.
    pub server_name: String,
    /// PEM of the CA the client trusts.
    pub trusted_ca_pem: String,
    /// Pause between two connections.
    pub interval: Duration,
}

/// The client configuration: verifying against the trusted CA, or accepting anything.
fn client_config(cloud: &CloudClient, accepts_any: bool) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    if accepts_any {
        return Ok(builder
            .dangerous()
            // Accepts any certificate: the flaw.
            .with_custom_certificate_verifier(Arc::new(RecordingVerifier::new(provider)))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    for certificate in
        rustls::pki_types::pem::PemObject::pem_slice_iter(cloud.trusted_ca_pem.as_bytes())
    {
        let certificate: CertificateDer<'static> = certificate.map_err(|e| format!("{e:?}"))?;
        roots.add(certificate).map_err(|e| e.to_string())?;
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Connects periodically until cancelled. Failures are the server's problem, not the
/// device's: the client simply tries again at the next interval.
pub(crate) async fn run(
    cloud: CloudClient,
    device_address: IpAddr,
    accepts_any: bool,
    cancel: CancellationToken,
) {
    let Ok(config) = client_config(&cloud, accepts_any) else {
        return;
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = match cloud.server_name.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => match ServerName::try_from(cloud.server_name.clone()) {
            Ok(name) => name,
            Err(_) => return,
        },
    };
    loop {
        let attempt = async {
            let socket = if device_address.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .ok()?;
            socket.bind(SocketAddr::new(device_address, 0)).ok()?;
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(cloud.server))
                .await
                .ok()?
                .ok()?;
            let mut tls =
                tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), stream))
                    .await
                    .ok()?
                    .ok()?;
            let request = format!(
                "POST /telemetry HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\n\r\n{{}}",
                cloud.server_name
            );
            tokio::time::timeout(CONNECT_TIMEOUT, tls.write_all(request.as_bytes()))
                .await
                .ok()?
                .ok()?;
            let _ = tokio::time::timeout(CONNECT_TIMEOUT, tls.shutdown()).await;
            Some(())
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = attempt => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(cloud.interval) => {}
        }
    }
}
