//! CoAP datagrams from devices and fuzzed clients reach the shared reader
//! (`iotcert_wire::coap`): the header, the lenient option walk and the strict message
//! parser. None may panic; the header survives encoding, and a message the strict parser
//! accepts encodes to bytes it parses back to the same message.
#![no_main]
use iotcert_wire::coap::{encode, parse, parts, Header, Part, HEADER_LENGTH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(header) = Header::parse(data) {
        assert_eq!(Some(&header.encode()[..]), data.get(..HEADER_LENGTH));
        if let Some(token) = header.token(data) {
            let after = data.get(HEADER_LENGTH + token.len()..).unwrap_or_default();
            let mut previous = 0;
            for part in parts(after) {
                match part {
                    Ok(Part::Option { number, value }) => {
                        assert!(number >= previous, "option numbers go down");
                        assert!(value.len() <= after.len());
                        previous = number;
                    }
                    Ok(Part::Payload(payload)) => assert!(payload.len() < after.len()),
                    Err(_) => {}
                }
            }
        }
    }
    if let Ok(message) = parse(data) {
        assert_eq!(parse(&encode(&message)), Ok(message));
    }
});
