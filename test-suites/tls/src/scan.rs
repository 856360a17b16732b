//! The server-side inspection of one TLS port: versions, suites per version, server
//! preference, key exchange, renegotiation, compression, fallback protection, Heartbleed
//! and the certificate chain, gathered into one [`EndpointScan`] the verdicts read.
//!
//! Versions are probed in parallel; suites are enumerated per version by offering every
//! code point of the registry ([`ciphers::REGISTRY`]), one part of at most
//! [`ciphers::HELLO_CHUNK`] at a time, and removing the one the server picks until it
//! refuses the rest of the part, so a port costs about one connection per accepted suite
//! plus one per part. Every loop is bounded by the length of the registry, and
//! Heartbleed is probed at most once per port.
//!
//! What a PASS may rest on is recorded as well: whether a full handshake completed
//! ([`EndpointScan::handshake`]), whether each version's enumeration ended with the
//! server's refusal ([`VersionScan::enumerated`]), and which probes could not be decided.

use crate::certificate::{self, CapturedChain};
use crate::ciphers;
use crate::probe::{self, Answer, Exchange, ProbeError, Target};
use crate::wire::{self, HelloSpec, KeyExchangeParameters, ServerFlight};
use iotcert_suite::net::NetError;
use iotcert_suite::Transcript;
use serde::Serialize;
use std::collections::BTreeMap;

/// The pause before a version is asked again alone, after a parallel probe was closed.
const ALONE_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// What one accepted version offers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VersionScan {
    /// Accepted suites, in the order the server picked them.
    pub suites: Vec<u16>,
    /// Whether the server's preference wins over the client's (None with fewer than two suites).
    pub server_preference: Option<bool>,
    /// The enumeration ended with the server refusing what was left, so `suites` is
    /// every suite of the registry it accepts in this version; false when it was cut.
    pub enumerated: bool,
}

/// The result of the fallback (downgrade) probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Fallback {
    /// Only one version is offered: nothing to fall back to.
    SingleVersion,
    /// The fallback hello was refused with inappropriate_fallback, or the ServerHello
    /// carried the TLS 1.3 downgrade sentinel.
    Protected { from: u16, to: u16 },
    /// The server accepted a fallback hello marked with TLS_FALLBACK_SCSV.
    Accepted { from: u16, to: u16 },
    /// Could not be probed.
    Undecided { reason: String },
}

/// The result of the Heartbleed probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Heartbleed {
    /// The server does not agree to heartbeats: nothing to exploit.
    NoHeartbeat,
    /// It agrees, and answered the over-long request with an alert, silence or a close.
    NotVulnerable,
    /// It answered the over-long request with this many bytes of heartbeat payload.
    Vulnerable {
        leaked_bytes: usize,
    },
    Undecided {
        reason: String,
    },
}

/// Everything learned about one port.
#[derive(Debug, Default, Serialize)]
pub struct EndpointScan {
    pub port: u16,
    /// At least one probe connected and read an answer (TLS or not): the port was reached.
    pub reached: bool,
    /// The positive control of the port: how a handshake was seen to complete (a full
    /// rustls handshake, or for suites rustls cannot speak, the server's first flight read
    /// to ServerHelloDone with its certificate). None: nothing a PASS could rest on.
    pub handshake: Option<String>,
    /// Why the port could not be inspected at all; every check is then INCONCLUSIVE.
    pub unreachable: Option<String>,
    /// Probes that met a hostile or unreadable answer (the scan goes on without them).
    pub problems: Vec<String>,
    /// Accepted versions and their suites.
    pub versions: BTreeMap<u16, VersionScan>,
    /// Versions whose probe could not be decided.
    pub undecided_versions: Vec<u16>,
    /// Key exchange parameters seen, per suite.
    pub key_exchanges: Vec<(u16, KeyExchangeParameters)>,
    /// TLS 1.3 key share groups the server chose.
    pub tls13_groups: Vec<u16>,
    /// Weak elliptic curves (under 256 bits) the server accepted when only they were offered.
    pub weak_groups_accepted: Vec<u16>,
    /// Why the weak-curve probe could not be decided.
    pub weak_groups_undecided: Option<String>,
    /// TLS 1.2 and older: the server answered renegotiation_info (RFC 5746).
    pub secure_renegotiation: Option<bool>,
    /// TLS 1.2 and older: the compression method picked when DEFLATE was offered.
    pub compression: Option<u8>,
    pub fallback: Option<Fallback>,
    pub heartbleed: Option<Heartbleed>,
    #[serde(skip)]
    pub chain: Option<CapturedChain>,
    /// Readable transcripts of the probes that show a finding, by label.
    #[serde(skip)]
    pub transcripts: BTreeMap<String, Exchange>,
}

