//! `CredentialsSuite`: the `Suite` implementation that plans the logins from the
//! profile, guesses unit by unit, measures brute-force resistance and compares units.
//! Logins the comparison needs to succeed (declared credentials, the web sessions they
//! open) happen first, before guessing can lock a unit; then each unit's interfaces get
//! their positive control (the declared credential opens it, a random one is refused)
//! before any guessing, so a refusal of every default means something, a service that
//! lets anyone in is found, and one that cannot be driven is named, never skipped.
//! Units are compared with work that grows with their number, not with their pairs:
//! secrets compared by digest or as sets, then each tried live on one neighbouring unit
//! (see `across`).

use crate::across::{neighbour, secret_digest};
use crate::bruteforce;
use crate::checks::{self, BRUTE_FORCE, DEFAULT_CREDENTIAL, EMPTY_PASSWORD, SHARED_ACROSS_UNITS};
use crate::database::{self, Entry};
use crate::guess::{ad_hoc, guess, GuessReport};
use crate::interfaces::{login_interfaces, target_for, LoginInterface};
use crate::options::{CredentialsOptions, UnitCredential};
use crate::probe::{self, random_token, ssh, Identity, Login, Outcome, Protocol, Target};
use crate::sessions::{OpenedSession, SessionComparison};
use futures::StreamExt;
use iotcert_suite::profile::Authentication;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Evidence, Profile, Proof, RunContext, SampleUnit,
    SectionSpec, Suite, SuiteDescriptor, SuiteError, Transcript, Verdict,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.3.0";

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

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<CredentialsOptions>()]
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
        let options: CredentialsOptions = ctx.profile.section_or_default()?;
        let database = database::built_in();
        let comparing = ctx.units.len() >= 2 && ctx.is_pending(SHARED_ACROSS_UNITS, None);
        let attempts = Attempts {
            done: AtomicU64::new(0),
            total: ctx
                .units
                .iter()
                .map(|unit| planned_attempts(&ctx, &options, unit, &database))
                .sum::<u64>()
                + 2 * u64::from(comparing),
        };
        let mut before = BeforeGuessing::default();
        if comparing {
            ctx.started(SHARED_ACROSS_UNITS, None).await;
            attempts
                .start(
                    &ctx,
                    1,
                    "declared credentials: each on its own unit, compared by digest, then tried on a neighbouring unit".to_owned(),
                )
                .await;
            before = before_guessing(&ctx, &options).await;
        }
        // Units side by side, each under its own pacer, so a campaign grows with its
        // slowest unit rather than with the sum of them.
        let runs: Vec<_> = ctx
            .units
            .iter()
            .map(|unit| run_unit_counted(&ctx, &options, unit, &database, &attempts))
            .collect();
        let per_unit: BTreeMap<String, UnitOutcome> = futures::stream::iter(runs)
            .buffer_unordered(UNITS_SIDE_BY_SIDE)
            .collect()
            .await;
        if comparing {
            attempts
                .start(
                    &ctx,
                    1,
                    "comparing units: logins found and sessions on a neighbouring unit".to_owned(),
                )
                .await;
            let result = compare_units(&ctx, &options, &per_unit, before).await;
            ctx.emit(result).await;
        }
        Ok(())
    }
}

/// Units whose logins are tried at once (each under its own pacer); more wait their turn.
const UNITS_SIDE_BY_SIDE: usize = 32;

/// The suite's progress: the login attempts planned on every unit, and those behind us,
/// counted by every unit as it goes.
struct Attempts {
    done: AtomicU64,
    total: u64,
}

impl Attempts {
    /// Say what starts now, with the attempts done so far, and count its `planned`
    /// attempts as done after it.
    async fn start(&self, ctx: &RunContext, planned: u64, message: String) {
        let done = self.done.fetch_add(planned, Ordering::Relaxed);
        if self.total > 0 {
            ctx.progress(done.min(self.total), self.total, message)
                .await;
        }
    }

    /// One unit's share, of `planned` attempts.
    fn for_unit(&self, planned: u64) -> UnitAttempts<'_> {
        UnitAttempts {
            all: self,
            planned,
            counted: AtomicU64::new(0),
        }
    }
}

/// One unit's share of the progress: what the unit skipped (out of scope, nothing to
/// guess) is counted as behind us when it ends.
struct UnitAttempts<'a> {
    all: &'a Attempts,
    planned: u64,
    counted: AtomicU64,
}

impl UnitAttempts<'_> {
    async fn start(&self, ctx: &RunContext, planned: u64, message: String) {
        self.counted.fetch_add(planned, Ordering::Relaxed);
        self.all.start(ctx, planned, message).await;
    }

    /// Count `attempts` as behind us without sending them.
    fn skip(&self, attempts: u64) {
        self.counted.fetch_add(attempts, Ordering::Relaxed);
        self.all.done.fetch_add(attempts, Ordering::Relaxed);
    }

    fn finish(self) {
        let left = self
            .planned
            .saturating_sub(self.counted.load(Ordering::Relaxed));
        self.all.done.fetch_add(left, Ordering::Relaxed);
    }
}

/// The login attempts planned on `unit`: per interface its control (the declared
/// credentials and a random one), the default and the empty-password candidates; and
/// the brute-force measurement.
fn planned_attempts(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &SampleUnit,
    database: &[Entry],
) -> u64 {
    let per_interface: usize = login_interfaces(&ctx.profile)
        .iter()
        .map(|interface| {
            declared_credentials(ctx, options, &unit.id, interface).len()
                + 1
                + default_candidates(options, interface.protocol, database).len()
                + empty_candidates(interface.protocol).len()
        })
        .sum();
    let brute_force = if ctx.is_pending(BRUTE_FORCE, Some(&unit.id)) {
        u64::from(options.brute_force_attempts)
    } else {
        0
    };
    per_interface as u64 + brute_force
}

/// The default and well-known credentials tried on an interface of `protocol`: every
/// default the profile declares, then at most `max_candidates` from the database.
fn default_candidates(
    options: &CredentialsOptions,
    protocol: Protocol,
    database: &[Entry],
) -> Vec<Entry> {
    let declared = declared_defaults(options, protocol);
    let mut candidates: Vec<Entry> = database::candidates(protocol, &declared, database)
        .into_iter()
        .filter(|e| !e.login.password.is_empty())
        .collect();
    let from_profile = candidates
        .iter()
        .take_while(|e| declared.iter().any(|d| d.login == e.login))
        .count();
    candidates.truncate(from_profile.saturating_add(options.max_candidates as usize));
    candidates
}

/// What guessing on one unit found, kept for the comparison across units.
#[derive(Default)]
struct UnitOutcome {
    /// (port, login) the unit accepted during guessing, with the service's label.
    accepted: BTreeMap<(u16, Login), String>,
    /// (port, login) tried during guessing, and how each was answered.
    tried: BTreeMap<(u16, Login), Outcome>,
    /// SSH host key fingerprints, per port.
    host_keys: BTreeMap<u16, String>,
    /// Web sessions opened by credentials found by guessing.
    sessions: Vec<OpenedSession>,
    /// Ports where a declared credential opened the interface and a random one was
    /// refused: a refusal there is a judgement.
    proven: BTreeSet<u16>,
    /// Ports a declared credential of the unit opened (whether or not a random one was
    /// refused there): where a login found on another unit is tried.
    declared_opened: BTreeSet<u16>,
    /// Ports that judged a random password (refused or accepted it): password logins.
    password_logins: BTreeSet<u16>,
}

