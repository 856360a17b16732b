//! Paced guessing: many candidates against one service, politely.
//!
//! Attempts run a few at a time (the profile's concurrency, and always under the
//! device's pacer through [`RunContext::connect_tcp`]); the first success for an account
//! (a username; for SNMP each community) ends the guessing for that account, abandoning its attempts still in flight (a
//! throttling device would otherwise keep us waiting on answers that no longer matter); a lockout or rate-limit answer ends it for the
//! service (pressing on would only keep the device locked); refused connections make it
//! back off exponentially and, if they persist, stop; connections the device closes
//! before its greeting are tried again with fewer in flight ([`window`]).

use crate::database::Entry;
use crate::probe::{self, Identity, Login, Outcome, Protocol, Target};
use crate::window;
use iotcert_suite::{Evidence, RunContext};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

/// Refused connections in a row after which guessing stops.
const MAX_UNREACHABLE_IN_A_ROW: u32 = 6;
/// First pause after a refused connection; doubles each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One attempt as the evidence table shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Tried {
    pub login: String,
    /// The credential itself, for comparing units.
    #[serde(skip)]
    pub credential: Login,
    pub source: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub elapsed_ms: u64,
}

/// A credential the device accepted, with the exchange that proves it.
#[derive(Debug)]
pub struct Finding {
    pub entry: Entry,
    pub transcript: Evidence,
    pub identity: Option<Identity>,
}

/// Everything guessing on one service produced.
#[derive(Debug, Default)]
pub struct GuessReport {
    pub tried: Vec<Tried>,
    pub accepted: Vec<Finding>,
    /// Why guessing stopped before the end of the list, if it did.
    pub stopped: Option<String>,
    /// Candidates never tried (stopped, deadline, or account already found).
    pub untried: usize,
    /// Of those, attempts already sent when their account was found, then abandoned.
    pub abandoned: usize,
    /// Identities seen (SSH host key fingerprints).
    pub identities: BTreeSet<String>,
    /// A transcript of one refused or undecided attempt, for the evidence.
    pub sample_transcript: Option<Evidence>,
    /// Attempts the device turned away before its greeting (each tried again).
    pub turned_away: usize,
    /// The most connections the device held at once, when it turned some away.
    pub connection_limit: Option<usize>,
}

impl GuessReport {
    /// Attempts the device judged (accepted or refused).
    pub fn decided(&self) -> usize {
        self.tried
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Accepted | Outcome::Refused))
            .count()
    }

    /// Whether the device throttled or locked during guessing.
    pub fn throttled(&self) -> Option<&str> {
        self.tried.iter().find_map(|t| match &t.outcome {
            Outcome::Throttled(reason) => Some(reason.as_str()),
            _ => None,
        })
    }
}

/// What guessing stops at the first success for: a username, or for SNMP each
/// community (a community is its own account; stopping at the first would make which
/// one is reported depend on which answer came first).
type Account = (Option<String>, Option<String>);

fn account_of(protocol: Protocol, login: &Login) -> Account {
    match protocol {
        Protocol::Snmp => (None, Some(login.password.clone())),
        _ => (login.username.clone(), None),
    }
}

/// Shared state of one guessing run.
#[derive(Default)]
struct Progress {
    /// Attempts sent, then abandoned because their account was found meanwhile.
    abandoned: usize,
    stop: Option<String>,
    unreachable_in_a_row: u32,
}

impl Progress {
    /// The pause before the next attempt after connections refused in a row: from
    /// [`FIRST_BACKOFF`], doubling with each, at most [`MAX_BACKOFF`].
    fn backoff(&self) -> Option<Duration> {
        (self.unreachable_in_a_row > 0).then(|| {
            (FIRST_BACKOFF * 2u32.saturating_pow(self.unreachable_in_a_row.min(5) - 1))
                .min(MAX_BACKOFF)
        })
    }

