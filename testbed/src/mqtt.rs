//! The MQTT 3.1.1 packet codec of the testbed's broker, as pure functions over bytes.
//!
//! The broker reads packets from clients that fuzz it, so decoding is kept apart from any
//! I/O: [`decode`] takes whatever bytes have arrived and either returns one packet and its
//! length, asks for more bytes, or refuses the bytes for a precise reason. It never panics
//! and never trusts a length before checking it against [`MAX_PACKET_SIZE`], so fuzz
//! targets can call it directly. [`encode`] writes any packet, which lets tests act as
//! clients and lets property tests check that the two agree.

use iotcert_wire::mqtt;
use std::fmt;

/// The largest packet (fixed header excluded) the broker accepts: 256 KiB.
pub const MAX_PACKET_SIZE: usize = 256 * 1024;

/// With [`crate::Flaws::planted_parser_bugs`], a PUBLISH topic longer than this crashes
/// the broker (a planted bug for the protocol-fuzzing suite to find).
pub const PLANTED_TOPIC_LIMIT: usize = 1024;

/// How long a service crashed or hung by a planted parser bug stays down before its
/// watchdog restarts it (MQTT and CoAP alike): longer than a liveness probe at the
/// fuzzing suite's default answer timeout (1 s), so a hang cannot slip between probes.
pub const WATCHDOG_RESTART: std::time::Duration = std::time::Duration::from_millis(1200);

/// The protocol name and level of MQTT 3.1.1 in a CONNECT.
pub const PROTOCOL_NAME: &str = "MQTT";
pub const PROTOCOL_LEVEL: u8 = 4;

/// CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3).
pub mod return_code {
    pub const ACCEPTED: u8 = 0;
    pub const UNACCEPTABLE_PROTOCOL_VERSION: u8 = 1;
    pub const IDENTIFIER_REJECTED: u8 = 2;
    pub const BAD_USERNAME_OR_PASSWORD: u8 = 4;
    pub const NOT_AUTHORIZED: u8 = 5;
}

/// SUBACK return code for a refused subscription.
pub const SUBSCRIPTION_FAILURE: u8 = 0x80;

/// Quality of service of a message or a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QoS {
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS of two bits, `None` for the reserved value 3.
    pub fn from_bits(bits: u8) -> Option<QoS> {
        match bits {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// A will message carried by a CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub message: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// A CONNECT packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub protocol_name: String,
    pub protocol_level: u8,
    pub clean_session: bool,
    /// Seconds; 0 turns the keep-alive off.
    pub keep_alive: u16,
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
}

/// A PUBLISH packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: String,
    /// Present exactly when `qos` is above [`QoS::AtMostOnce`].
    pub packet_id: Option<u16>,
    pub payload: Vec<u8>,
}

/// One MQTT 3.1.1 control packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck {
        session_present: bool,
        return_code: u8,
    },
    Publish(Publish),
    PubAck {
        packet_id: u16,
    },
    PubRec {
        packet_id: u16,
    },
    PubRel {
        packet_id: u16,
    },
    PubComp {
        packet_id: u16,
    },
    Subscribe {
        packet_id: u16,
        filters: Vec<(String, QoS)>,
    },
    SubAck {
        packet_id: u16,
        return_codes: Vec<u8>,
    },
    Unsubscribe {
        packet_id: u16,
        filters: Vec<String>,
    },
    UnsubAck {
        packet_id: u16,
    },
    PingReq,
    PingResp,
    Disconnect,
}

