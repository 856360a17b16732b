//! Hostile ports: one that accepts and never speaks, one that sends a 10 MB banner, one
//! that resets at once, one that speaks garbage. The scan must finish in time, keep its
//! memory and evidence bounded, identify none of them as something it is not, and pass
//! nothing on the strength of ports it could not observe whole.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{evidence_sizes, garbage, run_suite, serve_tcp};
use iotcert_suite::evidence::MAX_EVIDENCE_BYTES;
use iotcert_suite::Verdict;
use iotcert_suite_ports::{
    BANNER_DISCLOSURE, CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE, UNDECLARED_OPEN_PORT,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADDRESS: &str = "127.61.1.1";
const SILENT: u16 = 40001;
const FLOOD: u16 = 40002;
const RESET: u16 = 40003;
const GARBAGE: u16 = 40004;
const FLOOD_BYTES: usize = 10 * 1024 * 1024;

async fn start_hostile_ports() {
    serve_tcp(ADDRESS, SILENT, |stream| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(stream);
    })
    .await;
    serve_tcp(ADDRESS, FLOOD, |mut stream| async move {
        let chunk = vec![b'A'; 64 * 1024];
        let mut sent = 0;
        while sent < FLOOD_BYTES {
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
            sent += chunk.len();
        }
    })
    .await;
    serve_tcp(ADDRESS, RESET, |stream| async move {
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await;
    serve_tcp(ADDRESS, GARBAGE, |mut stream| async move {
        let mut seed = 7;
        if stream.write_all(&garbage(seed, 1024)).await.is_err() {
            return;
        }
        let mut buffer = [0u8; 4096];
        while let Ok(Ok(read)) =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await
        {
            if read == 0 {
                return;
            }
            seed += 1;
            if stream.write_all(&garbage(seed, 512)).await.is_err() {
                return;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ports_are_survived_and_not_misidentified() {
    start_hostile_ports().await;
    let profile = format!(
        r#"
[device]
manufacturer = "iotcert tests"
model = "hostile"
firmware_version = "1.0"

[[units]]
id = "hostile"
address = "{ADDRESS}"

[pacing]
max_connections = 64
connections_per_second = 10000

[ports]
tcp = ["40000-40010"]
connect_timeout_ms = 1000
retries = 1

[campaign]
suite_deadline_seconds = 60
"#
    );
    let run = run_suite(&profile, Duration::from_secs(90)).await;
    run.dump();
    assert!(
        run.elapsed < Duration::from_secs(45),
        "took {:?}",
        run.elapsed
    );

    let open = run.open_tcp_ports("hostile");
    assert_eq!(open, [SILENT, FLOOD, RESET, GARBAGE].into_iter().collect());
    let undeclared = run.result(UNDECLARED_OPEN_PORT, "hostile");
    assert_eq!(undeclared.verdict, Verdict::Fail);
    let table = run.port_table("hostile");
    for row in table["open_tcp"].as_array().expect("rows") {
        assert!(
            row.get("service").is_none(),
            "a hostile port was identified: {row}"
        );
    }
    // A port that stays silent, resets or speaks garbage was never observed whole:
    // nothing can be said safe about it, so no check passes, and each names them.
    for check in [CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE, BANNER_DISCLOSURE] {
        let result = run.result(check, "hostile");
        assert_eq!(
            result.verdict,
            Verdict::Inconclusive,
            "{check}: {}",
            result.summary
        );
        for port in [SILENT, RESET, GARBAGE] {
            assert!(
                result.summary.contains(&format!("{port}/tcp")),
                "{check} does not name {port}: {}",
                result.summary
            );
        }
    }

    // Bounded: no evidence item over the cap, and the 10 MB banner kept as ~4 KiB.
    let sizes = evidence_sizes(&run);
    assert!(
        sizes.iter().all(|(_, size)| *size <= MAX_EVIDENCE_BYTES),
        "{sizes:?}"
    );
    let flood = undeclared
        .evidence
        .iter()
        .find(|e| e.label.contains(&format!("{FLOOD}/tcp")))
        .expect("a transcript of the flooding port");
    assert!(
        flood.data.len() < 16 * 1024,
        "flood transcript is {} bytes",
        flood.data.len()
    );
    let total: usize = sizes.iter().map(|(_, size)| size).sum();
    assert!(
        total < 2 * 1024 * 1024,
        "all evidence together is {total} bytes"
    );
}
