//! The protofuzz oracles read whatever a fuzzed device answers: MQTT CONNACK and
//! PINGRESP detection, CoAP and HTTP answer checks and the health endpoint's judgement
//! must never panic on any bytes.
#![no_main]

use iotcert_suite_protofuzz::{coap, http, mqtt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mqtt::is_connack(data);
    let _ = mqtt::has_pingresp(data);
    let _ = coap::is_coap(data);
    let _ = http::is_http(data);
    let _ = http::head_complete(data);
    // The first bytes, up to a NUL, stand for the expected health text.
    let split = data.iter().position(|&b| b == 0).unwrap_or(0);
    let (expect, answer) = data.split_at(split);
    let expect = std::str::from_utf8(expect).ok();
    let _ = http::health_complete(answer, expect);
    let _ = http::judge_health(answer, expect);
});
