//! The fault matrix (issue 13): every check of every built-in suite against hostile
//! devices, and not one PASS.
//!
//! Each fault of [`hostile::Fault`] runs on its own pair of loopback units
//! (127.66.F.1 and .2) with the same profile: telnet, HTTP (admin login, update
//! endpoint, version query), "HTTPS", MQTT and CoAP declared, an ADB port not. A whole
//! campaign of every suite runs against each, side by side, on the real engine. The
//! test fails on any PASS, and when a check that `iotcert suites` lists has no row, so
//! a new check cannot join without facing the faults. It writes the matrix as Markdown
//! to `target/tmp/fault-matrix.md`; README's "Fault matrix" section is that file
//! (refreshed with `IOTCERT_WRITE_README=1`) and must list every check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;
#[path = "fault_matrix/hostile.rs"]
mod hostile;

use hostile::Fault;
use iotcert::model::StoredResult;
use iotcert::registry;
use iotcert_suite::Verdict;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

const README_START: &str = "<!-- fault-matrix:start -->";
const README_END: &str = "<!-- fault-matrix:end -->";

fn unit_address(fault_index: usize, unit: u8) -> IpAddr {
    let block = u8::try_from(fault_index + 1).unwrap();
    IpAddr::V4(Ipv4Addr::new(127, 66, block, unit))
}

/// The profile every fault device is tested with: what a lab would write for a small
/// street-light controller, budgets cut so the matrix runs in CI.
fn profile_text(fault: Fault, index: usize, files: &Path) -> String {
    let artifacts = iotcert_testbed::update::write_update_artifacts(files).unwrap();
    let path = |p: &Path| p.display().to_string();
    let model = fault.name().replace([' ', ','], "-");
    format!(
        r#"[device]
manufacturer = "Hostile"
model = "fault-{model}"
firmware_version = "{running}"

[[units]]
id = "unit-1"
address = "{unit1}"

[[units]]
id = "unit-2"
address = "{unit2}"

[pacing]
max_connections = 128
connections_per_second = 5000

[campaign]
suite_deadline_seconds = 75

[[interfaces]]
port = {telnet}
transport = "tcp"
service = "telnet"
authentication = "password"

[[interfaces]]
port = {http}
transport = "tcp"
service = "http"
authentication = "password"

[[interfaces]]
port = {https}
transport = "tcp"
service = "https"
authentication = "password"
tls = true

[[interfaces]]
port = {mqtt}
transport = "tcp"
service = "mqtt"
authentication = "password"

[[interfaces]]
port = {coap}
transport = "udp"
service = "coap"

[ports]
tcp = ["1-1024", "1883", "2323", "5555", "8080", "8443"]
connect_timeout_ms = 1000

[credentials]
unit_credentials = [
  {{ unit = "unit-1", service = "http", username = "admin", password = "u1-Kq8-secret" }},
  {{ unit = "unit-2", service = "http", username = "admin", password = "u2-Zt4-secret" }},
]
brute_force_attempts = 8
max_candidates = 25
attempt_timeout_ms = 4000

[tls]
timeout_ms = 1500

[update]
format = "plain"
genuine_image = "{genuine}"
genuine_signature = "{genuine_signature}"
genuine_version = "{genuine_version}"
signer_certificate = "{signer}"
older_image = "{older}"
older_signature = "{older_signature}"
older_version = "{older_version}"
settle_seconds = 0

[update.delivery]
kind = "http-upload"
port = {http}
timeout_seconds = 8

[update.version_query]
kind = "http"
port = {http}

[protofuzz]
cases_per_protocol = 150
seconds_per_protocol = 6
recovery_wait_seconds = 3
timeout_ms = 600
"#,
        running = hostile::RUNNING_VERSION,
        unit1 = unit_address(index, 1),
        unit2 = unit_address(index, 2),
        telnet = hostile::TELNET,
        http = hostile::HTTP,
        https = hostile::HTTPS,
        mqtt = hostile::MQTT,
        coap = hostile::COAP,
        genuine = path(&artifacts.genuine_image),
        genuine_signature = path(&artifacts.genuine_signature),
        genuine_version = iotcert_testbed::update::GENUINE_UPDATE_VERSION,
        signer = path(&artifacts.signer_certificate),
        older = path(&artifacts.older_image),
        older_signature = path(&artifacts.older_signature),
        older_version = iotcert_testbed::update::OLDER_UPDATE_VERSION,
    )
}

