//! Web session secrets compared across units (EN 303 645 5.1-1, 5.1-2).
//!
//! A device that signs or derives its session cookies from a secret baked into the
//! firmware accepts, on every unit of the model, a cookie opened on any one of them: whoever
//! logs in to a unit of their own holds a session on everyone's. Passwords and host keys can
//! be compared from outside, a signing secret cannot; so a session cookie opened on one unit
//! is replayed against the same page of the other units. Each replay follows a control on
//! the unit that opened the session (the cookie must open its own page again), so a cookie
//! that expired or is bound to something else is never read as a refusal.

use crate::interfaces::targets;
use crate::options::CredentialsOptions;
use crate::probe::http::{self, WebSession};
use crate::probe::{Outcome, Protocol, Target};
use iotcert_suite::{Evidence, RunContext, Transcript};
use serde::Serialize;
use std::collections::BTreeSet;

/// A session opened on one unit, and how.
#[derive(Clone, Debug)]
pub(crate) struct OpenedSession {
    pub unit: String,
    pub target: Target,
    pub session: WebSession,
    /// How it was opened, for the report (`logging in as admin, found by guessing`).
    pub how: String,
}

/// One presentation of a cookie, as the evidence table shows it.
#[derive(Serialize)]
pub(crate) struct Replay {
    opened_on: String,
    how: String,
    page: String,
    presented_to: String,
    #[serde(flatten)]
    outcome: Outcome,
}

/// What replaying sessions across units found.
#[derive(Default)]
pub(crate) struct SessionComparison {
    /// A cookie of one unit accepted by another, one line each.
    pub shared: Vec<String>,
    /// The exchanges that prove each finding.
    pub transcripts: Vec<Evidence>,
    /// Every presentation, controls included.
    pub replays: Vec<Replay>,
    /// Why no session could be opened on some unit or service.
    pub not_opened: Vec<String>,
    /// Presentations that decided nothing, with the reason.
    pub undecided: Vec<String>,
    /// Cookies of one unit refused by another.
    pub refused: usize,
    /// (unit, port) whose session was compared: one session per service of a unit.
    compared: BTreeSet<(String, u16)>,
}

impl SessionComparison {
    /// Replay each session (the first per unit and service) on every other unit's
    /// service of the same port.
    pub async fn compare(
        &mut self,
        ctx: &RunContext,
        options: &CredentialsOptions,
        sessions: &[OpenedSession],
    ) {
        for opened in sessions {
            if !self
                .compared
                .insert((opened.unit.clone(), opened.target.port))
            {
                continue;
            }
            let page = &opened.session.page;
            let mut control = Transcript::new();
            let own =
                http::replay_session(ctx, &opened.target, &opened.session, &mut control).await;
            self.replays.push(Replay {
                opened_on: opened.unit.clone(),
                how: opened.how.clone(),
                page: page.clone(),
                presented_to: opened.target.label(),
                outcome: own.clone(),
            });
            if own != Outcome::Accepted {
                self.undecided.push(format!(
                    "the session cookie of {} did not open {page} on {} itself ({}), so it proves nothing on another unit",
                    opened.unit,
                    opened.target.label(),
                    own.describe()
                ));
                continue;
            }
            for other in ctx.units.iter().filter(|u| u.id != opened.unit) {
                let Some(target) = targets(ctx, options, other).into_iter().find(|t| {
                    t.protocol == Protocol::Http
                        && t.port == opened.target.port
                        && t.tls == opened.target.tls
                }) else {
                    continue;
                };
                let mut transcript = Transcript::new();
                let outcome =
                    http::replay_session(ctx, &target, &opened.session, &mut transcript).await;
                match &outcome {
                    Outcome::Accepted => {
                        self.shared.push(format!(
                            "the web session cookie {} opened ({}) opens {page} on {} ({})",
                            opened.unit,
                            opened.how,
                            other.id,
                            target.label()
                        ));
                        self.transcripts.push(transcript.into_evidence(format!(
                            "session cookie of {} replayed on {}",
                            opened.unit, other.id
                        )));
                    }
                    Outcome::Refused => self.refused += 1,
                    undecided => self.undecided.push(format!(
                        "the session cookie of {} on {}: {}",
                        opened.unit,
                        target.label(),
                        undecided.describe()
                    )),
                }
                self.replays.push(Replay {
                    opened_on: opened.unit.clone(),
                    how: opened.how.clone(),
                    page: page.clone(),
                    presented_to: target.label(),
                    outcome,
                });
            }
        }
    }

    /// Whether a session was opened on some unit.
    pub fn opened_any(&self) -> bool {
        !self.compared.is_empty()
    }

    /// Whether some session was opened but no presentation to another unit decided
    /// anything: the session part could not be judged.
    pub fn inconclusive(&self) -> bool {
        self.shared.is_empty() && self.refused == 0 && self.opened_any()
    }

    /// The session part of the check's summary.
    pub fn summary(&self) -> String {
        if !self.opened_any() {
            let why = if self.not_opened.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.not_opened.join("; "))
            };
            return format!("web session secrets were not compared (not applicable): no form login succeeded on any unit, so there was no session cookie to replay{why}");
        }
        if self.inconclusive() {
            return format!(
                "web session secrets could not be compared: {}",
                self.undecided.join("; ")
            );
        }
        let mut text = format!(
            "{} web session cookies presented to another unit were refused",
            self.refused
        );
        if !self.undecided.is_empty() {
            text.push_str(&format!(" (not decided: {})", self.undecided.join("; ")));
        }
        text
    }
}
