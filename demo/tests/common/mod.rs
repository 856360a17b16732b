//! Helpers shared by the end-to-end tests of the harness against the virtual devices:
//! a whole campaign on the real engine, and the real `iotcert` binary.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `iotcert` binary built beside `iotcert-demo`. Cargo builds a package's binaries
/// only for that package's own tests, so this one comes from the workspace build that
/// README's test command runs (`cargo test --workspace`).
pub fn iotcert_binary() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_iotcert-demo"))
        .with_file_name(format!("iotcert{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: these tests run in the workspace build (`cargo test --workspace`), \
         or after `cargo build -p iotcert`",
        binary.display()
    );
    binary
}

/// The real binary, storing into `data`.
pub fn iotcert(data: &Path) -> Command {
    let mut command = Command::new(iotcert_binary());
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

/// A whole campaign of every built-in suite, through the application layer the CLI
/// uses, for the profile `text` (written to `dir/profile.toml`, files relative to `dir`,
/// store in `dir/data`): its report.
pub async fn campaign_report(text: &str, dir: &Path) -> iotcert::report::Report {
    use iotcert::app::campaign::{execute, plan};
    let profile_path = dir.join("profile.toml");
    std::fs::write(&profile_path, text).unwrap();
    let store = iotcert::store::Store::open(&dir.join("data")).unwrap();
    let planned = plan(&profile_path).await.unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    execute(
        &store,
        planned,
        &mut iotcert::engine::Silent,
        cancel,
        iotcert::exit::FailOn::Never,
    )
    .await
    .unwrap()
}

/// [`campaign_report`], and every result the campaign stored.
pub async fn campaign(text: &str, dir: &Path) -> Vec<iotcert::model::StoredResult> {
    let report = campaign_report(text, dir).await;
    let store = iotcert::store::Store::open_for_reading(&dir.join("data")).unwrap();
    store.results(&report.campaign.id).unwrap()
}
