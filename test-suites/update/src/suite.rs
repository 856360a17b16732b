//! `UpdateSuite`: loads the genuine image and the signers from the profile, verifies the
//! genuine image, sends every attack and then the genuine image to each unit through the
//! profile's channel, and decides the six checks from what each unit did.

use crate::attacks::{self, Attack, Attempt, Materials, Skipped};
use crate::checks;
use crate::delivery::{self, resolve};
use crate::formats::{Genuine, MAX_IMAGE_SIZE};
use crate::keys::{self, Signer};
use iotcert_suite::event::LogLevel;
use iotcert_suite::profile::{UpdateDelivery, UpdateOptions};
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Evidence, EvidenceKind, Profile, RunContext, SampleUnit,
    Suite, SuiteDescriptor, SuiteError, Verdict,
};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.1.0";

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

    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability {
        if !checks::ALL.contains(&check.id.as_str()) {
            return Applicability::NotApplicable {
                reason: format!("`{}` is not a check of the update suite", check.id),
            };
        }
        let Some(options) = &profile.update else {
            return Applicability::NotApplicable {
                reason: "the profile declares no update mechanism (no [update] section), so there is no update to tamper with".to_owned(),
            };
        };
        if check.id == checks::UNHEALTHY_AFTER_REFUSAL
            && options.version_query.is_none()
            && !matches!(options.delivery, UpdateDelivery::HttpUpload { .. })
        {
            return Applicability::NotApplicable {
                reason: "the profile gives no version query and the delivery is not an upload to the device, so there is nothing to probe for the device's health".to_owned(),
            };
        }
        Applicability::Applicable
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let Some(options) = ctx.profile.update.clone() else {
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
        let loaded = match Loaded::from_profile(&options, &self.profile_dir) {
            Ok(loaded) => loaded,
            Err(why) => {
                for unit in &units {
                    for check in pending(&ctx, unit) {
                        ctx.emit(CheckResult::new(
                            check,
                            Some(&unit.id),
                            Verdict::Error,
                            format!("the update materials of the profile cannot be used: {why}"),
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
        // Units are exercised one after another: an update changes the unit, and the
        // pacer of each unit is shared with the other suites.
        for unit in &units {
            exercise_unit(
                &ctx,
                unit,
                &options,
                &self.profile_dir,
                &attempts,
                &skipped,
                &genuine_verification,
            )
            .await;
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

/// How a unit answered one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
enum Outcome {
    Accepted(String),
    Refused(String),
    Undetermined(String),
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
    /// After a refused image: whether the unit still answered.
    health: Option<Result<String, String>>,
    #[serde(skip)]
    transcript: String,
}

async fn query(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
) -> Result<String, String> {
    match &options.version_query {
        Some(query) => delivery::query_version(ctx, unit, query, base).await,
        None => Err("no version query in the profile".to_owned()),
    }
}

fn judge(
    accepted: Option<bool>,
    answer: &str,
    before: &Result<String, String>,
    after: &Result<String, String>,
    installs: &str,
) -> Outcome {
    if let (Ok(before), Ok(after)) = (before, after) {
        if before != after {
            return Outcome::Accepted(format!(
                "the running version changed from {before} to {after} ({answer})"
            ));
        }
    }
    match accepted {
        Some(true) => Outcome::Accepted(format!("the channel reported success ({answer})")),
        Some(false) => Outcome::Refused(format!("the channel reported failure ({answer})")),
        None => match after {
            Ok(after) if after != installs => Outcome::Refused(format!(
                "no answer from the channel ({answer}), and the version stayed {after}"
            )),
            _ => Outcome::Undetermined(format!(
                "no answer from the channel ({answer}), and the version cannot tell"
            )),
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn exercise_unit(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
    attempts: &[Attempt],
    skipped: &[Skipped],
    genuine_verification: &Result<String, String>,
) {
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
    let settle = Duration::from_secs(options.settle_seconds);
    let mut records: Vec<AttemptRecord> = Vec::new();
    let total = attempts.len() as u64;
    for (index, attempt) in attempts.iter().enumerate() {
        if ctx.should_stop() {
            break;
        }
        let version_before = query(ctx, unit, options, base).await;
        let delivered =
            delivery::deliver(ctx, unit, options, base, workdir.path(), &attempt.artifact).await;
        tokio::time::sleep(settle.min(ctx.time_left())).await;
        let version_after = query(ctx, unit, options, base).await;
        let outcome = judge(
            delivered.accepted,
            &delivered.answer,
            &version_before,
            &version_after,
            &attempt.installs_version,
        );
        let health = if matches!(outcome, Outcome::Refused(_)) {
            delivery::probe_health(ctx, unit, options, base).await
        } else {
            None
        };
        records.push(AttemptRecord {
            attack: attempt.attack.name(),
            description: attempt.description.clone(),
            image_sha256: crate::sha256_hex(&attempt.artifact.image),
            image_bytes: attempt.artifact.image.len(),
            signature_sha256: attempt.artifact.signature.as_deref().map(crate::sha256_hex),
            installs_version: attempt.installs_version.clone(),
            channel_answer: delivered.answer,
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
    for check in pending_checks {
        let result = decide(
            check,
            &unit.id,
            attempts,
            &records,
            skipped,
            genuine_verification,
            options,
        );
        ctx.emit(result).await;
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

fn decide(
    check: &'static str,
    unit: &str,
    attempts: &[Attempt],
    records: &[AttemptRecord],
    skipped: &[Skipped],
    genuine_verification: &Result<String, String>,
    options: &UpdateOptions,
) -> CheckResult {
    let unit_id = Some(unit);
    let skipped_here: Vec<String> = skipped
        .iter()
        .filter(|s| s.attack.check() == check)
        .map(|s| format!("{} not attempted: {}", s.attack.name(), s.reason))
        .collect();
    let skipped_note = if skipped_here.is_empty() {
        String::new()
    } else {
        format!(" ({})", skipped_here.join("; "))
    };
    if check == checks::UNHEALTHY_AFTER_REFUSAL {
        let probed: Vec<&AttemptRecord> = records.iter().filter(|r| r.health.is_some()).collect();
        let sick: Vec<String> = probed
            .iter()
            .filter_map(|r| match &r.health {
                Some(Err(why)) => Some(format!("after {}: {why}", r.attack)),
                _ => None,
            })
            .collect();
        let refused = records
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Refused(_)))
            .count();
        let result = if probed.is_empty() && refused > 0 {
            CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("the unit refused {refused} images, but the profile gives no version query and no device port to probe its health with"))
        } else if probed.is_empty() {
            CheckResult::new(check, unit_id, Verdict::Inconclusive, "the unit refused no image, so whether it survives a refused image could not be observed")
        } else if sick.is_empty() {
            CheckResult::new(
                check,
                unit_id,
                Verdict::Pass,
                format!(
                    "the unit answered after each of the {} images it refused",
                    probed.len()
                ),
            )
        } else {
            CheckResult::new(
                check,
                unit_id,
                Verdict::Fail,
                format!(
                    "the unit stopped answering after a refused image: {}",
                    sick.join("; ")
                ),
            )
        };
        return evidence_for(result, &probed);
    }
    let relevant: Vec<&AttemptRecord> = records
        .iter()
        .filter(|r| attack_of(r.attack).is_some_and(|a| a.check() == check))
        .collect();
    let planned = attempts
        .iter()
        .filter(|a| a.attack.check() == check)
        .count();
    if relevant.is_empty() {
        let why = if planned > 0 {
            "the deadline passed before any image was sent".to_owned()
        } else {
            format!("no attack image could be made{skipped_note}")
        };
        return CheckResult::new(check, unit_id, Verdict::Inconclusive, why);
    }
    if check == checks::GENUINE_IMAGE {
        let verification = match genuine_verification {
            Ok(how) => format!("Before sending, {how}."),
            Err(why) => format!("The manufacturer's own image does NOT verify against the declared signer certificate: {why}."),
        };
        let result = match relevant.first().map(|r| (&r.outcome, &r.version_after)) {
            Some((Outcome::Accepted(how), after)) => match (after, &options.version_query) {
                (Ok(version), Some(_)) if *version != options.genuine_version => CheckResult::new(check, unit_id, Verdict::Fail, format!("{verification} The genuine image was reported installed ({how}) but the unit runs {version}, not {}.", options.genuine_version)),
                _ => CheckResult::new(check, unit_id, Verdict::Pass, format!("{verification} The genuine image was accepted: {how}.")),
            },
            Some((Outcome::Refused(how), _)) => CheckResult::new(check, unit_id, Verdict::Fail, format!("{verification} The unit refused the manufacturer's genuine image ({how}): its update mechanism does not work.")),
            Some((Outcome::Undetermined(how), _)) => CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("{verification} {how}")),
            None => CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("{verification} The genuine image was not sent.")),
        };
        return evidence_for(result, &relevant);
    }
    let accepted: Vec<String> = relevant
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Accepted(how) => Some(format!("{} ({}): {how}", r.attack, r.description)),
            _ => None,
        })
        .collect();
    let undetermined = relevant
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Undetermined(_)))
        .count();
    let result = if !accepted.is_empty() {
        CheckResult::new(
            check,
            unit_id,
            Verdict::Fail,
            format!(
                "the unit accepted {} of {} images: {}",
                accepted.len(),
                relevant.len(),
                accepted.join("; ")
            ),
        )
    } else if undetermined > 0 {
        CheckResult::new(check, unit_id, Verdict::Inconclusive, format!("{undetermined} of {} images got no answer that tells whether they were installed{skipped_note}", relevant.len()))
    } else {
        let names: Vec<&str> = relevant.iter().map(|r| r.attack).collect();
        CheckResult::new(
            check,
            unit_id,
            Verdict::Pass,
            format!(
                "the unit refused every image: {}{skipped_note}",
                names.join(", ")
            ),
        )
    };
    evidence_for(result, &relevant)
}

fn attack_of(name: &str) -> Option<Attack> {
    Attack::ALL.into_iter().find(|a| a.name() == name)
}
