//! Small fake devices that each expose one thing the suite must recognise: an ADB
//! daemon, a gdb stub, a JDWP agent, shells (a real `sh` behind the socket, with and
//! without a telnet prompt), a telnet login, FTP, HTTP administration doors, a
//! version-less SSH banner, and UDP services (CoAP, SSDP, declared ports).
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
use iotcert_suite_ports::identify::binary::{gdb_checksum, ADB_AUTH};
use iotcert_suite_ports::{
    BANNER_DISCLOSURE, CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE, UNDECLARED_OPEN_PORT,
};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const ADDRESS: &str = "127.61.3.1";

/// Read until `done` says the request is complete, 8 KiB arrived, or 5 s passed.
async fn read_request(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !done(&request) && request.len() < 8192 {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(read)) if read > 0 => request.extend_from_slice(&buffer[..read]),
            _ => break,
        }
    }
    request
}

/// Put a real `sh` behind the socket; with `telnet`, IAC commands from the client are
/// dropped before they reach the shell.
async fn bridge_to_shell(stream: TcpStream, telnet: bool) {
    let Ok(mut shell) = tokio::process::Command::new("sh")
        .current_dir(std::env::temp_dir())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
    else {
        return;
    };
    let (Some(mut input), Some(mut output)) = (shell.stdin.take(), shell.stdout.take()) else {
        return;
    };
    let (mut from_client, mut to_client) = stream.into_split();
    let upstream = async move {
        let mut buffer = [0u8; 1024];
        let mut skip = 0;
        while let Ok(read) = from_client.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            let mut clean = Vec::new();
            for &byte in &buffer[..read] {
                if skip > 0 {
                    skip -= 1;
                } else if telnet && byte == 0xff {
                    skip = 2;
                } else {
                    clean.push(byte);
                }
            }
            if input.write_all(&clean).await.is_err() {
                break;
            }
        }
    };
    let downstream = async move {
        let mut buffer = [0u8; 1024];
        while let Ok(read) = output.read(&mut buffer).await {
            if read == 0 || to_client.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(upstream, downstream);
    })
    .await;
    let _ = shell.kill().await;
}

