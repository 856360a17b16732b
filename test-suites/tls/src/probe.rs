//! One hand-built ClientHello sent to one TLS port, and the server's answer read back
//! within a time limit and a byte cap.
//!
//! Every connection goes through [`RunContext::connect_tcp`] (scope guard and pacer). A
//! hostile server (endless bytes, absurd lengths, silence) ends the probe with a
//! [`ProbeError`] that the verdicts turn into INCONCLUSIVE, never a hang or a panic.

use crate::wire::{self, HelloSpec, ServerFlight, WireError};
use iotcert_suite::net::{NetError, ReadEnd};
use iotcert_suite::{RunContext, SampleUnit};
use std::fmt;
use std::time::Duration;

/// The most bytes read from a server for one hello: a full first flight with a long
/// chain fits; a 16 MB certificate does not.
pub const READ_CAP: usize = 512 * 1024;
/// The most bytes read after the heartbeat request.
const HEARTBEAT_READ_CAP: usize = 64 * 1024;

/// The port under inspection.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub ctx: &'a RunContext,
    pub unit: &'a SampleUnit,
    pub port: u16,
    pub timeout: Duration,
}

/// How the server answered a ClientHello.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A ServerHello (and what followed it).
    Hello(ServerFlight),
    /// An alert, or the connection closed or went silent before any ServerHello.
    Refused(Option<wire::Alert>),
}

/// A probe that could not be decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    /// The connection failed (closed port, unreachable, timeout on connect).
    Network(NetError),
    /// The port answered something that is not TLS.
    NotTls(String),
    /// The server sent TLS that cannot be read (malformed, too long, over the cap).
    Hostile(String),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Network(error) => write!(f, "network: {error}"),
            ProbeError::NotTls(why) => write!(f, "the port does not speak TLS: {why}"),
            ProbeError::Hostile(why) => write!(f, "unreadable TLS answer: {why}"),
        }
    }
}

/// One exchange: what was sent, what came back, and what it meant.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub sent: Vec<u8>,
    pub received: Vec<u8>,
    pub answer: Answer,
    /// Heartbeat request sent after the flight, and the bytes that answered it.
    pub heartbeat: Option<Vec<u8>>,
}

/// Sends the hello of `spec` and reads the answer. With `heartbleed`, and only when the
/// server agreed to heartbeats and finished its flight, one over-long heartbeat request
/// follows, and its answer is read (capped).
pub async fn send_hello(
    target: Target<'_>,
    spec: &HelloSpec,
    heartbleed: bool,
) -> Result<Exchange, ProbeError> {
    let hello = wire::client_hello(spec);
    let mut connection = target
        .ctx
        .connect_tcp(target.unit, target.port, target.timeout)
        .await
        .map_err(ProbeError::Network)?;
    connection
        .send(&hello, target.timeout)
        .await
        .map_err(ProbeError::Network)?;
    let (received, end) = connection
        .recv_until(READ_CAP, target.timeout, |bytes| {
            wire::parse_server_flight(bytes).map_or(true, |flight| flight.is_complete())
        })
        .await;
    let flight = match wire::parse_server_flight(&received) {
        Ok(flight) => flight,
        Err(WireError::NotTls(byte)) => {
            return Err(ProbeError::NotTls(format!(
                "first byte 0x{byte:02x} is no TLS record type"
            )))
        }
        Err(error) => return Err(ProbeError::Hostile(error.to_string())),
    };
    if end == ReadEnd::Cap && !flight.is_complete() {
        return Err(ProbeError::Hostile(format!(
            "more than {READ_CAP} bytes without the end of the server's first flight"
        )));
    }
    if flight.server_hello.is_none() {
        // Only an alert or a close is a refusal. Silence, or an answer cut by the time
        // limit (a server sending a byte a second), is not: a busy server may answer a
        // moment later, and a slow one may be accepting.
        if flight.alert.is_none() {
            match &end {
                ReadEnd::Timeout => return Err(ProbeError::Network(NetError::Timeout)),
                ReadEnd::Error(error) if !matches!(error, NetError::Reset) => {
                    return Err(ProbeError::Network(error.clone()))
                }
                _ => {}
            }
        }
        return Ok(Exchange {
            sent: hello,
            received,
            answer: Answer::Refused(flight.alert),
            heartbeat: None,
        });
    }
    let mut heartbeat = None;
    let agreed = flight
        .server_hello
        .as_ref()
        .is_some_and(|h| h.heartbeat && h.version < wire::TLS13);
    if heartbleed && agreed && flight.hello_done {
        let request = wire::heartbleed_request(spec.version.min(wire::TLS12));
        if connection.send(&request, target.timeout).await.is_ok() {
            let (answer, _) = connection
                .recv_until(HEARTBEAT_READ_CAP, target.timeout, |bytes| {
                    wire::parse_server_flight(bytes).map_or(true, |f| {
                        !f.heartbeat_responses.is_empty() || f.alert.is_some()
                    })
                })
                .await;
            heartbeat = Some(answer);
        }
    }
    Ok(Exchange {
        sent: hello,
        received,
        answer: Answer::Hello(flight),
        heartbeat,
    })
}
