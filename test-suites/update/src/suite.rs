//! `UpdateSuite`: loads the genuine image and the signers from the profile, verifies the
//! genuine image, sends every attack and then the genuine image to each unit through the
//! profile's channel, and decides the six checks from what each unit did.
//!
//! The genuine image goes last, for two reasons: the attack images install the genuine
//! version, so a version query can only see one installed while the unit still runs
//! another version; and it puts a unit that took an attack image back on the genuine one.
//! Verdicts are decided after it, and a refusal counts only when that same unit then
//! installed the genuine image (the positive control). The firmware version before and
//! after the suite is recorded, and the original version restored where the profile has
//! an image of it and the device takes it.

use crate::attacks::{self, Attack, Attempt, Materials, Skipped};
use crate::checks;
use crate::delivery::{self, resolve, ChannelAnswer, HealthProbe};
use crate::formats::{Genuine, MAX_IMAGE_SIZE};
use crate::keys::{self, Signer};
use crate::options::{UpdateAcceptance, UpdateDelivery, UpdateOptions, VersionQuery};
use iotcert_suite::event::LogLevel;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Evidence, EvidenceKind, Profile, ProfileSection, Proof,
    RunContext, SampleUnit, SectionSpec, Suite, SuiteDescriptor, SuiteError, Verdict,
};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.2.0";

/// The update-signature suite.
#[derive(Clone, Debug)]
pub struct UpdateSuite {
    /// Directory of the profile file: relative paths in `[update]` are resolved against it.
    profile_dir: PathBuf,
}

impl UpdateSuite {
    pub fn new(profile_dir: impl Into<PathBuf>) -> Self {
        UpdateSuite {
            profile_dir: profile_dir.into(),
        }
    }
}

#[async_trait::async_trait]
impl Suite for UpdateSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "update".to_owned(),
            version: SUITE_VERSION.to_owned(),
            title: "Update authenticity, integrity and rollback protection".to_owned(),
            checks: checks::specs(),
        }
    }

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<UpdateOptions>()]
    }

    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability {
        if !checks::ALL.contains(&check.id.as_str()) {
            return Applicability::NotApplicable {
                reason: format!("`{}` is not a check of the update suite", check.id),
            };
        }
        if profile.sections.get(UpdateOptions::NAME).is_none() {
            return Applicability::NotApplicable {
                reason: "the profile declares no update mechanism (no [update] section), so there is no update to tamper with".to_owned(),
            };
        }
        // Every check applies once there is an update mechanism: what the suite cannot
        // observe (no health probe, no acceptance signal) is INCONCLUSIVE, not ruled out.
        Applicability::Applicable
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let Some(options) = ctx.profile.section::<UpdateOptions>()? else {
            return Ok(());
        };
        let units: Vec<SampleUnit> = ctx
            .units
            .iter()
            .filter(|unit| {
                checks::ALL
                    .iter()
                    .any(|c| ctx.is_pending(c, Some(&unit.id)))
            })
            .cloned()
            .collect();
        if units.is_empty() {
            return Ok(());
        }
        let profile_problem = delivery::cannot_tell_units_apart(&options, ctx.profile.units.len())
            .map(|why| format!("profile error: {why}; add {{unit}} or {{address}} to the arguments so each unit gets its own images"))
            .or_else(|| acceptance_signal(&options).err().map(|why| format!("profile error: {why}")));
        let loaded = match profile_problem {
            Some(why) => Err(why),
            None => Loaded::from_profile(&options, &self.profile_dir).map_err(|why| {
                format!("the update materials of the profile cannot be used: {why}")
            }),
        };
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(why) => {
                for unit in &units {
                    for check in pending(&ctx, unit) {
                        ctx.emit(CheckResult::new(
                            check,
                            Some(&unit.id),
                            Verdict::Error,
                            format!("{why}. Nothing was sent."),
                        ))
                        .await;
                    }
                }
                return Ok(());
            }
        };
        let genuine_verification = loaded.genuine.verify(&loaded.trusted);
        match &genuine_verification {
            Ok(how) => ctx.log(LogLevel::Info, format!("genuine image verified: {how}")).await,
            Err(why) => ctx.log(LogLevel::Warn, format!("the manufacturer's own image does not verify against the declared signer certificate: {why}")).await,
        }
        let materials = Materials {
            genuine: &loaded.genuine,
            genuine_version: &options.genuine_version,
            older: loaded
                .older
                .as_ref()
                .map(|(image, version)| (image, version.as_str())),
            test_signer: loaded.test_signer.as_ref(),
            trusted_ca: loaded
                .trusted_ca
                .as_ref()
                .map(|(k, c)| (k.as_slice(), c.as_slice())),
            untrusted: &loaded.untrusted,
        };
        let (attempts, skipped) = attacks::plan(&materials);
        let mut restore_images = vec![RestoreImage {
            label: "genuine",
            version: options.genuine_version.clone(),
            artifact: loaded.genuine.artifact(),
        }];
        if let Some((older, version)) = &loaded.older {
            restore_images.push(RestoreImage {
                label: "older genuine",
                version: version.clone(),
                artifact: older.artifact(),
            });
        }
        let plan = Plan {
            options: &options,
            base: &self.profile_dir,
            attempts: &attempts,
            skipped: &skipped,
            genuine_verification: &genuine_verification,
            restore_images: &restore_images,
            profile_firmware: &ctx.profile.device.firmware_version,
        };
        // Units are exercised one after another: an update changes the unit, and the
        // pacer of each unit is shared with the other suites.
        for unit in &units {
            exercise_unit(&ctx, unit, &plan).await;
        }
        Ok(())
    }
}

