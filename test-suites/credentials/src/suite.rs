//! `CredentialsSuite`: the `Suite` implementation that plans the logins from the
//! profile, guesses unit by unit, measures brute-force resistance and compares units.
//! Logins the comparison needs to succeed (declared credentials, the web sessions they
//! open) happen first, before guessing can lock a unit.

use crate::bruteforce;
use crate::checks::{self, BRUTE_FORCE, DEFAULT_CREDENTIAL, EMPTY_PASSWORD, SHARED_ACROSS_UNITS};
use crate::database::{self, Entry};
use crate::guess::{ad_hoc, guess, GuessReport};
use crate::probe::{self, ssh, Identity, Login, Outcome, Protocol, Target};
use crate::sessions::{OpenedSession, SessionComparison};
use iotcert_suite::profile::{Authentication, Transport};
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Evidence, Profile, RunContext, SampleUnit, Suite,
    SuiteDescriptor, SuiteError, Transcript, Verdict,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.1.0";

/// Usernames tried with an empty password.
const EMPTY_PASSWORD_USERS: [&str; 4] = ["admin", "root", "user", "guest"];

/// The credentials suite.
#[derive(Clone, Debug, Default)]
pub struct CredentialsSuite {}

impl CredentialsSuite {
    pub fn new() -> Self {
        CredentialsSuite {}
    }
}

/// The login services a profile declares, as (port, protocol, tls, service name).
pub fn login_interfaces(profile: &Profile) -> Vec<(u16, Protocol, bool, String)> {
    profile
        .interfaces
        .iter()
        .filter(|i| {
            !matches!(
                i.authentication,
                Authentication::Key | Authentication::Certificate | Authentication::Token
            )
        })
        .filter_map(|i| {
            let (protocol, tls) = probe::Protocol::from_service(&i.service)?;
            let transport_ok = match protocol {
                Protocol::Snmp => i.transport == Transport::Udp,
                _ => i.transport == Transport::Tcp,
            };
            transport_ok.then(|| (i.port, protocol, tls || i.tls, i.service.clone()))
        })
        .collect()
}

#[async_trait::async_trait]
impl Suite for CredentialsSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "credentials".to_owned(),
            version: SUITE_VERSION.to_owned(),
            title: "Default, shared and guessable credentials".to_owned(),
            checks: checks::specs(),
        }
    }

    /// Guessing passwords and measuring brute-force resistance lock accounts on a
    /// well-behaved device: run after every other suite.
    fn disturbs_device(&self) -> bool {
        true
    }

    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability {
        if !checks::ALL.contains(&check.id.as_str()) {
            return Applicability::NotApplicable {
                reason: format!("`{}` is not a check of the credentials suite", check.id),
            };
        }
        if login_interfaces(profile).is_empty() {
            return Applicability::NotApplicable {
                reason: "the profile declares no interface with a login this suite speaks (telnet, ssh, http, https, mqtt, mqtts, ftp, rtsp, snmp)".to_owned(),
            };
        }
        if check.id == SHARED_ACROSS_UNITS && profile.units.len() < 2 {
            return Applicability::NotApplicable {
                reason: "the profile lists one sample unit; uniqueness per unit needs two units of the model".to_owned(),
            };
        }
        Applicability::Applicable
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let database = database::built_in();
        let comparing = ctx.units.len() >= 2 && ctx.is_pending(SHARED_ACROSS_UNITS, None);
        let mut before = BeforeGuessing::default();
        if comparing {
            ctx.started(SHARED_ACROSS_UNITS, None).await;
            before = before_guessing(&ctx).await;
        }
        let mut per_unit = BTreeMap::new();
        for unit in ctx.units.clone() {
            let outcome = run_unit(&ctx, &unit, &database).await;
            per_unit.insert(unit.id.clone(), outcome);
        }
        if comparing {
            let result = compare_units(&ctx, &per_unit, before).await;
            ctx.emit(result).await;
        }
        Ok(())
    }
}

