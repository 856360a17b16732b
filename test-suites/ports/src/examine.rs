//! Examination of open TCP ports: the banner, the probes for silent services, and what
//! the answers reveal for the cleartext, debug and disclosure checks.
//!
//! Every connection goes through `RunContext::connect_tcp` (scope guard and pacer),
//! every read is capped (4 KiB per banner, 16 KiB per HTTP answer) and timed out, and
//! every exchange is recorded in a transcript, so a verdict can always be traced to the
//! bytes that justify it and a hostile port cannot hold or flood the suite.

use crate::identify::binary::{self, AdbReply};
use crate::identify::disclosure::versions_in;
use crate::identify::end::{self, Progress};
use crate::identify::http::{self, Redirect};
use crate::identify::{self, telnet, Service, TcpProbe, BANNER_CAP};
use futures::future::join_all;
use iotcert_suite::evidence::{escape_bytes, MAX_EVIDENCE_BYTES};
use iotcert_suite::pacer::ConnectionPermit;
use iotcert_suite::profile::{Interface, Transport};
use iotcert_suite::{
    Evidence, EvidenceKind, GuardedTcp, NetError, RunContext, SampleUnit, Transcript,
};
use rustls::pki_types::ServerName;
use serde::Serialize;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How long a service may take to say its first word, after connect or after a probe.
const FIRST_BYTE_WAIT: Duration = Duration::from_millis(2000);
/// Text of no protocol the suite knows, stopped at a line end or a prompt, is whole
/// when this much quiet follows (a banner sent in two parts 0.6 s apart is read whole).
const QUIET_AFTER_TEXT: Duration = Duration::from_millis(1000);
/// The longest one read phase may last, however slowly bytes trickle in: a banner not
/// whole by then is reported as cut, never as read.
const READ_PHASE_LIMIT: Duration = Duration::from_secs(5);
/// Time allowed to one send.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed to a TLS handshake once connected.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Telnet reads (each answering the options offered so far) before the console is
/// judged; the phase limit bounds them in time too.
const TELNET_ROUNDS: usize = 64;
/// Headers whose values name server software.
const SOFTWARE_HEADERS: [&str; 6] = [
    "Server",
    "X-Powered-By",
    "X-AspNet-Version",
    "X-AspNetMvc-Version",
    "X-Generator",
    "User-Agent",
];

/// A version found in a banner, with the banner line quoted (escaped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DisclosedVersion {
    pub product: String,
    pub version: String,
    pub banner: String,
}

/// Whether an exchange with a port completed, and what was seen: the proof a PASS
/// rests on, or the reason there can be none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "what", rename_all = "snake_case")]
pub enum Observation {
    /// The exchange completed; what was observed.
    Complete(String),
    /// The exchange did not complete; why.
    Unfinished(String),
}

impl Observation {
    /// Why nothing can rest on this observation, if nothing can.
    pub fn unfinished(&self) -> Option<&str> {
        match self {
            Observation::Complete(_) => None,
            Observation::Unfinished(why) => Some(why),
        }
    }
}

/// What the examination of one open port found.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceFinding {
    pub port: u16,
    pub transport: Transport,
    /// The recognised service; `None` when nothing it said could be recognised.
    pub service: Option<Service>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleartext_management: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_interface: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disclosures: Vec<DisclosedVersion>,
    /// Whether the service was told from a whole exchange (the control of the
    /// undeclared-port, cleartext and debug checks).
    pub service_seen: Observation,
    /// Whether what the service says before authentication was read to its protocol
    /// end or the cap, inside TLS where it speaks TLS (the control of the disclosure check).
    pub banner_seen: Observation,
    /// The exchanges with the port, for evidence.
    #[serde(skip)]
    pub transcript: Option<Evidence>,
}

impl ServiceFinding {
    pub fn new(port: u16, transport: Transport) -> Self {
        ServiceFinding {
            port,
            transport,
            service: None,
            detail: String::new(),
            cleartext_management: None,
            debug_interface: None,
            disclosures: Vec::new(),
            service_seen: Observation::Unfinished("not examined".to_owned()),
            banner_seen: Observation::Unfinished("not examined".to_owned()),
            transcript: None,
        }
    }

    /// `23/tcp (telnet)`.
    pub fn label(&self) -> String {
        match self.service {
            Some(service) => format!("{}/{} ({service})", self.port, self.transport),
            None => format!("{}/{}", self.port, self.transport),
        }
    }

    /// Record that nothing about the port could be completed, and why.
    fn unfinished(&mut self, why: impl Into<String>) {
        let why = why.into();
        self.service_seen = Observation::Unfinished(why.clone());
        self.banner_seen = Observation::Unfinished(why.clone());
        self.detail = why;
    }

    /// Record every version disclosed by `text`, quoting the line it is on.
    pub fn disclose_from(&mut self, text: &str) {
        for line in text.lines().take(64) {
            for found in versions_in(line) {
                let quoted: String = escape_bytes(line.trim().as_bytes())
                    .chars()
                    .take(300)
                    .collect();
                let disclosed = DisclosedVersion {
                    product: found.product,
                    version: found.version,
                    banner: quoted,
                };
                if !self.disclosures.contains(&disclosed) {
                    self.disclosures.push(disclosed);
                }
            }
        }
    }
}