fn pending<'a>(
    ctx: &'a RunContext,
    unit: &'a SampleUnit,
) -> impl Iterator<Item = &'static str> + 'a {
    checks::ALL
        .into_iter()
        .filter(move |c| ctx.is_pending(c, Some(&unit.id)))
}

/// Everything read from the profile's files.
struct Loaded {
    genuine: Genuine,
    trusted: Vec<Vec<u8>>,
    older: Option<(Genuine, String)>,
    test_signer: Option<Signer>,
    trusted_ca: Option<(Vec<u8>, Vec<u8>)>,
    untrusted: Vec<Signer>,
}

fn read_capped(base: &Path, path: &Path) -> Result<Vec<u8>, String> {
    let full = resolve(base, path);
    let size = std::fs::metadata(&full)
        .map_err(|e| format!("{}: {e}", full.display()))?
        .len();
    if size > MAX_IMAGE_SIZE {
        return Err(format!(
            "{} is {size} bytes, more than the {MAX_IMAGE_SIZE} the suite reads",
            full.display()
        ));
    }
    std::fs::read(&full).map_err(|e| format!("{}: {e}", full.display()))
}

impl Loaded {
    fn from_profile(options: &UpdateOptions, base: &Path) -> Result<Loaded, String> {
        let read_image = |image: &Path, signature: Option<&PathBuf>| -> Result<Genuine, String> {
            let bytes = read_capped(base, image)?;
            let signature = signature.map(|s| read_capped(base, s)).transpose()?;
            Genuine::read(options.format, &bytes, signature.as_deref())
                .map_err(|e| format!("{}: {e}", image.display()))
        };
        let genuine = read_image(&options.genuine_image, options.genuine_signature.as_ref())?;
        let trusted =
            keys::certificates_from_file_bytes(&read_capped(base, &options.signer_certificate)?)
                .map_err(|e| format!("{}: {e}", options.signer_certificate.display()))?;
        let older = match &options.older_image {
            None => None,
            Some(path) => {
                let version = options
                    .older_version
                    .clone()
                    .ok_or("update.older_image needs update.older_version")?;
                Some((read_image(path, options.older_signature.as_ref())?, version))
            }
        };
        let (test_signer, trusted_ca) = match &options.trusted_test_signer {
            None => (None, None),
            Some(test) => {
                let signer = Signer::from_files(
                    &read_capped(base, &test.key)?,
                    &read_capped(base, &test.certificate)?,
                    "the trusted test key",
                )
                .map_err(|e| format!("update.trusted_test_signer: {e}"))?;
                let ca = match (&test.ca_key, &test.ca_certificate) {
                    (Some(key), Some(certificate)) => {
                        Some((read_capped(base, key)?, read_capped(base, certificate)?))
                    }
                    _ => None,
                };
                (Some(signer), ca)
            }
        };
        let mut untrusted = Vec::new();
        for (index, declared) in options.untrusted_signers.iter().enumerate() {
            let signer = Signer::from_files(
                &read_capped(base, &declared.key)?,
                &read_capped(base, &declared.certificate)?,
                &format!("a key the device must not trust ({})", declared.description),
            )
            .map_err(|e| format!("update.untrusted_signers[{index}]: {e}"))?;
            untrusted.push(signer);
        }
        Ok(Loaded {
            genuine,
            trusted,
            older,
            test_signer,
            trusted_ca,
            untrusted,
        })
    }
}

/// What says that a unit installed an image.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Signal {
    /// The channel's success means installed: an exit status, SWUpdate's install status,
    /// or a 2xx the profile declares is sent only after installing.
    Channel,
    /// The version query must show the image's version.
    Version,
    /// Nothing tells an installed image from a received one, and why.
    Missing(String),
}

/// The acceptance signal the profile declares (or implies), or why it cannot work.
fn acceptance_signal(options: &UpdateOptions) -> Result<Signal, String> {
    let has_query = options.version_query.is_some();
    match (&options.acceptance, &options.delivery) {
        (Some(UpdateAcceptance::Version), _) if !has_query => Err("update.acceptance is `version` but the profile gives no update.version_query".to_owned()),
        (Some(UpdateAcceptance::Version), _) => Ok(Signal::Version),
        (Some(UpdateAcceptance::Channel), UpdateDelivery::Serve { trigger: None, .. }) => Err("update.acceptance is `channel` but the `serve` delivery has no trigger whose exit status could say so".to_owned()),
        (Some(UpdateAcceptance::Channel), _) => Ok(Signal::Channel),
        (Some(UpdateAcceptance::SwupdateWebsocket { .. }), UpdateDelivery::HttpUpload { .. }) => Ok(Signal::Channel),
        (Some(UpdateAcceptance::SwupdateWebsocket { .. }), _) => Err("update.acceptance `swupdate-websocket` needs the `http-upload` delivery (SWUpdate's web server takes the upload)".to_owned()),
        (None, UpdateDelivery::Command { .. }) | (None, UpdateDelivery::Serve { trigger: Some(_), .. }) => Ok(Signal::Channel),
        (None, _) if has_query => Ok(Signal::Version),
        (None, UpdateDelivery::HttpUpload { .. }) => Ok(Signal::Missing("an upload's 2xx only says the bytes arrived, and the profile gives neither a version query nor an update.acceptance signal that says the image was installed".to_owned())),
        (None, UpdateDelivery::Serve { .. }) => Ok(Signal::Missing("a fetched image may still be refused, and the profile gives no version query to tell".to_owned())),
    }
}