    /// What one attempt's outcome says of the service: a throttle stops the guessing;
    /// [`MAX_UNREACHABLE_IN_A_ROW`] refused connections in a row stop it too; a judged
    /// login starts the count again.
    fn observe(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Throttled(reason) => {
                self.stop
                    .get_or_insert_with(|| format!("the device throttled: {reason}"));
            }
            Outcome::Unreachable(reason) => {
                self.unreachable_in_a_row += 1;
                if self.unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW {
                    self.stop.get_or_insert_with(|| {
                        format!("{MAX_UNREACHABLE_IN_A_ROW} connections in a row failed ({reason}); backed off and stopped")
                    });
                }
            }
            // The window tries it again, with fewer in flight.
            Outcome::TurnedAway(_) => {}
            _ => self.unreachable_in_a_row = 0,
        }
    }
}

/// Try `candidates` on `target`, `concurrency` at a time (fewer when the device holds
/// fewer connections at once).
pub async fn guess(
    ctx: &RunContext,
    target: &Target,
    candidates: &[Entry],
    concurrency: usize,
) -> GuessReport {
    let progress = Mutex::new(Progress::default());
    let lock = || progress.lock().unwrap_or_else(|p| p.into_inner());
    // Accounts found so far; attempts still in flight for one of them are abandoned.
    let (found_sender, found) = tokio::sync::watch::channel(BTreeSet::<Account>::new());
    let found_sender = &found_sender;
    let finished = window::run(
        candidates.iter().collect(),
        concurrency,
        |entry: &&Entry| {
            let entry = *entry;
            let mut found = found.clone();
            async move {
                let account = &account_of(target.protocol, &entry.login);
                if found.borrow().contains(account) {
                    return None;
                }
                let backoff = {
                    let state = lock();
                    if state.stop.is_some() {
                        return None;
                    }
                    state.backoff()
                };
                if ctx.should_stop() {
                    return None;
                }
                if let Some(pause) = backoff {
                    tokio::time::sleep(pause).await;
                }
                let attempt = tokio::select! {
                    attempt = probe::attempt(ctx, target, &entry.login) => attempt,
                    Ok(_) = found.wait_for(|accounts| accounts.contains(account)) => {
                        lock().abandoned += 1;
                        return None;
                    }
                };
                let mut state = lock();
                if attempt.outcome == Outcome::Accepted {
                    found_sender.send_modify(|accounts| {
                        accounts.insert(account.clone());
                    });
                }
                state.observe(&attempt.outcome);
                Some(attempt)
            }
        },
    )
    .await;
    let mut report = report_of(target, finished);
    let progress = progress.into_inner().unwrap_or_else(|p| p.into_inner());
    report.stopped = progress.stop;
    report.abandoned = progress.abandoned;
    if report.stopped.is_none() && ctx.should_stop() && report.untried > 0 {
        report.stopped = Some("the suite deadline passed".to_owned());
    }
    report
}

/// The report of a guessing run from the attempts the window finished: every attempt
/// tried, the credentials accepted with their transcripts, the identities seen and one
/// sample transcript of an attempt that was not accepted.
fn report_of(target: &Target, finished: window::Finished<&Entry>) -> GuessReport {
    let mut report = GuessReport {
        untried: finished.skipped,
        turned_away: finished.turned_away,
        connection_limit: finished.connection_limit,
        ..GuessReport::default()
    };
    for (entry, attempt) in finished.attempts {
        if let Some(Identity::HostKey(key)) = &attempt.identity {
            report.identities.insert(key.clone());
        }
        report.tried.push(Tried {
            login: entry.login.display(),
            credential: entry.login.clone(),
            source: format!("{} {} ({})", entry.vendor, entry.product, entry.source),
            outcome: attempt.outcome.clone(),
            elapsed_ms: iotcert_suite::event::whole_milliseconds(attempt.elapsed),
        });
        let label = format!("{} login {}", target.label(), entry.login.display());
        if attempt.outcome == Outcome::Accepted {
            report.accepted.push(Finding {
                entry: entry.clone(),
                transcript: attempt.transcript.into_evidence(label),
                identity: attempt.identity,
            });
        } else if report.sample_transcript.is_none() {
            report.sample_transcript = Some(attempt.transcript.into_evidence(label));
        }
    }
    report
}

/// A candidate for a login that is not from the database (empty passwords, profile).
pub fn ad_hoc(login: Login, source: &str) -> Entry {
    Entry {
        protocols: Vec::new(),
        login,
        vendor: "-".to_owned(),
        product: "-".to_owned(),
        source: source.to_owned(),
    }
}