impl EndpointScan {
    /// Whether any version was accepted.
    pub fn speaks_tls(&self) -> bool {
        !self.versions.is_empty()
    }

    /// Versions whose suites were not enumerated to the server's refusal.
    pub fn unenumerated_versions(&self) -> Vec<u16> {
        self.versions
            .iter()
            .filter(|(_, scan)| !scan.enumerated)
            .map(|(version, _)| *version)
            .collect()
    }

    /// The accepted versions, oldest first.
    pub fn accepted_versions(&self) -> Vec<u16> {
        self.versions.keys().copied().collect()
    }

    /// Every accepted suite with the version it was accepted in.
    pub fn accepted_suites(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.versions
            .iter()
            .flat_map(|(version, scan)| scan.suites.iter().map(move |suite| (*version, *suite)))
    }

    /// A transcript of a recorded exchange, as evidence.
    pub fn transcript(&self, label: &str) -> Option<Transcript> {
        let exchange = self.transcripts.get(label)?;
        let mut transcript = Transcript::new();
        transcript.sent(&exchange.sent);
        transcript.received(&exchange.received);
        if let Some(heartbeat) = &exchange.heartbeat {
            transcript.remark("heartbeat request with payload_length 16384 and 1 byte of payload");
            transcript.received(heartbeat);
        }
        Some(transcript)
    }
}

/// The name the unit is expected to carry: its hostname, or its address.
pub fn server_name(target: &Target<'_>) -> Option<String> {
    target.unit.hostname.clone()
}

/// Inspects one port.
pub async fn scan_endpoint(target: Target<'_>) -> EndpointScan {
    let mut scan = EndpointScan {
        port: target.port,
        ..EndpointScan::default()
    };
    let name = server_name(&target);

    // 1. Which versions answer, in parallel; TLS 1.2 and older also offer DEFLATE and
    //    heartbeats, so compression, renegotiation and the heartbeat extension come free.
    let (answers, closed_without_alert) = probe_versions(target, &name).await;
    let found = record_version_answers(&mut scan, answers);
    if scan.versions.is_empty() {
        scan.unreachable = why_unreachable(&scan, &found);
        return scan;
    }
    if !closed_without_alert.is_empty() {
        confirm_refusals_by_close(
            target,
            &mut scan,
            closed_without_alert,
            &found.first_choices,
            &name,
        )
        .await;
    }

    // 2. Suites per version, preference, key exchange; in parallel over versions.
    let versions = scan.accepted_versions();
    enumerate_accepted_suites(target, &mut scan, &versions, &found.first_choices, &name).await;

    // 3. The probes that depend on what was found, in parallel.
    probe_what_was_found(target, &mut scan, &versions, &found, &name).await;
    scan
}

/// A version probe's answer.
type VersionAnswer = (u16, Result<Exchange, ProbeError>);

/// Every version asked in parallel. A close without an alert or a reset, beside parallel
/// probes, may be a connection limit rather than a refusal: such a version is asked
/// again, alone. The answers, and the versions a close without an alert still refused.
async fn probe_versions(
    target: Target<'_>,
    name: &Option<String>,
) -> (Vec<VersionAnswer>, Vec<u16>) {
    let probes = wire::ALL_VERSIONS.map(|version| {
        let name = name.clone();
        async move { (version, probe_version(target, version, name).await) }
    });
    let mut answers = futures::future::join_all(probes).await;
    let mut closed_without_alert = Vec::new();
    for (version, answer) in answers.iter_mut() {
        let reset = matches!(
            answer,
            Err(ProbeError::Network(NetError::Reset | NetError::Refused))
        );
        if reset || is_close_without_alert(answer) {
            // A moment for the device to free the connection it was busy with.
            tokio::time::sleep(ALONE_PAUSE).await;
            *answer = probe_version(target, *version, name.clone()).await;
            if is_close_without_alert(answer) {
                closed_without_alert.push(*version);
            }
        }
    }
    (answers, closed_without_alert)
}

