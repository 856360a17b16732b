//! Login probes: one attempt of one credential against one service of one unit.
//!
//! Each probe speaks its protocol for real and returns an [`Outcome`] it can defend:
//! [`Outcome::Accepted`] only on the protocol's explicit sign of success (a shell that
//! evaluates a command, a 2xx behind a challenge, CONNACK 0, FTP 230, an SNMP response
//! echoing our request), never because a device said something unexpected. Every
//! connection goes through [`RunContext::connect_tcp`] (scope guard and pacer), every
//! read is capped and timed out, and everything exchanged is kept as a transcript.

pub mod ftp;
pub mod http;
pub mod link;
pub mod mqtt;
pub mod rtsp;
pub mod snmp;
pub mod ssh;
pub mod telnet;

use iotcert_suite::{NetError, RunContext, SampleUnit, Transcript};
use serde::Serialize;
use std::fmt;
use std::time::{Duration, Instant};

/// The protocols the suite can log in to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Telnet,
    Ssh,
    Http,
    Mqtt,
    Ftp,
    Rtsp,
    Snmp,
}

impl Protocol {
    /// Every protocol, in the order the suite tries them.
    pub const ALL: [Protocol; 7] = [
        Protocol::Ssh,
        Protocol::Telnet,
        Protocol::Http,
        Protocol::Ftp,
        Protocol::Rtsp,
        Protocol::Mqtt,
        Protocol::Snmp,
    ];

    /// The protocol and TLS flag for a declared service name (`https` is HTTP over
    /// TLS); `None` for services without a password login.
    pub fn from_service(service: &str) -> Option<(Protocol, bool)> {
        Some(match service.to_ascii_lowercase().as_str() {
            "telnet" => (Protocol::Telnet, false),
            "ssh" => (Protocol::Ssh, false),
            "http" | "http-admin" | "www" => (Protocol::Http, false),
            "https" | "https-admin" => (Protocol::Http, true),
            "mqtt" => (Protocol::Mqtt, false),
            "mqtts" | "secure-mqtt" => (Protocol::Mqtt, true),
            "ftp" => (Protocol::Ftp, false),
            "ftps" => (Protocol::Ftp, true),
            "rtsp" => (Protocol::Rtsp, false),
            "rtsps" => (Protocol::Rtsp, true),
            "snmp" => (Protocol::Snmp, false),
            _ => return None,
        })
    }

    /// The name used in the credential database and reports.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Telnet => "telnet",
            Protocol::Ssh => "ssh",
            Protocol::Http => "http",
            Protocol::Mqtt => "mqtt",
            Protocol::Ftp => "ftp",
            Protocol::Rtsp => "rtsp",
            Protocol::Snmp => "snmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One service of one unit to log in to.
#[derive(Clone, Debug)]
pub struct Target {
    pub unit: SampleUnit,
    pub port: u16,
    pub protocol: Protocol,
    pub tls: bool,
    /// HTTP path of the login page or protected resource; RTSP path of the stream.
    pub path: String,
    /// Time allowed for one whole attempt (connect, prompts, answer).
    pub attempt_timeout: Duration,
}

impl Target {
    /// `127.0.0.1:23/telnet` style label for reports.
    pub fn label(&self) -> String {
        let tls = if self.tls { "+tls" } else { "" };
        format!(
            "{} {}:{}/{}{tls}",
            self.unit.id, self.unit.address, self.port, self.protocol
        )
    }
}

/// A username and password to try. `username: None` is an anonymous login (MQTT
/// without a username, an SNMP community, which has no user).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Login {
    pub username: Option<String>,
    pub password: String,
}

impl Login {
    pub fn new(username: &str, password: &str) -> Login {
        Login {
            username: Some(username.to_owned()),
            password: password.to_owned(),
        }
    }

    /// `user/password` for reports, `(anonymous)` and `(empty)` spelled out.
    pub fn display(&self) -> String {
        let user = self.username.as_deref().unwrap_or("(anonymous)");
        let password = if self.password.is_empty() {
            "(empty)"
        } else {
            &self.password
        };
        format!("{user}/{password}")
    }
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// The device let us in, by the protocol's explicit sign of success.
    Accepted,
    /// The device refused the credential.
    Refused,
    /// The device refused to judge the credential for now: lockout, rate limit, delay
    /// message, or connections refused after earlier attempts.
    Throttled(String),
    /// Nothing could be concluded (no prompt, garbage, timeout); the reason says why.
    Undecided(String),
    /// No connection could be made.
    Unreachable(String),
    /// The device took the connection and closed it before its greeting: it holds no
    /// more connections at once (a per-address limit). Try again when one ends.
    TurnedAway(String),
    /// The service answered and offers no password login (an SSH server without the
    /// password and keyboard-interactive methods; an HTTP path without a basic or digest
    /// challenge or a login form): nothing a password could open, as observed.
    NoPasswordLogin(String),
}

