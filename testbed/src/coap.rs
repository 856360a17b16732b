//! CoAP (RFC 7252) on UDP port 5683: the constrained-device protocol both devices declare.
//!
//! Port and protocol-robustness suites need a UDP service that answers real clients
//! (`coap-client` of libcoap) and survives malformed datagrams. [`parse`] reads a message
//! (header, token, options with extended deltas and lengths, payload) without ever
//! panicking, and [`answer`] decides the reply to one datagram, both pure so that fuzz
//! targets can call them. The device serves:
//!
//! - `GET /.well-known/core`: the resource list in link format (RFC 6690);
//! - `GET /status`: a small JSON status (with firmware and kernel versions only with
//!   [`crate::Flaws::version_banners`]);
//! - anything else: 4.04, or 4.05 for another method on a known resource.
//!
//! A confirmable request gets a piggybacked ACK; a non-confirmable one a non-confirmable
//! reply. A confirmable empty message (a "CoAP ping") and a confirmable message with a
//! format error get a Reset; other malformed datagrams are ignored (RFC 7252 section 4).
//! Block2 (RFC 7959) is honoured so block-wise clients work, and Accept is checked.
//!
//! With [`crate::Flaws::planted_parser_bugs`] the service carries a planted bug: a
//! datagram with an option whose delta nibble is the reserved 15 (other than the payload
//! marker) hangs it. It answers nothing until its watchdog restarts it
//! ([`crate::mqtt::WATCHDOG_RESTART`] later); datagrams that arrived meanwhile are lost
//! with the hung process, as they would be with a restarted one. Only this device's
//! CoAP socket is affected.

use crate::limits::WRITE_TIMEOUT;
use crate::state::DeviceState;
use iotcert_wire::coap::{parts, Header, HEADER_LENGTH};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// The message format, read and written by `iotcert-wire`; re-exported for the tests that
/// speak CoAP to the service.
pub use iotcert_wire::coap::{encode, parse, CoapOption, Message, MessageType, ParseError};

/// Bytes read of one datagram; longer ones are cut (and then usually malformed).
const MAX_DATAGRAM: usize = 2048;
/// Pause after a failed receive, so a persistent socket error cannot spin the loop.
const RECEIVE_BACKOFF: Duration = Duration::from_millis(10);

/// Message codes (class.detail as `class << 5 | detail`).
pub mod code {
    pub const EMPTY: u8 = 0x00;
    pub const GET: u8 = 0x01;
    pub const CONTENT: u8 = 0x45;
    pub const BAD_REQUEST: u8 = 0x80;
    pub const BAD_OPTION: u8 = 0x82;
    pub const NOT_FOUND: u8 = 0x84;
    pub const METHOD_NOT_ALLOWED: u8 = 0x85;
    pub const NOT_ACCEPTABLE: u8 = 0x86;
}

/// Option numbers the device understands.
pub mod option {
    pub const URI_HOST: u16 = 3;
    pub const OBSERVE: u16 = 6;
    pub const URI_PORT: u16 = 7;
    pub const URI_PATH: u16 = 11;
    pub const CONTENT_FORMAT: u16 = 12;
    pub const URI_QUERY: u16 = 15;
    pub const ACCEPT: u16 = 17;
    pub const BLOCK2: u16 = 23;
    pub const SIZE2: u16 = 28;
}

/// Content formats the device serves.
pub mod content_format {
    pub const LINK_FORMAT: u16 = 40;
    pub const JSON: u16 = 50;
}

/// An unsigned integer option value (0 to 4 bytes, big-endian), `None` if longer.
fn uint_value(value: &[u8]) -> Option<u32> {
    if value.len() > 4 {
        return None;
    }
    Some(value.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)))
}

/// The shortest unsigned integer encoding of `value`.
fn uint_bytes(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let leading_zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.get(leading_zeros..).unwrap_or_default().to_vec()
}

/// The link-format description of the device's resources.
const RESOURCE_LINKS: &str = "</status>;ct=50;title=\"Device status\"";