fn declared_defaults(options: &CredentialsOptions, protocol: Protocol) -> Vec<Entry> {
    options
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

/// Whether a credential declared for `credential.service` is meant for `interface`: the
/// interfaces declared under that service name, or, when no interface carries the
/// name, those of its protocol and TLS flag. A credential is known right only on the
/// interfaces it is declared for, never on another port of the unit.
fn declared_for_interface(
    interfaces: &[LoginInterface],
    credential: &UnitCredential,
    interface: &LoginInterface,
) -> bool {
    let named = interfaces
        .iter()
        .any(|i| i.service.eq_ignore_ascii_case(&credential.service));
    if named {
        interface.service.eq_ignore_ascii_case(&credential.service)
    } else {
        Protocol::from_service(&credential.service) == Some((interface.protocol, interface.tls))
    }
}

/// The credentials declared for `unit` on `interface`.
fn declared_credentials(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &str,
    interface: &LoginInterface,
) -> Vec<Login> {
    let interfaces = login_interfaces(&ctx.profile);
    options
        .unit_credentials
        .iter()
        .filter(|c| c.unit == unit && declared_for_interface(&interfaces, c, interface))
        .map(|c| Login::new(&c.username, &c.password))
        .collect()
}

/// The positive control of one interface, observed before any guessing: a random
/// username and password (never right), then the credentials declared for it.
struct Control {
    random: Login,
    random_outcome: Outcome,
    /// The exchange of the random login, kept when it opened the interface.
    random_transcript: Option<Evidence>,
    declared: Vec<(Login, Outcome)>,
    host_key: Option<String>,
}

/// What the control says about an interface.
#[derive(Clone, Debug)]
enum Standing {
    /// A random username and password opened it: it lets anyone in.
    AcceptsAnything,
    /// It answered and offers no password login, as observed.
    NoPasswordLogin(String),
    /// It could not be driven (no answer, garbage, a handshake the probe cannot do).
    NotDriven(String),
    /// It refused a random password, but no credential known to be right opened it, so
    /// a refusal there cannot be told from a service that refuses everything.
    CannotTell(String),
    /// A declared credential opened it and a random one was refused (the proof).
    Proven { by: String, proof: String },
}

impl Standing {
    /// What the evidence table shows (never the declared password).
    fn summary(&self) -> String {
        match self {
            Standing::AcceptsAnything => {
                "a random username and password opened it: it lets anyone in".to_owned()
            }
            Standing::NoPasswordLogin(why) => format!("no password login: {why}"),
            Standing::NotDriven(why) => format!("not driven: {why}"),
            Standing::CannotTell(why) => format!("cannot tell a good login: {why}"),
            Standing::Proven { proof, .. } => proof.clone(),
        }
    }
}

impl Control {
    fn standing(&self) -> Standing {
        match &self.random_outcome {
            Outcome::Accepted => Standing::AcceptsAnything,
            Outcome::NoPasswordLogin(why) => Standing::NoPasswordLogin(why.clone()),
            Outcome::Refused => {
                if let Some((login, _)) =
                    self.declared.iter().find(|(_, o)| *o == Outcome::Accepted)
                {
                    let user = login.username.as_deref().unwrap_or("(anonymous)");
                    return Standing::Proven {
                        by: login.password.clone(),
                        proof: format!(
                            "the credential declared for it ({user}) opened it and a random password was refused"
                        ),
                    };
                }
                Standing::CannotTell(match self.declared.first() {
                    None => "no credential of this unit is declared for it ([credentials] unit_credentials), so nothing shows that the probe would see a good login there".to_owned(),
                    Some((_, outcome)) => format!(
                        "the credential declared for it was not accepted ({}), so nothing shows that the probe would see a good login there",
                        outcome.describe()
                    ),
                })
            }
            other => Standing::NotDriven(other.detail()),
        }
    }

    /// Whether the interface judged a random password (a password login answers there).
    fn judged_a_password(&self) -> bool {
        self.random_outcome.is_judged()
    }
}

/// The declared credentials go first: a device that counts failures towards a lockout
/// and forgets them on a success (most do) is then not locked by the comparison's
/// cross-unit attempts before its own control.
async fn control(ctx: &RunContext, target: &Target, declared: Vec<Login>) -> Control {
    let mut host_key = None;
    let mut keep_key = |identity: &Option<Identity>| {
        if let (None, Some(Identity::HostKey(key))) = (&host_key, identity) {
            host_key = Some(key.clone());
        }
    };
    let mut tried = Vec::new();
    for login in declared {
        let attempt = probe::attempt(ctx, target, &login).await;
        keep_key(&attempt.identity);
        tried.push((login, attempt.outcome));
    }
    let random = Login::new(
        &format!("iotcert-{}", random_token(4)),
        &format!("iotcert-{}", random_token(8)),
    );
    let attempt = probe::attempt(ctx, target, &random).await;
    keep_key(&attempt.identity);
    let random_outcome = attempt.outcome;
    let random_transcript = (random_outcome == Outcome::Accepted).then(|| {
        attempt.transcript.into_evidence(format!(
            "{} login with a random username and password {}",
            target.label(),
            random.display()
        ))
    });
    Control {
        random,
        random_outcome,
        random_transcript,
        declared: tried,
        host_key,
    }
}

/// One row of the per-service summary table.
#[derive(Serialize)]
struct ServiceRow {
    target: String,
    control: String,
    tried: usize,
    decided: usize,
    accepted: Vec<String>,
    untried: usize,
    stopped: Option<String>,
}

/// One login interface of a unit as a guessing check sees it.
struct Guessed<'a> {
    interface: &'a LoginInterface,
    target: &'a Target,
    control: &'a Control,
    /// The guessing, when the control left something to guess.
    report: Option<GuessReport>,
}

fn row(entry: &Guessed) -> ServiceRow {
    let report = entry.report.as_ref();
    ServiceRow {
        target: entry.target.label(),
        control: entry.control.standing().summary(),
        tried: report.map_or(0, |r| r.tried.len()),
        decided: report.map_or(0, GuessReport::decided),
        accepted: report
            .map(|r| r.accepted.iter().map(|f| f.entry.login.display()).collect())
            .unwrap_or_default(),
        untried: report.map_or(0, |r| r.untried),
        stopped: report.and_then(|r| r.stopped.clone()),
    }
}

/// How a guessing check judges one interface.
enum Judged {
    Findings(Vec<String>),
    Proven(String),
    /// No password login there, as declared and observed.
    Excluded(String),
    Inconclusive(String),
}

