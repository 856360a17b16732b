//! The pacer's congestion control, without clocks or sockets: the pace a unit is allowed
//! next, given how it answered so far.
//!
//! In the spirit of TCP's and nmap's: start moderately, double while the unit answers
//! (slow start: at most once per [`GROWTH_INTERVAL`], and once the liveness probe has
//! answered, only after it answered again, so every step is seen to be borne), cut at
//! once on a sign of distress (near the start when the unit stopped answering its
//! liveness probe, as TCP collapses its window on a timeout; by half otherwise), then
//! grow by a twentieth per step, at most once per [`AVOIDANCE_INTERVAL`] (congestion
//! avoidance). The
//! profile's limits are ceilings the pace never passes. Kept apart from time and I/O so every rule is tested on its own; the caller
//! passes the time since the pacer started.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How the pacer treats the profile's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingMode {
    /// The limits are ceilings: fast while the unit copes, gentle the moment it does not.
    #[default]
    Adaptive,
    /// Exactly the limits, whatever the unit answers (signs of distress are still
    /// recorded), for labs whose method prescribes a pace.
    Fixed,
}

/// A sign that the unit is struggling, which makes an adaptive pacer back off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distress {
    /// A port that accepted a connection before did not answer a new one in time.
    TimeoutAfterAccept,
    /// A port that accepted a connection before refused a new one.
    RefusedAfterAccept,
    /// A connection attempt was reset.
    Reset,
    /// The liveness probe, which the unit answered before, got no answer.
    LivenessLost,
    /// The liveness probe was answered, but far slower than the unit's usual.
    LivenessSlow,
}

impl Distress {
    /// What happened, in words for a report.
    pub fn describe(self) -> &'static str {
        match self {
            Distress::TimeoutAfterAccept => "a port that had accepted connections timed out",
            Distress::RefusedAfterAccept => "a port that had accepted connections refused one",
            Distress::Reset => "a connection attempt was reset",
            Distress::LivenessLost => "the liveness probe went unanswered",
            Distress::LivenessSlow => "the liveness probe was answered far slower than usual",
        }
    }
}

/// One back-off of an adaptive pacer, as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackOff {
    /// Milliseconds since the pacer started.
    pub at_ms: u64,
    pub cause: Distress,
    /// New connections per second allowed before and after.
    pub rate_before: f64,
    pub rate_after: f64,
    /// Connections open at once allowed after.
    pub window_after: u32,
}

/// What the pacer of one unit did during a run: the pace it held and why it backed off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaceRecord {
    pub mode: PacingMode,
    /// The profile's limits: `pacing.connections_per_second` and `pacing.max_connections`.
    pub ceiling_rate: f64,
    pub ceiling_window: u32,
    /// The pace at the start, the highest reached, the lowest after a back-off (the
    /// highest when there was none), and the pace at the end.
    pub start_rate: f64,
    pub peak_rate: f64,
    pub lowest_rate: f64,
    pub final_rate: f64,
    pub final_window: u32,
    /// Connections (and datagrams) the pacer let through.
    pub connections: u64,
    /// Every sign of distress seen, by cause, back-off or not.
    pub distress_seen: BTreeMap<Distress, u64>,
    /// The back-offs, the first [`MAX_RECORDED_BACK_OFFS`] of them.
    pub back_offs: Vec<BackOff>,
    pub back_offs_total: u64,
    /// The liveness probe, when the unit has a declared TCP port to probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<LivenessRecord>,
}

/// What the liveness probe measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LivenessRecord {
    pub port: u16,
    pub probes: u64,
    pub unanswered: u64,
    /// The fastest answer, in microseconds: the unit's usual when unloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_us: Option<u64>,
}

/// Back-offs kept in a record; the rest are counted in `back_offs_total`.
pub const MAX_RECORDED_BACK_OFFS: usize = 32;

/// The adaptive pace starts here (or at the ceiling when that is lower).
pub const START_RATE: f64 = 2_000.0;
pub const START_WINDOW: u32 = 16;
/// The pace grows at most this often while it doubles (slow start), and at most
/// [`AVOIDANCE_INTERVAL`] often once the unit showed distress.
pub const GROWTH_INTERVAL: Duration = Duration::from_millis(2);
pub const AVOIDANCE_INTERVAL: Duration = Duration::from_millis(100);
/// Never slower than this (or the ceiling when that is lower): a unit that stays in
/// distress at one connection per tenth of a second is reported, not starved.
pub const FLOOR_RATE: f64 = 10.0;
/// Signs of distress within this long after a back-off belong to the same episode: the
/// connections that caused them were sent before the back-off took effect.
pub const EPISODE: Duration = Duration::from_millis(100);
/// From this rate on, connections are not spaced at all.
pub const UNSPACED_RATE: f64 = 1e9;

