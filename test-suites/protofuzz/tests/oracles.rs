//! The oracles beyond "does the port still answer", against HTTP servers of the test's
//! own that fail in the ways those oracles exist for:
//!
//! - a server whose health endpoint reports a fault for a moment after a request with
//!   an over-long line, while every port keeps answering: found through the declared
//!   health endpoint, with a reproducer, and not found without it;
//! - a server whose status page answers 400 ms slower, for good, after such a request:
//!   failed by the response-timing oracle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod http_head;

use iotcert_suite::{run_alone, CheckResult, EvidenceKind, Profile, Verdict};
use iotcert_suite_protofuzz::{ProtofuzzSuite, Reproducer, HTTP};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A line this long in a request is the poison of both servers.
const POISON_LINE: usize = 900;

/// How a test server goes wrong after a poisoned request.
#[derive(Clone, Copy)]
enum Fault {
    /// `GET /health` answers 503 for this long.
    UnhealthyFor(Duration),
    /// `GET /` answers this much later, from then on.
    SlowerBy(Duration),
}

/// Serve HTTP on `address` until the test ends.
async fn serve(address: &str, fault: Fault) -> SocketAddr {
    let listener = TcpListener::bind((address, 0)).await.expect("bind");
    let local = listener.local_addr().expect("address");
    let poisoned_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let poisoned_at = Arc::clone(&poisoned_at);
            tokio::spawn(async move {
                let request = http_head::read_head(&mut stream, Duration::from_millis(500)).await;
                if request
                    .split(|&b| b == b'\n')
                    .any(|l| l.len() > POISON_LINE)
                {
                    *poisoned_at.lock().unwrap() = Some(Instant::now());
                }
                let poisoned = *poisoned_at.lock().unwrap();
                let (status, delay) = match fault {
                    Fault::UnhealthyFor(span) if request.starts_with(b"GET /health ") => {
                        let sick = poisoned.is_some_and(|at| at.elapsed() < span);
                        (
                            if sick {
                                "503 Service Unavailable"
                            } else {
                                "200 OK"
                            },
                            None,
                        )
                    }
                    Fault::SlowerBy(delay) if request.starts_with(b"GET / HTTP/1.1\r\n") => {
                        ("200 OK", poisoned.map(|_| delay))
                    }
                    _ if request.starts_with(b"GET ") => ("200 OK", None),
                    _ => ("400 Bad Request", None),
                };
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                let body = if status.starts_with("200") {
                    "ok 1.0\n"
                } else {
                    "no\n"
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    local
}

fn profile(server: SocketAddr, health: bool) -> Profile {
    let health = if health {
        format!(
            "[protofuzz.health]\nport = {}\npath = \"/health\"\nexpect = \"ok 1.0\"\n",
            server.port()
        )
    } else {
        String::new()
    };
    let text = format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\
         [[units]]\nid = \"unit-1\"\naddress = \"{}\"\n\
         [[interfaces]]\nport = {}\ntransport = \"tcp\"\nservice = \"http\"\n\
         [protofuzz]\ncases_per_protocol = 400\nseconds_per_protocol = 40\nprobe_every = 10\n\
         recovery_wait_seconds = 5\ntimeout_ms = 1000\n{health}",
        server.ip(),
        server.port()
    );
    Profile::from_toml_str(&text).expect("test profile parses")
}

async fn run(profile: Profile) -> CheckResult {
    let results = run_alone(&ProtofuzzSuite::new(), profile, Duration::from_secs(300))
        .await
        .expect("suite runs");
    let result = results
        .into_iter()
        .find(|r| r.check == HTTP)
        .expect("an HTTP fuzzing result");
    eprintln!("{}: {}", result.verdict, result.summary);
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_only_the_health_endpoint_shows_is_found_through_it() {
    let server = serve(
        "127.79.1.1",
        Fault::UnhealthyFor(Duration::from_millis(300)),
    )
    .await;
    let found = run(profile(server, true)).await;
    assert_eq!(found.verdict, Verdict::Fail, "{}", found.summary);
    assert!(
        found.summary.contains("health endpoint GET /health"),
        "{}",
        found.summary
    );
    let evidence = found
        .evidence
        .iter()
        .find(|e| e.kind == EvidenceKind::Reproducer)
        .expect("a reproducer");
    let reproducer: Reproducer = serde_json::from_slice(&evidence.data).expect("reproducer");
    let message = hex::decode(&reproducer.message_hex).expect("hex");
    assert!(
        message
            .split(|&b| b == b'\n')
            .any(|line| line.len() > POISON_LINE),
        "the shrunk case still carries the over-long line"
    );
    // Every port kept answering: without the health endpoint nothing is seen.
    let unseen = run(profile(server, false)).await;
    assert_eq!(unseen.verdict, Verdict::Pass, "{}", unseen.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_the_cases_slow_down_for_good_fails_on_timing() {
    let server = serve("127.79.1.2", Fault::SlowerBy(Duration::from_millis(400))).await;
    let slowed = run(profile(server, false)).await;
    assert_eq!(slowed.verdict, Verdict::Fail, "{}", slowed.summary);
    assert!(
        slowed.summary.contains("answers, but slowly"),
        "{}",
        slowed.summary
    );
    assert!(slowed
        .evidence
        .iter()
        .any(|e| e.label == "case ends and response times"));
}
