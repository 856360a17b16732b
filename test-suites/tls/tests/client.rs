//! `tls.client-certificate-validation` against a device client that completes the TLS
//! handshake with every server and only then decides, closing without a word (no
//! close_notify) when the certificate is bad. Completing the handshake is accepting the
//! certificate: the session is open to whoever presented it. Such a device must FAIL,
//! and a PASS must rest on the valid control certificate having been accepted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::run_suite;
use iotcert_suite::tls::RecordingVerifier;
use iotcert_suite::Verdict;
use iotcert_suite_tls::checks;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::RootCertStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const SERVER_NAME: &str = "cloud.acme.example";

/// Connects to `server` from `local` every 100 ms (at most 600 times), completes every
/// handshake, then sends a request only when the chain verifies against `ca_pem`, and
/// otherwise drops the connection without close_notify.
async fn late_validating_device(local: &str, server: SocketAddr, ca_pem: String) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for certificate in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        let certificate: CertificateDer<'static> = certificate.unwrap();
        roots.add(certificate).unwrap();
    }
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .unwrap();
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let recorder = Arc::new(RecordingVerifier::new(Arc::clone(&provider)));
        let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
        let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(2), socket.connect(server)).await
        else {
            continue;
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        let Ok(Ok(mut tls)) = tokio::time::timeout(
            Duration::from_secs(3),
            connector.connect(name.clone(), stream),
        )
        .await
        else {
            continue;
        };
        let chain = recorder.chain();
        let verified = chain.split_first().is_some_and(|(leaf, rest)| {
            let rest: Vec<CertificateDer<'_>> = rest
                .iter()
                .map(|c| CertificateDer::from(c.as_slice()))
                .collect();
            webpki
                .verify_server_cert(
                    &CertificateDer::from(leaf.as_slice()),
                    &rest,
                    &name,
                    &[],
                    UnixTime::now(),
                )
                .is_ok()
        });
        if verified {
            let _ = tls.write_all(b"GET /status HTTP/1.1\r\n\r\n").await;
            let _ = tls.flush().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Dropped without close_notify.
        drop(tls);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_completes_the_handshake_with_bad_certificates_fails() {
    let directory = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "cloud CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = params.self_signed(&key).unwrap();
    std::fs::write(directory.path().join("cloud-ca.pem"), ca.pem()).unwrap();
    std::fs::write(directory.path().join("cloud-ca.key"), key.serialize_pem()).unwrap();
    let listen: SocketAddr = "127.63.5.254:18445".parse().unwrap();
    let device = tokio::spawn(late_validating_device("127.63.5.1", listen, ca.pem()));
    let profile = format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1\"\n\
         [[units]]\nid = \"unit-1\"\naddress = \"127.63.5.1\"\n\
         [tls]\ntimeout_ms = 2000\n\
         [tls.client]\nlisten = \"{listen}\"\nserver_name = \"{SERVER_NAME}\"\n\
         trusted_ca_certificate = \"cloud-ca.pem\"\ntrusted_ca_key = \"cloud-ca.key\"\nwait_seconds = 5\n"
    );
    let results = run_suite(&profile, directory.path()).await;
    device.abort();
    let result = &results[&(
        checks::CLIENT_VALIDATION.to_owned(),
        Some("unit-1".to_owned()),
    )];
    assert_eq!(result.verdict, Verdict::Fail, "{}", result.summary);
    assert!(result.summary.contains("self-signed"), "{}", result.summary);
}
