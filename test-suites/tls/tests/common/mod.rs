//! What every test of the TLS suite shares: running the suite on a profile, collecting
//! its results, and requiring the real tools the tests start.

#![allow(dead_code, unused_imports)] // each test binary uses its own subset

use iotcert_suite::{CheckResult, Profile};
use iotcert_suite_tls::TlsSuite;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Fails the test with the Debian package to install when a tool is missing.
pub use iotcert_suite_testkit::require_tool as require;

/// Runs the whole suite on `profile_text` as a campaign plans it and returns every
/// result, by check and unit.
pub async fn run_suite(
    profile_text: &str,
    profile_dir: &Path,
) -> BTreeMap<(String, Option<String>), CheckResult> {
    let profile = Profile::from_toml_str(profile_text).expect("profile");
    let suite = TlsSuite::new(profile_dir);
    iotcert_suite_testkit::run_planned(&suite, profile, Duration::from_secs(120))
        .await
        .results
        .into_iter()
        .map(|result| ((result.check.clone(), result.unit.clone()), result))
        .collect()
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
