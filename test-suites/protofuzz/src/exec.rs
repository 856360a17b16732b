//! Sending cases and probing services, only through the run context.
//!
//! Every byte the suite sends goes through [`RunContext::connect_tcp`] or
//! [`RunContext::udp_exchange`], so the scope guard and the unit's pacer apply to cases,
//! probes and replays alike; every read has a timeout and a byte cap.

use crate::node::Node;
use crate::rng::Rng;
use crate::{coap, http, mqtt};
use iotcert_suite::net::ReadEnd;
use iotcert_suite::profile::Transport;
use iotcert_suite::{NetError, RunContext, SampleUnit, Transcript};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bytes kept of any answer.
const ANSWER_CAP: usize = 4096;

/// A predicate telling a live answer from anything else.
type AnswerCheck = fn(&[u8]) -> bool;

/// The protocols the suite generates cases for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Mqtt,
    Coap,
    Http,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Mqtt, Protocol::Coap, Protocol::Http];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Mqtt => "mqtt",
            Protocol::Coap => "coap",
            Protocol::Http => "http",
        }
    }

    pub fn transport(self) -> Transport {
        match self {
            Protocol::Coap => Transport::Udp,
            Protocol::Mqtt | Protocol::Http => Transport::Tcp,
        }
    }

    /// The protocol of a declared service name, for cleartext interfaces.
    pub fn of_service(service: &str, transport: Transport) -> Option<Protocol> {
        let service = service.to_ascii_lowercase();
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == service && p.transport() == transport)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A service whose liveness is watched: the fuzzed one and every other declared one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    pub port: u16,
    pub transport: Transport,
    /// How to ask it for an answer; `None` (TCP only) means a completed connect suffices.
    pub protocol: Option<Protocol>,
    /// The service name the profile gives it.
    pub service: String,
    /// Set for the device's health endpoint: asked with a GET of its path, and well
    /// only when it answers 2xx with the expected text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
}

/// What the device's health endpoint must answer (the profile's `[protofuzz.health]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub path: String,
    #[serde(default)]
    pub expect: Option<String>,
}

impl fmt::Display for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.health {
            Some(health) => write!(
                f,
                "{}/{} health endpoint GET {}",
                self.port, self.transport, health.path
            ),
            None => write!(f, "{}/{} {}", self.port, self.transport, self.service),
        }
    }
}

/// A case: what is sent, and how it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub protocol: Protocol,
    pub seed: u64,
    pub index: u64,
    /// What the generator aimed at, such as `publish` or `options`.
    pub kind: String,
    /// Messages sent first on the same connection, each answered: the session state.
    pub session: Vec<Node>,
    /// The mutated message.
    pub message: Node,
}

/// What a case needs besides its number.
#[derive(Clone, Debug)]
pub struct Settings {
    pub seed: u64,
    /// Time allowed for a probe's answer or a session step.
    pub timeout: Duration,
    /// Time waited for the answer to a mutated message.
    pub case_wait: Duration,
    pub mqtt_username: Option<String>,
    pub mqtt_password: Option<String>,
}

/// The MQTT client id of probes, sent when no case is in flight.
const PROBE_CLIENT_ID: &str = "iotcert-fuzz";

/// The MQTT client id of case `index`'s session: its own, since a broker closes a
/// session when another connects with the same id (MQTT 3.1.1 3.1.4-2), which would
/// let the cases in flight together close each other's sessions before their
/// malformed packets reach the parser. At most 22 bytes for the budget's 10^9 cases.
pub fn case_client_id(index: u64) -> String {
    format!("{PROBE_CLIENT_ID}-{index}")
}

impl Settings {
    fn session_connect(&self) -> Node {
        self.connect_as(PROBE_CLIENT_ID)
    }

    fn connect_as(&self, client_id: &str) -> Node {
        mqtt::connect(
            client_id,
            self.mqtt_username.as_deref(),
            self.mqtt_password.as_deref(),
        )
    }