/// How bytes that arrived stopped arriving.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ended {
    /// The protocol's own end, named.
    Whole(&'static str),
    /// Text of no protocol the suite knows, at a line end or prompt, then quiet.
    Quiet,
    /// The service closed the connection after speaking.
    Closed,
    /// The byte cap was reached.
    Cap,
    /// The phase's time limit passed before the end.
    TimeLimit,
    /// The connection failed after some bytes.
    Broken(NetError),
}

impl Ended {
    /// What `what` was observed as, or why it was not whole.
    fn observation(&self, what: &str, bytes: usize) -> Observation {
        match self {
            Ended::Whole(end) => Observation::Complete(format!("{what} read to {end}")),
            Ended::Quiet => Observation::Complete(format!(
                "{what} read to a line end followed by {} ms of quiet",
                QUIET_AFTER_TEXT.as_millis()
            )),
            Ended::Closed => Observation::Complete(format!("{what} read until the service closed")),
            Ended::Cap => Observation::Complete(format!("{what} read to the {bytes}-byte cap")),
            Ended::TimeLimit => Observation::Unfinished(format!(
                "{what} was not whole after {} s ({bytes} bytes): read only in part",
                READ_PHASE_LIMIT.as_secs()
            )),
            Ended::Broken(error) => {
                Observation::Unfinished(format!("{what} broke off after {bytes} bytes: {error}"))
            }
        }
    }
}

/// How a read phase ended.
enum Read {
    /// Bytes arrived, and how they stopped.
    Data(Vec<u8>, Ended),
    /// Nothing arrived in time.
    Silent,
    /// The peer closed without sending.
    Closed,
    /// The connection failed before any byte.
    Failed(NetError),
}

/// The byte stream of a session: plain TCP, or TLS over it.
enum Io {
    Plain(GuardedTcp),
    /// The permit holds the connection's pacer slot as long as the stream lives.
    Tls {
        stream: Box<TlsStream<TcpStream>>,
        _permit: ConnectionPermit,
    },
}

/// One connection to the port, with its transcript.
struct Session {
    io: Io,
    transcript: Transcript,
    title: String,
}

impl Session {
    async fn open(
        target: &Target<'_>,
        title: impl Into<String>,
    ) -> Result<Session, (String, NetError)> {
        let title = title.into();
        match target
            .ctx
            .connect_tcp(target.unit, target.port, target.connect_timeout)
            .await
        {
            Ok(connection) => Ok(Session {
                io: Io::Plain(connection),
                transcript: Transcript::new(),
                title,
            }),
            Err(error) => Err((title, error)),
        }
    }

    /// Connect and complete a TLS handshake, accepting any certificate (whether it
    /// is trustworthy is the tls suite's question; here the channel is what counts).
    async fn open_tls(
        target: &Target<'_>,
        title: impl Into<String>,
    ) -> Result<Session, (String, NetError)> {
        let title = title.into();
        let connection = match target
            .ctx
            .connect_tcp(target.unit, target.port, target.connect_timeout)
            .await
        {
            Ok(connection) => connection,
            Err(error) => return Err((title, error)),
        };
        let (stream, permit) = connection.into_parts();
        let handshake = TlsConnector::from(iotcert_suite::tls::read_any_server())
            .connect(server_name(target.unit), stream);
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
            Err(_) => Err((title, NetError::Timeout)),
            Ok(Err(error)) => Err((title, NetError::Io(format!("TLS handshake: {error}")))),
            Ok(Ok(stream)) => Ok(Session {
                io: Io::Tls {
                    stream: Box::new(stream),
                    _permit: permit,
                },
                transcript: Transcript::new(),
                title,
            }),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        self.transcript.sent(bytes);
        let sent = match &mut self.io {
            Io::Plain(connection) => connection.send(bytes, SEND_TIMEOUT).await,
            Io::Tls { stream, .. } => {
                let write = async {
                    stream.write_all(bytes).await?;
                    stream.flush().await
                };
                match tokio::time::timeout(SEND_TIMEOUT, write).await {
                    Err(_) => Err(NetError::Timeout),
                    Ok(result) => result.map_err(NetError::from),
                }
            }
        };
        if let Err(error) = &sent {
            self.transcript.remark(&format!("send failed: {error}"));
        }
        sent
    }