/// An image whose version the profile names, which can put a unit back on that version.
struct RestoreImage {
    label: &'static str,
    version: String,
    artifact: crate::formats::Artifact,
}

/// Everything the suite sends and decides with, the same for every unit.
struct Plan<'a> {
    options: &'a UpdateOptions,
    base: &'a Path,
    attempts: &'a [Attempt],
    skipped: &'a [Skipped],
    genuine_verification: &'a Result<String, String>,
    restore_images: &'a [RestoreImage],
    /// The firmware version the profile (and so a label) names.
    profile_firmware: &'a str,
}

/// Images in a row without an answer after which a unit is given up.
const MAX_UNANSWERED_IN_A_ROW: usize = 3;

/// A version the query read, or why it read none.
type VersionReading = Result<String, String>;

/// How a unit answered one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
enum Outcome {
    Accepted(String),
    Refused(String),
    Undetermined(String),
    /// The harness could not make the delivery: a fault of the harness or the profile.
    NotDelivered(String),
}

/// The evidence of one attempt.
#[derive(Clone, Debug, Serialize)]
struct AttemptRecord {
    attack: &'static str,
    description: String,
    image_sha256: String,
    image_bytes: usize,
    signature_sha256: Option<String>,
    installs_version: String,
    channel_answer: String,
    version_before: Result<String, String>,
    version_after: Result<String, String>,
    outcome: Outcome,
    /// After a refused image: whether the unit still answered its health probe.
    health: Option<Result<String, String>>,
    #[serde(skip)]
    transcript: String,
}

/// Sending an image of the version the unit ran before the suite, to put it back.
#[derive(Clone, Debug, Serialize)]
struct RestoreRecord {
    image: &'static str,
    version: String,
    channel_answer: String,
    version_after: Result<String, String>,
}

/// The unit's firmware before and after the suite.
#[derive(Clone, Debug, Serialize)]
struct FirmwareRecord {
    /// What the profile (and so a label) names.
    profile_names: String,
    before: Option<Result<String, String>>,
    after: Option<Result<String, String>>,
    restore: Option<RestoreRecord>,
    /// The same, in one sentence for the summaries.
    note: String,
}

/// What tells that a unit still works after it refused an image.
#[derive(Clone, Copy, Debug)]
enum HealthSource {
    /// A probe that answered before the first image.
    Probe(HealthProbe),
    /// SWUpdate's status stream, which says when SWUpdate waits for requests again after
    /// an install result: another connection between two uploads is not used, as it can
    /// make SWUpdate's web server (2022.12) lose the next upload.
    SwupdateStatus,
}

impl HealthSource {
    fn describe(self) -> String {
        match self {
            HealthSource::Probe(probe) => probe.describe(),
            HealthSource::SwupdateStatus => {
                "SWUpdate's status stream (opened before each image)".to_owned()
            }
        }
    }
}

/// Everything one unit did.
struct UnitRun {
    records: Vec<AttemptRecord>,
    firmware: FirmwareRecord,
    /// The health probe that answered before the first image, or why there is none.
    health_probe: Result<HealthSource, String>,
    /// Why sending stopped before every image was sent.
    stopped: Option<String>,
}

fn judge(
    answer: &ChannelAnswer,
    signal: &Signal,
    versions: Option<(&VersionReading, &VersionReading)>,
    installs: &str,
) -> Outcome {
    if let ChannelAnswer::NotDelivered(why) = answer {
        return Outcome::NotDelivered(why.clone());
    }
    if let Some((Ok(before), Ok(after))) = versions {
        if before != after {
            return Outcome::Accepted(format!(
                "the running version changed from {before} to {after} ({})",
                answer.text()
            ));
        }
    }
    match answer {
        ChannelAnswer::Refusal(said) => Outcome::Refused(match versions {
            Some((_, Ok(after))) => format!("refused: {said}; the version stayed {after}"),
            _ => format!("refused: {said}"),
        }),
        ChannelAnswer::Success(said) => match signal {
            Signal::Channel => Outcome::Accepted(format!("installed: {said}")),
            Signal::Missing(why) => Outcome::Undetermined(format!("{said}; {why}")),
            Signal::Version => match versions {
                Some((Ok(before), Ok(after))) if before != installs => Outcome::Refused(format!(
                    "{said}, but the running version stayed {after}, not the image's {installs}"
                )),
                Some((Ok(_), Ok(_))) => Outcome::Undetermined(format!(
                    "{said}; the unit already ran {installs}, the image's version, so the version query cannot tell whether it installed the image"
                )),
                Some((Err(why), _)) | Some((_, Err(why))) => {
                    Outcome::Undetermined(format!("{said}; the version query failed: {why}"))
                }
                None => Outcome::Undetermined(format!("{said}; no version query")),
            },
        },
        ChannelAnswer::Unclear(said) | ChannelAnswer::NoAnswer(said) => {
            Outcome::Undetermined(said.clone())
        }
        ChannelAnswer::NotDelivered(why) => Outcome::NotDelivered(why.clone()),
    }
}