/// What guessing on one unit found, kept for the comparison across units.
#[derive(Default)]
struct UnitOutcome {
    /// (protocol, login) accepted by the unit.
    accepted: BTreeSet<(Protocol, Login)>,
    /// SSH host key fingerprints, per port.
    host_keys: BTreeMap<u16, String>,
    /// Web sessions opened by credentials found by guessing.
    sessions: Vec<OpenedSession>,
}

pub(crate) fn targets(ctx: &RunContext, unit: &SampleUnit) -> Vec<Target> {
    let options = &ctx.profile.credentials;
    login_interfaces(&ctx.profile)
        .into_iter()
        .map(|(port, protocol, tls, _)| Target {
            unit: unit.clone(),
            port,
            protocol,
            tls,
            path: match protocol {
                Protocol::Rtsp => options.rtsp_path.clone(),
                _ => options.http_path.clone(),
            },
            attempt_timeout: Duration::from_millis(options.attempt_timeout_ms.max(1000)),
        })
        .collect()
}

fn declared_defaults(ctx: &RunContext, protocol: Protocol) -> Vec<Entry> {
    ctx.profile
        .credentials
        .known_defaults
        .iter()
        .filter(|d| {
            d.service
                .as_deref()
                .and_then(Protocol::from_service)
                .is_none_or(|(p, _)| p == protocol)
        })
        .map(|d| {
            ad_hoc(
                Login {
                    username: d.username.clone(),
                    password: d.password.clone(),
                },
                "declared by the profile",
            )
        })
        .collect()
}

/// One row of the per-service summary table.
#[derive(Serialize)]
struct ServiceRow {
    target: String,
    tried: usize,
    decided: usize,
    accepted: Vec<String>,
    untried: usize,
    stopped: Option<String>,
}

fn row(target: &Target, report: &GuessReport) -> ServiceRow {
    ServiceRow {
        target: target.label(),
        tried: report.tried.len(),
        decided: report.decided(),
        accepted: report
            .accepted
            .iter()
            .map(|f| f.entry.login.display())
            .collect(),
        untried: report.untried,
        stopped: report.stopped.clone(),
    }
}

