//! The suite on an IPv6 unit (`::1`), compared with nmap's IPv6 connect scan.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{nmap_open_ports, run_suite, serve_tcp};
use iotcert_suite::Verdict;
use iotcert_suite_ports::{BANNER_DISCLOSURE, DEBUG_INTERFACE};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_loopback_listener_is_found_and_identified() {
    let bound = serve_tcp("::1", 0, |mut stream| async move {
        let _ = stream
            .write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let port = bound.port();
    let (low, high) = (port.saturating_sub(20).max(1), port.saturating_add(20));
    let profile = format!(
        r#"
[device]
manufacturer = "iotcert tests"
model = "ipv6"
firmware_version = "1.0"

[[units]]
id = "v6"
address = "::1"

[[interfaces]]
port = {port}
transport = "tcp"
service = "ssh"

[ports]
tcp = ["{low}-{high}"]
connect_timeout_ms = 800
retries = 1

[campaign]
suite_deadline_seconds = 60
"#
    );
    let run = run_suite(&profile, Duration::from_secs(60)).await;
    run.dump();
    let ours = run.open_tcp_ports("v6");
    assert!(ours.contains(&port), "{ours:?}");
    let reference = nmap_open_ports("::1".parse().expect("address"), &format!("{low}-{high}"));
    assert_eq!(
        ours, reference,
        "open ports on [::1]:{low}-{high} versus nmap -6"
    );
    let table = run.port_table("v6").to_string();
    assert!(table.contains("\"service\":\"ssh\""), "{table}");
    let banner = run.result(BANNER_DISCLOSURE, "v6");
    assert_eq!(banner.verdict, Verdict::Fail);
    assert!(
        banner.summary.contains("OpenSSH 9.2p1"),
        "{}",
        banner.summary
    );
    assert_eq!(run.verdict(DEBUG_INTERFACE, "v6"), Verdict::Pass);
}
