//! MQTT 3.1.1 and MQTT 5 cases and the MQTT oracle.
//!
//! Cases are CONNECT, PUBLISH, SUBSCRIBE and UNSUBSCRIBE packets with one or two fields
//! pushed to an extreme (topic and payload lengths around the 1 KiB, 64 KiB and varint
//! boundaries, wildcards, NUL, invalid UTF-8, reserved QoS and flags, packet id 0, length
//! prefixes that lie) and remaining-length edge cases (five-byte and non-minimal
//! encodings, the maximum, lengths longer or shorter than the body). MQTT 5 cases add
//! properties (MQTT 5.0 section 2.2.2): known and unknown identifiers, duplicates, values
//! at their extremes and property lengths that lie, in CONNECT, PUBLISH and SUBSCRIBE.
//!
//! Every case but a mutated CONNECT is sent in a session ([`Session`]): a valid CONNECT
//! of the same protocol version first, and for the subscribed state a SUBSCRIBE to the
//! topic the mutated PUBLISH goes to, so that the broker's delivery path handles it too;
//! then the mutated packet, then a PINGREQ whose PINGRESP says the broker read past it.
//!
//! The oracle is a fresh CONNECT answered by a CONNACK of any return code.

use crate::node::{bytes, len16, run, seq, varlen, Node};
use crate::rng::Rng;
use iotcert_wire::mqtt::split_packet;

/// A PINGREQ, sent after each mutated packet.
pub const PINGREQ: [u8; 2] = [0xc0, 0x00];

/// Topic and string lengths worth trying: around the planted 1 KiB limits of small
/// brokers, buffer sizes, and the 16-bit maximum.
const LENGTHS: [u32; 12] = [
    0, 1, 127, 128, 255, 256, 1023, 1024, 1025, 4096, 16_384, 65_535,
];

/// A valid CONNECT (MQTT 3.1.1, clean session, keep-alive 30 s).
pub fn connect(client_id: &str, username: Option<&str>, password: Option<&str>) -> Node {
    connect_packet(4, None, client_id, username, password)
}

/// A valid MQTT 5 CONNECT (clean start, keep-alive 30 s, session expiry 0, receive
/// maximum 16).
pub fn connect_v5(client_id: &str, username: Option<&str>, password: Option<&str>) -> Node {
    let properties = seq(vec![bytes([0x11, 0, 0, 0, 0]), bytes([0x21, 0, 16])]);
    connect_packet(5, Some(properties), client_id, username, password)
}

/// A CONNECT of protocol `level` (4: 3.1.1, 5: MQTT 5, which carries `properties`).
fn connect_packet(
    level: u8,
    properties: Option<Node>,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> Node {
    let mut flags = 0x02u8;
    let mut tail = Vec::new();
    if let Some(username) = username {
        flags |= 0x80;
        tail.push(len16(bytes(username.as_bytes().to_vec())));
        if let Some(password) = password {
            flags |= 0x40;
            tail.push(len16(bytes(password.as_bytes().to_vec())));
        }
    }
    let mut body = vec![len16(bytes(b"MQTT".to_vec())), bytes([level, flags, 0, 30])];
    body.extend(properties.map(varlen));
    body.push(len16(bytes(client_id.as_bytes().to_vec())));
    body.extend(tail);
    seq(vec![bytes([0x10]), varlen(seq(body))])
}

/// The topic filter of the subscribed state, and a topic it matches.
const SUBSCRIBED_FILTER: &[u8] = b"iotcert/fuzz/#";
const SUBSCRIBED_TOPIC: &[u8] = b"iotcert/fuzz/state";

/// A valid SUBSCRIBE (MQTT 3.1.1) to [`SUBSCRIBED_FILTER`] at QoS 1.
pub fn subscribe_state() -> Node {
    seq(vec![
        bytes([0x82]),
        varlen(seq(vec![
            bytes([0, 1]),
            len16(bytes(SUBSCRIBED_FILTER.to_vec())),
            bytes([1]),
        ])),
    ])
}

/// Whether `reply` starts with a whole CONNACK (any return code, either version).
pub fn is_connack(reply: &[u8]) -> bool {
    reply.first() == Some(&0x20) && is_whole_packet(reply)
}

/// The return code (3.1.1) or reason code (5) of a whole CONNACK: 0 accepts the session.
pub fn connack_code(reply: &[u8]) -> Option<u8> {
    let (header, body) = split_packet(reply).ok()??;
    if header.first_byte() != 0x20 {
        return None;
    }
    // The body is the acknowledge flags, then the code. A CONNACK too short to hold a
    // code has none: the byte after it belongs to whatever the broker sent next.
    body.get(1).copied()
}

/// Whether `reply` starts with one whole MQTT packet: the answer to a session step.
pub fn is_whole_packet(reply: &[u8]) -> bool {
    matches!(split_packet(reply), Ok(Some(_)))
}

/// Whether a whole PINGRESP appears in `reply` (after whatever the broker sent first).
pub fn has_pingresp(reply: &[u8]) -> bool {
    reply.windows(2).any(|w| w == [0xd0, 0x00])
}

/// The state a mutated packet is sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Session {
    /// Right after the TCP connect.
    Fresh,
    /// After an accepted MQTT 3.1.1 CONNECT.
    Connected,
    /// After an accepted MQTT 5 CONNECT.
    ConnectedV5,
    /// After a 3.1.1 CONNECT and a SUBSCRIBE to [`SUBSCRIBED_FILTER`].
    Subscribed,
}

