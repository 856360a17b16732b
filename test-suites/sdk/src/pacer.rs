//! The pacer: how hard all suites together may press one device.
//!
//! One pacer exists per sample unit and every suite shares it, so two suites running
//! side by side cannot together exceed the device's limits. It bounds connections open
//! at once (a window) and new connections per second (a GCRA rate limiter with a small
//! burst allowance). An adaptive pacer ([`PacingMode::Adaptive`], the default) moves
//! both below the profile's limits with what the unit answers ([`control`]), watched by
//! a liveness probe ([`liveness`]); what it did is a [`PaceRecord`] for the report.

pub mod control;
mod liveness;

pub use control::{BackOff, Distress, LivenessRecord, PaceRecord, PacingMode};

use control::Control;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Shared limits for one device; cheap to clone.
#[derive(Clone, Debug)]
pub struct Pacer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    started: Instant,
    state: Mutex<State>,
    slot_freed: Notify,
    /// A declared TCP port of the unit, probed while the unit is being tested.
    liveness_target: Option<SocketAddr>,
    liveness_started: AtomicBool,
}

#[derive(Debug)]
struct State {
    control: Control,
    in_flight: u32,
    next_emission: Instant,
    last_request: Instant,
    /// Ports that accepted a connection: a refusal or timeout there later is distress.
    accepted: Box<[u64; 1024]>,
    /// When the latest signs of distress came, oldest first, at most
    /// [`MAX_REMEMBERED_DISTRESS`]; `forgotten_distress` says whether older ones were
    /// dropped.
    distress_times: VecDeque<Instant>,
    forgotten_distress: bool,
}

/// Signs of distress whose time a pacer remembers.
const MAX_REMEMBERED_DISTRESS: usize = 16_384;

impl State {
    fn distress(&mut self, at: Duration, now: Instant, cause: Distress) {
        self.control.on_distress(at, cause);
        if self.distress_times.len() == MAX_REMEMBERED_DISTRESS {
            self.distress_times.pop_front();
            self.forgotten_distress = true;
        }
        self.distress_times.push_back(now);
    }

    fn was_accepted(&self, port: u16) -> bool {
        let (word, bit) = (usize::from(port / 64), port % 64);
        self.accepted.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn mark_accepted(&mut self, port: u16) {
        let (word, bit) = (usize::from(port / 64), port % 64);
        if let Some(w) = self.accepted.get_mut(word) {
            *w |= 1 << bit;
        }
    }
}

/// How a paced TCP connection attempt ended, as far as the pacer cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Accepted,
    Refused,
    TimedOut,
    Reset,
}

