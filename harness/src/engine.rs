//! The campaign engine: plan the checks, run the suites, and record every decision.
//!
//! Planning crosses suites, checks and sample units and asks each suite which checks
//! apply. Running checks the scope before the first packet, gives every unit one pacer
//! shared by all suites, runs the suites side by side under their deadline and the
//! campaign's cancellation token, and funnels their events through one stream: each
//! result is stored (with its evidence, durably) before the observer hears of it.
//! Whatever a suite leaves undecided is recorded honestly: INCONCLUSIVE when the
//! deadline cut it short, ERROR when the suite failed or forgot it; a PASS that does
//! not carry the proof of its positive control is recorded as ERROR.

use crate::model::{CampaignRecord, CampaignStatus, PlannedCheck, StoredResult, UnitPace};
use crate::store::{Store, StoreError};
use iotcert_suite::event::LogLevel;
use iotcert_suite::{
    Applicability, CheckResult, EventSink, Pacer, PlanKey, Profile, RunContext, ScopeGuard, Suite,
    SuiteEvent, Verdict,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a suite may overrun its deadline before the engine aborts it.
const DEADLINE_GRACE: Duration = Duration::from_secs(3);

/// Why a campaign could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    OutOfScope(#[from] iotcert_suite::OutOfScope),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("profile: {0}")]
    Profile(#[from] iotcert_suite::ProfileError),
    #[error("suite {0:?} named in the campaign is not available in this build")]
    MissingSuite(String),
}

/// Who hears about a campaign as it runs: the terminal, a test.
pub trait Observer: Send {
    fn suite_started(&mut self, _suite: &str, _pending: usize) {}
    fn check_started(&mut self, _suite: &str, _check: &str, _unit: Option<&str>) {}
    /// Called only after the result is durably stored.
    fn result(&mut self, _result: &StoredResult) {}
    fn progress(&mut self, _suite: &str, _done: u64, _total: u64, _message: Option<&str>) {}
    fn log(&mut self, _suite: &str, _level: LogLevel, _message: &str) {}
    fn suite_finished(&mut self, _suite: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Plan a new campaign for `profile_toml` (already parsed as `profile`).
pub fn plan_campaign(
    profile_path: &str,
    profile_toml: &str,
    profile: &Profile,
    suites: &[Arc<dyn Suite>],
) -> CampaignRecord {
    let started_at = OffsetDateTime::now_utc();
    let selected = suites.iter().filter(|suite| {
        let id = suite.descriptor().id;
        profile
            .campaign
            .suites
            .as_ref()
            .is_none_or(|only| only.contains(&id))
    });
    let mut descriptors = Vec::new();
    let mut plan = Vec::new();
    for suite in selected {
        let descriptor = suite.descriptor();
        plan.extend(
            iotcert_suite::plan_suite(suite.as_ref(), profile)
                .into_iter()
                .map(|decision| PlannedCheck {
                    suite: descriptor.id.clone(),
                    key: decision.key,
                    applicability: decision.applicability,
                }),
        );
        descriptors.push(descriptor);
    }
    let id = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}",
        started_at.year(),
        u8::from(started_at.month()),
        started_at.day(),
        started_at.hour(),
        started_at.minute(),
        started_at.second(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    CampaignRecord {
        id,
        status: CampaignStatus::Running,
        started_at,
        finished_at: None,
        profile_path: profile_path.to_owned(),
        profile_toml: profile_toml.to_owned(),
        profile_digest: Profile::digest(profile_toml),
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        suites: descriptors,
        plan,
        pacing: Vec::new(),
    }
}

/// Refuse the campaign if any unit lies outside the profile's scope. Called before the
/// store is touched and before any packet is sent.
pub fn check_scope(profile: &Profile) -> Result<(), iotcert_suite::OutOfScope> {
    let guard = ScopeGuard::new(profile.scope.allow.clone());
    profile
        .units
        .iter()
        .try_for_each(|unit| guard.check(unit.address))
}

/// Run (or resume) a planned campaign to its end, or until `cancel` fires.
///
/// Checks already stored for this campaign are not run again.
pub async fn execute(
    store: &Store,
    mut record: CampaignRecord,
    suites: &[Arc<dyn Suite>],
    observer: &mut dyn Observer,
    cancel: CancellationToken,
) -> Result<CampaignRecord, EngineError> {
    let profile = Arc::new(Profile::from_toml_str(&record.profile_toml)?);
    check_scope(&profile)?;
    let campaign = record.id.clone();
    record.status = CampaignStatus::Running;
    store.put_campaign(&record)?;

    let pending = pending_checks(store, observer, &record)?;
    let (together, alone) = schedule(&pending, suites)?;
    let deadline_after = Duration::from_secs(profile.campaign.suite_deadline_seconds);
    let (sender, receiver) = mpsc::channel::<(Arc<str>, SuiteEvent)>(1024);
    let (lifecycle, lifecycle_events) = mpsc::unbounded_channel::<Lifecycle>();
    let pacers = Arc::new(iotcert_suite::unit_pacers(&profile));
    let launcher = Launcher {
        pacers: Arc::clone(&pacers),
        profile,
        deadline_after,
        cancel: cancel.clone(),
        sender,
        lifecycle,
    };
    let scheduler = tokio::spawn(launcher.run_all(together, alone));

    let mut remaining = pending;
    let suite_ends = relay_until_suites_end(
        store,
        observer,
        &campaign,
        &mut remaining,
        receiver,
        lifecycle_events,
    )
    .await?;
    if let Err(error) = scheduler.await {
        observer.log(
            "engine",
            LogLevel::Warn,
            &format!("the suite scheduler ended abnormally: {error}"),
        );
    }

    for (suite, keys) in remaining {
        if !cancel.is_cancelled() {
            // After a cancellation, undecided checks stay pending for `--resume`.
            let end = suite_ends
                .get(&suite)
                .cloned()
                .unwrap_or_else(|| SuiteEnd::Failed("the suite task ended abnormally".into()));
            for key in keys {
                let (verdict, summary) = end.undecided_verdict(&suite, deadline_after);
                let result = CheckResult::new(key.check, key.unit.as_deref(), verdict, summary);
                record_and_report(store, observer, &campaign, &suite, result)?;
            }
        }
        observer.suite_finished(&suite);
    }

    record
        .pacing
        .extend(pacers.iter().map(|(unit, pacer)| UnitPace {
            unit: unit.clone(),
            record: pacer.record(),
        }));
    record.status = if cancel.is_cancelled() {
        CampaignStatus::Interrupted
    } else {
        record.finished_at = Some(OffsetDateTime::now_utc());
        CampaignStatus::Completed
    };
    store.put_campaign(&record)?;
    Ok(record)
}

/// The checks of the plan still to run, by suite. A check already stored is skipped; a
/// check the plan found not applicable is recorded so now, without running anything.
fn pending_checks(
    store: &Store,
    observer: &mut dyn Observer,
    record: &CampaignRecord,
) -> Result<BTreeMap<String, BTreeSet<PlanKey>>, EngineError> {
    let decided: BTreeSet<(String, PlanKey)> = store
        .results(&record.id)?
        .into_iter()
        .map(|r| {
            (
                r.suite,
                PlanKey {
                    check: r.check,
                    unit: r.unit,
                },
            )
        })
        .collect();
    let mut pending: BTreeMap<String, BTreeSet<PlanKey>> = BTreeMap::new();
    for planned in &record.plan {
        if decided.contains(&(planned.suite.clone(), planned.key.clone())) {
            continue;
        }
        match &planned.applicability {
            Applicability::NotApplicable { reason } => {
                let result = CheckResult::new(
                    planned.key.check.clone(),
                    planned.key.unit.as_deref(),
                    Verdict::NotApplicable,
                    reason.clone(),
                );
                record_and_report(store, observer, &record.id, &planned.suite, result)?;
            }
            Applicability::Applicable => {
                pending
                    .entry(planned.suite.clone())
                    .or_default()
                    .insert(planned.key.clone());
            }
        }
    }
    Ok(pending)
}

/// The suites with pending checks, split into those that may run side by side and
/// those that must run alone because they may disturb the device.
fn schedule(
    pending: &BTreeMap<String, BTreeSet<PlanKey>>,
    suites: &[Arc<dyn Suite>],
) -> Result<(Vec<Scheduled>, Vec<Scheduled>), EngineError> {
    let mut together = Vec::new();
    let mut alone = Vec::new();
    for (suite_id, keys) in pending {
        let suite = suites
            .iter()
            .find(|s| s.descriptor().id == *suite_id)
            .cloned()
            .ok_or_else(|| EngineError::MissingSuite(suite_id.clone()))?;
        let batch = if suite.disturbs_device() {
            &mut alone
        } else {
            &mut together
        };
        batch.push((suite_id.clone(), suite, keys.clone()));
    }
    Ok((together, alone))
}

/// Relay what running suites send to the store and the observer, keeping `remaining`
/// to the checks still undecided, until every suite has ended and the scheduler has
/// hung up: how each suite ended.
async fn relay_until_suites_end(
    store: &Store,
    observer: &mut dyn Observer,
    campaign: &str,
    remaining: &mut BTreeMap<String, BTreeSet<PlanKey>>,
    mut events: mpsc::Receiver<(Arc<str>, SuiteEvent)>,
    mut lifecycle: mpsc::UnboundedReceiver<Lifecycle>,
) -> Result<BTreeMap<String, SuiteEnd>, EngineError> {
    let mut suite_ends = BTreeMap::new();
    let (mut events_open, mut lifecycle_open) = (true, true);
    while events_open || lifecycle_open {
        tokio::select! {
            event = events.recv(), if events_open => match event {
                Some((suite, event)) => handle_event(store, observer, campaign, &suite, event, remaining)?,
                None => events_open = false,
            },
            change = lifecycle.recv(), if lifecycle_open => match change {
                Some(Lifecycle::Started { suite, pending }) => observer.suite_started(&suite, pending),
                Some(Lifecycle::Ended { suite, end }) => {
                    suite_ends.insert(suite, end);
                }
                None => lifecycle_open = false,
            },
        }
    }
    Ok(suite_ends)
}

/// How a suite's run ended, which decides the verdict of what it left undecided.
#[derive(Clone, Debug)]
enum SuiteEnd {
    Returned,
    Failed(String),
    DeadlinePassed,
    /// Cancelled and did not stop within the grace period.
    Cancelled,
}

impl SuiteEnd {
    fn undecided_verdict(&self, suite: &str, deadline: Duration) -> (Verdict, String) {
        match self {
            SuiteEnd::Returned => (
                Verdict::Error,
                format!(
                    "suite {suite} finished without deciding this check (a fault of the suite)"
                ),
            ),
            SuiteEnd::Failed(why) => (Verdict::Error, format!("suite {suite} failed: {why}")),
            SuiteEnd::Cancelled => (
                Verdict::Inconclusive,
                "the campaign was cancelled before this check was decided".to_owned(),
            ),
            SuiteEnd::DeadlinePassed => (
                Verdict::Inconclusive,
                format!(
                    "the suite deadline of {} s passed before this check was decided",
                    deadline.as_secs()
                ),
            ),
        }
    }
}

/// A suite starting or ending, told by the scheduler to the engine's event loop.
enum Lifecycle {
    Started { suite: String, pending: usize },
    Ended { suite: String, end: SuiteEnd },
}

/// A suite ready to run: its id, the suite, and the checks it must still decide.
type Scheduled = (String, Arc<dyn Suite>, BTreeSet<PlanKey>);

/// Starts suites: side by side those that leave the device as it was, then one at a
/// time those that may disturb it ([`Suite::disturbs_device`]). After a cancellation
/// nothing new starts; what is pending stays pending for `--resume`.
struct Launcher {
    profile: Arc<Profile>,
    pacers: Arc<BTreeMap<String, Pacer>>,
    deadline_after: Duration,
    cancel: CancellationToken,
    sender: mpsc::Sender<(Arc<str>, SuiteEvent)>,
    lifecycle: mpsc::UnboundedSender<Lifecycle>,
}

impl Launcher {
    async fn run_all(self, together: Vec<Scheduled>, alone: Vec<Scheduled>) {
        self.run_batch(together).await;
        for scheduled in alone {
            if self.cancel.is_cancelled() {
                break;
            }
            self.run_batch(vec![scheduled]).await;
        }
    }

    /// Run suites side by side until every one has ended; a panic is the suite's fault.
    async fn run_batch(&self, batch: Vec<Scheduled>) {
        let mut running = tokio::task::JoinSet::new();
        let mut task_suites: BTreeMap<tokio::task::Id, String> = BTreeMap::new();
        for (suite_id, suite, keys) in batch {
            let _ = self.lifecycle.send(Lifecycle::Started {
                suite: suite_id.clone(),
                pending: keys.len(),
            });
            let deadline = Instant::now() + self.deadline_after;
            let ctx = RunContext::new(
                Arc::clone(&self.profile),
                Arc::clone(&self.pacers),
                deadline,
                self.cancel.child_token(),
                keys,
                EventSink::new(&suite_id, self.sender.clone()),
            );
            let cancelled = self.cancel.clone();
            let task = running.spawn(async move {
                let cancelled_and_grace_passed = async {
                    cancelled.cancelled().await;
                    tokio::time::sleep(DEADLINE_GRACE).await;
                };
                tokio::select! {
                    ran = tokio::time::timeout_at(deadline + DEADLINE_GRACE, suite.run(ctx)) => match ran {
                        Ok(Ok(())) => SuiteEnd::Returned,
                        Ok(Err(error)) => SuiteEnd::Failed(error.to_string()),
                        Err(_) => SuiteEnd::DeadlinePassed,
                    },
                    _ = cancelled_and_grace_passed => SuiteEnd::Cancelled,
                }
            });
            task_suites.insert(task.id(), suite_id);
        }
        while let Some(joined) = running.join_next_with_id().await {
            let (id, end) = match joined {
                Ok(pair) => pair,
                Err(error) => (
                    error.id(),
                    SuiteEnd::Failed(format!("the suite task ended abnormally: {error}")),
                ),
            };
            if let Some(suite) = task_suites.remove(&id) {
                let _ = self.lifecycle.send(Lifecycle::Ended { suite, end });
            }
        }
    }
}

fn handle_event(
    store: &Store,
    observer: &mut dyn Observer,
    campaign: &str,
    suite: &str,
    event: SuiteEvent,
    remaining: &mut BTreeMap<String, BTreeSet<PlanKey>>,
) -> Result<(), EngineError> {
    match event {
        SuiteEvent::Started { check, unit } => {
            observer.check_started(suite, &check, unit.as_deref())
        }
        SuiteEvent::Progress {
            done,
            total,
            message,
        } => observer.progress(suite, done, total, message.as_deref()),
        SuiteEvent::Log { level, message } => observer.log(suite, level, &message),
        SuiteEvent::Result(result) => {
            let key = PlanKey::new(&result.check, result.unit.as_deref());
            let was_pending = remaining
                .get_mut(suite)
                .is_some_and(|keys| keys.remove(&key));
            if !was_pending {
                observer.log(
                    suite,
                    LogLevel::Warn,
                    &format!(
                        "dropped a result for {} on {}: not pending in this campaign",
                        result.check,
                        result.unit.as_deref().unwrap_or("all units")
                    ),
                );
                return Ok(());
            }
            // No PASS without proof, no NOT_APPLICABLE without a reason: whatever a
            // suite forgot becomes ERROR naming it.
            record_and_report(store, observer, campaign, suite, result.admitted(suite))?;
        }
    }
    Ok(())
}

fn record_and_report(
    store: &Store,
    observer: &mut dyn Observer,
    campaign: &str,
    suite: &str,
    result: CheckResult,
) -> Result<(), EngineError> {
    let stored = StoredResult {
        campaign: campaign.to_owned(),
        suite: suite.to_owned(),
        check: result.check,
        unit: result.unit,
        verdict: result.verdict,
        summary: result.summary,
        remediation: result.remediation,
        evidence: Vec::new(),
        effort: result.effort,
        proof: result.proof.map(|proof| proof.as_str().to_owned()),
        recorded_at: OffsetDateTime::now_utc(),
    };
    let written = tokio::task::block_in_place(|| store.record_result(stored, &result.evidence))?;
    if let Some(stored) = written {
        observer.result(&stored);
    }
    Ok(())
}
