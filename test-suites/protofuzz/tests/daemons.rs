//! The suite against real services started by the test (mosquitto, libcoap's
//! `coap-server-notls`, lighttpd) on 127.65.1.1: a default-budget run completes with a
//! PASS for every protocol, so nothing a robust stock daemon does (closing on a
//! malformed packet, answering 400, sending a Reset, staying silent) counts as a finding.
//! A missing program fails the test with the Debian package that provides it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::profile::{Interface, Transport};
use iotcert_suite::{run_alone, Profile, Verdict};
use iotcert_suite_protofuzz::{mqtt, ProtofuzzSuite};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADDRESS: &str = "127.65.1.1";

/// Kills the daemon when the test ends, however it ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: apt-get install -y {package}");
}

fn interface(port: u16, transport: Transport, service: &str) -> Interface {
    Interface {
        port,
        transport,
        service: service.to_owned(),
        authentication: Default::default(),
        tls: false,
        description: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_daemons_survive_a_default_budget_run() {
    require("mosquitto", "mosquitto");
    require("coap-server-notls", "libcoap3-bin");
    require("lighttpd", "lighttpd");
    let dir = tempfile::tempdir().unwrap();
    let mosquitto_config = dir.path().join("mosquitto.conf");
    std::fs::write(
        &mosquitto_config,
        format!("listener 18831 {ADDRESS}\nallow_anonymous true\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("index.html"), "device home\n").unwrap();
    let lighttpd_config = dir.path().join("lighttpd.conf");
    std::fs::write(
        &lighttpd_config,
        format!(
            "server.document-root = \"{}\"\nserver.bind = \"{ADDRESS}\"\nserver.port = 18081\nindex-file.names = (\"index.html\")\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let quiet = |command: &mut Command| {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    };
    let mut mosquitto = Command::new("mosquitto");
    mosquitto.arg("-c").arg(&mosquitto_config);
    quiet(&mut mosquitto);
    let mut coap = Command::new("coap-server-notls");
    coap.args(["-A", ADDRESS, "-p", "15683"]);
    quiet(&mut coap);
    let mut lighttpd = Command::new("lighttpd");
    lighttpd.arg("-D").arg("-f").arg(&lighttpd_config);
    quiet(&mut lighttpd);
    let _daemons = [
        Daemon(mosquitto.spawn().unwrap()),
        Daemon(coap.spawn().unwrap()),
        Daemon(lighttpd.spawn().unwrap()),
    ];
    tokio::time::sleep(Duration::from_secs(1)).await;
    sessions_are_accepted_by_mosquitto().await;

    let text = format!("[device]\nmanufacturer = \"A\"\nmodel = \"B\"\nfirmware_version = \"1\"\n[[units]]\nid = \"u\"\naddress = \"{ADDRESS}\"\n");
    let mut profile = Profile::from_toml_str(&text).unwrap();
    profile.interfaces = vec![
        interface(18831, Transport::Tcp, "mqtt"),
        interface(15683, Transport::Udp, "coap"),
        interface(18081, Transport::Tcp, "http"),
    ];
    let results = run_alone(&ProtofuzzSuite::new(), profile, Duration::from_secs(900))
        .await
        .unwrap();
    assert_eq!(results.len(), 3, "{results:?}");
    for result in &results {
        eprintln!("{}: {} {}", result.check, result.verdict, result.summary);
        assert_eq!(result.verdict, Verdict::Pass, "{}", result.summary);
    }
}

/// The MQTT 5 CONNECT and the subscribed-state SUBSCRIBE the suite sends before its
/// cases are accepted by a real broker, so those cases reach the states they aim at.
async fn sessions_are_accepted_by_mosquitto() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn exchange(stream: &mut tokio::net::TcpStream, packet: &[u8]) -> Vec<u8> {
        stream.write_all(packet).await.unwrap();
        let mut answer = vec![0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer))
            .await
            .unwrap()
            .unwrap();
        answer.truncate(read);
        answer
    }
    let mut v5 = tokio::net::TcpStream::connect((ADDRESS, 18831))
        .await
        .unwrap();
    let connack = exchange(&mut v5, &mqtt::connect_v5("v5", None, None).encode()).await;
    assert!(mqtt::is_connack(&connack), "{connack:02x?}");
    // MQTT 5 CONNACK: acknowledge flags, then reason code 0 (success).
    assert_eq!(connack.get(3), Some(&0), "{connack:02x?}");

    let mut v3 = tokio::net::TcpStream::connect((ADDRESS, 18831))
        .await
        .unwrap();
    let connack = exchange(&mut v3, &mqtt::connect("v3", None, None).encode()).await;
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);
    let suback = exchange(&mut v3, &mqtt::subscribe_state().encode()).await;
    // SUBACK for packet id 1, granted QoS 1.
    assert_eq!(suback, [0x90, 0x03, 0x00, 0x01, 0x01]);
}