/// What the version probes showed beyond the accepted versions, for the later steps.
#[derive(Default)]
struct VersionAnswers {
    network_errors: Vec<String>,
    not_tls: Vec<String>,
    /// The most complete first flight of TLS 1.2 or older: where the chain comes from
    /// when no full handshake completes.
    legacy_flight: Option<ServerFlight>,
    /// A version whose ServerHello agreed to heartbeats.
    heartbeat_agreed: Option<u16>,
    /// The suite each accepted version chose from the full offer.
    first_choices: BTreeMap<u16, u16>,
}

/// Records each version's answer in `scan`: accepted versions, undecided ones and why,
/// and what TLS 1.2-or-older ServerHellos said of renegotiation, compression and
/// heartbeats.
fn record_version_answers(scan: &mut EndpointScan, answers: Vec<VersionAnswer>) -> VersionAnswers {
    let mut found = VersionAnswers::default();
    for (version, answer) in answers {
        if !matches!(answer, Err(ProbeError::Network(_))) {
            scan.reached = true;
        }
        match answer {
            Err(ProbeError::Network(error)) => {
                found
                    .network_errors
                    .push(format!("{}: {error}", wire::version_name(version)));
                scan.undecided_versions.push(version);
            }
            Err(ProbeError::NotTls(why)) => {
                found.not_tls.push(why);
                scan.undecided_versions.push(version);
            }
            Err(error @ ProbeError::Hostile(_)) => {
                scan.problems
                    .push(format!("{} probe: {error}", wire::version_name(version)));
                scan.undecided_versions.push(version);
            }
            Ok(exchange) => record_accepted_version(scan, &mut found, version, &exchange),
        }
    }
    found
}

/// A version probe that was answered: when the ServerHello is of `version`, the version
/// is accepted, and a TLS 1.2-or-older hello tells renegotiation, compression and
/// heartbeats.
fn record_accepted_version(
    scan: &mut EndpointScan,
    found: &mut VersionAnswers,
    version: u16,
    exchange: &Exchange,
) {
    let Answer::Hello(flight) = &exchange.answer else {
        return;
    };
    let Some(hello) = flight.server_hello.as_ref() else {
        return;
    };
    if hello.version != version {
        return;
    }
    scan.versions.insert(version, VersionScan::default());
    found.first_choices.insert(version, hello.cipher_suite);
    if version < wire::TLS13 {
        scan.secure_renegotiation =
            Some(scan.secure_renegotiation.unwrap_or(true) && hello.secure_renegotiation);
        if hello.compression != 0 || scan.compression.is_none() {
            scan.compression = Some(hello.compression);
        }
        if hello.heartbeat {
            found.heartbeat_agreed = Some(version);
        }
        let complete = |f: &ServerFlight| f.hello_done && !f.certificates.is_empty();
        let better = match &found.legacy_flight {
            None => true,
            Some(kept) => {
                // Versions come oldest first: the highest wins a tie.
                (complete(flight), !flight.certificates.is_empty())
                    >= (complete(kept), !kept.certificates.is_empty())
            }
        };
        if better {
            found.legacy_flight = Some(flight.clone());
        }
    }
    scan.transcripts.insert(
        format!("{} hello", wire::version_name(version)),
        exchange.clone(),
    );
}

/// Why a port that accepted no version could not be inspected, when it says why.
fn why_unreachable(scan: &EndpointScan, found: &VersionAnswers) -> Option<String> {
    if !found.network_errors.is_empty() && found.not_tls.is_empty() {
        Some(format!(
            "no TLS answer: {}",
            found.network_errors.join("; ")
        ))
    } else if let Some(why) = found.not_tls.first() {
        Some(format!("the port does not speak TLS: {why}"))
    } else if !scan.problems.is_empty() {
        Some(format!(
            "no readable TLS answer: {}",
            scan.problems.join("; ")
        ))
    } else {
        None
    }
}

