//! How many attempts a device takes at once, learned while guessing.
//!
//! Some devices cap the unauthenticated connections they hold per address (dropbear
//! holds 5) and close every other one before the protocol's greeting. At a fixed
//! concurrency above that cap most attempts would come back undecided and the
//! candidates behind them would never be judged; a tool that counts them as tried
//! reports "not found" for a password it never sent. [`run`] keeps a window of
//! attempts in flight instead: an attempt the device turned away goes again, keeping
//! its place in the list, and the window narrows to what the device was holding;
//! [`WIDEN_AFTER`] windows' worth of judged attempts in a row widen it by one again, up
//! to the concurrency asked for. The window most judged attempts were sent in is what
//! the device holds at once, reported as brute-force evidence.

use crate::probe::{Attempt, Outcome};
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::time::Duration;

/// Times one candidate may be turned away before its last answer is kept as it is.
const MAX_TURNED_AWAY: u32 = 8;
/// Pause before a turned-away candidate goes again, doubled each time it is turned
/// away, so the device has time to let go of the connection that made room.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(10);
const MAX_RETRY_PAUSE: Duration = Duration::from_millis(320);
/// Windows' worth of judged attempts in a row after which the window widens by one:
/// a device whose limit was a passing state gets the concurrency back, and one at its
/// limit sees one extra connection now and then, not one per window.
const WIDEN_AFTER: usize = 2;

/// What a windowed run produced.
pub struct Finished<I> {
    /// Each item with its final attempt, in the order they finished.
    pub attempts: Vec<(I, Attempt)>,
    /// Items the attempt function declined (`None`: stopped, or nothing left to do).
    pub skipped: usize,
    /// Attempts the device turned away (each was tried again).
    pub turned_away: usize,
    /// When the device turned attempts away: the window most judged attempts were
    /// sent in, which is about what it holds at once. `None` when it turned none away.
    pub connection_limit: Option<usize>,
}

/// Run `attempt` over `items`, at most `concurrency` at a time, narrowing to what the
/// device takes.
pub async fn run<I, F, Fut>(items: Vec<I>, concurrency: usize, attempt: F) -> Finished<I>
where
    F: Fn(&I) -> Fut,
    Fut: Future<Output = Option<Attempt>>,
{
    let ceiling = concurrency.max(1);
    let mut window = ceiling;
    let mut judged_in_a_row = 0usize;
    let mut queue: VecDeque<(I, u32)> = items.into_iter().map(|item| (item, 0)).collect();
    let mut in_flight = FuturesUnordered::new();
    let mut finished = Finished {
        attempts: Vec::new(),
        skipped: 0,
        turned_away: 0,
        connection_limit: None,
    };
    // Judged attempts by the window they were sent in.
    let mut judged_by_window: BTreeMap<usize, usize> = BTreeMap::new();
    let attempt = &attempt;
    loop {
        while in_flight.len() < window {
            let Some((item, turned)) = queue.pop_front() else {
                break;
            };
            let sent_in = window;
            in_flight.push(async move {
                if turned > 0 {
                    let pause = FIRST_RETRY_PAUSE.saturating_mul(1 << (turned - 1).min(5));
                    tokio::time::sleep(pause.min(MAX_RETRY_PAUSE)).await;
                }
                let result = attempt(&item).await;
                (item, turned, result, sent_in)
            });
        }
        let Some((item, turned, result, sent_in)) = in_flight.next().await else {
            break;
        };
        match result {
            None => finished.skipped += 1,
            Some(done) if matches!(done.outcome, Outcome::TurnedAway(_)) => {
                finished.turned_away += 1;
                judged_in_a_row = 0;
                // The device was holding at most the attempts still in flight.
                window = window.min(in_flight.len().max(1));
                if turned < MAX_TURNED_AWAY {
                    queue.push_front((item, turned + 1));
                } else {
                    finished.attempts.push((item, done));
                }
            }
            Some(done) => {
                judged_in_a_row += 1;
                if judged_in_a_row >= WIDEN_AFTER * window && window < ceiling {
                    window += 1;
                    judged_in_a_row = 0;
                }
                *judged_by_window.entry(sent_in).or_default() += 1;
                finished.attempts.push((item, done));
            }
        }
    }
    if finished.turned_away > 0 {
        finished.connection_limit = judged_by_window
            .into_iter()
            .max_by_key(|&(window, judged)| (judged, window))
            .map(|(window, _)| window);
    }
    finished
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotcert_suite::Transcript;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            outcome,
            elapsed: Duration::ZERO,
            transcript: Transcript::new(),
            identity: None,
            answer: None,
        }
    }

    /// A device that holds `limit` attempts and turns away the rest, for `hold` each.
    async fn device(held: &AtomicUsize, limit: usize, hold: Duration) -> Option<Attempt> {
        if held.fetch_add(1, Ordering::SeqCst) >= limit {
            held.fetch_sub(1, Ordering::SeqCst);
            return Some(attempt(Outcome::TurnedAway("closed at once".into())));
        }
        tokio::time::sleep(hold).await;
        held.fetch_sub(1, Ordering::SeqCst);
        Some(attempt(Outcome::Refused))
    }

    #[tokio::test(start_paused = true)]
    async fn every_item_is_judged_by_a_device_that_holds_fewer_than_asked() {
        let held = AtomicUsize::new(0);
        let finished = run((0..60).collect::<Vec<u32>>(), 16, |_| {
            device(&held, 5, Duration::from_millis(300))
        })
        .await;
        assert_eq!(finished.attempts.len(), 60);
        assert!(finished
            .attempts
            .iter()
            .all(|(_, a)| a.outcome == Outcome::Refused));
        assert_eq!(finished.connection_limit, Some(5));
        assert!(finished.turned_away >= 11, "{}", finished.turned_away);
    }

    #[tokio::test(start_paused = true)]
    async fn a_device_without_a_limit_keeps_the_whole_window() {
        let held = AtomicUsize::new(0);
        let finished = run((0..40).collect::<Vec<u32>>(), 8, |_| {
            device(&held, usize::MAX, Duration::from_millis(10))
        })
        .await;
        assert_eq!(finished.attempts.len(), 40);
        assert_eq!(finished.turned_away, 0);
        assert_eq!(finished.connection_limit, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_device_that_always_turns_away_ends_each_item_after_bounded_retries() {
        let calls = AtomicUsize::new(0);
        let finished = run(vec![1u8, 2], 4, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Some(attempt(Outcome::TurnedAway("closed at once".into()))) }
        })
        .await;
        assert_eq!(finished.attempts.len(), 2);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2 * (MAX_TURNED_AWAY as usize + 1)
        );
    }

    #[tokio::test]
    async fn declined_items_are_counted_not_tried() {
        let finished = run(vec![1u8, 2, 3], 2, |item| {
            let keep = *item != 2;
            async move { keep.then(|| attempt(Outcome::Refused)) }
        })
        .await;
        assert_eq!(finished.attempts.len(), 2);
        assert_eq!(finished.skipped, 1);
    }
}
