//! The fuzzing loop of one interface of one unit: budget, oracles, recovery, shrinking.
//!
//! Cases are sent in order from the seed, as many in flight at once as the adaptive
//! window allows ([`crate::window`]: it grows while the device answers promptly and
//! halves on signs of distress, under `parallel_cases`). The fuzzed service is probed by the session
//! set-up of every case, and every watched service (the fuzzed one, every other
//! declared one and the device's health endpoint, each that answered before fuzzing
//! began) every `probe_every` cases, after a suspicious case (a session step unanswered,
//! a silent datagram service, now and then a reset connection) and at the end. When a
//! watched service stops answering, the loop waits for it to come back (a watchdog
//! restart), replays the cases sent since the last good probe one at a time to find
//! the culprit, and shrinks it: run lengths bisected, then fields dropped, bytes halved
//! and lying lengths made truthful, for as long as the failure still replays.
//!
//! Response timing is an oracle too: the fuzzed service's probes are timed against its
//! answer time before fuzzing, and a service that still answers at the end, but
//! [`SLOW_FACTOR`] times slower and by [`SLOW_MARGIN`] or more even after a pause, has
//! been degraded by the cases (a leak, a spinning task) and fails.
//!
//! A PASS needs its positive control: the fuzzed service answered a well-formed request
//! before the first case and after the last, and the interface's budget was spent:
//! every case of `cases_per_protocol` sent, or `seconds_per_protocol` used up first (a
//! time budget used up is spent). A run the suite deadline or a cancellation cut is
//! INCONCLUSIVE ("the budget was not spent: N of M cases, cut by the suite deadline"),
//! and a probe the harness could not put (its own limits, the campaign's end) proves
//! neither life nor death. At least one case must also have drawn another kind of
//! answer (HTTP status, CoAP code, MQTT packet) than a well-formed request draws: a
//! service that answers every malformed case as it answers a good one shows no parser
//! the cases could have reached.

use crate::budget::Budget;
use crate::exec::{generate, AnswerTiming, Case, CaseEnd, Exec, Protocol, Watched};
use crate::reproducer::Reproducer;
use crate::window::{CaseWindow, Settled, WindowDistress, WindowRecord};
use futures::stream::{FuturesUnordered, StreamExt};
use iotcert_suite::evidence::escape_bytes;
use iotcert_suite::pacer::PacingMode;
use iotcert_suite::{Evidence, EvidenceKind, NetError, Transcript, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Cases kept for the evidence of a service that never came back.
const HISTORY: usize = 16;
/// Most replays spent on shrinking one finding.
const MAX_SHRINK_REPLAYS: u32 = 64;
/// Interval between two probes while waiting for a service to come back.
const RECOVERY_POLL: Duration = Duration::from_millis(100);
/// Probes of the fuzzed service before fuzzing, for its usual answer time.
const BASELINE_PROBES: u16 = 5;
/// A probe is slow when it takes this many times the usual answer time...
const SLOW_FACTOR: u32 = 10;
/// ...and at least this much longer: a loopback answer takes microseconds, and a busy
/// test machine adds milliseconds without the device being at fault.
const SLOW_MARGIN: Duration = Duration::from_millis(250);
/// Pause before a service slow at the end is timed again, and the probes then.
const SLOW_SETTLE: Duration = Duration::from_secs(1);
const SLOW_RECHECKS: u16 = 3;
/// Cases that must pass after a probe before a reset connection prompts another: a
/// live service resets whenever it closes with unread data.
const RESET_PROBE_GAP: usize = 5;
/// Probe times kept for the evidence.
const TIMES_KEPT: usize = 256;
/// Kinds of answer kept: one other than a well-formed request's already shows the
/// cases met a parser.
const MAX_REACTIONS: usize = 16;
/// How often the cases sent are reported, for the progress bar.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The decision for one interface.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub summary: String,
    /// For a PASS, what was observed of the positive control.
    pub proof: Option<String>,
    pub evidence: Vec<Evidence>,
    pub cases_sent: u64,
}