/// One mutated packet for case `rng`, and the session it must follow.
pub fn generate(rng: &mut Rng) -> (String, Node, Session) {
    match rng.below(14) {
        0 => ("connect".into(), mutated_connect(rng), Session::Fresh),
        1..=3 => ("publish".into(), publish(rng), Session::Connected),
        4 | 5 => ("subscribe".into(), subscribe(rng), Session::Connected),
        6 => ("unsubscribe".into(), unsubscribe(rng), Session::Connected),
        7 => (
            "remaining-length".into(),
            remaining_length(rng),
            Session::Connected,
        ),
        8 => ("raw-packet".into(), raw_packet(rng), Session::Connected),
        9 => ("connect-v5".into(), connect_v5_mutated(rng), Session::Fresh),
        10 => ("publish-v5".into(), publish_v5(rng), Session::ConnectedV5),
        11 => (
            "subscribe-v5".into(),
            subscribe_v5(rng),
            Session::ConnectedV5,
        ),
        _ => (
            "publish-subscribed".into(),
            publish_subscribed(rng),
            Session::Subscribed,
        ),
    }
}

/// MQTT 5 property identifiers (section 2.2.2.2) and the width of their values: 1, 2
/// and 4-byte integers, a variable byte integer (`V`), binary data or a UTF-8 string
/// (`B`, 16-bit length) and a string pair (`P`).
const PROPERTIES: [(u8, char); 14] = [
    (0x01, '1'),
    (0x02, '4'),
    (0x03, 'B'),
    (0x08, 'B'),
    (0x09, 'B'),
    (0x0b, 'V'),
    (0x11, '4'),
    (0x15, 'B'),
    (0x16, 'B'),
    (0x21, '2'),
    (0x22, '2'),
    (0x23, '2'),
    (0x26, 'P'),
    (0x27, '4'),
];

/// One property: usually a known identifier with an extreme value, sometimes an unknown
/// or reserved identifier.
fn property(rng: &mut Rng) -> Node {
    if rng.chance(8) {
        let unknown = rng.pick(&[0x00u8, 0x04, 0x7f, 0x80, 0xff], 0x7f);
        return bytes([unknown, rng.byte()]);
    }
    let (id, width) = rng.pick(&PROPERTIES, (0x26, 'P'));
    let value = match width {
        '1' => bytes([rng.pick(&[0u8, 1, 2, 0xff], 1)]),
        '2' => bytes(rng.pick(&[[0u8, 0], [0, 1], [0xff, 0xff]], [0, 1]).to_vec()),
        '4' => bytes(
            rng.pick(&[[0u8; 4], [0, 0, 0, 1], [0xff; 4]], [0, 0, 0, 1])
                .to_vec(),
        ),
        'V' => {
            let extremes: [&[u8]; 3] = [
                &[0],
                &[0xff, 0xff, 0xff, 0x7f],
                &[0x80, 0x80, 0x80, 0x80, 0x01],
            ];
            bytes(rng.pick(&extremes, &[1]).to_vec())
        }
        'P' => {
            let name = extreme_text(rng);
            let value = extreme_text(rng);
            seq(vec![string(rng, name), string(rng, value)])
        }
        _ => {
            let text = extreme_text(rng);
            string(rng, text)
        }
    };
    seq(vec![bytes([id]), value])
}

