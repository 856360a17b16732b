//! The test kit of iotcert's suites, one crate (as rustls keeps its `rustls-test`) in
//! place of a copy of the same helpers in every suite's `tests/common`.
//!
//! - [`run_planned`]: a suite on a profile exactly as a campaign plans it (the SDK's
//!   planner, per-unit pacers, results admitted as the harness admits them).
//! - [`run_pending`]: a suite with an explicit set of pending decisions (a resumed
//!   campaign, or a test that wants what the suite itself emitted, not yet admitted).
//! - [`Run`]: what came out, with lookups that fail the test with everything seen.
//! - [`require_tool`], [`Daemon`]: the real programs tests start, and ending them by pid.
//! - [`bounds`]: the battery every suite runs on the numbers of its profile section.
//!
//! A test panics on purpose when something is missing: that is a failed test.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

pub mod bounds;

use iotcert_suite::{
    plan_suite, unit_pacers, Applicability, CheckResult, CheckScope, EventSink, Evidence, PlanKey,
    Profile, RunContext, Suite, SuiteEvent, Verdict,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What one run of a suite produced.
pub struct Run {
    /// Every result, in the order the suite emitted them.
    pub results: Vec<CheckResult>,
    /// Every event (progress, logs, results).
    pub events: Vec<SuiteEvent>,
    /// How long the suite ran.
    pub elapsed: Duration,
}

impl Run {
    /// The result of `check` on `unit` (`None`: across units); fails the test with the
    /// list of results when there is none.
    pub fn result<'u>(&self, check: &str, unit: impl Into<Option<&'u str>>) -> &CheckResult {
        let unit = unit.into();
        self.results
            .iter()
            .find(|r| r.check == check && r.unit.as_deref() == unit)
            .unwrap_or_else(|| {
                panic!(
                    "no result for {check} on {unit:?}; got {:#?}",
                    self.results
                        .iter()
                        .map(|r| (&r.check, &r.unit, r.verdict))
                        .collect::<Vec<_>>()
                )
            })
    }

    /// The verdict of `check` on `unit`.
    pub fn verdict<'u>(&self, check: &str, unit: impl Into<Option<&'u str>>) -> Verdict {
        self.result(check, unit).verdict
    }

    /// The first evidence item of `check` on `unit` whose label starts with `label`.
    pub fn evidence<'u>(
        &self,
        check: &str,
        unit: impl Into<Option<&'u str>>,
        label: &str,
    ) -> &Evidence {
        let result = self.result(check, unit);
        result
            .evidence
            .iter()
            .find(|e| e.label.starts_with(label))
            .unwrap_or_else(|| panic!("no evidence {label:?} in {} {:?}", check, result.unit))
    }

    /// [`Run::evidence`] read as JSON.
    pub fn evidence_json<'u>(
        &self,
        check: &str,
        unit: impl Into<Option<&'u str>>,
        label: &str,
    ) -> serde_json::Value {
        serde_json::from_slice(&self.evidence(check, unit, label).data)
            .unwrap_or_else(|e| panic!("evidence {label:?} of {check} is not JSON: {e}"))
    }

    /// Every progress report, as `(done, total)`, in order.
    pub fn progress(&self) -> Vec<(u64, u64)> {
        self.events
            .iter()
            .filter_map(|event| match event {
                SuiteEvent::Progress { done, total, .. } => Some((*done, *total)),
                _ => None,
            })
            .collect()
    }

    /// Print every result (shown when a test fails, or with `--nocapture`).
    pub fn dump(&self) {
        for result in &self.results {
            eprintln!(
                "{} {} {}: {}",
                result.unit.as_deref().unwrap_or("-"),
                result.check,
                result.verdict,
                result.summary
            );
        }
        eprintln!("suite ran for {:?}", self.elapsed);
    }
}

