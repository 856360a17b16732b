//! The TLS suite against the virtual devices: the secure device passes every check, the
//! insecure one fails each relevant check for the flaw that causes it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{require, run_suite};
use iotcert_suite::Verdict;
use iotcert_suite_tls::checks;
use iotcert_testbed::{start, CloudClient, DeviceConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// A CA the devices' cloud clients trust, written where the profile names it.
fn cloud_ca(directory: &Path) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "cloud CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = params.self_signed(&key).unwrap();
    std::fs::write(directory.join("cloud-ca.pem"), ca.pem()).unwrap();
    std::fs::write(directory.join("cloud-ca.key"), key.serialize_pem()).unwrap();
    ca.pem()
}

async fn assess(
    secure: bool,
    base: u8,
    cloud_port: u16,
) -> std::collections::BTreeMap<(String, Option<String>), iotcert_suite::CheckResult> {
    let directory = tempfile::tempdir().unwrap();
    let ca_pem = cloud_ca(directory.path());
    let listen: std::net::SocketAddr = format!("127.0.0.1:{cloud_port}").parse().unwrap();
    let mut devices = Vec::new();
    let mut units = String::new();
    let mut anchors = Vec::new();
    for index in 1..=2u8 {
        let address: IpAddr = format!("127.63.{base}.{index}").parse().unwrap();
        let mut config = if secure {
            DeviceConfig::secure(&format!("unit-{index}"), address)
        } else {
            DeviceConfig::insecure(&format!("unit-{index}"), address)
        };
        config.cloud = Some(CloudClient {
            server: listen,
            server_name: "cloud.acme.example".to_owned(),
            trusted_ca_pem: ca_pem.clone(),
            interval: Duration::from_millis(200),
        });
        let device = start(config).await.unwrap();
        let anchor = directory.path().join(format!("unit-{index}-ca.pem"));
        std::fs::write(&anchor, device.ca_pem()).unwrap();
        anchors.push(format!("{:?}", anchor.display().to_string()));
        units.push_str(&format!(
            "[[units]]\nid = \"unit-{index}\"\naddress = \"{address}\"\n"
        ));
        devices.push(device);
    }
    let mut interfaces = String::new();
    for interface in devices[0].declared_interfaces() {
        interfaces.push_str(&format!(
            "[[interfaces]]\nport = {}\ntransport = \"{}\"\nservice = \"{}\"\ntls = {}\n",
            interface.port, interface.transport, interface.service, interface.tls
        ));
    }
    let profile = format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1\"\n{units}{interfaces}\
         [tls]\ntrust_anchors = [{}]\ntimeout_ms = 2000\n\
         [tls.client]\nlisten = \"{listen}\"\nserver_name = \"cloud.acme.example\"\n\
         trusted_ca_certificate = \"cloud-ca.pem\"\ntrusted_ca_key = \"cloud-ca.key\"\nwait_seconds = 5\n",
        anchors.join(", ")
    );
    let results = run_suite(&profile, directory.path()).await;
    for device in devices {
        device.shutdown().await;
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_device_passes_every_check() {
    let results = assess(true, 21, 18_443).await;
    let report: Vec<String> = results
        .values()
        .map(|r| format!("{:?} {} {} {}", r.unit, r.check, r.verdict, r.summary))
        .collect();
    assert_eq!(results.len(), 2 * 16 + 1, "{}", report.join("\n"));
    for result in results.values() {
        assert_eq!(result.verdict, Verdict::Pass, "{}", report.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_device_fails_each_relevant_check() {
    require("openssl", "openssl");
    let results = assess(false, 22, 18_444).await;
    let report: Vec<String> = results
        .values()
        .map(|r| format!("{:?} {} {} {}", r.unit, r.check, r.verdict, r.summary))
        .collect();
    let expected_failures = [
        checks::MODERN_PROTOCOL,
        checks::LEGACY_PROTOCOL,
        checks::WEAK_CIPHER_SUITE,
        checks::FORWARD_SECRECY,
        checks::CERTIFICATE_VALIDITY,
        checks::CERTIFICATE_TRUST,
        checks::CERTIFICATE_NAME,
        checks::CERTIFICATE_KEY,
        checks::CERTIFICATE_SIGNATURE,
        checks::CLIENT_VALIDATION,
    ];
    for unit in ["unit-1", "unit-2"] {
        for check in expected_failures {
            let result = &results[&(check.to_owned(), Some(unit.to_owned()))];
            assert_eq!(
                result.verdict,
                Verdict::Fail,
                "{check} on {unit}\n{}",
                report.join("\n")
            );
        }
    }
    let client = &results[&(
        checks::CLIENT_VALIDATION.to_owned(),
        Some("unit-1".to_owned()),
    )];
    assert!(client.summary.contains("self-signed"), "{}", client.summary);
    assert!(client
        .evidence
        .iter()
        .any(|e| e.label.starts_with("TLS server")));
    let weak = &results[&(
        checks::WEAK_CIPHER_SUITE.to_owned(),
        Some("unit-1".to_owned()),
    )];
    assert!(
        weak.summary.contains("4433/tcp") && weak.summary.contains("NULL"),
        "{}",
        weak.summary
    );
}
