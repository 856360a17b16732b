//! The adaptive window of cases in flight against brokers that cope and one that does
//! not (the testbed's fragile broker, whose answers slow down above 8 sessions open and
//! which dies above 24):
//!
//! - with the profile's defaults the fragile broker survives run after run of the
//!   default budget, and the window's evidence shows it grew above its start and shrank,
//!   naming why;
//! - 64 cases in flight in fixed pacing kill it, so it is really breakable;
//! - against a broker that copes (mosquitto, started by the test), the default window
//!   grows well above 16;
//! - a crash found with 64 cases in flight is still traced to its case, shrunk, and
//!   replays.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::pacer::PacingMode;
use iotcert_suite::profile::{Interface, Transport};
use iotcert_suite::{run_alone, CheckResult, EvidenceKind, Profile, Verdict};
use iotcert_suite_protofuzz::window::{WindowDistress, WindowRecord};
use iotcert_suite_protofuzz::{ProtofuzzOptions, ProtofuzzSuite, Reproducer, MQTT};
use iotcert_testbed::fragile_broker::{start_fragile_broker, FragileBrokerLimits};
use iotcert_testbed::{start, DeviceConfig, Flaws};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Slows down above 8 sessions (10 ms a packet for each one more), dies above 24.
const FRAGILE: FragileBrokerLimits = FragileBrokerLimits {
    knee: 8,
    delay_per_session: Duration::from_millis(10),
    max_sessions: 24,
};

fn profile(address: IpAddr, interfaces: Vec<Interface>) -> Profile {
    let text = format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Hub\"\nfirmware_version = \"1\"\n[[units]]\nid = \"unit-1\"\naddress = \"{address}\"\n"
    );
    let mut profile = Profile::from_toml_str(&text).expect("test profile parses");
    profile.interfaces = interfaces;
    profile
}

/// The protofuzz MQTT result of a run of `profile`.
async fn fuzz_mqtt(profile: Profile) -> CheckResult {
    let results = run_alone(&ProtofuzzSuite::new(), profile, Duration::from_secs(300))
        .await
        .expect("suite runs");
    let result = results
        .into_iter()
        .find(|r| r.check == MQTT)
        .expect("an MQTT result");
    eprintln!("{}: {}", result.verdict, result.summary);
    result
}

