//! The protofuzz suite decides from a device's answer whether a service is alive
//! (`coap::answers_probe`) and whether an MQTT broker accepted the session the cases
//! run in (`mqtt::connack_code`). Both read bytes the device chose: they may never
//! panic, an echo of the probe is never an answer, and a CONNACK's code is read from
//! inside that CONNACK, never from whatever the broker sent after it.
#![no_main]
use iotcert_suite_protofuzz::{coap, mqtt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes stand for the probe's message id, the rest for the answer.
    let (id, answer) = match data {
        [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
        _ => (0, data),
    };
    if coap::answers_probe(answer, id) {
        assert!(coap::is_coap(answer), "an answer that is not CoAP");
        let kind = (answer[0] >> 4) & 0b11;
        if kind >= 2 {
            assert_eq!(
                u16::from_be_bytes([answer[2], answer[3]]),
                id,
                "an ACK or Reset of another message id"
            );
        }
    }
    assert!(!coap::answers_probe(&coap::probe(id), id), "an echo");

    if let Some(code) = mqtt::connack_code(data) {
        assert!(mqtt::is_connack(data));
        // The remaining length, then the acknowledge flags and the code inside it.
        let mut length = 0usize;
        let mut length_bytes = 0usize;
        for (index, byte) in data.iter().skip(1).take(4).enumerate() {
            length |= usize::from(byte & 0x7f) << (7 * index);
            length_bytes = index + 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        assert!(
            length >= 2,
            "code {code} read past a CONNACK of {length} bytes"
        );
        assert_eq!(data.get(1 + length_bytes + 1), Some(&code));
    }
});