/// The refusals by a close count only when the server, asked at once for a version and
/// suite it accepted, still accepts them; otherwise those versions are undecided.
async fn confirm_refusals_by_close(
    target: Target<'_>,
    scan: &mut EndpointScan,
    closed_without_alert: Vec<u16>,
    first_choices: &BTreeMap<u16, u16>,
    name: &Option<String>,
) {
    let control = scan
        .versions
        .keys()
        .next_back()
        .map(|version| (*version, first_choices.get(version).copied()));
    if let Some((accepted, suite)) = control {
        if let Some(why) = refusal_unconfirmed(target, accepted, suite, name).await {
            for version in closed_without_alert {
                scan.undecided_versions.push(version);
                scan.problems.push(format!(
                    "{} was refused by a close without an alert, and {why}",
                    wire::version_name(version)
                ));
            }
        }
    }
}

/// The suites of every accepted version enumerated in parallel, with the server's
/// preference and the key exchanges seen, recorded in `scan`.
async fn enumerate_accepted_suites(
    target: Target<'_>,
    scan: &mut EndpointScan,
    versions: &[u16],
    first_choices: &BTreeMap<u16, u16>,
    name: &Option<String>,
) {
    let enumerations = versions.iter().map(|version| {
        let first_choice = first_choices.get(version).copied();
        enumerate_suites(target, *version, first_choice, name.clone())
    });
    for (version, enumeration) in versions
        .iter()
        .zip(futures::future::join_all(enumerations).await)
    {
        scan.key_exchanges.extend(enumeration.key_exchanges);
        scan.tls13_groups.extend(enumeration.tls13_groups);
        if let Some(why) = &enumeration.cut_short {
            scan.problems
                .push(format!("suites of {}: {why}", wire::version_name(*version)));
        }
        if let Some(entry) = scan.versions.get_mut(version) {
            entry.suites = enumeration.suites;
            entry.server_preference = enumeration.server_preference;
            entry.enumerated = enumeration.cut_short.is_none();
        }
    }
    scan.tls13_groups.sort_unstable();
    scan.tls13_groups.dedup();
}

/// The probes that depend on what was found (weak curves, fallback, Heartbleed, the
/// certificate chain), in parallel, recorded in `scan` with the port's positive control.
async fn probe_what_was_found(
    target: Target<'_>,
    scan: &mut EndpointScan,
    versions: &[u16],
    found: &VersionAnswers,
    name: &Option<String>,
) {
    let (weak_groups, fallback, heartbleed, chain) = futures::join!(
        weak_group_probe(target, scan, name.clone()),
        fallback_probe(target, scan, name.clone()),
        heartbleed_probe(target, scan, found.heartbeat_agreed, name.clone()),
        certificate::capture_chain(target, versions, found.legacy_flight.as_ref()),
    );
    match weak_groups {
        Ok(groups) => scan.weak_groups_accepted = groups,
        Err(why) => scan.weak_groups_undecided = Some(why),
    }
    let (fallback, fallback_exchange) = fallback;
    scan.fallback = Some(fallback);
    if let Some(exchange) = fallback_exchange {
        scan.transcripts.insert("fallback".to_owned(), exchange);
    }
    let (heartbleed, heartbleed_exchange) = heartbleed;
    scan.heartbleed = Some(heartbleed);
    if let Some(exchange) = heartbleed_exchange {
        scan.transcripts.insert("heartbleed".to_owned(), exchange);
    }
    scan.handshake = handshake_seen(&chain, found.legacy_flight.as_ref());
    scan.chain = Some(chain);
}

/// The port's positive control: the full handshake that captured the chain, or else a
/// TLS 1.2-or-older first flight read to ServerHelloDone with its certificates.
fn handshake_seen(chain: &CapturedChain, legacy_flight: Option<&ServerFlight>) -> Option<String> {
    chain.handshake.clone().or_else(|| {
        let flight = legacy_flight.filter(|f| f.hello_done && !f.certificates.is_empty())?;
        let hello = flight.server_hello.as_ref()?;
        Some(format!(
            "{} first flight read to ServerHelloDone ({} chosen, {} certificate(s)); no full handshake: {}",
            wire::version_name(hello.version),
            ciphers::name(hello.cipher_suite),
            flight.certificates.len(),
            chain
                .problem
                .as_deref()
                .unwrap_or("no TLS 1.2 or 1.3 suite that rustls speaks"),
        ))
    })
}

