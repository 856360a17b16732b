//! Hostile servers on a unit's declared port, each the fault that once fooled a check
//! into PASS: a banner in two parts 0.6 s apart (SSH, FTP, an HTTP head), a banner one
//! byte a second, a telnet port that resets every connection, one that accepts and
//! stays silent, garbage, and a declared port with nothing listening. No cell may be
//! PASS; a banner read whole still FAILs on the version its second part carries.
//!
//! Each fault gets a unit and a profile of its own (one declared port, nothing else
//! swept), so one fault's verdict cannot borrow another's proof.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{garbage, run_suite, serve_tcp, Run, CHECKS};
use iotcert_suite::Verdict;
use iotcert_suite_ports::{
    BANNER_DISCLOSURE, CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE, UNDECLARED_OPEN_PORT,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PORT: u16 = 40_611;

/// Write `parts` with `gap` between them, then hold the connection a while.
async fn send_in_parts(mut stream: TcpStream, parts: Vec<Vec<u8>>, gap: Duration) {
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(gap).await;
        }
        if stream.write_all(part).await.is_err() {
            return;
        }
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
}

/// Answer the first request (whatever it is) with `parts`, `gap` apart.
async fn answer_in_parts(mut stream: TcpStream, parts: Vec<Vec<u8>>, gap: Duration) {
    let mut buffer = [0u8; 2048];
    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
        Ok(Ok(read)) if read > 0 => send_in_parts(stream, parts, gap).await,
        _ => {}
    }
}

/// Run the suite on one unit at `address` that declares `port` as `service`.
async fn run_one(address: &str, service: &str, port: u16) -> Run {
    let profile = format!(
        r#"
[device]
manufacturer = "iotcert tests"
model = "faults"
firmware_version = "1.0"

[[units]]
id = "unit"
address = "{address}"

[[interfaces]]
port = {port}
transport = "tcp"
service = "{service}"

[pacing]
max_connections = 32
connections_per_second = 1000

[ports]
tcp = ["{port}"]
udp = false
connect_timeout_ms = 1000
retries = 1

[campaign]
suite_deadline_seconds = 60
"#
    );
    let run = run_suite(&profile, Duration::from_secs(90)).await;
    run.dump();
    for result in &run.results {
        if result.verdict == Verdict::Pass {
            let proof = result.proof.as_ref().map(|p| p.as_str()).unwrap_or("");
            assert!(
                !proof.trim().is_empty(),
                "{} passed without proof",
                result.check
            );
        }
    }
    run
}