/// Why bytes are not a valid MQTT 3.1.1 packet. The broker closes the connection on any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The remaining length runs past four bytes.
    MalformedRemainingLength,
    /// The packet is larger than [`MAX_PACKET_SIZE`].
    TooLarge { length: usize },
    /// Packet type 0 or 15.
    ReservedPacketType(u8),
    /// The low four bits of the first byte are wrong for the packet type.
    InvalidFlags { packet_type: u8, flags: u8 },
    /// A field runs past the end of the packet.
    Truncated,
    /// Bytes left over after the last field.
    TrailingBytes,
    /// A string is not UTF-8, or holds U+0000.
    InvalidString,
    /// QoS 3.
    InvalidQoS,
    /// Packet identifier 0 where a non-zero one is required.
    ZeroPacketId,
    /// CONNECT flags that contradict each other or set the reserved bit.
    InvalidConnectFlags(u8),
    /// A SUBSCRIBE or UNSUBSCRIBE without any topic filter.
    NoTopicFilter,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::MalformedRemainingLength => f.write_str("remaining length over 4 bytes"),
            DecodeError::TooLarge { length } => {
                write!(f, "packet of {length} bytes exceeds {MAX_PACKET_SIZE}")
            }
            DecodeError::ReservedPacketType(kind) => write!(f, "reserved packet type {kind}"),
            DecodeError::InvalidFlags { packet_type, flags } => {
                write!(
                    f,
                    "flags {flags:#06b} invalid for packet type {packet_type}"
                )
            }
            DecodeError::Truncated => f.write_str("field runs past the end of the packet"),
            DecodeError::TrailingBytes => f.write_str("bytes after the last field"),
            DecodeError::InvalidString => f.write_str("string is not UTF-8 or contains U+0000"),
            DecodeError::InvalidQoS => f.write_str("QoS 3 is reserved"),
            DecodeError::ZeroPacketId => f.write_str("packet identifier 0"),
            DecodeError::InvalidConnectFlags(flags) => {
                write!(f, "invalid CONNECT flags {flags:#010b}")
            }
            DecodeError::NoTopicFilter => f.write_str("no topic filter"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<mqtt::Error> for DecodeError {
    fn from(error: mqtt::Error) -> DecodeError {
        match error {
            mqtt::Error::MalformedRemainingLength => DecodeError::MalformedRemainingLength,
        }
    }
}

/// Decodes the first packet in `buffer`.
///
/// Returns the packet and the number of bytes it took, or `Ok(None)` when `buffer` holds
/// only the beginning of a packet that is not yet known to be invalid.
pub fn decode(buffer: &[u8]) -> Result<Option<(Packet, usize)>, DecodeError> {
    let Some(header) = mqtt::parse_fixed_header(buffer)? else {
        return Ok(None);
    };
    if header.remaining_length > MAX_PACKET_SIZE {
        return Err(DecodeError::TooLarge {
            length: header.remaining_length,
        });
    }
    let total = header.packet_length();
    let Some(body) = buffer.get(header.header_length..total) else {
        // Refuse a bad first byte before waiting for the rest of the packet.
        check_flags(header.packet_type, header.flags)?;
        return Ok(None);
    };
    let packet = decode_body(header.packet_type, header.flags, body)?;
    Ok(Some((packet, total)))
}

/// Checks the fixed-header flags of a packet type (MQTT 3.1.1 section 2.2.2).
fn check_flags(packet_type: u8, flags: u8) -> Result<(), DecodeError> {
    let expected = match packet_type {
        0 | 15 => return Err(DecodeError::ReservedPacketType(packet_type)),
        3 => return Ok(()),
        6 | 8 | 10 => 0b0010,
        _ => 0,
    };
    if flags == expected {
        Ok(())
    } else {
        Err(DecodeError::InvalidFlags { packet_type, flags })
    }
}

fn decode_body(packet_type: u8, flags: u8, body: &[u8]) -> Result<Packet, DecodeError> {
    check_flags(packet_type, flags)?;
    let mut reader = Reader { bytes: body };
    let packet = match packet_type {
        1 => Packet::Connect(decode_connect(&mut reader)?),
        2 => {
            let acknowledge_flags = reader.u8()?;
            if acknowledge_flags & 0xfe != 0 {
                return Err(DecodeError::InvalidFlags {
                    packet_type,
                    flags: acknowledge_flags,
                });
            }
            Packet::ConnAck {
                session_present: acknowledge_flags == 1,
                return_code: reader.u8()?,
            }
        }
        3 => Packet::Publish(decode_publish(flags, &mut reader)?),
        4 => Packet::PubAck {
            packet_id: reader.packet_id()?,
        },
        5 => Packet::PubRec {
            packet_id: reader.packet_id()?,
        },
        6 => Packet::PubRel {
            packet_id: reader.packet_id()?,
        },
        7 => Packet::PubComp {
            packet_id: reader.packet_id()?,
        },
        8 => {
            let packet_id = reader.packet_id()?;
            let mut filters = Vec::new();
            while !reader.is_empty() {
                let filter = reader.string()?;
                let options = reader.u8()?;
                if options & 0xfc != 0 {
                    return Err(DecodeError::InvalidQoS);
                }
                let qos = QoS::from_bits(options).ok_or(DecodeError::InvalidQoS)?;
                filters.push((filter, qos));
            }
            if filters.is_empty() {
                return Err(DecodeError::NoTopicFilter);
            }
            Packet::Subscribe { packet_id, filters }
        }
        9 => Packet::SubAck {
            packet_id: reader.packet_id()?,
            return_codes: reader.rest().to_vec(),
        },
        10 => {
            let packet_id = reader.packet_id()?;
            let mut filters = Vec::new();
            while !reader.is_empty() {
                filters.push(reader.string()?);
            }
            if filters.is_empty() {
                return Err(DecodeError::NoTopicFilter);
            }
            Packet::Unsubscribe { packet_id, filters }
        }
        11 => Packet::UnsubAck {
            packet_id: reader.packet_id()?,
        },
        12 => Packet::PingReq,
        13 => Packet::PingResp,
        _ => Packet::Disconnect,
    };
    if reader.is_empty() {
        Ok(packet)
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

fn decode_connect(reader: &mut Reader<'_>) -> Result<Connect, DecodeError> {
    let protocol_name = reader.string()?;
    let protocol_level = reader.u8()?;
    let flags = reader.u8()?;
    let keep_alive = reader.u16()?;
    let has_username = flags & 0x80 != 0;
    let has_password = flags & 0x40 != 0;
    let will_retain = flags & 0x20 != 0;
    let will_qos_bits = (flags >> 3) & 0b11;
    let has_will = flags & 0x04 != 0;
    let clean_session = flags & 0x02 != 0;
    let reserved = flags & 0x01 != 0;
    let will_fields_without_will = !has_will && (will_retain || will_qos_bits != 0);
    if reserved || will_fields_without_will || (has_password && !has_username) {
        return Err(DecodeError::InvalidConnectFlags(flags));
    }
    let client_id = reader.string()?;
    let will = if has_will {
        let qos = QoS::from_bits(will_qos_bits).ok_or(DecodeError::InvalidQoS)?;
        Some(Will {
            topic: reader.string()?,
            message: reader.binary()?.to_vec(),
            qos,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = has_username.then(|| reader.string()).transpose()?;
    let password = has_password
        .then(|| reader.binary().map(<[u8]>::to_vec))
        .transpose()?;
    Ok(Connect {
        protocol_name,
        protocol_level,
        clean_session,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}

fn decode_publish(flags: u8, reader: &mut Reader<'_>) -> Result<Publish, DecodeError> {
    let dup = flags & 0b1000 != 0;
    let qos = QoS::from_bits((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    let retain = flags & 0b0001 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(DecodeError::InvalidFlags {
            packet_type: 3,
            flags,
        });
    }
    let topic = reader.string()?;
    let packet_id = if qos == QoS::AtMostOnce {
        None
    } else {
        Some(reader.packet_id()?)
    };
    Ok(Publish {
        dup,
        qos,
        retain,
        topic,
        packet_id,
        payload: reader.rest().to_vec(),
    })
}

/// A cursor over the bytes of one packet; every read is checked against the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        if count > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        let (taken, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&byte, rest) = self.bytes.split_first().ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(byte)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn packet_id(&mut self) -> Result<u16, DecodeError> {
        match self.u16()? {
            0 => Err(DecodeError::ZeroPacketId),
            id => Ok(id),
        }
    }

    fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let length = self.u16()?;
        self.take(usize::from(length))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let text = std::str::from_utf8(self.binary()?).map_err(|_| DecodeError::InvalidString)?;
        if text.contains('\0') {
            return Err(DecodeError::InvalidString);
        }
        Ok(text.to_owned())
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

/// Encodes one packet, fixed header included.
///
/// Strings and binary fields longer than 65,535 bytes cannot be encoded and are cut to
/// that length; the broker never produces such fields.
pub fn encode(packet: &Packet) -> Vec<u8> {
    let mut body = Vec::new();
    let first_byte = match packet {
        Packet::Connect(connect) => {
            put_binary(&mut body, connect.protocol_name.as_bytes());
            body.push(connect.protocol_level);
            let mut flags = 0u8;
            if connect.username.is_some() {
                flags |= 0x80;
            }
            if connect.password.is_some() {
                flags |= 0x40;
            }
            if let Some(will) = &connect.will {
                flags |= 0x04 | ((will.qos as u8) << 3);
                if will.retain {
                    flags |= 0x20;
                }
            }
            if connect.clean_session {
                flags |= 0x02;
            }
            body.push(flags);
            body.extend_from_slice(&connect.keep_alive.to_be_bytes());
            put_binary(&mut body, connect.client_id.as_bytes());
            if let Some(will) = &connect.will {
                put_binary(&mut body, will.topic.as_bytes());
                put_binary(&mut body, &will.message);
            }
            if let Some(username) = &connect.username {
                put_binary(&mut body, username.as_bytes());
            }
            if let Some(password) = &connect.password {
                put_binary(&mut body, password);
            }
            0x10
        }
        Packet::ConnAck {
            session_present,
            return_code,
        } => {
            body.push(u8::from(*session_present));
            body.push(*return_code);
            0x20
        }
        Packet::Publish(publish) => {
            put_binary(&mut body, publish.topic.as_bytes());
            if let Some(packet_id) = publish.packet_id {
                body.extend_from_slice(&packet_id.to_be_bytes());
            }
            body.extend_from_slice(&publish.payload);
            0x30 | (u8::from(publish.dup) << 3)
                | ((publish.qos as u8) << 1)
                | u8::from(publish.retain)
        }
        Packet::PubAck { packet_id } => put_id(&mut body, *packet_id, 0x40),
        Packet::PubRec { packet_id } => put_id(&mut body, *packet_id, 0x50),
        Packet::PubRel { packet_id } => put_id(&mut body, *packet_id, 0x62),
        Packet::PubComp { packet_id } => put_id(&mut body, *packet_id, 0x70),
        Packet::Subscribe { packet_id, filters } => {
            body.extend_from_slice(&packet_id.to_be_bytes());
            for (filter, qos) in filters {
                put_binary(&mut body, filter.as_bytes());
                body.push(*qos as u8);
            }
            0x82
        }
        Packet::SubAck {
            packet_id,
            return_codes,
        } => {
            body.extend_from_slice(&packet_id.to_be_bytes());
            body.extend_from_slice(return_codes);
            0x90
        }
        Packet::Unsubscribe { packet_id, filters } => {
            body.extend_from_slice(&packet_id.to_be_bytes());
            for filter in filters {
                put_binary(&mut body, filter.as_bytes());
            }
            0xa2
        }
        Packet::UnsubAck { packet_id } => put_id(&mut body, *packet_id, 0xb0),
        Packet::PingReq => 0xc0,
        Packet::PingResp => 0xd0,
        Packet::Disconnect => 0xe0,
    };
    let mut packet_bytes = Vec::with_capacity(body.len() + 5);
    packet_bytes.push(first_byte);
    packet_bytes.extend(mqtt::encode_remaining_length(body.len()));
    packet_bytes.extend_from_slice(&body);
    packet_bytes
}

fn put_id(body: &mut Vec<u8>, packet_id: u16, first_byte: u8) -> u8 {
    body.extend_from_slice(&packet_id.to_be_bytes());
    first_byte
}

fn put_binary(body: &mut Vec<u8>, bytes: &[u8]) {
    let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    body.extend_from_slice(&length.to_be_bytes());
    body.extend_from_slice(bytes.get(..usize::from(length)).unwrap_or(bytes));
}

/// Whether `topic` is a valid topic name to publish to: non-empty, without wildcards.
pub fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#'])
}

/// Whether `filter` is a valid topic filter: non-empty, `+` only as a whole level, `#`
/// only as the whole last level.
pub fn valid_topic_filter(filter: &str) -> bool {
    if filter.is_empty() {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let is_last = levels.peek().is_none();
        match level {
            "+" => {}
            "#" if is_last => {}
            _ if level.contains(['+', '#']) => return false,
            _ => {}
        }
    }
    true
}

/// Whether a message published to `topic` is delivered to a subscription to `filter`
/// (MQTT 3.1.1 section 4.7): `+` matches one level, `#` the rest (including the parent
/// level), and wildcards at the first level never match topics starting with `$`.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(wanted), Some(level)) if wanted == level => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn oversized_packet_is_refused_before_it_arrives() {
        // PUBLISH announcing 268 MB: refused from the first five bytes.
        assert_eq!(
            decode(&[0x30, 0xff, 0xff, 0xff, 0x7f]),
            Err(DecodeError::TooLarge {
                length: 268_435_455
            })
        );
    }

    #[test]
    fn mosquitto_connect_decodes() {
        // CONNECT from mosquitto_pub -u admin -P admin -i pub (MQTT 3.1.1, keep-alive 60).
        let bytes = [
            0x10, 0x1d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xc2, 0x00, 0x3c, 0x00, 0x03,
            b'p', b'u', b'b', 0x00, 0x05, b'a', b'd', b'm', b'i', b'n', 0x00, 0x05, b'a', b'd',
            b'm', b'i', b'n',
        ];
        let (packet, used) = decode(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let Packet::Connect(connect) = packet else {
            panic!("not a CONNECT: {packet:?}")
        };
        assert_eq!(connect.protocol_name, "MQTT");
        assert_eq!(connect.protocol_level, 4);
        assert_eq!(connect.keep_alive, 60);
        assert_eq!(connect.client_id, "pub");
        assert_eq!(connect.username.as_deref(), Some("admin"));
        assert_eq!(connect.password.as_deref(), Some(&b"admin"[..]));
        assert!(connect.clean_session);
    }

    #[test]
    fn partial_packet_asks_for_more() {
        let bytes = encode(&Packet::Subscribe {
            packet_id: 7,
            filters: vec![("a/+".into(), QoS::AtLeastOnce)],
        });
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn malformed_packets_are_refused() {
        // Reserved packet type 0.
        assert!(decode(&[0x00, 0x00]).is_err());
        // SUBSCRIBE with flags 0 instead of 2.
        assert!(decode(&[0x80, 0x02, 0x00, 0x01]).is_err());
        // PUBLISH QoS 3.
        assert_eq!(decode(&[0x36, 0x00]), Err(DecodeError::InvalidQoS));
        // PINGREQ with a body.
        assert_eq!(decode(&[0xc0, 0x01, 0x00]), Err(DecodeError::TrailingBytes));
        // String running past the end.
        assert_eq!(
            decode(&[0x30, 0x03, 0x00, 0x09, b'a']),
            Err(DecodeError::Truncated)
        );
        // Password without username.
        let connect = [
            0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x42, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(
            decode(&connect),
            Err(DecodeError::InvalidConnectFlags(0x42))
        );
        // Invalid UTF-8 topic.
        assert_eq!(
            decode(&[0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]),
            Err(DecodeError::InvalidString)
        );
    }

    #[test]
    fn topic_filters() {
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/c"));
        assert!(topic_matches("a/+", "a/b"));
        assert!(!topic_matches("a/+", "a/b/c"));
        assert!(topic_matches("a/#", "a"));
        assert!(topic_matches("a/#", "a/b/c"));
        assert!(topic_matches("#", "x/y"));
        assert!(topic_matches("+/+", "/finance"));
        assert!(!topic_matches("#", "$SYS/uptime"));
        assert!(topic_matches("$SYS/#", "$SYS/uptime"));
        assert!(valid_topic_filter("a/+/#"));
        assert!(!valid_topic_filter("a/#/b"));
        assert!(!valid_topic_filter("a+"));
        assert!(!valid_topic_filter(""));
        assert!(valid_topic_name("a/b"));
        assert!(!valid_topic_name("a/+"));
    }

    fn qos() -> impl Strategy<Value = QoS> {
        prop_oneof![
            Just(QoS::AtMostOnce),
            Just(QoS::AtLeastOnce),
            Just(QoS::ExactlyOnce)
        ]
    }

    fn packet() -> impl Strategy<Value = Packet> {
        let text = "[a-z/+#$]{0,12}";
        prop_oneof![
            (
                text,
                any::<bool>(),
                any::<u16>(),
                proptest::option::of(text),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8))
            )
                .prop_map(
                    |(client_id, clean_session, keep_alive, username, password)| {
                        let password = username.as_ref().and(password);
                        Packet::Connect(Connect {
                            protocol_name: PROTOCOL_NAME.into(),
                            protocol_level: PROTOCOL_LEVEL,
                            clean_session,
                            keep_alive,
                            client_id,
                            will: None,
                            username,
                            password,
                        })
                    }
                ),
            (
                text,
                qos(),
                any::<bool>(),
                1..=u16::MAX,
                proptest::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(topic, qos, retain, id, payload)| {
                    Packet::Publish(Publish {
                        dup: false,
                        qos,
                        retain,
                        topic,
                        packet_id: (qos != QoS::AtMostOnce).then_some(id),
                        payload,
                    })
                }),
            (1..=u16::MAX, proptest::collection::vec((text, qos()), 1..4))
                .prop_map(|(packet_id, filters)| Packet::Subscribe { packet_id, filters }),
            (1..=u16::MAX, proptest::collection::vec(text, 1..4))
                .prop_map(|(packet_id, filters)| Packet::Unsubscribe { packet_id, filters }),
            (1..=u16::MAX).prop_map(|packet_id| Packet::PubAck { packet_id }),
            Just(Packet::PingReq),
            Just(Packet::Disconnect),
        ]
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(packet in packet()) {
            let bytes = encode(&packet);
            prop_assert_eq!(decode(&bytes), Ok(Some((packet, bytes.len()))));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(Some((_, used))) = decode(&bytes) {
                prop_assert!(used <= bytes.len());
            }
        }
    }
}
