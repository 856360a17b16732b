//! How many cases are in flight at once: an adaptive window, kept apart from clocks and
//! sockets so every rule is tested on its own.
//!
//! Many cases in flight make fuzzing fast against a device that copes; too many knock
//! over one that does not, and a device the harness overloaded proves nothing about its
//! parsers. So the window moves like the unit's pacer (the SDK's `pacer::control`) and
//! TCP's congestion window: it starts at [`START_WINDOW`] (or the ceiling,
//! `[protofuzz] parallel_cases`, when lower), doubles once per round (a window's worth
//! of cases settled) while the device answers without queueing (slow start), grows by
//! one per round after its first sign of queueing or distress (congestion avoidance),
//! and halves at once on a sign of distress ([`WindowDistress`]):
//!
//! - a case could not connect to the fuzzed port (refused, timed out or reset), which
//!   answered before fuzzing began;
//! - a well-formed session step of a case (the CONNECT before an MQTT case) was left
//!   unanswered until the timeout (a step the service closed or reset on is its answer:
//!   a broker of MQTT 3.1.1 closes on an MQTT 5 CONNECT);
//! - the answers slowed down: the median answer of a round took more than
//!   [`SLOW_RATIO`] times the fastest ever seen plus [`SLOW_MARGIN`]. This is
//!   delay-based, like TCP Vegas: an embedded server's answers slow down as its sessions
//!   pile up, before it falls over. The median of a round, not each case's answer, so a
//!   few cases the harness's own scheduling delayed are not taken for the device's
//!   distress, and the few answered while a batch's sessions were still opening do not
//!   hide it;
//! - the liveness probe of the fuzzed service, put between batches while no case was in
//!   flight, was slow.
//!
//! A round whose median answer took more than [`QUEUE_RATIO`] times the fastest plus
//! [`QUEUE_MARGIN`] (queueing, not yet distress) holds the window where it is and ends
//! slow start. What a malformed message draws is never distress: a connection closed or
//! reset after it, silence or an error answer are the parser's reactions.
//!
//! A round counts only cases started at the current window (after its last growth or
//! shrink), so each step is judged by the load it brought, as TCP Vegas doubles only
//! every other round trip: a round that straddled the growth would mix answers from
//! the smaller load and let the window double again on their strength. One halving per
//! episode: the cases started before a shrink were sent at the old window, so their
//! signs of distress belong to the shrink already made. In fixed pacing (`[pacing] mode =
//! "fixed"`) the window is exactly the ceiling; distress is still recorded.
//!
//! What the window did is a [`WindowRecord`], evidence of the check: the most cases held
//! in flight, the final window, and every shrink with its cause.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The adaptive window starts here (or at the ceiling when that is lower).
pub const START_WINDOW: u32 = 4;
/// A round's median answer above `QUEUE_RATIO` times the fastest ever plus
/// `QUEUE_MARGIN` is queueing: the window stops growing.
pub const QUEUE_RATIO: u32 = 2;
pub const QUEUE_MARGIN: Duration = Duration::from_millis(10);
/// A round's median answer above `SLOW_RATIO` times the fastest ever plus `SLOW_MARGIN`
/// is distress: the window halves. The margins keep a busy test machine's own delays
/// (tens of milliseconds when its cores are shared) from being taken for the device's.
pub const SLOW_RATIO: u32 = 4;
pub const SLOW_MARGIN: Duration = Duration::from_millis(50);
/// Shrinks kept in a record; the rest are counted in `shrinks_total`.
pub const MAX_RECORDED_SHRINKS: usize = 32;

/// A sign that the device struggles with the cases in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowDistress {
    /// A case's connection to the fuzzed port was refused.
    ConnectRefused,
    /// A case's connection to the fuzzed port timed out.
    ConnectTimedOut,
    /// A case's connection attempt to the fuzzed port was reset.
    ConnectReset,
    /// A well-formed session step of a case got no answer until the timeout.
    SessionUnanswered,
    /// The median answer of a round was far slower than the fastest seen.
    SlowAnswers,
    /// The liveness probe of the fuzzed service, with no case in flight, was slow.
    SlowProbe,
}

impl WindowDistress {
    /// What happened, in words for a report.
    pub fn describe(self) -> &'static str {
        match self {
            WindowDistress::ConnectRefused => "the fuzzed port refused a case's connection",
            WindowDistress::ConnectTimedOut => "a case's connection to the fuzzed port timed out",
            WindowDistress::ConnectReset => "a case's connection attempt was reset",
            WindowDistress::SessionUnanswered => "a well-formed session step got no answer",
            WindowDistress::SlowAnswers => "the device's answers slowed down",
            WindowDistress::SlowProbe => "the liveness probe was slow",
        }
    }
}