/// Run `suite` on `profile` as a campaign plans it: every applicable decision pending,
/// the not-applicable ones decided NOT_APPLICABLE with their reason, each unit with its
/// pacer, and every result admitted as the harness admits it (a PASS without proof is
/// an ERROR). Fails the test when the suite does not return within `limit` and a grace
/// of 30 s.
pub async fn run_planned(suite: &dyn Suite, profile: Profile, limit: Duration) -> Run {
    let suite_id = suite.descriptor().id;
    let mut pending = BTreeSet::new();
    let mut not_applicable = Vec::new();
    for decision in plan_suite(suite, &profile) {
        match decision.applicability {
            Applicability::Applicable => {
                pending.insert(decision.key);
            }
            Applicability::NotApplicable { reason } => not_applicable.push(CheckResult::new(
                &decision.key.check,
                decision.key.unit.as_deref(),
                Verdict::NotApplicable,
                &reason,
            )),
        }
    }
    let pacers = unit_pacers(&profile);
    let mut run = run_with(suite, profile, pending, pacers, limit, limit + GRACE).await;
    run.results = not_applicable
        .into_iter()
        .chain(run.results.into_iter().map(|r| r.admitted(&suite_id)))
        .collect();
    run
}

/// Run `suite` with exactly `pending` to decide and no pacing, and return what it
/// emitted, not yet admitted: a test then sees the verdict the suite itself decided.
/// The suite's deadline is the profile's `suite_deadline_seconds`; the test fails when
/// the suite has not returned within `limit`.
pub async fn run_pending(
    suite: &dyn Suite,
    profile: Profile,
    pending: BTreeSet<PlanKey>,
    limit: Duration,
) -> Run {
    let deadline = Duration::from_secs(profile.campaign.suite_deadline_seconds);
    run_with(suite, profile, pending, BTreeMap::new(), deadline, limit).await
}

/// Every decision `suite` could owe `profile`, applicable or not: each per-unit check
/// on every unit, each across-units check once.
pub fn every_decision(suite: &dyn Suite, profile: &Profile) -> BTreeSet<PlanKey> {
    let mut keys = BTreeSet::new();
    for check in suite.descriptor().checks {
        match check.scope {
            CheckScope::PerUnit => keys.extend(
                profile
                    .units
                    .iter()
                    .map(|unit| PlanKey::new(&check.id, Some(&unit.id))),
            ),
            CheckScope::AcrossUnits => {
                keys.insert(PlanKey::new(&check.id, None));
            }
        }
    }
    keys
}

/// How long after its own deadline a suite may take to return before a test fails.
const GRACE: Duration = Duration::from_secs(30);

async fn run_with(
    suite: &dyn Suite,
    profile: Profile,
    pending: BTreeSet<PlanKey>,
    pacers: BTreeMap<String, iotcert_suite::Pacer>,
    deadline: Duration,
    limit: Duration,
) -> Run {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some((_, event)) = receiver.recv().await {
            events.push(event);
        }
        events
    });
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(pacers),
        tokio::time::Instant::now() + deadline,
        CancellationToken::new(),
        pending,
        EventSink::new(&suite.descriptor().id, sender),
    );
    let started = Instant::now();
    let outcome = tokio::time::timeout(limit, suite.run(ctx)).await;
    let elapsed = started.elapsed();
    match outcome {
        Err(_) => panic!("the suite did not finish within {limit:?}"),
        Ok(Err(error)) => panic!("the suite failed: {error}"),
        Ok(Ok(())) => {}
    }
    let events = collector.await.expect("the event collector");
    let results = events
        .iter()
        .filter_map(|event| match event {
            SuiteEvent::Result(result) => Some(result.clone()),
            _ => None,
        })
        .collect();
    Run {
        results,
        events,
        elapsed,
    }
}

/// The path of `program` (on PATH, or in /usr/sbin or /sbin); fails the test with the
/// Debian package to install when it is missing (scripts/test installs them all).
pub fn require_tool(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{program}` is missing: install it with `apt-get install -y {package}` (as root; scripts/test does) and rerun the tests")
    })
}

/// Run `program` in `dir`, failing the test with its output if it fails; its stdout.
pub fn command_output(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} cannot run ({e}); install it (scripts/test installs it)")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A daemon started by a test, killed by its pid when the test ends (even on panic).
pub struct Daemon {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Start `command` with its output in `log`.
    pub fn start(name: &str, command: &mut Command, log: &Path) -> Daemon {
        let log_file = std::fs::File::create(log).expect("daemon log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name}: {e}"));
        Daemon {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait until `address` accepts connections, or fail with the daemon's log.
    pub fn wait_listening(&mut self, address: SocketAddr) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on {address}: {}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not listen on {address} within 15 s: {}",
            self.name,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this daemon's pid, and only to it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
