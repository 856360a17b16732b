//! The suite against real daemons (mosquitto, lighttpd, dropbear) on addresses of this
//! test's own, with nmap as the reference for the open-port set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{ignore_entries, nmap_open_ports, parse_grepable, require_tool, run_suite, Daemon};
use iotcert_suite::Verdict;
use iotcert_suite_ports::{
    BANNER_DISCLOSURE, CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE, UNDECLARED_OPEN_PORT,
};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

const MQTT_ADDRESS: &str = "127.61.0.1";
const WEB_ADDRESS: &str = "127.61.0.2";
const SSH_ADDRESS: &str = "127.61.0.3";

fn socket(address: &str, port: u16) -> SocketAddr {
    SocketAddr::new(address.parse().expect("address"), port)
}

fn start_mosquitto(dir: &std::path::Path) -> Daemon {
    let program = require_tool("mosquitto", "mosquitto");
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener 1883 {MQTT_ADDRESS}\npersistence false\n"),
    )
    .expect("config");
    let mut daemon = Daemon::start(
        "mosquitto",
        Command::new(program).arg("-c").arg(&config),
        &dir.join("mosquitto.log"),
    );
    daemon.wait_listening(socket(MQTT_ADDRESS, 1883));
    daemon
}

fn start_lighttpd(dir: &std::path::Path) -> Daemon {
    let program = require_tool("lighttpd", "lighttpd");
    let root = dir.join("www");
    std::fs::create_dir_all(&root).expect("docroot");
    std::fs::write(
        root.join("index.html"),
        "<html><body><form method=post action=/login><input name=user><input type=\"password\" name=pass></form></body></html>",
    )
    .expect("index");
    let config = dir.join("lighttpd.conf");
    std::fs::write(
        &config,
        format!(
            "server.document-root = \"{}\"\nserver.bind = \"{WEB_ADDRESS}\"\nserver.port = 8080\nserver.errorlog = \"{}\"\nindex-file.names = (\"index.html\")\nmimetype.assign = (\".html\" => \"text/html\")\n",
            root.display(),
            dir.join("lighttpd-error.log").display()
        ),
    )
    .expect("config");
    let mut daemon = Daemon::start(
        "lighttpd",
        Command::new(program).arg("-D").arg("-f").arg(&config),
        &dir.join("lighttpd.log"),
    );
    daemon.wait_listening(socket(WEB_ADDRESS, 8080));
    daemon
}

fn start_dropbear(dir: &std::path::Path) -> Daemon {
    let keygen = require_tool("dropbearkey", "dropbear-bin");
    let program = require_tool("dropbear", "dropbear-bin");
    let key = dir.join("hostkey");
    let made = Command::new(keygen)
        .args(["-t", "ed25519", "-f"])
        .arg(&key)
        .output()
        .expect("dropbearkey runs");
    assert!(
        made.status.success(),
        "dropbearkey failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut daemon = Daemon::start(
        "dropbear",
        Command::new(program)
            .args(["-F", "-E", "-p", &format!("{SSH_ADDRESS}:2222"), "-r"])
            .arg(&key),
        &dir.join("dropbear.log"),
    );
    daemon.wait_listening(socket(SSH_ADDRESS, 2222));
    daemon
}

/// The profile of one unit with its own declared interfaces: a declared port of one
/// unit closed on another would (rightly) leave the other's verdicts without proof.
fn profile(unit: &str, address: &str, interfaces: &str, ignored: &BTreeSet<u16>) -> String {
    format!(
        r#"
[device]
manufacturer = "iotcert tests"
model = "daemons"
firmware_version = "1.0"

[[units]]
id = "{unit}"
address = "{address}"
{interfaces}
[pacing]
max_connections = 512
connections_per_second = 200000

[ports]
connect_timeout_ms = 1000
retries = 2
{}
[campaign]
suite_deadline_seconds = 120
"#,
        ignore_entries(ignored)
    )
}