/// Fuzz `port` of `exec.unit` with cases of the port's protocol.
pub async fn fuzz_interface(
    exec: &Exec<'_>,
    fuzzed: &Watched,
    others: &[Watched],
    budget: &Budget,
) -> Outcome {
    let Some(protocol) = fuzzed.protocol else {
        return outcome(Verdict::Error, "no protocol to fuzz".to_owned(), 0);
    };
    let started = Instant::now();
    let deadline = started + budget.time;
    // Only what answers before fuzzing can be judged afterwards.
    let mut baseline = match answer_times_before_fuzzing(exec, fuzzed).await {
        Ok(baseline) => baseline,
        Err(undecided) => return undecided,
    };
    let baseline_answers = baseline.len();
    if protocol == Protocol::Mqtt {
        if let Err(why) = exec.mqtt_session_accepted(fuzzed.port).await {
            return outcome(
                Verdict::Inconclusive,
                format!(
                    "the broker refused the session the cases need ({why}): cases sent after a CONNECT would never reach its parser; give [protofuzz] mqtt_username and mqtt_password"
                ),
                0,
            );
        }
    }
    let mut times = ResponseTimes::new(&mut baseline);
    let (watch, unwatched) = services_to_watch(exec, fuzzed, others).await;
    // The kinds of answer the cases drew, against the one a well-formed request draws:
    // a service that answers every malformed case as it answers a well-formed request
    // shows no parser the cases reached (closes and silences are left out: a server
    // that answers anything and hangs up early makes them by timing alone).
    let well_formed = exec.well_formed_reaction(fuzzed.port, protocol).await;
    let run = send_cases(exec, fuzzed, protocol, &watch, budget, deadline, &mut times).await;
    let window = window_evidence(fuzzed, &run.window);
    if !run.dead.is_empty() {
        let mut result =
            investigate(exec, fuzzed, &watch, run.dead, &run.log, budget, deadline).await;
        result.evidence.push(times.evidence(&run.log.ends));
        result.evidence.push(window);
        return result;
    }
    let slow_at_end = recheck_if_slow_at_end(exec, fuzzed, &mut times).await;
    let others_watched = watch.len() - 1;
    let (verdict, mut summary) = judge_survivor(
        exec,
        protocol,
        &times,
        &run.log,
        slow_at_end,
        others_watched,
        started,
    );
    summary.push_str(&format!("; {}", run.window.sentence()));
    if !unwatched.is_empty() {
        summary.push_str(&format!(
            "; not watched, as not answering before fuzzing: {}",
            unwatched.join(", ")
        ));
    }
    // The positive control of a PASS: the budget was spent, and the fuzzed service was
    // seen answering a well-formed request before the first case and after the last.
    let sent = run.log.sent;
    let spent = budget_spent(run.stopped_early, sent, budget);
    let mut proof = None;
    let verdict = match (verdict, spent) {
        (Verdict::Pass, spent) => match pass_control(
            exec,
            spent,
            run.final_answer,
            &run.log.answers,
            well_formed.as_deref(),
        ) {
            Err(why) => {
                summary = format!("{why}; so far {summary}");
                Verdict::Inconclusive
            }
            Ok((spent, told_apart)) => {
                proof = Some(format!(
                    "{fuzzed}: answered {baseline_answers} well-formed {protocol} probes before the first case and one after the last; {spent}; {told_apart}; {others_watched} other watched service(s) answered the final probe"
                ));
                Verdict::Pass
            }
        },
        (other, Err(not_spent)) => {
            summary.push_str(&format!("; {not_spent}"));
            other
        }
        (other, Ok(_)) => other,
    };
    let mut result = outcome(verdict, summary, sent);
    result.proof = proof;
    result.evidence.push(times.evidence(&run.log.ends));
    result.evidence.push(window);
    result.evidence.push(history_evidence(&run.log.history));
    result
}

/// What the window of cases in flight did on `fuzzed`, as evidence.
fn window_evidence(fuzzed: &Watched, record: &WindowRecord) -> Evidence {
    Evidence::json(format!("cases in flight {fuzzed}"), record)
}

/// The fuzzed service's answer times to well-formed probes before the first case; `Err`
/// with the INCONCLUSIVE outcome when it could not be asked or never answered.
async fn answer_times_before_fuzzing(
    exec: &Exec<'_>,
    fuzzed: &Watched,
) -> Result<Vec<Duration>, Outcome> {
    let mut baseline = Vec::new();
    for nonce in 1..=BASELINE_PROBES {
        match exec.probe(fuzzed, nonce).await {
            Ok(Some(took)) => baseline.push(took),
            Ok(None) if baseline.is_empty() => {
                return Err(outcome(
                    Verdict::Inconclusive,
                    format!(
                        "it could not be asked before fuzzing ({}); nothing could be judged",
                        stop_reason(exec)
                    ),
                    0,
                ))
            }
            Err(why) if baseline.is_empty() => {
                return Err(outcome(
                    Verdict::Inconclusive,
                    format!(
                        "it never answered a well-formed request before fuzzing ({why}); nothing could be judged"
                    ),
                    0,
                ))
            }
            Ok(None) | Err(_) => {}
        }
    }
    Ok(baseline)
}