    /// One read of at most `cap` bytes within `wait`; empty when the peer closed.
    async fn recv_chunk(&mut self, cap: usize, wait: Duration) -> Result<Vec<u8>, NetError> {
        let chunk = match &mut self.io {
            Io::Plain(connection) => connection.recv_some(cap, wait).await,
            Io::Tls { stream, .. } => {
                let mut buffer = vec![0u8; cap.clamp(1, 16 * 1024)];
                match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
                    Err(_) => Err(NetError::Timeout),
                    // A TLS peer that closes without close_notify has still closed.
                    Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                        Ok(Vec::new())
                    }
                    Ok(Err(error)) => Err(error.into()),
                    Ok(Ok(read)) => {
                        buffer.truncate(read);
                        Ok(buffer)
                    }
                }
            }
        };
        if let Ok(bytes) = &chunk {
            self.transcript.received(bytes);
        }
        chunk
    }

    /// Read until `progress` says the bytes are whole, text of no known protocol is
    /// followed by quiet, the peer closes, `cap` bytes arrived or the phase limit
    /// passes; `first_wait` bounds the wait for the first byte.
    async fn read_until_end(
        &mut self,
        cap: usize,
        first_wait: Duration,
        progress: impl Fn(&[u8]) -> Progress,
    ) -> Read {
        let started = Instant::now();
        let mut received: Vec<u8> = Vec::new();
        let mut state = Progress::Open;
        loop {
            let room = cap.saturating_sub(received.len());
            if room == 0 {
                self.transcript.remark("read cap reached");
                return Read::Data(received, Ended::Cap);
            }
            let left = READ_PHASE_LIMIT.saturating_sub(started.elapsed());
            let wait = match (received.is_empty(), state) {
                (true, _) => first_wait.min(left),
                (false, Progress::LineEnd) => QUIET_AFTER_TEXT.min(left),
                (false, _) => left,
            };
            if wait.is_zero() {
                self.transcript
                    .remark("read time limit reached before the end");
                return if received.is_empty() {
                    Read::Silent
                } else {
                    Read::Data(received, Ended::TimeLimit)
                };
            }
            match self.recv_chunk(room, wait).await {
                Ok(chunk) if chunk.is_empty() => {
                    self.transcript.remark("peer closed the connection");
                    return if received.is_empty() {
                        Read::Closed
                    } else {
                        Read::Data(received, Ended::Closed)
                    };
                }
                Ok(chunk) => {
                    received.extend_from_slice(&chunk);
                    state = progress(&received);
                    if let Progress::Whole(end) = state {
                        return Read::Data(received, Ended::Whole(end));
                    }
                }
                Err(NetError::Timeout) => {
                    if received.is_empty() {
                        self.transcript
                            .remark(&format!("nothing received for {} ms", wait.as_millis()));
                        return Read::Silent;
                    }
                    if state == Progress::LineEnd {
                        return Read::Data(received, Ended::Quiet);
                    }
                    self.transcript
                        .remark("read time limit reached before the end");
                    return Read::Data(received, Ended::TimeLimit);
                }
                Err(error) => {
                    self.transcript.remark(&error.to_string());
                    return if received.is_empty() {
                        Read::Failed(error)
                    } else {
                        Read::Data(received, Ended::Broken(error))
                    };
                }
            }
        }
    }

    fn finish(self) -> (String, Evidence) {
        let evidence = self.transcript.into_evidence(self.title.clone());
        (self.title, evidence)
    }
}

/// The name sent in SNI: the unit's hostname, or its address.
fn server_name(unit: &SampleUnit) -> ServerName<'static> {
    unit.hostname
        .as_deref()
        .and_then(|host| ServerName::try_from(host.to_owned()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(unit.address.into()))
}

/// The port under examination and how to reach it.
struct Target<'a> {
    ctx: &'a RunContext,
    unit: &'a SampleUnit,
    port: u16,
    connect_timeout: Duration,
}

impl Target<'_> {
    /// `127.0.0.1:80` or `[::1]:80`, for Host headers and URIs.
    fn authority(&self) -> String {
        match self.unit.address {
            IpAddr::V4(v4) => format!("{v4}:{}", self.port),
            IpAddr::V6(v6) => format!("[{v6}]:{}", self.port),
        }
    }
}

/// Transcripts of several sessions folded into one capped evidence item.
struct Record {
    sessions: Vec<(String, Evidence)>,
}

impl Record {
    fn add(&mut self, session: Session) {
        self.sessions.push(session.finish());
    }

    fn note(&mut self, title: &str, error: &NetError) {
        let mut transcript = Transcript::new();
        transcript.remark(&error.to_string());
        self.sessions
            .push((title.to_owned(), transcript.into_evidence(title.to_owned())));
    }

    fn into_evidence(self, label: String) -> Evidence {
        let mut text = Vec::new();
        let mut truncated = false;
        for (title, evidence) in self.sessions {
            text.extend_from_slice(format!("## {title}\n").as_bytes());
            text.extend_from_slice(&evidence.data);
            truncated |= evidence.truncated;
        }
        let mut evidence = Evidence::bytes(
            EvidenceKind::Transcript,
            label,
            "text/plain; charset=utf-8",
            &text,
        );
        evidence.truncated |= truncated || text.len() > MAX_EVIDENCE_BYTES;
        evidence
    }
}

/// The probes to try on a silent port: what the profile and the port number suggest
/// first, then every other probe.
pub fn probe_order(port: u16, declared: Option<&Interface>) -> Vec<TcpProbe> {
    let mut order = Vec::new();
    if let Some(interface) = declared {
        if interface.tls {
            order.push(TcpProbe::Tls);
        }
        order.extend(probe_for_service_name(&interface.service));
    }
    order.extend(probe_for_port(port));
    for probe in TcpProbe::ALL {
        if !order.contains(&probe) {
            order.push(probe);
        }
    }
    order.dedup();
    order
}