/// lighttpd's 8080 and an HTTPS port that nothing serves.
const WEB_INTERFACES: &str = r#"
[[interfaces]]
port = 8080
transport = "tcp"
service = "http"
authentication = "password"

[[interfaces]]
port = 8443
transport = "tcp"
service = "https"
tls = true
"#;

/// dropbear's 2222.
const SSH_INTERFACES: &str = r#"
[[interfaces]]
port = 2222
transport = "tcp"
service = "ssh"
authentication = "key"
"#;

/// The three units, each with its profile, run side by side as one run.
async fn run_all(ignored: &BTreeSet<u16>) -> common::Run {
    let mqtt_profile = profile("mqtt-unit", MQTT_ADDRESS, "", ignored);
    let web_profile = profile("web-unit", WEB_ADDRESS, WEB_INTERFACES, ignored);
    let ssh_profile = profile("ssh-unit", SSH_ADDRESS, SSH_INTERFACES, ignored);
    let limit = Duration::from_secs(150);
    let (mqtt, web, ssh) = tokio::join!(
        run_suite(&mqtt_profile, limit),
        run_suite(&web_profile, limit),
        run_suite(&ssh_profile, limit),
    );
    let elapsed = mqtt.elapsed.max(web.elapsed).max(ssh.elapsed);
    let mut all = iotcert_suite_testkit::Run {
        results: Vec::new(),
        events: Vec::new(),
        elapsed,
    };
    for run in [mqtt, web, ssh] {
        all.results.extend(run.0.results);
        all.events.extend(run.0.events);
    }
    common::Run(all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_daemons_match_nmap_and_fail_where_they_should() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _mosquitto = start_mosquitto(dir.path());
    let _lighttpd = start_lighttpd(dir.path());
    let _dropbear = start_dropbear(dir.path());
    let ours = BTreeSet::from([1883, 8080, 2222]);
    let addresses: Vec<IpAddr> = [MQTT_ADDRESS, WEB_ADDRESS, SSH_ADDRESS]
        .iter()
        .map(|a| a.parse().expect("address"))
        .collect();

    // Listeners of other processes on 0.0.0.0 show on every loopback address: nmap says
    // which, and the profile ignores them. Tests elsewhere may open and close such
    // listeners at any time, so a mismatch is retried once before it counts.
    let mut attempt = 0;
    let (run, reference) = loop {
        attempt += 1;
        let reference: Vec<BTreeSet<u16>> = addresses
            .iter()
            .map(|&address| nmap_open_ports(address, "-"))
            .collect();
        let foreign: BTreeSet<u16> = reference
            .iter()
            .flatten()
            .copied()
            .filter(|p| !ours.contains(p))
            .collect();
        let run = run_all(&foreign).await;
        let matches = ["mqtt-unit", "web-unit", "ssh-unit"]
            .iter()
            .zip(&reference)
            .all(|(unit, expected)| &run.open_tcp_ports(unit) == expected);
        if matches || attempt == 2 {
            break (run, reference);
        }
    };
    run.dump();
    for ((unit, expected), own_port) in ["mqtt-unit", "web-unit", "ssh-unit"]
        .iter()
        .zip(&reference)
        .zip([1883, 8080, 2222])
    {
        assert!(
            expected.contains(&own_port),
            "nmap must see {own_port} open on {unit}: {expected:?}"
        );
        assert_eq!(
            &run.open_tcp_ports(unit),
            expected,
            "open TCP ports of {unit} versus nmap"
        );
    }

    // mosquitto's 1883 is not declared: found, identified as MQTT, failed.
    let undeclared = run.result(UNDECLARED_OPEN_PORT, "mqtt-unit");
    assert_eq!(undeclared.verdict, Verdict::Fail, "{}", undeclared.summary);
    assert!(
        undeclared.summary.contains("1883/tcp (mqtt)"),
        "{}",
        undeclared.summary
    );
    assert!(undeclared.remediation.is_some());
    // A declared interface found closed is reported, and leaves the unit's sweep
    // without its positive control: INCONCLUSIVE naming it, never PASS.
    let web = run.result(UNDECLARED_OPEN_PORT, "web-unit");
    assert_eq!(web.verdict, Verdict::Inconclusive, "{}", web.summary);
    assert!(
        web.summary.contains("declared 8443/tcp (https) was closed"),
        "{}",
        web.summary
    );
    // Every declared port open and answering: PASS, with the proof of it.
    let ssh = run.result(UNDECLARED_OPEN_PORT, "ssh-unit");
    assert_eq!(ssh.verdict, Verdict::Pass, "{}", ssh.summary);
    let proof = ssh.proof.as_ref().expect("a PASS carries its proof");
    assert!(
        proof
            .as_str()
            .contains("declared 2222/tcp (ssh): ssh told by its banner"),
        "{}",
        proof.as_str()
    );
    let web_table = run.port_table("web-unit");
    assert!(web_table["declared_not_found"].to_string().contains("8443"));
    if !reference[1].iter().all(|p| *p == 8080) {
        assert!(
            web_table["open_tcp"].to_string().contains("ignored"),
            "{web_table}"
        );
    }

    // lighttpd serves a login form without TLS and names its version.
    let cleartext = run.result(CLEARTEXT_MANAGEMENT, "web-unit");
    assert_eq!(cleartext.verdict, Verdict::Fail, "{}", cleartext.summary);
    assert!(
        cleartext.summary.contains("8080/tcp (http)"),
        "{}",
        cleartext.summary
    );
    assert!(
        cleartext.summary.contains("password"),
        "{}",
        cleartext.summary
    );
    let web_banner = run.result(BANNER_DISCLOSURE, "web-unit");
    assert_eq!(web_banner.verdict, Verdict::Fail, "{}", web_banner.summary);
    assert!(
        web_banner.summary.contains("lighttpd/1.4"),
        "{}",
        web_banner.summary
    );

    // dropbear names its version in the SSH identification string.
    let ssh_banner = run.result(BANNER_DISCLOSURE, "ssh-unit");
    assert_eq!(ssh_banner.verdict, Verdict::Fail, "{}", ssh_banner.summary);
    assert!(
        ssh_banner.summary.contains("SSH-2.0-dropbear_"),
        "{}",
        ssh_banner.summary
    );
    let quotes = ssh_banner
        .evidence
        .iter()
        .find(|e| e.label.contains("offending banners"))
        .expect("the offending banner is quoted");
    assert!(String::from_utf8_lossy(&quotes.data).contains("dropbear_2022"));

    // MQTT (CONNACK, not authorised) discloses nothing; SSH is not cleartext management.
    assert_eq!(run.verdict(BANNER_DISCLOSURE, "mqtt-unit"), Verdict::Pass);
    for unit in ["mqtt-unit", "ssh-unit"] {
        assert_eq!(
            run.verdict(CLEARTEXT_MANAGEMENT, unit),
            Verdict::Pass,
            "{unit}"
        );
    }
    for unit in ["mqtt-unit", "ssh-unit"] {
        let debug = run.result(DEBUG_INTERFACE, unit);
        assert_eq!(debug.verdict, Verdict::Pass, "{unit}: {}", debug.summary);
    }
    let web_debug = run.result(DEBUG_INTERFACE, "web-unit");
    assert_eq!(
        web_debug.verdict,
        Verdict::Inconclusive,
        "{}",
        web_debug.summary
    );
    let mqtt_services = &run.result(DEBUG_INTERFACE, "mqtt-unit").evidence[0];
    assert!(String::from_utf8_lossy(&mqtt_services.data).contains("CONNACK"));
}

#[test]
fn grepable_output_parses() {
    let output = "# Nmap 7.93 scan\nHost: 127.0.0.1 ()\tStatus: Up\nHost: 127.0.0.1 ()\tPorts: 22/open/tcp//ssh///, 80/closed/tcp//http///, 2024/open/tcp//xinuexpansion4///\tIgnored State: closed (65532)\n";
    assert_eq!(parse_grepable(output), BTreeSet::from([22, 2024]));
}
