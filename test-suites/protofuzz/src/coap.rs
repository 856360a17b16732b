//! CoAP (RFC 7252) cases and the CoAP oracle.
//!
//! Cases vary the header (version, type, token length against the token actually sent,
//! codes), the token, and above all the options: deltas and lengths in their short and
//! extended forms (nibbles 13 and 14 with one or two extension bytes, at the boundary
//! values 12/13, 268/269 and 65,804), the reserved nibble 15 where it is not a payload
//! marker, values longer or shorter than announced, option numbers that overflow, and a
//! payload marker with or without a payload. Block-wise cases (RFC 7959) send well-formed
//! option lists with Block2, Block1, Size2 and Size1 at their extremes: the reserved
//! block size 7, the largest block numbers, values of four bytes where three is the
//! most, a "more" flag with nothing to follow. Most cases are confirmable, so that a
//! server answers them at once (a response or a Reset) and the next case need not wait.
//!
//! The oracle is a confirmable `GET /.well-known/core`: any CoAP message back means alive.

use crate::node::{bytes, seq, Node};
use crate::rng::Rng;
use iotcert_wire::coap::{option_nibble, Header, MessageType, EMPTY_CODE, VERSION};

/// A confirmable GET of `/.well-known/core` with message id `message_id`.
pub fn probe(message_id: u16) -> Vec<u8> {
    let header = Header {
        version: VERSION,
        message_type: MessageType::Confirmable,
        token_length: 0,
        code: 0x01, // GET
        message_id,
    };
    let mut datagram = header.encode().to_vec();
    datagram.extend_from_slice(&[0xbb]);
    datagram.extend_from_slice(b".well-known");
    datagram.extend_from_slice(&[0x04]);
    datagram.extend_from_slice(b"core");
    datagram
}

/// Whether `reply` is a CoAP message (version 1, at least the 4-byte header).
pub fn is_coap(reply: &[u8]) -> bool {
    Header::parse(reply).is_some_and(|header| header.version == VERSION)
}

/// Whether `reply` answers [`probe`] with `message_id`: an ACK (piggybacked response or
/// empty) or a Reset carrying that message id, or a separate response (CON or NON with a
/// response code and the probe's empty token). An echo of the request, or bytes that
/// merely start like CoAP, are no answer.
pub fn answers_probe(reply: &[u8], message_id: u16) -> bool {
    let Some(header) = Header::parse(reply).filter(|header| header.version == VERSION) else {
        return false;
    };
    let same_id = header.message_id == message_id;
    let response_code = matches!(header.code >> 5, 2 | 4 | 5);
    match header.message_type {
        // ACK: a piggybacked response, or empty (the response follows separately).
        MessageType::Acknowledgement => same_id && (response_code || header.code == EMPTY_CODE),
        // Reset: the server refused the message, but it is there to say so.
        MessageType::Reset => same_id && header.code == EMPTY_CODE,
        // CON or NON: a separate response to the probe's empty token.
        MessageType::Confirmable | MessageType::NonConfirmable => {
            response_code && header.token_length == 0
        }
    }
}

/// An option delta or length: its nibble and the extension bytes, sometimes lying.
fn nibble(rng: &mut Rng, value_hint: u32) -> (u8, Vec<u8>) {
    match rng.below(16) {
        0 => (15, Vec::new()),
        1 => (13, vec![rng.pick(&[0u8, 1, 0xff], 0)]),
        2 => (
            14,
            rng.pick(&[[0u8, 0], [0xff, 0xff], [0xfe, 0xf3]], [0, 0])
                .to_vec(),
        ),
        3 => (13, Vec::new()),
        4 => (14, vec![0]),
        _ => option_nibble(value_hint),
    }
}

fn option(rng: &mut Rng) -> Node {
    let delta = rng.pick(&[0u32, 1, 3, 4, 7, 11, 12, 13, 268, 269, 1000], 11);
    let value_length = rng.pick(&[0u32, 1, 4, 8, 12, 13, 255, 268, 269, 1024], 1);
    let (delta_nibble, delta_extension) = nibble(rng, delta);
    let (length_nibble, length_extension) = nibble(rng, value_length);
    let mut value_length = usize::try_from(value_length).unwrap_or(0);
    if rng.chance(8) {
        // A value shorter than announced.
        value_length /= 2;
    }
    let value = if rng.chance(2) {
        rng.bytes(value_length.min(1024))
    } else {
        vec![b'a'; value_length.min(1024)]
    };
    seq(vec![
        bytes([delta_nibble << 4 | length_nibble]),
        bytes(delta_extension),
        bytes(length_extension),
        bytes(value),
    ])
}

/// Option numbers of RFC 7252 and RFC 7959 used by block-wise cases.
const URI_PATH: u32 = 11;
const BLOCK2: u32 = 23;
const BLOCK1: u32 = 27;
const SIZE2: u32 = 28;
const SIZE1: u32 = 60;

/// One option, correctly encoded, `delta` after the previous one.
fn encoded_option(delta: u32, value: &[u8]) -> Node {
    let (delta_nibble, delta_extension) = option_nibble(delta);
    let (length_nibble, length_extension) =
        option_nibble(u32::try_from(value.len()).unwrap_or(u32::MAX));
    seq(vec![
        bytes([delta_nibble << 4 | length_nibble]),
        bytes(delta_extension),
        bytes(length_extension),
        bytes(value.to_vec()),
    ])
}

