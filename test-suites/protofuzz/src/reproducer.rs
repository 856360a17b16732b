//! The reproducer of a finding, and `replay`, which sends it again.
//!
//! # Reproducer format (JSON, evidence kind `reproducer`, `application/json`)
//!
//! ```json
//! {
//!   "format": "iotcert-protofuzz-reproducer/1",
//!   "suite_version": "0.1.0",
//!   "unit": "unit-1",
//!   "address": "127.77.2.1",
//!   "port": 1883,
//!   "transport": "tcp",
//!   "protocol": "mqtt",
//!   "seed": 275828295,
//!   "case_index": 17,
//!   "kind": "publish",
//!   "session_hex": ["101a00044d5154540402001e000c696f74636572742d66757a7a"],
//!   "message_hex": "3083080401...",
//!   "message": {"node": "seq", "items": [...]},
//!   "watch": [{"port": 1883, "transport": "tcp", "protocol": "mqtt", "service": "mqtt"}],
//!   "dead": ["1883/tcp mqtt: no answer to a mqtt probe within 1000 ms"],
//!   "recovered_after_ms": 2150,
//!   "original_message_hex": "..."
//! }
//! ```
//!
//! To replay: open one TCP connection (UDP: one datagram) to `address:port`; send each
//! `session_hex` item and wait for an answer; send `message_hex`; for MQTT send a
//! PINGREQ (`c000`); then probe every `watch` service (MQTT CONNECT answered by a CONNACK,
//! CoAP `GET /.well-known/core` answered by any CoAP message, HTTP `GET /` answered by
//! `HTTP/`, other TCP services a completed connect). The failure replays when a watched
//! service that answered before no longer does. `message` is the same bytes as a field
//! tree (see [`crate::node::Node`]); `message_hex` is authoritative. `seed`, `protocol`
//! and `case_index` regenerate the original, unshrunk case, whose bytes are
//! `original_message_hex` when they are at most [`ORIGINAL_HEX_LIMIT`] bytes (empty
//! otherwise, so that a reproducer always fits one evidence item whole).

use crate::budget::settings;
use crate::checks::SUITE_VERSION;
use crate::exec::{AnswerClock, Case, Exec, Protocol, Watched, Wire};
use crate::node::Node;
use crate::options::ProtofuzzOptions;
use iotcert_suite::profile::Transport;
use iotcert_suite::{RunContext, Transcript};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The value of `format` in every reproducer this version writes.
pub const REPRODUCER_FORMAT: &str = "iotcert-protofuzz-reproducer/1";

/// The largest original (unshrunk) message whose bytes a reproducer repeats.
pub const ORIGINAL_HEX_LIMIT: usize = 4096;

/// A minimal case that made a service stop answering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reproducer {
    pub format: String,
    pub suite_version: String,
    pub unit: String,
    pub address: IpAddr,
    pub port: u16,
    pub transport: Transport,
    pub protocol: Protocol,
    pub seed: u64,
    pub case_index: u64,
    pub kind: String,
    pub session_hex: Vec<String>,
    pub message_hex: String,
    pub message: Node,
    pub watch: Vec<Watched>,
    pub dead: Vec<String>,
    #[serde(default)]
    pub recovered_after_ms: Option<u64>,
    pub original_message_hex: String,
}

impl Reproducer {
    /// The exact bytes to send, decoded from the hex fields.
    pub fn wire(&self) -> Result<Wire, String> {
        let decode = |text: &str| hex::decode(text).map_err(|e| format!("bad hex: {e}"));
        Ok(Wire {
            protocol: self.protocol,
            session: self
                .session_hex
                .iter()
                .map(|s| decode(s))
                .collect::<Result<_, _>>()?,
            message: decode(&self.message_hex)?,
        })
    }

    pub(crate) fn from_case(
        unit: &str,
        address: IpAddr,
        port: u16,
        case: &Case,
        original: &Case,
        watch: Vec<Watched>,
        dead: Vec<String>,
    ) -> Reproducer {
        let wire = case.wire();
        Reproducer {
            format: REPRODUCER_FORMAT.to_owned(),
            suite_version: SUITE_VERSION.to_owned(),
            unit: unit.to_owned(),
            address,
            port,
            transport: case.protocol.transport(),
            protocol: case.protocol,
            seed: case.seed,
            case_index: case.index,
            kind: case.kind.clone(),
            session_hex: wire.session.iter().map(hex::encode).collect(),
            message_hex: hex::encode(&wire.message),
            message: case.message.clone(),
            watch,
            dead,
            recovered_after_ms: None,
            original_message_hex: Some(original.message.encode())
                .filter(|bytes| bytes.len() <= ORIGINAL_HEX_LIMIT)
                .map(hex::encode)
                .unwrap_or_default(),
        }
    }
}

/// What a replay showed.
#[derive(Debug)]
pub enum ReplayOutcome {
    /// These watched services stopped answering after the reproducer was sent.
    Reproduced {
        dead: Vec<String>,
        transcript: Transcript,
    },
    /// Every watched service still answered.
    NotReproduced { transcript: Transcript },
    /// A watched service did not answer before anything was sent: nothing can be judged.
    NotAlive(String),
    /// The reproducer is unusable here (format, unit, hex, scope).
    Invalid(String),
}

/// Send a reproducer again to the unit it names (by id, else by address) in `ctx`,
/// through the context's scope guard and pacer, and say whether the failure replays.
/// Waits and credentials come from the profile's `[protofuzz]` section, as in the run
/// that found it.
pub async fn replay(ctx: &RunContext, reproducer: &Reproducer) -> ReplayOutcome {
    if reproducer.format != REPRODUCER_FORMAT {
        return ReplayOutcome::Invalid(format!(
            "format {:?} is not {REPRODUCER_FORMAT:?}",
            reproducer.format
        ));
    }
    let Some(unit) = ctx
        .units
        .iter()
        .find(|u| u.id == reproducer.unit)
        .or_else(|| ctx.units.iter().find(|u| u.address == reproducer.address))
    else {
        return ReplayOutcome::Invalid(format!(
            "no unit {} ({}) in the profile",
            reproducer.unit, reproducer.address
        ));
    };
    if let Err(out) = ctx.scope.check(unit.address) {
        return ReplayOutcome::Invalid(out.to_string());
    }
    let wire = match reproducer.wire() {
        Ok(wire) => wire,
        Err(why) => return ReplayOutcome::Invalid(why),
    };
    let options = match ctx.profile.section_or_default::<ProtofuzzOptions>() {
        Ok(options) => options,
        Err(error) => return ReplayOutcome::Invalid(format!("the profile: {error}")),
    };
    let (settings, _) = settings(&options);
    let exec = Exec {
        ctx,
        unit,
        settings,
        clock: AnswerClock::default(),
    };
    let before = exec.dead(&reproducer.watch, 0x5a00).await;
    if let Some((watched, why)) = before.first() {
        return ReplayOutcome::NotAlive(format!("{watched}: {why}"));
    }
    let mut transcript = Transcript::new();
    let end = exec.send(reproducer.port, &wire, &mut transcript).await;
    transcript.remark(&format!("case ended: {end:?}"));
    let dead: Vec<String> = exec
        .dead(&reproducer.watch, 0x5b00)
        .await
        .into_iter()
        .map(|(watched, why)| format!("{watched}: {why}"))
        .collect();
    for line in &dead {
        transcript.remark(&format!("dead after replay: {line}"));
    }
    if dead.is_empty() {
        ReplayOutcome::NotReproduced { transcript }
    } else {
        ReplayOutcome::Reproduced { dead, transcript }
    }
}