/// A property block: its length (lying one time in eight) and up to four properties,
/// sometimes the same one twice.
fn properties(rng: &mut Rng) -> Node {
    let mut items = Vec::new();
    for _ in 0..rng.below(5) {
        items.push(property(rng));
    }
    if rng.chance(6) {
        if let Some(first) = items.first().cloned() {
            items.push(first);
        }
    }
    if rng.chance(8) {
        Node::VarLen {
            body: Box::new(seq(items)),
            fix: Some(
                rng.pick::<&[u8]>(&[&[0x7f], &[0xff, 0xff, 0xff, 0x7f]], &[0x7f])
                    .to_vec(),
            ),
        }
    } else {
        varlen(seq(items))
    }
}

fn connect_v5_mutated(rng: &mut Rng) -> Node {
    let flags = if rng.chance(3) { rng.byte() } else { 0x02 };
    let mut body = vec![
        len16(bytes(b"MQTT".to_vec())),
        bytes([5, flags, 0, 30]),
        properties(rng),
    ];
    let client_id = extreme_text(rng);
    body.push(string(rng, client_id));
    if flags & 0x04 != 0 {
        // Will properties, topic and payload, when the will flag says so.
        body.push(properties(rng));
        let topic = extreme_text(rng);
        body.push(string(rng, topic));
        let message = payload(rng);
        body.push(len16(message));
    }
    seq(vec![bytes([0x10]), varlen(seq(body))])
}

fn publish_v5(rng: &mut Rng) -> Node {
    let qos = rng.pick(&[0u8, 0, 1, 2, 3], 0);
    let first = 0x30 | qos << 1 | u8::from(rng.chance(4));
    let topic = extreme_text(rng);
    let mut body = vec![string(rng, topic)];
    if qos > 0 {
        body.push(bytes([0, 1]));
    }
    body.push(properties(rng));
    body.push(payload(rng));
    seq(vec![bytes([first]), varlen(seq(body))])
}

fn subscribe_v5(rng: &mut Rng) -> Node {
    let mut body = vec![bytes([0, 1]), properties(rng)];
    for _ in 0..=rng.below(3) {
        let filter = extreme_text(rng);
        body.push(string(rng, filter));
        // Subscription options: QoS, no-local, retain-as-published, retain handling,
        // and the reserved bits.
        body.push(bytes(
            [rng.pick(&[0u8, 1, 2, 3, 0x04, 0x08, 0x30, 0xc0], 1)],
        ));
    }
    seq(vec![bytes([0x82]), varlen(seq(body))])
}

/// A PUBLISH the broker must deliver back on the session's own subscription: a topic
/// under [`SUBSCRIBED_FILTER`] (sometimes pushed to an extreme below it) and an extreme
/// payload.
fn publish_subscribed(rng: &mut Rng) -> Node {
    let qos = rng.pick(&[0u8, 1, 2], 1);
    let topic = if rng.chance(2) {
        bytes(SUBSCRIBED_TOPIC.to_vec())
    } else {
        let tail = extreme_text(rng);
        seq(vec![bytes(b"iotcert/fuzz/".to_vec()), tail])
    };
    let mut body = vec![string(rng, topic)];
    if qos > 0 {
        body.push(bytes([0, 2]));
    }
    body.push(payload(rng));
    seq(vec![bytes([0x30 | qos << 1]), varlen(seq(body))])
}

fn extreme_text(rng: &mut Rng) -> Node {
    match rng.below(10) {
        0 => bytes(Vec::new()),
        1 => bytes(b"#".to_vec()),
        2 => bytes(b"a/+/#".to_vec()),
        3 => bytes(b"a\0b".to_vec()),
        4 => bytes(vec![0xc3, 0x28, 0xff, 0xfe]),
        5 => bytes(b"$SYS/broker/uptime".to_vec()),
        6 => run(b'/', rng.pick(&LENGTHS, 1)),
        7..=8 => run(b'a', rng.pick(&LENGTHS, 1)),
        _ => bytes(b"iotcert/fuzz".to_vec()),
    }
}

