//! Campaigns as use cases: load and check a profile, plan, execute (fresh, resumed or
//! as a label's retest), and write every rendering of the report.

use crate::engine::{self, Observer};
use crate::exit::FailOn;
use crate::model::CampaignRecord;
use crate::registry;
use crate::render::{self, Format};
use crate::report::Report;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use iotcert_suite::{Profile, Suite};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Parse and check a profile before anything is written or sent (read with the SDK's
/// cap, so a huge or endless file costs nothing): the SDK's sections, then each suite's
/// (a section no suite reads is refused), then the scope.
pub fn load_profile(path: &Path) -> Result<(String, Profile)> {
    let (text, profile) =
        Profile::from_path(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    registry::check_sections(&profile, dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    engine::check_scope(&profile).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((text, profile))
}

/// The profile's path as a campaign records it: absolute, so that a label issue or a
/// retest from another directory finds the firmware image and files beside it.
pub fn recorded_profile_path(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// Open the data directory to change it, as `holder` (named to anyone who finds it
/// busy meanwhile).
pub fn open_for_writing(dir: &Path, holder: &str) -> Result<Store> {
    Ok(Store::open_as(dir, holder)?)
}

/// Open an existing data directory to read it; works while a campaign runs.
pub fn open_for_reading(dir: &Path) -> Result<Store> {
    if !dir.exists() {
        bail!(
            "no data directory at {} (run a campaign first, or pass --data-dir)",
            dir.display()
        );
    }
    Ok(Store::open_for_reading(dir)?)
}

/// A campaign ready to execute: its record, its suites and the device's model.
pub struct Planned {
    pub record: CampaignRecord,
    pub suites: Vec<Arc<dyn Suite>>,
    pub model: String,
}

/// Plan a new campaign of the profile at `path`.
pub async fn plan(path: &Path) -> Result<Planned> {
    let (text, profile) = load_profile(path)?;
    let path = recorded_profile_path(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let suites = registry::suites_for(&profile, base).await?;
    let record = engine::plan_campaign(&path.display().to_string(), &text, &profile, &suites);
    Ok(Planned {
        record,
        suites,
        model: profile.device.model,
    })
}

/// Plan a new campaign from a stored one's profile (a label's retest).
pub async fn plan_again(previous: &CampaignRecord) -> Result<Planned> {
    let profile = Profile::from_toml_str(&previous.profile_toml)?;
    registry::check_sections(&profile, &profile_folder(previous))?;
    engine::check_scope(&profile)?;
    let suites = registry::suites_for(&profile, &profile_folder(previous)).await?;
    let record = engine::plan_campaign(
        &previous.profile_path,
        &previous.profile_toml,
        &profile,
        &suites,
    );
    Ok(Planned {
        record,
        suites,
        model: profile.device.model,
    })
}

/// The stored campaign `id`, to finish what it left undecided.
pub async fn plan_resume(store: &Store, id: &str) -> Result<Planned> {
    let record = store.campaign(id)?;
    let profile = Profile::from_toml_str(&record.profile_toml)?;
    let suites = registry::suites_for(&profile, &profile_folder(&record)).await?;
    Ok(Planned {
        record,
        suites,
        model: profile.device.model,
    })
}

/// The folder the campaign's profile names its files relative to.
fn profile_folder(record: &CampaignRecord) -> PathBuf {
    Path::new(&record.profile_path)
        .parent()
        .unwrap_or(Path::new("."))
        .to_owned()
}

/// Execute a planned campaign and build its report; a cancelled run is an error that
/// says how to finish it (what was decided is stored).
pub async fn execute(
    store: &Store,
    planned: Planned,
    observer: &mut dyn Observer,
    cancel: CancellationToken,
    fail_on: FailOn,
) -> Result<Report> {
    let finished = engine::execute(
        store,
        planned.record,
        &planned.suites,
        observer,
        cancel.clone(),
    )
    .await?;
    if cancel.is_cancelled() {
        bail!(
            "interrupted; what was decided is stored. Finish with: iotcert run --resume {}",
            finished.id
        );
    }
    Ok(Report::build(store, &finished, fail_on)?)
}

/// Write every rendering of `report` into `dir`: report.json, .md, .html, .sarif and
/// .junit.xml.
pub fn write_reports(report: &Report, dir: &Path, templates: Option<&Path>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for format in [
        Format::Json,
        Format::Md,
        Format::Html,
        Format::Sarif,
        Format::Junit,
    ] {
        let path = dir.join(format!("report.{}", format.extension()));
        let text = render::render(report, format, templates)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
