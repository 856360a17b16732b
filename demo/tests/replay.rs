//! `iotcert replay` through the real binary: a fuzzing campaign finds the insecure
//! virtual device's planted MQTT bug, the stored finding replays against that device
//! (exit 1), and its reproducer file no longer replays against a device without the
//! bug (exit 0), which is how a manufacturer checks a fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{campaign_id, iotcert};
use iotcert::store::Store;
use iotcert_suite::EvidenceKind;
use iotcert_testbed::{DeviceConfig, Flaws};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const BUGGY: &str = "127.78.5.1";
const FIXED: &str = "127.78.5.2";

fn profile(address: &str) -> String {
    format!(
        r#"[device]
manufacturer = "Test"
model = "Broker"
firmware_version = "1"

[[units]]
id = "unit-1"
address = "{address}"

[[interfaces]]
port = 1883
transport = "tcp"
service = "mqtt"
authentication = "none"
tls = false

[campaign]
suites = ["protofuzz"]

[protofuzz]
protocols = ["mqtt"]
seconds_per_protocol = 30
recovery_wait_seconds = 5
"#
    )
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn iotcert_output(data: &Path, args: Vec<String>) -> Output {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || iotcert(&data).args(args).output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_finding_replays_and_a_fixed_device_does_not() {
    let cleartext_broker = Flaws {
        cleartext_mqtt: true,
        anonymous_mqtt: true,
        ..Flaws::none()
    };
    let buggy = iotcert_testbed::start(DeviceConfig {
        flaws: Flaws {
            planted_parser_bugs: true,
            ..cleartext_broker
        },
        ..DeviceConfig::insecure("buggy", BUGGY.parse().unwrap())
    })
    .await
    .unwrap();
    let fixed = iotcert_testbed::start(DeviceConfig {
        flaws: cleartext_broker,
        ..DeviceConfig::insecure("fixed", FIXED.parse().unwrap())
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let buggy_profile = dir.path().join("buggy.toml");
    let fixed_profile = dir.path().join("fixed.toml");
    std::fs::write(&buggy_profile, profile(BUGGY)).unwrap();
    std::fs::write(&fixed_profile, profile(FIXED)).unwrap();

    let run = iotcert_output(
        &data,
        vec!["run".into(), buggy_profile.display().to_string()],
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let campaign = campaign_id(&String::from_utf8_lossy(&run.stderr)).unwrap();

    // Let the watchdog bring the broker back before sending the finding again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let replayed = iotcert_output(
        &data,
        vec!["replay".into(), campaign.clone(), "protofuzz.mqtt".into()],
    )
    .await;
    assert_eq!(replayed.status.code(), Some(1), "{}", text(&replayed));
    assert!(
        text(&replayed).contains("REPRODUCED"),
        "{}",
        text(&replayed)
    );

    let unknown = iotcert_output(
        &data,
        vec!["replay".into(), campaign.clone(), "protofuzz.coap".into()],
    )
    .await;
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));

    let store = Store::open(&data).unwrap();
    let result = store
        .results(&campaign)
        .unwrap()
        .into_iter()
        .find(|r| r.check == "protofuzz.mqtt")
        .unwrap();
    let evidence = result
        .evidence
        .iter()
        .find(|e| e.kind == EvidenceKind::Reproducer)
        .unwrap();
    let reproducer = dir.path().join("reproducer.json");
    std::fs::write(
        &reproducer,
        store.evidence(&evidence.sha256).unwrap().unwrap(),
    )
    .unwrap();
    drop(store);
    let against_fix = iotcert_output(
        &data,
        vec![
            "replay".into(),
            "--reproducer".into(),
            reproducer.display().to_string(),
            "--profile".into(),
            fixed_profile.display().to_string(),
        ],
    )
    .await;
    assert_eq!(against_fix.status.code(), Some(0), "{}", text(&against_fix));
    assert!(
        text(&against_fix).contains("not reproduced"),
        "{}",
        text(&against_fix)
    );
    buggy.shutdown().await;
    fixed.shutdown().await;
}
