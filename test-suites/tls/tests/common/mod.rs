//! What every test of the TLS suite shares: running the suite on a profile, collecting
//! its results, and requiring the real tools the tests start.

#![allow(dead_code)]

use iotcert_suite::{run_alone, CheckResult, Profile};
use iotcert_suite_tls::TlsSuite;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Runs the whole suite on `profile_text` and returns every result, by check and unit.
pub async fn run_suite(
    profile_text: &str,
    profile_dir: &Path,
) -> BTreeMap<(String, Option<String>), CheckResult> {
    let profile = Profile::from_toml_str(profile_text).expect("profile");
    let suite = TlsSuite::new(profile_dir);
    run_alone(&suite, profile, Duration::from_secs(120))
        .await
        .expect("suite")
        .into_iter()
        .map(|result| ((result.check.clone(), result.unit.clone()), result))
        .collect()
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