struct Enumeration {
    suites: Vec<u16>,
    server_preference: Option<bool>,
    key_exchanges: Vec<(u16, KeyExchangeParameters)>,
    tls13_groups: Vec<u16>,
    /// Why the enumeration did not end with the server's refusal of what was left.
    cut_short: Option<String>,
}

/// Offers every code point in `version`, removes the one picked, and repeats until the
/// server refuses what is left. `first_choice` is the suite the version probe got for
/// the same offer: an enumeration that never meets it was not answered consistently.
async fn enumerate_suites(
    target: Target<'_>,
    version: u16,
    first_choice: Option<u16>,
    name: Option<String>,
) -> Enumeration {
    let mut enumeration = Enumeration {
        suites: Vec::new(),
        server_preference: None,
        key_exchanges: Vec::new(),
        tls13_groups: Vec::new(),
        cut_short: None,
    };
    for mut remaining in ciphers::offer_chunks() {
        // Bounded by the part: each round removes one suite or stops.
        for _ in 0..=remaining.len() {
            if remaining.is_empty() {
                break;
            }
            let spec = HelloSpec::new(version, remaining.clone(), name.clone());
            let answer = match probe::send_hello(target, &spec, false).await {
                // One more try for a server that was busy: a silent answer is not a refusal.
                Err(ProbeError::Network(_)) => probe::send_hello(target, &spec, false).await,
                other => other,
            };
            let exchange = match answer {
                Ok(exchange) => exchange,
                Err(error) => {
                    enumeration.cut_short = Some(format!(
                        "cut after {} accepted suites: {error}",
                        enumeration.suites.len()
                    ));
                    return enumeration;
                }
            };
            let Some((suite, flight)) = picked(&exchange, version) else {
                // The positive control of the refusal: the server, right after it,
                // still accepts a suite it accepted before. A server that stopped
                // answering (a connection or rate limit) would refuse that too.
                if let Some(why) = refusal_unconfirmed(target, version, first_choice, &name).await {
                    enumeration.cut_short = Some(format!(
                        "cut after {} accepted suites: {why}",
                        enumeration.suites.len()
                    ));
                    return enumeration;
                }
                break;
            };
            if !remaining.contains(&suite) {
                enumeration.cut_short = Some(format!(
                    "the server chose {}, which was not offered",
                    ciphers::label(suite)
                ));
                return enumeration;
            }
            remaining.retain(|offered| *offered != suite);
            enumeration.suites.push(suite);
            record_key_exchange(&mut enumeration, suite, &flight);
        }
    }
    if let Some(first) = first_choice.filter(|s| !enumeration.suites.contains(s)) {
        enumeration.cut_short = Some(format!(
            "the server accepted {} when the version was probed, but refused it while its suites were enumerated",
            ciphers::label(first)
        ));
        return enumeration;
    }
    if enumeration.suites.len() >= 2 {
        // The same accepted suites in both orders: the server's preference wins when it
        // picks the same one both times.
        let forward: Vec<u16> = enumeration
            .suites
            .iter()
            .copied()
            .take(ciphers::HELLO_CHUNK)
            .collect();
        let reversed: Vec<u16> = forward.iter().rev().copied().collect();
        let forward = HelloSpec::new(version, forward, name.clone());
        let reversed = HelloSpec::new(version, reversed, name);
        let (first, second) = futures::join!(
            probe::send_hello(target, &forward, false),
            probe::send_hello(target, &reversed, false),
        );
        if let (Ok(first), Ok(second)) = (first, second) {
            enumeration.server_preference = picked(&first, version)
                .zip(picked(&second, version))
                .map(|((a, _), (b, _))| a == b);
        }
    }
    enumeration
}

/// Whether a version probe ended with the connection closed (or reset) before any
/// ServerHello or alert.
fn is_close_without_alert(answer: &Result<Exchange, ProbeError>) -> bool {
    matches!(
        answer,
        Ok(Exchange {
            answer: Answer::Refused(None),
            ..
        })
    )
}