/// The services watched while fuzzing: the fuzzed one first, then every other that
/// answered a probe before fuzzing; those that did not, with why, for the summary.
async fn services_to_watch(
    exec: &Exec<'_>,
    fuzzed: &Watched,
    others: &[Watched],
) -> (Vec<Watched>, Vec<String>) {
    let mut watch = vec![fuzzed.clone()];
    let mut unwatched = Vec::new();
    for other in others {
        match exec.probe(other, 2).await {
            Ok(Some(_)) => watch.push(other.clone()),
            Ok(None) => unwatched.push(format!("{other} (not asked: {})", stop_reason(exec))),
            Err(why) => unwatched.push(format!("{other} ({why})")),
        }
    }
    (watch, unwatched)
}

/// What the cases sent so far drew.
#[derive(Default)]
struct CaseLog {
    /// The last [`HISTORY`] cases and how each ended, for the evidence.
    history: VecDeque<(Case, CaseEnd)>,
    /// The cases sent since the last probe every watched service answered: the suspects
    /// when a service is then found dead.
    since_probe: Vec<Case>,
    /// How many cases ended each way.
    ends: BTreeMap<&'static str, u64>,
    /// The kinds of answer the cases drew, at most [`MAX_REACTIONS`].
    answers: BTreeSet<String>,
    /// Cases sent.
    sent: u64,
}

impl CaseLog {
    fn record(&mut self, case: Case, end: CaseEnd) {
        self.sent += 1;
        *self.ends.entry(end.word()).or_default() += 1;
        if let CaseEnd::Answered(kind) = &end {
            if self.answers.len() < MAX_REACTIONS {
                self.answers.insert(kind.clone());
            }
        }
        self.history.push_back((case.clone(), end));
        if self.history.len() > HISTORY {
            self.history.pop_front();
        }
        self.since_probe.push(case);
    }
}

/// How the run of cases ended.
struct CaseRun {
    log: CaseLog,
    /// The services found dead: at a probe during the run, or at the final one.
    dead: Vec<(Watched, String)>,
    /// Why the run stopped before its last case, if it did.
    stopped_early: Option<Stop>,
    /// How long the fuzzed service took to answer the final probe, when it was seen to.
    final_answer: Option<Duration>,
    /// What the window of cases in flight did.
    window: WindowRecord,
}