fn judge_interface(entry: &Guessed) -> Judged {
    let label = entry.target.label();
    if let Some(report) = &entry.report {
        if !report.accepted.is_empty() {
            // Sorted: which answer came first must not change the report.
            let mut findings: Vec<String> = report
                .accepted
                .iter()
                .map(|f| format!("{} on {label}", f.entry.login.display()))
                .collect();
            findings.sort();
            return Judged::Findings(findings);
        }
    }
    match entry.control.standing() {
        Standing::AcceptsAnything => Judged::Findings(vec![format!(
            "{} on {label} (a random username and password: it lets anyone in)",
            entry.control.random.display()
        )]),
        Standing::NoPasswordLogin(why) if entry.interface.protocol == Protocol::Ssh => {
            Judged::Proven(format!("{label}: {why}"))
        }
        Standing::NoPasswordLogin(why)
            if entry.interface.authentication == Authentication::Password =>
        {
            let hint = if entry.interface.protocol == Protocol::Http
                && !why.contains(crate::probe::link::CLIENT_CERTIFICATE_REQUIRED)
            {
                " (set [credentials] http_path to its login page)"
            } else {
                ""
            };
            Judged::Inconclusive(format!(
                "{label} is declared with a password login, but {why}{hint}"
            ))
        }
        Standing::NoPasswordLogin(why) => Judged::Excluded(format!(
            "{label}: {why} (declared authentication: {:?})",
            entry.interface.authentication
        )),
        Standing::NotDriven(why) => Judged::Inconclusive(format!("{label}: {why}")),
        Standing::CannotTell(why) => {
            let refused = entry.report.as_ref().map_or(0, GuessReport::decided);
            Judged::Inconclusive(format!(
                "{label}: {refused} candidates were refused, but {why}"
            ))
        }
        Standing::Proven { proof, .. } => {
            let Some(report) = &entry.report else {
                return Judged::Inconclusive(format!("{label}: nothing was tried"));
            };
            let not_judged: Vec<&crate::guess::Tried> = report
                .tried
                .iter()
                .filter(|t| !t.outcome.is_judged() && !matches!(t.outcome, Outcome::Throttled(_)))
                .collect();
            if let Some(first) = not_judged.first() {
                return Judged::Inconclusive(format!(
                    "{label}: {} of {} attempts were not judged ({}: {})",
                    not_judged.len(),
                    report.tried.len(),
                    first.login,
                    first.outcome.detail()
                ));
            }
            let decided = report.decided();
            match (report.throttled(), &report.stopped) {
                (Some(lock), _) => Judged::Proven(format!(
                    "{label}: {proof}; {decided} candidates were refused, then the device locked logins (\"{lock}\"; {} candidates not tried, as for an attacker)",
                    report.untried
                )),
                (None, Some(stopped)) => Judged::Inconclusive(format!(
                    "{label}: guessing stopped after {decided} refusals: {stopped}"
                )),
                (None, None) if report.tried.is_empty() => {
                    Judged::Inconclusive(format!("{label}: no candidate was tried"))
                }
                (None, None) => {
                    Judged::Proven(format!("{label}: {proof}; all {decided} candidates were refused"))
                }
            }
        }
    }
}

/// Login attempts in flight at once on `unit`: the section's, within the unit's pacer.
fn concurrency(ctx: &RunContext, options: &CredentialsOptions, unit: &SampleUnit) -> usize {
    (options.concurrency.max(1) as usize).min(ctx.pacer(unit).max_connections() as usize)
}

/// [`run_unit`], counting its attempts as the unit's share of the progress.
async fn run_unit_counted(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &SampleUnit,
    database: &[Entry],
    attempts: &Attempts,
) -> (String, UnitOutcome) {
    let share = attempts.for_unit(planned_attempts(ctx, options, unit, database));
    let outcome = run_unit(ctx, options, unit, database, &share).await;
    share.finish();
    (unit.id.clone(), outcome)
}

async fn run_unit(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &SampleUnit,
    database: &[Entry],
    attempts: &UnitAttempts<'_>,
) -> UnitOutcome {
    let mut outcome = UnitOutcome::default();
    let concurrency = concurrency(ctx, options, unit);
    let interfaces = login_interfaces(&ctx.profile);
    let targets: Vec<Target> = interfaces
        .iter()
        .map(|interface| target_for(options, unit, interface))
        .collect();
    let wants = |check: &str| ctx.is_pending(check, Some(&unit.id));
    if !start_unit_checks(ctx, unit).await {
        return outcome;
    }
    // The positive control of every interface, before any guessing can lock the unit.
    let controls = run_controls(
        ctx,
        options,
        unit,
        &interfaces,
        &targets,
        attempts,
        &mut outcome,
    )
    .await;
    // Default and well-known credentials.
    let defaults = Round {
        candidates: targets
            .iter()
            .map(|target| default_candidates(options, target.protocol, database))
            .collect(),
        concurrency,
        progress: |target, count| format!("{}: trying {count} default credentials", target.label()),
    };
    let default_reports =
        guess_round(ctx, &targets, &controls, defaults, attempts, &mut outcome).await;
    // Empty passwords and anonymous logins.
    let empty = Round {
        candidates: targets
            .iter()
            .map(|target| empty_candidates(target.protocol))
            .collect(),
        concurrency: 1,
        progress: |target, _| format!("{}: trying empty passwords", target.label()),
    };
    let empty_reports = guess_round(ctx, &targets, &controls, empty, attempts, &mut outcome).await;
    let earlier = earlier_refusals(&controls, default_reports.iter().chain(&empty_reports));

    let entries = |reports: Vec<Option<GuessReport>>| -> Vec<Guessed> {
        interfaces
            .iter()
            .zip(&targets)
            .zip(&controls)
            .zip(reports)
            .map(|(((interface, target), control), report)| Guessed {
                interface,
                target,
                control,
                report,
            })
            .collect()
    };
    if wants(DEFAULT_CREDENTIAL) {
        ctx.emit(decide_guessing(
            DEFAULT_CREDENTIAL,
            unit,
            &entries(default_reports),
            "default or well-known credential",
        ))
        .await;
    }
    if wants(EMPTY_PASSWORD) {
        ctx.emit(decide_guessing(
            EMPTY_PASSWORD,
            unit,
            &entries(empty_reports),
            "login with an empty password or none",
        ))
        .await;
    }

    if wants(BRUTE_FORCE) {
        let interfaces: Vec<(&LoginInterface, &Target, &Control)> = interfaces
            .iter()
            .zip(&targets)
            .zip(&controls)
            .map(|((i, t), c)| (i, t, c))
            .collect();
        let result =
            brute_force(ctx, options, unit, &interfaces, &outcome, earlier, attempts).await;
        ctx.emit(result).await;
    }
    read_missing_host_keys(ctx, &targets, &mut outcome).await;
    outcome
}

/// Starts the unit's checks (all but the comparison across units); a unit out of scope
/// gets every one of them INCONCLUSIVE at once. Whether the unit is in scope.
async fn start_unit_checks(ctx: &RunContext, unit: &SampleUnit) -> bool {
    let wants = |check: &str| ctx.is_pending(check, Some(&unit.id));
    for check in checks::ALL.iter().filter(|c| **c != SHARED_ACROSS_UNITS) {
        if wants(check) {
            ctx.started(check, Some(&unit.id)).await;
        }
    }
    let Err(out_of_scope) = ctx.scope.check(unit.address) else {
        return true;
    };
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
    false
}

/// The control of every interface (its declared credentials, then a random login),
/// recording in `outcome` the host keys seen, the password logins and the interfaces
/// the control proved.
async fn run_controls(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &SampleUnit,
    interfaces: &[LoginInterface],
    targets: &[Target],
    attempts: &UnitAttempts<'_>,
    outcome: &mut UnitOutcome,
) -> Vec<Control> {
    let mut controls = Vec::new();
    for (interface, target) in interfaces.iter().zip(targets) {
        let declared = declared_credentials(ctx, options, &unit.id, interface);
        attempts
            .start(
                ctx,
                declared.len() as u64 + 1,
                format!("{}: control logins", target.label()),
            )
            .await;
        let control = control(ctx, target, declared).await;
        if let Some(key) = &control.host_key {
            outcome
                .host_keys
                .entry(target.port)
                .or_insert_with(|| key.clone());
        }
        if control.judged_a_password() {
            outcome.password_logins.insert(target.port);
        }
        if matches!(control.standing(), Standing::Proven { .. }) {
            outcome.proven.insert(target.port);
        }
        if control
            .declared
            .iter()
            .any(|(_, o)| *o == Outcome::Accepted)
        {
            outcome.declared_opened.insert(target.port);
        }
        controls.push(control);
    }
    controls
}

