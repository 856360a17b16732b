//! The update suite against the virtual devices: the insecure device fails each check
//! for its known flaw, the secure device passes every check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use iotcert_suite::Verdict;
use iotcert_suite_update::checks;
use iotcert_testbed::update::{
    write_update_artifacts, GENUINE_UPDATE_VERSION, OLDER_UPDATE_VERSION,
};
use iotcert_testbed::{port, start, DeviceConfig};
use std::net::IpAddr;
use std::time::Duration;

fn profile(address: IpAddr, port: u16, tls: bool) -> String {
    format!(
        r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "1.1.0"

[[units]]
id = "unit-1"
address = "{address}"

[update]
format = "plain"
genuine_image = "acmecam-{GENUINE_UPDATE_VERSION}.img"
genuine_signature = "acmecam-{GENUINE_UPDATE_VERSION}.img.sig"
genuine_version = "{GENUINE_UPDATE_VERSION}"
signer_certificate = "acme-update-signer.pem"
older_image = "acmecam-{OLDER_UPDATE_VERSION}.img"
older_signature = "acmecam-{OLDER_UPDATE_VERSION}.img.sig"
older_version = "{OLDER_UPDATE_VERSION}"
settle_seconds = 0

[update.delivery]
kind = "http-upload"
port = {port}
tls = {tls}

[update.version_query]
kind = "http"
port = {port}
tls = {tls}

# The testbed's endpoint answers 200 only once it has installed the image.
[update.acceptance]
kind = "channel"
"#
    )
}

#[tokio::test]
async fn insecure_device_fails_each_check_for_its_flaw() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let address: IpAddr = "127.79.1.1".parse().unwrap();
    let device = start(DeviceConfig::insecure("unit-1", address))
        .await
        .unwrap();
    let run = common::run_suite(
        &profile(address, port::HTTP_UPDATE, false),
        directory.path(),
        Duration::from_secs(120),
    )
    .await;
    run.dump();
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::UNHEALTHY_AFTER_REFUSAL,
    ] {
        assert_eq!(run.verdict(check, "unit-1"), Verdict::Fail, "{check}");
    }
    assert_eq!(run.verdict(checks::GENUINE_IMAGE, "unit-1"), Verdict::Pass);
    // The truncated image is the one the insecure device refuses (size check), and the
    // refusal crashes its update agent.
    let tampered = run.attempts(checks::TAMPERED_IMAGE, "unit-1");
    let truncated = tampered
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attack"] == "truncated")
        .unwrap();
    assert_eq!(truncated["outcome"]["outcome"], "refused", "{truncated:#}");
    assert!(
        truncated["health"]["Err"].as_str().unwrap().contains("500"),
        "{truncated:#}"
    );
    device.shutdown().await;
}

#[tokio::test]
async fn secure_device_passes_every_check_over_https() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let address: IpAddr = "127.79.1.2".parse().unwrap();
    let device = start(DeviceConfig::secure("unit-1", address))
        .await
        .unwrap();
    let run = common::run_suite(
        &profile(address, port::HTTPS_UPDATE, true),
        directory.path(),
        Duration::from_secs(120),
    )
    .await;
    run.dump();
    for check in checks::ALL {
        assert_eq!(run.verdict(check, "unit-1"), Verdict::Pass, "{check}");
    }
    assert_eq!(device.firmware_version(), GENUINE_UPDATE_VERSION);
    // Evidence of every attempt: digest, answer, versions before and after.
    let rollback = run.attempts(checks::ROLLBACK, "unit-1");
    let attempt = &rollback[0];
    assert_eq!(attempt["image_sha256"].as_str().unwrap().len(), 64);
    assert!(attempt["channel_answer"].as_str().unwrap().contains("403"));
    assert_eq!(
        attempt["version_before"]["Ok"],
        DeviceConfig::SECURE_FIRMWARE_VERSION
    );
    assert_eq!(
        attempt["version_after"]["Ok"],
        DeviceConfig::SECURE_FIRMWARE_VERSION
    );
    device.shutdown().await;
}

#[tokio::test]
async fn no_update_mechanism_is_not_applicable_with_a_reason() {
    use iotcert_suite::{Applicability, Profile, Suite};
    let profile = Profile::from_toml_str(
        "[device]\nmanufacturer = \"A\"\nmodel = \"B\"\nfirmware_version = \"1\"\n[[units]]\nid = \"u\"\naddress = \"127.0.0.1\"\n",
    )
    .unwrap();
    let suite = iotcert_suite_update::UpdateSuite::new(".");
    for check in suite.descriptor().checks {
        match suite.applicability(&check, &profile) {
            Applicability::NotApplicable { reason } => {
                assert!(reason.contains("no update mechanism"), "{reason}")
            }
            Applicability::Applicable => panic!("{} applies without [update]", check.id),
        }
    }
}
