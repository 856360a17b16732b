//! The checks of the suite, one per fuzzed protocol and decided per unit, and the
//! version of the rules that decide them.

use crate::exec::Protocol;
use iotcert_suite::check::standards;
use iotcert_suite::{CheckScope, CheckSpec, Modal};

/// The suite's version: bumped whenever generators or verdict rules change (a seed
/// replays the same cases only within one version).
pub const SUITE_VERSION: &str = "0.4.1";

pub const MQTT: &str = "protofuzz.mqtt";
pub const COAP: &str = "protofuzz.coap";
pub const HTTP: &str = "protofuzz.http";

const REMEDIATION: &str = "Validate every field of every message before use (lengths against the bytes received and against the buffers they fill, option numbers, reserved values), reject malformed input with the protocol's error answer, and fuzz the parsers during development; a service must survive any input without crashing, hanging or restarting.";

/// The check deciding `protocol`.
pub fn check_for(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Mqtt => MQTT,
        Protocol::Coap => COAP,
        Protocol::Http => HTTP,
    }
}

/// The protocol a check fuzzes.
pub fn protocol_of(check: &str) -> Option<Protocol> {
    Protocol::ALL.into_iter().find(|p| check_for(*p) == check)
}

/// The checks as the engine and reports see them.
pub fn specs() -> Vec<CheckSpec> {
    let spec = |id: &str, title: &str, what: &str, top10: &[&str]| {
        CheckSpec {
        id: id.to_owned(),
        title: title.to_owned(),
        modal: Modal::Shall,
        scope: CheckScope::PerUnit,
        description: format!("Sends seeded, structure-aware malformed {what} to every declared cleartext interface of the protocol, within the profile's [protofuzz] budget and the unit's pacer, and probes the fuzzed service (and every other declared service) for liveness after each batch. A service that stops answering fails the check, with a reproducer (exact bytes and session) shrunk to a minimal case and replayed; a service that never comes back within the recovery wait leaves the check INCONCLUSIVE with the last cases as evidence. So does a service that never answered a well-formed request, a budget the suite deadline cut, and a declared interface of the protocol this version cannot fuzz, inside TLS or over another transport (not covered by this suite version)."),
        remediation: REMEDIATION.to_owned(),
        positive_control: "On every declared interface of the protocol (none inside TLS or over another transport, which this version cannot fuzz), the fuzzed service answered a well-formed request before the first case and after the last, the budget was spent (every case of cases_per_protocol sent, or seconds_per_protocol used up first; a run cut by the suite deadline or a cancellation has not spent it), and at least one case drew another kind of answer than a well-formed request draws (a service answering every malformed case as it answers a good one shows no parser they reached).".to_owned(),
        standards: standards(&["5.13-1"], &["5.13-1-2"], &[], top10),
    }
    };
    vec![
        spec(
            MQTT,
            "The MQTT service survives malformed MQTT packets",
            "MQTT 3.1.1 packets (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, remaining-length edge cases, extreme topics and payloads, sent after a valid CONNECT)",
            &["I2"],
        ),
        spec(
            COAP,
            "The CoAP service survives malformed CoAP messages",
            "CoAP datagrams (header, token length, option deltas and lengths in short, extended and reserved forms, payload markers)",
            &["I2"],
        ),
        spec(
            HTTP,
            "The HTTP service survives malformed HTTP requests",
            "HTTP/1.1 requests (request line, headers, Content-Length and chunked framing)",
            &["I2", "I3"],
        ),
    ]
}
