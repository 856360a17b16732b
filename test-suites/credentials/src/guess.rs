//! Paced guessing: many candidates against one service, politely.
//!
//! Attempts run a few at a time (the profile's concurrency, and always under the
//! device's pacer through [`RunContext::connect_tcp`]); the first success for an account
//! ends the guessing for that account; a lockout or rate-limit answer ends it for the
//! service (pressing on would only keep the device locked); refused connections make it
//! back off exponentially and, if they persist, stop.

use crate::database::Entry;
use crate::probe::{self, Identity, Login, Outcome, Target};
use futures::stream::{self, StreamExt};
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
    /// Identities seen (SSH host key fingerprints).
    pub identities: BTreeSet<String>,
    /// A transcript of one refused or undecided attempt, for the evidence.
    pub sample_transcript: Option<Evidence>,
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

/// Shared state of one guessing run.
#[derive(Default)]
struct Progress {
    found_accounts: BTreeSet<Option<String>>,
    stop: Option<String>,
    unreachable_in_a_row: u32,
}

/// Try `candidates` on `target`, `concurrency` at a time.
pub async fn guess(
    ctx: &RunContext,
    target: &Target,
    candidates: &[Entry],
    concurrency: usize,
) -> GuessReport {
    let progress = Mutex::new(Progress::default());
    let lock = || progress.lock().unwrap_or_else(|p| p.into_inner());
    let lock = &lock;
    let work: Vec<_> = candidates
        .iter()
        .map(|entry| {
            async move {
                let backoff = {
                    let state = lock();
                    if state.stop.is_some() || state.found_accounts.contains(&entry.login.username) {
                        return None;
                    }
                    (state.unreachable_in_a_row > 0).then(|| {
                        (FIRST_BACKOFF * 2u32.saturating_pow(state.unreachable_in_a_row.min(5) - 1)).min(MAX_BACKOFF)
                    })
                };
                if ctx.should_stop() {
                    return None;
                }
                if let Some(pause) = backoff {
                    tokio::time::sleep(pause).await;
                }
                let attempt = probe::attempt(ctx, target, &entry.login).await;
                {
                    let mut state = lock();
                    match &attempt.outcome {
                        Outcome::Accepted => {
                            state.found_accounts.insert(entry.login.username.clone());
                            state.unreachable_in_a_row = 0;
                        }
                        Outcome::Throttled(reason) => {
                            state.stop.get_or_insert_with(|| format!("the device throttled: {reason}"));
                        }
                        Outcome::Unreachable(reason) => {
                            state.unreachable_in_a_row += 1;
                            if state.unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW {
                                state.stop.get_or_insert_with(|| {
                                    format!("{MAX_UNREACHABLE_IN_A_ROW} connections in a row failed ({reason}); backed off and stopped")
                                });
                            }
                        }
                        _ => state.unreachable_in_a_row = 0,
                    }
                }
                Some((entry, attempt))
            }
        })
        .collect();
    let results: Vec<_> = stream::iter(work)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut report = GuessReport::default();
    for result in results {
        let Some((entry, attempt)) = result else {
            report.untried += 1;
            continue;
        };
        if let Some(Identity::HostKey(key)) = &attempt.identity {
            report.identities.insert(key.clone());
        }
        report.tried.push(Tried {
            login: entry.login.display(),
            source: format!("{} {} ({})", entry.vendor, entry.product, entry.source),
            outcome: attempt.outcome.clone(),
            elapsed_ms: attempt.elapsed.as_millis() as u64,
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
    report.stopped = progress
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .stop;
    if report.stopped.is_none() && ctx.should_stop() && report.untried > 0 {
        report.stopped = Some("the suite deadline passed".to_owned());
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
