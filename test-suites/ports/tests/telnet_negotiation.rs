//! A telnet console whose option request arrives in two reads (`IAC DO` now, the option
//! a moment later, as a slow device or a busy network delivers it) is still answered:
//! the suite decodes the stream with one decoder across reads, so the request is
//! completed by the second read and refused (`IAC WONT 24`), as every other request.
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
use iotcert_suite_ports::CLEARTEXT_MANAGEMENT;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADDRESS: &str = "127.61.8.1";
const PORT: u16 = 40_611;
const IAC: u8 = 255;
const DO: u8 = 253;
const WONT: u8 = 252;
/// TERMINAL-TYPE, which the suite refuses like every option.
const TERMINAL_TYPE: u8 = 24;

const PROFILE: &str = r#"
[device]
manufacturer = "iotcert tests"
model = "telnet negotiation"
firmware_version = "1.0"

[[units]]
id = "unit"
address = "127.61.8.1"

[[interfaces]]
port = 40611
transport = "tcp"
service = "telnet"

[pacing]
max_connections = 32
connections_per_second = 1000

[ports]
tcp = ["40611"]
udp = false
connect_timeout_ms = 1000
retries = 1

[campaign]
suite_deadline_seconds = 60
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_request_split_across_two_reads_is_refused() {
    // Everything any connection sent to the console, as it arrives.
    let received = Arc::new(Mutex::new(Vec::<u8>::new()));
    let record = Arc::clone(&received);
    serve_tcp(ADDRESS, PORT, move |mut stream| {
        let record = Arc::clone(&record);
        async move {
            if stream.write_all(&[IAC, DO]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
            let mut rest = vec![TERMINAL_TYPE];
            rest.extend_from_slice(b"\r\ncam login: ");
            if stream.write_all(&rest).await.is_err() {
                return;
            }
            let mut buffer = [0u8; 1024];
            while let Ok(Ok(count)) =
                tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await
            {
                if count == 0 {
                    break;
                }
                record.lock().unwrap().extend_from_slice(&buffer[..count]);
            }
        }
    })
    .await;

    let run = run_suite(PROFILE, Duration::from_secs(90)).await;
    run.dump();
    let cleartext = run.result(CLEARTEXT_MANAGEMENT, "unit");
    assert_eq!(cleartext.verdict, Verdict::Fail, "{}", cleartext.summary);
    assert!(
        cleartext.summary.contains("telnet"),
        "{}",
        cleartext.summary
    );

    let refusal = [IAC, WONT, TERMINAL_TYPE];
    let mut waited = Duration::ZERO;
    loop {
        let sent = received.lock().unwrap().clone();
        if sent.windows(3).any(|w| w == refusal) {
            break;
        }
        assert!(
            waited < Duration::from_secs(3),
            "the request split as IAC DO | 24 was never refused; the suite sent {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}