/// Sends the budget's cases, as many in flight at once as the window allows (exactly
/// `parallel_cases` in fixed pacing, adapting under it otherwise), and probes every
/// watched service every `probe_every` cases, after a suspicious case and after the
/// last; the run stops at the first probe that finds a service dead, when the time
/// budget is used up, or when the suite must stop. A probe runs beside the cases still
/// in flight rather than after draining them (a drain every few cases kept the window
/// from ever filling), and no new case is sent until it answers: an all-alive answer
/// clears only the suspects that had settled before the probe began, so a crash is
/// still replayed from every case that may have caused it. (A death is not confirmed by
/// a later probe: a watchdog restarts a crashed service within a second or two.)
async fn send_cases(
    exec: &Exec<'_>,
    fuzzed: &Watched,
    protocol: Protocol,
    watch: &[Watched],
    budget: &Budget,
    deadline: Instant,
    times: &mut ResponseTimes,
) -> CaseRun {
    let mut log = CaseLog::default();
    let total = u64::from(budget.cases);
    let adaptive = exec.ctx.profile.pacing.mode == PacingMode::Adaptive;
    let mut window = CaseWindow::new(adaptive, budget.parallel_cases);
    let first_case = Instant::now();
    let send_case = |index: u64, ticket| {
        let case = generate(protocol, index, &exec.settings);
        async move {
            let mut transcript = Transcript::new();
            let (end, timing) = exec
                .send_timed(fuzzed.port, &case.wire(), &mut transcript)
                .await;
            let settled = how_it_settled(&end, timing);
            (case, end, ticket, settled)
        }
    };
    let mut in_flight = FuturesUnordered::new();
    let mut final_answer = None;
    let mut next = 0u64;
    let mut stopped_early: Option<Stop> = None;
    let report = |sent: u64| {
        exec.ctx.progress(
            sent,
            total,
            format!("{}: {fuzzed}: {sent} of {total} cases", exec.unit.id),
        )
    };
    report(0).await;
    let mut reported = Instant::now();
    // At most one probe runs at a time, beside the cases in flight; a probe that finds
    // every service alive clears the suspects that had settled before it began.
    let mut probe: Option<RunningProbe<'_>> = None;
    // A probe asked for while another ran.
    let mut probe_wanted = false;
    let dead = loop {
        // No new case is sent while a probe runs: the cases in flight settle beside it,
        // so the device is not kept full while it is asked whether it lives, and the
        // suspects stay bounded by `probe_every` and the window.
        while probe.is_none() && window.has_room() && next < total && stopped_early.is_none() {
            if exec.ctx.should_stop() {
                stopped_early = Some(Stop::Cut(stop_reason(exec)));
            } else if Instant::now() >= deadline {
                stopped_early = Some(Stop::TimeBudgetUsed);
            } else {
                in_flight.push(send_case(next, window.started()));
                next += 1;
            }
        }
        let event = match probe.as_mut() {
            Some(running) if in_flight.is_empty() => Event::Probed((&mut running.check).await),
            Some(running) => tokio::select! {
                case = in_flight.next() => Event::Case(case),
                found = &mut running.check => Event::Probed(found),
            },
            None => Event::Case(in_flight.next().await),
        };
        let settled_case = match event {
            Event::Probed((dead, took)) => {
                let Some(finished) = probe.take() else {
                    continue;
                };
                times.observe(took);
                if finished.alone && took.is_some_and(|took| times.is_slow(took)) {
                    window.slow_probe(first_case.elapsed());
                }
                // No case was sent while the probe ran, so the cases in flight when it
                // began had all but one probe attempt's time to settle and free the
                // device (a full device turns a probe away): a death it saw stands.
                if !dead.is_empty() {
                    // Every case sent so far is settled: each is a suspect until replay.
                    while let Some((case, end, ticket, settled)) = in_flight.next().await {
                        window.settled(ticket, first_case.elapsed(), settled);
                        log.record(case, end);
                    }
                    break dead;
                }
                let cleared = finished.covers.min(log.since_probe.len());
                log.since_probe.drain(..cleared);
                if std::mem::take(&mut probe_wanted) {
                    probe = Some(RunningProbe::start(exec, watch, &log, in_flight.is_empty()));
                }
                continue;
            }
            Event::Case(Some(settled_case)) => settled_case,
            Event::Case(None) => {
                // Nothing in flight, no probe running, nothing left to send: the final
                // probe.
                let (dead, took) = exec.check(watch, 0xfff0).await;
                times.observe(took);
                final_answer = took;
                break dead;
            }
        };
        let (case, end, ticket, settled) = settled_case;
        window.settled(ticket, first_case.elapsed(), settled);
        let suspicious = end.is_suspicious(protocol)
            && (end != CaseEnd::Reset || log.since_probe.len() >= RESET_PROBE_GAP);
        log.record(case, end);
        if reported.elapsed() >= PROGRESS_EVERY {
            report(log.sent).await;
            reported = Instant::now();
        }
        let due = log.sent % u64::from(budget.probe_every.max(1)) == 0 || log.sent == total;
        if suspicious || due {
            if probe.is_some() {
                probe_wanted = true;
            } else {
                probe = Some(RunningProbe::start(exec, watch, &log, in_flight.is_empty()));
            }
        }
    };
    report(log.sent).await;
    CaseRun {
        log,
        dead,
        stopped_early,
        final_answer,
        window: window.record(),
    }
}

/// What the loop of [`send_cases`] waits for next.
enum Event<C> {
    /// A case settled, or none is in flight (`None`).
    Case(Option<C>),
    /// The running probe ended.
    Probed(ProbeFound),
}

/// What a probe of every watched service found: the services dead, and the fuzzed
/// one's answer time.
type ProbeFound = (Vec<(Watched, String)>, Option<Duration>);

/// A probe of every watched service, running beside the cases in flight.
struct RunningProbe<'a> {
    check: futures::future::BoxFuture<'a, ProbeFound>,
    /// Suspects settled before it began: the ones an all-alive answer clears. Cases
    /// still in flight then may yet harm the device after it answered.
    covers: usize,
    /// Whether no case was in flight when it began (none is sent while it runs), so
    /// its answer time is the device's own and may be judged slow.
    alone: bool,
}

impl<'a> RunningProbe<'a> {
    fn start(exec: &'a Exec<'a>, watch: &'a [Watched], log: &CaseLog, alone: bool) -> Self {
        // Nonces vary so a stale answer cannot pass for a fresh one.
        RunningProbe {
            check: Box::pin(exec.check(watch, nonce(log.sent))),
            covers: log.since_probe.len(),
            alone,
        }
    }
}

