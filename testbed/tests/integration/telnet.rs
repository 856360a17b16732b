//! The telnet shell: raw negotiation and login, the `telnet` client driven through its
//! standard input, and lockout.

use crate::support::{address, authority, bounded, insecure, secure, tool};
use iotcert_testbed::telnet::{
    DO, IAC, OPTION_ECHO, OPTION_SUPPRESS_GO_AHEAD, OPTION_WINDOW_SIZE, SB, SE, WILL, WONT,
};
use iotcert_testbed::{port, start, DeviceConfig, Flaws, FAILED_LOGINS_BEFORE_LOCKOUT};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

/// Reads until `needle` has arrived; returns everything read.
async fn read_until(stream: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut received = Vec::new();
    while !received.windows(needle.len()).any(|w| w == needle) {
        let mut chunk = [0u8; 1024];
        let count = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no {:?} within 10 s; got {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&received)
                )
            })
            .expect("read");
        assert!(
            count > 0,
            "closed before {:?}; got {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&chunk[..count]);
    }
    received
}

#[tokio::test]
async fn raw_session_negotiates_logs_in_and_runs_commands() {
    bounded(async {
        let device = insecure(address(4, 1)).await;
        let mut stream = TcpStream::connect(authority(device.address(), port::TELNET))
            .await
            .unwrap();
        let opening = read_until(&mut stream, b"login: ").await;
        assert!(
            opening.starts_with(&[
                IAC,
                WILL,
                OPTION_ECHO,
                IAC,
                WILL,
                OPTION_SUPPRESS_GO_AHEAD,
                IAC,
                DO,
                OPTION_WINDOW_SIZE
            ]),
            "{opening:?}"
        );
        let banner = String::from_utf8_lossy(&opening);
        for leak in [
            "BusyBox v1.31.1 (2019-03-12 10:02:11 UTC) built-in shell (ash)",
            "Linux acmecam 4.14.98 armv7l",
            "AcmeCam firmware 1.0.3",
        ] {
            assert!(banner.contains(leak), "banner lacks {leak:?}: {banner}");
        }

        // Accept the echo, send a window size, and ask for an option the server refuses.
        let mut answer = vec![IAC, DO, OPTION_ECHO, IAC, WILL, OPTION_WINDOW_SIZE];
        answer.extend_from_slice(&[IAC, SB, OPTION_WINDOW_SIZE, 0, 80, 0, 24, IAC, SE]);
        answer.extend_from_slice(&[IAC, DO, 24]);
        answer.extend_from_slice(b"admin\r\n");
        stream.write_all(&answer).await.unwrap();
        let reply = read_until(&mut stream, b"Password: ").await;
        assert!(reply.windows(3).any(|w| w == [IAC, WONT, 24]), "{reply:?}");
        assert!(
            String::from_utf8_lossy(&reply).contains("admin"),
            "the username is echoed"
        );
        // CR NUL ends a line as telnet clients send it.
        stream.write_all(b"admin\r\0").await.unwrap();
        read_until(&mut stream, b"# ").await;
        stream.write_all(b"uname -a\r\n").await.unwrap();
        let output = read_until(&mut stream, b"# ").await;
        assert!(
            String::from_utf8_lossy(&output).contains("Linux acmecam 4.14.98 #1 SMP PREEMPT"),
            "{output:?}"
        );
        stream.write_all(b"help\r\n").await.unwrap();
        let output = read_until(&mut stream, b"# ").await;
        assert!(String::from_utf8_lossy(&output).contains("Built-in commands"));
        stream.write_all(b"exit\r\n").await.unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .expect("exit closes the session")
            .ok();
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn telnet_client_logs_in_with_default_credentials() {
    bounded(async {
        let telnet = tool(&["telnet"], "telnet");
        let device = insecure(address(4, 2)).await;
        let mut client = Command::new(telnet)
            .args([device.address().to_string(), port::TELNET.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start telnet");
        let mut input = client.stdin.take().expect("telnet stdin");
        // The client reads its standard input as a terminal would be read: one line at a
        // time, each answered before the next is typed.
        for line in ["admin\n", "admin\n", "uname -a\n", "exit\n"] {
            tokio::time::sleep(Duration::from_millis(500)).await;
            input.write_all(line.as_bytes()).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(20), client.wait_with_output())
            .await
            .expect("telnet ends after exit")
            .expect("telnet output");
        // telnet reports the closed connection on standard error.
        let stdout = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("acmecam login: "), "{stdout}");
        assert!(stdout.contains("Password: "), "{stdout}");
        assert!(stdout.contains("# "), "no shell prompt: {stdout}");
        assert!(stdout.contains("Linux acmecam 4.14.98"), "{stdout}");
        assert!(
            stdout.contains("Connection closed by foreign host"),
            "{stdout}"
        );
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_device_has_no_telnet() {
    bounded(async {
        let device = secure(address(4, 3)).await;
        assert!(TcpStream::connect((device.address(), port::TELNET))
            .await
            .is_err());
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn telnet_without_other_flaws_hides_versions_and_locks_out() {
    bounded(async {
        let flaws = Flaws {
            telnet: true,
            ..Flaws::none()
        };
        let config = DeviceConfig {
            flaws,
            ..DeviceConfig::secure("unit-1", address(4, 4))
        };
        let device = start(config).await.unwrap();
        let mut failures = 0;
        let mut last = String::new();
        // Three tries per connection; the lockout spans connections.
        while failures < FAILED_LOGINS_BEFORE_LOCKOUT {
            let mut stream = TcpStream::connect((device.address(), port::TELNET))
                .await
                .unwrap();
            let banner =
                String::from_utf8_lossy(&read_until(&mut stream, b"login: ").await).into_owned();
            assert!(
                !banner.contains("BusyBox") && !banner.contains("4.14"),
                "{banner}"
            );
            for _ in 0..3 {
                if failures == FAILED_LOGINS_BEFORE_LOCKOUT {
                    break;
                }
                stream.write_all(b"admin\r\n").await.unwrap();
                read_until(&mut stream, b"Password: ").await;
                stream.write_all(b"guess\r\n").await.unwrap();
                last = String::from_utf8_lossy(&read_until(&mut stream, b"incorrect").await)
                    .into_owned();
                failures += 1;
            }
        }
        assert!(last.contains("Login incorrect"));
        let (user, password) = device.admin_credentials();
        let mut stream = TcpStream::connect((device.address(), port::TELNET))
            .await
            .unwrap();
        read_until(&mut stream, b"login: ").await;
        stream
            .write_all(format!("{user}\r\n").as_bytes())
            .await
            .unwrap();
        read_until(&mut stream, b"Password: ").await;
        stream
            .write_all(format!("{password}\r\n").as_bytes())
            .await
            .unwrap();
        read_until(&mut stream, b"Too many failed logins").await;
        device.shutdown().await;
    })
    .await;
}
