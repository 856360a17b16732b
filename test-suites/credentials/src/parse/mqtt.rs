//! MQTT CONNECT (3.1.1 and 5) and the CONNACK that judges it.
//!
//! A broker says whether a username and password are accepted in the return code
//! (3.1.1) or reason code (5) of its CONNACK; anything else it sends first is a
//! protocol error, never a success.

use iotcert_wire::mqtt;

/// The protocol versions a probe speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MqttVersion {
    /// MQTT 3.1.1, protocol level 4.
    V311,
    /// MQTT 5, protocol level 5.
    V5,
}

/// A CONNECT packet with a clean session, a 30 s keep-alive and optional credentials.
/// `username: None` asks for an anonymous session.
pub fn connect_packet(
    version: MqttVersion,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> Vec<u8> {
    let mut body = Vec::new();
    put_string(&mut body, b"MQTT");
    body.push(match version {
        MqttVersion::V311 => 4,
        MqttVersion::V5 => 5,
    });
    let mut flags = 0x02u8; // clean session
    if username.is_some() {
        flags |= 0x80;
        if password.is_some() {
            flags |= 0x40;
        }
    }
    body.push(flags);
    body.extend_from_slice(&30u16.to_be_bytes());
    if version == MqttVersion::V5 {
        body.push(0); // no properties
    }
    put_string(&mut body, client_id.as_bytes());
    if let Some(username) = username {
        put_string(&mut body, username.as_bytes());
        if let Some(password) = password {
            put_string(&mut body, password.as_bytes());
        }
    }
    let mut packet = vec![0x10];
    packet.extend(mqtt::encode_remaining_length(body.len()));
    packet.extend_from_slice(&body);
    packet
}

fn put_string(out: &mut Vec<u8>, text: &[u8]) {
    let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(text.get(..usize::from(length)).unwrap_or(text));
}

/// What a CONNACK said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnackVerdict {
    Accepted,
    /// Bad username or password, or not authorised.
    Refused,
    /// Quota or connection rate exceeded, server busy: the broker is throttling.
    Throttled,
    /// The broker does not speak this protocol version.
    UnsupportedVersion,
    /// Any other refusal (identifier rejected, server unavailable, ...).
    Other,
}

/// A parsed CONNACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connack {
    pub code: u8,
    pub verdict: ConnackVerdict,
}

/// Why the bytes are not yet, or never, a CONNACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnackError {
    /// More bytes are needed.
    Incomplete,
    /// The first packet is not a CONNACK or is malformed.
    NotConnack,
}

/// Parse the CONNACK at the start of `bytes`, as an answer to a CONNECT of `version`.
pub fn parse_connack(bytes: &[u8], version: MqttVersion) -> Result<Connack, ConnackError> {
    let header = match mqtt::parse_fixed_header(bytes) {
        Ok(Some(header)) => header,
        Ok(None) if bytes.first().is_none_or(|&first| first == 0x20) => {
            return Err(ConnackError::Incomplete)
        }
        Ok(None) | Err(_) => return Err(ConnackError::NotConnack),
    };
    if header.first_byte() != 0x20 || header.remaining_length < 2 {
        return Err(ConnackError::NotConnack);
    }
    let body = bytes
        .get(header.header_length..header.packet_length())
        .ok_or(ConnackError::Incomplete)?;
    let acknowledge_flags = *body.first().ok_or(ConnackError::NotConnack)?;
    if acknowledge_flags & 0xfe != 0 {
        return Err(ConnackError::NotConnack);
    }
    let code = *body.get(1).ok_or(ConnackError::NotConnack)?;
    // A 3.1.1 broker answers a version-5 CONNECT with the 3.1.1 code 1, and a body of two.
    let verdict = match (version, code) {
        (_, 0) => ConnackVerdict::Accepted,
        (MqttVersion::V311, 1) | (MqttVersion::V5, 1 | 0x84) => ConnackVerdict::UnsupportedVersion,
        (MqttVersion::V311, 4 | 5) | (MqttVersion::V5, 0x86 | 0x87 | 0x8C) => {
            ConnackVerdict::Refused
        }
        (MqttVersion::V311, 3) | (MqttVersion::V5, 0x88 | 0x89 | 0x97 | 0x9F) => {
            ConnackVerdict::Throttled
        }
        _ => ConnackVerdict::Other,
    };
    Ok(Connack { code, verdict })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_layout() {
        let packet = connect_packet(MqttVersion::V311, "c", Some("u"), Some("p"));
        assert_eq!(
            packet,
            vec![
                0x10, 19, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 30, 0, 1, b'c', 0, 1, b'u', 0,
                1, b'p'
            ]
        );
        let v5 = connect_packet(MqttVersion::V5, "c", None, None);
        assert_eq!(v5.get(8), Some(&5));
        assert_eq!(v5.get(9), Some(&0x02));
    }

    #[test]
    fn connack_codes() {
        let verdict = |bytes: &[u8], v| parse_connack(bytes, v).map(|c| c.verdict);
        assert_eq!(
            verdict(&[0x20, 2, 0, 0], MqttVersion::V311),
            Ok(ConnackVerdict::Accepted)
        );
        assert_eq!(
            verdict(&[0x20, 2, 0, 5], MqttVersion::V311),
            Ok(ConnackVerdict::Refused)
        );
        assert_eq!(
            verdict(&[0x20, 3, 0, 0x86, 0], MqttVersion::V5),
            Ok(ConnackVerdict::Refused)
        );
        assert_eq!(
            verdict(&[0x20, 2, 0, 1], MqttVersion::V5),
            Ok(ConnackVerdict::UnsupportedVersion)
        );
        assert_eq!(
            verdict(&[0x20], MqttVersion::V5),
            Err(ConnackError::Incomplete)
        );
        assert_eq!(
            verdict(&[0x30, 2, 0, 0], MqttVersion::V5),
            Err(ConnackError::NotConnack)
        );
        assert_eq!(
            verdict(&[0x20, 0xff, 0xff, 0xff, 0xff, 1], MqttVersion::V5),
            Err(ConnackError::NotConnack)
        );
    }
}