/// One whole campaign against the device of one fault; every stored result.
async fn campaign_against(fault: Fault, index: usize, dir: &Path) -> Vec<StoredResult> {
    let files = dir.join(format!("fault-{index}"));
    std::fs::create_dir_all(&files).unwrap();
    let _devices = [
        hostile::start(fault, unit_address(index, 1)).await.unwrap(),
        hostile::start(fault, unit_address(index, 2)).await.unwrap(),
    ];
    let text = profile_text(fault, index, &files);
    common::campaign(&text, &files).await
}

/// A cell: the verdicts of one check against one fault, over the units (or across).
fn cell(results: &[StoredResult], check: &str) -> String {
    let mut verdicts: Vec<&str> = results
        .iter()
        .filter(|r| r.check == check)
        .map(|r| r.verdict.as_str())
        .collect();
    verdicts.sort_unstable();
    verdicts.dedup();
    if verdicts.is_empty() {
        "no result".to_owned()
    } else {
        verdicts.join(" / ")
    }
}

fn markdown(checks: &[String], columns: &[(Fault, Vec<StoredResult>)]) -> String {
    let mut table = String::from("| check |");
    for (fault, _) in columns {
        table.push_str(&format!(" {} |", fault.name()));
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(columns.len()));
    table.push('\n');
    for check in checks {
        table.push_str(&format!("| `{check}` |"));
        for (_, results) in columns {
            table.push_str(&format!(" {} |", cell(results, check)));
        }
        table.push('\n');
    }
    table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_check_passes_against_any_hostile_device() {
    let dir = tempfile::tempdir().unwrap();
    let checks: Vec<String> = registry::builtin_suites(dir.path())
        .iter()
        .flat_map(|suite| suite.descriptor().checks)
        .map(|check| check.id)
        .collect();
    let runs = Fault::ALL.iter().enumerate().map(|(index, fault)| {
        let dir = dir.path().to_owned();
        async move { (*fault, campaign_against(*fault, index, &dir).await) }
    });
    let columns: Vec<(Fault, Vec<StoredResult>)> = futures::future::join_all(runs).await;

    let table = markdown(&checks, &columns);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("fault-matrix.md"), &table).unwrap();
    let details: String = columns
        .iter()
        .flat_map(|(fault, results)| {
            results.iter().map(move |r| {
                format!(
                    "{:<16} {:<14} {:<38} {:<7} {}\n",
                    fault.name(),
                    r.verdict.as_str(),
                    r.check,
                    r.unit.as_deref().unwrap_or("all"),
                    r.summary.replace('\n', " ")
                )
            })
        })
        .collect();
    std::fs::write(target.join("fault-matrix-details.txt"), details).unwrap();

    let mut passes = Vec::new();
    for (fault, results) in &columns {
        for check in &checks {
            assert!(
                results.iter().any(|r| &r.check == check),
                "{check} has no result against '{}'",
                fault.name()
            );
        }
        for result in results.iter().filter(|r| r.verdict == Verdict::Pass) {
            passes.push(format!(
                "{} on {} against '{}': {} (proof: {})",
                result.check,
                result.unit.as_deref().unwrap_or("all units"),
                fault.name(),
                result.summary,
                result.proof.as_deref().unwrap_or("-")
            ));
        }
    }
    let by_verdict: BTreeMap<&str, usize> =
        columns
            .iter()
            .flat_map(|(_, r)| r)
            .fold(BTreeMap::new(), |mut counts, r| {
                *counts.entry(r.verdict.as_str()).or_default() += 1;
                counts
            });
    println!("{table}\n{by_verdict:?}");
    assert!(
        passes.is_empty(),
        "false PASS against hostile devices:\n{}\n\n{table}",
        passes.join("\n")
    );

    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    if std::env::var_os("IOTCERT_WRITE_README").is_some() {
        let (before, rest) = readme.split_once(README_START).unwrap();
        let (_, after) = rest.split_once(README_END).unwrap();
        let updated = format!("{before}{README_START}\n{table}{README_END}{after}");
        std::fs::write(&readme_path, updated).unwrap();
    } else {
        let (_, rest) = readme
            .split_once(README_START)
            .expect("README has a fault matrix section");
        let (section, _) = rest.split_once(README_END).unwrap();
        for check in &checks {
            assert!(
                section.contains(&format!("| `{check}` |")),
                "README's fault matrix has no row for {check}: run this test with IOTCERT_WRITE_README=1"
            );
        }
        assert!(
            !section.contains("PASS"),
            "README's fault matrix shows a PASS"
        );
    }
}