fn probe_for_service_name(name: &str) -> Option<TcpProbe> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "http" | "www" | "web" | "http-alt" | "http-admin" | "rest" | "onvif" | "api" => {
            TcpProbe::Http
        }
        "https" | "tls" | "ssl" | "mqtts" | "secure-mqtt" | "rtsps" | "wss" => TcpProbe::Tls,
        "mqtt" => TcpProbe::Mqtt,
        "rtsp" => TcpProbe::Rtsp,
        "adb" => TcpProbe::Adb,
        "gdb" | "gdbserver" => TcpProbe::Gdb,
        "jdwp" => TcpProbe::Jdwp,
        "modbus" => TcpProbe::Modbus,
        "openocd" => TcpProbe::OpenocdTcl,
        _ => return None,
    })
}

fn probe_for_port(port: u16) -> Option<TcpProbe> {
    Some(match port {
        80 | 81 | 88 | 5000 | 8000 | 8008 | 8080 | 8081 | 8088 | 8888 | 9000 | 49152 => {
            TcpProbe::Http
        }
        443 | 4433 | 5061 | 8443 | 8883 | 9443 => TcpProbe::Tls,
        1883 => TcpProbe::Mqtt,
        554 | 8554 => TcpProbe::Rtsp,
        5555 => TcpProbe::Adb,
        1234 | 2159 | 2331 | 3333 => TcpProbe::Gdb,
        5005 | 8700 => TcpProbe::Jdwp,
        6666 => TcpProbe::OpenocdTcl,
        502 => TcpProbe::Modbus,
        _ => return None,
    })
}

/// The request a probe sends.
fn probe_request(probe: TcpProbe, authority: &str) -> Vec<u8> {
    match probe {
        TcpProbe::Http => http::get_request(authority, "/"),
        TcpProbe::Tls => binary::tls_client_hello(None),
        TcpProbe::Mqtt => binary::mqtt_connect_request(),
        TcpProbe::Rtsp => http::rtsp_options_request(authority),
        TcpProbe::Adb => binary::adb_connect_request(),
        TcpProbe::Gdb => binary::gdb_request(),
        TcpProbe::Jdwp => binary::JDWP_HANDSHAKE.to_vec(),
        TcpProbe::OpenocdTcl => binary::OPENOCD_TCL_REQUEST.to_vec(),
        TcpProbe::Modbus => binary::modbus_request(),
        TcpProbe::ShellEcho => telnet::SHELL_ECHO_COMMAND.to_vec(),
    }
}

/// Examine one open TCP port of `unit`.
pub async fn examine_tcp_port(
    ctx: &RunContext,
    unit: &SampleUnit,
    port: u16,
    declared: Option<&Interface>,
    connect_timeout: Duration,
) -> ServiceFinding {
    let target = Target {
        ctx,
        unit,
        port,
        connect_timeout,
    };
    let mut finding = ServiceFinding::new(port, Transport::Tcp);
    let mut record = Record {
        sessions: Vec::new(),
    };
    examine(&target, declared, &mut finding, &mut record).await;
    finding.transcript = Some(record.into_evidence(format!("exchanges with {port}/tcp")));
    finding
}

