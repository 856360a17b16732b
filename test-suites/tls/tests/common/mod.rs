//! What every test of the TLS suite shares: running the suite on a profile, collecting
//! its results, and requiring the real tools the tests start.

#![allow(dead_code)]

use iotcert_suite::{
    Applicability, CheckResult, CheckScope, PlanKey, Profile, RunContext, Suite, SuiteEvent,
};
use iotcert_suite_tls::TlsSuite;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Runs the whole suite on `profile_text` and returns every result, by check and unit.
pub async fn run_suite(
    profile_text: &str,
    profile_dir: &Path,
) -> BTreeMap<(String, Option<String>), CheckResult> {
    let profile = Profile::from_toml_str(profile_text).expect("profile");
    let suite = TlsSuite::new(profile_dir);
    let mut pending = std::collections::BTreeSet::new();
    for check in suite.descriptor().checks {
        if suite.applicability(&check, &profile) != Applicability::Applicable {
            continue;
        }
        if check.scope == CheckScope::AcrossUnits {
            pending.insert(PlanKey::new(&check.id, None));
        } else {
            for unit in &profile.units {
                pending.insert(PlanKey::new(&check.id, Some(&unit.id)));
            }
        }
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(BTreeMap::new()),
        tokio::time::Instant::now() + Duration::from_secs(120),
        tokio_util::sync::CancellationToken::new(),
        pending,
        iotcert_suite::EventSink::new("tls", sender),
    );
    let run = tokio::spawn(async move { suite.run(ctx).await });
    let mut results = BTreeMap::new();
    while let Some((_, event)) = receiver.recv().await {
        if let SuiteEvent::Result(result) = event {
            results.insert((result.check.clone(), result.unit.clone()), result);
        }
    }
    run.await.expect("join").expect("suite");
    results
}

/// Fails the test with the Debian package to install when a tool is missing.
pub fn require(command: &str, package: &str) {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "command -v {command} || test -x /usr/sbin/{command}"
        ))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{command}` is missing: install the Debian package `{package}` (scripts/test does)"
    );
}

/// A profile of one unit with one TLS port.
pub fn endpoint_profile(address: &str, port: u16, anchors: &[&Path]) -> String {
    let anchors: Vec<String> = anchors
        .iter()
        .map(|a| format!("{:?}", a.display().to_string()))
        .collect();
    format!(
        "[device]\nmanufacturer = \"panel\"\nmodel = \"server\"\nfirmware_version = \"0\"\n\
         [[units]]\nid = \"unit-1\"\naddress = \"{address}\"\n\
         [[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"https\"\ntls = true\n\
         [pacing]\nmax_connections = 64\nconnections_per_second = 5000\n\
         [tls]\ntrust_anchors = [{}]\ntimeout_ms = 2000\n",
        anchors.join(", ")
    )
}