/// How a case settled, as far as the window cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// The device reacted (answered, closed, reset after the malformed message, or kept
    /// silent); with the time its slowest answer took, when it answered.
    Reacted(Option<Duration>),
    /// A sign of distress.
    Distress(WindowDistress),
    /// Nothing about the device: the harness could not send the case (its own limits,
    /// the campaign's end).
    Unjudged,
}

/// The launch of a case, handed back when it settles: which window it was sent at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// One halving of the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shrink {
    /// Milliseconds since the first case.
    pub at_ms: u64,
    /// Cases settled by then.
    pub after_cases: u64,
    pub cause: WindowDistress,
    pub window_before: u32,
    pub window_after: u32,
    /// For slow answers: the round's median answer and the fastest ever, in
    /// microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastest_us: Option<u64>,
}

/// What the window did over one interface's cases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    /// Whether the window adapted (`false`: fixed pacing, exactly the ceiling).
    pub adaptive: bool,
    /// `[protofuzz] parallel_cases`.
    pub ceiling: u32,
    pub start: u32,
    /// The largest window, and the most cases actually in flight at once.
    pub peak: u32,
    pub peak_in_flight: u32,
    pub final_window: u32,
    /// The fastest answer seen, in microseconds: the device's answer time unloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastest_answer_us: Option<u64>,
    /// Every sign of distress seen, by cause, shrink or not.
    pub distress_seen: BTreeMap<WindowDistress, u64>,
    /// The shrinks, the first [`MAX_RECORDED_SHRINKS`] of them.
    pub shrinks: Vec<Shrink>,
    pub shrinks_total: u64,
}

impl WindowRecord {
    /// The record in one sentence, for a check's summary.
    pub fn sentence(&self) -> String {
        let held = format!(
            "held up to {} case(s) in flight ({}, ceiling {}, final window {})",
            self.peak_in_flight,
            if self.adaptive {
                "adaptive"
            } else {
                "fixed pacing"
            },
            self.ceiling,
            self.final_window
        );
        match self.shrinks.first() {
            None if self.distress_seen.is_empty() => held,
            None => format!(
                "{held}; {} sign(s) of distress recorded",
                self.distress_seen.values().sum::<u64>()
            ),
            Some(first) => format!(
                "{held}; shrank {} time(s), first from {} to {} after {} cases because {}",
                self.shrinks_total,
                first.window_before,
                first.window_after,
                first.after_cases,
                first.cause.describe()
            ),
        }
    }
}

/// The adaptive window of cases in flight for one interface.
#[derive(Clone, Debug)]
pub struct CaseWindow {
    window: u32,
    slow_start: bool,
    in_flight: u32,
    launched: u64,
    settled: u64,
    /// Cases launched before this one belong to the last shrink's episode.
    episode_horizon: u64,
    /// Cases launched before this one were sent at a smaller or larger window than now:
    /// the round does not count them.
    round_horizon: u64,
    settled_this_round: u32,
    /// The answer times of the round so far (at most a window's worth).
    round_answers: Vec<Duration>,
    fastest: Option<Duration>,
    record: WindowRecord,
}

impl CaseWindow {
    /// A window under `ceiling` (at least 1); `adaptive` false for fixed pacing.
    pub fn new(adaptive: bool, ceiling: u32) -> Self {
        let ceiling = ceiling.max(1);
        let window = if adaptive {
            START_WINDOW.min(ceiling)
        } else {
            ceiling
        };
        CaseWindow {
            window,
            slow_start: true,
            in_flight: 0,
            launched: 0,
            settled: 0,
            episode_horizon: 0,
            round_horizon: 0,
            settled_this_round: 0,
            round_answers: Vec::new(),
            fastest: None,
            record: WindowRecord {
                adaptive,
                ceiling,
                start: window,
                peak: window,
                peak_in_flight: 0,
                final_window: window,
                fastest_answer_us: None,
                distress_seen: BTreeMap::new(),
                shrinks: Vec::new(),
                shrinks_total: 0,
            },
        }
    }

    /// Cases allowed in flight now.
    pub fn size(&self) -> u32 {
        self.window
    }

    /// Whether one more case may start now.
    pub fn has_room(&self) -> bool {
        self.in_flight < self.window
    }

    /// A case started.
    pub fn started(&mut self) -> Ticket {
        self.in_flight = self.in_flight.saturating_add(1);
        self.record.peak_in_flight = self.record.peak_in_flight.max(self.in_flight);
        let ticket = Ticket(self.launched);
        self.launched = self.launched.saturating_add(1);
        ticket
    }

