//! Binary protocols the suite speaks to silent TCP ports: their requests and the strict
//! recognisers of their replies (TLS, DTLS, MQTT, ADB, gdb remote, JDWP, OpenOCD Tcl,
//! Modbus/TCP).
//!
//! Requests and recognisers sit side by side because each recogniser checks the reply
//! against the request it answers (ids, magic values, checksums), which is what keeps a
//! stream of garbage from being mistaken for a debug bridge.

/// ADB message commands (little-endian ASCII), from the Android `adb/protocol.txt`.
pub const ADB_CNXN: u32 = 0x4e58_4e43;
pub const ADB_AUTH: u32 = 0x4854_5541;
pub const ADB_STLS: u32 = 0x534c_5453;
/// `A_VERSION` of the ADB protocol the probe announces.
const ADB_VERSION: u32 = 0x0100_0001;
/// `MAX_PAYLOAD` the probe announces.
const ADB_MAX_PAYLOAD: u32 = 256 * 1024;

/// An ADB `CNXN` message from a host, as `adb connect` sends it.
#[allow(clippy::cast_possible_truncation)] // lengths of this probe's own fixed fields, all far below the type's limit
pub fn adb_connect_request() -> Vec<u8> {
    let payload = b"host::iotcert\0";
    let checksum: u32 = payload.iter().map(|&b| u32::from(b)).sum();
    let mut message = Vec::with_capacity(24 + payload.len());
    for word in [
        ADB_CNXN,
        ADB_VERSION,
        ADB_MAX_PAYLOAD,
        payload.len() as u32,
        checksum,
        ADB_CNXN ^ 0xffff_ffff,
    ] {
        message.extend_from_slice(&word.to_le_bytes());
    }
    message.extend_from_slice(payload);
    message
}

/// What an ADB daemon answered to `CNXN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdbReply {
    /// Connected without authentication; the banner says what the device is.
    Connected { banner: String },
    /// The daemon wants the host to authenticate with a key first.
    AuthRequired,
    /// The daemon wants to switch to TLS first (ADB over Wi-Fi pairing).
    TlsRequired,
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *word.first()?,
        *word.get(1)?,
        *word.get(2)?,
        *word.get(3)?,
    ]))
}

/// An ADB message header with the right magic (`command ^ 0xffffffff`).
pub fn adb_reply(reply: &[u8]) -> Option<AdbReply> {
    let command = le_u32(reply, 0)?;
    let data_length = le_u32(reply, 12)?;
    let magic = le_u32(reply, 20)?;
    if magic != command ^ 0xffff_ffff || data_length > ADB_MAX_PAYLOAD * 4 {
        return None;
    }
    match command {
        ADB_CNXN => {
            let data = reply.get(24..).unwrap_or_default();
            let shown = data.get(..data_length as usize).unwrap_or(data);
            let banner = String::from_utf8_lossy(shown)
                .trim_end_matches('\0')
                .to_owned();
            Some(AdbReply::Connected { banner })
        }
        ADB_AUTH => Some(AdbReply::AuthRequired),
        ADB_STLS => Some(AdbReply::TlsRequired),
        _ => None,
    }
}