async fn start_fake_devices() {
    // 40101: ADB daemon that wants the host to authenticate.
    serve_tcp(ADDRESS, 40101, |mut stream| async move {
        let request = read_request(&mut stream, |r| r.len() >= 24).await;
        if request.starts_with(b"CNXN") {
            let mut reply = Vec::new();
            for word in [ADB_AUTH, 1, 0, 20, 0, !ADB_AUTH] {
                reply.extend_from_slice(&word.to_le_bytes());
            }
            reply.extend_from_slice(&[7u8; 20]);
            let _ = stream.write_all(&reply).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    // 40102: gdb stub.
    serve_tcp(ADDRESS, 40102, |mut stream| async move {
        let request = read_request(&mut stream, |r| r.len() >= 3 && r[r.len() - 3] == b'#').await;
        if request.starts_with(b"$qSupported") {
            let payload = b"PacketSize=4000;qXfer:features:read+";
            let reply = format!(
                "+${}#{:02x}",
                String::from_utf8_lossy(payload),
                gdb_checksum(payload)
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    // 40103: a shell with no prompt (like `nc -l -e /bin/sh`).
    serve_tcp(ADDRESS, 40103, |stream| bridge_to_shell(stream, false)).await;
    // 40104: telnet handing out a root shell, BusyBox banner included.
    serve_tcp(ADDRESS, 40104, |mut stream| async move {
        let banner = b"\xff\xfd\x18\xff\xfb\x01\xff\xfb\x03\r\n\r\nBusyBox v1.31.1 (2020-01-01 10:00:00 UTC) built-in shell (ash)\r\n\r\n/ # ";
        if stream.write_all(banner).await.is_ok() {
            bridge_to_shell(stream, true).await;
        }
    })
    .await;
    // 40105: telnet asking for a login.
    serve_tcp(ADDRESS, 40105, |mut stream| async move {
        let _ = stream
            .write_all(b"\xff\xfb\x01\xff\xfb\x03\r\ncam login: ")
            .await;
        let _ = read_request(&mut stream, |_| false).await;
    })
    .await;
    // 40106: FTP naming its version.
    serve_tcp(ADDRESS, 40106, |mut stream| async move {
        let _ = stream.write_all(b"220 (vsFTPd 3.0.3)\r\n").await;
        let _ = read_request(&mut stream, |_| false).await;
    })
    .await;
    // 40107: JDWP agent.
    serve_tcp(ADDRESS, 40107, |mut stream| async move {
        let request = read_request(&mut stream, |r| r.len() >= 14).await;
        if request.starts_with(b"JDWP-Handshake") {
            let _ = stream.write_all(b"JDWP-Handshake").await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    // 40108: HTTP basic authentication, version-less Server header (declared).
    serve_tcp(ADDRESS, 40108, |mut stream| async move {
        let _ = read_request(&mut stream, |r| r.windows(4).any(|w| w == b"\r\n\r\n")).await;
        let _ = stream
            .write_all(b"HTTP/1.1 401 Unauthorized\r\nServer: device\r\nWWW-Authenticate: Basic realm=\"camera\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
    })
    .await;
    // 40109: SSH without a version (declared).
    serve_tcp(ADDRESS, 40109, |mut stream| async move {
        let _ = stream.write_all(b"SSH-2.0-device\r\n").await;
        let _ = read_request(&mut stream, |_| false).await;
    })
    .await;
    // 40110: HTTP redirecting to a login page on the same server.
    serve_tcp(ADDRESS, 40110, |mut stream| async move {
        let request = read_request(&mut stream, |r| r.windows(4).any(|w| w == b"\r\n\r\n")).await;
        let reply: &[u8] = if request.starts_with(b"GET /login.html ") {
            b"HTTP/1.0 200 OK\r\nServer: device\r\nContent-Type: text/html\r\n\r\n<html><form><input type='password' name='pw'></form></html>"
        } else {
            b"HTTP/1.0 302 Found\r\nServer: device\r\nLocation: /login.html\r\n\r\n"
        };
        let _ = stream.write_all(reply).await;
    })
    .await;
    start_udp(5683, |request| {
        // CoAP: acknowledge with 2.05 Content, same message id and token.
        let token_length = usize::from(*request.first()? & 0x0f);
        let mut reply = vec![
            0x60 | token_length as u8,
            0x45,
            *request.get(2)?,
            *request.get(3)?,
        ];
        reply.extend_from_slice(request.get(4..4 + token_length)?);
        reply.extend_from_slice(b"\xff</status>;ct=0");
        Some(reply)
    })
    .await;
    start_udp(1900, |request| {
        request.starts_with(b"M-SEARCH").then(|| {
            b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nSERVER: Linux/4.14 UPnP/1.0 MiniUPnPd/2.1\r\nUSN: uuid:cam::upnp:rootdevice\r\n\r\n".to_vec()
        })
    })
    .await;
    start_udp(40200, |_| Some(b"pong".to_vec())).await;
}

async fn start_udp(port: u16, answer: fn(&[u8]) -> Option<Vec<u8>>) {
    let socket = UdpSocket::bind((ADDRESS, port))
        .await
        .unwrap_or_else(|e| panic!("bind udp {port}: {e}"));
    tokio::spawn(async move {
        let mut buffer = [0u8; 2048];
        while let Ok((read, peer)) = socket.recv_from(&mut buffer).await {
            if let Some(reply) = answer(&buffer[..read]) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    });
}

const PROFILE: &str = r#"
[device]
manufacturer = "iotcert tests"
model = "fake services"
firmware_version = "1.0"

[[units]]
id = "fake"
address = "127.61.3.1"

[[interfaces]]
port = 40108
transport = "tcp"
service = "http"
authentication = "password"

[[interfaces]]
port = 40109
transport = "tcp"
service = "ssh"

[[interfaces]]
port = 40200
transport = "udp"
service = "custom"

[[interfaces]]
port = 40201
transport = "udp"
service = "custom"

[pacing]
max_connections = 64
connections_per_second = 10000

[ports]
tcp = ["40100-40115"]
connect_timeout_ms = 800
retries = 1

[campaign]
suite_deadline_seconds = 60
"#;

fn assert_lists(summary: &str, present: &[&str], absent: &[&str]) {
    for label in present {
        assert!(summary.contains(label), "{label} missing from: {summary}");
    }
    for label in absent {
        assert!(
            !summary.contains(label),
            "{label} must not be in: {summary}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_devices_fail_the_right_checks_for_the_right_reasons() {
    start_fake_devices().await;
    let run = run_suite(PROFILE, Duration::from_secs(90)).await;
    run.dump();

    let undeclared = run.result(UNDECLARED_OPEN_PORT, "fake");
    assert_eq!(undeclared.verdict, Verdict::Fail);
    assert_lists(
        &undeclared.summary,
        &[
            "40101/tcp (adb)",
            "40102/tcp (gdbserver)",
            "40103/tcp (shell)",
            "40104/tcp (telnet)",
            "40105/tcp (telnet)",
            "40106/tcp (ftp)",
            "40107/tcp (jdwp)",
            "40110/tcp (http)",
            "5683/udp (coap)",
            "1900/udp (ssdp)",
            "40201/udp (custom) closed",
        ],
        &["40108/tcp", "40109/tcp", "40200/udp (", "161/udp", "53/udp"],
    );

    let debug = run.result(DEBUG_INTERFACE, "fake");
    assert_eq!(debug.verdict, Verdict::Fail);
    assert_lists(
        &debug.summary,
        &[
            "40101/tcp (adb)",
            "40102/tcp (gdbserver)",
            "40103/tcp (shell)",
            "40104/tcp (telnet)",
            "40107/tcp (jdwp)",
            "evaluated",
        ],
        &["40105/tcp", "40106/tcp", "40108/tcp", "40110/tcp"],
    );

    let cleartext = run.result(CLEARTEXT_MANAGEMENT, "fake");
    assert_eq!(cleartext.verdict, Verdict::Fail);
    assert_lists(
        &cleartext.summary,
        &[
            "40104/tcp (telnet)",
            "40105/tcp (telnet)",
            "40106/tcp (ftp)",
            "40108/tcp (http)",
            "40110/tcp (http)",
            "/login.html",
            "WWW-Authenticate",
        ],
        &["40109/tcp", "40101/tcp", "40103/tcp"],
    );

    let banner = run.result(BANNER_DISCLOSURE, "fake");
    assert_eq!(banner.verdict, Verdict::Fail);
    assert_lists(
        &banner.summary,
        &[
            "BusyBox 1.31.1",
            "vsFTPd 3.0.3",
            "MiniUPnPd 2.1",
            "Linux 4.14",
            "1900/udp (ssdp)",
        ],
        &["40109/tcp", "40108/tcp", "40110/tcp"],
    );
}
