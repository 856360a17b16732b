//! Campaign lifecycle through the real binary and the real engine: external suites,
//! kill -9 and resume, scope refusal, malformed profiles.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert::engine::{self, Observer};
use iotcert::model::{CampaignStatus, StoredResult};
use iotcert::registry;
use iotcert::store::Store;
use iotcert_suite::event::LogLevel;
use iotcert_suite::{Profile, Verdict};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;
use common::{campaign_id, iotcert, profile_text, resume_to_success};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Recorder {
    results: Vec<StoredResult>,
    warnings: Vec<String>,
}

impl Observer for Recorder {
    fn result(&mut self, result: &StoredResult) {
        self.results.push(result.clone());
    }
    fn log(&mut self, _suite: &str, level: LogLevel, message: &str) {
        if level == LogLevel::Warn {
            self.warnings.push(message.to_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_suite_results_are_stored_and_misbehaviour_is_contained() {
    let dir = tempfile::tempdir().unwrap();
    let text = profile_text("127.0.0.1", &["--misbehave"]);
    let profile = Profile::from_toml_str(&text).unwrap();
    let suites = registry::suites_for(&profile, dir.path()).await.unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let record = engine::plan_campaign("p.toml", &text, &profile, &suites);
    let planned = record.plan.iter().filter(|p| p.suite == "ext").count();
    assert_eq!(planned, 5, "four per-unit checks and one across units");
    let mut recorder = Recorder::default();
    let done = engine::execute(
        &store,
        record,
        &suites,
        &mut recorder,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(done.status, CampaignStatus::Completed);
    let stored = store.results(&done.id).unwrap();
    assert_eq!(
        stored.len(),
        5,
        "every planned check has exactly one result"
    );
    let verdict = |check: &str| stored.iter().find(|r| r.check == check).map(|r| r.verdict);
    assert_eq!(verdict("ext.alpha"), Some(Verdict::Pass));
    assert_eq!(verdict("ext.across"), Some(Verdict::Pass));
    let delta = stored.iter().find(|r| r.check == "ext.delta").unwrap();
    assert_eq!(
        delta.verdict,
        Verdict::Error,
        "left undecided by a failing program"
    );
    assert!(delta.summary.contains("exited with"), "{}", delta.summary);
    assert!(stored.iter().all(|r| r.check != "ext.undeclared"));
    let alpha = stored.iter().find(|r| r.check == "ext.alpha").unwrap();
    let blob = store.evidence(&alpha.evidence[0].sha256).unwrap().unwrap();
    assert_eq!(blob, b"decided ext.alpha");
    let warnings = recorder.warnings.join("\n");
    assert!(warnings.contains("not an event"), "{warnings}");
    assert!(warnings.contains("undeclared check"), "{warnings}");
    assert!(warnings.contains("longer than"), "{warnings}");
}

/// No PASS without proof: a suite that says PASS without saying what it observed of
/// the check's positive control gets ERROR naming the suite, never a PASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_without_proof_is_recorded_as_error_naming_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let text = profile_text("127.0.0.1", &["--no-proof"]);
    let profile = Profile::from_toml_str(&text).unwrap();
    let suites = registry::suites_for(&profile, dir.path()).await.unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let record = engine::plan_campaign("p.toml", &text, &profile, &suites);
    let done = engine::execute(
        &store,
        record,
        &suites,
        &mut Recorder::default(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let stored = store.results(&done.id).unwrap();
    let ext: Vec<_> = stored.iter().filter(|r| r.suite == "ext").collect();
    assert_eq!(ext.len(), 5);
    for result in ext {
        assert_eq!(
            result.verdict,
            Verdict::Error,
            "{}: {}",
            result.check,
            result.summary
        );
        assert!(
            result.summary.contains("suite ext said PASS without proof"),
            "{}",
            result.summary
        );
    }
}

#[test]
fn kill_nine_then_resume_keeps_every_reported_result_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("ran.log");
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        profile_text(
            "127.0.0.1",
            &["--delay", "0.4", "--log", log.to_str().unwrap()],
        ),
    )
    .unwrap();

    let mut child = iotcert(&data)
        .arg("run")
        .arg(&profile)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut campaign = None;
    let mut reported = Vec::new();
    let started = Instant::now();
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(id) = campaign_id(&line) {
            campaign = Some(id);
        }
        if line.contains(" PASS ") {
            let check = line.split_whitespace().nth(2).unwrap().to_owned();
            reported.push(check);
        }
        if reported.len() == 2 || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let campaign = campaign.expect("the run names its campaign");
    assert_eq!(reported.len(), 2, "two results reported before the kill");

    resume_to_success(&data, &campaign);

    let shown = iotcert(&data)
        .args(["show", &campaign, "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(report["campaign"]["status"], "completed");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "each planned check exactly once");
    for check in [
        "ext.alpha",
        "ext.beta",
        "ext.gamma",
        "ext.delta",
        "ext.across",
    ] {
        let count = results.iter().filter(|r| r["check"] == check).count();
        assert_eq!(count, 1, "{check}");
    }
    let ran = std::fs::read_to_string(&log).unwrap();
    for check in &reported {
        let runs = ran
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(check))
            .count();
        assert_eq!(
            runs, 1,
            "{check} was reported before the kill and must not run again:\n{ran}"
        );
    }
}

#[test]
fn out_of_scope_address_is_refused_before_anything_happens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("ran.log");
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        profile_text("10.20.30.40", &["--log", log.to_str().unwrap()]),
    )
    .unwrap();
    let output = iotcert(&data).arg("run").arg(&profile).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("10.20.30.40 is outside the campaign's scope"),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing may be written");
    assert!(!log.exists(), "no suite may run");
}

#[test]
fn malformed_profile_names_line_column_and_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let profile = dir.path().join("profile.toml");
    let text = profile_text("127.0.0.1", &[])
        .replace("[campaign]\n", "[campaign]\nsuite_deadline_secs = 5\n");
    std::fs::write(&profile, text).unwrap();
    let output = iotcert(&data).arg("run").arg(&profile).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 11, column 1"), "{stderr}");
    assert!(
        stderr.contains("field `campaign.suite_deadline_secs`"),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing may be written");
}

#[test]
fn ctrl_c_cancels_cleanly_and_the_campaign_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, profile_text("127.0.0.1", &["--delay", "0.5"])).unwrap();
    let mut child = iotcert(&data)
        .arg("run")
        .arg(&profile)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut campaign = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(id) = campaign_id(&line) {
            campaign = Some(id);
        }
        if line.contains(" PASS ") {
            break;
        }
        line.clear();
    }
    let campaign = campaign.expect("the run names its campaign");
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{rest}");
    assert!(
        rest.contains(&format!("iotcert run --resume {campaign}")),
        "{rest}"
    );

    let listed = iotcert(&data).args(["campaigns"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&campaign) && listed.contains("interrupted"),
        "{listed}"
    );
    resume_to_success(&data, &campaign);
}