/// A Block1 or Block2 value (NUM, M, SZX) at an extreme, minimally encoded, or one
/// byte too long, or empty.
fn block_value(rng: &mut Rng) -> Vec<u8> {
    let number = rng.pick(&[0u32, 1, 15, 16, 4095, 4096, 0xf_ffff], 0);
    let more = u32::from(rng.chance(2));
    let size_exponent = rng.pick(&[0u32, 2, 6, 7], 6);
    let value = number << 4 | more << 3 | size_exponent;
    let encoded = value.to_be_bytes();
    let minimal = encoded.iter().position(|b| *b != 0).unwrap_or(4);
    match rng.below(8) {
        0 => encoded.to_vec(),
        1 => Vec::new(),
        _ => encoded.get(minimal..).unwrap_or_default().to_vec(),
    }
}

/// A size value: zero, typical, or the largest four-byte one.
fn size_value(rng: &mut Rng) -> Vec<u8> {
    rng.pick(&[0u32, 1024, 0xffff_ffff], 1024)
        .to_be_bytes()
        .to_vec()
}

/// Uri-Path `status` then some of Block2, Block1, Size2 and Size1, in option order.
fn block_options(rng: &mut Rng) -> Vec<Node> {
    let mut options = vec![encoded_option(URI_PATH, b"status")];
    let mut previous = URI_PATH;
    for number in [BLOCK2, BLOCK1, SIZE2, SIZE1] {
        if !rng.chance(2) {
            continue;
        }
        let value = if number == BLOCK2 || number == BLOCK1 {
            block_value(rng)
        } else {
            size_value(rng)
        };
        options.push(encoded_option(number - previous, &value));
        previous = number;
    }
    if previous == URI_PATH {
        options.push(encoded_option(BLOCK2 - URI_PATH, &block_value(rng)));
    }
    options
}

/// One mutated datagram for case `rng`.
pub fn generate(rng: &mut Rng) -> (String, Node) {
    let version = if rng.chance(16) { rng.below_u8(4) } else { 1 };
    let kind = if rng.chance(8) { rng.below_u8(4) } else { 0 };
    let token_length = if rng.chance(8) {
        rng.below_u8(16)
    } else {
        rng.below_u8(9)
    };
    let token_sent = if rng.chance(8) {
        usize::from(token_length).saturating_sub(1)
    } else {
        usize::from(token_length.min(8))
    };
    let code = rng.pick(&[0x01u8, 0x01, 0x01, 0x02, 0x03, 0x04, 0x00, 0x45, 0xff], 1);
    let message_id = rng.bytes(2);
    let mut items = vec![
        bytes([version << 6 | kind << 4 | token_length, code]),
        bytes(message_id),
        bytes(rng.bytes(token_sent)),
    ];
    let what = match rng.below(5) {
        0 => "header",
        1 => "block-wise",
        _ => "options",
    };
    if what == "block-wise" {
        items.extend(block_options(rng));
    }
    if what == "options" {
        // A valid Uri-Path first, often, so the options after it reach the parser.
        if rng.chance(2) {
            items.push(bytes([0xb6, b's', b't', b'a', b't', b'u', b's']));
        }
        for _ in 0..=rng.below(5) {
            items.push(option(rng));
        }
    }
    match rng.below(4) {
        0 => items.push(bytes([0xff])),
        1 => items.push(bytes([0xff, b'{', b'}'])),
        _ => {}
    }
    (what.to_owned(), seq(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_is_libcoap_get() {
        // coap-client -m get coap://host/.well-known/core without a token.
        let mut expected = vec![0x40, 0x01, 0x12, 0x34, 0xbb];
        expected.extend_from_slice(b".well-known");
        expected.push(0x04);
        expected.extend_from_slice(b"core");
        assert_eq!(probe(0x1234), expected);
        assert!(is_coap(&[0x60, 0x45, 0x12, 0x34]));
        assert!(answers_probe(&[0x60, 0x45, 0x12, 0x34], 0x1234));
        assert!(answers_probe(&[0x70, 0x00, 0x12, 0x34], 0x1234));
        assert!(!answers_probe(&[0x60, 0x45, 0x12, 0x35], 0x1234));
        assert!(
            !answers_probe(&probe(0x1234), 0x1234),
            "an echo is no answer"
        );
        assert!(answers_probe(&[0x50, 0x45, 0x99, 0x99], 0x1234));
        assert!(!answers_probe(&[0x50, 0x01, 0x99, 0x99], 0x1234));
        assert!(!is_coap(&[0x60, 0x45]));
        assert!(!is_coap(&[0x80, 0x45, 0, 0]));
    }

    #[test]
    fn reserved_and_extended_nibbles_appear() {
        let mut reserved = 0;
        let mut extended = 0;
        for index in 0..500 {
            let (_, node) = generate(&mut Rng::for_case(9, "coap", index));
            let datagram = node.encode();
            assert!(datagram.len() >= 4 || datagram.len() >= 2);
            if datagram.iter().skip(4).any(|b| b >> 4 == 15 && *b != 0xff) {
                reserved += 1;
            }
            if datagram
                .iter()
                .skip(4)
                .any(|b| b >> 4 == 13 || b >> 4 == 14)
            {
                extended += 1;
            }
        }
        assert!(reserved > 25, "{reserved}");
        assert!(extended > 25, "{extended}");
    }
}
