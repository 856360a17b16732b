//! The TCP connect sweep: which ports of a unit accept a connection.
//!
//! A sliding window of connects (fill a `FuturesUnordered`, add one as one finishes),
//! each with its own timeout, through `RunContext::probe_tcp` so the scope guard and
//! the device's pacer apply to every attempt. The window is split into one shard per
//! runtime worker so both the kernel work and the polling spread over the cores.
//!
//! Nothing may be missed under load: an attempt that timed out is retried later, and
//! one that failed for lack of local resources (EMFILE, EADDRNOTAVAIL) halves the
//! window and is retried after a pause, the window growing back one slot per window of
//! answers. A port is reported closed only when the device said so (RST), and not
//! while it was in distress: a fragile stack resets every port when overloaded, so the
//! ports refused shortly before and after the unit's pacer saw distress are swept again
//! at the pace it backed off to, up to [`MAX_REPROBE_PASSES`] times; what is still
//! refused in distress after that is reported untried.

use futures::stream::{FuturesUnordered, StreamExt};
use iotcert_suite::{NetError, RunContext, SampleUnit};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a sweep is run.
#[derive(Clone, Debug)]
pub struct SweepSettings {
    /// Time allowed to one connect attempt.
    pub connect_timeout: Duration,
    /// Extra attempts for a port whose attempt timed out or failed locally.
    pub retries: u8,
    /// Connects in flight at once, over all shards.
    pub window: usize,
    /// Independent windows, each with an interleaved share of the ports.
    pub shards: usize,
}

impl SweepSettings {
    /// One shard per runtime worker, never more shards than window slots.
    pub fn shards_for(window: usize) -> usize {
        let workers = tokio::runtime::Handle::try_current()
            .map(|runtime| runtime.metrics().num_workers())
            .unwrap_or(1);
        workers.clamp(1, window.max(1))
    }
}

/// Sweeps again of the ports refused while the unit was in distress, at most.
pub const MAX_REPROBE_PASSES: usize = 3;
/// A port refused this close to a sign of distress the pacer saw counts as refused in
/// distress: the liveness probe notices an overloaded stack within a few of its
/// intervals, and the stack recovers within a few more once the pace is cut.
const DISTRESS_MARGIN: Duration = Duration::from_millis(250);

/// What a sweep found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SweepReport {
    pub ports_requested: usize,
    pub open: BTreeSet<u16>,
    /// Ports that refused the connection (a reset in answer to the SYN).
    pub closed: usize,
    /// Attempts made again because the port was refused while the unit was in distress.
    pub reprobed: usize,
    /// Ports whose every attempt timed out: a firewall drops the SYN (nmap: filtered).
    pub filtered: BTreeSet<u16>,
    /// Ports never tried for reasons on the harness's side, with the reason.
    pub untried: BTreeMap<u16, String>,
    /// Why the sweep stopped because the unit could not be reached.
    pub unreachable: Option<String>,
    /// Why the sweep stopped early (deadline, cancellation, scope).
    pub interrupted: Option<String>,
    pub retried_attempts: u64,
    pub window: usize,
    pub shards: usize,
    /// The sum of each shard's smallest window: below `window` when local-resource
    /// failures made the sweep back off.
    pub smallest_window: usize,
    pub duration_ms: u64,
}

impl SweepReport {
    /// Ports whose state was decided (open, closed or filtered).
    pub fn decided(&self) -> usize {
        self.open.len() + self.closed + self.filtered.len()
    }

    /// True when every requested port was decided.
    pub fn complete(&self) -> bool {
        self.unreachable.is_none() && self.interrupted.is_none() && self.untried.is_empty()
    }
}

/// What one shard found.
#[derive(Default)]
struct ShardReport {
    open: Vec<u16>,
    /// Ports that refused, and when.
    refused: Vec<(u16, tokio::time::Instant)>,
    filtered: Vec<u16>,
    untried: Vec<(u16, String)>,
    unreachable: Option<String>,
    interrupted: Option<String>,
    retried_attempts: u64,
    smallest_window: usize,
}

/// State shared by the shards of one sweep.
struct Shared {
    decided: AtomicU64,
    /// Set when one shard found a reason for all to stop.
    stop: AtomicBool,
}

