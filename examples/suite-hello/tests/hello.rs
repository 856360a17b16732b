//! The hello suite run as its own tests run it (the test kit) and as a campaign runs it
//! (the harness's engine, with the suite registered by one line), against a real
//! listener and a closed port on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert::engine::{self, Silent};
use iotcert::exit::FailOn;
use iotcert::registry;
use iotcert::report::Report;
use iotcert::store::Store;
use iotcert_suite::{Profile, SectionSpec, Verdict};
use iotcert_suite_hello::{HelloSuite, DECLARED_TCP_ANSWERS};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A profile of one unit on 127.0.0.1 declaring `ports` over TCP.
fn profile(ports: &[u16], hello: &str) -> String {
    let mut text = String::from(
        "[device]\nmanufacturer = \"Hello\"\nmodel = \"H\"\nfirmware_version = \"1\"\n\
         [[units]]\nid = \"unit-1\"\naddress = \"127.0.0.1\"\n",
    );
    for port in ports {
        text += &format!("[[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"x\"\n");
    }
    text + hello
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_listening_interface_passes_with_proof_and_a_closed_one_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let text = profile(&[open], "[hello]\nconnect_timeout_ms = 1000\n");
    let run = iotcert_suite_testkit::run_planned(
        &HelloSuite,
        Profile::from_toml_str(&text).unwrap(),
        Duration::from_secs(30),
    )
    .await;
    let result = run.result(DECLARED_TCP_ANSWERS, "unit-1");
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.summary);
    assert!(result.proof.is_some());

    let text = profile(&[open, closed_port()], "");
    let run = iotcert_suite_testkit::run_planned(
        &HelloSuite,
        Profile::from_toml_str(&text).unwrap(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(run.verdict(DECLARED_TCP_ANSWERS, "unit-1"), Verdict::Fail);
}

#[test]
fn its_section_is_checked_where_it_is_written() {
    let text = profile(&[80], "[hello]\nconnect_timeout_ms = 99999999999\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let error = profile
        .check_sections(&[SectionSpec::of::<iotcert_suite_hello::HelloOptions>()])
        .unwrap_err();
    assert_eq!(
        error.field.as_deref(),
        Some("hello.connect_timeout_ms"),
        "{error}"
    );
    assert_eq!(error.line, Some(text.lines().count()), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_campaign_runs_it_with_one_registration_line() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let text = profile(&[open], "[hello]\n[campaign]\nsuites = [\"hello\"]\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let mut suites = registry::builtin_suites(Path::new("."));
    suites.push(Arc::new(HelloSuite)); // the registration line
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let record = engine::plan_campaign("hello.toml", &text, &profile, &suites);
    let finished = engine::execute(
        &store,
        record,
        &suites,
        &mut Silent,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let report = Report::build(&store, &finished, FailOn::default()).unwrap();
    let result = report
        .results
        .iter()
        .find(|r| r.check == DECLARED_TCP_ANSWERS)
        .expect("the campaign decided the hello check");
    assert_eq!(result.verdict, Verdict::Pass);
}