/// How a case settled, for the window: a connection the fuzzed port (which answered
/// before fuzzing) refused, timed out or reset, and a well-formed session step left
/// unanswered until the timeout, are distress; whatever the malformed message itself
/// drew (an answer, a close, a reset, silence), and a session step closed or reset on
/// (a broker of MQTT 3.1.1 closes on an MQTT 5 CONNECT), is the service's reaction;
/// what the harness could not send says nothing.
fn how_it_settled(end: &CaseEnd, timing: AnswerTiming) -> Settled {
    match end {
        CaseEnd::Unreachable(NetError::Refused) => {
            Settled::Distress(WindowDistress::ConnectRefused)
        }
        CaseEnd::Unreachable(NetError::Timeout) => {
            Settled::Distress(WindowDistress::ConnectTimedOut)
        }
        CaseEnd::Unreachable(NetError::Reset) => Settled::Distress(WindowDistress::ConnectReset),
        CaseEnd::Unreachable(_) => Settled::Unjudged,
        CaseEnd::SessionUnanswered if timing.session_timed_out => {
            Settled::Distress(WindowDistress::SessionUnanswered)
        }
        CaseEnd::SessionUnanswered
        | CaseEnd::Answered(_)
        | CaseEnd::Closed
        | CaseEnd::Reset
        | CaseEnd::Silent => Settled::Reacted(timing.slowest),
    }
}

/// A fuzzed service slow at the final probe is timed again after a pause, so a service
/// busy for a moment is not taken for a degraded one. Whether it was slow at the end.
async fn recheck_if_slow_at_end(
    exec: &Exec<'_>,
    fuzzed: &Watched,
    times: &mut ResponseTimes,
) -> bool {
    let slow_at_end = times.last_was_slow();
    if slow_at_end {
        tokio::time::sleep(SLOW_SETTLE).await;
        let mut again = Vec::new();
        for nonce in 0..SLOW_RECHECKS {
            if let Ok(Some(took)) = exec.probe(fuzzed, 0xff00 | nonce).await {
                again.push(took);
            }
        }
        times.after = median(&mut again);
    }
    slow_at_end
}

/// The verdict on a service every probe found alive, before its positive control: FAIL
/// when it still answers but slowly even after a pause, INCONCLUSIVE when it was slow
/// and then silent, else PASS (naming the slow probes it recovered from).
fn judge_survivor(
    exec: &Exec<'_>,
    protocol: Protocol,
    times: &ResponseTimes,
    log: &CaseLog,
    slow_at_end: bool,
    others_watched: usize,
    started: Instant,
) -> (Verdict, String) {
    let sent = log.sent;
    let tally = log
        .ends
        .iter()
        .map(|(word, count)| format!("{count} {word}"))
        .collect::<Vec<_>>()
        .join(", ");
    let stopped_after_slowing = slow_at_end && times.after.is_none();
    let (verdict, mut summary) = match times.after.filter(|&after| times.is_slow(after)) {
        _ if stopped_after_slowing => (
            Verdict::Inconclusive,
            format!(
                "it answered slowly at the end of {sent} malformed {protocol} cases (seed {}), then not at all {} s later; the last cases are attached",
                exec.settings.seed,
                SLOW_SETTLE.as_secs()
            ),
        ),
        Some(after) => (
            Verdict::Fail,
            format!(
                "it still answers, but slowly: {} ms after {sent} malformed {protocol} cases (seed {}), {} ms before; the cases degraded it (cases ended: {tally}); the last cases are attached",
                after.as_millis(),
                exec.settings.seed,
                times.baseline.as_millis()
            ),
        ),
        None => (
            Verdict::Pass,
            format!(
                "it and {others_watched} other watched service(s) answered every probe after {sent} malformed {protocol} cases (seed {}, {:.1} s; cases ended: {tally})",
                exec.settings.seed,
                started.elapsed().as_secs_f64()
            ),
        ),
    };
    if times.slow_probes > 0 && verdict == Verdict::Pass {
        summary.push_str(&format!(
            "; {} probe(s) answered slowly (over {} ms) but it recovered",
            times.slow_probes,
            times.slow_above().as_millis()
        ));
    }
    (verdict, summary)
}