/// The modulo-256 checksum the gdb remote protocol puts after `#`.
pub fn gdb_checksum(payload: &[u8]) -> u8 {
    payload.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// `$qSupported#37`: the first packet every gdb sends to a stub.
pub fn gdb_request() -> Vec<u8> {
    let payload = b"qSupported";
    format!(
        "${}#{:02x}",
        String::from_utf8_lossy(payload),
        gdb_checksum(payload)
    )
    .into_bytes()
}

/// A gdb remote-protocol packet (`$payload#xx`, optionally after `+` acks) whose
/// checksum is right; returns its payload.
pub fn gdb_reply(reply: &[u8]) -> Option<String> {
    let start = reply.iter().position(|&b| b != b'+')?;
    let packet = reply.get(start..)?;
    let body = packet.strip_prefix(b"$")?;
    let hash = body.iter().position(|&b| b == b'#')?;
    let payload = body.get(..hash)?;
    let digits = body.get(hash + 1..hash + 3)?;
    let text = std::str::from_utf8(digits).ok()?;
    let sum = u8::from_str_radix(text, 16).ok()?;
    (sum == gdb_checksum(payload)).then(|| String::from_utf8_lossy(payload).into_owned())
}

/// The JDWP handshake: the debugger sends it and the agent echoes it.
pub const JDWP_HANDSHAKE: &[u8] = b"JDWP-Handshake";

pub fn jdwp_reply(reply: &[u8]) -> bool {
    reply.starts_with(JDWP_HANDSHAKE)
}

/// OpenOCD's Tcl RPC server: commands end with 0x1a, and so do answers.
pub const OPENOCD_TCL_REQUEST: &[u8] = b"version\x1a";

pub fn openocd_tcl_reply(reply: &[u8]) -> bool {
    reply.ends_with(b"\x1a") && String::from_utf8_lossy(reply).contains("Open On-Chip Debugger")
}

/// The Modbus transaction id the probe uses, echoed by a Modbus/TCP server.
const MODBUS_TRANSACTION: [u8; 2] = [0x49, 0x43];

/// Modbus/TCP Read Device Identification (function 43, MEI 14), basic objects, unit 1.
pub fn modbus_request() -> Vec<u8> {
    let mut request = MODBUS_TRANSACTION.to_vec();
    request.extend_from_slice(&[0x00, 0x00, 0x00, 0x05, 0x01, 0x2b, 0x0e, 0x01, 0x00]);
    request
}

/// A Modbus/TCP answer to [`modbus_request`]: same transaction, protocol 0, a length
/// that matches, and function 43 or its exception 0xab.
pub fn modbus_reply(reply: &[u8]) -> bool {
    let header_ok =
        reply.get(..2) == Some(&MODBUS_TRANSACTION[..]) && reply.get(2..4) == Some(&[0, 0][..]);
    let length = match (reply.get(4), reply.get(5)) {
        (Some(&high), Some(&low)) => usize::from(u16::from_be_bytes([high, low])),
        _ => return false,
    };
    let function = reply.get(7).copied();
    header_ok && length >= 2 && reply.len() >= 6 + length && matches!(function, Some(0x2b | 0xab))
}

/// An MQTT 3.1.1 CONNECT with a clean session, no credentials, keep-alive 60 s.
#[allow(clippy::cast_possible_truncation)] // lengths of this probe's own fixed fields, all far below the type's limit
pub fn mqtt_connect_request() -> Vec<u8> {
    let client_id = b"iotcert-probe";
    let mut variable = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c];
    variable.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    variable.extend_from_slice(client_id);
    let mut packet = vec![0x10, variable.len() as u8];
    packet.extend_from_slice(&variable);
    packet
}

/// MQTT DISCONNECT, sent after a CONNACK so the broker logs a clean goodbye.
pub const MQTT_DISCONNECT: &[u8] = &[0xe0, 0x00];

/// The return code of an MQTT CONNACK (3.1.1 or 5).
pub fn mqtt_connack(reply: &[u8]) -> Option<u8> {
    match reply {
        [0x20, 0x02, flags, code, ..] if *flags <= 1 && *code <= 5 => Some(*code),
        [0x20, length, flags, code, ..]
            if *length >= 3 && *flags <= 1 && (*code == 0 || *code >= 0x80) =>
        {
            Some(*code)
        }
        _ => None,
    }
}

/// What an MQTT CONNACK return code means, in words.
pub fn mqtt_connack_meaning(code: u8) -> &'static str {
    match code {
        0 => "connection accepted without credentials",
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 | 0x87 => "not authorized",
        0x86 => "bad user name or password",
        _ => "refused",
    }
}

/// A fixed x25519 public key (RFC 7748, section 6.1) so TLS 1.3 servers answer with a
/// ServerHello rather than a HelloRetryRequest; the handshake is never completed.
const X25519_SHARE: [u8; 32] = [
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
    0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a,
];

#[allow(clippy::cast_possible_truncation)] // lengths of this probe's own fixed fields, all far below the type's limit
fn with_u16_length(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&with_u16_length(body));
    out
}

