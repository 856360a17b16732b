//! The protofuzz oracles read whatever a fuzzed device answers: MQTT CONNACK and
//! PINGRESP detection, CoAP and HTTP answer checks must never panic on any bytes.
#![no_main]

use iotcert_suite_protofuzz::{coap, http, mqtt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mqtt::is_connack(data);
    let _ = mqtt::has_pingresp(data);
    let _ = coap::is_coap(data);
    let _ = http::is_http(data);
    let _ = http::head_complete(data);
});