/// The reply to one datagram, if any. `status` is the JSON body of `/status` and
/// `message_id` the id to give a non-confirmable reply.
pub fn answer(datagram: &[u8], status: &str, message_id: u16) -> Option<Vec<u8>> {
    let request = match parse(datagram) {
        Ok(request) => request,
        Err(ParseError::TooShort | ParseError::UnsupportedVersion(_)) => return None,
        Err(_) => {
            // A format error: reject a confirmable message with a Reset, ignore others.
            let (&[first, _, id_high, id_low], _) = datagram.split_first_chunk::<4>()?;
            let confirmable = MessageType::from_bits(first >> 4) == MessageType::Confirmable;
            return confirmable.then(|| reset(u16::from_be_bytes([id_high, id_low])));
        }
    };
    let confirmable = request.message_type == MessageType::Confirmable;
    let is_request = request.code != code::EMPTY && request.code >> 5 == 0;
    match request.message_type {
        MessageType::Acknowledgement | MessageType::Reset => return None,
        MessageType::Confirmable | MessageType::NonConfirmable if !is_request => {
            // A ping, or a response sent to a server: answered by a Reset when confirmable.
            return confirmable.then(|| reset(request.message_id));
        }
        MessageType::Confirmable | MessageType::NonConfirmable => {}
    }
    let (code, options, payload) = serve_resource(&request, status);
    let reply = Message {
        message_type: if confirmable {
            MessageType::Acknowledgement
        } else {
            MessageType::NonConfirmable
        },
        code,
        message_id: if confirmable {
            request.message_id
        } else {
            message_id
        },
        token: request.token,
        options,
        payload,
    };
    Some(encode(&reply))
}

fn reset(message_id: u16) -> Vec<u8> {
    encode(&Message {
        message_type: MessageType::Reset,
        code: code::EMPTY,
        message_id,
        token: Vec::new(),
        options: Vec::new(),
        payload: Vec::new(),
    })
}

/// Code, options and payload of the response to a request.
fn serve_resource(request: &Message, status: &str) -> (u8, Vec<CoapOption>, Vec<u8>) {
    let error = |code, text: &str| (code, Vec::new(), text.as_bytes().to_vec());
    const UNDERSTOOD: [u16; 9] = [
        option::URI_HOST,
        option::OBSERVE,
        option::URI_PORT,
        option::URI_PATH,
        option::CONTENT_FORMAT,
        option::URI_QUERY,
        option::ACCEPT,
        option::BLOCK2,
        option::SIZE2,
    ];
    // Odd option numbers are critical: one not understood fails the request.
    if request
        .options
        .iter()
        .any(|o| o.number % 2 == 1 && !UNDERSTOOD.contains(&o.number))
    {
        return error(code::BAD_OPTION, "unrecognized critical option");
    }
    let mut path = Vec::new();
    for segment in request
        .options
        .iter()
        .filter(|o| o.number == option::URI_PATH)
    {
        match std::str::from_utf8(&segment.value) {
            Ok(text) => path.push(text),
            Err(_) => return error(code::BAD_REQUEST, "Uri-Path is not UTF-8"),
        }
    }
    let (format, body) = match path.as_slice() {
        [".well-known", "core"] => (content_format::LINK_FORMAT, RESOURCE_LINKS.as_bytes()),
        ["status"] => (content_format::JSON, status.as_bytes()),
        _ => return error(code::NOT_FOUND, "not found"),
    };
    if request.code != code::GET {
        return error(code::METHOD_NOT_ALLOWED, "only GET");
    }
    let option_value = |number| {
        request
            .options
            .iter()
            .find(|o| o.number == number)
            .map(|o| uint_value(&o.value))
    };
    match option_value(option::ACCEPT) {
        Some(None) => return error(code::BAD_OPTION, "Accept is too long"),
        Some(Some(accept)) if accept != u32::from(format) => {
            return error(code::NOT_ACCEPTABLE, "not acceptable")
        }
        _ => {}
    }
    let mut options = vec![CoapOption {
        number: option::CONTENT_FORMAT,
        value: uint_bytes(u32::from(format)),
    }];
    let payload = match option_value(option::BLOCK2) {
        None => body.to_vec(),
        Some(None) => return error(code::BAD_OPTION, "Block2 is too long"),
        Some(Some(block)) => {
            let size_exponent = block & 0b111;
            if size_exponent == 7 {
                return error(code::BAD_REQUEST, "reserved block size");
            }
            let block_size = 16usize << size_exponent;
            let block_number = usize::try_from(block >> 4).unwrap_or(usize::MAX);
            let start = block_number.saturating_mul(block_size);
            let Some(rest) = body.get(start..) else {
                return error(code::BAD_OPTION, "block out of range");
            };
            let chunk = rest.get(..block_size).unwrap_or(rest);
            let more = u32::from(rest.len() > block_size);
            options.push(CoapOption {
                number: option::BLOCK2,
                value: uint_bytes(block & !0b1111 | more << 3 | size_exponent),
            });
            chunk.to_vec()
        }
    };
    (code::CONTENT, options, payload)
}