/// Held for as long as a connection is open; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionPermit {
    shared: Arc<Shared>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        {
            let mut state = self.shared.state();
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        self.shared.slot_freed.notify_one();
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Pacer {
    /// A pacer at exactly these limits ([`PacingMode::Fixed`]).
    pub fn new(max_connections: NonZeroU32, per_second: NonZeroU32) -> Self {
        Self::with_mode(PacingMode::Fixed, max_connections, per_second, None)
    }

    /// A pacer in `mode` under these limits; an adaptive one probes `liveness_target`
    /// (a declared TCP port of the unit) while connections are being asked for.
    pub fn with_mode(
        mode: PacingMode,
        max_connections: NonZeroU32,
        per_second: NonZeroU32,
        liveness_target: Option<SocketAddr>,
    ) -> Self {
        let now = Instant::now();
        let control = Control::new(mode, max_connections.get(), f64::from(per_second.get()));
        Pacer {
            shared: Arc::new(Shared {
                started: now,
                state: Mutex::new(State {
                    control,
                    in_flight: 0,
                    next_emission: now,
                    last_request: now,
                    accepted: Box::new([0; 1024]),
                    distress_times: VecDeque::new(),
                    forgotten_distress: false,
                }),
                slot_freed: Notify::new(),
                liveness_target: liveness_target.filter(|_| mode == PacingMode::Adaptive),
                liveness_started: AtomicBool::new(false),
            }),
        }
    }

    /// Connections that may be open at once: the ceiling, which callers size their
    /// own windows by (the pacer holds the rest back while its pace is lower).
    pub fn max_connections(&self) -> u32 {
        self.shared.state().control.record().ceiling_window
    }

    /// Wait for a free connection slot and a rate token.
    pub async fn connection(&self) -> ConnectionPermit {
        loop {
            let freed = self.shared.slot_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.shared.state();
                state.last_request = Instant::now();
                if state.in_flight < state.control.window() {
                    state.in_flight += 1;
                    break;
                }
            }
            freed.await;
        }
        let permit = ConnectionPermit {
            shared: Arc::clone(&self.shared),
        };
        self.start_liveness_probe();
        self.rate_token().await;
        permit
    }

    /// Wait until the rate allows one more new connection.
    pub async fn rate_token(&self) {
        let wait_until = {
            let now = Instant::now();
            let mut state = self.shared.state();
            state.control.count_connection();
            let emission = state.next_emission.max(now);
            state.next_emission = emission + state.control.interval();
            emission
                .checked_sub(state.control.burst())
                .unwrap_or(emission)
        };
        if wait_until > Instant::now() {
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Tell the pacer how a connection attempt to `port` ended. An answer lets the
    /// pace grow; a refusal or timeout on a port that accepted before, or a reset, is
    /// distress.
    pub fn attempt_ended(&self, port: u16, attempt: Attempt) {
        let now = Instant::now();
        let at = now.duration_since(self.shared.started);
        let grew = {
            let mut state = self.shared.state();
            let accepted_before = state.was_accepted(port);
            match attempt {
                Attempt::Accepted => {
                    state.mark_accepted(port);
                    state.control.on_answer(at)
                }
                Attempt::Refused if accepted_before => {
                    state.distress(at, now, Distress::RefusedAfterAccept);
                    false
                }
                Attempt::Refused => state.control.on_answer(at),
                Attempt::TimedOut if accepted_before => {
                    state.distress(at, now, Distress::TimeoutAfterAccept);
                    false
                }
                // A port that never answered may be filtered: no sign either way.
                Attempt::TimedOut => false,
                Attempt::Reset => {
                    state.distress(at, now, Distress::Reset);
                    false
                }
            }
        };
        if grew {
            self.shared.slot_freed.notify_waiters();
        }
    }

    /// When the unit showed distress at or after `since`, oldest first; `None` when
    /// older signs were forgotten and some of them may have come after `since` (then
    /// any moment since may have been one of distress).
    pub fn distress_since(&self, since: Instant) -> Option<Vec<Instant>> {
        let state = self.shared.state();
        let oldest = state.distress_times.front().copied();
        if state.forgotten_distress && oldest.is_some_and(|oldest| oldest > since) {
            return None;
        }
        Some(
            state
                .distress_times
                .iter()
                .filter(|&&at| at >= since)
                .copied()
                .collect(),
        )
    }

    /// What the pacer did so far: the pace it held and every back-off with its cause.
    pub fn record(&self) -> PaceRecord {
        self.shared.state().control.record()
    }

    fn start_liveness_probe(&self) {
        let Some(target) = self.shared.liveness_target else {
            return;
        };
        if self.shared.liveness_started.swap(true, Ordering::Relaxed) {
            return;
        }
        tokio::spawn(liveness::watch(Arc::downgrade(&self.shared), target));
    }
}

/// How long the unit has not been asked for a connection.
fn idle_for(shared: &Shared) -> Duration {
    shared.state().last_request.elapsed()
}

/// A sign of distress the liveness probe saw at `at` since the pacer started.
fn liveness_distress(shared: &Shared, at: Duration, cause: Distress) {
    shared.state().distress(at, Instant::now(), cause);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(max: u32, rate: u32) -> Pacer {
        Pacer::new(
            NonZeroU32::new(max).unwrap(),
            NonZeroU32::new(rate).unwrap(),
        )
    }

    #[tokio::test]
    async fn limits_concurrency() {
        let pacer = fixed(2, 10_000);
        let a = pacer.connection().await;
        let _b = pacer.connection().await;
        let third = tokio::time::timeout(Duration::from_millis(50), pacer.connection()).await;
        assert!(third.is_err(), "a third connection must wait");
        drop(a);
        let third = tokio::time::timeout(Duration::from_millis(500), pacer.connection()).await;
        assert!(third.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn limits_rate() {
        let pacer = fixed(1000, 100);
        let start = Instant::now();
        for _ in 0..205 {
            pacer.rate_token().await;
        }
        let elapsed = start.elapsed();
        // 205 tokens at 100/s with a 1-token burst: about 2.04 s of virtual time.
        assert!(elapsed >= Duration::from_millis(1990), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2100), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_port_that_accepted_and_then_refuses_is_distress_a_closed_one_is_not() {
        let pacer = Pacer::with_mode(
            PacingMode::Adaptive,
            NonZeroU32::new(64).unwrap(),
            NonZeroU32::new(100_000).unwrap(),
            None,
        );
        for port in 1..=200 {
            pacer.attempt_ended(port, Attempt::Refused);
            pacer.attempt_ended(port, Attempt::TimedOut);
        }
        let record = pacer.record();
        assert_eq!(record.back_offs_total, 0, "{record:?}");
        assert!(record.peak_rate > record.start_rate, "{record:?}");

        pacer.attempt_ended(1883, Attempt::Accepted);
        pacer.attempt_ended(1883, Attempt::Refused);
        let record = pacer.record();
        assert_eq!(record.back_offs_total, 1);
        assert_eq!(record.back_offs[0].cause, Distress::RefusedAfterAccept);
    }

    #[tokio::test]
    async fn a_grown_window_lets_waiting_connections_through() {
        let pacer = Pacer::with_mode(
            PacingMode::Adaptive,
            NonZeroU32::new(64).unwrap(),
            NonZeroU32::new(1_000_000).unwrap(),
            None,
        );
        let mut held = Vec::new();
        for _ in 0..control::START_WINDOW {
            held.push(pacer.connection().await);
        }
        let waiting = tokio::spawn({
            let pacer = pacer.clone();
            async move { pacer.connection().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the window is full");
        for port in 0..u16::try_from(control::START_WINDOW).unwrap() {
            pacer.attempt_ended(port, Attempt::Accepted);
        }
        let through = tokio::time::timeout(Duration::from_secs(2), waiting).await;
        assert!(through.is_ok(), "the doubled window must let it through");
    }
}
