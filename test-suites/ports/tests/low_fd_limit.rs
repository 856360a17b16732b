//! A process with few file descriptors, all of them taken when the sweep starts: the
//! suite must not panic, must back off and retry the connects that failed with EMFILE,
//! and must still find exactly the open port. Its own test binary, because it lowers
//! the open-file limit of the whole process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{run_suite, serve_tcp};
use iotcert_suite::Verdict;
use iotcert_suite_ports::UNDECLARED_OPEN_PORT;
use std::time::Duration;

const LIMIT: u64 = 256;

fn lower_open_file_limit() {
    let limits = libc::rlimit {
        rlim_cur: LIMIT,
        rlim_max: LIMIT,
    };
    // SAFETY: setrlimit only reads the struct.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limits) };
    assert_eq!(status, 0, "could not lower RLIMIT_NOFILE");
}

/// Open /dev/null until the process has no descriptor left.
fn take_every_descriptor() -> Vec<std::fs::File> {
    let mut taken = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        taken.push(file);
        assert!(taken.len() <= LIMIT as usize, "the limit did not apply");
    }
    taken
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_descriptors_slow_the_sweep_but_miss_nothing() {
    lower_open_file_limit();
    serve_tcp("127.61.5.1", 40501, |stream| async move { drop(stream) }).await;
    let profile = r#"
[device]
manufacturer = "iotcert tests"
model = "few descriptors"
firmware_version = "1.0"

[[units]]
id = "unit-1"
address = "127.61.5.1"

[pacing]
max_connections = 512
connections_per_second = 100000

[ports]
tcp = ["40000-41000"]
connect_timeout_ms = 1000
retries = 8
udp = false

[campaign]
suite_deadline_seconds = 60
"#;
    let hog = take_every_descriptor();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(hog);
    });
    let run = run_suite(profile, Duration::from_secs(60)).await;
    release.join().expect("release thread");
    run.dump();
    let table = run.port_table("unit-1");
    let sweep = &table["tcp_sweep"];
    assert_eq!(run.open_tcp_ports("unit-1"), [40501].into_iter().collect());
    assert_eq!(sweep["untried"], serde_json::json!({}), "{sweep}");
    assert!(
        sweep["retried_attempts"].as_u64().unwrap_or(0) > 0,
        "no connect failed locally: {sweep}"
    );
    assert_eq!(sweep["closed"].as_u64(), Some(1000), "{sweep}");
    assert_eq!(run.verdict(UNDECLARED_OPEN_PORT, "unit-1"), Verdict::Fail);
}