async fn query(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
    usable: bool,
) -> Result<String, String> {
    match &options.version_query {
        Some(query) if usable => delivery::query_version(ctx, unit, query, base).await,
        Some(_) => {
            Err("not asked: the version query did not work before the first image".to_owned())
        }
        None => Err("no version query in the profile".to_owned()),
    }
}

async fn exercise_unit(ctx: &RunContext, unit: &SampleUnit, plan: &Plan<'_>) {
    let pending_checks: Vec<&str> = pending(ctx, unit).collect();
    for check in &pending_checks {
        ctx.started(check, Some(&unit.id)).await;
    }
    let workdir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            for check in &pending_checks {
                ctx.emit(CheckResult::new(
                    *check,
                    Some(&unit.id),
                    Verdict::Error,
                    format!("cannot make a working directory: {error}"),
                ))
                .await;
            }
            return;
        }
    };
    let run = run_unit(ctx, unit, plan, workdir.path()).await;
    for check in pending_checks {
        let result = decide(check, &unit.id, plan, &run);
        let result = result.with_evidence(Evidence::json("unit-firmware", &run.firmware));
        ctx.emit(result).await;
    }
}

async fn run_unit(ctx: &RunContext, unit: &SampleUnit, plan: &Plan<'_>, workdir: &Path) -> UnitRun {
    let options = plan.options;
    let base = plan.base;
    let first_version = first_version(ctx, unit, options, base).await;
    let readings = Readings::before_first_image(ctx, unit, options, base, first_version).await;
    let (mut records, stopped) = send_attempts(ctx, unit, plan, workdir, &readings).await;
    let Readings {
        first_version,
        version_usable,
        health_probe,
        ..
    } = readings;
    let last_version = match &first_version {
        Some(_) if version_usable => Some(query(ctx, unit, options, base, true).await),
        other => other.clone(),
    };
    if let (Some(previous), Some(now)) = (records.last_mut(), &last_version) {
        rejudge_late_install(previous, now);
    }
    let restore = match (&first_version, &last_version) {
        (Some(Ok(before)), Some(Ok(after))) if before != after && !ctx.should_stop() => {
            restore(ctx, unit, plan, workdir, before).await
        }
        _ => None,
    };
    let firmware = firmware_record(plan, &records, first_version, last_version, restore);
    UnitRun {
        records,
        firmware,
        health_probe,
        stopped,
    }
}

/// The unit's version before anything is sent, read twice ([`stable_version`]); `None`
/// without a version query. A query that fails here is logged: the suite does not use
/// it on this unit.
async fn first_version(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
) -> Option<VersionReading> {
    let first_version = match &options.version_query {
        Some(version_query) => Some(stable_version(ctx, unit, version_query, base).await),
        None => None,
    };
    if let Some(Err(why)) = &first_version {
        ctx.log(
            LogLevel::Warn,
            format!("{}: the version query failed before any image was sent ({why}); the suite does not use it on this unit, and its failing later is not read as the unit stopping", unit.id),
        )
        .await;
    }
    first_version
}

/// How a unit is read while its images are sent, settled before the first one.
struct Readings {
    /// The running version before anything was sent; `None` without a version query.
    first_version: Option<VersionReading>,
    /// The version query worked before the first image, so the suite uses it.
    version_usable: bool,
    /// What says that the unit installed an image.
    signal: Signal,
    /// What tells that the unit still works after a refusal, or why nothing can.
    health_probe: Result<HealthSource, String>,
}

impl Readings {
    async fn before_first_image(
        ctx: &RunContext,
        unit: &SampleUnit,
        options: &UpdateOptions,
        base: &Path,
        first_version: Option<VersionReading>,
    ) -> Readings {
        let version_usable = matches!(first_version, Some(Ok(_)));
        let signal = match acceptance_signal(options) {
            Ok(Signal::Version) if !version_usable => Signal::Missing(format!(
                "the version query, the acceptance signal, did not work on this unit before the first image ({})",
                match &first_version {
                    Some(Err(why)) => why.as_str(),
                    _ => "no version query",
                }
            )),
            Ok(signal) => signal,
            Err(why) => Signal::Missing(why),
        };
        if let (Signal::Version, Some(Ok(running))) = (&signal, &first_version) {
            if *running == options.genuine_version {
                ctx.log(
                    LogLevel::Warn,
                    format!("{}: the unit already runs {running}, the genuine version, and the version query is the acceptance signal: it cannot see an image of that version installed (every attack but the rollback is one), so those verdicts will be INCONCLUSIVE; start the unit on another version or declare update.acceptance", unit.id),
                )
                .await;
            }
        }
        let health_probe =
            health_source(ctx, unit, options, base, version_usable, &first_version).await;
        Readings {
            first_version,
            version_usable,
            signal,
            health_probe,
        }
    }
}