/// Why a refusal (of a version, or of the rest of a part of the registry) cannot be
/// trusted, or `None` when the server, asked again at once for `control` in `version` (a
/// suite it accepted when the version was probed), accepted it.
async fn refusal_unconfirmed(
    target: Target<'_>,
    version: u16,
    control: Option<u16>,
    name: &Option<String>,
) -> Option<String> {
    let Some(control) = control else {
        return Some("no suite known to be accepted to confirm the refusal with".to_owned());
    };
    let spec = HelloSpec::new(version, vec![control], name.clone());
    match probe::send_hello(target, &spec, false).await {
        Ok(exchange) if picked(&exchange, version).map(|(s, _)| s) == Some(control) => None,
        Ok(_) => Some(format!(
            "asked again at once, the server refused {} in {}, which it had accepted: its refusals prove nothing",
            ciphers::label(control),
            wire::version_name(version)
        )),
        Err(error) => Some(format!(
            "asked again at once, the server did not answer a {} hello it had accepted: {error}",
            wire::version_name(version)
        )),
    }
}

/// What a follow-up probe of `version` offers: the suites it was seen to accept (one
/// hello's worth), or the first part of the registry when none was recorded.
fn suites_to_offer(scan: &EndpointScan, version: u16) -> Vec<u16> {
    let accepted: Vec<u16> = scan
        .versions
        .get(&version)
        .map(|v| {
            v.suites
                .iter()
                .copied()
                .take(ciphers::HELLO_CHUNK)
                .collect()
        })
        .unwrap_or_default();
    if accepted.is_empty() {
        ciphers::offer_chunks()
            .into_iter()
            .next()
            .unwrap_or_default()
    } else {
        accepted
    }
}

/// Offers `version` one part of the registry after another, until a part is accepted
/// (a ServerHello of that version) or every part was refused; a probe that cannot be
/// decided ends it at once.
async fn probe_version(
    target: Target<'_>,
    version: u16,
    name: Option<String>,
) -> Result<Exchange, ProbeError> {
    let mut last = None;
    for chunk in ciphers::offer_chunks() {
        let mut spec = HelloSpec::new(version, chunk, name.clone());
        if version < wire::TLS13 {
            spec.offer_compression = true;
            spec.offer_heartbeat = true;
        }
        let exchange = probe::send_hello(target, &spec, false).await?;
        if picked(&exchange, version).is_some() {
            return Ok(exchange);
        }
        last = Some(exchange);
    }
    last.ok_or_else(|| ProbeError::Hostile("the registry offered nothing".to_owned()))
}

/// The suite a ServerHello of `version` picked, with its flight.
fn picked(exchange: &Exchange, version: u16) -> Option<(u16, ServerFlight)> {
    let Answer::Hello(flight) = &exchange.answer else {
        return None;
    };
    let hello = flight.server_hello.as_ref()?;
    (hello.version == version).then(|| (hello.cipher_suite, flight.clone()))
}

fn record_key_exchange(enumeration: &mut Enumeration, suite: u16, flight: &ServerFlight) {
    if let Some(group) = flight.server_hello.as_ref().and_then(|h| h.key_share_group) {
        enumeration.tls13_groups.push(group);
    }
    let properties = ciphers::properties(suite);
    if !(properties.ephemeral_ec || properties.ephemeral_dh) {
        return;
    }
    if let Some(parameters) = flight
        .server_key_exchange
        .as_deref()
        .and_then(|body| wire::key_exchange_parameters(body, properties.ephemeral_ec))
    {
        enumeration.key_exchanges.push((suite, parameters));
    }
}