/// The body of a ClientHello offering TLS 1.3 and 1.2 with common suites, for `version`
/// (0x0303 for TLS, 0xfefd for DTLS 1.2, which also carries an empty cookie).
fn client_hello_body(version: u16, server_name: Option<&str>, dtls: bool) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend((0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11)));
    body.push(0); // session id
    if dtls {
        body.push(0); // cookie
    }
    let suites: &[u16] = if dtls {
        &[0xc0ae, 0xc0ac, 0xc02b, 0xc02f, 0xc0a8, 0x00ae, 0x009c]
    } else {
        &[
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013,
            0xc00a, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035, 0x000a,
        ]
    };
    let suite_bytes: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
    body.extend_from_slice(&with_u16_length(&suite_bytes));
    body.extend_from_slice(&[1, 0]); // compression: null
    let mut extensions = Vec::new();
    if let Some(name) = server_name {
        let mut entry = vec![0u8];
        entry.extend_from_slice(&with_u16_length(name.as_bytes()));
        extensions.extend(extension(0x0000, &with_u16_length(&entry)));
    }
    extensions.extend(extension(
        0x000a,
        &with_u16_length(&[0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]),
    ));
    extensions.extend(extension(0x000b, &[1, 0]));
    let signature_schemes: Vec<u8> = [
        0x0403u16, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
    ]
    .iter()
    .flat_map(|s| s.to_be_bytes())
    .collect();
    extensions.extend(extension(0x000d, &with_u16_length(&signature_schemes)));
    if !dtls {
        extensions.extend(extension(0x002b, &[4, 0x03, 0x04, 0x03, 0x03]));
        let mut share = vec![0x00, 0x1d];
        share.extend_from_slice(&with_u16_length(&X25519_SHARE));
        extensions.extend(extension(0x0033, &with_u16_length(&share)));
    }
    body.extend_from_slice(&with_u16_length(&extensions));
    body
}

#[allow(clippy::cast_possible_truncation)] // lengths of this probe's own fixed fields, all far below the type's limit
fn u24(length: usize) -> [u8; 3] {
    let [_, high, middle, low] = (length as u32).to_be_bytes();
    [high, middle, low]
}

/// A TLS record carrying a ClientHello (TLS 1.3 and 1.2 offered).
pub fn tls_client_hello(server_name: Option<&str>) -> Vec<u8> {
    let body = client_hello_body(0x0303, server_name, false);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&u24(body.len()));
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&with_u16_length(&handshake));
    record
}

/// A DTLS 1.2 record carrying a ClientHello, for CoAP over DTLS.
pub fn dtls_client_hello() -> Vec<u8> {
    let body = client_hello_body(0xfefd, None, true);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&u24(body.len()));
    handshake.extend_from_slice(&[0, 0]); // message_seq
    handshake.extend_from_slice(&[0, 0, 0]); // fragment_offset
    handshake.extend_from_slice(&u24(body.len())); // fragment_length
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
    record.extend_from_slice(&with_u16_length(&handshake));
    record
}

/// What a TLS (or DTLS) server answered to a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsReply {
    /// A ServerHello (or HelloRetryRequest, which has the same shape) with this
    /// `legacy_version`.
    ServerHello { version: u16 },
    /// DTLS HelloVerifyRequest: the server wants a cookie round trip first.
    HelloVerifyRequest,
    /// A TLS alert: the server speaks TLS but refused the offer.
    Alert { level: u8, description: u8 },
}

impl TlsReply {
    pub fn describe(self) -> String {
        match self {
            TlsReply::ServerHello { version } => {
                format!("ServerHello (record version {version:#06x})")
            }
            TlsReply::HelloVerifyRequest => "HelloVerifyRequest".to_owned(),
            TlsReply::Alert { level, description } => {
                format!("alert level {level} description {description}")
            }
        }
    }
}

/// A TLS record that is a ServerHello or an alert.
pub fn tls_reply(reply: &[u8]) -> Option<TlsReply> {
    let (&content_type, &major, &minor) = (reply.first()?, reply.get(1)?, reply.get(2)?);
    let length = u16::from_be_bytes([*reply.get(3)?, *reply.get(4)?]);
    if major != 3 || minor > 4 || length == 0 || length > 18 * 1024 {
        return None;
    }
    match content_type {
        0x16 if reply.get(5) == Some(&0x02) => {
            let version = u16::from_be_bytes([*reply.get(9)?, *reply.get(10)?]);
            (version >> 8 == 3).then_some(TlsReply::ServerHello { version })
        }
        0x15 if length == 2 => {
            let (&level, &description) = (reply.get(5)?, reply.get(6)?);
            matches!(level, 1 | 2).then_some(TlsReply::Alert { level, description })
        }
        _ => None,
    }
}