impl Outcome {
    /// Short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Refused => "refused",
            Outcome::Throttled(_) => "throttled",
            Outcome::Undecided(_) => "undecided",
            Outcome::Unreachable(_) => "unreachable",
            Outcome::TurnedAway(_) => "turned away",
            Outcome::NoPasswordLogin(_) => "no password login",
        }
    }

    /// Whether the device judged the credential (accepted or refused it).
    pub fn is_judged(&self) -> bool {
        matches!(self, Outcome::Accepted | Outcome::Refused)
    }

    /// The reason an outcome carries, or its word when it carries none.
    pub fn detail(&self) -> String {
        match self {
            Outcome::Throttled(why)
            | Outcome::Undecided(why)
            | Outcome::Unreachable(why)
            | Outcome::TurnedAway(why)
            | Outcome::NoPasswordLogin(why) => why.clone(),
            Outcome::Accepted | Outcome::Refused => self.word().to_owned(),
        }
    }

    /// `word: detail` for a summary.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Throttled(why)
            | Outcome::Undecided(why)
            | Outcome::Unreachable(why)
            | Outcome::TurnedAway(why)
            | Outcome::NoPasswordLogin(why) => format!("{}: {why}", self.word()),
            Outcome::Accepted | Outcome::Refused => self.word().to_owned(),
        }
    }
}

/// Something a service showed on the way that must differ from unit to unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// An SSH host key fingerprint (`SHA256:...`).
    HostKey(String),
    /// A web session a form login opened.
    Session(http::WebSession),
}

/// What one attempt produced.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    pub elapsed: Duration,
    pub transcript: Transcript,
    /// Identity the service showed on the way (SSH host key fingerprint, HTTP session
    /// cookie), for the uniqueness check.
    pub identity: Option<Identity>,
    /// How long the device took to judge the credential itself, when the probe can tell
    /// it apart from connection setup (SSH: the key exchange costs more than a fast
    /// refusal and is no delay of the device's making).
    pub answer: Option<Duration>,
}

impl Attempt {
    /// The time the device took to answer the credential: [`Attempt::answer`] when known,
    /// otherwise the whole attempt.
    pub fn answer_time(&self) -> Duration {
        self.answer.unwrap_or(self.elapsed)
    }
}

/// Try `login` once on `target`.
pub async fn attempt(ctx: &RunContext, target: &Target, login: &Login) -> Attempt {
    let started = Instant::now();
    let mut transcript = Transcript::new();
    let mut answer = None;
    let work = async {
        match target.protocol {
            Protocol::Telnet => telnet::attempt(ctx, target, login, &mut transcript).await,
            Protocol::Ssh => ssh::attempt(ctx, target, login, &mut transcript, &mut answer).await,
            Protocol::Http => http::attempt(ctx, target, login, &mut transcript).await,
            Protocol::Mqtt => mqtt::attempt(ctx, target, login, &mut transcript).await,
            Protocol::Ftp => ftp::attempt(ctx, target, login, &mut transcript).await,
            Protocol::Rtsp => rtsp::attempt(ctx, target, login, &mut transcript).await,
            Protocol::Snmp => snmp::attempt(ctx, target, login, &mut transcript).await,
        }
    };
    // Each probe bounds its own reads; this outer bound also covers a device that
    // drips one byte at a time just inside every read timeout.
    let (outcome, identity) = match tokio::time::timeout(target.attempt_timeout, work).await {
        // However the probe worded the failure, a server that demands a client
        // certificate offers no password login.
        Ok((outcome, identity))
            if !outcome.is_judged()
                && outcome.detail().contains(link::CLIENT_CERTIFICATE_REQUIRED) =>
        {
            (
                Outcome::NoPasswordLogin(link::CLIENT_CERTIFICATE_REQUIRED.to_owned()),
                identity,
            )
        }
        Ok(result) => result,
        Err(_) => (
            Outcome::Undecided(format!(
                "the attempt did not finish within {} ms",
                target.attempt_timeout.as_millis()
            )),
            None,
        ),
    };
    Attempt {
        outcome,
        elapsed: started.elapsed(),
        transcript,
        identity,
        answer,
    }
}

/// What a probe returns: the outcome and an identity seen on the way.
pub(crate) type ProbeResult = (Outcome, Option<Identity>);

/// The outcome for a connection that could not be made or broke.
pub(crate) fn network_outcome(error: &NetError, during: &str) -> Outcome {
    match error {
        NetError::Refused | NetError::Unreachable | NetError::OutOfScope(_) => {
            Outcome::Unreachable(format!("{during}: {error}"))
        }
        NetError::LocalResources(_) => Outcome::Unreachable(format!("{during}: {error}")),
        _ => Outcome::Undecided(format!("{during}: {error}")),
    }
}

/// The most bytes kept from one reply of a device.
pub(crate) const REPLY_CAP: usize = 64 * 1024;

/// A random token of `bytes` random bytes as hex (client nonces, bad passwords).
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if getrandom::fill(&mut buffer).is_err() {
        // Unpredictability only matters for nonces; the clock is an acceptable fallback.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        return format!("{nanos:x}");
    }
    hex::encode(buffer)
}