/// A 16-bit length-prefixed field that lies about its length one time in eight.
fn string(rng: &mut Rng, body: Node) -> Node {
    if rng.chance(8) {
        Node::Len16 {
            body: Box::new(body),
            fix: Some(rng.pick(&[0, 1, 0x7fff, 0xffff], 0)),
        }
    } else {
        len16(body)
    }
}

fn payload(rng: &mut Rng) -> Node {
    match rng.below(6) {
        0 => bytes(Vec::new()),
        1 => run(0xff, rng.pick(&[1, 127, 128, 16_383, 16_384, 65_536], 1)),
        2 => bytes(rng.bytes(16)),
        _ => bytes(b"{\"t\":21.5}".to_vec()),
    }
}

fn publish(rng: &mut Rng) -> Node {
    let qos = rng.pick(&[0u8, 0, 1, 2, 3], 0);
    let first = 0x30 | qos << 1 | u8::from(rng.chance(4)) << 3 | u8::from(rng.chance(4));
    let topic = extreme_text(rng);
    let mut body = vec![string(rng, topic)];
    if qos > 0 {
        body.push(bytes(
            rng.pick(&[[0u8, 0], [0, 1], [0xff, 0xff]], [0, 1]).to_vec(),
        ));
    }
    body.push(payload(rng));
    seq(vec![bytes([first]), varlen(seq(body))])
}

fn subscribe(rng: &mut Rng) -> Node {
    let first = if rng.chance(6) { 0x80 } else { 0x82 };
    let mut body = vec![bytes(
        rng.pick(&[[0u8, 0], [0, 1], [0xff, 0xff]], [0, 1]).to_vec(),
    )];
    for _ in 0..rng.below(4) {
        let filter = extreme_text(rng);
        body.push(string(rng, filter));
        body.push(bytes([rng.pick(&[0u8, 1, 2, 3, 0x80, 0xff], 0)]));
    }
    seq(vec![bytes([first]), varlen(seq(body))])
}

fn unsubscribe(rng: &mut Rng) -> Node {
    let mut body = vec![bytes([0, 1])];
    for _ in 0..rng.below(3) {
        let filter = extreme_text(rng);
        body.push(string(rng, filter));
    }
    seq(vec![bytes([0xa2]), varlen(seq(body))])
}

fn mutated_connect(rng: &mut Rng) -> Node {
    let name = match rng.below(5) {
        0 => bytes(b"MQIsdp".to_vec()),
        1 => bytes(Vec::new()),
        2 => run(b'M', rng.pick(&LENGTHS, 1)),
        _ => bytes(b"MQTT".to_vec()),
    };
    let level = rng.pick(&[4u8, 4, 3, 5, 0, 0xff], 4);
    let flags = if rng.chance(2) { rng.byte() } else { 0x02 };
    let keep_alive = rng.pick(&[[0u8, 0], [0, 30], [0xff, 0xff]], [0, 30]);
    let mut body = vec![
        string(rng, name),
        bytes([level, flags]),
        bytes(keep_alive.to_vec()),
    ];
    let client_id = extreme_text(rng);
    body.push(string(rng, client_id));
    // Optional fields, present or not whatever the flags say.
    for _ in 0..rng.below(4) {
        let field = extreme_text(rng);
        body.push(string(rng, field));
    }
    seq(vec![bytes([0x10]), varlen(seq(body))])
}

fn remaining_length(rng: &mut Rng) -> Node {
    let first = rng.pick(&[0x30u8, 0x82, 0xa2, 0xc0, 0xe0, 0x10], 0x30);
    let fix: Vec<u8> = match rng.below(6) {
        0 => vec![0xff, 0xff, 0xff, 0xff, 0x01],
        1 => vec![0xff, 0xff, 0xff, 0x7f],
        2 => vec![0x80, 0x80, 0x80, 0x00],
        3 => vec![0x80, 0x00],
        4 => vec![0x00],
        _ => vec![rng.byte() & 0x7f],
    };
    let length = usize::try_from(rng.below(12)).unwrap_or(0);
    let body = bytes(rng.bytes(length));
    seq(vec![
        bytes([first]),
        Node::VarLen {
            body: Box::new(body),
            fix: Some(fix),
        },
    ])
}

