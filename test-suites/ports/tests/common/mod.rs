//! Test kit for the ports suite: run the suite on a profile and collect its events,
//! start and stop real daemons, run nmap as the reference scanner.
//!
//! Every helper is bounded in time, and a missing tool fails the test with the command
//! that installs it: a test that silently passes without its daemon proves nothing.
#![allow(dead_code)] // each test binary uses its own subset of the kit

use iotcert_suite::Suite;
use iotcert_suite::{CheckResult, EventSink, PlanKey, Profile, RunContext, SuiteEvent, Verdict};
use iotcert_suite_ports::PortsSuite;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const CHECKS: [&str; 4] = [
    iotcert_suite_ports::UNDECLARED_OPEN_PORT,
    iotcert_suite_ports::CLEARTEXT_MANAGEMENT,
    iotcert_suite_ports::DEBUG_INTERFACE,
    iotcert_suite_ports::BANNER_DISCLOSURE,
];

/// What one run of the suite produced.
pub struct Run {
    pub results: Vec<CheckResult>,
    pub events: Vec<SuiteEvent>,
    pub elapsed: Duration,
}

impl Run {
    /// The result of `check` on `unit`; panics with the list of results if missing.
    pub fn result(&self, check: &str, unit: &str) -> &CheckResult {
        self.results
            .iter()
            .find(|r| r.check == check && r.unit.as_deref() == Some(unit))
            .unwrap_or_else(|| {
                panic!(
                    "no result for {check} on {unit}; got {:#?}",
                    self.results
                        .iter()
                        .map(|r| (&r.check, &r.unit, r.verdict))
                        .collect::<Vec<_>>()
                )
            })
    }

    /// Print every result, shown when a test fails (or with `--nocapture`).
    pub fn dump(&self) {
        for result in &self.results {
            eprintln!(
                "{} {} {}: {}",
                result.unit.as_deref().unwrap_or("-"),
                result.check,
                result.verdict,
                result.summary
            );
        }
        eprintln!("suite ran for {:?}", self.elapsed);
    }

    pub fn verdict(&self, check: &str, unit: &str) -> Verdict {
        self.result(check, unit).verdict
    }

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
        let result = self.result(iotcert_suite_ports::UNDECLARED_OPEN_PORT, unit);
        let evidence = result
            .evidence
            .iter()
            .find(|e| e.label.starts_with("port table"))
            .expect("a port table in the evidence");
        serde_json::from_slice(&evidence.data).expect("the port table is JSON")
    }
}

/// Parse a profile, run the suite with every check pending on every unit, and collect
/// the events. Fails the test if the suite does not return within `limit`.
pub async fn run_suite(profile_text: &str, limit: Duration) -> Run {
    let profile = Profile::from_toml_str(profile_text).expect("test profile parses");
    let pending: BTreeSet<PlanKey> = profile
        .units
        .iter()
        .flat_map(|unit| {
            CHECKS
                .iter()
                .map(|check| PlanKey::new(check, Some(&unit.id)))
        })
        .collect();
    run_suite_with(profile, pending, limit).await
}

/// Run the suite with an explicit pending set (a resumed campaign).
pub async fn run_suite_with(profile: Profile, pending: BTreeSet<PlanKey>, limit: Duration) -> Run {
    let profile = Arc::new(profile);
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(profile.campaign.suite_deadline_seconds);
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some((_, event)) = receiver.recv().await {
            events.push(event);
        }
        events
    });
    let ctx = RunContext::new(
        Arc::clone(&profile),
        Arc::new(BTreeMap::new()),
        deadline,
        CancellationToken::new(),
        pending,
        EventSink::new("ports", sender),
    );
    let started = Instant::now();
    let outcome = tokio::time::timeout(limit, PortsSuite::new().run(ctx)).await;
    let elapsed = started.elapsed();
    match outcome {
        Err(_) => panic!("the suite did not finish within {limit:?}"),
        Ok(Err(error)) => panic!("the suite failed: {error}"),
        Ok(Ok(())) => {}
    }
    let events = collector.await.expect("collector task");
    let results = events
        .iter()
        .filter_map(|event| match event {
            SuiteEvent::Result(result) => Some(result.clone()),
            _ => None,
        })
        .collect();
    Run {
        results,
        events,
        elapsed,
    }
}

/// Fail with the install command when a tool is missing.
pub fn require_tool(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{program}` is missing: install it with `apt-get install -y {package}` (as root) and rerun the tests")
    })
}

/// A daemon started by a test, killed by its pid when the test ends (even on panic).
pub struct Daemon {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    pub fn start(name: &str, command: &mut Command, log: &Path) -> Daemon {
        let log_file = std::fs::File::create(log).expect("daemon log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name}: {e}"));
        Daemon {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait until `address` accepts connections, or fail with the daemon's log.
    pub fn wait_listening(&mut self, address: SocketAddr) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on {address}: {}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not listen on {address} within 15 s: {}",
            self.name,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this daemon's pid, and only to it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
