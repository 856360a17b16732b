//! What a suite is given when it runs, and the way its results leave it.
//!
//! The context carries everything a suite may use: the sample units, the profile, one
//! pacer per unit (shared with every other suite), the deadline, the cancellation token,
//! the scope guard and the event sink. Network helpers on the context apply the scope
//! guard and the pacer, so a suite cannot forget either.

use crate::event::{CheckResult, LogLevel, SuiteEvent};
use crate::net::{self, GuardedTcp, NetError};
use crate::pacer::{Attempt, Pacer};
use crate::profile::{Profile, SampleUnit};
use crate::scope::ScopeGuard;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One planned decision: a check on a unit, or a check across units (`unit: None`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlanKey {
    pub check: String,
    #[serde(default)]
    pub unit: Option<String>,
}

impl PlanKey {
    pub fn new(check: &str, unit: Option<&str>) -> Self {
        PlanKey {
            check: check.to_owned(),
            unit: unit.map(str::to_owned),
        }
    }
}

/// Where a suite's events go: the engine, which stores and shows them.
#[derive(Clone, Debug)]
pub struct EventSink {
    suite: Arc<str>,
    sender: mpsc::Sender<(Arc<str>, SuiteEvent)>,
}

impl EventSink {
    /// A sink for `suite` feeding `sender`; the engine makes these.
    pub fn new(suite: &str, sender: mpsc::Sender<(Arc<str>, SuiteEvent)>) -> Self {
        EventSink {
            suite: Arc::from(suite),
            sender,
        }
    }

    /// Send an event. If the engine is gone (the campaign is ending), the event is
    /// dropped: there is no one left to record it.
    pub async fn send(&self, event: SuiteEvent) {
        let _ = self.sender.send((Arc::clone(&self.suite), event)).await;
    }
}

/// Everything a suite may use while it runs.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub units: Vec<SampleUnit>,
    pub profile: Arc<Profile>,
    pub deadline: Instant,
    pub cancel: CancellationToken,
    pub scope: ScopeGuard,
    pacers: Arc<BTreeMap<String, Pacer>>,
    pending: Arc<BTreeSet<PlanKey>>,
    sink: EventSink,
}

impl RunContext {
    /// Assemble a context; the engine does this once per suite.
    pub fn new(
        profile: Arc<Profile>,
        pacers: Arc<BTreeMap<String, Pacer>>,
        deadline: Instant,
        cancel: CancellationToken,
        pending: BTreeSet<PlanKey>,
        sink: EventSink,
    ) -> Self {
        RunContext {
            units: profile.units.clone(),
            scope: ScopeGuard::new(profile.scope.allow.clone()),
            profile,
            deadline,
            cancel,
            pacers,
            pending: Arc::new(pending),
            sink,
        }
    }

    /// Whether this check on this unit still needs a decision. False for checks already
    /// decided in an interrupted run that is being resumed, and for checks not planned.
    pub fn is_pending(&self, check: &str, unit: Option<&str>) -> bool {
        self.pending.contains(&PlanKey::new(check, unit))
    }

    /// Whether any check of this unit is still pending.
    pub fn unit_has_pending(&self, unit: &str) -> bool {
        self.pending
            .iter()
            .any(|key| key.unit.as_deref() == Some(unit))
    }

    /// Time left before the suite deadline.
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// True when the campaign was cancelled or the deadline passed: stop sending.
    pub fn should_stop(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.deadline
    }

    /// The pacer shared by every suite for this unit.
    pub fn pacer(&self, unit: &SampleUnit) -> Pacer {
        match self.pacers.get(&unit.id) {
            Some(pacer) => pacer.clone(),
            None => {
                let pacing = &self.profile.pacing;
                Pacer::new(pacing.max_connections, pacing.connections_per_second)
            }
        }
    }

    /// Open a TCP connection to a unit: scope guard, then pacer, then a connect bounded
    /// by `timeout`, the deadline and cancellation.
    pub async fn connect_tcp(
        &self,
        unit: &SampleUnit,
        port: u16,
        timeout: Duration,
    ) -> Result<GuardedTcp, NetError> {
        let peer = SocketAddr::new(unit.address, port);
        self.scope
            .check(peer.ip())
            .map_err(|e| NetError::OutOfScope(e.to_string()))?;
        let pacer = self.pacer(unit);
        let attempt = async {
            let permit = pacer.connection().await;
            let connected = GuardedTcp::connect(peer, permit, timeout).await;
            tell_pacer(&pacer, port, connected.as_ref().map(|_| ()));
            connected
        };
        self.bounded(attempt).await
    }