async fn examine(
    target: &Target<'_>,
    declared: Option<&Interface>,
    finding: &mut ServiceFinding,
    record: &mut Record,
) {
    let mut session = match Session::open(target, "connect, then wait for a banner").await {
        Ok(session) => session,
        Err((title, error)) => {
            finding.unfinished(match error {
                NetError::Reset => "accepts connections, then resets them at once".to_owned(),
                _ => format!("open during the sweep, but {error} when examined"),
            });
            record.note(&title, &error);
            return;
        }
    };
    match session
        .read_until_end(BANNER_CAP, FIRST_BYTE_WAIT, end::banner_progress)
        .await
    {
        Read::Data(banner, ended) => {
            examine_banner(&mut session, &banner, &ended, target, finding, record).await;
            record.add(session);
            return;
        }
        Read::Closed => {
            finding.unfinished("accepts connections, then closes them without a word");
            record.add(session);
            return;
        }
        Read::Failed(error) => {
            finding.unfinished(format!("accepts connections, then {error}"));
            record.add(session);
            return;
        }
        Read::Silent => record.add(session),
    }
    if target.ctx.should_stop() {
        finding.unfinished("silent after connect; probing stopped at the deadline");
        return;
    }
    let order = probe_order(target.port, declared);
    let Some((&first, rest)) = order.split_first() else {
        return;
    };
    let mut outcomes = vec![run_probe(target, first).await];
    if outcomes.iter().all(|outcome| outcome.service.is_none()) && !target.ctx.should_stop() {
        outcomes.extend(join_all(rest.iter().map(|&probe| run_probe(target, probe))).await);
    }
    let identified = outcomes
        .iter()
        .position(|outcome| outcome.service.is_some());
    let mut unrecognised = Vec::new();
    let mut chosen = None;
    for (index, outcome) in outcomes.into_iter().enumerate() {
        if let Some(session) = outcome.session {
            record.sessions.push(session);
        }
        if Some(index) == identified {
            chosen = Some((outcome.probe, outcome.service, outcome.reply, outcome.ended));
        } else if !outcome.reply.is_empty() {
            unrecognised.push((outcome.probe, outcome.reply, outcome.ended));
        }
    }
    match chosen {
        Some((probe, Some(service), reply, ended)) => {
            finding.service = Some(service);
            finding.service_seen =
                Observation::Complete(format!("answered the {probe:?} probe as {service}"));
            finding.banner_seen = ended.observation(
                &format!("the {service} answer to the {probe:?} probe"),
                reply.len(),
            );
            analyse(target, service, &reply, finding, record).await;
            if finding.detail.is_empty() {
                finding.detail = format!("silent after connect; answered the {probe:?} probe");
            }
        }
        _ if unrecognised.is_empty() => {
            finding.unfinished(format!(
                "silent after connect and to all {} probes ({})",
                order.len(),
                order
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        _ => {
            let answered: Vec<String> = unrecognised
                .iter()
                .map(|(probe, reply, _)| format!("{probe:?} ({} bytes)", reply.len()))
                .collect();
            let detail = format!(
                "silent after connect; unrecognised answers to {}",
                answered.join(", ")
            );
            // Whole text of no protocol the suite knows is a service that answered
            // and said what it says; bytes that are not text, or not whole, are not.
            let whole_text = unrecognised.iter().find(|(_, reply, ended)| {
                end::is_text(reply) && ended.observation("", 0).unfinished().is_none()
            });
            match whole_text {
                Some((probe, reply, ended)) => {
                    let seen = ended.observation(
                        &format!("an unrecognised text answer to the {probe:?} probe"),
                        reply.len(),
                    );
                    finding.service_seen = seen.clone();
                    finding.banner_seen = seen;
                    finding.detail = detail;
                }
                None => finding.unfinished(format!(
                    "{detail}: bytes of no protocol the suite knows, none of them whole text"
                )),
            }
            for (_, reply, _) in &unrecognised {
                finding.disclose_from(&telnet::console_text(reply));
            }
        }
    }
}

/// What one probe got.
struct ProbeOutcome {
    probe: TcpProbe,
    service: Option<Service>,
    reply: Vec<u8>,
    ended: Ended,
    session: Option<(String, Evidence)>,
}

async fn run_probe(target: &Target<'_>, probe: TcpProbe) -> ProbeOutcome {
    let mut outcome = ProbeOutcome {
        probe,
        service: None,
        reply: Vec::new(),
        ended: Ended::TimeLimit,
        session: None,
    };
    let mut session = match Session::open(target, format!("{probe:?} probe")).await {
        Ok(session) => session,
        Err((title, error)) => {
            let mut transcript = Transcript::new();
            transcript.remark(&error.to_string());
            outcome.session = Some((title.clone(), transcript.into_evidence(title)));
            return outcome;
        }
    };
    if session
        .send(&probe_request(probe, &target.authority()))
        .await
        .is_ok()
    {
        let read = session
            .read_until_end(probe.reply_cap(), FIRST_BYTE_WAIT, |reply| {
                end::reply_progress(probe, reply)
            })
            .await;
        if let Read::Data(reply, ended) = read {
            outcome.service = identify::identify_reply(probe, &reply);
            if outcome.service == Some(Service::Mqtt) {
                let _ = session.send(binary::MQTT_DISCONNECT).await;
            }
            outcome.reply = reply;
            outcome.ended = ended;
        }
    }
    outcome.session = Some(session.finish());
    outcome
}

/// Everything a banner (bytes sent unprompted) reveals; may talk more on the session.
async fn examine_banner(
    session: &mut Session,
    banner: &[u8],
    ended: &Ended,
    target: &Target<'_>,
    finding: &mut ServiceFinding,
    record: &mut Record,
) {
    let service = identify::identify_banner(banner);
    finding.service = service;
    if let Some(service) = service {
        finding.service_seen = Observation::Complete(format!("{service} told by its banner"));
        finding.banner_seen = ended.observation(&format!("the {service} banner"), banner.len());
    }
    match service {
        Some(Service::Telnet) => examine_telnet(session, banner, finding).await,
        Some(Service::Shell) => {
            finding.disclose_from(&telnet::console_text(banner));
            let proof = prove_shell(session, false).await;
            finding.debug_interface = Some(shell_finding(proof));
            finding.detail = "shell prompt offered right after connect".to_owned();
        }
        Some(other) => analyse(target, other, banner, finding, record).await,
        None => {
            let text = telnet::console_text(banner);
            let shown: String = escape_bytes(text.as_bytes()).chars().take(120).collect();
            finding.disclose_from(&text);
            let seen = ended.observation("an unrecognised banner", banner.len());
            if !end::is_text(banner) {
                finding.unfinished(format!(
                    "sent {} bytes of no protocol the suite knows, not text: unrecognised banner {shown}",
                    banner.len()
                ));
            } else if let Some(why) = seen.unfinished() {
                finding.unfinished(format!("{why}: {shown}"));
            } else {
                finding.service_seen = seen.clone();
                finding.banner_seen = seen;
                finding.detail = format!("unrecognised banner: {shown}");
                // A console that greets without a prompt may still be a shell: whole
                // text of no known protocol is only safe once it has not run a command.
                if prove_shell(session, false).await {
                    finding.service = Some(Service::Shell);
                    finding.debug_interface = Some(format!(
                        "a shell evaluated a command sent after its greeting, without any login ({shown})"
                    ));
                    finding.detail = format!("a shell behind the greeting {shown}");
                }
            }
        }
    }
}

/// Telnet: refuse every option, read what the console shows until a login or shell
/// prompt (or the cap, the close, the phase limit), and see whether it asks for a
/// login or hands out a shell.
async fn examine_telnet(session: &mut Session, banner: &[u8], finding: &mut ServiceFinding) {
    let started = Instant::now();
    let mut received = banner.to_vec();
    let mut fresh = banner.to_vec();
    // One decoder for the whole console: a request cut between two reads is answered.
    let mut negotiator = telnet::Negotiator::default();
    let mut ended = Ended::TimeLimit;
    for _ in 0..TELNET_ROUNDS {
        let negotiation = negotiator.feed(&fresh);
        if !negotiation.refusals.is_empty() {
            if let Err(error) = session.send(&negotiation.refusals).await {
                ended = Ended::Broken(error);
                break;
            }
        }
        let text = telnet::console_text(&received);
        if telnet::asks_for_login(&text) {
            ended = Ended::Whole("a login prompt");
            break;
        }
        if telnet::looks_like_shell_prompt(&text) {
            ended = Ended::Whole("a shell prompt");
            break;
        }
        if received.len() >= BANNER_CAP {
            ended = Ended::Cap;
            break;
        }
        let left = READ_PHASE_LIMIT.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        match session
            .recv_chunk(BANNER_CAP.saturating_sub(received.len()), left)
            .await
        {
            Ok(more) if more.is_empty() => {
                ended = Ended::Closed;
                break;
            }
            Ok(more) => {
                received.extend_from_slice(&more);
                fresh = more;
            }
            Err(NetError::Timeout) => break,
            Err(error) => {
                ended = Ended::Broken(error);
                break;
            }
        }
    }
    let text = telnet::console_text(&received);
    finding.cleartext_management = Some(
        "telnet: everything typed, passwords included, crosses the network in clear text"
            .to_owned(),
    );
    finding.service_seen = Observation::Complete("telnet option negotiation".to_owned());
    finding.banner_seen = ended.observation("the telnet console", received.len());
    finding.disclose_from(&text);
    if telnet::looks_like_shell_prompt(&text) {
        let proof = prove_shell(session, true).await;
        finding.debug_interface = Some(format!("over telnet, {}", shell_finding(proof)));
        finding.detail = "telnet hands out a shell prompt without login".to_owned();
    } else if telnet::asks_for_login(&text) {
        finding.detail = "telnet login prompt".to_owned();
    } else {
        let shown: String = escape_bytes(text.as_bytes()).chars().take(120).collect();
        finding.detail = format!("telnet console: {shown}");
    }
}

/// Send the shell probe on an open session and say whether the shell evaluated it.
async fn prove_shell(session: &mut Session, telnet_line_ending: bool) -> bool {
    let mut command = telnet::SHELL_ECHO_COMMAND.to_vec();
    if telnet_line_ending {
        command.pop();
        command.extend_from_slice(b"\r\n");
    }
    if session.send(&command).await.is_err() {
        return false;
    }
    let read = session
        .read_until_end(BANNER_CAP, FIRST_BYTE_WAIT, |reply| {
            end::reply_progress(TcpProbe::ShellEcho, reply)
        })
        .await;
    match read {
        Read::Data(reply, _) => telnet::shell_evaluated(&reply),
        _ => false,
    }
}

fn shell_finding(evaluated: bool) -> String {
    if evaluated {
        "a shell prompt was offered without login, and it evaluated a command".to_owned()
    } else {
        "a shell prompt was offered without login (the test command was not evaluated)".to_owned()
    }
}

/// What a recognised service's answer reveals; may open one more connection to follow
/// an HTTP redirect on the same server.
async fn analyse(
    target: &Target<'_>,
    service: Service,
    reply: &[u8],
    finding: &mut ServiceFinding,
    record: &mut Record,
) {
    match service {
        Service::Http | Service::Rtsp | Service::Sip => {
            analyse_http(target, reply, finding, record).await;
        }
        Service::Tls => {
            let answer =
                binary::tls_reply(reply).map_or_else(|| "answer".to_owned(), |r| r.describe());
            finding.detail = format!("TLS: a ClientHello got a {answer}");
            examine_inside_tls(target, finding, record).await;
        }
        Service::Mqtt => {
            let code = binary::mqtt_connack(reply).unwrap_or(u8::MAX);
            finding.detail = format!(
                "MQTT broker: CONNACK code {code} ({})",
                binary::mqtt_connack_meaning(code)
            );
        }
        Service::Adb => {
            let (detail, banner) = match binary::adb_reply(reply) {
                Some(AdbReply::Connected { banner }) => (
                    format!("ADB accepted the connection without authentication (CNXN, banner {banner:?})"),
                    banner,
                ),
                Some(AdbReply::AuthRequired) => (
                    "ADB daemon answered CNXN with AUTH: the Android debug bridge listens on the network".to_owned(),
                    String::new(),
                ),
                _ => (
                    "ADB daemon answered CNXN with STLS: the Android debug bridge listens on the network".to_owned(),
                    String::new(),
                ),
            };
            finding.detail = detail.clone();
            finding.debug_interface = Some(detail);
            finding.disclose_from(&banner);
        }
        Service::Gdbserver => {
            let features = binary::gdb_reply(reply).unwrap_or_default();
            let features: String = features.chars().take(160).collect();
            finding.detail = format!("gdb remote protocol: qSupported answered {features:?}");
            finding.debug_interface = Some(
                "a gdb remote-protocol stub (gdbserver, OpenOCD, QEMU or an on-chip gdbstub) answered qSupported"
                    .to_owned(),
            );
        }
        Service::Jdwp => {
            finding.detail = "JDWP agent completed the handshake".to_owned();
            finding.debug_interface =
                Some("a Java debug wire protocol (JDWP) agent accepted a debugger".to_owned());
        }
        Service::Openocd => {
            let text = telnet::console_text(reply).replace('\x1a', " ");
            finding.detail = "OpenOCD on-chip debugger".to_owned();
            finding.debug_interface = Some(
                "an OpenOCD on-chip debugger (JTAG/SWD bridge) answered without authentication"
                    .to_owned(),
            );
            finding.disclose_from(&text);
        }
        Service::Shell if telnet::shell_evaluated(reply) => {
            finding.detail =
                "a command sent right after connect was evaluated by a shell".to_owned();
            finding.debug_interface = Some(
                "a shell evaluated a command sent right after connect, without any login"
                    .to_owned(),
            );
        }
        Service::Shell => {
            finding.detail = "a shell prompt answered the probe".to_owned();
            finding.debug_interface = Some(shell_finding(false));
        }
        Service::Modbus => {
            finding.detail = "Modbus/TCP answered Read Device Identification".to_owned();
        }
        Service::Ssh => {
            let text = String::from_utf8_lossy(reply);
            let ident = text
                .lines()
                .find(|l| l.starts_with("SSH-"))
                .unwrap_or_default();
            finding.detail = format!("SSH identification {:?}", ident.trim());
            finding.disclose_from(ident);
        }
        Service::Ftp => {
            let text = telnet::console_text(reply);
            finding.detail = format!("FTP greeting {:?}", text.lines().next().unwrap_or_default());
            finding.cleartext_management = Some(
                "FTP: user names, passwords and files cross the network in clear text".to_owned(),
            );
            finding.disclose_from(&text);
        }
        Service::Telnet => {
            finding.detail = "telnet option negotiation".to_owned();
            finding.cleartext_management = Some(
                "telnet: everything typed, passwords included, crosses the network in clear text"
                    .to_owned(),
            );
            finding.disclose_from(&telnet::console_text(reply));
        }
        Service::Smtp => {
            let text = telnet::console_text(reply);
            finding.detail = format!(
                "SMTP greeting {:?}",
                text.lines().next().unwrap_or_default()
            );
            finding.disclose_from(&text);
        }
        other => {
            finding.detail = format!("{other} answered");
            finding.disclose_from(&telnet::console_text(reply));
        }
    }
}

/// HTTP-shaped answers: software headers, an administration door, one redirect.
async fn analyse_http(
    target: &Target<'_>,
    reply: &[u8],
    finding: &mut ServiceFinding,
    record: &mut Record,
) {
    let Some(response) = http::parse_response(reply) else {
        return;
    };
    finding.service = Some(response.service());
    disclose_http(&response, finding);
    let mut detail = format!(
        "{} {} {}",
        response.head.protocol, response.head.status, response.head.reason
    );
    let mut admin = http::admin_sign(&response).map(|sign| (String::from("/"), sign));
    if admin.is_none() {
        match http::redirect(&response) {
            Some(Redirect::ToTls) => detail.push_str("; redirects to HTTPS"),
            Some(Redirect::Page { authority, path })
                if same_server(authority.as_deref(), target) =>
            {
                detail.push_str(&format!("; redirects to {path}"));
                if let Some(followed) = fetch(target, &path, record).await {
                    disclose_http(&followed, finding);
                    admin = http::admin_sign(&followed).map(|sign| (path.clone(), sign));
                }
            }
            Some(Redirect::Page { .. }) => detail.push_str("; redirects to another server"),
            None => {}
        }
    }
    if let Some((path, sign)) = admin {
        if response.service() == Service::Http {
            let description = sign.describe();
            detail.push_str(&format!("; {path} {description}"));
            finding.cleartext_management = Some(format!(
                "HTTP administration interface without TLS: {path} {description}"
            ));
        }
    }
    finding.detail = detail;
}

/// What a TLS port says inside TLS: an HTTP head (the `Server` header of an HTTPS
/// administration page), a greeting of a server-first protocol, or an MQTT CONNACK.
/// The handshake accepts any certificate. Sets what the disclosure check may rest on.
async fn examine_inside_tls(
    target: &Target<'_>,
    finding: &mut ServiceFinding,
    record: &mut Record,
) {
    let http_answer = match Session::open_tls(target, "GET / inside TLS").await {
        Ok(mut session) => {
            let mut answer = None;
            if session
                .send(&http::get_request(&target.authority(), "/"))
                .await
                .is_ok()
            {
                let read = session
                    .read_until_end(identify::HTTP_RESPONSE_CAP, FIRST_BYTE_WAIT, |reply| {
                        end::reply_progress(TcpProbe::Http, reply)
                    })
                    .await;
                if let Read::Data(reply, ended) = read {
                    answer = Some((reply, ended));
                }
            }
            record.add(session);
            answer
        }
        Err((title, error)) => {
            record.note(&title, &error);
            finding.banner_seen = Observation::Unfinished(format!(
                "the TLS handshake did not complete ({error}), so what the service says inside TLS was not read"
            ));
            return;
        }
    };
    if let Some((reply, ended)) = &http_answer {
        if let Some(response) = http::parse_response(reply) {
            disclose_http(&response, finding);
            finding.detail.push_str(&format!(
                "; inside TLS: {} {} {}",
                response.head.protocol, response.head.status, response.head.reason
            ));
            finding.banner_seen = ended.observation("the HTTP answer inside TLS", reply.len());
            return;
        }
        if let Some(service) = identify::identify_banner(reply) {
            finding.disclose_from(&telnet::console_text(reply));
            finding.detail.push_str(&format!("; inside TLS: {service}"));
            finding.banner_seen =
                ended.observation(&format!("the {service} greeting inside TLS"), reply.len());
            return;
        }
    }
    let mut session = match Session::open_tls(target, "MQTT CONNECT inside TLS").await {
        Ok(session) => session,
        Err((title, error)) => {
            record.note(&title, &error);
            finding.banner_seen = Observation::Unfinished(format!(
                "inside TLS the service did not answer an HTTP GET, and a second TLS connection failed ({error})"
            ));
            return;
        }
    };
    let mut connack = None;
    if session.send(&binary::mqtt_connect_request()).await.is_ok() {
        let read = session
            .read_until_end(BANNER_CAP, FIRST_BYTE_WAIT, |reply| {
                end::reply_progress(TcpProbe::Mqtt, reply)
            })
            .await;
        if let Read::Data(reply, _) = read {
            connack = binary::mqtt_connack(&reply);
        }
        if connack.is_some() {
            let _ = session.send(binary::MQTT_DISCONNECT).await;
        }
    }
    record.add(session);
    finding.banner_seen = match connack {
        Some(code) => {
            finding.detail.push_str(&format!(
                "; inside TLS: MQTT broker, CONNACK code {code} ({})",
                binary::mqtt_connack_meaning(code)
            ));
            Observation::Complete(
                "inside TLS, a whole MQTT CONNACK (MQTT sends no banner before authentication)"
                    .to_owned(),
            )
        }
        None => Observation::Unfinished(
            "inside TLS the service answered neither an HTTP GET nor an MQTT CONNECT, so what it says was not read"
                .to_owned(),
        ),
    };
}

/// A redirect target on this same server: no authority, or this address and port.
fn same_server(authority: Option<&str>, target: &Target<'_>) -> bool {
    let Some(authority) = authority else {
        return true;
    };
    let address = match target.unit.address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    authority == target.authority() || (target.port == 80 && authority == address)
}

/// GET one path on the port (one redirect is followed, never more).
async fn fetch(target: &Target<'_>, path: &str, record: &mut Record) -> Option<http::Response> {
    let mut session = match Session::open(target, format!("GET {path}")).await {
        Ok(session) => session,
        Err((title, error)) => {
            record.note(&title, &error);
            return None;
        }
    };
    let mut response = None;
    if session
        .send(&http::get_request(&target.authority(), path))
        .await
        .is_ok()
    {
        let read = session
            .read_until_end(identify::HTTP_RESPONSE_CAP, FIRST_BYTE_WAIT, |reply| {
                end::reply_progress(TcpProbe::Http, reply)
            })
            .await;
        if let Read::Data(reply, _) = read {
            response = http::parse_response(&reply);
        }
    }
    record.add(session);
    response
}

/// Versions in software headers, and in body lines that name a firmware.
fn disclose_http(response: &http::Response, finding: &mut ServiceFinding) {
    for name in SOFTWARE_HEADERS {
        for (key, value) in &response.head.headers {
            if key.eq_ignore_ascii_case(name) {
                finding.disclose_from(&format!("{key}: {value}"));
            }
        }
    }
    let body = String::from_utf8_lossy(&response.body);
    for line in body.lines().take(2000) {
        let lower = line.to_ascii_lowercase();
        if lower.contains("firmware") {
            let excerpt: String = strip_tags(line).chars().take(300).collect();
            finding.disclose_from(&excerpt);
        }
    }
}

/// HTML text without its tags, so `<td>Firmware</td><td>1.0.3</td>` reads `Firmware 1.0.3`.
fn strip_tags(line: &str) -> String {
    let mut text = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
