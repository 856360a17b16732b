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
    command.arg("--data-dir").arg(data);
    command
}
