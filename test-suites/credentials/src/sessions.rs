//! Web session secrets compared across units (EN 303 645 5.1-1, 5.1-2).
//!
//! A device that signs or derives its session cookies from a secret baked into the
//! firmware accepts, on every unit of the model, a cookie opened on any one of them: whoever
//! logs in to a unit of their own holds a session on everyone's. Two units that issue the
//! very same cookie are found by comparing digests of the cookies, without a request; a
//! signing secret cannot be compared from outside, so each unit's session cookie is also
//! replayed against the same page of one other unit, its neighbour in the ring of units
//! (one replay per session, not one per pair of units). Each replay follows a control on
//! the unit that opened the session (the cookie must open its own page again), so a cookie
//! that expired or is bound to something else is never read as a refusal.

use crate::across::{neighbour, secret_digest};
use crate::interfaces::targets;
use crate::options::CredentialsOptions;
use crate::probe::http::{self, WebSession};
use crate::probe::{Outcome, Protocol, Target};
use iotcert_suite::{Evidence, RunContext, Transcript};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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
    /// The first unit that issued each cookie, by (port, TLS, digest of the cookie):
    /// cookies that opened their own unit's page, so a constant cookie that opens
    /// nothing is never taken for a shared session.
    issued_by: BTreeMap<(u16, bool, String), String>,
    /// Cookies compared by digest.
    digested: usize,
    /// Cookies issued by a unit after another issued the same one on the same service.
    identical: usize,
}

impl SessionComparison {
    /// Each session (the first per unit and service) that opens its own unit's page
    /// again: its cookie compared by digest with those compared before, then replayed on
    /// the same service of its neighbouring unit.
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
            self.compare_digest(opened);
            let same_service = |target: &Target| {
                target.protocol == Protocol::Http
                    && target.port == opened.target.port
                    && target.tls == opened.target.tls
            };
            let Some((other, target)) = neighbour(&ctx.units, &opened.unit, |unit| {
                targets(ctx, options, unit).iter().any(same_service)
            })
            .and_then(|other| {
                let target = targets(ctx, options, other)
                    .into_iter()
                    .find(same_service)?;
                Some((other, target))
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

    /// A cookie issued by two units on one service is shared, found without a request.
    fn compare_digest(&mut self, opened: &OpenedSession) {
        self.digested += 1;
        let key = (
            opened.target.port,
            opened.target.tls,
            secret_digest(&[opened.session.cookie.as_bytes()]),
        );
        match self.issued_by.get(&key) {
            Some(first) if *first != opened.unit => {
                self.identical += 1;
                self.shared.push(format!(
                    "{first} and {} issued an identical web session cookie on port {} (equal SHA-256 digests, found without a replay)",
                    opened.unit, opened.target.port
                ));
            }
            Some(_) => {}
            None => {
                self.issued_by.insert(key, opened.unit.clone());
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
        let identical = match self.identical {
            0 => "none identical".to_owned(),
            count => format!("{count} identical"),
        };
        let mut text = format!(
            "{} web session cookies compared by digest ({identical}), {} replayed on a neighbouring unit and refused",
            self.digested,
            self.refused
        );
        if !self.undecided.is_empty() {
            text.push_str(&format!(" (not decided: {})", self.undecided.join("; ")));
        }
        text
    }
}