/// The congestion control of one unit's pacer.
#[derive(Clone, Debug)]
pub struct Control {
    rate: f64,
    window: u32,
    slow_start: bool,
    answers_this_round: u32,
    last_growth: Option<Duration>,
    /// Whether the liveness probe ever answered, and did since the pace last grew.
    liveness_answered: bool,
    liveness_answered_since_growth: bool,
    episode_ends: Option<Duration>,
    record: PaceRecord,
}

impl Control {
    pub fn new(mode: PacingMode, ceiling_window: u32, ceiling_rate: f64) -> Self {
        let ceiling_window = ceiling_window.max(1);
        let ceiling_rate = ceiling_rate.max(1.0);
        let (rate, window) = match mode {
            PacingMode::Fixed => (ceiling_rate, ceiling_window),
            PacingMode::Adaptive => (
                START_RATE.min(ceiling_rate),
                START_WINDOW.min(ceiling_window),
            ),
        };
        Control {
            rate,
            window,
            slow_start: true,
            answers_this_round: 0,
            last_growth: None,
            liveness_answered: false,
            liveness_answered_since_growth: false,
            episode_ends: None,
            record: PaceRecord {
                mode,
                ceiling_rate,
                ceiling_window,
                start_rate: rate,
                peak_rate: rate,
                lowest_rate: rate,
                final_rate: rate,
                final_window: window,
                connections: 0,
                distress_seen: BTreeMap::new(),
                back_offs: Vec::new(),
                back_offs_total: 0,
                liveness: None,
            },
        }
    }

    /// New connections per second allowed now.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Connections open at once allowed now.
    pub fn window(&self) -> u32 {
        self.window
    }

    /// The spacing between new connections at the current rate (zero when unspaced).
    pub fn interval(&self) -> Duration {
        if self.rate >= UNSPACED_RATE {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(1.0 / self.rate)
        }
    }

    /// How far ahead of the schedule connections may run: a hundredth of a second's
    /// worth, at least one.
    pub fn burst(&self) -> Duration {
        self.interval()
            .mul_f64((self.rate / 100.0).floor().max(1.0))
    }

    /// One more connection let through.
    pub fn count_connection(&mut self) {
        self.record.connections = self.record.connections.saturating_add(1);
    }

    /// The unit answered at `at` (accepted, or refused a port it never accepted): grow
    /// once per window of answers, and at most once per [`GROWTH_INTERVAL`]. Returns
    /// whether the pace grew.
    pub fn on_answer(&mut self, at: Duration) -> bool {
        if self.record.mode == PacingMode::Fixed {
            return false;
        }
        self.answers_this_round = self.answers_this_round.saturating_add(1);
        let interval = if self.slow_start {
            GROWTH_INTERVAL
        } else {
            AVOIDANCE_INTERVAL
        };
        let too_soon = self.last_growth.is_some_and(|last| at < last + interval);
        let unconfirmed = self.liveness_answered && !self.liveness_answered_since_growth;
        if self.answers_this_round < self.window || too_soon || unconfirmed {
            return false;
        }
        self.answers_this_round = 0;
        self.last_growth = Some(at);
        self.liveness_answered_since_growth = false;
        let (rate, window) = if self.slow_start {
            (self.rate * 2.0, self.window.saturating_mul(2))
        } else {
            (self.rate * 1.05, self.window.saturating_add(1))
        };
        let grown = (
            rate.min(self.record.ceiling_rate),
            window.min(self.record.ceiling_window),
        );
        let changed = grown != (self.rate, self.window);
        (self.rate, self.window) = grown;
        self.record.peak_rate = self.record.peak_rate.max(self.rate);
        changed
    }

    /// The liveness probe answered promptly: the pace may take its next step.
    pub fn on_liveness_answer(&mut self) {
        self.liveness_answered = true;
        self.liveness_answered_since_growth = true;
    }