/// Offers only curves under 256 bits with every ECDHE suite the server accepted: the
/// weak curves it agrees to, or why the probe could not tell.
async fn weak_group_probe(
    target: Target<'_>,
    scan: &EndpointScan,
    name: Option<String>,
) -> Result<Vec<u16>, String> {
    let Some((version, suites)) = scan
        .versions
        .iter()
        .rev()
        .filter(|(version, _)| **version < wire::TLS13)
        .map(|(version, v)| {
            let ecdhe: Vec<u16> = v
                .suites
                .iter()
                .copied()
                .filter(|s| ciphers::properties(*s).ephemeral_ec)
                .collect();
            (*version, ecdhe)
        })
        .find(|(_, ecdhe)| !ecdhe.is_empty())
    else {
        return Ok(Vec::new());
    };
    let control = suites.first().copied();
    let mut spec = HelloSpec::new(version, suites, name.clone());
    spec.groups = wire::WEAK_GROUPS.to_vec();
    let exchange = probe::send_hello(target, &spec, false)
        .await
        .map_err(|error| format!("the weak-curve hello got no answer: {error}"))?;
    let Some((suite, flight)) = picked(&exchange, version) else {
        // The refusal means "not with these curves" only if the same suite with the
        // usual curves is still accepted.
        return match refusal_unconfirmed(target, version, control, &name).await {
            None => Ok(Vec::new()),
            Some(why) => Err(format!("the weak-curve hello was refused, but {why}")),
        };
    };
    match flight.server_key_exchange.as_deref().and_then(|body| {
        wire::key_exchange_parameters(body, ciphers::properties(suite).ephemeral_ec)
    }) {
        Some(KeyExchangeParameters::Ecdhe { group }) if wire::group_bits(group) < 256 => {
            Ok(vec![group])
        }
        Some(_) => Ok(Vec::new()),
        None => Err(format!(
            "the server accepted {} with only weak curves offered, but its key exchange could not be read",
            ciphers::label(suite)
        )),
    }
}

/// Offers the second-highest accepted version with TLS_FALLBACK_SCSV.
async fn fallback_probe(
    target: Target<'_>,
    scan: &EndpointScan,
    name: Option<String>,
) -> (Fallback, Option<Exchange>) {
    let mut descending: Vec<u16> = scan.versions.keys().rev().copied().collect();
    descending.dedup();
    let (Some(&highest), Some(&lower)) = (descending.first(), descending.get(1)) else {
        return (Fallback::SingleVersion, None);
    };
    let mut spec = HelloSpec::new(lower, suites_to_offer(scan, lower), name);
    spec.fallback_scsv = true;
    match probe::send_hello(target, &spec, false).await {
        Err(error) => (
            Fallback::Undecided {
                reason: error.to_string(),
            },
            None,
        ),
        Ok(exchange) => {
            let verdict = match &exchange.answer {
                Answer::Refused(Some(alert))
                    if alert.description == wire::ALERT_INAPPROPRIATE_FALLBACK =>
                {
                    Fallback::Protected {
                        from: highest,
                        to: lower,
                    }
                }
                Answer::Hello(flight)
                    if flight
                        .server_hello
                        .as_ref()
                        .is_some_and(|h| h.downgrade_sentinel && highest >= wire::TLS13) =>
                {
                    Fallback::Protected {
                        from: highest,
                        to: lower,
                    }
                }
                Answer::Hello(_) => Fallback::Accepted {
                    from: highest,
                    to: lower,
                },
                Answer::Refused(other) => Fallback::Undecided {
                    reason: format!(
                        "the fallback hello was refused without inappropriate_fallback ({})",
                        other.map_or_else(|| "no alert".to_owned(), |a| a.to_string())
                    ),
                },
            };
            (verdict, Some(exchange))
        }
    }
}

/// One over-long heartbeat request, only to a server that agreed to heartbeats.
async fn heartbleed_probe(
    target: Target<'_>,
    scan: &EndpointScan,
    agreed: Option<u16>,
    name: Option<String>,
) -> (Heartbleed, Option<Exchange>) {
    let Some(version) = agreed else {
        return (Heartbleed::NoHeartbeat, None);
    };
    let mut spec = HelloSpec::new(version, suites_to_offer(scan, version), name);
    spec.offer_heartbeat = true;
    match probe::send_hello(target, &spec, true).await {
        Err(error) => (
            Heartbleed::Undecided {
                reason: error.to_string(),
            },
            None,
        ),
        Ok(exchange) => {
            let leaked = exchange
                .heartbeat
                .as_deref()
                .and_then(|bytes| wire::parse_server_flight(bytes).ok())
                .map(|flight| flight.heartbeat_responses.iter().sum::<usize>())
                .unwrap_or(0);
            let verdict = if leaked > 0 {
                Heartbleed::Vulnerable {
                    leaked_bytes: leaked,
                }
            } else if exchange.heartbeat.is_none() {
                Heartbleed::Undecided {
                    reason: "the server agreed to heartbeats but its flight did not complete"
                        .to_owned(),
                }
            } else {
                Heartbleed::NotVulnerable
            };
            (verdict, Some(exchange))
        }
    }
}