fn raw_packet(rng: &mut Rng) -> Node {
    let first = rng.byte();
    let length = usize::try_from(rng.below(24)).unwrap_or(0);
    let body = bytes(rng.bytes(length));
    seq(vec![bytes([first]), varlen(body)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connack_codes_of_both_versions() {
        assert_eq!(connack_code(&[0x20, 0x02, 0x00, 0x00]), Some(0));
        assert_eq!(connack_code(&[0x20, 0x02, 0x00, 0x05]), Some(5));
        assert_eq!(connack_code(&[0x20, 0x03, 0x00, 0x87, 0x00]), Some(0x87));
        assert_eq!(connack_code(&[0x20, 0x02, 0x00]), None);
        assert_eq!(connack_code(&[0x30, 0x02, 0x00, 0x00]), None);
    }

    #[test]
    fn a_connack_too_short_for_a_code_has_none() {
        // Found by the protofuzz_answers fuzz target: the code was read from the
        // PINGRESP after a one-byte CONNACK.
        assert_eq!(connack_code(&[0x20, 0x01, 0x00, 0x02, 0xd0, 0x01]), None);
        assert_eq!(connack_code(&[0x20, 0x00, 0x00, 0x00]), None);
        assert_eq!(connack_code(&[0x20, 0x82, 0x00, 0x00, 0x05]), Some(5));
    }

    #[test]
    fn v5_connect_layout() {
        // MQTT 5.0 section 3.1: protocol name, level 5, flags, keep-alive, properties
        // (session expiry 0, receive maximum 16), client id. A real broker accepting it
        // is tested in tests/daemons.rs.
        let expected = [
            0x10, 0x18, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x1e, 0x08, 0x11,
            0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x10, 0x00, 0x03, b'p', b'u', b'b',
        ];
        assert_eq!(connect_v5("pub", None, None).encode(), expected);
    }

    #[test]
    fn connect_matches_mosquitto_pub() {
        // CONNECT from mosquitto_pub -u admin -P admin -i pub, keep-alive changed to 30.
        let expected = [
            0x10, 0x1d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xc2, 0x00, 0x1e, 0x00, 0x03,
            b'p', b'u', b'b', 0x00, 0x05, b'a', b'd', b'm', b'i', b'n', 0x00, 0x05, b'a', b'd',
            b'm', b'i', b'n',
        ];
        assert_eq!(
            connect("pub", Some("admin"), Some("admin")).encode(),
            expected
        );
    }

    #[test]
    fn oracle_parsers() {
        assert!(is_connack(&[0x20, 0x02, 0x00, 0x05]));
        assert!(!is_connack(&[0x20, 0x02, 0x00]));
        assert!(!is_connack(&[]));
        // MQTT 5: reason code and properties.
        assert!(is_connack(&[0x20, 0x05, 0x00, 0x00, 0x02, 0x21, 0x00]));
        assert!(!is_connack(&[0x20, 0x05, 0x00, 0x00, 0x02]));
        assert!(is_whole_packet(&[0x90, 0x03, 0x00, 0x01, 0x01]));
        assert!(!is_whole_packet(&[0x90, 0x03, 0x00, 0x01]));
        assert!(!is_whole_packet(&[0x90, 0x80, 0x80, 0x80, 0x80, 0x01]));
        assert!(has_pingresp(&[0x40, 0x02, 0, 1, 0xd0, 0x00]));
        assert!(!has_pingresp(&[0xd0]));
    }

    #[test]
    fn every_kind_is_generated() {
        let mut kinds = std::collections::BTreeSet::new();
        for index in 0..200 {
            let (kind, node, _) = generate(&mut Rng::for_case(1, "mqtt", index));
            assert!(!node.encode().is_empty());
            kinds.insert(kind);
        }
        assert_eq!(kinds.len(), 10, "{kinds:?}");
    }
}
