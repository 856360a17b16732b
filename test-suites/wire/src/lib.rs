//! The wire formats iotcert reads from devices, written once.
//!
//! Every suite and the testbed speak some of the same protocols: telnet option
//! negotiation, BER (SNMP) and DER (CMS signatures), HTTP/1.x responses, MQTT fixed
//! headers and CoAP messages. Each used to carry its own parser, each a little
//! different (one telnet decoder lost a command split across two reads, one HTTP reader
//! alone understood chunked bodies). This crate is the one place they are read and
//! written, so a fix or a fuzz finding lands everywhere at once.
//!
//! Everything here is pure: functions and small state machines over byte slices, no
//! I/O, no clock. Bytes come from devices that may be hostile, so every read is bounded
//! (lengths are checked against what is left, counts and sizes are capped) and nothing
//! can panic: no `unwrap`, no indexing, checked arithmetic. Each module has a fuzz
//! target in `fuzz/` (`wire_telnet`, `wire_ber`, `wire_der`, `wire_http`, `wire_mqtt`,
//! `wire_coap`).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod ber;
pub mod coap;
pub mod der;
pub mod http;
pub mod mqtt;
pub mod telnet;