/// Whether a datagram has an option with the reserved delta nibble 15: the input that
/// trips the planted bug of [`crate::Flaws::planted_parser_bugs`].
fn has_reserved_delta(datagram: &[u8]) -> bool {
    let Some(header) = Header::parse(datagram) else {
        return false;
    };
    let Some(after_token) = datagram.get(HEADER_LENGTH + usize::from(header.token_length)..) else {
        return false;
    };
    let mut parts = parts(after_token);
    loop {
        let option_byte = parts.rest().first().copied();
        match parts.next() {
            Some(Ok(_)) => {}
            Some(Err(ParseError::ReservedNibble)) => {
                return option_byte.is_some_and(|byte| byte >> 4 == 15)
            }
            Some(Err(_)) | None => return false,
        }
    }
}

/// The JSON body of `/status`.
fn status_json(state: &DeviceState) -> String {
    let mut status = serde_json::json!({
        "status": "ok",
        "uptime_seconds": state.uptime().as_secs(),
    });
    if let (true, Some(fields)) = (state.flaws.version_banners, status.as_object_mut()) {
        fields.insert("firmware_version".into(), state.firmware_version().into());
        fields.insert("kernel".into(), "Linux 4.14.98 armv7l".into());
    }
    status.to_string()
}

/// Discard what queued on the socket during a hang, at most a receive buffer's worth.
fn drop_queued(socket: &UdpSocket, buffer: &mut [u8]) {
    for _ in 0..4096 {
        if socket.try_recv_from(buffer).is_err() {
            break;
        }
    }
}