async fn run_unit(ctx: &RunContext, unit: &SampleUnit, database: &[Entry]) -> UnitOutcome {
    let mut outcome = UnitOutcome::default();
    let options = &ctx.profile.credentials;
    let concurrency =
        (options.concurrency.max(1) as usize).min(ctx.pacer(unit).max_connections() as usize);
    let targets = targets(ctx, unit);
    let wants = |check: &str| ctx.is_pending(check, Some(&unit.id));
    for check in checks::ALL.iter().filter(|c| **c != SHARED_ACROSS_UNITS) {
        if wants(check) {
            ctx.started(check, Some(&unit.id)).await;
        }
    }
    if let Err(out_of_scope) = ctx.scope.check(unit.address) {
        for check in checks::ALL
            .iter()
            .filter(|c| **c != SHARED_ACROSS_UNITS && wants(c))
        {
            ctx.emit(CheckResult::new(
                *check,
                Some(&unit.id),
                Verdict::Inconclusive,
                out_of_scope.to_string(),
            ))
            .await;
        }
        return outcome;
    }

    // Default and well-known credentials.
    let mut default_reports = Vec::new();
    for target in &targets {
        let mut candidates: Vec<Entry> = database::candidates(
            target.protocol,
            &declared_defaults(ctx, target.protocol),
            database,
        )
        .into_iter()
        .filter(|e| !e.login.password.is_empty())
        .collect();
        candidates.truncate(options.max_candidates as usize);
        ctx.progress(
            0,
            0,
            format!(
                "{}: trying {} default credentials",
                target.label(),
                candidates.len()
            ),
        )
        .await;
        let report = guess(ctx, target, &candidates, concurrency).await;
        record(&mut outcome, target, &report);
        default_reports.push((target.clone(), report));
    }
    if wants(DEFAULT_CREDENTIAL) {
        ctx.emit(decide_guessing(
            DEFAULT_CREDENTIAL,
            unit,
            &default_reports,
            "default or well-known credential",
        ))
        .await;
    }

    // Empty passwords and anonymous logins.
    let mut empty_reports = Vec::new();
    for target in &targets {
        let mut candidates: Vec<Entry> = EMPTY_PASSWORD_USERS
            .iter()
            .map(|user| ad_hoc(Login::new(user, ""), "empty password"))
            .collect();
        match target.protocol {
            Protocol::Mqtt => candidates.insert(
                0,
                ad_hoc(
                    Login {
                        username: None,
                        password: String::new(),
                    },
                    "anonymous CONNECT",
                ),
            ),
            Protocol::Ftp => {
                candidates.insert(0, ad_hoc(Login::new("anonymous", ""), "anonymous FTP"))
            }
            Protocol::Snmp => {
                candidates = vec![ad_hoc(
                    Login {
                        username: None,
                        password: String::new(),
                    },
                    "empty community",
                )]
            }
            _ => {}
        }
        let report = guess(ctx, target, &candidates, 1).await;
        record(&mut outcome, target, &report);
        empty_reports.push((target.clone(), report));
    }
    if wants(EMPTY_PASSWORD) {
        ctx.emit(decide_guessing(
            EMPTY_PASSWORD,
            unit,
            &empty_reports,
            "login with an empty password or none",
        ))
        .await;
    }

    if wants(BRUTE_FORCE) {
        ctx.emit(brute_force(ctx, unit, &targets, &outcome, concurrency).await)
            .await;
    }

    // Host keys of SSH services not seen during guessing.
    for target in targets.iter().filter(|t| t.protocol == Protocol::Ssh) {
        if let std::collections::btree_map::Entry::Vacant(slot) =
            outcome.host_keys.entry(target.port)
        {
            let mut transcript = Transcript::new();
            if let Ok(key) = ssh::host_key(ctx, target, &mut transcript).await {
                slot.insert(key);
            }
        }
    }
    outcome
}

fn record(outcome: &mut UnitOutcome, target: &Target, report: &GuessReport) {
    for finding in &report.accepted {
        outcome
            .accepted
            .insert((target.protocol, finding.entry.login.clone()));
        if let Some(Identity::Session(session)) = &finding.identity {
            outcome.sessions.push(OpenedSession {
                unit: target.unit.id.clone(),
                target: target.clone(),
                session: session.clone(),
                how: format!(
                    "logging in as {}, found by guessing",
                    finding.entry.login.display()
                ),
            });
        }
    }
    if target.protocol == Protocol::Ssh {
        if let Some(key) = report.identities.iter().next() {
            outcome.host_keys.insert(target.port, key.clone());
        }
    }
}

