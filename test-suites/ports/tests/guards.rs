//! What the suite must not do: send anything to a unit outside the campaign's scope, or
//! redo work a resumed campaign already decided.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{run_suite, run_suite_with, serve_tcp, CHECKS};
use iotcert_suite::{PlanKey, Profile, Verdict};
use iotcert_suite_ports::UNDECLARED_OPEN_PORT;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;

/// A TCP listener and a UDP socket (CoAP's port) that count what reaches them.
async fn counting_listener(
    address: &'static str,
    port: u16,
) -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    serve_tcp(address, port, move |stream| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { drop(stream) }
    })
    .await;
    let datagrams = Arc::new(AtomicUsize::new(0));
    let socket = UdpSocket::bind((address, 5683)).await.expect("bind udp");
    let counter = Arc::clone(&datagrams);
    tokio::spawn(async move {
        let mut buffer = [0u8; 2048];
        while socket.recv_from(&mut buffer).await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (connections, datagrams)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_to_a_unit_outside_scope() {
    let (outside_tcp, outside_udp) = counting_listener("127.61.2.1", 40301).await;
    let (inside_tcp, inside_udp) = counting_listener("127.61.9.1", 40301).await;
    let profile = r#"
[device]
manufacturer = "iotcert tests"
model = "scope"
firmware_version = "1.0"

[[units]]
id = "outside"
address = "127.61.2.1"

[[units]]
id = "inside"
address = "127.61.9.1"

[scope]
allow = ["127.61.9.0/24"]

[ports]
tcp = ["40300-40302"]
connect_timeout_ms = 500
retries = 0

[campaign]
suite_deadline_seconds = 60
"#;
    let run = run_suite(profile, Duration::from_secs(60)).await;
    run.dump();
    for check in CHECKS {
        let result = run.result(check, "outside");
        assert_eq!(result.verdict, Verdict::Inconclusive, "{check}");
        assert!(
            result.summary.contains("outside the campaign's scope"),
            "{}",
            result.summary
        );
    }
    assert_eq!(
        outside_tcp.load(Ordering::SeqCst),
        0,
        "a TCP connection reached the out-of-scope unit"
    );
    assert_eq!(
        outside_udp.load(Ordering::SeqCst),
        0,
        "a datagram reached the out-of-scope unit"
    );
    // The unit in scope was scanned normally.
    assert!(inside_tcp.load(Ordering::SeqCst) > 0);
    assert!(inside_udp.load(Ordering::SeqCst) > 0);
    assert_eq!(run.verdict(UNDECLARED_OPEN_PORT, "inside"), Verdict::Fail);
}

const RESUME_PROFILE: &str = r#"
[device]
manufacturer = "iotcert tests"
model = "resume"
firmware_version = "1.0"

[[units]]
id = "unit-1"
address = "127.61.4.1"

[ports]
tcp = ["40400-40402"]
connect_timeout_ms = 500
retries = 0
udp = false

[campaign]
suite_deadline_seconds = 60
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_campaign_redoes_nothing_already_decided() {
    let (connections, _) = counting_listener("127.61.4.1", 40401).await;
    let profile = Profile::from_toml_str(RESUME_PROFILE).expect("profile");

    // Everything decided already: no event, not one connection.
    let run = run_suite_with(profile.clone(), BTreeSet::new(), Duration::from_secs(30)).await;
    assert!(run.events.is_empty(), "{:?}", run.events);
    assert_eq!(connections.load(Ordering::SeqCst), 0);

    // Only the undeclared-port check is left: exactly that result comes back.
    let pending = BTreeSet::from([PlanKey::new(UNDECLARED_OPEN_PORT, Some("unit-1"))]);
    let run = run_suite_with(profile, pending, Duration::from_secs(30)).await;
    run.dump();
    assert_eq!(run.results.len(), 1);
    assert_eq!(run.verdict(UNDECLARED_OPEN_PORT, "unit-1"), Verdict::Fail);
    assert!(connections.load(Ordering::SeqCst) > 0);
}