    /// The case of `ticket` settled at `at` (time since the first case) the way
    /// `settled` says.
    pub fn settled(&mut self, ticket: Ticket, at: Duration, settled: Settled) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.settled = self.settled.saturating_add(1);
        let current = ticket.0 >= self.episode_horizon;
        match settled {
            Settled::Unjudged => {}
            Settled::Distress(cause) => self.distress(at, cause, current, None),
            Settled::Reacted(took) => {
                if let Some(took) = took {
                    self.fastest = Some(self.fastest.map_or(took, |fastest| fastest.min(took)));
                    self.record.fastest_answer_us = self.fastest.map(micros);
                }
                if ticket.0 >= self.round_horizon {
                    self.count_in_round(at, took);
                }
            }
        }
    }

    /// The liveness probe of the fuzzed service, put with no case in flight, was slow:
    /// distress, unless the window already shrank since the last case started.
    pub fn slow_probe(&mut self, at: Duration) {
        let current = self.launched.saturating_sub(1) >= self.episode_horizon;
        self.distress(at, WindowDistress::SlowProbe, current, None);
    }

    /// What the window did so far.
    pub fn record(&self) -> WindowRecord {
        let mut record = self.record.clone();
        record.final_window = self.window;
        record
    }

    /// One more case of the current episode settled: at the end of a round, judge the
    /// round's median answer and grow, hold or shrink.
    fn count_in_round(&mut self, at: Duration, took: Option<Duration>) {
        self.settled_this_round = self.settled_this_round.saturating_add(1);
        if let Some(took) = took {
            self.round_answers.push(took);
        }
        if self.settled_this_round < self.window {
            return;
        }
        let median = median(&mut self.round_answers);
        self.round_answers.clear();
        self.settled_this_round = 0;
        if !self.record.adaptive {
            return;
        }
        let (Some(answer), Some(fastest)) = (median, self.fastest) else {
            // No answer timed this round: the cases settled, nothing shows queueing.
            self.grow();
            return;
        };
        if answer > fastest * SLOW_RATIO + SLOW_MARGIN {
            self.distress(at, WindowDistress::SlowAnswers, true, Some(answer));
        } else if answer > fastest * QUEUE_RATIO + QUEUE_MARGIN {
            self.slow_start = false;
        } else {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let grown = if self.slow_start {
            self.window.saturating_mul(2)
        } else {
            self.window.saturating_add(1)
        };
        let grown = grown.min(self.record.ceiling);
        if grown != self.window {
            self.round_horizon = self.launched;
        }
        self.window = grown;
        self.record.peak = self.record.peak.max(self.window);
    }

    /// A sign of distress: counted always, a halving when adaptive and `current` (not
    /// of an episode already answered by a shrink).
    fn distress(
        &mut self,
        at: Duration,
        cause: WindowDistress,
        current: bool,
        answer: Option<Duration>,
    ) {
        let seen = self.record.distress_seen.entry(cause).or_insert(0);
        *seen = seen.saturating_add(1);
        if !self.record.adaptive || !current {
            return;
        }
        let before = self.window;
        self.window = (self.window / 2).max(1);
        self.slow_start = false;
        self.episode_horizon = self.launched;
        self.round_horizon = self.launched;
        self.settled_this_round = 0;
        self.round_answers.clear();
        self.record.shrinks_total = self.record.shrinks_total.saturating_add(1);
        if self.record.shrinks.len() < MAX_RECORDED_SHRINKS {
            self.record.shrinks.push(Shrink {
                at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
                after_cases: self.settled,
                cause,
                window_before: before,
                window_after: self.window,
                answer_us: answer.map(micros),
                fastest_us: answer.and(self.fastest).map(micros),
            });
        }
    }
}

