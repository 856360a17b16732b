//! Test kit for the ports suite: run the suite on a profile and collect its events,
//! start and stop real daemons, run nmap as the reference scanner.
//!
//! Every helper is bounded in time, and a missing tool fails the test with the command
//! that installs it: a test that silently passes without its daemon proves nothing.
#![allow(dead_code, unused_imports)] // each test binary uses its own subset of the kit

use iotcert_suite::{PlanKey, Profile};
use iotcert_suite_ports::PortsSuite;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

pub const CHECKS: [&str; 4] = [
    iotcert_suite_ports::UNDECLARED_OPEN_PORT,
    iotcert_suite_ports::CLEARTEXT_MANAGEMENT,
    iotcert_suite_ports::DEBUG_INTERFACE,
    iotcert_suite_ports::BANNER_DISCLOSURE,
];

/// What one run of the suite produced: the test kit's run, plus the ports suite's own
/// port table.
pub struct Run(pub iotcert_suite_testkit::Run);

impl std::ops::Deref for Run {
    type Target = iotcert_suite_testkit::Run;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Run {
    /// The open TCP ports of the port table in the undeclared-port result of `unit`.
    pub fn open_tcp_ports(&self, unit: &str) -> BTreeSet<u16> {
        let table = self.port_table(unit);
        table["open_tcp"]
            .as_array()
            .expect("open_tcp is an array")
            .iter()
            .map(|row| row["port"].as_u64().expect("port") as u16)
            .collect()
    }

    /// The port table (JSON) of `unit`.
    pub fn port_table(&self, unit: &str) -> serde_json::Value {
        self.evidence_json(
            iotcert_suite_ports::UNDECLARED_OPEN_PORT,
            unit,
            "port table",
        )
    }
}

/// Parse a profile, run the suite with every check pending on every unit, and collect
/// the events. Fails the test if the suite does not return within `limit`.
pub async fn run_suite(profile_text: &str, limit: Duration) -> Run {
    let profile = Profile::from_toml_str(profile_text).expect("test profile parses");
    let pending = iotcert_suite_testkit::every_decision(&PortsSuite::new(), &profile);
    run_suite_with(profile, pending, limit).await
}

/// Run the suite with an explicit pending set (a resumed campaign).
pub async fn run_suite_with(profile: Profile, pending: BTreeSet<PlanKey>, limit: Duration) -> Run {
    Run(iotcert_suite_testkit::run_pending(&PortsSuite::new(), profile, pending, limit).await)
}

pub use iotcert_suite_testkit::{require_tool, Daemon};

/// The open TCP ports nmap's connect scan finds on `address` in `ports` (`-` for all).
pub fn nmap_open_ports(address: IpAddr, ports: &str) -> BTreeSet<u16> {
    let nmap = require_tool("nmap", "nmap");
    let mut command = Command::new(nmap);
    command.args([
        "-sT",
        "-n",
        "-Pn",
        "-T4",
        "--host-timeout",
        "120s",
        "-oG",
        "-",
    ]);
    command.arg(format!("-p{ports}"));
    if address.is_ipv6() {
        command.arg("-6");
    }
    command.arg(address.to_string());
    let output = command.output().expect("nmap runs");
    assert!(
        output.status.success(),
        "nmap failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_grepable(&String::from_utf8_lossy(&output.stdout))
}

/// Open ports from nmap's grepable output (`Ports: 22/open/tcp//ssh///, ...`).
pub fn parse_grepable(output: &str) -> BTreeSet<u16> {
    let mut open = BTreeSet::new();
    for line in output.lines() {
        let Some((_, ports)) = line.split_once("Ports: ") else {
            continue;
        };
        let ports = ports.split('\t').next().unwrap_or_default();
        for entry in ports.split(", ") {
            let mut fields = entry.split('/');
            let (Some(port), Some(state)) = (fields.next(), fields.next()) else {
                continue;
            };
            if state == "open" {
                if let Ok(port) = port.trim().parse() {
                    open.insert(port);
                }
            }
        }
    }
    open
}

/// The `[[ports.ignore]]` entries for ports that are open on `address` but belong to
/// the test host (listeners on 0.0.0.0 show on every loopback address).
pub fn ignore_entries(ports: &BTreeSet<u16>) -> String {
    ports
        .iter()
        .map(|port| {
            format!(
                "[[ports.ignore]]\nport = {port}\ntransport = \"tcp\"\nreason = \"listener of the test host, not of the device\"\n"
            )
        })
        .collect()
}

/// Bind a TCP listener on `address:port` and hand every accepted connection to
/// `serve`, in its own task, until the test's runtime ends.
pub async fn serve_tcp<F, Fut>(address: &str, port: u16, serve: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener =
        tokio::net::TcpListener::bind((address.parse::<IpAddr>().expect("address"), port))
            .await
            .unwrap_or_else(|e| panic!("bind {address}:{port}: {e}"));
    let bound = listener.local_addr().expect("local address");
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let serve = Arc::clone(&serve);
            tokio::spawn(async move { serve(stream).await });
        }
    });
    bound
}

/// Deterministic pseudo-random bytes (a linear congruential generator).
pub fn garbage(seed: u32, length: usize) -> Vec<u8> {
    let mut state = seed;
    (0..length)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect()
}

/// Every evidence item of every result, with its size, for bound checks.
pub fn evidence_sizes(run: &Run) -> Vec<(String, usize)> {
    run.results
        .iter()
        .flat_map(|r| r.evidence.iter().map(|e| (e.label.clone(), e.data.len())))
        .collect()
}
