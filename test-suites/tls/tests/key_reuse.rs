//! `tls.key-reuse` against two units of a virtual device model: units of the insecure
//! model derive their TLS key from one seed in the firmware and must FAIL with that key's
//! fingerprint as evidence; units of the secure model draw their own and must PASS.
//!
//! The fingerprints the suite reports are compared with the ones each device computes
//! from its own key (rcgen), not with the suite's own parsing of the certificates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{require, run_suite};
use iotcert_suite::{CheckResult, Verdict};
use iotcert_suite_tls::checks;
use iotcert_testbed::{start, DeviceConfig};
use std::net::IpAddr;
use std::time::Duration;

/// Longest a whole assessment of two units may take.
const TEST_LIMIT: Duration = Duration::from_secs(90);

/// Starts two units of one model on `127.66.{block}.1` and `.2`, runs the suite on a
/// profile declaring every interface, and returns the key-reuse result and the SPKI
/// fingerprint of each unit's rustls key.
async fn key_reuse(secure: bool, block: u8) -> (CheckResult, Vec<String>) {
    let directory = tempfile::tempdir().unwrap();
    let mut devices = Vec::new();
    let mut units = String::new();
    let mut anchors = Vec::new();
    for index in 1..=2u8 {
        let address: IpAddr = format!("127.66.{block}.{index}").parse().unwrap();
        let name = format!("unit-{index}");
        let config = if secure {
            DeviceConfig::secure(&name, address)
        } else {
            DeviceConfig::insecure(&name, address)
        };
        let device = start(config).await.unwrap();
        let anchor = directory.path().join(format!("{name}-ca.pem"));
        std::fs::write(&anchor, device.ca_pem()).unwrap();
        anchors.push(format!("{:?}", anchor.display().to_string()));
        units.push_str(&format!(
            "[[units]]\nid = \"{name}\"\naddress = \"{address}\"\n"
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
         [tls]\ntrust_anchors = [{}]\ntimeout_ms = 2000\n",
        anchors.join(", ")
    );
    let mut results = tokio::time::timeout(TEST_LIMIT, run_suite(&profile, directory.path()))
        .await
        .expect("the suite ends in time");
    let fingerprints = devices
        .iter()
        .map(|d| d.tls_key_sha256().to_owned())
        .collect();
    for device in devices {
        device.shutdown().await;
    }
    let result = results
        .remove(&(checks::KEY_REUSE.to_owned(), None))
        .expect("a key-reuse result");
    (result, fingerprints)
}

/// Every evidence item of a result as text.
fn evidence_text(result: &CheckResult) -> String {
    result
        .evidence
        .iter()
        .map(|e| format!("{}\n{}", e.label, String::from_utf8_lossy(&e.data)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_units_share_one_key_and_fail() {
    require("openssl", "openssl");
    let (result, fingerprints) = key_reuse(false, 1).await;
    let evidence = evidence_text(&result);
    assert_eq!(
        result.verdict,
        Verdict::Fail,
        "{}\n{evidence}",
        result.summary
    );
    assert_eq!(fingerprints[0], fingerprints[1], "the flaw gives one key");
    let shared = &fingerprints[0];
    let shared_item = result
        .evidence
        .iter()
        .find(|e| e.label.starts_with("public keys shared"))
        .expect("evidence of the shared keys");
    let items: serde_json::Value = serde_json::from_slice(&shared_item.data).unwrap();
    let holders = items
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["key_sha256"] == shared.as_str()))
        .map(|k| k["on"].to_string())
        .unwrap_or_else(|| panic!("{shared} is not named as shared:\n{evidence}"));
    for unit in ["unit-1:8443", "unit-2:8443", "unit-1:8883", "unit-2:8883"] {
        assert!(holders.contains(unit), "{unit} missing from {holders}");
    }
    assert!(
        result.summary.contains(&shared[..16]),
        "{} does not name {shared}",
        result.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_units_have_keys_of_their_own_and_pass() {
    let (result, fingerprints) = key_reuse(true, 2).await;
    let evidence = evidence_text(&result);
    assert_eq!(
        result.verdict,
        Verdict::Pass,
        "{}\n{evidence}",
        result.summary
    );
    assert_ne!(fingerprints[0], fingerprints[1]);
    for fingerprint in &fingerprints {
        assert!(
            evidence.contains(fingerprint.as_str()),
            "{fingerprint} was not compared:\n{evidence}"
        );
    }
}