/// What will tell that the unit still works after it refused an image: SWUpdate's
/// status stream, the version query, or the upload port when it answers now; or why
/// nothing can.
async fn health_source(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
    version_usable: bool,
    first_version: &Option<VersionReading>,
) -> Result<HealthSource, String> {
    if matches!(
        options.acceptance,
        Some(UpdateAcceptance::SwupdateWebsocket { .. })
    ) {
        Ok(HealthSource::SwupdateStatus)
    } else if version_usable {
        Ok(HealthSource::Probe(HealthProbe::VersionQuery))
    } else if let UpdateDelivery::HttpUpload { port, .. } = options.delivery {
        let probe = HealthProbe::UploadPort(port);
        match delivery::probe_health(ctx, unit, options, base, probe).await {
            Ok(_) => Ok(HealthSource::Probe(probe)),
            Err(why) => Err(format!(
                "{} failed before any image was sent ({why}), so a failure after a refused image would not be the device's",
                probe.describe()
            )),
        }
    } else {
        Err(match first_version {
            Some(Err(why)) => format!("the version query failed before any image was sent ({why}) and the channel is not an upload to the device: nothing could probe the unit's health"),
            _ => "the profile gives no version query and the channel is not an upload to the device: nothing could probe the unit's health".to_owned(),
        })
    }
}

/// Sends the plan's images in order, each judged from the channel's answer and the
/// versions read before and after it, and the unit's health probed after a refusal;
/// stops at the deadline or after [`MAX_UNANSWERED_IN_A_ROW`] unanswered images. The
/// records, and why sending stopped early.
async fn send_attempts(
    ctx: &RunContext,
    unit: &SampleUnit,
    plan: &Plan<'_>,
    workdir: &Path,
    readings: &Readings,
) -> (Vec<AttemptRecord>, Option<String>) {
    let options = plan.options;
    let base = plan.base;
    let version_usable = readings.version_usable;
    let settle = Duration::from_secs(options.settle_seconds);
    let mut records: Vec<AttemptRecord> = Vec::new();
    let mut stopped = None;
    let mut unanswered_in_a_row = 0;
    let total = plan.attempts.len() as u64;
    for (index, attempt) in plan.attempts.iter().enumerate() {
        if ctx.should_stop() {
            stopped = Some("the deadline passed before every image was sent".to_owned());
            break;
        }
        if unanswered_in_a_row >= MAX_UNANSWERED_IN_A_ROW {
            let last = records
                .last()
                .map(|r| r.channel_answer.clone())
                .unwrap_or_default();
            stopped = Some(format!(
                "the last {MAX_UNANSWERED_IN_A_ROW} images got no answer (the last: {last}), so the other {} were not sent",
                plan.attempts.len() - index
            ));
            break;
        }
        let version_before = query(ctx, unit, options, base, version_usable).await;
        if let Some(previous) = records.last_mut() {
            rejudge_late_install(previous, &version_before);
        }
        let delivered =
            delivery::deliver(ctx, unit, options, base, workdir, &attempt.artifact).await;
        tokio::time::sleep(settle.min(ctx.time_left())).await;
        let version_after = query(ctx, unit, options, base, version_usable).await;
        let outcome = judge(
            &delivered.answer,
            &readings.signal,
            version_usable.then_some((&version_before, &version_after)),
            &attempt.installs_version,
        );
        unanswered_in_a_row = match delivered.answer {
            ChannelAnswer::NoAnswer(_) | ChannelAnswer::NotDelivered(_) => unanswered_in_a_row + 1,
            _ => 0,
        };
        let health = match (&outcome, &readings.health_probe) {
            (Outcome::Refused(_), Ok(HealthSource::Probe(probe))) => {
                Some(delivery::probe_health(ctx, unit, options, base, *probe).await)
            }
            (Outcome::Refused(_), Ok(HealthSource::SwupdateStatus)) => {
                delivered.ready_again.clone()
            }
            _ => None,
        };
        records.push(AttemptRecord {
            attack: attempt.attack.name(),
            description: attempt.description.clone(),
            image_sha256: crate::sha256_hex(&attempt.artifact.image),
            image_bytes: attempt.artifact.image.len(),
            signature_sha256: attempt.artifact.signature.as_deref().map(crate::sha256_hex),
            installs_version: attempt.installs_version.clone(),
            channel_answer: delivered.answer.text().to_owned(),
            version_before,
            version_after,
            outcome,
            health,
            transcript: delivered.transcript,
        });
        ctx.progress(
            index as u64 + 1,
            total,
            format!("{}: {} sent", unit.id, attempt.attack.name()),
        )
        .await;
    }
    (records, stopped)
}

/// An image judged not installed whose version shows up before the suite's next look at
/// the unit was installed late (the install took longer than `settle_seconds`): it is
/// installed, and judged so.
fn rejudge_late_install(record: &mut AttemptRecord, now: &VersionReading) {
    if !matches!(
        record.outcome,
        Outcome::Refused(_) | Outcome::Undetermined(_)
    ) {
        return;
    }
    if let (Ok(after), Ok(now)) = (&record.version_after, now) {
        if after != now {
            record.outcome = Outcome::Accepted(format!(
                "the running version changed from {after} to {now} after the image was judged and before the suite's next look: installed late (settle_seconds is shorter than the install)"
            ));
            record.version_after = Ok(now.clone());
            // A probe after an image that was in fact installed says nothing about refusals.
            record.health = None;
        }
    }
}