    /// The packets that bring the MQTT connection of case `index` into `session`, each
    /// answered.
    fn mqtt_session(&self, session: mqtt::Session, index: u64) -> Vec<Node> {
        let client_id = case_client_id(index);
        match session {
            mqtt::Session::Fresh => Vec::new(),
            mqtt::Session::Connected => vec![self.connect_as(&client_id)],
            mqtt::Session::ConnectedV5 => vec![mqtt::connect_v5(
                &client_id,
                self.mqtt_username.as_deref(),
                self.mqtt_password.as_deref(),
            )],
            mqtt::Session::Subscribed => {
                vec![self.connect_as(&client_id), mqtt::subscribe_state()]
            }
        }
    }
}

/// Case `index` of `protocol` for `settings.seed`: always the same bytes.
pub fn generate(protocol: Protocol, index: u64, settings: &Settings) -> Case {
    let mut rng = Rng::for_case(settings.seed, protocol.name(), index);
    let (kind, message, session) = match protocol {
        Protocol::Mqtt => {
            let (kind, message, session) = mqtt::generate(&mut rng);
            (kind, message, settings.mqtt_session(session, index))
        }
        Protocol::Coap => {
            let (kind, message) = coap::generate(&mut rng);
            (kind, message, Vec::new())
        }
        Protocol::Http => {
            let (kind, message) = http::generate(&mut rng);
            (kind, message, Vec::new())
        }
    };
    Case {
        protocol,
        seed: settings.seed,
        index,
        kind,
        session,
        message,
    }
}

/// A case as bytes: what is actually sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wire {
    pub protocol: Protocol,
    pub session: Vec<Vec<u8>>,
    pub message: Vec<u8>,
}

impl Case {
    pub fn wire(&self) -> Wire {
        Wire {
            protocol: self.protocol,
            session: self.session.iter().map(Node::encode).collect(),
            message: self.message.encode(),
        }
    }
}

/// How the exchange of one case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseEnd {
    /// The service answered after the mutated message (or to the PINGREQ after it);
    /// the kind of answer (an HTTP status, a CoAP code, an MQTT packet
    /// type), so the run can tell whether the cases met a parser at all.
    Answered(String),
    /// The service closed the connection.
    Closed,
    /// The service reset the connection: what a live service does when it closes with
    /// unread data, but also what the kernel does for a process that died holding it.
    Reset,
    /// Nothing came back in time.
    Silent,
    /// A session step got no answer: the service may be down.
    SessionUnanswered,
    /// No connection could be made.
    Unreachable(NetError),
}

impl CaseEnd {
    /// Whether this end suggests the service is down, so the watch is probed now. A
    /// datagram service has no session to set up, so its silence is the only sign of a
    /// hang, and a hang shorter than the gap between two scheduled probes would
    /// otherwise go unseen. A reset is suspicious too, but common on a live service,
    /// so the engine follows it with a probe only now and then.
    pub fn is_suspicious(&self, protocol: Protocol) -> bool {
        match self {
            CaseEnd::SessionUnanswered | CaseEnd::Unreachable(_) | CaseEnd::Reset => true,
            CaseEnd::Silent => protocol == Protocol::Coap,
            CaseEnd::Answered(_) | CaseEnd::Closed => false,
        }
    }

    /// One word for the tally of how cases ended.
    pub fn word(&self) -> &'static str {
        match self {
            CaseEnd::Answered(_) => "answered",
            CaseEnd::Closed => "closed",
            CaseEnd::Reset => "reset",
            CaseEnd::Silent => "silent",
            CaseEnd::SessionUnanswered => "session unanswered",
            CaseEnd::Unreachable(_) => "unreachable",
        }
    }
}

/// How the service's answers to one case came, for the window of cases in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerTiming {
    /// The time its slowest answer took (a session step's or the final one's), when it
    /// answered at all.
    pub slowest: Option<Duration>,
    /// Whether a session step was left unanswered until the timeout, rather than
    /// closed or reset on.
    pub session_timed_out: bool,
}

/// Whether a probe could be put to the service at all.
enum Asked {
    /// The service gave a well-formed answer.
    Answered,
    /// The harness could not ask (its own resources, the campaign's end).
    NotAsked,
}

