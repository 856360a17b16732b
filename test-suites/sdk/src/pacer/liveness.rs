//! The liveness probe of an adaptive pacer: while suites are asking for connections to a
//! unit, a bare TCP connect to one of its declared ports once per
//! [`CONNECTIONS_PER_PROBE`] connections the pace allows, but every 2 ms at the most
//! and every 250 ms at the least (so at 2,000/s every 10 ms, at 100/s every 200 ms: a
//! twentieth of the traffic, or less). The fastest answer is the unit's usual; an answer far slower than that, or none where
//! there was one before, is distress the pacer backs off on. A port sweep of closed
//! ports cannot tell a fragile stack's refusals from closed ports; this probe can.
//!
//! Bounded: at most 500 probes a second, only while connections were asked for in the
//! last second, each with its own timeout, and none once every handle on the pacer is
//! gone.

use super::control::Distress;
use super::{idle_for, liveness_distress, Shared};
use std::net::SocketAddr;
use std::sync::Weak;
use std::time::Duration;
use tokio::time::Instant;

/// One probe per this many connections the pace allows, within the bounds below.
const CONNECTIONS_PER_PROBE: f64 = 20.0;
const FASTEST_PROBING: Duration = Duration::from_millis(2);
const SLOWEST_PROBING: Duration = Duration::from_millis(250);
/// No probe once the unit has not been asked for a connection this long.
const IDLE_AFTER: Duration = Duration::from_secs(1);
/// The first probe's timeout, before the unit's usual answer time is known.
const FIRST_TIMEOUT: Duration = Duration::from_secs(2);
const MIN_TIMEOUT: Duration = Duration::from_millis(250);
const MAX_TIMEOUT: Duration = Duration::from_secs(2);
/// An answer this much slower than the fastest counts as slow (and never less than ten
/// times the fastest), so the harness's own scheduling delays are not taken for distress.
const SLOW_MARGIN: Duration = Duration::from_millis(100);

/// Probe `target` for as long as the pacer lives.
pub(super) async fn watch(shared: Weak<Shared>, target: SocketAddr) {
    let mut fastest: Option<Duration> = None;
    let mut every = FASTEST_PROBING;
    loop {
        tokio::time::sleep(every).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        every = probe_interval(shared.state().control.rate());
        if idle_for(&shared) > IDLE_AFTER {
            continue;
        }
        let timeout = fastest.map_or(FIRST_TIMEOUT, |fastest| {
            (fastest * 20).clamp(MIN_TIMEOUT, MAX_TIMEOUT)
        });
        let sent = Instant::now();
        let answered = crate::net::probe_tcp(target, timeout).await.is_ok();
        let latency = sent.elapsed();
        let at = shared.started.elapsed();
        let distress = match (answered, fastest) {
            (false, Some(_)) => Some(Distress::LivenessLost),
            (true, Some(fastest)) if latency > slow_threshold(fastest) => {
                Some(Distress::LivenessSlow)
            }
            _ => None,
        };
        if answered {
            fastest = Some(fastest.map_or(latency, |fastest| fastest.min(latency)));
        }
        {
            let mut state = shared.state();
            let record = state.control.liveness_mut(target.port());
            record.probes = record.probes.saturating_add(1);
            if !answered {
                record.unanswered = record.unanswered.saturating_add(1);
            }
            record.baseline_us = fastest.map(|f| u64::try_from(f.as_micros()).unwrap_or(u64::MAX));
            if answered && distress.is_none() {
                state.control.on_liveness_answer();
            }
        }
        if let Some(distress) = distress {
            liveness_distress(&shared, at, distress);
        }
    }
}

/// The time between two probes at `rate` new connections per second.
fn probe_interval(rate: f64) -> Duration {
    let seconds = CONNECTIONS_PER_PROBE / rate.max(f64::MIN_POSITIVE);
    Duration::from_secs_f64(seconds.min(SLOWEST_PROBING.as_secs_f64())).max(FASTEST_PROBING)
}

fn slow_threshold(fastest: Duration) -> Duration {
    (fastest * 10).max(fastest + SLOW_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_a_twentieth_of_the_pace_within_bounds() {
        assert_eq!(probe_interval(2_000.0), Duration::from_millis(10));
        assert_eq!(probe_interval(1_000_000.0), FASTEST_PROBING);
        assert_eq!(probe_interval(100.0), Duration::from_millis(200));
        assert_eq!(probe_interval(10.0), SLOWEST_PROBING);
    }
}