fn parts(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_banner_in_two_parts_is_read_whole_and_fails_on_its_version() {
    let address = "127.61.6.1";
    serve_tcp(address, PORT, |stream| {
        send_in_parts(
            stream,
            parts(&["SSH-2.0-", "dropbear_2022.83\r\n"]),
            Duration::from_millis(600),
        )
    })
    .await;
    let run = run_one(address, "ssh", PORT).await;
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(disclosure.verdict, Verdict::Fail, "{}", disclosure.summary);
    assert!(
        disclosure.summary.contains("dropbear_2022.83"),
        "{}",
        disclosure.summary
    );
    // The SSH service answered whole: the other checks have their control.
    for check in [UNDECLARED_OPEN_PORT, CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE] {
        assert_eq!(run.verdict(check, "unit"), Verdict::Pass, "{check}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ftp_greeting_in_two_parts_is_read_to_its_final_line() {
    let address = "127.61.6.2";
    serve_tcp(address, PORT, |stream| {
        send_in_parts(
            stream,
            parts(&[
                "220-Welcome to the lamp controller\r\n",
                "220 ProFTPD 1.3.8 Server ready.\r\n",
            ]),
            Duration::from_millis(600),
        )
    })
    .await;
    let run = run_one(address, "ftp", PORT).await;
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(disclosure.verdict, Verdict::Fail, "{}", disclosure.summary);
    assert!(
        disclosure.summary.contains("ProFTPD 1.3.8"),
        "{}",
        disclosure.summary
    );
    assert_eq!(run.verdict(CLEARTEXT_MANAGEMENT, "unit"), Verdict::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_head_in_two_parts_is_read_to_its_end() {
    let address = "127.61.6.3";
    serve_tcp(address, PORT, |stream| {
        answer_in_parts(
            stream,
            parts(&[
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
                "Server: lighttpd/1.4.69\r\nContent-Length: 3\r\n\r\nok\n",
            ]),
            Duration::from_millis(600),
        )
    })
    .await;
    let run = run_one(address, "http", PORT).await;
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(disclosure.verdict, Verdict::Fail, "{}", disclosure.summary);
    assert!(
        disclosure.summary.contains("lighttpd/1.4.69"),
        "{}",
        disclosure.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banner_one_byte_a_second_is_not_read_whole_and_not_passed() {
    let address = "127.61.6.4";
    serve_tcp(address, PORT, |stream| {
        let bytes: Vec<Vec<u8>> = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
            .iter()
            .map(|&b| vec![b])
            .collect();
        send_in_parts(stream, bytes, Duration::from_secs(1))
    })
    .await;
    let run = run_one(address, "ssh", PORT).await;
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(
        disclosure.verdict,
        Verdict::Inconclusive,
        "{}",
        disclosure.summary
    );
    assert!(
        disclosure.summary.contains("not whole"),
        "{}",
        disclosure.summary
    );
    // Slow, but the service showed what it is: the SSH framing is no cleartext console.
    assert_eq!(run.verdict(CLEARTEXT_MANAGEMENT, "unit"), Verdict::Pass);
    assert!(
        run.elapsed < Duration::from_secs(30),
        "the slow banner held the suite {:?}",
        run.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_telnet_port_that_resets_every_connection_passes_nothing() {
    let address = "127.61.6.5";
    serve_tcp(address, PORT, |stream| async move {
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await;
    let run = run_one(address, "telnet", PORT).await;
    for check in CHECKS {
        let result = run.result(check, "unit");
        assert_eq!(
            result.verdict,
            Verdict::Inconclusive,
            "{check}: {}",
            result.summary
        );
        assert!(
            result.summary.contains(&format!("{PORT}/tcp")),
            "{check} does not name the port: {}",
            result.summary
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_garbage_and_absent_declared_ports_pass_nothing() {
    let silent = "127.61.6.6";
    serve_tcp(silent, PORT, |stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let noise = "127.61.6.7";
    serve_tcp(noise, PORT, |mut stream| async move {
        let mut seed = 11;
        if stream.write_all(&garbage(seed, 700)).await.is_err() {
            return;
        }
        let mut buffer = [0u8; 2048];
        while let Ok(Ok(read)) =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await
        {
            if read == 0 {
                return;
            }
            seed += 1;
            if stream.write_all(&garbage(seed, 300)).await.is_err() {
                return;
            }
        }
    })
    .await;
    let absent = "127.61.6.8";
    let (silent_run, noise_run, absent_run) = tokio::join!(
        run_one(silent, "telnet", PORT),
        run_one(noise, "http", PORT),
        run_one(absent, "telnet", PORT),
    );
    for (name, run) in [
        ("silent", &silent_run),
        ("garbage", &noise_run),
        ("nothing listening", &absent_run),
    ] {
        for check in CHECKS {
            let result = run.result(check, "unit");
            assert_eq!(
                result.verdict,
                Verdict::Inconclusive,
                "{name}: {check}: {}",
                result.summary
            );
        }
    }
    assert!(
        absent_run
            .result(UNDECLARED_OPEN_PORT, "unit")
            .summary
            .contains(&format!("declared {PORT}/tcp (telnet) was closed")),
        "{}",
        absent_run.result(UNDECLARED_OPEN_PORT, "unit").summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_behind_a_plain_greeting_fails_the_debug_check() {
    let address = "127.61.6.9";
    serve_tcp(address, PORT, |mut stream| async move {
        if stream
            .write_all(b"Lamp controller maintenance console\r\n")
            .await
            .is_err()
        {
            return;
        }
        // No prompt, but it evaluates what it is sent, as `sh` would.
        let mut buffer = [0u8; 1024];
        while let Ok(Ok(read)) =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await
        {
            if read == 0 {
                return;
            }
            let line = String::from_utf8_lossy(&buffer[..read]).replace("$((6*7))", "42");
            let output = line.trim_start_matches("echo ").to_owned();
            if stream.write_all(output.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let run = run_one(address, "maintenance", PORT).await;
    let debug = run.result(DEBUG_INTERFACE, "unit");
    assert_eq!(debug.verdict, Verdict::Fail, "{}", debug.summary);
    assert!(
        debug.summary.contains("shell evaluated"),
        "{}",
        debug.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_udp_service_with_nothing_listening_passes_nothing() {
    let address = "127.61.6.10";
    serve_tcp(address, PORT, |stream| {
        send_in_parts(
            stream,
            parts(&["SSH-2.0-lamp\r\n"]),
            Duration::from_millis(0),
        )
    })
    .await;
    let profile = format!(
        r#"
[device]
manufacturer = "iotcert tests"
model = "faults"
firmware_version = "1.0"

[[units]]
id = "unit"
address = "{address}"

[[interfaces]]
port = {PORT}
transport = "tcp"
service = "ssh"

[[interfaces]]
port = {PORT}
transport = "udp"
service = "coap"

[pacing]
max_connections = 32
connections_per_second = 1000

[ports]
tcp = ["{PORT}"]
connect_timeout_ms = 500
retries = 0

[campaign]
suite_deadline_seconds = 60
"#
    );
    let run = run_suite(&profile, Duration::from_secs(90)).await;
    run.dump();
    for check in CHECKS {
        let result = run.result(check, "unit");
        assert_eq!(
            result.verdict,
            Verdict::Inconclusive,
            "{check}: {}",
            result.summary
        );
        assert!(
            result
                .summary
                .contains(&format!("declared {PORT}/udp (coap) did not answer")),
            "{check}: {}",
            result.summary
        );
    }
}