/// Sweep `ports` of `unit`, reporting progress through the context; ports refused
/// while the unit was in distress are swept again.
pub async fn sweep_tcp(
    ctx: &RunContext,
    unit: &SampleUnit,
    ports: &[u16],
    settings: &SweepSettings,
) -> SweepReport {
    let started = Instant::now();
    let pacer = ctx.pacer(unit);
    let mut pass_started = tokio::time::Instant::now();
    let (mut report, mut refused) = sweep_pass(ctx, unit, ports, settings).await;
    for _ in 0..MAX_REPROBE_PASSES {
        let suspect = refused_in_distress(&refused, pacer.distress_since(pass_started));
        if suspect.is_empty() || !report.complete() {
            break;
        }
        pass_started = tokio::time::Instant::now();
        let again: Vec<u16> = suspect.iter().copied().collect();
        let (pass, refused_again) = sweep_pass(ctx, unit, &again, settings).await;
        refused.retain(|(port, _)| !suspect.contains(port));
        refused.extend(refused_again);
        report.reprobed += again.len();
        report.open.extend(pass.open);
        report.filtered.extend(pass.filtered);
        report.untried.extend(pass.untried);
        report.retried_attempts += pass.retried_attempts;
        report.smallest_window = report.smallest_window.min(pass.smallest_window);
        report.unreachable = report.unreachable.or(pass.unreachable);
        report.interrupted = report.interrupted.or(pass.interrupted);
    }
    let still_suspect = refused_in_distress(&refused, pacer.distress_since(pass_started));
    for &port in &still_suspect {
        report.untried.insert(
            port,
            format!(
                "refused while the unit showed distress, {} times swept",
                MAX_REPROBE_PASSES + 1
            ),
        );
    }
    report.closed = refused.len().saturating_sub(still_suspect.len());
    report.duration_ms = iotcert_suite::event::whole_milliseconds(started.elapsed());
    report
}

/// The ports refused within [`DISTRESS_MARGIN`] of a sign of distress (`distress`,
/// oldest first), or every refused port when the pacer could not say when distress came.
fn refused_in_distress(
    refused: &[(u16, tokio::time::Instant)],
    distress: Option<Vec<tokio::time::Instant>>,
) -> BTreeSet<u16> {
    let Some(distress) = distress else {
        return refused.iter().map(|(port, _)| *port).collect();
    };
    let near_distress = |at: tokio::time::Instant| {
        let after = distress.partition_point(|&sign| sign < at);
        let next = distress
            .get(after)
            .is_some_and(|&sign| sign - at <= DISTRESS_MARGIN);
        let previous = after
            .checked_sub(1)
            .and_then(|before| distress.get(before))
            .is_some_and(|&sign| at - sign <= DISTRESS_MARGIN);
        next || previous
    };
    refused
        .iter()
        .filter(|(_, at)| near_distress(*at))
        .map(|(port, _)| *port)
        .collect()
}

/// One sweep of `ports`: what it found, and when each refused port refused.
async fn sweep_pass(
    ctx: &RunContext,
    unit: &SampleUnit,
    ports: &[u16],
    settings: &SweepSettings,
) -> (SweepReport, Vec<(u16, tokio::time::Instant)>) {
    let shards = settings.shards.clamp(1, settings.window.max(1));
    let shared = Arc::new(Shared {
        decided: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for shard in 0..shards {
        let share: Vec<u16> = ports.iter().skip(shard).step_by(shards).copied().collect();
        let window = settings.window / shards + usize::from(shard < settings.window % shards);
        tasks.spawn(sweep_shard(
            ctx.clone(),
            unit.clone(),
            share,
            settings.clone(),
            window.max(1),
            Arc::clone(&shared),
        ));
    }
    let mut report = SweepReport {
        ports_requested: ports.len(),
        window: settings.window,
        shards,
        ..SweepReport::default()
    };
    let mut refused = Vec::new();
    let total = ports.len() as u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(shard)) => merge(&mut report, &mut refused, shard),
                Some(Err(error)) => {
                    report.interrupted.get_or_insert_with(|| format!("a sweep task failed: {error}"));
                }
            },
            _ = ticker.tick() => {
                let decided = shared.decided.load(Ordering::Relaxed);
                ctx.progress(decided, total, format!("{}: TCP sweep {decided}/{total} ports", unit.id)).await;
            }
        }
    }
    report.closed = refused.len();
    (report, refused)
}

fn merge(
    report: &mut SweepReport,
    refused: &mut Vec<(u16, tokio::time::Instant)>,
    shard: ShardReport,
) {
    report.open.extend(shard.open);
    refused.extend(shard.refused);
    report.filtered.extend(shard.filtered);
    report.untried.extend(shard.untried);
    report.retried_attempts += shard.retried_attempts;
    report.smallest_window += shard.smallest_window;
    if report.unreachable.is_none() {
        report.unreachable = shard.unreachable;
    }
    if report.interrupted.is_none() {
        report.interrupted = shard.interrupted;
    }
}