/// The network side of the suite for one unit.
pub struct Exec<'a> {
    pub ctx: &'a RunContext,
    pub unit: &'a SampleUnit,
    pub settings: Settings,
    pub clock: AnswerClock,
}

/// The shortest wait for an answer to a mutated message.
const MIN_CASE_WAIT: Duration = Duration::from_millis(2);

/// How fast the device answers, learned as cases go. A mutated message is often
/// dropped without a word; waiting the full [`Settings::case_wait`] after each would
/// spend most of a budget idle on a fast device. The wait is four times the slowest
/// recent answer (the memory fades by an eighth per answer), between [`MIN_CASE_WAIT`]
/// and `case_wait`. It decides only how long to listen: a service that stopped
/// answering is still judged by probes with the full timeout.
#[derive(Debug, Default)]
pub struct AnswerClock {
    slowest_micros: AtomicU64,
}

impl AnswerClock {
    fn observe(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.slowest_micros.load(Ordering::Relaxed);
        self.slowest_micros
            .store(took.max(old - old / 8), Ordering::Relaxed);
    }

    /// The wait for an answer to a mutated message, at most `ceiling`.
    pub fn wait(&self, ceiling: Duration) -> Duration {
        let learned = Duration::from_micros(
            self.slowest_micros
                .load(Ordering::Relaxed)
                .saturating_mul(4),
        );
        learned.clamp(MIN_CASE_WAIT.min(ceiling), ceiling)
    }
}

/// The kind of an answer to a case, in a few words: its HTTP status, its CoAP type and
/// code, the type of its first MQTT packet. A service that gives every malformed case
/// the same kind of answer shows no sign of having parsed any of them.
fn reaction(protocol: Protocol, answer: &[u8]) -> String {
    match protocol {
        Protocol::Http => match (answer.strip_prefix(b"HTTP/"), answer.get(9..12)) {
            (Some(_), Some(status)) => format!("HTTP {}", String::from_utf8_lossy(status)),
            _ => "bytes that are not HTTP".to_owned(),
        },
        Protocol::Coap => match answer {
            [first, code, ..] => format!(
                "CoAP type {} code {}.{:02}",
                (first >> 4) & 0b11,
                code >> 5,
                code & 0x1f
            ),
            _ => "a datagram too short for CoAP".to_owned(),
        },
        Protocol::Mqtt => match answer.first() {
            Some(first) if mqtt::has_pingresp(answer) && first >> 4 == 13 => "PINGRESP".to_owned(),
            Some(first) => format!("MQTT packet type {}", first >> 4),
            None => "nothing".to_owned(),
        },
    }
}

fn answered(protocol: Protocol, bytes: &[u8]) -> bool {
    match protocol {
        Protocol::Mqtt => mqtt::has_pingresp(bytes),
        Protocol::Http => http::head_complete(bytes),
        Protocol::Coap => !bytes.is_empty(),
    }
}