/// The verdict of a guessing check over every service of a unit.
fn decide_guessing(
    check: &str,
    unit: &SampleUnit,
    reports: &[(Target, GuessReport)],
    what: &str,
) -> CheckResult {
    let rows: Vec<ServiceRow> = reports.iter().map(|(t, r)| row(t, r)).collect();
    let table = Evidence::json(format!("{} login attempts {}", check, unit.id), &rows);
    let attempts: Vec<_> = reports.iter().map(|(t, r)| (t.label(), &r.tried)).collect();
    let attempt_table = Evidence::json(format!("every attempt {}", unit.id), &attempts);
    let findings: Vec<String> = reports
        .iter()
        .flat_map(|(t, r)| {
            r.accepted
                .iter()
                .map(move |f| format!("{} on {}", f.entry.login.display(), t.label()))
        })
        .collect();
    let mut result = if !findings.is_empty() {
        let mut result = CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Fail,
            format!("The unit accepted a {what}: {}.", findings.join(", ")),
        );
        for (_, report) in reports {
            for finding in &report.accepted {
                result = result.with_evidence(finding.transcript.clone());
            }
        }
        result
    } else {
        let judged: Vec<&(Target, GuessReport)> = reports
            .iter()
            .filter(|(_, r)| r.decided() > 0 || r.throttled().is_some())
            .collect();
        if judged.is_empty() {
            let reasons: Vec<String> = reports
                .iter()
                .map(|(t, r)| {
                    let why = r
                        .tried
                        .iter()
                        .find_map(|t| match &t.outcome {
                            Outcome::Undecided(why)
                            | Outcome::Unreachable(why)
                            | Outcome::TurnedAway(why) => Some(why.clone()),
                            _ => None,
                        })
                        .or_else(|| r.stopped.clone())
                        .unwrap_or_else(|| "nothing tried".to_owned());
                    format!("{}: {why}", t.label())
                })
                .collect();
            CheckResult::new(
                check,
                Some(&unit.id),
                Verdict::Inconclusive,
                format!(
                    "No login interface judged a credential: {}.",
                    reasons.join("; ")
                ),
            )
        } else {
            let parts: Vec<String> = judged
                .iter()
                .map(|(t, r)| match r.throttled() {
                    Some(_) => format!("{}: {} refused, then the device locked logins ({} candidates not tried, as for an attacker)", t.label(), r.decided(), r.untried),
                    None => format!("{}: {} refused", t.label(), r.decided()),
                })
                .collect();
            CheckResult::new(
                check,
                Some(&unit.id),
                Verdict::Pass,
                format!("No {what} was accepted. {}.", parts.join("; ")),
            )
        }
    };
    if let Some(sample) = reports
        .iter()
        .find_map(|(_, r)| r.sample_transcript.clone())
    {
        result = result.with_evidence(sample);
    }
    result.with_evidence(table).with_evidence(attempt_table)
}

/// Measure brute-force resistance on the profile's chosen service, or the first login
/// service (SSH and telnet first, then the others in [`Protocol::ALL`] order).
async fn brute_force(
    ctx: &RunContext,
    unit: &SampleUnit,
    targets: &[Target],
    outcome: &UnitOutcome,
    concurrency: usize,
) -> CheckResult {
    let options = &ctx.profile.credentials;
    let chosen = match &options.brute_force_service {
        Some(service) => Protocol::from_service(service)
            .and_then(|(protocol, _)| targets.iter().find(|t| t.protocol == protocol)),
        None => Protocol::ALL
            .iter()
            .filter(|p| **p != Protocol::Snmp)
            .find_map(|p| targets.iter().find(|t| t.protocol == *p)),
    };
    let Some(target) = chosen else {
        return CheckResult::new(
            BRUTE_FORCE,
            Some(&unit.id),
            Verdict::Inconclusive,
            "no declared login service to measure (SNMP communities have no account to lock)",
        );
    };
    // The account: a declared credential of this unit, one found, or `admin`.
    let declared = options.unit_credentials.iter().find(|c| {
        c.unit == unit.id
            && Protocol::from_service(&c.service).is_some_and(|(p, _)| p == target.protocol)
    });
    let found = outcome
        .accepted
        .iter()
        .find(|(p, login)| *p == target.protocol && login.username.is_some())
        .map(|(_, login)| login.clone());
    let (username, right_password) = match (declared, found) {
        (Some(c), _) => (c.username.clone(), Some(c.password.clone())),
        (None, Some(login)) => (login.username.unwrap_or_default(), Some(login.password)),
        (None, None) => ("admin".to_owned(), None),
    };
    ctx.progress(
        0,
        0,
        format!(
            "{}: {} wrong passwords for {username}",
            target.label(),
            options.brute_force_attempts
        ),
    )
    .await;
    let measurement = bruteforce::measure(
        ctx,
        target,
        &username,
        right_password.as_deref(),
        options.brute_force_attempts as usize,
        concurrency,
    )
    .await;
    let judgement = bruteforce::judge(&measurement);
    let mut result = CheckResult::new(
        BRUTE_FORCE,
        Some(&unit.id),
        judgement.verdict,
        judgement.summary,
    );
    for evidence in judgement.evidence {
        result = result.with_evidence(evidence);
    }
    result
}

