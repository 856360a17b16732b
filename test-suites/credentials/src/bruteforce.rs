//! Brute-force resistance: N wrong passwords, timed, and what the device did about them.
//!
//! EN 303 645 5.1-5 accepts any mechanism that makes guessing impracticable: a delay
//! per failure, a lockout, or a rate limit. The measurement sends wrong passwords for
//! one account (a few at a time, under the pacer), keeps every answer's duration, then
//! tries the right password when it is known: refused after the wrong ones means the
//! account was locked even if the device said nothing.

use crate::probe::{self, random_token, Login, Outcome, Target};
use crate::window;
use iotcert_suite::{Evidence, RunContext, Verdict};
use serde::Serialize;
use std::time::{Duration, Instant};

/// A failure answered in at least this long (median) is a deliberate delay: at most
/// four guesses a second per connection.
pub const DELAY_THRESHOLD: Duration = Duration::from_millis(250);

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
    /// The right password, tried after the wrong ones, was refused.
    pub right_password_refused_after: Option<bool>,
    pub throttle: Option<String>,
    /// The most connections the device held at once, when it turned others away.
    pub connection_limit: Option<usize>,
    /// Attempts the device turned away before its greeting (each sent again).
    pub turned_away: usize,
}

/// The verdict and its reasons.
pub struct Judgement {
    pub verdict: Verdict,
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// Send `count` wrong passwords for `username`, `concurrency` at a time, then the
/// right one when known.
pub async fn measure(
    ctx: &RunContext,
    target: &Target,
    username: &str,
    right_password: Option<&str>,
    count: usize,
    concurrency: usize,
) -> Measurement {
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
    let right_password_refused_after = match right_password {
        Some(password) if !ctx.should_stop() => {
            let attempt = probe::attempt(ctx, target, &Login::new(username, password)).await;
            match attempt.outcome {
                Outcome::Accepted => Some(false),
                Outcome::Refused | Outcome::Throttled(_) => Some(true),
                _ => None,
            }
        }
        _ => None,
    };
    let throttle = attempts
        .iter()
        .enumerate()
        .find_map(|(index, (outcome, _))| match outcome {
            Outcome::Throttled(reason) => Some(format!("after {index} wrong passwords: {reason}")),
            Outcome::Unreachable(reason) if index > 0 => Some(format!(
                "after {index} wrong passwords the device refused connections: {reason}"
            )),
            _ => None,
        });
    // Only answers the device gave count as its timing: a timeout is no delay of its own.
    let mut all: Vec<u64> = attempts
        .iter()
        .filter(|(outcome, _)| matches!(outcome, Outcome::Refused | Outcome::Throttled(_)))
        .map(|(_, d)| d.as_millis() as u64)
        .collect();
    let third = (all.len() / 3).max(1);
    let mut first: Vec<u64> = all.iter().take(third).copied().collect();
    let mut last: Vec<u64> = all.iter().rev().take(third).copied().collect();
    let answers = attempts
        .iter()
        .map(|(outcome, elapsed)| (outcome.word().to_owned(), elapsed.as_millis() as u64))
        .collect();
    Measurement {
        target: target.label(),
        username: username.to_owned(),
        attempts_sent: attempts.len(),
        concurrency,
        wall_time_ms: wall.as_millis() as u64,
        attempts_per_second: attempts.len() as f64 / wall.as_secs_f64().max(0.001),
        answers,
        median_ms: median(&mut all),
        first_median_ms: median(&mut first),
        last_median_ms: median(&mut last),
        right_password_refused_after,
        throttle,
        connection_limit: finished.connection_limit,
        turned_away: finished.turned_away,
    }
}

/// Decide 5.1-5 from a measurement.
pub fn judge(measurement: &Measurement) -> Judgement {
    let evidence = vec![Evidence::json(
        format!("brute-force timings {}", measurement.target),
        measurement,
    )];
    let sent = measurement.attempts_sent;
    let rate = match measurement.connection_limit {
        Some(limit) => format!(
            "{:.1} attempts/s; the device held at most {limit} connections at once and turned {} away",
            measurement.attempts_per_second, measurement.turned_away
        ),
        None => format!("{:.1} attempts/s", measurement.attempts_per_second),
    };
    let undecided = measurement
        .answers
        .iter()
        .filter(|(word, _)| ["undecided", "unreachable", "turned away"].contains(&word.as_str()))
        .count();
    let (verdict, summary) = if let Some(throttle) = &measurement.throttle {
        (
            Verdict::Pass,
            format!(
                "The device throttles guessing on {}: {throttle} ({rate}).",
                measurement.target
            ),
        )
    } else if measurement.right_password_refused_after == Some(true) {
        (
            Verdict::Pass,
            format!(
                "After {sent} wrong passwords the right one was refused on {}: the account locks.",
                measurement.target
            ),
        )
    } else if sent == 0 || undecided * 2 > sent {
        (
            Verdict::Inconclusive,
            format!(
                "Only {} of {sent} attempts on {} were judged by the device; no measurement.",
                sent - undecided,
                measurement.target
            ),
        )
    } else if measurement.median_ms >= DELAY_THRESHOLD.as_millis() as u64 {
        (Verdict::Pass, format!("Every failure on {} is delayed (median {} ms over {sent} wrong passwords, {rate}).", measurement.target, measurement.median_ms))
    } else if measurement.last_median_ms >= 2 * measurement.first_median_ms + 100 {
        (Verdict::Pass, format!("Failures on {} slow down as they accumulate (median {} ms at first, {} ms at the end).", measurement.target, measurement.first_median_ms, measurement.last_median_ms))
    } else {
        (Verdict::Fail, format!("{sent} wrong passwords on {} were all answered promptly (median {} ms, {rate}) with no delay, lockout or rate limit{}.", measurement.target, measurement.median_ms, match measurement.right_password_refused_after { Some(false) => "; the right password was still accepted afterwards", _ => "" }))
    };
    Judgement {
        verdict,
        summary,
        evidence,
    }
}