/// The lower median of `values`, reordering them.
fn median(values: &mut [Duration]) -> Option<Duration> {
    let middle = values.len().checked_sub(1)? / 2;
    let (_, median, _) = values.select_nth_unstable(middle);
    Some(*median)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FAST: Duration = Duration::from_micros(200);

    /// Start and settle `rounds` windows' worth of cases, each answered in `took`.
    fn rounds(window: &mut CaseWindow, rounds: u32, took: Duration) {
        for _ in 0..rounds {
            let tickets: Vec<Ticket> = (0..window.size()).map(|_| window.started()).collect();
            for ticket in tickets {
                window.settled(ticket, Duration::ZERO, Settled::Reacted(Some(took)));
            }
        }
    }

    #[test]
    fn starts_small_doubles_while_answers_stay_prompt_and_stops_at_the_ceiling() {
        let mut window = CaseWindow::new(true, 64);
        assert_eq!(window.size(), START_WINDOW);
        rounds(&mut window, 1, FAST);
        assert_eq!(window.size(), 8);
        rounds(&mut window, 10, FAST);
        assert_eq!(window.size(), 64);
        let record = window.record();
        assert_eq!((record.peak, record.peak_in_flight), (64, 64));
        assert_eq!(record.shrinks_total, 0);
        assert_eq!(record.fastest_answer_us, Some(200));
    }

    #[test]
    fn a_ceiling_below_the_start_is_the_window() {
        let mut window = CaseWindow::new(true, 1);
        rounds(&mut window, 5, FAST);
        assert_eq!(window.size(), 1);
    }

    #[test]
    fn fixed_pacing_holds_the_ceiling_and_records_distress() {
        let mut window = CaseWindow::new(false, 64);
        assert_eq!(window.size(), 64);
        let ticket = window.started();
        window.settled(
            ticket,
            Duration::ZERO,
            Settled::Distress(WindowDistress::ConnectRefused),
        );
        rounds(&mut window, 2, Duration::from_secs(1));
        let record = window.record();
        assert_eq!(window.size(), 64);
        assert_eq!(record.shrinks_total, 0);
        assert_eq!(record.distress_seen[&WindowDistress::ConnectRefused], 1);
        assert!(!record.adaptive);
    }

    #[test]
    fn a_refused_connection_halves_at_once_then_growth_is_by_one() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 3, FAST);
        assert_eq!(window.size(), 32);
        let ticket = window.started();
        window.settled(
            ticket,
            Duration::from_millis(7),
            Settled::Distress(WindowDistress::ConnectRefused),
        );
        assert_eq!(window.size(), 16);
        rounds(&mut window, 1, FAST);
        assert_eq!(window.size(), 17);
        let record = window.record();
        assert_eq!(record.shrinks.len(), 1);
        let shrink = &record.shrinks[0];
        assert_eq!(shrink.cause, WindowDistress::ConnectRefused);
        assert_eq!((shrink.window_before, shrink.window_after), (32, 16));
        assert_eq!((shrink.at_ms, shrink.after_cases), (7, 29));
    }

    #[test]
    fn the_cases_of_one_episode_halve_once() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 3, FAST);
        let tickets: Vec<Ticket> = (0..32).map(|_| window.started()).collect();
        for ticket in tickets {
            window.settled(
                ticket,
                Duration::ZERO,
                Settled::Distress(WindowDistress::SessionUnanswered),
            );
        }
        assert_eq!(window.size(), 16, "32 refusals of one episode, one halving");
        let later = window.started();
        window.settled(
            later,
            Duration::ZERO,
            Settled::Distress(WindowDistress::SessionUnanswered),
        );
        assert_eq!(
            window.size(),
            8,
            "a case started after the shrink is a new episode"
        );
        let record = window.record();
        assert_eq!(record.distress_seen[&WindowDistress::SessionUnanswered], 33);
        assert_eq!(record.shrinks_total, 2);
    }

    #[test]
    fn answers_that_slow_down_over_a_whole_round_halve_the_window() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 2, FAST);
        assert_eq!(window.size(), 16);
        rounds(&mut window, 1, Duration::from_millis(80));
        assert_eq!(window.size(), 8);
        let record = window.record();
        let shrink = &record.shrinks[0];
        assert_eq!(shrink.cause, WindowDistress::SlowAnswers);
        assert_eq!(
            (shrink.answer_us, shrink.fastest_us),
            (Some(80_000), Some(200))
        );
    }

    #[test]
    fn one_slow_case_in_a_round_is_the_harness_not_the_device() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 2, FAST);
        let tickets: Vec<Ticket> = (0..16).map(|_| window.started()).collect();
        for (n, ticket) in tickets.into_iter().enumerate() {
            let took = if n == 3 { Duration::from_secs(1) } else { FAST };
            window.settled(ticket, Duration::ZERO, Settled::Reacted(Some(took)));
        }
        assert_eq!(window.size(), 32);
    }

    #[test]
    fn a_few_prompt_answers_do_not_hide_a_slow_round() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 2, FAST);
        let tickets: Vec<Ticket> = (0..16).map(|_| window.started()).collect();
        for (n, ticket) in tickets.into_iter().enumerate() {
            let took = if n < 4 {
                FAST
            } else {
                Duration::from_millis(90)
            };
            window.settled(ticket, Duration::ZERO, Settled::Reacted(Some(took)));
        }
        assert_eq!(window.size(), 8);
        assert_eq!(median(&mut []), None);
        let mut two = [Duration::from_millis(2), Duration::from_millis(1)];
        assert_eq!(median(&mut two), Some(Duration::from_millis(1)));
    }

    #[test]
    fn a_round_counts_only_cases_started_at_the_current_window() {
        let mut window = CaseWindow::new(true, 64);
        let first: Vec<Ticket> = (0..4).map(|_| window.started()).collect();
        let mut old = Vec::new();
        for ticket in first {
            window.settled(ticket, Duration::ZERO, Settled::Reacted(Some(FAST)));
            if window.size() == START_WINDOW {
                old.push(window.started());
            }
        }
        assert_eq!((window.size(), old.len()), (8, 3));
        let new: Vec<Ticket> = (0..8).map(|_| window.started()).collect();
        for ticket in old.into_iter().chain(new.iter().copied().take(5)) {
            window.settled(ticket, Duration::ZERO, Settled::Reacted(Some(FAST)));
        }
        assert_eq!(window.size(), 8, "3 cases sent at 4 do not judge 8");
        for &ticket in new.get(5..).unwrap_or_default() {
            window.settled(ticket, Duration::ZERO, Settled::Reacted(Some(FAST)));
        }
        assert_eq!(window.size(), 16);
    }

    #[test]
    fn queueing_holds_the_window_and_ends_slow_start() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 2, FAST);
        rounds(&mut window, 1, Duration::from_millis(20));
        assert_eq!(window.size(), 16, "queueing: hold");
        rounds(&mut window, 1, FAST);
        assert_eq!(window.size(), 17, "then grow by one");
        assert_eq!(window.record().shrinks_total, 0);
    }

    #[test]
    fn malformed_input_reactions_without_answers_still_let_it_grow() {
        let mut window = CaseWindow::new(true, 64);
        for _ in 0..3 {
            let tickets: Vec<Ticket> = (0..window.size()).map(|_| window.started()).collect();
            for ticket in tickets {
                window.settled(ticket, Duration::ZERO, Settled::Reacted(None));
            }
        }
        assert_eq!(window.size(), 32);
    }

    #[test]
    fn a_slow_probe_halves_unless_the_window_already_shrank_since_the_last_case() {
        let mut window = CaseWindow::new(true, 64);
        rounds(&mut window, 3, FAST);
        window.slow_probe(Duration::from_millis(1));
        assert_eq!(window.size(), 16);
        window.slow_probe(Duration::from_millis(2));
        assert_eq!(window.size(), 16, "same episode");
        rounds(&mut window, 1, FAST);
        window.slow_probe(Duration::from_millis(3));
        assert_eq!(window.size(), 8);
        assert!(window.record().sentence().contains(
            "shrank 2 time(s), first from 32 to 16 after 28 cases because the liveness probe was slow"
        ));
    }

    #[test]
    fn unjudged_cases_count_for_nothing() {
        let mut window = CaseWindow::new(true, 64);
        let tickets: Vec<Ticket> = (0..4).map(|_| window.started()).collect();
        for ticket in tickets {
            window.settled(ticket, Duration::ZERO, Settled::Unjudged);
        }
        assert_eq!(window.size(), START_WINDOW);
        assert!(window.record().distress_seen.is_empty());
        assert!(window.has_room());
    }

    proptest! {
        /// Whatever the device does, the window stays between 1 and the ceiling, and
        /// never more cases are in flight than the window allowed when each started.
        #[test]
        fn window_stays_within_one_and_the_ceiling(
            ceiling in 1u32..100,
            adaptive in any::<bool>(),
            events in proptest::collection::vec((0u8..6, 0u64..50_000), 0..600),
        ) {
            let mut window = CaseWindow::new(adaptive, ceiling);
            let mut open = Vec::new();
            for (kind, micros) in events {
                if kind == 0 && window.has_room() {
                    open.push(window.started());
                    continue;
                }
                let Some(ticket) = open.pop() else { continue };
                let settled = match kind {
                    1 => Settled::Distress(WindowDistress::ConnectRefused),
                    2 => Settled::Unjudged,
                    3 => Settled::Reacted(None),
                    _ => Settled::Reacted(Some(Duration::from_micros(micros))),
                };
                window.settled(ticket, Duration::from_micros(micros), settled);
                prop_assert!(window.size() >= 1 && window.size() <= ceiling);
                if !adaptive {
                    prop_assert_eq!(window.size(), ceiling);
                }
            }
            let record = window.record();
            prop_assert!(record.peak_in_flight <= ceiling);
            prop_assert!(record.shrinks.len() <= MAX_RECORDED_SHRINKS);
        }
    }
}