/// A port waiting for an attempt: how many it had, and how long to pause first.
struct Pending {
    port: u16,
    attempts: u8,
    pause: Duration,
}

/// One connect attempt, after an optional pause (backoff after local failures).
async fn attempt(
    ctx: &RunContext,
    unit: &SampleUnit,
    pending: Pending,
    timeout: Duration,
) -> (Pending, Result<(), NetError>) {
    if !pending.pause.is_zero() {
        tokio::time::sleep(pending.pause).await;
    }
    let result = ctx.probe_tcp(unit, pending.port, timeout).await;
    (pending, result)
}

/// The pause before retrying after the `attempts`-th local-resource failure.
fn local_backoff(attempts: u8) -> Duration {
    Duration::from_millis(20u64 << attempts.min(6))
}

async fn sweep_shard(
    ctx: RunContext,
    unit: SampleUnit,
    ports: Vec<u16>,
    settings: SweepSettings,
    full_window: usize,
    shared: Arc<Shared>,
) -> ShardReport {
    let mut report = ShardReport {
        smallest_window: full_window,
        ..ShardReport::default()
    };
    let mut queue: VecDeque<Pending> = ports
        .into_iter()
        .map(|port| Pending {
            port,
            attempts: 0,
            pause: Duration::ZERO,
        })
        .collect();
    let mut window = full_window;
    let mut growth_credit = 0usize;
    let mut in_flight = FuturesUnordered::new();
    let count_decided = || {
        shared.decided.fetch_add(1, Ordering::Relaxed);
    };
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        while in_flight.len() < window {
            let Some(next) = queue.pop_front() else {
                break;
            };
            in_flight.push(attempt(&ctx, &unit, next, settings.connect_timeout));
        }
        let Some((pending, result)) = in_flight.next().await else {
            break;
        };
        let retry_allowed = pending.attempts < settings.retries;
        match result {
            Ok(()) | Err(NetError::Refused) | Err(NetError::Reset) => {
                match result {
                    // A reset during connect comes after the handshake completed (a
                    // refused SYN is ECONNREFUSED): something listens, then resets.
                    Ok(()) | Err(NetError::Reset) => report.open.push(pending.port),
                    _ => report
                        .refused
                        .push((pending.port, tokio::time::Instant::now())),
                }
                count_decided();
                if window < full_window {
                    growth_credit += 1;
                    if growth_credit >= window {
                        window += 1;
                        growth_credit = 0;
                    }
                }
            }
            Err(NetError::Timeout) if ctx.should_stop() => {
                report.interrupted = Some("the suite deadline passed during the sweep".into());
                break;
            }
            Err(NetError::Cancelled) => {
                report.interrupted = Some("the campaign was cancelled during the sweep".into());
                break;
            }
            Err(NetError::OutOfScope(why)) => {
                report.interrupted = Some(why);
                break;
            }
            Err(NetError::LocalResources(why)) => {
                window = (window / 2).max(1);
                report.smallest_window = report.smallest_window.min(window);
                if retry_allowed {
                    report.retried_attempts += 1;
                    queue.push_front(Pending {
                        port: pending.port,
                        attempts: pending.attempts + 1,
                        pause: local_backoff(pending.attempts),
                    });
                } else {
                    report.untried.push((pending.port, why));
                    count_decided();
                }
            }
            Err(error @ (NetError::Timeout | NetError::Unreachable | NetError::Io(_))) => {
                if retry_allowed {
                    report.retried_attempts += 1;
                    queue.push_back(Pending {
                        port: pending.port,
                        attempts: pending.attempts + 1,
                        pause: Duration::ZERO,
                    });
                    continue;
                }
                match error {
                    NetError::Timeout => report.filtered.push(pending.port),
                    NetError::Unreachable => {
                        report.unreachable = Some(format!(
                            "{} ({}): {error} on every attempt to port {}",
                            unit.id, unit.address, pending.port
                        ));
                        break;
                    }
                    other => report.untried.push((pending.port, other.to_string())),
                }
                count_decided();
            }
        }
    }
    if report.interrupted.is_some() || report.unreachable.is_some() {
        shared.stop.store(true, Ordering::Relaxed);
    }
    report
}