    /// Whether a TCP port of a unit accepts a connection (`Ok(())`) or refuses it
    /// ([`NetError::Refused`]), without keeping the connection: scope guard and pacer as
    /// for [`RunContext::connect_tcp`], at a fraction of its cost, for port sweeps.
    /// Waiting for the pacer is not bounded by the deadline; callers check
    /// [`RunContext::should_stop`] between probes.
    pub async fn probe_tcp(
        &self,
        unit: &SampleUnit,
        port: u16,
        timeout: Duration,
    ) -> Result<(), NetError> {
        let peer = SocketAddr::new(unit.address, port);
        self.scope
            .check(peer.ip())
            .map_err(|e| NetError::OutOfScope(e.to_string()))?;
        // One probe is bounded by its own short timeout, cut to the deadline, so it
        // needs no cancellation branch (a timer and a waiter per probe would cost a
        // sweep more than the probes do).
        if self.cancel.is_cancelled() {
            return Err(NetError::Cancelled);
        }
        let timeout = timeout.min(self.time_left());
        if timeout.is_zero() {
            return Err(NetError::Timeout);
        }
        let pacer = self.pacer(unit);
        let _permit = pacer.connection().await;
        let probed = net::probe_tcp(peer, timeout).await;
        tell_pacer(&pacer, port, probed.as_ref().map(|_| ()));
        probed
    }

    /// Send one datagram to a unit and wait up to `wait` for one answer of at most
    /// `cap` bytes; scope-checked and paced like TCP.
    pub async fn udp_exchange(
        &self,
        unit: &SampleUnit,
        port: u16,
        payload: &[u8],
        wait: Duration,
        cap: usize,
    ) -> Result<Option<Vec<u8>>, NetError> {
        let peer = SocketAddr::new(unit.address, port);
        self.scope
            .check(peer.ip())
            .map_err(|e| NetError::OutOfScope(e.to_string()))?;
        let pacer = self.pacer(unit);
        let attempt = async {
            let _permit = pacer.connection().await;
            net::udp_exchange(peer, payload, wait, cap).await
        };
        self.bounded(attempt).await
    }

    /// Run `work` unless cancelled or past the deadline.
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, NetError>>,
    ) -> Result<T, NetError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(NetError::Cancelled),
            _ = tokio::time::sleep_until(self.deadline) => Err(NetError::Timeout),
            result = work => result,
        }
    }

    /// Report a decided check. Results for keys that are not pending are dropped by the
    /// engine, so a resumed campaign never records a check twice.
    pub async fn emit(&self, result: CheckResult) {
        self.sink.send(SuiteEvent::Result(result)).await;
    }

    /// Say that work on a check began.
    pub async fn started(&self, check: &str, unit: Option<&str>) {
        self.sink
            .send(SuiteEvent::Started {
                check: check.to_owned(),
                unit: unit.map(str::to_owned),
            })
            .await;
    }

    /// Report progress of long work.
    pub async fn progress(&self, done: u64, total: u64, message: impl Into<String>) {
        self.sink
            .send(SuiteEvent::Progress {
                done,
                total,
                message: Some(message.into()),
            })
            .await;
    }

    /// Add a line to the campaign log.
    pub async fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.sink
            .send(SuiteEvent::Log {
                level,
                message: message.into(),
            })
            .await;
    }
}

/// Tell `pacer` how a TCP connection attempt to `port` ended; outcomes that say nothing
/// about the unit (cancellation, local resources) are not told.
fn tell_pacer(pacer: &Pacer, port: u16, outcome: Result<(), &NetError>) {
    let attempt = match outcome {
        Ok(()) => Attempt::Accepted,
        Err(NetError::Refused) => Attempt::Refused,
        Err(NetError::Timeout) => Attempt::TimedOut,
        Err(NetError::Reset) => Attempt::Reset,
        Err(_) => return,
    };
    pacer.attempt_ended(port, attempt);
}