/// The running version, asked twice before anything is sent: a query whose answer
/// changes by itself (or fails the second time) would make every image look installed
/// (or the unit look dead), so it is not used.
async fn stable_version(
    ctx: &RunContext,
    unit: &SampleUnit,
    version_query: &VersionQuery,
    base: &Path,
) -> VersionReading {
    let first = delivery::query_version(ctx, unit, version_query, base).await?;
    match delivery::query_version(ctx, unit, version_query, base).await {
        Ok(second) if second == first => Ok(first),
        Ok(second) => Err(format!(
            "it answered {first}, then {second} with nothing sent: it does not report a stable version"
        )),
        Err(why) => Err(format!("it answered {first}, then failed: {why}")),
    }
}

/// Sends the profile's image of `version` (the unit's version before the suite), if it
/// has one, and reads the version again.
async fn restore(
    ctx: &RunContext,
    unit: &SampleUnit,
    plan: &Plan<'_>,
    workdir: &Path,
    version: &str,
) -> Option<RestoreRecord> {
    let image = plan.restore_images.iter().find(|i| i.version == version)?;
    let delivered =
        delivery::deliver(ctx, unit, plan.options, plan.base, workdir, &image.artifact).await;
    let settle = Duration::from_secs(plan.options.settle_seconds);
    tokio::time::sleep(settle.min(ctx.time_left())).await;
    let version_after = query(ctx, unit, plan.options, plan.base, true).await;
    Some(RestoreRecord {
        image: image.label,
        version: image.version.clone(),
        channel_answer: delivered.answer.text().to_owned(),
        version_after,
    })
}

fn firmware_record(
    plan: &Plan<'_>,
    records: &[AttemptRecord],
    before: Option<Result<String, String>>,
    after: Option<Result<String, String>>,
    restore: Option<RestoreRecord>,
) -> FirmwareRecord {
    let named = plan.profile_firmware;
    let note = match (&before, &after) {
        (Some(Ok(b)), Some(Ok(a))) if a == b => {
            format!("Firmware of this unit: {b} before the suite and after it.")
        }
        (Some(Ok(b)), Some(Ok(a))) => {
            let (how, now) = match &restore {
                None => (
                    format!("; the profile has no image of {b} to put it back"),
                    a.clone(),
                ),
                Some(r) if r.version_after.as_deref() == Ok(b.as_str()) => (
                    format!("; restored to {b} by sending the {} image of it", r.image),
                    b.clone(),
                ),
                Some(r) => (
                    format!(
                        "; sending the {} image of {b} back did not restore it ({}; version now {})",
                        r.image,
                        r.channel_answer,
                        r.version_after.as_deref().unwrap_or_else(|why| why)
                    ),
                    r.version_after.clone().unwrap_or_else(|_| a.clone()),
                ),
            };
            let label = if now == named {
                String::new()
            } else {
                format!(" — it runs {now}, not the {named} the profile (and a label) names")
            };
            format!("Firmware of this unit: {b} before the suite, {a} after it{how}{label}.")
        }
        _ => {
            let genuine = records
                .iter()
                .find(|r| r.attack == Attack::Genuine.name())
                .map(|r| match &r.outcome {
                    Outcome::Accepted(_) => format!(
                        "it installed the genuine image ({}) last",
                        plan.options.genuine_version
                    ),
                    _ => "its last image, the genuine one, was not seen installed".to_owned(),
                })
                .unwrap_or_else(|| "the genuine image was not sent".to_owned());
            let why = match &before {
                Some(Err(why)) => format!(
                    "the version query failed before any image was sent ({why}), so the suite did not use it on this unit"
                ),
                Some(Ok(_)) => "the version query failed after the last image".to_owned(),
                None => "the profile gives no version query".to_owned(),
            };
            format!("Firmware of this unit before and after the suite: not read ({why}); {genuine}, and the profile names {named}.")
        }
    };
    FirmwareRecord {
        profile_names: named.to_owned(),
        before,
        after,
        restore,
        note,
    }
}

fn evidence_for(result: CheckResult, records: &[&AttemptRecord]) -> CheckResult {
    let mut result = result.with_evidence(Evidence::json("attempts", &records));
    for record in records {
        result = result.with_evidence(Evidence::text(
            EvidenceKind::Transcript,
            format!("delivery of {}", record.attack),
            &record.transcript,
        ));
    }
    result
}

/// A short name for an image in a proof: its attack name and the start of its digest.
fn image_name(record: &AttemptRecord) -> String {
    format!(
        "{} (sha256 {}…)",
        record.attack,
        record.image_sha256.get(..12).unwrap_or_default()
    )
}

