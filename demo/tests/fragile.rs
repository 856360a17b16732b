//! Fast by default and still gentle (issue 16): a default campaign does not knock over
//! a fragile device, whose TCP stack resets everything beyond 2,000 new connections a
//! second and dies when one overload brings 2,000 connections beyond that, while
//! `nmap -T4` and an unpaced iotcert do knock it over. The report shows the pace the
//! unit held.
//!
//! Needs root (the fragile device counts SYNs with a raw socket), as README's test
//! command runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use iotcert_suite::pacer::PacingMode;
use iotcert_testbed::fragile::{start_fragile, FragileDevice, FragileLimits};
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

const PORTS: [u16; 2] = [2323, 8080];
const LIMITS: FragileLimits = FragileLimits {
    new_connections_per_second: 2_000,
    tolerated_excess: 2_000,
};

async fn fragile(last_octet: u8) -> FragileDevice {
    let address = Ipv4Addr::new(127, 61, 0, last_octet);
    start_fragile(address, &PORTS, LIMITS)
        .await
        .unwrap_or_else(|e| panic!("the fragile device needs root for its raw socket: {e}"))
}

/// A profile of the fragile device with the defaults a new user gets, plus `extra`.
fn profile(device: &FragileDevice, extra: &str) -> String {
    let interfaces: String = device
        .declared_interfaces()
        .iter()
        .map(|i| {
            format!(
                "[[interfaces]]\nport = {}\ntransport = \"tcp\"\nservice = \"{}\"\nauthentication = \"none\"\n\n",
                i.port, i.service
            )
        })
        .collect();
    format!(
        r#"[device]
manufacturer = "Test"
model = "Fragile"
firmware_version = "1"

[[units]]
id = "unit-1"
address = "{}"

{extra}

{interfaces}"#,
        device.address()
    )
}

/// Default campaigns run one after another, each on a fresh fragile device:
/// `IOTCERT_FRAGILE_RUNS` of them (1 unless set; `bench/fragile.sh` asks for 20).
fn default_campaign_runs() -> u8 {
    std::env::var("IOTCERT_FRAGILE_RUNS")
        .ok()
        .map(|runs| {
            runs.parse()
                .expect("IOTCERT_FRAGILE_RUNS: a number from 1 to 200")
        })
        .filter(|runs| (1..=200).contains(runs))
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_campaign_does_not_knock_over_a_fragile_device() {
    let runs = default_campaign_runs();
    let mut deaths = Vec::new();
    for run in 1..=runs {
        let address = Ipv4Addr::new(127, 61, 100 + run % 100, 1);
        let device = start_fragile(address, &PORTS, LIMITS)
            .await
            .unwrap_or_else(|e| panic!("the fragile device needs root for its raw socket: {e}"));
        let started = std::time::Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let report = common::campaign_report(&profile(&device, ""), dir.path()).await;
        let health = device.health();
        let pace = assert_pace_reported(&report);
        eprintln!(
            "run {run} of {runs}: {} in {:.1} s; {pace}; {health:?}",
            if health.dead { "DEAD" } else { "alive" },
            started.elapsed().as_secs_f64()
        );
        if health.dead {
            deaths.push(run);
        }
    }
    assert!(
        deaths.is_empty(),
        "default campaigns knocked the fragile device over in runs {deaths:?} of {runs}"
    );
}

/// The sweep saw every declared port open and decided every port, and the report says
/// how the pace answered a device pressed to its limit; the pace's summary.
fn assert_pace_reported(report: &iotcert::report::Report) -> String {
    let undeclared = report
        .results
        .iter()
        .find(|r| r.check == "ports.undeclared-open-port")
        .unwrap();
    assert!(
        !undeclared.summary.contains("not found open") && !undeclared.summary.contains("partial"),
        "{}",
        undeclared.summary
    );
    let [pace] = report.pacing.as_slice() else {
        panic!("one unit, one run: {:?}", report.pacing);
    };
    assert_eq!(pace.pace.unit, "unit-1");
    assert_eq!(pace.pace.record.mode, PacingMode::Adaptive);
    assert!(pace.pace.record.back_offs_total >= 1, "{}", pace.summary);
    assert!(!pace.pace.record.back_offs.is_empty(), "{}", pace.summary);
    assert!(pace.summary.contains("back-off"), "{}", pace.summary);
    pace.summary.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nmap_t4_knocks_a_fragile_device_over() {
    let device = fragile(2).await;
    let output = Command::new("nmap")
        .args(["-sT", "-p-", "-n", "-Pn", "-T4", "-oG", "-"])
        .arg(device.address().to_string())
        .output()
        .unwrap();
    assert!(output.status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = device.health();
    eprintln!("nmap: {health:?}");
    assert!(health.dead, "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaced_campaign_knocks_a_fragile_device_over() {
    let device = fragile(3).await;
    let dir = tempfile::tempdir().unwrap();
    let unpaced = "[pacing]\nmode = \"fixed\"\nmax_connections = 256\nconnections_per_second = 4000000000\n\n[campaign]\nsuites = [\"ports\"]";
    common::campaign(&profile(&device, unpaced), dir.path()).await;
    let health = device.health();
    eprintln!("unpaced: {health:?}");
    assert!(health.dead, "{health:?}");
}