    /// A sign of distress at `at` (time since the pacer started): cut the pace, unless
    /// it belongs to the episode of the last back-off. Returns whether it backed off.
    pub fn on_distress(&mut self, at: Duration, cause: Distress) -> bool {
        let seen = self.record.distress_seen.entry(cause).or_insert(0);
        *seen = seen.saturating_add(1);
        if self.record.mode == PacingMode::Fixed || self.episode_ends.is_some_and(|ends| at < ends)
        {
            return false;
        }
        let floor = FLOOR_RATE.min(self.record.ceiling_rate);
        let before = self.rate;
        if cause == Distress::LivenessLost {
            self.rate = (self.rate / 8.0).min(START_RATE / 4.0).max(floor);
            self.window = (self.window / 8).clamp(1, START_WINDOW / 4);
        } else {
            self.rate = (self.rate / 2.0).max(floor);
            self.window = (self.window / 2).max(1);
        }
        self.slow_start = false;
        self.answers_this_round = 0;
        self.episode_ends = Some(at + EPISODE);
        self.record.lowest_rate = if self.record.back_offs_total == 0 {
            self.rate
        } else {
            self.record.lowest_rate.min(self.rate)
        };
        self.record.back_offs_total = self.record.back_offs_total.saturating_add(1);
        if self.record.back_offs.len() < MAX_RECORDED_BACK_OFFS {
            self.record.back_offs.push(BackOff {
                at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
                cause,
                rate_before: before,
                rate_after: self.rate,
                window_after: self.window,
            });
        }
        true
    }

    /// The liveness probe's own figures, kept with the record.
    pub fn liveness_mut(&mut self, port: u16) -> &mut LivenessRecord {
        self.record.liveness.get_or_insert_with(|| LivenessRecord {
            port,
            ..LivenessRecord::default()
        })
    }