/// What the comparison learnt before guessing began.
#[derive(Default)]
struct BeforeGuessing {
    /// Declared credentials of one unit accepted by another, with the exchanges.
    shared: Vec<String>,
    transcripts: Vec<Evidence>,
    /// Declared credentials of one unit refused by another.
    refused: usize,
    /// Declared credentials tried on another unit that decided nothing, and why.
    not_judged: Vec<String>,
    /// Sessions opened with declared credentials, replayed on the other units.
    sessions: SessionComparison,
}

/// The HTTP(S) service of `unit` a declared credential for `service` is for: the one
/// with the same TLS flag, else any HTTP service.
fn declared_target(ctx: &RunContext, unit: &SampleUnit, service: &str) -> Option<Target> {
    let (protocol, tls) = Protocol::from_service(service)?;
    let candidates: Vec<Target> = targets(ctx, unit)
        .into_iter()
        .filter(|t| t.protocol == protocol)
        .collect();
    let exact = candidates.iter().position(|t| t.tls == tls);
    let mut candidates = candidates.into_iter();
    match exact {
        Some(at) => candidates.nth(at),
        None => candidates.next(),
    }
}

/// Logins that must succeed for the comparison, done before guessing can lock a unit:
/// each declared credential tried on the other units, and each unit's declared web
/// credential used on its own unit to open a session, replayed on the others.
async fn before_guessing(ctx: &RunContext) -> BeforeGuessing {
    let mut before = BeforeGuessing::default();
    let mut opened = Vec::new();
    for credential in &ctx.profile.credentials.unit_credentials {
        let login = Login::new(&credential.username, &credential.password);
        let owner = ctx.units.iter().find(|u| u.id == credential.unit);
        if let Some(target) = owner
            .and_then(|u| declared_target(ctx, u, &credential.service))
            .filter(|t| t.protocol == Protocol::Http)
        {
            let attempt = probe::attempt(ctx, &target, &login).await;
            match (attempt.outcome, attempt.identity) {
                (Outcome::Accepted, Some(Identity::Session(session))) => {
                    opened.push(OpenedSession {
                        unit: credential.unit.clone(),
                        how: format!(
                            "logging in as {}, the credential declared for it",
                            credential.username
                        ),
                        target,
                        session,
                    });
                }
                (Outcome::Accepted, _) => before.sessions.not_opened.push(format!(
                    "{}: the declared credential logs in without a session cookie",
                    target.label()
                )),
                (outcome, _) => before.sessions.not_opened.push(format!(
                    "{}: the declared credential was {}",
                    target.label(),
                    outcome.word()
                )),
            }
        }
        for other in ctx.units.iter().filter(|u| u.id != credential.unit) {
            let Some(target) = declared_target(ctx, other, &credential.service) else {
                continue;
            };
            let attempt = probe::attempt(ctx, &target, &login).await;
            match &attempt.outcome {
                Outcome::Accepted => {
                    before.shared.push(format!(
                        "the credential declared for {} ({}) is accepted by {} on {}",
                        credential.unit,
                        credential.username,
                        other.id,
                        target.label()
                    ));
                    before
                        .transcripts
                        .push(attempt.transcript.into_evidence(format!(
                            "{} credential of {} on {}",
                            target.protocol, credential.unit, other.id
                        )));
                }
                Outcome::Refused => before.refused += 1,
                outcome => before.not_judged.push(format!(
                    "{} on {}: {}",
                    credential.unit,
                    target.label(),
                    outcome.word()
                )),
            }
        }
    }
    before.sessions.compare(ctx, &opened).await;
    before
}

