//! The ports suite against the insecure virtual device, judged by a reference scanner:
//! the open TCP set the suite reports must equal what `nmap -sT -p- -n -Pn` finds at
//! the same address, and every flaw of the device must be found.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert::engine::{self, Silent};
use iotcert::registry;
use iotcert::store::Store;
use iotcert_suite::{Profile, Verdict};
use iotcert_testbed::DeviceConfig;
use std::collections::BTreeSet;
use std::process::Command;
use tokio_util::sync::CancellationToken;

const ADDRESS: &str = "127.78.4.1";

fn nmap_open_ports(address: &str) -> BTreeSet<u16> {
    let output = Command::new("nmap")
        .args(["-sT", "-p-", "-n", "-Pn", "-T4", "-oG", "-", address])
        .output()
        .unwrap_or_else(|e| {
            panic!("nmap is needed for this test (apt-get install nmap; scripts/test does): {e}")
        });
    assert!(
        output.status.success(),
        "nmap failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let ports = text
        .lines()
        .filter_map(|line| line.split("Ports: ").nth(1))
        .flat_map(|ports| ports.split(", "))
        .filter(|entry| entry.contains("/open/"))
        .filter_map(|entry| entry.trim().split('/').next()?.parse().ok())
        .collect();
    ports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_testbed_open_ports_equal_nmap_and_every_flaw_is_found() {
    let device =
        iotcert_testbed::start(DeviceConfig::insecure("insecure", ADDRESS.parse().unwrap()))
            .await
            .unwrap();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/testbed-insecure.toml"
    ))
    .unwrap();
    let text = example.replace("127.77.2.1", ADDRESS);
    let profile = Profile::from_toml_str(&text).unwrap();
    // The ports suite alone: this test compares its sweep with nmap.
    let mut suites = registry::suites_for(&profile, std::path::Path::new("."))
        .await
        .unwrap();
    suites.retain(|suite| suite.descriptor().id == "ports");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let record = engine::plan_campaign("testbed-insecure.toml", &text, &profile, &suites);
    let done = engine::execute(
        &store,
        record,
        &suites,
        &mut Silent,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let results = store.results(&done.id).unwrap();

    let undeclared = results
        .iter()
        .find(|r| r.check == "ports.undeclared-open-port")
        .unwrap();
    let table = undeclared
        .evidence
        .iter()
        .find(|e| e.label.starts_with("port table"))
        .unwrap();
    let table: serde_json::Value =
        serde_json::from_slice(&store.evidence(&table.sha256).unwrap().unwrap()).unwrap();
    let ours: BTreeSet<u16> = table["tcp_sweep"]["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u16)
        .collect();
    let reference = tokio::task::spawn_blocking(|| nmap_open_ports(ADDRESS))
        .await
        .unwrap();
    assert_eq!(ours, reference, "open TCP ports: iotcert vs nmap");
    let listening: BTreeSet<u16> = device
        .listening()
        .iter()
        .filter(|s| s.transport == iotcert_suite::profile::Transport::Tcp)
        .map(|s| s.port)
        .collect();
    assert!(
        listening.is_subset(&ours),
        "every TCP service of the device is found"
    );

    for result in &results {
        assert_eq!(
            result.verdict,
            Verdict::Fail,
            "{}: {}",
            result.check,
            result.summary
        );
    }
    assert!(
        undeclared.summary.contains("5555/tcp"),
        "{}",
        undeclared.summary
    );
    device.shutdown().await;
}