    /// The record so far.
    pub fn record(&self) -> PaceRecord {
        let mut record = self.record.clone();
        if record.back_offs_total == 0 {
            record.lowest_rate = record.peak_rate;
        }
        record.final_rate = self.rate;
        record.final_window = self.window;
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `rounds` windows of answers after `start`, each one avoidance interval (the
    /// longer) after the last.
    fn answer_rounds(control: &mut Control, rounds: u32, start: Duration) {
        for round in 1..=rounds {
            for _ in 0..control.window() {
                control.on_answer(start + AVOIDANCE_INTERVAL * round);
            }
        }
    }

    #[test]
    fn adaptive_pace_starts_moderate_and_doubles_to_the_ceiling() {
        let mut control = Control::new(PacingMode::Adaptive, 256, 100_000.0);
        assert_eq!((control.rate(), control.window()), (2_000.0, 16));
        answer_rounds(&mut control, 1, Duration::ZERO);
        assert_eq!((control.rate(), control.window()), (4_000.0, 32));
        answer_rounds(&mut control, 20, Duration::ZERO);
        assert_eq!((control.rate(), control.window()), (100_000.0, 256));
        assert_eq!(control.record().peak_rate, 100_000.0);
    }

    #[test]
    fn growth_waits_for_its_interval() {
        let mut control = Control::new(PacingMode::Adaptive, 256, 100_000.0);
        for _ in 0..100 {
            control.on_answer(GROWTH_INTERVAL);
        }
        assert_eq!(control.rate(), 4_000.0, "one growth per interval");
        control.on_answer(GROWTH_INTERVAL * 2);
        assert_eq!(control.rate(), 8_000.0);
    }

    #[test]
    fn distress_cuts_at_once_and_growth_is_then_gentle() {
        let mut control = Control::new(PacingMode::Adaptive, 256, 100_000.0);
        answer_rounds(&mut control, 4, Duration::ZERO);
        assert_eq!(control.rate(), 32_000.0);
        assert!(control.on_distress(Duration::from_secs(1), Distress::RefusedAfterAccept));
        assert_eq!((control.rate(), control.window()), (16_000.0, 128));
        answer_rounds(&mut control, 1, Duration::from_secs(1));
        assert_eq!((control.rate(), control.window()), (16_800.0, 129));
        let record = control.record();
        assert_eq!(record.back_offs.len(), 1);
        assert_eq!(record.back_offs[0].cause, Distress::RefusedAfterAccept);
        assert_eq!(record.back_offs[0].rate_before, 32_000.0);
        assert_eq!(record.lowest_rate, 16_000.0);
    }

    #[test]
    fn a_unit_that_stops_answering_is_cut_to_near_the_start() {
        let mut control = Control::new(PacingMode::Adaptive, 256, 100_000.0);
        answer_rounds(&mut control, 4, Duration::ZERO);
        assert!(control.on_distress(Duration::from_secs(1), Distress::LivenessLost));
        assert_eq!((control.rate(), control.window()), (500.0, 4));
        let mut slow = Control::new(PacingMode::Adaptive, 256, 1_000.0);
        assert!(slow.on_distress(Duration::from_secs(1), Distress::LivenessLost));
        assert_eq!((slow.rate(), slow.window()), (125.0, 2));
    }

    #[test]
    fn once_the_liveness_probe_answers_each_step_waits_for_its_next_answer() {
        let mut control = Control::new(PacingMode::Adaptive, 256, 100_000.0);
        control.on_liveness_answer();
        answer_rounds(&mut control, 1, Duration::ZERO);
        assert_eq!(control.rate(), 4_000.0);
        answer_rounds(&mut control, 3, Duration::from_secs(1));
        assert_eq!(control.rate(), 4_000.0, "no answer of the probe since");
        control.on_liveness_answer();
        answer_rounds(&mut control, 1, Duration::from_secs(2));
        assert_eq!(control.rate(), 8_000.0);
    }

    #[test]
    fn one_episode_backs_off_once() {
        let mut control = Control::new(PacingMode::Adaptive, 64, 10_000.0);
        let start = Duration::from_secs(2);
        assert!(control.on_distress(start, Distress::RefusedAfterAccept));
        assert!(!control.on_distress(start + EPISODE / 2, Distress::RefusedAfterAccept));
        assert!(control.on_distress(start + EPISODE, Distress::RefusedAfterAccept));
        let record = control.record();
        assert_eq!(record.back_offs_total, 2);
        assert_eq!(record.distress_seen[&Distress::RefusedAfterAccept], 3);
    }

    #[test]
    fn fixed_pace_stays_at_the_limits_and_still_records_distress() {
        let mut control = Control::new(PacingMode::Fixed, 32, 500.0);
        answer_rounds(&mut control, 3, Duration::ZERO);
        assert!(!control.on_distress(Duration::ZERO, Distress::Reset));
        assert_eq!((control.rate(), control.window()), (500.0, 32));
        let record = control.record();
        assert_eq!(record.back_offs_total, 0);
        assert_eq!(record.distress_seen[&Distress::Reset], 1);
    }

    #[test]
    fn spacing_follows_the_rate() {
        let control = Control::new(PacingMode::Fixed, 1, 100.0);
        assert_eq!(control.interval(), Duration::from_millis(10));
        assert_eq!(control.burst(), Duration::from_millis(10));
        let fast = Control::new(PacingMode::Fixed, 1, 10_000.0);
        assert_eq!(fast.burst(), Duration::from_millis(10));
        let unspaced = Control::new(PacingMode::Fixed, 1, 4e9);
        assert_eq!(unspaced.interval(), Duration::ZERO);
    }

    proptest! {
        /// Whatever the unit answers, the pace stays between the floor and the ceilings.
        #[test]
        fn pace_stays_within_floor_and_ceilings(
            ceiling_window in 1u32..2_000,
            ceiling_rate in 1.0f64..1e7,
            events in proptest::collection::vec((any::<bool>(), any::<bool>(), 0u64..5_000), 0..400),
        ) {
            let mut control = Control::new(PacingMode::Adaptive, ceiling_window, ceiling_rate);
            for (is_answer, lost, at_ms) in events {
                let at = Duration::from_millis(at_ms);
                if is_answer {
                    control.on_answer(at);
                } else if lost {
                    control.on_distress(at, Distress::LivenessLost);
                } else {
                    control.on_distress(at, Distress::Reset);
                }
                prop_assert!(control.rate() <= ceiling_rate);
                prop_assert!(control.rate() >= FLOOR_RATE.min(ceiling_rate));
                prop_assert!(control.window() >= 1 && control.window() <= ceiling_window);
            }
            let record = control.record();
            prop_assert!(record.lowest_rate <= record.peak_rate);
            prop_assert!(record.back_offs.len() <= MAX_RECORDED_BACK_OFFS);
        }
    }
}