impl Exec<'_> {
    /// Send one case to `port`, recording the exchange in `transcript`.
    pub async fn send(&self, port: u16, wire: &Wire, transcript: &mut Transcript) -> CaseEnd {
        self.send_timed(port, wire, transcript).await.0
    }

    /// Send one case to `port` like [`Exec::send`]; with how it ended, how the
    /// service's answers came.
    pub async fn send_timed(
        &self,
        port: u16,
        wire: &Wire,
        transcript: &mut Transcript,
    ) -> (CaseEnd, AnswerTiming) {
        let mut timing = AnswerTiming::default();
        let end = self.exchange(port, wire, transcript, &mut timing).await;
        (end, timing)
    }

    /// The exchange of one case; `timing` keeps how the answers came.
    async fn exchange(
        &self,
        port: u16,
        wire: &Wire,
        transcript: &mut Transcript,
        timing: &mut AnswerTiming,
    ) -> CaseEnd {
        let mut answered_in = |took: Duration| {
            self.clock.observe(took);
            timing.slowest = Some(timing.slowest.map_or(took, |slowest| slowest.max(took)));
        };
        let wait = self.clock.wait(self.settings.case_wait);
        if wire.protocol == Protocol::Coap {
            transcript.sent(&wire.message);
            let sent_at = Instant::now();
            return match self
                .ctx
                .udp_exchange(self.unit, port, &wire.message, wait, ANSWER_CAP)
                .await
            {
                Ok(Some(answer)) => {
                    answered_in(sent_at.elapsed());
                    transcript.received(&answer);
                    CaseEnd::Answered(reaction(Protocol::Coap, &answer))
                }
                Ok(None) => CaseEnd::Silent,
                Err(error) => CaseEnd::Unreachable(error),
            };
        }
        let mut stream = match self
            .ctx
            .connect_tcp(self.unit, port, self.settings.timeout)
            .await
        {
            Ok(stream) => stream,
            Err(error) => {
                transcript.remark(&format!("connect: {error}"));
                return CaseEnd::Unreachable(error);
            }
        };
        for step in &wire.session {
            transcript.sent(step);
            let sent_at = Instant::now();
            if stream.send(step, self.settings.timeout).await.is_err() {
                return CaseEnd::SessionUnanswered;
            }
            let (answer, end) = stream
                .recv_until(ANSWER_CAP, self.settings.timeout, mqtt::is_whole_packet)
                .await;
            transcript.received(&answer);
            if answer.is_empty() {
                timing.session_timed_out = end == ReadEnd::Timeout;
                return CaseEnd::SessionUnanswered;
            }
            answered_in(sent_at.elapsed());
        }
        transcript.sent(&wire.message);
        if let Err(error) = stream.send(&wire.message, self.settings.case_wait).await {
            transcript.remark(&format!("while sending: {error}"));
            return match error {
                NetError::Reset => CaseEnd::Reset,
                _ => CaseEnd::Closed,
            };
        }
        if wire.protocol == Protocol::Mqtt {
            // A broker that read the whole mutated packet answers the ping.
            let _ = stream.send(&mqtt::PINGREQ, self.settings.case_wait).await;
        }
        let protocol = wire.protocol;
        let sent_at = Instant::now();
        let (answer, end) = stream
            .recv_until(ANSWER_CAP, wait, |b| answered(protocol, b))
            .await;
        transcript.received(&answer);
        match end {
            ReadEnd::Complete | ReadEnd::Cap => {
                answered_in(sent_at.elapsed());
                CaseEnd::Answered(reaction(protocol, &answer))
            }
            ReadEnd::Error(NetError::Reset) => CaseEnd::Reset,
            ReadEnd::Closed | ReadEnd::Error(_) => CaseEnd::Closed,
            ReadEnd::Timeout if answer.is_empty() => CaseEnd::Silent,
            ReadEnd::Timeout => CaseEnd::Answered(reaction(protocol, &answer)),
        }
    }

    /// Whether `watched` answers, and how long the answer took: `Ok(Some(took))` for
    /// an answer seen, `Ok(None)` when the harness itself could not ask (its own
    /// shortage of sockets, the campaign's end), which proves neither life nor death;
    /// `Err` says how the service did not answer. Two attempts, so that one lost
    /// datagram or one refused connection under load is not taken for a crash. A UDP
    /// service gets half the timeout for each, so that the whole probe stays within one
    /// timeout and a service that hangs for longer than that cannot slip through
    /// between the two attempts.
    pub async fn probe(&self, watched: &Watched, nonce: u16) -> Result<Option<Duration>, String> {
        let (wait, gap) = match watched.transport {
            Transport::Udp => (self.settings.timeout / 2, Duration::ZERO),
            Transport::Tcp => (self.settings.timeout, Duration::from_millis(100)),
        };
        let mut last = String::new();
        for attempt in 0..2u16 {
            let asked = Instant::now();
            match self
                .probe_once(watched, nonce.wrapping_add(attempt), wait)
                .await
            {
                Ok(Asked::Answered) => return Ok(Some(asked.elapsed())),
                Ok(Asked::NotAsked) => return Ok(None),
                // Cut by the suite's deadline or a cancellation: the harness stopped
                // asking, which says nothing about the device.
                Err(_) if self.ctx.should_stop() => return Ok(None),
                Err(why) => last = why,
            }
            tokio::time::sleep(gap).await;
        }
        Err(last)
    }

    async fn probe_once(
        &self,
        watched: &Watched,
        nonce: u16,
        timeout: Duration,
    ) -> Result<Asked, String> {
        if watched.transport == Transport::Udp {
            let probe = coap::probe(nonce);
            return match self
                .ctx
                .udp_exchange(self.unit, watched.port, &probe, timeout, ANSWER_CAP)
                .await
            {
                Ok(Some(answer)) if coap::answers_probe(&answer, nonce) => Ok(Asked::Answered),
                Ok(Some(_)) => {
                    Err("answered the CoAP GET with something not a CoAP answer to it".into())
                }
                Ok(None) => Err(format!(
                    "no answer to a CoAP GET within {} ms",
                    timeout.as_millis()
                )),
                Err(NetError::LocalResources(_) | NetError::Cancelled) => Ok(Asked::NotAsked),
                Err(error) => Err(format!("CoAP GET: {error}")),
            };
        }
        let mut stream = match self.ctx.connect_tcp(self.unit, watched.port, timeout).await {
            Ok(stream) => stream,
            // The harness's own shortage or end proves nothing about the device.
            Err(NetError::LocalResources(_) | NetError::Cancelled) => return Ok(Asked::NotAsked),
            Err(error) => return Err(format!("connect: {error}")),
        };
        if let Some(health) = &watched.health {
            let request = http::health_request(&self.unit.address.to_string(), &health.path);
            if let Err(error) = stream.send(&request, timeout).await {
                return Err(format!("send: {error}"));
            }
            let expect = health.expect.as_deref();
            let (answer, _) = stream
                .recv_until(ANSWER_CAP, timeout, |b| http::health_complete(b, expect))
                .await;
            return http::judge_health(&answer, expect).map(|()| Asked::Answered);
        }
        let (request, is_alive): (Vec<u8>, AnswerCheck) = match watched.protocol {
            Some(Protocol::Mqtt) => (self.settings.session_connect().encode(), mqtt::is_connack),
            Some(Protocol::Http) => (http::probe(&self.unit.address.to_string()), http::is_http),
            // Any other service: the completed connect is its answer.
            _ => return Ok(Asked::Answered),
        };
        if let Err(error) = stream.send(&request, timeout).await {
            return Err(format!("send: {error}"));
        }
        let (answer, _) = stream.recv_until(ANSWER_CAP, timeout, is_alive).await;
        if is_alive(&answer) {
            Ok(Asked::Answered)
        } else if answer.is_empty() {
            Err(format!(
                "no answer to a {} probe within {} ms",
                watched.protocol.map_or("TCP", Protocol::name),
                timeout.as_millis()
            ))
        } else {
            let shown = answer.get(..64).unwrap_or(&answer);
            Err(format!(
                "unexpected answer {:?}{}",
                iotcert_suite::evidence::escape_bytes(shown),
                if answer.len() > shown.len() {
                    format!(" ({} bytes)", answer.len())
                } else {
                    String::new()
                }
            ))
        }
    }

    /// The kind of answer a well-formed request draws when sent the way cases are
    /// (an HTTP GET, an MQTT CONNECT, a CoAP GET): what the cases' answers are compared
    /// with. `None` when it drew no answer.
    pub async fn well_formed_reaction(&self, port: u16, protocol: Protocol) -> Option<String> {
        let message = match protocol {
            Protocol::Http => http::probe(&self.unit.address.to_string()),
            Protocol::Mqtt => self.settings.session_connect().encode(),
            Protocol::Coap => coap::probe(0x4f4b),
        };
        let wire = Wire {
            protocol,
            session: Vec::new(),
            message,
        };
        // The full timeout, not the learned case wait: this answer is the reference.
        let mut transcript = Transcript::new();
        let reference = Exec {
            ctx: self.ctx,
            unit: self.unit,
            settings: Settings {
                case_wait: self.settings.timeout,
                ..self.settings.clone()
            },
            clock: AnswerClock::default(),
        };
        let wait = reference.settings.timeout;
        reference.clock.observe(wait);
        match reference.send(port, &wire, &mut transcript).await {
            CaseEnd::Answered(kind) => Some(kind),
            _ => None,
        }
    }

    /// Whether the broker on `port` accepts the session the cases set up (the
    /// profile's CONNECT, answered by CONNACK code 0): without it, every case sent after
    /// a CONNECT meets a closed session, never the broker's parser.
    pub async fn mqtt_session_accepted(&self, port: u16) -> Result<(), String> {
        let mut stream = self
            .ctx
            .connect_tcp(self.unit, port, self.settings.timeout)
            .await
            .map_err(|error| format!("connect: {error}"))?;
        stream
            .send(
                &self.settings.session_connect().encode(),
                self.settings.timeout,
            )
            .await
            .map_err(|error| format!("send: {error}"))?;
        let (answer, _) = stream
            .recv_until(ANSWER_CAP, self.settings.timeout, mqtt::is_connack)
            .await;
        match mqtt::connack_code(&answer) {
            Some(0) => Ok(()),
            Some(code) => Err(format!("CONNACK code {code}")),
            None => Err("no CONNACK to the session's CONNECT".to_owned()),
        }
    }

    /// The watched services that do not answer now, with the reason.
    pub async fn dead(&self, watch: &[Watched], nonce: u16) -> Vec<(Watched, String)> {
        let (dead, _) = self.check(watch, nonce).await;
        dead
    }

    /// The watched services that do not answer now, with the reason, and how long the
    /// first of `watch` took to answer when an answer of it was seen (`None` also when
    /// the harness could not ask).
    pub async fn check(
        &self,
        watch: &[Watched],
        nonce: u16,
    ) -> (Vec<(Watched, String)>, Option<Duration>) {
        let mut dead = Vec::new();
        let mut first_took = None;
        for (index, watched) in watch.iter().enumerate() {
            match self.probe(watched, nonce).await {
                Ok(took) if index == 0 => first_took = took,
                Ok(_) => {}
                Err(why) => dead.push((watched.clone(), why)),
            }
        }
        (dead, first_took)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_in_flight_together_connect_with_client_ids_of_their_own() {
        let settings = Settings {
            seed: 7,
            timeout: Duration::from_secs(1),
            case_wait: Duration::from_millis(250),
            mqtt_username: None,
            mqtt_password: None,
        };
        let mut ids = std::collections::BTreeSet::new();
        let mut sessions = 0;
        for index in 0..200 {
            let case = generate(Protocol::Mqtt, index, &settings);
            let Some(connect) = case.session.first() else {
                continue;
            };
            sessions += 1;
            let id = case_client_id(index);
            let bytes = connect.encode();
            assert!(
                bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                "case {index}: {bytes:02x?}"
            );
            ids.insert(id);
        }
        assert!(sessions > 100, "{sessions}");
        assert_eq!(ids.len(), sessions);
        assert!(case_client_id(999_999_999).len() <= 23);
    }

    #[test]
    fn the_answer_wait_follows_the_device_within_its_bounds() {
        let ceiling = Duration::from_millis(250);
        let clock = AnswerClock::default();
        assert_eq!(clock.wait(ceiling), MIN_CASE_WAIT);
        clock.observe(Duration::from_millis(10));
        assert_eq!(clock.wait(ceiling), Duration::from_millis(40));
        clock.observe(Duration::from_secs(5));
        assert_eq!(clock.wait(ceiling), ceiling);
        // A slow answer is forgotten as fast answers come in.
        for _ in 0..200 {
            clock.observe(Duration::from_micros(100));
        }
        assert_eq!(clock.wait(ceiling), MIN_CASE_WAIT);
        assert_eq!(
            clock.wait(Duration::from_millis(1)),
            Duration::from_millis(1)
        );
    }
}