/// One round of guessing over a unit's interfaces.
struct Round {
    /// The candidates of each interface, in the order of the targets.
    candidates: Vec<Vec<Entry>>,
    /// Logins in flight at once.
    concurrency: usize,
    /// What the progress says when an interface's round starts, given its candidates.
    progress: fn(&Target, usize) -> String,
}

/// Guesses `round`'s candidates on every interface whose control leaves something to
/// guess (a password is judged there and it does not already let anyone in), recording
/// what each unit accepted in `outcome`; the report of each interface, `None` where
/// nothing was guessed.
async fn guess_round(
    ctx: &RunContext,
    targets: &[Target],
    controls: &[Control],
    round: Round,
    attempts: &UnitAttempts<'_>,
    outcome: &mut UnitOutcome,
) -> Vec<Option<GuessReport>> {
    let guessable = |control: &Control| {
        matches!(
            control.standing(),
            Standing::Proven { .. } | Standing::CannotTell(_)
        )
    };
    let mut reports = Vec::new();
    for ((target, control), candidates) in targets.iter().zip(controls).zip(round.candidates) {
        if !guessable(control) {
            attempts.skip(candidates.len() as u64);
            reports.push(None);
            continue;
        }
        attempts
            .start(
                ctx,
                candidates.len() as u64,
                (round.progress)(target, candidates.len()),
            )
            .await;
        let report = guess(ctx, target, &candidates, round.concurrency).await;
        record(outcome, target, &report);
        reports.push(Some(report));
    }
    reports
}

/// Host keys of SSH services not seen yet.
async fn read_missing_host_keys(ctx: &RunContext, targets: &[Target], outcome: &mut UnitOutcome) {
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
}

/// The empty-password candidates of a protocol.
fn empty_candidates(protocol: Protocol) -> Vec<Entry> {
    let anonymous = |source: &str| {
        ad_hoc(
            Login {
                username: None,
                password: String::new(),
            },
            source,
        )
    };
    let mut candidates: Vec<Entry> = EMPTY_PASSWORD_USERS
        .iter()
        .map(|user| ad_hoc(Login::new(user, ""), "empty password"))
        .collect();
    match protocol {
        Protocol::Mqtt => candidates.insert(0, anonymous("anonymous CONNECT")),
        Protocol::Ftp => candidates.insert(0, ad_hoc(Login::new("anonymous", ""), "anonymous FTP")),
        Protocol::Snmp => candidates = vec![anonymous("empty community")],
        _ => {}
    }
    candidates
}

/// Wrong passwords the unit answered as refused, in the order they were sent (controls,
/// then each guessing run), before it first refused to judge one, and what it said then.
fn earlier_refusals<'a>(
    controls: &[Control],
    reports: impl Iterator<Item = &'a Option<GuessReport>>,
) -> bruteforce::Earlier {
    let mut earlier = bruteforce::Earlier::default();
    let outcomes = controls.iter().map(|c| &c.random_outcome).chain(
        reports
            .flatten()
            .flat_map(|r| r.tried.iter().map(|t| &t.outcome)),
    );
    for outcome in outcomes {
        match outcome {
            Outcome::Refused => earlier.refused_before_limit += 1,
            Outcome::Throttled(reason) => {
                earlier.limit = Some(reason.clone());
                break;
            }
            _ => {}
        }
    }
    earlier
}

fn record(outcome: &mut UnitOutcome, target: &Target, report: &GuessReport) {
    for tried in &report.tried {
        outcome.tried.insert(
            (target.port, tried.credential.clone()),
            tried.outcome.clone(),
        );
    }
    for finding in &report.accepted {
        outcome
            .accepted
            .insert((target.port, finding.entry.login.clone()), target.label());
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
            outcome
                .host_keys
                .entry(target.port)
                .or_insert_with(|| key.clone());
        }
    }
}

/// The verdict of a guessing check over every login interface of a unit: FAIL on any
/// finding; otherwise PASS only when every interface was judged under its positive
/// control (or offers no password login), INCONCLUSIVE naming each one that was not.
fn decide_guessing(check: &str, unit: &SampleUnit, entries: &[Guessed], what: &str) -> CheckResult {
    let rows: Vec<ServiceRow> = entries.iter().map(row).collect();
    let table = Evidence::json(format!("{} login attempts {}", check, unit.id), &rows);
    let attempts: Vec<_> = entries
        .iter()
        .map(|e| (e.target.label(), e.report.as_ref().map(|r| &r.tried)))
        .collect();
    let attempt_table = Evidence::json(format!("every attempt {}", unit.id), &attempts);
    let mut findings = Vec::new();
    let mut proven = Vec::new();
    let mut excluded = Vec::new();
    let mut undecided = Vec::new();
    for entry in entries {
        match judge_interface(entry) {
            Judged::Findings(list) => findings.extend(list),
            Judged::Proven(text) => proven.push(text),
            Judged::Excluded(text) => excluded.push(text),
            Judged::Inconclusive(text) => undecided.push(text),
        }
    }
    let excluded_note = if excluded.is_empty() {
        String::new()
    } else {
        format!(" No password login: {}.", excluded.join("; "))
    };
    let mut result = if !findings.is_empty() {
        let not_decided = if undecided.is_empty() {
            String::new()
        } else {
            format!(" Not decided: {}.", undecided.join("; "))
        };
        let mut result = CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Fail,
            format!(
                "The unit accepted a {what}: {}.{not_decided}",
                findings.join(", ")
            ),
        );
        for entry in entries {
            if let Some(report) = &entry.report {
                for finding in &report.accepted {
                    result = result.with_evidence(finding.transcript.clone());
                }
            }
            if let Some(transcript) = &entry.control.random_transcript {
                result = result.with_evidence(transcript.clone());
            }
        }
        result
    } else if !undecided.is_empty() {
        let judged = if proven.is_empty() {
            "No login interface could be judged".to_owned()
        } else {
            format!(
                "No {what} was accepted where it was judged ({} interfaces), but {} could not be judged",
                proven.len(),
                undecided.len()
            )
        };
        CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Inconclusive,
            format!("{judged}: {}.{excluded_note}", undecided.join("; ")),
        )
    } else if proven.is_empty() {
        CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Inconclusive,
            format!("No interface offered a password login this suite could judge.{excluded_note}"),
        )
    } else {
        CheckResult::pass(
            check,
            Some(&unit.id),
            format!(
                "No {what} was accepted. {}.{excluded_note}",
                proven.join("; ")
            ),
            Proof::observed(proven.join("; ")),
        )
    };
    if let Some(sample) = entries
        .iter()
        .find_map(|e| e.report.as_ref().and_then(|r| r.sample_transcript.clone()))
    {
        result = result.with_evidence(sample);
    }
    result.with_evidence(table).with_evidence(attempt_table)
}

