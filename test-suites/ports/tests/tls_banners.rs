//! Banners inside TLS: real nginx on a declared HTTPS port, its `Server` header
//! readable only after a handshake. With `server_tokens on` the disclosure check must
//! FAIL naming nginx/1.x (nmap -sV reports it); with `server_tokens off` the same port
//! passes, and the proof says the HTTP head inside TLS was read to its end. A weak
//! (RSA-1024) server key, which webpki refuses to verify, must not hide the header.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{require_tool, run_suite, Daemon};
use iotcert_suite::Verdict;
use iotcert_suite_ports::{BANNER_DISCLOSURE, CLEARTEXT_MANAGEMENT, UNDECLARED_OPEN_PORT};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PORT: u16 = 8443;

/// A self-signed certificate and key in `dir`: P-256, or RSA-1024 when `weak`.
fn certificate(dir: &Path, weak: bool) {
    let openssl = require_tool("openssl", "openssl");
    let key: &[&str] = if weak {
        &["-newkey", "rsa:1024"]
    } else {
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    };
    let made = Command::new(openssl)
        .args(["req", "-x509"])
        .args(key)
        .args(["-nodes", "-days", "2", "-subj", "/CN=lamp.local", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// nginx serving HTTPS on `address:PORT` in the foreground, one process; `legacy`
/// lets OpenSSL 3 serve a 1024-bit key (security level 0), as a device of 2014 would.
fn start_nginx(dir: &Path, address: &str, tokens: bool, legacy: bool) -> Daemon {
    let nginx = require_tool("nginx", "nginx");
    let root = dir.join("www");
    std::fs::create_dir_all(&root).expect("docroot");
    std::fs::write(root.join("index.html"), "lamp controller\n").expect("index");
    let config = dir.join("nginx.conf");
    let d = dir.display();
    std::fs::write(
        &config,
        format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n access_log off;\n server_tokens {};\n\
             client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;\n\
             uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             server {{\n  listen {address}:{PORT} ssl;\n  ssl_certificate {d}/cert.pem;\n  ssl_certificate_key {d}/key.pem;\n  root {};\n }}\n}}\n",
            if tokens { "on" } else { "off" },
            root.display()
        ),
    )
    .expect("config");
    let mut command = Command::new(nginx);
    command.arg("-c").arg(&config).arg("-p").arg(dir);
    if legacy {
        let openssl = dir.join("openssl-legacy.cnf");
        std::fs::write(
            &openssl,
            "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n\
             [ssl_sect]\nsystem_default = system_default_sect\n\
             [system_default_sect]\nMinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0\n",
        )
        .expect("openssl config");
        command.env("OPENSSL_CONF", openssl);
    }
    let mut daemon = Daemon::start("nginx", &mut command, &dir.join("nginx.log"));
    daemon.wait_listening(SocketAddr::new(address.parse().expect("address"), PORT));
    daemon
}

fn profile(address: &str) -> String {
    format!(
        r#"
[device]
manufacturer = "iotcert tests"
model = "tls banners"
firmware_version = "1.0"

[[units]]
id = "unit"
address = "{address}"

[[interfaces]]
port = {PORT}
transport = "tcp"
service = "https"
tls = true

[ports]
tcp = ["{PORT}"]
udp = false
connect_timeout_ms = 1000

[campaign]
suite_deadline_seconds = 60
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_names_its_version_inside_tls_and_fails_disclosure() {
    let (talkative, quiet) = ("127.61.7.1", "127.61.7.2");
    let talkative_dir = tempfile::tempdir().expect("temp dir");
    let quiet_dir = tempfile::tempdir().expect("temp dir");
    certificate(talkative_dir.path(), false);
    certificate(quiet_dir.path(), false);
    let _talkative = start_nginx(talkative_dir.path(), talkative, true, false);
    let _quiet = start_nginx(quiet_dir.path(), quiet, false, false);

    let run = run_suite(&profile(talkative), Duration::from_secs(90)).await;
    run.dump();
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(disclosure.verdict, Verdict::Fail, "{}", disclosure.summary);
    assert!(
        disclosure.summary.contains("nginx/1."),
        "{}",
        disclosure.summary
    );
    assert!(
        disclosure.summary.contains(&format!("{PORT}/tcp (tls)")),
        "{}",
        disclosure.summary
    );
    // HTTPS is encrypted management, and the port is declared and answered.
    for check in [CLEARTEXT_MANAGEMENT, UNDECLARED_OPEN_PORT] {
        assert_eq!(run.verdict(check, "unit"), Verdict::Pass, "{check}");
    }

    let run = run_suite(&profile(quiet), Duration::from_secs(90)).await;
    run.dump();
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(disclosure.verdict, Verdict::Pass, "{}", disclosure.summary);
    let proof = disclosure.proof.as_ref().expect("a PASS carries its proof");
    assert!(
        proof.as_str().contains("HTTP answer inside TLS read to"),
        "{}",
        proof.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1024_bit_key_does_not_hide_the_server_header() {
    let address = "127.61.7.3";
    let dir = tempfile::tempdir().expect("temp dir");
    certificate(dir.path(), true);
    let _nginx = start_nginx(dir.path(), address, true, true);
    let run = run_suite(&profile(address), Duration::from_secs(90)).await;
    run.dump();
    let disclosure = run.result(BANNER_DISCLOSURE, "unit");
    assert_eq!(disclosure.verdict, Verdict::Fail, "{}", disclosure.summary);
    assert!(
        disclosure.summary.contains("nginx/1."),
        "{}",
        disclosure.summary
    );
}
