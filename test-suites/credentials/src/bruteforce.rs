//! Brute-force resistance: N wrong passwords, timed, and what the device did about them.
//!
//! EN 303 645 5.1-5 accepts any mechanism that makes guessing impracticable: a delay
//! per failure, a lockout, or a rate limit. The measurement sends wrong passwords for
//! one account (a few at a time, under the pacer) and keeps every answer's duration;
//! when the right password of this very interface is known it is tried before (the
//! positive control: the service judges logins, and how fast it answers a good one) and
//! after (refused after the wrong ones means the account locked even if the device said
//! nothing).
//!
//! A limit counts only once the service was seen judging logins: at least
//! [`JUDGED_BEFORE_LIMIT`] wrong passwords answered as refused before it, in the
//! measurement or, for an explicit lock that outlasted the suite's guessing, during the
//! guessing of the same unit. A connection refused from the first attempt is a service
//! that is not there, never a rate limit; a uniform delay counts only against a right
//! password answered quickly, or as a slow-down that grows with the failures.

use crate::probe::{self, random_token, Login, Outcome, Target};
use crate::window;
use iotcert_suite::{Evidence, RunContext, Verdict};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Wrong passwords answered as refused before a limit (HTTP 429, a lock, connections
/// refused) counts as the device's doing.
pub const JUDGED_BEFORE_LIMIT: usize = 3;

/// A failure answered in at least this long (median) is a deliberate delay: at most
/// four guesses a second per connection.
pub const DELAY_THRESHOLD: Duration = Duration::from_millis(250);

/// The first limit the device put on the guessing, in the order answers came.
#[derive(Debug, Serialize)]
pub struct Limit {
    /// Wrong passwords answered as refused before it.
    pub after_refused: usize,
    pub reason: String,
    /// An explicit sign (429, a lockout notice, a hang-up during authentication) rather
    /// than connections refused.
    pub explicit: bool,
}

/// What the suite saw of the unit before the measurement, from its guessing.
#[derive(Debug, Default, Serialize)]
pub struct Earlier {
    /// How the measured interface was seen judging logins before any guessing.
    pub judged: Option<String>,
    /// Wrong passwords the unit answered as refused during the guessing before it first
    /// refused to judge one.
    pub refused_before_limit: usize,
    /// What the unit said when it first refused to judge a login during the guessing.
    pub limit: Option<String>,
}

/// What the measurement saw.
#[derive(Debug, Serialize)]
pub struct Measurement {
    pub target: String,
    pub username: String,
    pub attempts_sent: usize,
    pub concurrency: usize,
    pub wall_time_ms: u64,
    pub attempts_per_second: f64,
    /// Duration of each answer (the credential's judgement where the probe can time it
    /// apart from connection setup), in the order the attempts finished.
    pub answers: Vec<(String, u64)>,
    pub median_ms: u64,
    pub first_median_ms: u64,
    pub last_median_ms: u64,
    /// The right password of this interface, tried before the wrong ones: how it was
    /// answered and in how many milliseconds.
    pub right_password_before: Option<(String, u64)>,
    /// The right password, tried after the wrong ones (only when it opened the service
    /// before them), was refused.
    pub right_password_refused_after: Option<bool>,
    pub limit: Option<Limit>,
    /// The most connections the device held at once, when it turned others away.
    pub connection_limit: Option<usize>,
    /// Attempts the device turned away before its greeting (each sent again).
    pub turned_away: usize,
}

impl Measurement {
    fn right_opened_before(&self) -> Option<u64> {
        match &self.right_password_before {
            Some((word, ms)) if word == Outcome::Accepted.word() => Some(*ms),
            _ => None,
        }
    }
}

/// The verdict, its reasons, and for a PASS the positive control observed.
pub struct Judgement {
    pub verdict: Verdict,
    pub summary: String,
    pub proof: Option<String>,
    pub evidence: Vec<Evidence>,
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// Send `count` wrong passwords for `username`, `concurrency` at a time, with the right
/// password of this interface before and after them when it is known.
pub async fn measure(
    ctx: &RunContext,
    target: &Target,
    username: &str,
    right_password: Option<&str>,
    count: usize,
    concurrency: usize,
) -> Measurement {
    let right_password_before = match right_password {
        Some(password) if !ctx.should_stop() => {
            let attempt = probe::attempt(ctx, target, &Login::new(username, password)).await;
            let answer = attempt.answer_time();
            Some((attempt.outcome, answer))
        }
        _ => None,
    };
    let started = Instant::now();
    let finished = window::run((0..count).collect(), concurrency, |_| async {
        if ctx.should_stop() {
            return None;
        }
        let login = Login::new(username, &format!("iotcert-wrong-{}", random_token(6)));
        Some(probe::attempt(ctx, target, &login).await)
    })
    .await;
    let attempts: Vec<(Outcome, Duration)> = finished
        .attempts
        .into_iter()
        .map(|(_, attempt)| {
            let answer = attempt.answer_time();
            (attempt.outcome, answer)
        })
        .collect();
    let wall = started.elapsed();
    let opened_before = matches!(right_password_before, Some((Outcome::Accepted, _)));
    let right_password_refused_after = match right_password {
        Some(password) if opened_before && !ctx.should_stop() => {
            let attempt = probe::attempt(ctx, target, &Login::new(username, password)).await;
            match attempt.outcome {
                Outcome::Accepted => Some(false),
                Outcome::Refused | Outcome::Throttled(_) => Some(true),
                _ => None,
            }
        }
        _ => None,
    };
    Measurement::summarise(
        target.label(),
        username,
        concurrency,
        Observed {
            attempts,
            wall,
            right_password_before,
            right_password_refused_after,
            connection_limit: finished.connection_limit,
            turned_away: finished.turned_away,
        },
    )
}

/// What a measurement sent and saw, before it is summarised.
pub struct Observed {
    /// Each wrong password's outcome and answer time, in the order they finished.
    pub attempts: Vec<(Outcome, Duration)>,
    pub wall: Duration,
    /// The right password before the wrong ones: its outcome and answer time.
    pub right_password_before: Option<(Outcome, Duration)>,
    pub right_password_refused_after: Option<bool>,
    pub connection_limit: Option<usize>,
    pub turned_away: usize,
}

impl Measurement {
    /// The timings, medians and first limit of what was observed.
    pub fn summarise(
        target: String,
        username: &str,
        concurrency: usize,
        observed: Observed,
    ) -> Measurement {
        let attempts = observed.attempts;
        let mut refused = 0usize;
        let mut limit = None;
        for (outcome, _) in &attempts {
            match outcome {
                Outcome::Refused => refused += 1,
                Outcome::Throttled(reason) => {
                    limit = Some(Limit {
                        after_refused: refused,
                        reason: reason.clone(),
                        explicit: true,
                    });
                    break;
                }
                Outcome::Unreachable(reason) => {
                    limit = Some(Limit {
                        after_refused: refused,
                        reason: format!("the device refused connections: {reason}"),
                        explicit: false,
                    });
                    break;
                }
                _ => {}
            }
        }
        // Only answers the device gave count as its timing: a timeout is no delay of its own.
        let mut all: Vec<u64> = attempts
            .iter()
            .filter(|(outcome, _)| matches!(outcome, Outcome::Refused | Outcome::Throttled(_)))
            .map(|(_, d)| iotcert_suite::event::whole_milliseconds(*d))
            .collect();
        let third = (all.len() / 3).max(1);
        let mut first: Vec<u64> = all.iter().take(third).copied().collect();
        let mut last: Vec<u64> = all.iter().rev().take(third).copied().collect();
        let answers = attempts
            .iter()
            .map(|(outcome, elapsed)| {
                (
                    outcome.word().to_owned(),
                    iotcert_suite::event::whole_milliseconds(*elapsed),
                )
            })
            .collect();
        Measurement {
            target,
            username: username.to_owned(),
            attempts_sent: attempts.len(),
            concurrency,
            wall_time_ms: iotcert_suite::event::whole_milliseconds(observed.wall),
            attempts_per_second: attempts.len() as f64 / observed.wall.as_secs_f64().max(0.001),
            answers,
            median_ms: median(&mut all),
            first_median_ms: median(&mut first),
            last_median_ms: median(&mut last),
            right_password_before: observed.right_password_before.map(|(outcome, answer)| {
                (
                    outcome.word().to_owned(),
                    iotcert_suite::event::whole_milliseconds(answer),
                )
            }),
            right_password_refused_after: observed.right_password_refused_after,
            limit,
            connection_limit: observed.connection_limit,
            turned_away: observed.turned_away,
        }
    }
}

/// Decide 5.1-5 from a measurement and what the suite saw of the unit before it.
pub fn judge(measurement: &Measurement, earlier: &Earlier) -> Judgement {
    #[derive(Serialize)]
    struct Record<'a> {
        measurement: &'a Measurement,
        before_the_measurement: &'a Earlier,
    }
    let evidence = vec![Evidence::json(
        format!("brute-force timings {}", measurement.target),
        &Record {
            measurement,
            before_the_measurement: earlier,
        },
    )];
    let target = &measurement.target;
    let sent = measurement.attempts_sent;
    let rate = match measurement.connection_limit {
        Some(limit) => format!(
            "{:.1} attempts/s; the device held at most {limit} connections at once and turned {} away",
            measurement.attempts_per_second, measurement.turned_away
        ),
        None => format!("{:.1} attempts/s", measurement.attempts_per_second),
    };
    let judged = measurement
        .answers
        .iter()
        .filter(|(word, _)| word == Outcome::Refused.word())
        .count();
    let not_judged = sent - judged;
    let (verdict, summary, proof) = if let Some(limit) = &measurement.limit {
        judge_limit(measurement, limit, earlier, &rate)
    } else if let (Some(ms), Some(true)) = (
        measurement.right_opened_before(),
        measurement.right_password_refused_after,
    ) {
        (
            Verdict::Pass,
            format!("After {sent} wrong passwords the right one was refused on {target}: the account locks."),
            Some(format!("the right password opened {target} (in {ms} ms) before {sent} wrong ones and was refused after them")),
        )
    } else if sent == 0 || not_judged * 2 > sent {
        (
            Verdict::Inconclusive,
            format!("Only {judged} of {sent} attempts on {target} were judged by the device; no measurement."),
            None,
        )
    } else if not_judged == 0
        && measurement.first_median_ms < iotcert_suite::event::whole_milliseconds(DELAY_THRESHOLD)
        && measurement.last_median_ms >= 2 * measurement.first_median_ms + 100
    {
        (
            Verdict::Pass,
            format!("Failures on {target} slow down as they accumulate (median {} ms at first, {} ms at the end).", measurement.first_median_ms, measurement.last_median_ms),
            Some(format!("every one of {sent} wrong passwords was judged on {target}; the first were answered in {} ms (median), the last in {} ms", measurement.first_median_ms, measurement.last_median_ms)),
        )
    } else if measurement.median_ms >= iotcert_suite::event::whole_milliseconds(DELAY_THRESHOLD) {
        judge_delayed_failures(measurement, not_judged, &rate)
    } else {
        (
            Verdict::Fail,
            format!("{judged} wrong passwords on {target} were answered promptly (median {} ms, {rate}) with no delay, lockout or rate limit{}.", measurement.median_ms, match measurement.right_password_refused_after { Some(false) => "; the right password was still accepted afterwards", _ => "" }),
            None,
        )
    };
    Judgement {
        verdict,
        summary,
        proof,
        evidence,
    }
}

/// A verdict, its summary and, for a PASS, its proof.
type Decision = (Verdict, String, Option<String>);

/// The device said it limits guessing (`limit`): a PASS once enough wrong passwords were
/// judged before it, during the measurement or, for an explicit lock, during the
/// suite's guessing; a limit that early is INCONCLUSIVE.
fn judge_limit(
    measurement: &Measurement,
    limit: &Limit,
    earlier: &Earlier,
    rate: &str,
) -> Decision {
    let target = &measurement.target;
    let sent = measurement.attempts_sent;
    let reason = &limit.reason;
    let after = limit.after_refused;
    let earlier_lock = earlier
        .limit
        .as_ref()
        .filter(|_| limit.explicit && earlier.refused_before_limit >= JUDGED_BEFORE_LIMIT);
    if after >= JUDGED_BEFORE_LIMIT {
        (
            Verdict::Pass,
            format!("The device throttles guessing on {target}: after {after} wrong passwords answered as refused, {reason} ({rate})."),
            Some(format!("{target} answered {after} wrong passwords as refused, then {reason}")),
        )
    } else if let (Some(lock), Some(seen)) = (earlier_lock, &earlier.judged) {
        (
            Verdict::Pass,
            format!("The device locks logins on {target}: after {} wrong passwords refused during the suite's guessing it said \"{lock}\", and the {sent} wrong passwords of the measurement met {reason}.", earlier.refused_before_limit),
            Some(format!("before any guessing {seen}; {} wrong passwords were then refused before the unit said \"{lock}\", and it still refused to judge: {reason}", earlier.refused_before_limit)),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!("On {target}, {reason} after only {after} wrong passwords answered as refused: a limit so early cannot be told from a service that does not judge logins (at least {JUDGED_BEFORE_LIMIT} judged first are needed)."),
            None,
        )
    }
}

/// Failures answered slowly (median at or over [`DELAY_THRESHOLD`]): a PASS only when
/// every wrong password was judged and the right one was answered quickly, so the
/// delay is for failures and not a slow service.
fn judge_delayed_failures(measurement: &Measurement, not_judged: usize, rate: &str) -> Decision {
    let target = &measurement.target;
    let sent = measurement.attempts_sent;
    let median_ms = measurement.median_ms;
    match measurement.right_opened_before() {
        _ if not_judged > 0 => (
            Verdict::Inconclusive,
            format!("Failures on {target} took {median_ms} ms (median), but {not_judged} of {sent} wrong passwords were not judged: no measurement."),
            None,
        ),
        Some(right_ms) if right_ms < iotcert_suite::event::whole_milliseconds(DELAY_THRESHOLD) => (
            Verdict::Pass,
            format!("Every failure on {target} is delayed (median {median_ms} ms over {sent} wrong passwords, {rate}); the right password was answered in {right_ms} ms."),
            Some(format!("the right password was answered on {target} in {right_ms} ms, each of {sent} wrong ones in {median_ms} ms (median)")),
        ),
        _ => (
            Verdict::Inconclusive,
            format!("Failures on {target} took {median_ms} ms (median over {sent} wrong passwords), but no right password of this interface was answered quickly before them: a delay for failures cannot be told from a slow service."),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ms: u64) -> (Outcome, Duration) {
        (Outcome::Refused, Duration::from_millis(ms))
    }

    fn measured(
        attempts: Vec<(Outcome, Duration)>,
        right_password_before: Option<(Outcome, Duration)>,
        right_password_refused_after: Option<bool>,
    ) -> Measurement {
        Measurement::summarise(
            "u 127.0.0.1:80/http".to_owned(),
            "admin",
            1,
            Observed {
                attempts,
                wall: Duration::from_secs(1),
                right_password_before,
                right_password_refused_after,
                connection_limit: None,
                turned_away: 0,
            },
        )
    }

    fn unreachable() -> (Outcome, Duration) {
        (
            Outcome::Unreachable("connecting: connection refused".into()),
            Duration::ZERO,
        )
    }

    #[test]
    fn connections_refused_from_the_start_are_no_rate_limit() {
        let measurement = measured(vec![unreachable(); 6], None, None);
        let judged = judge(&measurement, &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Inconclusive, "{}", judged.summary);
        let after_one = measured(
            vec![refused(5), unreachable(), unreachable(), unreachable()],
            None,
            None,
        );
        let judged = judge(&after_one, &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Inconclusive, "{}", judged.summary);
        assert!(judged.proof.is_none());
    }

    #[test]
    fn a_limit_after_judged_refusals_passes_with_its_proof() {
        let measurement = measured(
            vec![
                refused(5),
                refused(5),
                refused(5),
                unreachable(),
                unreachable(),
            ],
            None,
            None,
        );
        let judged = judge(&measurement, &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Pass, "{}", judged.summary);
        let proof = judged.proof.unwrap_or_default();
        assert!(
            proof.contains("answered 3 wrong passwords as refused"),
            "{proof}"
        );
    }

    #[test]
    fn a_lock_from_the_guessing_counts_only_after_judged_refusals() {
        let locked = (
            Outcome::Throttled("HTTP 429".into()),
            Duration::from_millis(3),
        );
        let measurement = measured(vec![locked.clone(); 4], None, None);
        let unseen = Earlier {
            judged: Some("a random password was refused".into()),
            refused_before_limit: 1,
            limit: Some("HTTP 429".into()),
        };
        assert_eq!(judge(&measurement, &unseen).verdict, Verdict::Inconclusive);
        let seen = Earlier {
            refused_before_limit: 5,
            ..unseen
        };
        let judged = judge(&measurement, &seen);
        assert_eq!(judged.verdict, Verdict::Pass, "{}", judged.summary);
    }

    #[test]
    fn the_right_password_refused_after_is_a_lock_only_if_it_opened_before() {
        let wrong = vec![refused(5); 6];
        let opened = Some((Outcome::Accepted, Duration::from_millis(5)));
        let judged = judge(
            &measured(wrong.clone(), opened, Some(true)),
            &Earlier::default(),
        );
        assert_eq!(judged.verdict, Verdict::Pass, "{}", judged.summary);
        // A password that was never right here (refused before) proves no lock.
        let never = Some((Outcome::Refused, Duration::from_millis(5)));
        let judged = judge(&measured(wrong, never, None), &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Fail, "{}", judged.summary);
    }

    #[test]
    fn a_uniform_delay_needs_a_right_password_answered_quickly() {
        let slow = vec![refused(600); 6];
        let judged = judge(&measured(slow.clone(), None, None), &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Inconclusive, "{}", judged.summary);
        let quick_right = Some((Outcome::Accepted, Duration::from_millis(20)));
        let judged = judge(
            &measured(slow, quick_right, Some(false)),
            &Earlier::default(),
        );
        assert_eq!(judged.verdict, Verdict::Pass, "{}", judged.summary);
        assert!(judged.proof.is_some_and(|p| p.contains("in 20 ms")));
    }

    #[test]
    fn a_growing_delay_passes_and_prompt_answers_fail() {
        let growing = vec![
            refused(10),
            refused(10),
            refused(200),
            refused(400),
            refused(800),
            refused(900),
        ];
        let judged = judge(&measured(growing, None, None), &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Pass, "{}", judged.summary);
        let prompt = vec![refused(10); 6];
        let judged = judge(&measured(prompt, None, None), &Earlier::default());
        assert_eq!(judged.verdict, Verdict::Fail, "{}", judged.summary);
    }
}