fn decide(check: &'static str, unit: &str, plan: &Plan<'_>, run: &UnitRun) -> CheckResult {
    let unit_id = Some(unit);
    let note = &run.firmware.note;
    let genuine = run
        .records
        .iter()
        .find(|r| r.attack == Attack::Genuine.name());
    let genuine_installed = genuine.and_then(|r| match &r.outcome {
        Outcome::Accepted(how) => Some((r, how)),
        _ => None,
    });
    let genuine_status = genuine_status(genuine, run);
    if check == checks::UNHEALTHY_AFTER_REFUSAL {
        return decide_health(check, unit_id, run, genuine_installed, &genuine_status);
    }
    let skipped_note = skipped_note(plan, check);
    let relevant: Vec<&AttemptRecord> = run
        .records
        .iter()
        .filter(|r| attack_of(r.attack).is_some_and(|a| a.check() == check))
        .collect();
    let planned = plan
        .attempts
        .iter()
        .filter(|a| a.attack.check() == check)
        .count();
    if relevant.is_empty() {
        let why = if planned > 0 {
            run.stopped
                .clone()
                .unwrap_or_else(|| "the deadline passed before any image was sent".to_owned())
        } else {
            format!("no attack image could be made{skipped_note}")
        };
        return CheckResult::new(
            check,
            unit_id,
            Verdict::Inconclusive,
            format!("{why}. {note}"),
        );
    }
    if check == checks::GENUINE_IMAGE {
        let result = decide_genuine(check, unit_id, plan, run, &relevant, note);
        return evidence_for(result, &relevant);
    }
    let accepted = outcomes_of(&relevant, |o| match o {
        Outcome::Accepted(how) => Some(how),
        _ => None,
    });
    let not_delivered = outcomes_of(&relevant, |o| match o {
        Outcome::NotDelivered(how) => Some(how),
        _ => None,
    });
    let undetermined = outcomes_of(&relevant, |o| match o {
        Outcome::Undetermined(how) => Some(how),
        _ => None,
    });
    let sent = relevant.len();
    let result = if !accepted.is_empty() {
        CheckResult::new(
            check,
            unit_id,
            Verdict::Fail,
            format!(
                "the unit accepted {} of {sent} images: {}. {note}",
                accepted.len(),
                accepted.join("; ")
            ),
        )
    } else if !not_delivered.is_empty() {
        CheckResult::new(check, unit_id, Verdict::Error, format!("the harness could not deliver {} of {sent} images, so nothing is decided: {}. {note}", not_delivered.len(), not_delivered.join("; ")))
    } else if !undetermined.is_empty() {
        CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("{} of {sent} images got no answer that tells whether they were installed: {}{skipped_note}. {note}", undetermined.len(), undetermined.join("; ")))
    } else if sent < planned {
        CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("the unit refused the {sent} images it was sent, but {} of {planned} were not sent: {}. {note}", planned - sent, run.stopped.as_deref().unwrap_or("the deadline passed")))
    } else {
        refused_every_image(
            check,
            unit_id,
            &relevant,
            genuine_installed,
            &genuine_status,
            &skipped_note,
            note,
        )
    };
    evidence_for(result, &relevant)
}

/// What became of the genuine image on the unit, in words.
fn genuine_status(genuine: Option<&AttemptRecord>, run: &UnitRun) -> String {
    match genuine {
        None => run
            .stopped
            .clone()
            .unwrap_or_else(|| "the genuine image was not sent".to_owned()),
        Some(r) => match &r.outcome {
            Outcome::Accepted(how) => format!("installed: {how}"),
            Outcome::Refused(how) => format!("the genuine image was {how}"),
            Outcome::Undetermined(how) => {
                format!("whether the genuine image was installed is unknown: {how}")
            }
            Outcome::NotDelivered(how) => format!("the genuine image was not delivered: {how}"),
        },
    }
}

/// The attacks of `check` that could not be made, as a parenthesis for the summary;
/// empty when every one was made.
fn skipped_note(plan: &Plan<'_>, check: &str) -> String {
    let skipped_here: Vec<String> = plan
        .skipped
        .iter()
        .filter(|s| s.attack.check() == check)
        .map(|s| format!("{} not attempted: {}", s.attack.name(), s.reason))
        .collect();
    if skipped_here.is_empty() {
        String::new()
    } else {
        format!(" ({})", skipped_here.join("; "))
    }
}

/// `attack (description): how` for every record whose outcome is of the kind `kind` picks.
fn outcomes_of(relevant: &[&AttemptRecord], kind: fn(&Outcome) -> Option<&String>) -> Vec<String> {
    relevant
        .iter()
        .filter_map(|r| {
            kind(&r.outcome).map(|how| format!("{} ({}): {how}", r.attack, r.description))
        })
        .collect()
}