/// The window's record in a result's evidence.
fn window_record(result: &CheckResult) -> WindowRecord {
    let evidence = result
        .evidence
        .iter()
        .find(|e| e.kind == EvidenceKind::Data && e.label.starts_with("cases in flight "))
        .unwrap_or_else(|| panic!("no window evidence in {:?}", result.evidence));
    let record: WindowRecord = serde_json::from_slice(&evidence.data).unwrap();
    eprintln!("{record:?}");
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_window_spares_a_fragile_broker_grows_and_shrinks() {
    let address: IpAddr = "127.67.1.1".parse().unwrap();
    let broker = start_fragile_broker(address, 0, FRAGILE).await.unwrap();
    // The profile's defaults: no [pacing], no [protofuzz] section.
    let profile = profile(address, broker.declared_interfaces());
    let started = Instant::now();
    for run in 1..=3 {
        let result = fuzz_mqtt(profile.clone()).await;
        let health = broker.health();
        eprintln!("run {run}: {health:?}");
        assert!(!health.dead, "run {run} killed the broker: {health:?}");
        assert_eq!(result.verdict, Verdict::Pass, "{}", result.summary);
        assert_eq!(result.effort.map(|e| e.cases), Some(2000));
        let record = window_record(&result);
        assert!(record.adaptive);
        assert_eq!(record.ceiling, 64, "the default ceiling");
        assert!(record.peak > record.start, "it grew: {record:?}");
        assert!(record.peak_in_flight > 4, "{record:?}");
        assert!(record.shrinks_total >= 1, "it shrank: {record:?}");
        assert!(
            record
                .shrinks
                .iter()
                .any(|s| s.cause == WindowDistress::SlowAnswers),
            "the slowing answers were seen: {record:?}"
        );
        assert!(
            result.summary.contains("held up to ")
                && result.summary.contains(" time(s), first from "),
            "{}",
            result.summary
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_cases_in_flight_in_fixed_pacing_kill_the_fragile_broker() {
    let address: IpAddr = "127.67.2.1".parse().unwrap();
    let broker = start_fragile_broker(address, 0, FRAGILE).await.unwrap();
    let mut profile = profile(address, broker.declared_interfaces());
    profile.pacing.mode = PacingMode::Fixed;
    profile
        .edit_section(|options: &mut ProtofuzzOptions| {
            options.parallel_cases = 64;
            options.recovery_wait_seconds = 1;
        })
        .unwrap();
    let result = fuzz_mqtt(profile).await;
    let health = broker.health();
    assert!(health.dead, "{health:?}");
    assert!(
        health
            .killed_by
            .is_some_and(|open| open > FRAGILE.max_sessions),
        "{health:?}"
    );
    assert_ne!(result.verdict, Verdict::Pass, "{}", result.summary);
    let record = window_record(&result);
    assert!(!record.adaptive);
    assert_eq!((record.final_window, record.shrinks_total), (64, 0));
    assert!(
        [WindowDistress::ConnectRefused, WindowDistress::ConnectReset]
            .iter()
            .any(|cause| record.distress_seen.contains_key(cause)),
        "its death was seen: {record:?}"
    );
}

/// The testbed's broker, with its planted bug or without.
fn testbed_broker(name: &str, address: IpAddr, planted_bug: bool) -> DeviceConfig {
    DeviceConfig {
        flaws: Flaws {
            cleartext_mqtt: true,
            anonymous_mqtt: true,
            planted_parser_bugs: planted_bug,
            ..Flaws::none()
        },
        ..DeviceConfig::secure(name, address)
    }
}

/// Kills the daemon when the test ends, however it ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_broker_that_copes_the_default_window_grows_well_above_sixteen() {
    let found = Command::new("sh")
        .args(["-c", "command -v mosquitto"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "mosquitto is missing: apt-get install -y mosquitto");
    let address: IpAddr = "127.67.3.1".parse().unwrap();
    let port = 18832;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener {port} {address}\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let _mosquitto = Daemon(
        Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let listening = Instant::now();
    while tokio::net::TcpStream::connect((address, port))
        .await
        .is_err()
    {
        assert!(
            listening.elapsed() < Duration::from_secs(5),
            "mosquitto did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mqtt = Interface {
        port,
        transport: Transport::Tcp,
        service: "mqtt".to_owned(),
        authentication: Default::default(),
        tls: false,
        description: None,
    };
    let result = fuzz_mqtt(profile(address, vec![mqtt])).await;
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.summary);
    // mosquitto answers every well-formed session step of every case: cases in flight
    // together do not close each other's sessions (a broker closes a session when
    // another connects with its client id).
    assert!(
        !result.summary.contains("session unanswered"),
        "{}",
        result.summary
    );
    let record = window_record(&result);
    assert!(record.peak >= 48, "{record:?}");
    assert!(record.peak_in_flight >= 48, "{record:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_among_sixty_four_cases_in_flight_is_traced_to_its_case() {
    let address: IpAddr = "127.67.4.1".parse().unwrap();
    let device = start(testbed_broker("hub-4", address, true)).await.unwrap();
    let mqtt: Vec<Interface> = device
        .declared_interfaces()
        .into_iter()
        .filter(|i| i.service == "mqtt")
        .collect();
    let mut profile = profile(address, mqtt);
    profile.pacing.mode = PacingMode::Fixed;
    profile
        .edit_section(|options: &mut ProtofuzzOptions| options.parallel_cases = 64)
        .unwrap();
    let result = fuzz_mqtt(profile.clone()).await;
    assert_eq!(result.verdict, Verdict::Fail, "{}", result.summary);
    assert_eq!(window_record(&result).peak_in_flight, 64);
    let evidence = result
        .evidence
        .iter()
        .find(|e| e.kind == EvidenceKind::Reproducer)
        .expect("a reproducer");
    let reproducer: Reproducer = serde_json::from_slice(&evidence.data).unwrap();
    // The culprit among the 64: a PUBLISH whose topic is one byte over the planted
    // 1,024-byte limit, shrunk.
    let bytes = hex::decode(&reproducer.message_hex).unwrap();
    assert_eq!(bytes.first().map(|b| b & 0xf0), Some(0x30), "{bytes:02x?}");
    assert!(bytes.len() < 1040, "not shrunk: {} bytes", bytes.len());
    device.shutdown().await;
}