/// The across-units verdict: shared accepted credentials, declared credentials of one
/// unit accepted by another, shared SSH host keys, web sessions of one unit opened by
/// another.
async fn compare_units(
    ctx: &RunContext,
    per_unit: &BTreeMap<String, UnitOutcome>,
    before: BeforeGuessing,
) -> CheckResult {
    let mut shared = Vec::new();
    let mut accepted_by: BTreeMap<&(Protocol, Login), Vec<&str>> = BTreeMap::new();
    for (unit, outcome) in per_unit {
        for key in &outcome.accepted {
            accepted_by.entry(key).or_default().push(unit);
        }
    }
    for ((protocol, login), units) in &accepted_by {
        if units.len() >= 2 {
            shared.push(format!(
                "{protocol} credential {} accepted by {}",
                login.display(),
                units.join(" and ")
            ));
        }
    }
    let mut keys_by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (unit, outcome) in per_unit {
        for (port, key) in &outcome.host_keys {
            keys_by
                .entry(key)
                .or_default()
                .push(format!("{unit} port {port}"));
        }
    }
    for (key, places) in &keys_by {
        if places.len() >= 2 {
            shared.push(format!("SSH host key {key} on {}", places.join(" and ")));
        }
    }
    let BeforeGuessing {
        shared: declared_shared,
        transcripts: declared_transcripts,
        refused: cross_checked,
        not_judged,
        mut sessions,
    } = before;
    shared.extend(declared_shared);
    let mut transcripts = declared_transcripts;
    // Sessions that credentials found by guessing opened (services already compared
    // with a declared credential's session are skipped).
    let guessed: Vec<OpenedSession> = per_unit
        .values()
        .flat_map(|outcome| outcome.sessions.iter().cloned())
        .collect();
    if !guessed.is_empty() {
        sessions.compare(ctx, &guessed).await;
    }
    if !sessions.opened_any() {
        sessions
            .not_opened
            .push("no credential found by guessing opened a web session".to_owned());
    }
    shared.extend(sessions.shared.iter().cloned());
    transcripts.extend(sessions.transcripts.iter().cloned());
    #[derive(Serialize)]
    struct Comparison<'a> {
        accepted_credentials: BTreeMap<String, Vec<&'a str>>,
        ssh_host_keys: &'a BTreeMap<&'a str, Vec<String>>,
        declared_credentials_refused_by_other_units: usize,
        declared_credentials_not_judged: &'a [String],
        web_sessions: &'a [crate::sessions::Replay],
        web_sessions_summary: String,
    }
    let comparison = Comparison {
        accepted_credentials: accepted_by
            .iter()
            .map(|((p, l), units)| (format!("{p} {}", l.display()), units.clone()))
            .collect(),
        ssh_host_keys: &keys_by,
        declared_credentials_refused_by_other_units: cross_checked,
        declared_credentials_not_judged: &not_judged,
        web_sessions: &sessions.replays,
        web_sessions_summary: sessions.summary(),
    };
    let table = Evidence::json("comparison across units", &comparison);
    let not_judged = if not_judged.is_empty() {
        String::new()
    } else {
        format!(
            " ({} not judged: {})",
            not_judged.len(),
            not_judged.join("; ")
        )
    };
    let compared = format!(
        "{} SSH host keys are all distinct, {cross_checked} declared unit credentials were refused by the other units{not_judged}, and {}",
        keys_by.len(),
        sessions.summary()
    );
    let mut result = if !shared.is_empty() {
        CheckResult::new(
            SHARED_ACROSS_UNITS,
            None,
            Verdict::Fail,
            format!("Secrets are shared between units: {}.", shared.join("; ")),
        )
    } else if sessions.inconclusive() {
        CheckResult::new(
            SHARED_ACROSS_UNITS,
            None,
            Verdict::Inconclusive,
            format!("No credential was accepted by two units, {compared}."),
        )
    } else {
        CheckResult::new(
            SHARED_ACROSS_UNITS,
            None,
            Verdict::Pass,
            format!("No credential was accepted by two units, {compared}."),
        )
    };
    for transcript in transcripts {
        result = result.with_evidence(transcript);
    }
    result.with_evidence(table)
}