/// A check whose every image was sent and refused: a PASS when the unit then installed
/// the genuine image (the positive control: the channel and the acceptance signal work,
/// so the refusals are the device's verification); INCONCLUSIVE otherwise, as a unit
/// that refuses everything shows nothing about verification.
fn refused_every_image(
    check: &'static str,
    unit_id: Option<&str>,
    relevant: &[&AttemptRecord],
    genuine_installed: Option<(&AttemptRecord, &String)>,
    genuine_status: &str,
    skipped_note: &str,
    note: &str,
) -> CheckResult {
    let names: Vec<String> = relevant.iter().map(|r| image_name(r)).collect();
    match genuine_installed {
        Some((genuine, how)) => CheckResult::pass(
            check,
            unit_id,
            format!(
                "the unit refused every image: {}{skipped_note}, and then installed the genuine image. {note}",
                names.join(", ")
            ),
            Proof::observed(format!(
                "the genuine image {} was installed on this unit after these refusals ({how}), so the channel and the acceptance signal work and the refusals are the device's verification; refused: {}",
                image_name(genuine),
                relevant
                    .iter()
                    .map(|r| format!("{} — {}", r.attack, outcome_text(&r.outcome)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        ),
        None => CheckResult::new(
            check,
            unit_id,
            Verdict::Inconclusive,
            format!(
                "the unit refused every image ({}), but it was not seen to install the genuine image either ({genuine_status}): a unit that refuses everything shows nothing about verification. {note}",
                names.join(", ")
            ),
        ),
    }
}

fn outcome_text(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Accepted(how)
        | Outcome::Refused(how)
        | Outcome::Undetermined(how)
        | Outcome::NotDelivered(how) => how,
    }
}

fn decide_genuine(
    check: &'static str,
    unit_id: Option<&str>,
    plan: &Plan<'_>,
    run: &UnitRun,
    relevant: &[&AttemptRecord],
    note: &str,
) -> CheckResult {
    let options = plan.options;
    let verification = match plan.genuine_verification {
        Ok(how) => format!("Before sending, {how}."),
        Err(why) => format!("The manufacturer's own image does NOT verify against the declared signer certificate: {why}."),
    };
    let Some(record) = relevant.first() else {
        return CheckResult::new(
            check,
            unit_id,
            Verdict::Inconclusive,
            format!("{verification} The genuine image was not sent. {note}"),
        );
    };
    match &record.outcome {
        Outcome::Accepted(how) => {
            if let Ok(version) = &record.version_after {
                if *version != options.genuine_version {
                    return CheckResult::new(check, unit_id, Verdict::Fail, format!("{verification} The genuine image was reported installed ({how}) but the unit runs {version}, not {}. {note}", options.genuine_version));
                }
            }
            let refused: Vec<&AttemptRecord> = run
                .records
                .iter()
                .filter(|r| r.attack != Attack::Genuine.name() && matches!(r.outcome, Outcome::Refused(_)))
                .collect();
            if refused.is_empty() {
                return CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("{verification} The unit installed the genuine image ({how}), but it refused none of the altered images sent before it, so the acceptance signal was never seen to say no: installing the genuine image shows nothing here. {note}"));
            }
            CheckResult::pass(
                check,
                unit_id,
                format!("{verification} The genuine image was accepted ({how}). {note}"),
                Proof::observed(format!(
                    "the genuine image {} was installed on this unit ({how}), and the same acceptance signal said no to {} altered images ({}), so it tells an installed image from a refused one",
                    image_name(record),
                    refused.len(),
                    refused.iter().map(|r| r.attack).collect::<Vec<_>>().join(", ")
                )),
            )
        }
        Outcome::Refused(how) => CheckResult::new(check, unit_id, Verdict::Fail, format!("{verification} The unit refused the manufacturer's genuine image ({how}): its update mechanism does not work. {note}")),
        Outcome::Undetermined(how) => CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("{verification} {how}. {note}")),
        Outcome::NotDelivered(how) => CheckResult::new(check, unit_id, Verdict::Error, format!("{verification} The harness could not deliver the genuine image: {how}. {note}")),
    }
}

fn decide_health(
    check: &'static str,
    unit_id: Option<&str>,
    run: &UnitRun,
    genuine_installed: Option<(&AttemptRecord, &String)>,
    genuine_status: &str,
) -> CheckResult {
    let note = &run.firmware.note;
    let probed: Vec<&AttemptRecord> = run.records.iter().filter(|r| r.health.is_some()).collect();
    let probe = match &run.health_probe {
        Ok(probe) => *probe,
        Err(why) => {
            return evidence_for(
                CheckResult::new(
                    check,
                    unit_id,
                    Verdict::Inconclusive,
                    format!("{why}. {note}"),
                ),
                &probed,
            )
        }
    };
    let sick: Vec<String> = probed
        .iter()
        .filter_map(|r| match &r.health {
            Some(Err(why)) => Some(format!("after {}: {why}", r.attack)),
            _ => None,
        })
        .collect();
    let result = if !sick.is_empty() {
        CheckResult::new(
            check,
            unit_id,
            Verdict::Fail,
            format!(
                "the unit stopped answering {} after a refused image, although it answered before the first image: {}. {note}",
                probe.describe(),
                sick.join("; ")
            ),
        )
    } else if probed.is_empty() {
        CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("the unit refused no image, so whether it survives a refused image could not be observed. {note}"))
    } else {
        match genuine_installed {
            Some((genuine, how)) => CheckResult::pass(
                check,
                unit_id,
                format!("the unit answered after each of the {} images it refused, and then installed the genuine image. {note}", probed.len()),
                Proof::observed(format!(
                    "{} answered before the first image and after each of the {} refused images ({}), and the unit then installed the genuine image {} ({how})",
                    probe.describe(),
                    probed.len(),
                    probed.iter().map(|r| r.attack).collect::<Vec<_>>().join(", "),
                    image_name(genuine)
                )),
            ),
            None => CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("the unit answered {} after each of the {} images it refused, but was not seen to install the genuine image afterwards ({genuine_status}): answering is not working as an updatable device. {note}", probe.describe(), probed.len())),
        }
    };
    evidence_for(result, &probed)
}

fn attack_of(name: &str) -> Option<Attack> {
    Attack::ALL.into_iter().find(|a| a.name() == name)
}