/// Measure brute-force resistance on the profile's chosen service, or the first login
/// service that judged a password (SSH and telnet first, then the others in
/// [`Protocol::ALL`] order).
async fn brute_force(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &SampleUnit,
    interfaces: &[(&LoginInterface, &Target, &Control)],
    outcome: &UnitOutcome,
    mut earlier: bruteforce::Earlier,
    attempts: &UnitAttempts<'_>,
) -> CheckResult {
    let concurrency = concurrency(ctx, options, unit);
    let (target, control) = match measured_interface(options, interfaces) {
        Ok(chosen) => chosen,
        Err(why) => {
            return CheckResult::new(BRUTE_FORCE, Some(&unit.id), Verdict::Inconclusive, why)
        }
    };
    let (username, right_password) = measured_account(target, control, outcome);
    earlier.judged = match control.standing() {
        Standing::Proven { proof, .. } => Some(format!("on {}, {proof}", target.label())),
        _ => Some(format!("{} refused a random password", target.label())),
    };
    attempts
        .start(
            ctx,
            u64::from(options.brute_force_attempts),
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
    let judgement = bruteforce::judge(&measurement, &earlier);
    let mut result = CheckResult::new(
        BRUTE_FORCE,
        Some(&unit.id),
        judgement.verdict,
        judgement.summary,
    );
    if let Some(proof) = judgement.proof {
        result = result.with_proof(Proof::observed(proof));
    }
    for evidence in judgement.evidence {
        result = result.with_evidence(evidence);
    }
    result
}

/// The interface the brute-force measurement runs on: the profile's
/// `brute_force_service` (by name, else by protocol), or the first by protocol order,
/// among those that judged a random password (SNMP left out: a community has no account
/// to lock). `Err` holds the INCONCLUSIVE summary when there is none.
fn measured_interface<'a>(
    options: &CredentialsOptions,
    interfaces: &'a [(&LoginInterface, &Target, &Control)],
) -> Result<(&'a Target, &'a Control), String> {
    let measurable: Vec<&(&LoginInterface, &Target, &Control)> = interfaces
        .iter()
        .filter(|(interface, _, control)| {
            interface.protocol != Protocol::Snmp
                && matches!(
                    control.standing(),
                    Standing::Proven { .. } | Standing::CannotTell(_)
                )
        })
        .collect();
    let chosen = match &options.brute_force_service {
        Some(service) => measurable
            .iter()
            .find(|(i, _, _)| i.service.eq_ignore_ascii_case(service))
            .or_else(|| {
                let protocol = Protocol::from_service(service).map(|(p, _)| p);
                measurable
                    .iter()
                    .find(|(i, _, _)| Some(i.protocol) == protocol)
            }),
        None => Protocol::ALL
            .iter()
            .find_map(|p| measurable.iter().find(|(i, _, _)| i.protocol == *p)),
    };
    if let Some((_, target, control)) = chosen {
        return Ok((target, control));
    }
    let seen: Vec<String> = interfaces
        .iter()
        .map(|(_, t, c)| format!("{}: {}", t.label(), c.random_outcome.describe()))
        .collect();
    let which = match &options.brute_force_service {
        Some(service) if !measurable.is_empty() => format!(
            "The service chosen for the measurement ([credentials] brute_force_service = {service:?}) did not judge a random password"
        ),
        _ => "No login interface judged a random password".to_owned(),
    };
    Err(format!(
        "{which}, so there is no guessing to measure (SNMP communities have no account to lock): {}.",
        seen.join("; ")
    ))
}

/// The account the measurement guesses on: one whose right password is known on this
/// very interface (declared for it and seen opening it, or found on it), else `admin`;
/// with its right password when known.
fn measured_account(
    target: &Target,
    control: &Control,
    outcome: &UnitOutcome,
) -> (String, Option<String>) {
    let declared = match control.standing() {
        Standing::Proven { by, .. } => control
            .declared
            .iter()
            .find(|(login, o)| *o == Outcome::Accepted && login.password == by)
            .map(|(login, _)| login.clone()),
        _ => None,
    };
    let found = outcome
        .accepted
        .keys()
        .find(|(port, login)| *port == target.port && login.username.is_some())
        .map(|(_, login)| login.clone());
    match declared.or(found) {
        Some(login) => (login.username.unwrap_or_default(), Some(login.password)),
        None => ("admin".to_owned(), None),
    }
}

/// What the comparison learnt before guessing began.
#[derive(Default)]
struct BeforeGuessing {
    /// Declared credentials identical for two units, or of one unit accepted by
    /// another, with the exchanges.
    shared: Vec<String>,
    transcripts: Vec<Evidence>,
    /// Declared credentials compared by digest, one per credential and interface.
    digested: usize,
    /// Declared credentials of one unit refused by its neighbour, whose own declared
    /// credential opened the same interface (a judged comparison), one line each.
    refused: Vec<String>,
    /// Comparisons that decided nothing, and why.
    not_judged: Vec<String>,
    /// Sessions opened with declared credentials, replayed on the other units.
    sessions: SessionComparison,
}

/// Logins that must succeed for the comparison, done before guessing can lock a unit:
/// each unit's declared credentials on its own interfaces (the control, and the web
/// sessions they open, compared by digest and replayed on a neighbouring unit), then
/// each declared credential on the same interface of its neighbouring unit. The declared
/// credentials themselves are compared by digest first, without a login.
async fn before_guessing(ctx: &RunContext, options: &CredentialsOptions) -> BeforeGuessing {
    let mut before = BeforeGuessing::default();
    let interfaces = login_interfaces(&ctx.profile);
    compare_declared_digests(ctx, options, &interfaces, &mut before);
    let (opened, own_opened) = own_declared_logins(ctx, options, &interfaces, &mut before).await;
    declared_on_a_neighbour(ctx, options, &interfaces, &own_opened, &mut before).await;
    before.sessions.compare(ctx, options, &opened).await;
    before
}

/// The declared credentials of the profile's units, with each interface they are
/// declared for.
fn declared_per_interface<'a>(
    ctx: &'a RunContext,
    options: &'a CredentialsOptions,
    interfaces: &'a [LoginInterface],
) -> impl Iterator<Item = (&'a UnitCredential, &'a LoginInterface)> {
    options
        .unit_credentials
        .iter()
        .filter(|credential| ctx.units.iter().any(|u| u.id == credential.unit))
        .flat_map(move |credential| {
            interfaces
                .iter()
                .filter(move |i| declared_for_interface(interfaces, credential, i))
                .map(move |interface| (credential, interface))
        })
}

/// Two units declared with one username and password for one interface share it: found
/// by comparing SHA-256 digests of the length-prefixed username and password, without a
/// login.
fn compare_declared_digests(
    ctx: &RunContext,
    options: &CredentialsOptions,
    interfaces: &[LoginInterface],
    before: &mut BeforeGuessing,
) {
    // (port, digest) -> the units declared with it, in profile order of declaration.
    let mut declared_by: BTreeMap<(u16, String), (&UnitCredential, &LoginInterface, Vec<&str>)> =
        BTreeMap::new();
    for (credential, interface) in declared_per_interface(ctx, options, interfaces) {
        before.digested += 1;
        let digest = secret_digest(&[
            credential.username.as_bytes(),
            credential.password.as_bytes(),
        ]);
        let (_, _, units) = declared_by
            .entry((interface.port, digest))
            .or_insert_with(|| (credential, interface, Vec::new()));
        if !units.contains(&credential.unit.as_str()) {
            units.push(&credential.unit);
        }
    }
    for (credential, interface, units) in declared_by.values() {
        if units.len() >= 2 {
            before.shared.push(format!(
                "{} on port {}/{} is declared identical for {} (equal SHA-256 digests of username and password: shared without a login)",
                credential.username,
                interface.port,
                interface.service,
                units.join(" and ")
            ));
        }
    }
}

