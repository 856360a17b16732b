//! The short binary and line replies of logins reach the credentials suite's parsers:
//! MQTT CONNACK (3.1.1 and 5), FTP replies, SNMP GetResponse. None may panic, loop or
//! allocate without bound, whatever the bytes.
#![no_main]
use iotcert_suite_credentials::parse::ftp::parse_reply;
use iotcert_suite_credentials::parse::mqtt::{parse_connack, MqttVersion};
use iotcert_suite_credentials::parse::snmp::parse_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_connack(data, MqttVersion::V311);
    let _ = parse_connack(data, MqttVersion::V5);
    if let Some(reply) = parse_reply(data) {
        assert!(reply.length <= data.len());
    }
    if let Some(response) = parse_response(data) {
        assert!(response.community.len() <= data.len());
    }
});
