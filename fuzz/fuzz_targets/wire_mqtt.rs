//! MQTT packets from brokers and clients reach the shared fixed-header reader
//! (`iotcert_wire::mqtt`). It may never panic or read more than four length bytes; a
//! packet it splits off lies inside the input with exactly its remaining length, and the
//! length it read encodes again (in the shortest form) to a length that decodes the same.
#![no_main]
use iotcert_wire::mqtt::{
    decode_remaining_length, encode_remaining_length, parse_fixed_header, split_packet,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((length, used))) = decode_remaining_length(data) {
        assert!((1..=4).contains(&used));
        let encoded = encode_remaining_length(length);
        assert!(encoded.len() <= used);
        assert_eq!(
            decode_remaining_length(&encoded),
            Ok(Some((length, encoded.len())))
        );
    }
    if let Ok(Some(header)) = parse_fixed_header(data) {
        assert!((2..=5).contains(&header.header_length));
        assert_eq!(data.first(), Some(&header.first_byte()));
    }
    if let Ok(Some((header, body))) = split_packet(data) {
        assert!(header.packet_length() <= data.len());
        assert_eq!(body.len(), header.remaining_length);
    }
});