/// Each unit's declared credentials on its own interfaces: the web sessions they open
/// (or why none was opened on an HTTP interface, in `before`), and the (unit, port) each
/// unit's own declared credential opened.
async fn own_declared_logins(
    ctx: &RunContext,
    options: &CredentialsOptions,
    interfaces: &[LoginInterface],
    before: &mut BeforeGuessing,
) -> (Vec<OpenedSession>, BTreeSet<(String, u16)>) {
    let mut opened = Vec::new();
    let mut own_opened: BTreeSet<(String, u16)> = BTreeSet::new();
    for credential in &options.unit_credentials {
        let Some(owner) = ctx.units.iter().find(|u| u.id == credential.unit) else {
            continue;
        };
        let login = Login::new(&credential.username, &credential.password);
        for interface in interfaces
            .iter()
            .filter(|i| declared_for_interface(interfaces, credential, i))
        {
            let target = target_for(options, owner, interface);
            let attempt = probe::attempt(ctx, &target, &login).await;
            match (&attempt.outcome, attempt.identity) {
                (Outcome::Accepted, identity) => {
                    own_opened.insert((owner.id.clone(), interface.port));
                    match identity {
                        Some(Identity::Session(session)) => opened.push(OpenedSession {
                            unit: credential.unit.clone(),
                            how: format!(
                                "logging in as {}, the credential declared for it",
                                credential.username
                            ),
                            target,
                            session,
                        }),
                        _ if interface.protocol == Protocol::Http => {
                            before.sessions.not_opened.push(format!(
                                "{}: the declared credential logs in without a session cookie",
                                target.label()
                            ))
                        }
                        _ => {}
                    }
                }
                (Outcome::NoPasswordLogin(_), _) => {}
                (other, _) => {
                    if interface.protocol == Protocol::Http {
                        before.sessions.not_opened.push(format!(
                            "{}: the declared credential was {}",
                            target.label(),
                            other.word()
                        ));
                    }
                }
            }
        }
    }
    (opened, own_opened)
}

/// Each declared credential on the same interface of one other unit, its neighbour in
/// the ring: the next unit in profile order whose own declared credential opened that
/// interface (else the next unit). Accepted is a shared secret (a device that takes any
/// password among them); refused is a judged comparison only where both units' own
/// declared credentials opened the interface.
async fn declared_on_a_neighbour(
    ctx: &RunContext,
    options: &CredentialsOptions,
    interfaces: &[LoginInterface],
    own_opened: &BTreeSet<(String, u16)>,
    before: &mut BeforeGuessing,
) {
    for (credential, interface) in declared_per_interface(ctx, options, interfaces) {
        let opened_on = |unit: &SampleUnit| own_opened.contains(&(unit.id.clone(), interface.port));
        let Some(other) = neighbour(&ctx.units, &credential.unit, opened_on) else {
            continue;
        };
        let login = Login::new(&credential.username, &credential.password);
        let target = target_for(options, other, interface);
        let attempt = probe::attempt(ctx, &target, &login).await;
        let owner_opened = own_opened.contains(&(credential.unit.clone(), interface.port));
        let other_opened = opened_on(other);
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
            Outcome::NoPasswordLogin(_) if !owner_opened => {}
            Outcome::Refused if owner_opened && other_opened => before.refused.push(format!(
                "the credential declared for {} was refused by {} on {}, whose own opened it",
                credential.unit,
                other.id,
                target.label()
            )),
            Outcome::Refused => before.not_judged.push(format!(
                "the credential declared for {} was refused by {} on {}, but {}",
                credential.unit,
                other.id,
                target.label(),
                if owner_opened {
                    format!("no credential declared for {} opened it there, so the refusal proves nothing", other.id)
                } else {
                    format!("it did not open {} itself, so the refusal proves nothing", credential.unit)
                }
            )),
            outcome => before.not_judged.push(format!(
                "the credential declared for {} on {}: {}",
                credential.unit,
                target.label(),
                outcome.describe()
            )),
        }
    }
}

/// The across-units verdict: shared accepted credentials, declared credentials of one
/// unit accepted by another, shared SSH host keys, web sessions of one unit opened by
/// another. PASS only when something was compared and every comparison was judged.
async fn compare_units(
    ctx: &RunContext,
    options: &CredentialsOptions,
    per_unit: &BTreeMap<String, UnitOutcome>,
    before: BeforeGuessing,
) -> CheckResult {
    let BeforeGuessing {
        shared,
        transcripts,
        digested,
        refused,
        not_judged,
        sessions,
    } = before;
    let mut across = AcrossUnits {
        shared,
        transcripts,
        not_judged,
        sessions,
        declared_digested: digested,
        declared_refused: refused,
        accepted_by: BTreeMap::new(),
        guessed_refused: 0,
        keys_by: BTreeMap::new(),
    };
    across.try_guessed_logins(ctx, options, per_unit).await;
    across.compare_host_keys(ctx, per_unit);
    across
        .compare_guessed_sessions(ctx, options, per_unit)
        .await;
    let password_logins = per_unit.values().any(|o| !o.password_logins.is_empty());
    across.verdict(password_logins)
}

/// What the comparison across units found, gathered one kind of secret at a time.
struct AcrossUnits<'a> {
    /// Secrets two units share, one line each.
    shared: Vec<String>,
    /// The exchanges that prove them.
    transcripts: Vec<Evidence>,
    /// Comparisons that decided nothing, and why.
    not_judged: Vec<String>,
    /// Web sessions of one unit compared by digest and replayed on a neighbouring unit.
    sessions: SessionComparison,
    /// Declared credentials compared by digest, one per credential and interface.
    declared_digested: usize,
    /// Declared credentials of one unit refused by its neighbour, whose own opened the
    /// same interface, one line each.
    declared_refused: Vec<String>,
    /// Each (port, login) found by guessing, and the units that accepted it.
    accepted_by: BTreeMap<(u16, Login), Vec<String>>,
    /// Logins found by guessing on one unit and refused by its neighbour, whose declared
    /// credential opened the same port.
    guessed_refused: usize,
    /// Each SSH host key read, and where (`unit-1 port 22`).
    keys_by: BTreeMap<&'a str, Vec<String>>,
}

impl<'a> AcrossUnits<'a> {
    /// Credentials found by guessing on one unit: a login two units accepted is shared
    /// (the sets of accepted logins compared, without a login); each is also tried on
    /// the same port of the unit's neighbour in the ring (the next unit in profile order
    /// whose declared credential opened that port), its answer from guessing there
    /// reused when it met the login.
    async fn try_guessed_logins(
        &mut self,
        ctx: &RunContext,
        options: &CredentialsOptions,
        per_unit: &BTreeMap<String, UnitOutcome>,
    ) {
        for unit in &ctx.units {
            let Some(outcome) = per_unit.get(&unit.id) else {
                continue;
            };
            for ((port, login), label) in &outcome.accepted {
                self.accepted_by
                    .entry((*port, login.clone()))
                    .or_default()
                    .push(unit.id.clone());
                let opened_port = |other: &SampleUnit| {
                    per_unit
                        .get(&other.id)
                        .is_some_and(|o| o.declared_opened.contains(port))
                };
                let Some((other, other_outcome)) = neighbour(&ctx.units, &unit.id, opened_port)
                    .and_then(|other| Some((other, per_unit.get(&other.id)?)))
                else {
                    continue;
                };
                if other_outcome.accepted.contains_key(&(*port, login.clone())) {
                    continue;
                }
                let answer = match other_outcome.tried.get(&(*port, login.clone())) {
                    Some(answer) => answer.clone(),
                    None => {
                        let Some(answer) = self
                            .try_on_other(ctx, options, &unit.id, &other.id, *port, login)
                            .await
                        else {
                            continue;
                        };
                        answer
                    }
                };
                self.judge_guessed_login(login, label, &other.id, other_outcome, *port, answer);
            }
        }
        for ((port, login), units) in &self.accepted_by {
            if units.len() >= 2 {
                self.shared.push(format!(
                    "the credential {} found by guessing on port {port} is accepted by {}",
                    login.display(),
                    units.join(" and ")
                ));
            }
        }
    }