/// Answers datagrams on the device's CoAP socket until the device shuts down.
pub(crate) async fn serve(socket: UdpSocket, state: Arc<DeviceState>, cancel: CancellationToken) {
    let mut datagram = [0u8; MAX_DATAGRAM];
    let mut next_message_id: u16 = 1;
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return,
            received = socket.recv_from(&mut datagram) => received,
        };
        let (length, peer) = match received {
            Ok(received) => received,
            Err(_) => {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(RECEIVE_BACKOFF) => {}
                }
                continue;
            }
        };
        next_message_id = next_message_id.wrapping_add(1);
        let request = datagram.get(..length).unwrap_or_default();
        if state.flaws.planted_parser_bugs && has_reserved_delta(request) {
            // The planted hang: nothing is read or answered until the watchdog restart.
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(crate::mqtt::WATCHDOG_RESTART) => {}
            }
            drop_queued(&socket, &mut datagram);
            continue;
        }
        if let Some(reply) = answer(request, &status_json(&state), next_message_id) {
            // UDP has no delivery to wait for; a reply that cannot be sent is lost.
            let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send_to(&reply, peer)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn get(path: &[&str], confirmable: bool) -> Message {
        Message {
            message_type: if confirmable {
                MessageType::Confirmable
            } else {
                MessageType::NonConfirmable
            },
            code: code::GET,
            message_id: 0x1234,
            token: vec![0xab, 0xcd],
            options: path
                .iter()
                .map(|segment| CoapOption {
                    number: option::URI_PATH,
                    value: segment.as_bytes().to_vec(),
                })
                .collect(),
            payload: Vec::new(),
        }
    }

    fn ask(request: &Message) -> Message {
        parse(&answer(&encode(request), "{}", 7).unwrap()).unwrap()
    }

    #[test]
    fn well_known_core_is_a_piggybacked_ack() {
        let reply = ask(&get(&[".well-known", "core"], true));
        assert_eq!(reply.message_type, MessageType::Acknowledgement);
        assert_eq!(reply.message_id, 0x1234);
        assert_eq!(reply.token, [0xab, 0xcd]);
        assert_eq!(reply.code, code::CONTENT);
        assert_eq!(
            reply.options,
            [CoapOption {
                number: option::CONTENT_FORMAT,
                value: vec![40]
            }]
        );
        assert_eq!(reply.payload, RESOURCE_LINKS.as_bytes());
    }

    #[test]
    fn non_confirmable_gets_non_confirmable_reply() {
        let reply = ask(&get(&["status"], false));
        assert_eq!(reply.message_type, MessageType::NonConfirmable);
        assert_eq!(reply.message_id, 7);
        assert_eq!(reply.payload, b"{}");
    }

    #[test]
    fn unknown_path_and_method() {
        assert_eq!(ask(&get(&["nope"], true)).code, code::NOT_FOUND);
        let mut post = get(&["status"], true);
        post.code = 0x02;
        assert_eq!(ask(&post).code, code::METHOD_NOT_ALLOWED);
        let mut critical = get(&["status"], true);
        critical.options.push(CoapOption {
            number: 1,
            value: vec![],
        });
        assert_eq!(ask(&critical).code, code::BAD_OPTION);
    }

    #[test]
    fn block2_serves_the_asked_block() {
        let mut request = get(&[".well-known", "core"], true);
        // Block 1 of size 16 (szx 0).
        request.options.push(CoapOption {
            number: option::BLOCK2,
            value: vec![0x10],
        });
        let reply = ask(&request);
        assert_eq!(reply.payload, &RESOURCE_LINKS.as_bytes()[16..32]);
        let block2 = reply.options.iter().find(|o| o.number == option::BLOCK2);
        assert_eq!(block2.map(|o| o.value.clone()), Some(vec![0x18]));
    }

    #[test]
    fn ping_and_format_errors_get_reset() {
        // Confirmable empty message: CoAP ping.
        let reply = parse(&answer(&[0x40, 0x00, 0x00, 0x05], "", 1).unwrap()).unwrap();
        assert_eq!(reply.message_type, MessageType::Reset);
        assert_eq!(reply.message_id, 5);
        // Confirmable with token length 9: format error, reset.
        let reply = parse(&answer(&[0x49, 0x01, 0x00, 0x06], "", 1).unwrap()).unwrap();
        assert_eq!(reply.message_type, MessageType::Reset);
        // Non-confirmable format error, version 2, too short: ignored.
        assert_eq!(answer(&[0x59, 0x01, 0x00, 0x06], "", 1), None);
        assert_eq!(answer(&[0x80, 0x01, 0x00, 0x06], "", 1), None);
        assert_eq!(answer(&[0x40, 0x01], "", 1), None);
        // An ACK sent to the server is not answered.
        assert_eq!(answer(&[0x60, 0x45, 0x00, 0x06], "", 1), None);
    }

    #[test]
    fn reserved_delta_is_recognised() {
        assert!(has_reserved_delta(&[0x40, 0x01, 0, 1, 0xf0]));
        // After a Uri-Path option "a" and a token of one byte.
        assert!(has_reserved_delta(&[0x41, 0x01, 0, 1, 9, 0xb1, b'a', 0xf3]));
        // Extended delta 13 then reserved.
        assert!(has_reserved_delta(&[0x40, 0x01, 0, 1, 0xd0, 0x02, 0xf0]));
        // The payload marker is not an option.
        assert!(!has_reserved_delta(&[0x40, 0x01, 0, 1, 0xff, 0xf0]));
        // A reserved length nibble alone is not the planted input.
        assert!(!has_reserved_delta(&[0x40, 0x01, 0, 1, 0x1f]));
        assert!(!has_reserved_delta(&[0x40, 0x01]));
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
            let _ = answer(&bytes, "{}", 1);
        }
    }
}