/// The positive control of a PASS, or why it is missing (the PASS is then INCONCLUSIVE):
/// the budget spent (`spent`, from [`budget_spent`]), the fuzzed service's answer after
/// the last case observed, and a case that drew another kind of answer than a
/// well-formed request. `Ok` holds the budget spent and how the answers were told
/// apart, in words.
fn pass_control(
    exec: &Exec<'_>,
    spent: Result<String, String>,
    final_answer: Option<Duration>,
    answers: &BTreeSet<String>,
    well_formed: Option<&str>,
) -> Result<(String, String), String> {
    let spent = spent?;
    if final_answer.is_none() {
        return Err(format!(
            "its answer after the last case could not be observed ({})",
            stop_reason(exec)
        ));
    }
    let Some(told_apart) = told_apart(answers, well_formed) else {
        let reference = well_formed.unwrap_or("no answer");
        return Err(format!(
            "no malformed case drew an answer other than a well-formed request's ({reference}; the cases drew: {}), so nothing shows they reached a parser that tells malformed input from well-formed",
            if answers.is_empty() {
                "no answer".to_owned()
            } else {
                answers.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        ));
    };
    Ok((spent, told_apart))
}

/// How the cases' answers show a parser told them from a well-formed request (one
/// answered `HTTP 400` where a well-formed GET drew `HTTP 200`), if they do.
fn told_apart(answers: &BTreeSet<String>, well_formed: Option<&str>) -> Option<String> {
    let other = answers
        .iter()
        .find(|kind| Some(kind.as_str()) != well_formed)?;
    Some(format!(
        "cases drew {other} where a well-formed request draws {}",
        well_formed.unwrap_or("no answer")
    ))
}

/// Why a run of cases stopped before its last case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// The interface's own time budget (`seconds_per_protocol`) was used up: spent.
    TimeBudgetUsed,
    /// The suite deadline or a cancellation cut it: not spent.
    Cut(&'static str),
}

/// Whether the profile's budget for one interface was spent, in words: `Ok` when
/// every case of `cases_per_protocol` was sent, or when `seconds_per_protocol` was
/// used up first (a time budget used up is a budget spent); `Err` when the suite
/// deadline or a cancellation cut the run, or the budget was zero cases.
fn budget_spent(stopped: Option<Stop>, sent: u64, budget: &Budget) -> Result<String, String> {
    match stopped {
        _ if budget.cases == 0 => {
            Err("the budget was not spent: the profile asked for 0 cases".to_owned())
        }
        Some(Stop::Cut(why)) => Err(format!(
            "the budget was not spent: {sent} of {} cases, cut by {why}",
            budget.cases
        )),
        Some(Stop::TimeBudgetUsed) => Ok(format!(
            "the time budget of {} s was used up after {sent} of {} cases",
            budget.time.as_secs(),
            budget.cases
        )),
        None => Ok(format!("all {sent} cases of the budget were sent")),
    }
}

/// What stops the suite: a cancellation of the campaign, or else its deadline.
fn stop_reason(exec: &Exec<'_>) -> &'static str {
    if exec.ctx.cancel.is_cancelled() {
        "a cancellation of the campaign"
    } else if exec.ctx.should_stop() {
        "the suite deadline"
    } else {
        "the harness's own limits"
    }
}

/// The fuzzed service's answer times: before fuzzing, at each probe, after.
struct ResponseTimes {
    baseline: Duration,
    during: Vec<Duration>,
    last: Option<Duration>,
    slow_probes: usize,
    after: Option<Duration>,
}

impl ResponseTimes {
    fn new(baseline: &mut [Duration]) -> ResponseTimes {
        ResponseTimes {
            baseline: median(baseline).unwrap_or_default(),
            during: Vec::new(),
            last: None,
            slow_probes: 0,
            after: None,
        }
    }

    /// Answers slower than this are slow.
    fn slow_above(&self) -> Duration {
        (self.baseline * SLOW_FACTOR).max(self.baseline + SLOW_MARGIN)
    }

    fn is_slow(&self, took: Duration) -> bool {
        took > self.slow_above()
    }

    /// A probe's time (`None`: the fuzzed service did not answer it).
    fn observe(&mut self, took: Option<Duration>) {
        self.last = took;
        if let Some(took) = took {
            if self.is_slow(took) {
                self.slow_probes += 1;
            }
            if self.during.len() < TIMES_KEPT {
                self.during.push(took);
            }
        }
    }

    fn last_was_slow(&self) -> bool {
        self.last.is_some_and(|took| self.is_slow(took))
    }

    fn evidence(&self, ends: &BTreeMap<&'static str, u64>) -> Evidence {
        #[derive(Serialize)]
        struct Timing<'a> {
            case_ends: &'a BTreeMap<&'static str, u64>,
            baseline_ms: f64,
            slow_above_ms: f64,
            probe_ms: Vec<f64>,
            slow_probes: usize,
            after_pause_ms: Option<f64>,
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Evidence::json(
            "case ends and response times",
            &Timing {
                case_ends: ends,
                baseline_ms: ms(self.baseline),
                slow_above_ms: ms(self.slow_above()),
                probe_ms: self.during.iter().copied().map(ms).collect(),
                slow_probes: self.slow_probes,
                after_pause_ms: self.after.map(ms),
            },
        )
    }
}

fn median(values: &mut [Duration]) -> Option<Duration> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

fn outcome(verdict: Verdict, summary: String, cases_sent: u64) -> Outcome {
    Outcome {
        verdict,
        summary,
        proof: None,
        evidence: Vec::new(),
        cases_sent,
    }
}

fn describe_dead(dead: &[(Watched, String)]) -> Vec<String> {
    dead.iter()
        .map(|(watched, why)| format!("{watched}: {why}"))
        .collect()
}

/// The last cases, as evidence.
fn history_evidence(history: &VecDeque<(Case, CaseEnd)>) -> Evidence {
    let mut text = String::new();
    for (case, end) in history {
        let wire = case.wire();
        text.push_str(&format!(
            "case {} ({}) ended {end:?}\n",
            case.index, case.kind
        ));
        for step in &wire.session {
            text.push_str(&format!("  session > {}\n", escape_bytes(step)));
        }
        text.push_str(&format!("  message > {}\n", hex::encode(&wire.message)));
    }
    Evidence::text(EvidenceKind::Transcript, "last cases sent", &text)
}

/// Wait until every service of `watch` has answered again; the time it took, or `None`.
/// A service that answered is not asked again, so a poll costs only the silent ones.
async fn recover(exec: &Exec<'_>, watch: &[Watched], wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut nonce = 0x7000u16;
    let mut silent = watch.to_vec();
    loop {
        nonce = nonce.wrapping_add(2);
        silent = exec
            .dead(&silent, nonce)
            .await
            .into_iter()
            .map(|(watched, _)| watched)
            .collect();
        if silent.is_empty() {
            return Some(started.elapsed());
        }
        if started.elapsed() >= wait || exec.ctx.should_stop() {
            return None;
        }
        tokio::time::sleep(RECOVERY_POLL).await;
    }
}

/// Send `case`, probe; the services it killed (after waiting for them to come back).
/// `Err` when they did not come back.
async fn replays(
    exec: &Exec<'_>,
    port: u16,
    case: &Case,
    watch: &[Watched],
    budget: &Budget,
) -> Result<Vec<(Watched, String)>, ()> {
    let mut transcript = Transcript::new();
    exec.send(port, &case.wire(), &mut transcript).await;
    let dead = exec.dead(watch, nonce(case.index) ^ 0x3c3c).await;
    if !dead.is_empty() && recover(exec, watch, budget.recovery_wait).await.is_none() {
        return Err(());
    }
    Ok(dead)
}

/// A service found dead: wait for it to come back, find the culprit among the cases
/// sent since the last good probe (most recent first), shrink it, and write its
/// reproducer.
async fn investigate(
    exec: &Exec<'_>,
    fuzzed: &Watched,
    watch: &[Watched],
    dead: Vec<(Watched, String)>,
    log: &CaseLog,
    budget: &Budget,
    deadline: Instant,
) -> Outcome {
    let (suspects, history, sent) = (&log.since_probe, &log.history, log.sent);
    let first_dead = describe_dead(&dead);
    let last = suspects.last().map_or(0, |c| c.index);
    let Some(recovered) = recover(exec, watch, budget.recovery_wait).await else {
        let mut result = outcome(
            Verdict::Inconclusive,
            format!(
                "after case {last} of {sent}, {} stopped answering and did not come back within {} s; the last cases are attached",
                first_dead.join("; "),
                budget.recovery_wait.as_secs()
            ),
            sent,
        );
        result.evidence.push(history_evidence(history));
        return result;
    };
    // Most recent first: the likeliest culprit.
    for suspect in suspects.iter().rev() {
        let killed = match replays(exec, fuzzed.port, suspect, watch, budget).await {
            Ok(killed) => killed,
            Err(()) => {
                let mut result = outcome(
                    Verdict::Inconclusive,
                    format!("while replaying case {} the device stopped answering and did not come back within {} s", suspect.index, budget.recovery_wait.as_secs()),
                    sent,
                );
                result.evidence.push(history_evidence(history));
                return result;
            }
        };
        if killed.is_empty() {
            continue;
        }
        let shrunk = shrink(exec, fuzzed.port, suspect, killed, watch, budget, deadline).await;
        let (minimal, killed) = (shrunk.case, shrunk.killed);
        let mut reproducer = Reproducer::from_case(
            &exec.unit.id,
            exec.unit.address,
            fuzzed.port,
            &minimal,
            suspect,
            watch.to_vec(),
            describe_dead(&killed),
        );
        reproducer.recovered_after_ms = Some(iotcert_suite::event::whole_milliseconds(recovered));
        let wire = minimal.wire();
        let cut_short = match shrunk.cut_short {
            Some(why) => format!(", shrinking cut short by {why}"),
            None => String::new(),
        };
        let summary = format!(
            "{} stopped answering after a malformed {} message ({} case {}, shrunk from {} to {} bytes in {} replays{cut_short}) and came back after {} ms: {}",
            describe_dead(&killed).join("; "),
            minimal.protocol,
            minimal.kind,
            minimal.index,
            suspect.message.encode().len(),
            wire.message.len(),
            shrunk.replays,
            recovered.as_millis(),
            brief(&wire.message),
        );
        let mut result = outcome(Verdict::Fail, summary, sent);
        let json = serde_json::to_vec_pretty(&reproducer).unwrap_or_default();
        result.evidence.push(Evidence::bytes(
            EvidenceKind::Reproducer,
            format!("reproducer {}:{}", exec.unit.id, fuzzed.port),
            "application/json",
            &json,
        ));
        result.evidence.push(history_evidence(history));
        return result;
    }
    let mut result = outcome(
        Verdict::Inconclusive,
        format!(
            "{} stopped answering after case {last} and came back after {} ms, but none of the {} cases since the last good probe made it stop again on its own",
            first_dead.join("; "),
            recovered.as_millis(),
            suspects.len()
        ),
        sent,
    );
    result.evidence.push(history_evidence(history));
    result
}

/// A short legible form of a message for a summary.
fn brief(message: &[u8]) -> String {
    let shown = escape_bytes(message.get(..48).unwrap_or(message));
    if message.len() > 48 {
        format!("{shown}... ({} bytes)", message.len())
    } else {
        shown
    }
}

/// What shrinking a failing case gave.
struct Shrunk {
    /// The smallest variant found that still kills a watched service.
    case: Case,
    /// The services it kills.
    killed: Vec<(Watched, String)>,
    replays: u32,
    /// Why shrinking stopped before it had tried every simplification, if it did.
    cut_short: Option<&'static str>,
}

/// The smallest variant of `case` that still kills a watched service, found within
/// [`MAX_SHRINK_REPLAYS`] replays and the interface's time budget (`deadline`): a
/// replay that kills costs a watchdog restart, so an unbounded shrink could overrun
/// the budget many times over.
async fn shrink(
    exec: &Exec<'_>,
    port: u16,
    case: &Case,
    killed: Vec<(Watched, String)>,
    watch: &[Watched],
    budget: &Budget,
    deadline: Instant,
) -> Shrunk {
    let mut shrunk = Shrunk {
        case: case.clone(),
        killed,
        replays: 0,
        cut_short: None,
    };
    let may_replay = |shrunk: &mut Shrunk| {
        let why = if exec.ctx.should_stop() {
            Some("the campaign deadline or a cancellation")
        } else if Instant::now() >= deadline {
            Some("the time budget of the interface")
        } else if shrunk.replays >= MAX_SHRINK_REPLAYS {
            Some("the replay limit")
        } else {
            None
        };
        shrunk.cut_short = why;
        why.is_none()
    };
    // Bisect every run, longest first: the length that matters.
    for (index, count) in shrunk.case.message.runs() {
        let (mut low, mut high) = (0u32, count);
        while low + 1 < high && may_replay(&mut shrunk) {
            let middle = low + (high - low) / 2;
            let candidate = Case {
                message: shrunk.case.message.with_run_count(index, middle),
                ..shrunk.case.clone()
            };
            shrunk.replays += 1;
            if let Some((_, dead)) = still_fails(exec, port, candidate, watch, budget).await {
                high = middle;
                shrunk.killed = dead;
            } else {
                low = middle;
            }
        }
        shrunk.case.message = shrunk.case.message.with_run_count(index, high);
    }
    // Then simplify field by field while the failure replays.
    'outer: while may_replay(&mut shrunk) {
        for simpler in shrunk.case.message.simpler() {
            if !may_replay(&mut shrunk) {
                break 'outer;
            }
            let candidate = Case {
                message: simpler,
                ..shrunk.case.clone()
            };
            shrunk.replays += 1;
            if let Some((smaller, dead)) = still_fails(exec, port, candidate, watch, budget).await {
                shrunk.case = smaller;
                shrunk.killed = dead;
                continue 'outer;
            }
        }
        break;
    }
    shrunk
}

/// `candidate` with the services it kills, when it kills any.
async fn still_fails(
    exec: &Exec<'_>,
    port: u16,
    candidate: Case,
    watch: &[Watched],
    budget: &Budget,
) -> Option<(Case, Vec<(Watched, String)>)> {
    match replays(exec, port, &candidate, watch, budget).await {
        Ok(dead) if !dead.is_empty() => Some((candidate, dead)),
        _ => None,
    }
}

/// A probe nonce from a count: its low 16 bits (the count wraps on purpose; the nonce
/// only has to differ from the last few probes').
fn nonce(count: u64) -> u16 {
    u16::try_from(count & 0xffff).unwrap_or(0)
}