    /// `login`, found on `unit`, tried on `port` of `other`; `None` when `other` or the
    /// port is not in the profile. An acceptance keeps its transcript.
    async fn try_on_other(
        &mut self,
        ctx: &RunContext,
        options: &CredentialsOptions,
        unit: &str,
        other: &str,
        port: u16,
        login: &Login,
    ) -> Option<Outcome> {
        let unit_of_other = ctx.units.iter().find(|u| u.id == *other)?;
        let interface = login_interfaces(&ctx.profile)
            .into_iter()
            .find(|i| i.port == port)?;
        let target = target_for(options, unit_of_other, &interface);
        let attempt = probe::attempt(ctx, &target, login).await;
        if attempt.outcome == Outcome::Accepted {
            self.transcripts
                .push(attempt.transcript.into_evidence(format!(
                    "{} found on {unit}, tried on {other}",
                    login.display()
                )));
        }
        Some(attempt.outcome)
    }

    /// How `other` answered a login found by guessing on another unit (`label`): shared
    /// when accepted, a judged comparison when refused on a port its own declared
    /// credential opened, otherwise not judged.
    fn judge_guessed_login(
        &mut self,
        login: &Login,
        label: &str,
        other: &str,
        other_outcome: &UnitOutcome,
        port: u16,
        answer: Outcome,
    ) {
        match answer {
            Outcome::Accepted => self.shared.push(format!(
                "{} (found by guessing on {label}) is accepted by {other} on port {port}",
                login.display()
            )),
            Outcome::Refused if other_outcome.proven.contains(&port) => {
                self.guessed_refused += 1
            }
            Outcome::Refused => self.not_judged.push(format!(
                "{} (found on {label}) was refused by {other} on port {port}, but no credential declared for {other} opened that port, so the refusal proves nothing",
                login.display()
            )),
            answer => self.not_judged.push(format!(
                "{} (found on {label}) on {other} port {port}: {}",
                login.display(),
                answer.describe()
            )),
        }
    }

    /// SSH host keys: every SSH interface of every unit must show one, and no two the
    /// same.
    fn compare_host_keys(&mut self, ctx: &RunContext, per_unit: &'a BTreeMap<String, UnitOutcome>) {
        let ssh_ports: BTreeSet<u16> = login_interfaces(&ctx.profile)
            .iter()
            .filter(|i| i.protocol == Protocol::Ssh)
            .map(|i| i.port)
            .collect();
        for (unit, outcome) in per_unit {
            for port in &ssh_ports {
                match outcome.host_keys.get(port) {
                    Some(key) => self
                        .keys_by
                        .entry(key)
                        .or_default()
                        .push(format!("{unit} port {port}")),
                    None => self.not_judged.push(format!(
                        "no SSH host key could be read from {unit} port {port}"
                    )),
                }
            }
        }
        for (key, places) in &self.keys_by {
            if places.len() >= 2 {
                self.shared
                    .push(format!("SSH host key {key} on {}", places.join(" and ")));
            }
        }
    }

    /// Sessions that credentials found by guessing opened (services already compared
    /// with a declared credential's session are skipped).
    async fn compare_guessed_sessions(
        &mut self,
        ctx: &RunContext,
        options: &CredentialsOptions,
        per_unit: &BTreeMap<String, UnitOutcome>,
    ) {
        let guessed: Vec<OpenedSession> = per_unit
            .values()
            .flat_map(|outcome| outcome.sessions.iter().cloned())
            .collect();
        if !guessed.is_empty() {
            self.sessions.compare(ctx, options, &guessed).await;
        }
        if !self.sessions.opened_any() {
            self.sessions
                .not_opened
                .push("no credential found by guessing opened a web session".to_owned());
        }
        self.shared.extend(self.sessions.shared.iter().cloned());
        self.transcripts
            .extend(self.sessions.transcripts.iter().cloned());
    }

    /// The check's result from everything compared: FAIL on a shared secret, INCONCLUSIVE
    /// when a comparison was not judged or nothing was compared, else PASS with what was
    /// compared as its proof; with the transcripts and the comparison table as evidence.
    fn verdict(self, password_logins: bool) -> CheckResult {
        let keys_read: usize = self.keys_by.values().map(Vec::len).sum();
        let sessions = &self.sessions;
        let (declared_refused, guessed_refused) = (&self.declared_refused, self.guessed_refused);
        let credentials_compared = declared_refused.len() + guessed_refused;
        let table = Evidence::json("comparison across units", &self.table());
        let compared = format!(
            "{keys_read} SSH host keys are all distinct, {} declared credentials compared by digest (none identical), {} tried live on a neighbouring unit and refused, {guessed_refused} credentials found by guessing were refused by a neighbouring unit, and {}",
            self.declared_digested,
            declared_refused.len(),
            sessions.summary()
        );
        let mut result = if !self.shared.is_empty() {
            CheckResult::new(
                SHARED_ACROSS_UNITS,
                None,
                Verdict::Fail,
                format!(
                    "Secrets are shared between units: {}.",
                    self.shared.join("; ")
                ),
            )
        } else if !self.not_judged.is_empty() || sessions.inconclusive() {
            let mut reasons = self.not_judged.clone();
            if sessions.inconclusive() {
                reasons.push(sessions.summary());
            }
            CheckResult::new(
                SHARED_ACROSS_UNITS,
                None,
                Verdict::Inconclusive,
                format!(
                    "No secret was seen shared, but {} comparisons were not judged: {}.",
                    reasons.len(),
                    reasons.join("; ")
                ),
            )
        } else if password_logins && credentials_compared == 0 {
            CheckResult::new(
                SHARED_ACROSS_UNITS,
                None,
                Verdict::Inconclusive,
                format!("Passwords were not compared: no credential known to open one unit was judged on another (declare each unit's credential in [credentials] unit_credentials); {compared}."),
            )
        } else if credentials_compared + sessions.refused + usize::from(keys_read >= 2) == 0 {
            CheckResult::new(
                SHARED_ACROSS_UNITS,
                None,
                Verdict::Inconclusive,
                format!("Nothing was compared across units: {compared}."),
            )
        } else {
            CheckResult::pass(
                SHARED_ACROSS_UNITS,
                None,
                format!("No credential was accepted by two units, {compared}."),
                Proof::observed(self.proof(keys_read)),
            )
        };
        for transcript in self.transcripts {
            result = result.with_evidence(transcript);
        }
        result.with_evidence(table)
    }

