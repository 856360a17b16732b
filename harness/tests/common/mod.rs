//! Helpers shared by the harness's integration tests: the external test suite and
//! profiles that run it, and the real binary.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/external_suite.py")
}

/// A profile with one or two units that runs only the external test suite.
pub fn profile_text(address: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!(
        r#"[device]
manufacturer = "Test"
model = "External"
firmware_version = "1"

[[units]]
id = "unit-1"
address = "{address}"

[campaign]
suites = ["ext"]
suite_deadline_seconds = 60

[[external_suites]]
program = "{}"
args = [{}]
"#,
        fixture().display(),
        args.join(", ")
    )
}

pub fn iotcert(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iotcert"));
    command.env("IOTCERT_DATA_DIR", data);
    command
}

/// The campaign id a run announces on stderr (`campaign ID (N planned checks)`).
pub fn campaign_id(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("campaign "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
}

/// `iotcert run --resume CAMPAIGN`, which must finish with exit code 0.
pub fn resume_to_success(data: &Path, campaign: &str) {
    let resumed = iotcert(data)
        .args(["run", "--resume", campaign])
        .output()
        .unwrap();
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
}

/// A whole campaign of every built-in suite, on the real engine, for the profile
/// `text` (written to `dir/profile.toml`, files relative to `dir`, store in
/// `dir/data`): every result it stored.
pub async fn campaign(text: &str, dir: &Path) -> Vec<iotcert::model::StoredResult> {
    use iotcert::{engine, registry, store::Store};
    let profile = iotcert_suite::Profile::from_toml_str(text).unwrap();
    let profile_path = dir.join("profile.toml");
    std::fs::write(&profile_path, text).unwrap();
    let suites = registry::suites_for(&profile, dir).await.unwrap();
    let store = Store::open(&dir.join("data")).unwrap();
    let record =
        engine::plan_campaign(&profile_path.display().to_string(), text, &profile, &suites);
    let done = engine::execute(
        &store,
        record,
        &suites,
        &mut engine::Silent,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap();
    store.results(&done.id).unwrap()
}