/// A DTLS record that is a HelloVerifyRequest, a ServerHello or an alert.
pub fn dtls_reply(reply: &[u8]) -> Option<TlsReply> {
    let (&content_type, &major, &minor) = (reply.first()?, reply.get(1)?, reply.get(2)?);
    if major != 0xfe || !matches!(minor, 0xff | 0xfd) {
        return None;
    }
    let length = u16::from_be_bytes([*reply.get(11)?, *reply.get(12)?]);
    if length == 0 {
        return None;
    }
    match (content_type, reply.get(13)) {
        (0x16, Some(0x03)) => Some(TlsReply::HelloVerifyRequest),
        (0x16, Some(0x02)) => Some(TlsReply::ServerHello { version: 0xfefd }),
        (0x15, Some(&level)) if length == 2 && matches!(level, 1 | 2) => Some(TlsReply::Alert {
            level,
            description: *reply.get(14)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adb_request_has_magic_and_payload() {
        let request = adb_connect_request();
        assert_eq!(&request[..4], b"CNXN");
        let command = u32::from_le_bytes(request[..4].try_into().unwrap());
        let magic = u32::from_le_bytes(request[20..24].try_into().unwrap());
        assert_eq!(magic, !command);
        assert!(request.ends_with(b"host::iotcert\0"));
    }

    #[test]
    fn adb_replies() {
        let mut auth = Vec::new();
        for word in [ADB_AUTH, 1, 0, 20, 0, !ADB_AUTH] {
            auth.extend_from_slice(&word.to_le_bytes());
        }
        assert_eq!(adb_reply(&auth), Some(AdbReply::AuthRequired));
        let mut cnxn = Vec::new();
        for word in [ADB_CNXN, ADB_VERSION, 4096, 14, 0, !ADB_CNXN] {
            cnxn.extend_from_slice(&word.to_le_bytes());
        }
        cnxn.extend_from_slice(b"device::ro.x;\0");
        assert_eq!(
            adb_reply(&cnxn),
            Some(AdbReply::Connected {
                banner: "device::ro.x;".into()
            })
        );
        let mut bad = auth.clone();
        bad[20] ^= 1;
        assert_eq!(adb_reply(&bad), None);
        assert_eq!(adb_reply(b"CNXN"), None);
    }

    #[test]
    fn gdb_packets() {
        assert_eq!(gdb_request(), b"$qSupported#37");
        let payload = b"PacketSize=4000;qXfer:features:read+";
        let packet = format!(
            "+${}#{:02x}",
            String::from_utf8_lossy(payload),
            gdb_checksum(payload)
        );
        assert_eq!(
            gdb_reply(packet.as_bytes()).as_deref(),
            Some("PacketSize=4000;qXfer:features:read+")
        );
        assert_eq!(gdb_reply(b"$#00").as_deref(), Some(""));
        assert_eq!(gdb_reply(b"$OK#00"), None);
        assert_eq!(gdb_reply(b"$OK#9a").as_deref(), Some("OK"));
        assert_eq!(gdb_reply(b"$OK#9"), None);
        assert_eq!(gdb_reply(b"+++"), None);
    }

    #[test]
    fn mqtt_connack_codes() {
        assert_eq!(mqtt_connack(&[0x20, 0x02, 0x00, 0x05]), Some(5));
        assert_eq!(mqtt_connack(&[0x20, 0x02, 0x00, 0x00]), Some(0));
        assert_eq!(mqtt_connack(&[0x20, 0x03, 0x00, 0x87, 0x00]), Some(0x87));
        assert_eq!(mqtt_connack(&[0x20, 0x02, 0x07, 0x00]), None);
        assert_eq!(mqtt_connack(b"HTTP"), None);
        let connect = mqtt_connect_request();
        assert_eq!(connect[0], 0x10);
        assert_eq!(connect[1] as usize, connect.len() - 2);
    }

    #[test]
    fn tls_records() {
        assert_eq!(
            tls_reply(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
            Some(TlsReply::Alert {
                level: 2,
                description: 40
            })
        );
        let hello = [
            0x16, 0x03, 0x03, 0x00, 0x5a, 0x02, 0x00, 0x00, 0x56, 0x03, 0x03,
        ];
        assert_eq!(
            tls_reply(&hello),
            Some(TlsReply::ServerHello { version: 0x0303 })
        );
        assert_eq!(tls_reply(b"\x16\x03garbage"), None);
        let request = tls_client_hello(Some("device.local"));
        let declared = usize::from(u16::from_be_bytes([request[3], request[4]]));
        assert_eq!(declared, request.len() - 5);
        let dtls = dtls_client_hello();
        let declared = usize::from(u16::from_be_bytes([dtls[11], dtls[12]]));
        assert_eq!(declared, dtls.len() - 13);
    }

    #[test]
    fn modbus_frames() {
        let request = modbus_request();
        assert_eq!(request.len(), 11);
        let reply = [0x49, 0x43, 0, 0, 0, 3, 1, 0xab, 0x01];
        assert!(modbus_reply(&reply));
        assert!(!modbus_reply(&reply[..8]));
        assert!(!modbus_reply(b"IC\0\0\0\x03\x01\x03\x01"));
    }
}