    /// What a PASS rests on: the host keys read, the declared and found credentials
    /// refused, the session cookies refused.
    fn proof(&self, keys_read: usize) -> String {
        let mut proof = Vec::new();
        if keys_read >= 2 {
            proof.push(format!(
                "{keys_read} SSH host keys read, one per unit and port, all distinct"
            ));
        }
        if !self.declared_refused.is_empty() {
            proof.push(format!(
                "{} declared credentials compared by digest, none identical; {} opened their own unit and were refused by a neighbouring unit whose own declared credential opened the same interface",
                self.declared_digested,
                self.declared_refused.len()
            ));
        }
        if self.guessed_refused > 0 {
            proof.push(format!("{} credentials found by guessing were refused by a neighbouring unit whose declared credential opened the same port", self.guessed_refused));
        }
        if self.sessions.refused > 0 {
            proof.push(format!(
                "{} session cookies opened their own unit and were refused by a neighbouring unit",
                self.sessions.refused
            ));
        }
        proof.join("; ")
    }

    /// The comparison table of the evidence.
    fn table(&self) -> Comparison<'_> {
        Comparison {
            accepted_credentials: self
                .accepted_by
                .iter()
                .map(|((port, l), units)| (format!("{port} {}", l.display()), units))
                .collect(),
            ssh_host_keys: &self.keys_by,
            declared_credentials_compared_by_digest: self.declared_digested,
            declared_credentials_refused_by_a_neighbour: &self.declared_refused,
            found_credentials_refused_by_a_neighbour: self.guessed_refused,
            not_judged: &self.not_judged,
            web_sessions: &self.sessions.replays,
            web_sessions_summary: self.sessions.summary(),
        }
    }
}

/// Everything compared across units, as the evidence table shows it.
#[derive(Serialize)]
struct Comparison<'a> {
    accepted_credentials: BTreeMap<String, &'a Vec<String>>,
    ssh_host_keys: &'a BTreeMap<&'a str, Vec<String>>,
    declared_credentials_compared_by_digest: usize,
    declared_credentials_refused_by_a_neighbour: &'a [String],
    found_credentials_refused_by_a_neighbour: usize,
    not_judged: &'a [String],
    web_sessions: &'a [crate::sessions::Replay],
    web_sessions_summary: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DeclaredCredential;
    use iotcert_suite::PlanKey;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A web login's refusal.
    const REFUSAL: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    /// Read a request's head; false when the client left first.
    async fn read_request_head(stream: &mut tokio::net::TcpStream) -> bool {
        let mut head = Vec::new();
        let mut buffer = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        true
    }

    /// An HTTP service that asks for a basic login and refuses every one.
    async fn refusing_http_server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.93.202.1:0")
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if read_request_head(&mut stream).await {
                        let _ = stream.write_all(REFUSAL).await;
                    }
                });
            }
        });
        port
    }

    /// A slow web login on two addresses at one port, refusing every login 100 ms after
    /// its request: when each login arrived, and at which address.
    async fn slow_http_logins_on(
        addresses: [&'static str; 2],
    ) -> (u16, Arc<Mutex<Vec<(usize, Instant)>>>) {
        let first = tokio::net::TcpListener::bind((addresses[0], 0))
            .await
            .unwrap();
        let port = first.local_addr().unwrap().port();
        let second = tokio::net::TcpListener::bind((addresses[1], port))
            .await
            .unwrap();
        let logins = Arc::new(Mutex::new(Vec::new()));
        for (index, listener) in [first, second].into_iter().enumerate() {
            let logins = Arc::clone(&logins);
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let logins = Arc::clone(&logins);
                    tokio::spawn(async move {
                        if !read_request_head(&mut stream).await {
                            return;
                        }
                        logins.lock().unwrap().push((index, Instant::now()));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        let _ = stream.write_all(REFUSAL).await;
                    });
                }
            });
        }
        (port, logins)
    }

    /// `max_candidates` bounds the built-in database, as documented: every default
    /// the profile declares is tried, however many there are.
    #[test]
    fn every_declared_default_is_tried_and_the_database_is_bounded() {
        let declared: Vec<DeclaredCredential> = (0..300)
            .map(|i| DeclaredCredential {
                service: None,
                username: Some("admin".to_owned()),
                password: format!("declared-{i}"),
            })
            .collect();
        let options = CredentialsOptions {
            known_defaults: declared,
            max_candidates: 7,
            ..CredentialsOptions::default()
        };
        let database = database::built_in();
        let candidates = default_candidates(&options, Protocol::Http, &database);
        let from_profile = candidates
            .iter()
            .filter(|e| e.login.password.starts_with("declared-"))
            .count();
        assert_eq!(from_profile, 300);
        assert_eq!(candidates.len(), 300 + 7);
    }

    /// Issue 16, item 4: units are tried side by side, so a campaign grows with its
    /// slowest unit, not with the sum of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn units_are_tried_side_by_side() {
        let (port, logins) = slow_http_logins_on(["127.93.204.1", "127.93.204.2"]).await;
        let profile = Profile::from_toml_str(&format!(
            "[device]\nmanufacturer = \"T\"\nmodel = \"M\"\nfirmware_version = \"1\"\n\
             [[units]]\nid = \"unit-1\"\naddress = \"127.93.204.1\"\n\
             [[units]]\nid = \"unit-2\"\naddress = \"127.93.204.2\"\n\
             [[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"http\"\nauthentication = \"password\"\n\
             [credentials]\nmax_candidates = 5\nconcurrency = 1\n"
        ))
        .unwrap();
        let pending = ["unit-1", "unit-2"]
            .iter()
            .map(|unit| PlanKey::new(DEFAULT_CREDENTIAL, Some(unit)))
            .collect();
        iotcert_suite_testkit::run_pending(
            &CredentialsSuite::new(),
            profile,
            pending,
            Duration::from_secs(120),
        )
        .await;
        let logins = logins.lock().unwrap().clone();
        let span = |unit: usize| {
            let times: Vec<Instant> = logins
                .iter()
                .filter(|(index, _)| *index == unit)
                .map(|(_, at)| *at)
                .collect();
            (*times.iter().min().unwrap(), *times.iter().max().unwrap())
        };
        let (first_start, first_end) = span(0);
        let (second_start, second_end) = span(1);
        assert!(
            second_start < first_end && first_start < second_end,
            "one unit's logins ended before the other's began: {logins:?}"
        );
    }

    #[tokio::test]
    async fn progress_counts_the_planned_login_attempts() {
        let port = refusing_http_server().await;
        let profile = Profile::from_toml_str(&format!(
            "[device]\nmanufacturer = \"T\"\nmodel = \"M\"\nfirmware_version = \"1\"\n\
             [[units]]\nid = \"unit-1\"\naddress = \"127.93.202.1\"\n\
             [[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"http\"\nauthentication = \"password\"\n\
             [credentials]\nmax_candidates = 5\nbrute_force_attempts = 5\n"
        ))
        .unwrap();
        let pending = [DEFAULT_CREDENTIAL, EMPTY_PASSWORD, BRUTE_FORCE]
            .iter()
            .map(|check| PlanKey::new(check, Some("unit-1")))
            .collect();
        let progress = iotcert_suite_testkit::run_pending(
            &CredentialsSuite::new(),
            profile,
            pending,
            Duration::from_secs(120),
        )
        .await
        .progress();
        // 1 control login, 5 default credentials, 4 empty passwords, 5 wrong passwords.
        assert_eq!(
            progress,
            [(0, 15), (1, 15), (6, 15), (10, 15)],
            "each step starts where the one before ended"
        );
    }
}
