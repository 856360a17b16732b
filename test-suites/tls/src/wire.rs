//! TLS on the wire, by hand: ClientHellos of every version from SSL 3.0 to TLS 1.3, and
//! a parser of what a server answers (ServerHello, Certificate, ServerKeyExchange,
//! ServerHelloDone, alerts, heartbeat responses).
//!
//! rustls speaks only TLS 1.2 and 1.3 and never offers a weak suite, so the probes that
//! ask "would this server accept SSL 3.0, or RC4?" are built here. Everything the parser
//! reads came from a device and may be hostile: it never indexes, never trusts a length
//! without a cap, and reports what it could not read as a [`WireError`]. It is pure (no
//! I/O), which is what the `tls_server_flight` fuzz target drives.

use std::fmt;

/// Protocol version numbers as they appear on the wire.
pub const SSL3: u16 = 0x0300;
pub const TLS10: u16 = 0x0301;
pub const TLS11: u16 = 0x0302;
pub const TLS12: u16 = 0x0303;
pub const TLS13: u16 = 0x0304;

/// Every version the suite probes, oldest first.
pub const ALL_VERSIONS: [u16; 5] = [SSL3, TLS10, TLS11, TLS12, TLS13];

/// Record content types.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const HEARTBEAT: u8 = 24;

/// Handshake message types.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
const SERVER_KEY_EXCHANGE: u8 = 12;
const SERVER_HELLO_DONE: u8 = 14;

/// Extension numbers.
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_HEARTBEAT: u16 = 15;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_KEY_SHARE: u16 = 51;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// Signalling cipher suite values.
pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;
pub const FALLBACK_SCSV: u16 = 0x5600;

/// Alert descriptions the verdicts look for.
pub const ALERT_INAPPROPRIATE_FALLBACK: u8 = 86;

/// Named groups.
pub const GROUP_X25519: u16 = 0x001d;
pub const GROUP_SECP256R1: u16 = 0x0017;
pub const GROUP_SECP384R1: u16 = 0x0018;
pub const GROUP_SECP521R1: u16 = 0x0019;
pub const GROUP_X448: u16 = 0x001e;
/// Groups weaker than 128-bit security: secp160k1/r1/r2, secp192k1/r1, secp224k1/r1.
pub const WEAK_GROUPS: [u16; 7] = [0x000f, 0x0010, 0x0011, 0x0012, 0x0013, 0x0014, 0x0015];
/// Finite-field groups of RFC 7919.
pub const FFDHE_GROUPS: [u16; 3] = [0x0100, 0x0101, 0x0102];

/// The largest record a conforming peer sends (2^14 plus expansion for compression and
/// encryption); anything longer is hostile or broken.
pub const MAX_RECORD_LENGTH: usize = 16_384 + 2_048;
/// The largest handshake message the parser accepts (a chain of a few certificates fits
/// many times over; a 16 MB certificate does not).
pub const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;

/// A fixed x25519 public key (RFC 7748, section 6.1). The handshake is never finished,
/// so the key needs no secrecy; it only makes TLS 1.3 servers answer with a ServerHello.
const X25519_PUBLIC: [u8; 32] = [
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
    0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a,
];

/// The random of a HelloRetryRequest (RFC 8446, section 4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0x33, 0x8c, 0x9c,
];

/// Signature algorithms offered in TLS 1.2 and 1.3 hellos, strongest first, with the
/// SHA-1 ones last so that servers with only an old key still answer.
const SIGNATURE_ALGORITHMS: [u16; 13] = [
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203,
    0x0201,
];

/// What a ClientHello offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloSpec {
    /// The version offered: for TLS 1.3 through `supported_versions`, otherwise as
    /// `client_version`.
    pub version: u16,
    pub cipher_suites: Vec<u16>,
    /// SNI; omitted for IP addresses (RFC 6066 forbids them there).
    pub server_name: Option<String>,
    pub groups: Vec<u16>,
    /// Offer DEFLATE compression next to null.
    pub offer_compression: bool,
    /// Offer the heartbeat extension (peer allowed to send).
    pub offer_heartbeat: bool,
    /// Add TLS_FALLBACK_SCSV: this hello is a fallback from a higher version.
    pub fallback_scsv: bool,
}

impl HelloSpec {
    /// A hello for `version` offering `cipher_suites` and every usual group.
    pub fn new(version: u16, cipher_suites: Vec<u16>, server_name: Option<String>) -> Self {
        HelloSpec {
            version,
            cipher_suites,
            server_name,
            groups: vec![
                GROUP_X25519,
                GROUP_SECP256R1,
                GROUP_SECP384R1,
                GROUP_SECP521R1,
                GROUP_X448,
                0x0100,
                0x0101,
            ],
            offer_compression: false,
            offer_heartbeat: false,
            fallback_scsv: false,
        }
    }
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends `body` prefixed by its length in `width` bytes (1, 2 or 3).
fn put_vector(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    let length = body.len().to_be_bytes();
    let start = length.len().saturating_sub(width);
    out.extend_from_slice(length.get(start..).unwrap_or_default());
    out.extend_from_slice(body);
}

fn put_extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    put_u16(out, kind);
    put_vector(out, 2, body);
}

/// The ClientHello for `spec`, in one record.
pub fn client_hello(spec: &HelloSpec) -> Vec<u8> {
    let tls13 = spec.version >= TLS13;
    let legacy_version = spec.version.min(TLS12);
    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, legacy_version);
    // A fixed client random: the handshake is never completed, so it needs no entropy,
    // and fixed bytes keep transcripts reproducible.
    body.extend((0u8..32).map(|i| i.wrapping_mul(7).wrapping_add(0x5a)));
    // A 32-byte session id makes TLS 1.3 middlebox-compatibility servers happy.
    put_vector(&mut body, 1, &[0x11; 32]);
    let mut suites = Vec::with_capacity(spec.cipher_suites.len() * 2 + 4);
    for suite in &spec.cipher_suites {
        put_u16(&mut suites, *suite);
    }
    if !tls13 {
        put_u16(&mut suites, EMPTY_RENEGOTIATION_INFO_SCSV);
    }
    if spec.fallback_scsv {
        put_u16(&mut suites, FALLBACK_SCSV);
    }
    put_vector(&mut body, 2, &suites);
    if spec.offer_compression {
        put_vector(&mut body, 1, &[1, 0]);
    } else {
        put_vector(&mut body, 1, &[0]);
    }

    let mut extensions = Vec::with_capacity(256);
    if spec.version > SSL3 {
        if let Some(name) = &spec.server_name {
            let mut entry = vec![0u8];
            put_vector(&mut entry, 2, name.as_bytes());
            let mut list = Vec::new();
            put_vector(&mut list, 2, &entry);
            put_extension(&mut extensions, EXT_SERVER_NAME, &list);
        }
        let mut groups = Vec::new();
        for group in &spec.groups {
            put_u16(&mut groups, *group);
        }
        let mut group_list = Vec::new();
        put_vector(&mut group_list, 2, &groups);
        put_extension(&mut extensions, EXT_SUPPORTED_GROUPS, &group_list);
        put_extension(&mut extensions, EXT_EC_POINT_FORMATS, &[1, 0]);
        let mut algorithms = Vec::new();
        for algorithm in SIGNATURE_ALGORITHMS {
            put_u16(&mut algorithms, algorithm);
        }
        let mut algorithm_list = Vec::new();
        put_vector(&mut algorithm_list, 2, &algorithms);
        put_extension(&mut extensions, EXT_SIGNATURE_ALGORITHMS, &algorithm_list);
        if spec.offer_heartbeat {
            put_extension(&mut extensions, EXT_HEARTBEAT, &[1]);
        }
        if tls13 {
            put_extension(&mut extensions, EXT_SUPPORTED_VERSIONS, &[2, 0x03, 0x04]);
            let mut share = Vec::new();
            put_u16(&mut share, GROUP_X25519);
            put_vector(&mut share, 2, &X25519_PUBLIC);
            let mut shares = Vec::new();
            put_vector(&mut shares, 2, &share);
            put_extension(&mut extensions, EXT_KEY_SHARE, &shares);
        }
    }
    if !extensions.is_empty() {
        put_vector(&mut body, 2, &extensions);
    }

    let mut handshake = vec![CLIENT_HELLO];
    put_vector(&mut handshake, 3, &body);
    record(HANDSHAKE, spec.version.clamp(SSL3, TLS10), &handshake)
}

fn record(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![content_type];
    put_u16(&mut out, version);
    put_vector(&mut out, 2, payload);
    out
}

/// A heartbeat request whose declared payload length (16 KiB) exceeds the one byte sent:
/// a server vulnerable to Heartbleed (CVE-2014-0160) answers with its own memory.
pub fn heartbleed_request(version: u16) -> Vec<u8> {
    // type 1 (request), payload_length 0x4000, one byte of payload, no padding.
    record(HEARTBEAT, version, &[1, 0x40, 0x00, 0x42])
}

/// An alert as the server sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    pub level: u8,
    pub description: u8,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            40 => "handshake_failure",
            42 => "bad_certificate",
            47 => "illegal_parameter",
            50 => "decode_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            109 => "missing_extension",
            112 => "unrecognized_name",
            _ => "alert",
        };
        write!(f, "{name} ({})", self.description)
    }
}

/// The fields of a ServerHello the verdicts need.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServerHello {
    /// The version negotiated: `supported_versions` when present, else `server_version`.
    pub version: u16,
    pub cipher_suite: u16,
    pub compression: u8,
    /// The server answered the renegotiation SCSV with `renegotiation_info` (RFC 5746).
    pub secure_renegotiation: bool,
    /// The server agreed to heartbeats.
    pub heartbeat: bool,
    /// TLS 1.3: the group of the server's key share (or the one a HelloRetryRequest asks for).
    pub key_share_group: Option<u16>,
    /// This is a HelloRetryRequest, not a ServerHello.
    pub hello_retry: bool,
    /// The random ends with the TLS 1.3 downgrade sentinel (RFC 8446, section 4.1.3):
    /// a server that supports TLS 1.3 says it was asked for less.
    pub downgrade_sentinel: bool,
}

/// Why the server's bytes could not be read as TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The first byte is no TLS record type: the port speaks something else.
    NotTls(u8),
    /// A record of a type that has no place here (after a valid start).
    UnexpectedRecord(u8),
    /// A record longer than any conforming peer sends.
    RecordTooLong(usize),
    /// A handshake message longer than [`MAX_HANDSHAKE_MESSAGE`].
    MessageTooLong { message: u8, length: usize },
    /// A message whose inner lengths do not add up.
    Malformed(&'static str),
    /// A handshake message that has no place in the server's first flight.
    UnexpectedMessage(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NotTls(byte) => write!(f, "not TLS (first byte 0x{byte:02x})"),
            WireError::UnexpectedRecord(kind) => write!(f, "unexpected record type {kind}"),
            WireError::RecordTooLong(length) => {
                write!(f, "record of {length} bytes, over the TLS maximum of {MAX_RECORD_LENGTH}")
            }
            WireError::MessageTooLong { message, length } => write!(
                f,
                "handshake message {message} of {length} bytes, over the cap of {MAX_HANDSHAKE_MESSAGE}"
            ),
            WireError::Malformed(what) => write!(f, "malformed {what}"),
            WireError::UnexpectedMessage(kind) => write!(f, "unexpected handshake message {kind}"),
        }
    }
}

/// What the server's first flight said, as far as it arrived.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFlight {
    pub server_hello: Option<ServerHello>,
    /// DER certificates of the Certificate message (TLS 1.2 and older).
    pub certificates: Vec<Vec<u8>>,
    /// Body of the ServerKeyExchange, read with [`key_exchange_parameters`].
    pub server_key_exchange: Option<Vec<u8>>,
    pub hello_done: bool,
    pub alert: Option<Alert>,
    /// Heartbeat responses: the length of each record's payload.
    pub heartbeat_responses: Vec<usize>,
}

impl ServerFlight {
    /// True when nothing more of interest can follow: the server finished its flight,
    /// refused with an alert, or (TLS 1.3, HelloRetryRequest) encrypts from here on.
    pub fn is_complete(&self) -> bool {
        if self.alert.is_some() || self.hello_done {
            return true;
        }
        self.server_hello
            .as_ref()
            .is_some_and(|hello| hello.version >= TLS13 || hello.hello_retry)
    }
}

/// A cursor over untrusted bytes: every read is checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(..count)?;
        self.bytes = self.bytes.get(count..)?;
        Some(taken)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let bytes = self.take(2)?;
        Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
    }
    fn u24(&mut self) -> Option<usize> {
        let bytes = self.take(3)?;
        Some(
            (usize::from(*bytes.first()?) << 16)
                | (usize::from(*bytes.get(1)?) << 8)
                | usize::from(*bytes.get(2)?),
        )
    }
    fn vector(&mut self, width: usize) -> Option<&'a [u8]> {
        let length = match width {
            1 => usize::from(self.u8()?),
            2 => usize::from(self.u16()?),
            _ => self.u24()?,
        };
        self.take(length)
    }
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Reads the server's bytes received so far. Incomplete input is not an error: the
/// flight simply has fewer parts, and [`ServerFlight::is_complete`] says whether more
/// is needed.
pub fn parse_server_flight(bytes: &[u8]) -> Result<ServerFlight, WireError> {
    let mut flight = ServerFlight::default();
    if let Some(&first) = bytes.first() {
        if !matches!(first, CHANGE_CIPHER_SPEC..=HEARTBEAT) {
            return Err(WireError::NotTls(first));
        }
    }
    let mut records = Reader::new(bytes);
    let mut handshake = Vec::new();
    while !records.is_empty() {
        let Some(header) = records.take(5) else { break };
        let (kind, major) = (header.first().copied(), header.get(1).copied());
        let length = usize::from(u16::from_be_bytes([
            header.get(3).copied().unwrap_or(0),
            header.get(4).copied().unwrap_or(0),
        ]));
        if major != Some(3) {
            return Err(WireError::Malformed("record version"));
        }
        if length > MAX_RECORD_LENGTH {
            return Err(WireError::RecordTooLong(length));
        }
        let Some(payload) = records.take(length) else {
            break;
        };
        match kind {
            Some(HANDSHAKE) => {
                if handshake.len() + payload.len() > MAX_HANDSHAKE_MESSAGE + 4 {
                    return Err(WireError::MessageTooLong {
                        message: handshake.first().copied().unwrap_or(0),
                        length: handshake.len() + payload.len(),
                    });
                }
                handshake.extend_from_slice(payload);
                read_handshake_messages(&mut handshake, &mut flight)?;
            }
            Some(ALERT) => {
                let mut alert = Reader::new(payload);
                if let (Some(level), Some(description)) = (alert.u8(), alert.u8()) {
                    flight.alert = Some(Alert { level, description });
                }
                return Ok(flight);
            }
            Some(HEARTBEAT) => flight.heartbeat_responses.push(payload.len()),
            Some(CHANGE_CIPHER_SPEC) | Some(APPLICATION_DATA) if flight.server_hello.is_some() => {
                // TLS 1.3 servers follow the ServerHello with encrypted records.
            }
            Some(other) => return Err(WireError::UnexpectedRecord(other)),
            None => break,
        }
    }
    Ok(flight)
}

/// Consumes every complete handshake message at the front of `buffer`.
fn read_handshake_messages(
    buffer: &mut Vec<u8>,
    flight: &mut ServerFlight,
) -> Result<(), WireError> {
    loop {
        let mut reader = Reader::new(buffer);
        let (Some(kind), Some(length)) = (reader.u8(), reader.u24()) else {
            return Ok(());
        };
        if length > MAX_HANDSHAKE_MESSAGE {
            return Err(WireError::MessageTooLong {
                message: kind,
                length,
            });
        }
        let Some(body) = reader.take(length) else {
            return Ok(());
        };
        match kind {
            SERVER_HELLO => flight.server_hello = Some(parse_server_hello(body)?),
            CERTIFICATE => flight.certificates = parse_certificate_list(body)?,
            SERVER_KEY_EXCHANGE => flight.server_key_exchange = Some(body.to_vec()),
            SERVER_HELLO_DONE => flight.hello_done = true,
            // CertificateStatus (22) and CertificateRequest (13) may legitimately appear.
            22 | 13 => {}
            other => return Err(WireError::UnexpectedMessage(other)),
        }
        if flight.server_hello.is_none() {
            return Err(WireError::UnexpectedMessage(kind));
        }
        buffer.drain(..length + 4);
    }
}

fn parse_server_hello(body: &[u8]) -> Result<ServerHello, WireError> {
    let malformed = || WireError::Malformed("ServerHello");
    let mut reader = Reader::new(body);
    let server_version = reader.u16().ok_or_else(malformed)?;
    let random = reader.take(32).ok_or_else(malformed)?;
    reader.vector(1).ok_or_else(malformed)?;
    let cipher_suite = reader.u16().ok_or_else(malformed)?;
    let compression = reader.u8().ok_or_else(malformed)?;
    let mut hello = ServerHello {
        version: server_version,
        cipher_suite,
        compression,
        secure_renegotiation: false,
        heartbeat: false,
        key_share_group: None,
        hello_retry: random == HELLO_RETRY_RANDOM,
        downgrade_sentinel: random
            .get(24..)
            .is_some_and(|tail| tail.get(..7) == Some(b"DOWNGRD".as_slice())),
    };
    if reader.is_empty() {
        return Ok(hello);
    }
    let mut extensions = Reader::new(reader.vector(2).ok_or_else(malformed)?);
    while !extensions.is_empty() {
        let kind = extensions.u16().ok_or_else(malformed)?;
        let data = extensions.vector(2).ok_or_else(malformed)?;
        let mut data = Reader::new(data);
        match kind {
            EXT_RENEGOTIATION_INFO => hello.secure_renegotiation = true,
            EXT_HEARTBEAT => hello.heartbeat = true,
            EXT_SUPPORTED_VERSIONS => hello.version = data.u16().ok_or_else(malformed)?,
            EXT_KEY_SHARE => hello.key_share_group = data.u16(),
            _ => {}
        }
    }
    Ok(hello)
}

fn parse_certificate_list(body: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let malformed = || WireError::Malformed("Certificate");
    let mut reader = Reader::new(body);
    let mut list = Reader::new(reader.vector(3).ok_or_else(malformed)?);
    let mut certificates = Vec::new();
    while !list.is_empty() {
        let certificate = list.vector(3).ok_or_else(malformed)?;
        // Ten certificates is more than any real chain; the rest is not kept.
        if certificates.len() < 10 {
            certificates.push(certificate.to_vec());
        }
    }
    Ok(certificates)
}

/// What a ServerKeyExchange says about the strength of the key exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyExchangeParameters {
    /// Elliptic-curve Diffie-Hellman on a named group.
    Ecdhe { group: u16 },
    /// Finite-field Diffie-Hellman with a prime of this many bits.
    Dhe { prime_bits: usize },
}

/// Reads the group (ECDHE) or prime size (DHE) of a ServerKeyExchange body.
pub fn key_exchange_parameters(body: &[u8], ephemeral_ec: bool) -> Option<KeyExchangeParameters> {
    let mut reader = Reader::new(body);
    if ephemeral_ec {
        // curve_type 3 = named_curve.
        (reader.u8()? == 3).then_some(())?;
        Some(KeyExchangeParameters::Ecdhe {
            group: reader.u16()?,
        })
    } else {
        let prime = reader.vector(2)?;
        let leading_zeros = prime.iter().take_while(|b| **b == 0).count();
        let significant = prime.get(leading_zeros..)?;
        let top_bits = significant
            .first()
            .map_or(0, |b| 8 - b.leading_zeros() as usize);
        Some(KeyExchangeParameters::Dhe {
            prime_bits: significant.len().saturating_sub(1) * 8 + top_bits,
        })
    }
}

/// The name of a protocol version.
pub fn version_name(version: u16) -> String {
    match version {
        SSL3 => "SSL 3.0".to_owned(),
        TLS10 => "TLS 1.0".to_owned(),
        TLS11 => "TLS 1.1".to_owned(),
        TLS12 => "TLS 1.2".to_owned(),
        TLS13 => "TLS 1.3".to_owned(),
        other => format!("version 0x{other:04x}"),
    }
}

/// The name of a named group.
pub fn group_name(group: u16) -> String {
    match group {
        GROUP_X25519 => "x25519".to_owned(),
        GROUP_X448 => "x448".to_owned(),
        GROUP_SECP256R1 => "secp256r1".to_owned(),
        GROUP_SECP384R1 => "secp384r1".to_owned(),
        GROUP_SECP521R1 => "secp521r1".to_owned(),
        0x0013 => "secp192r1".to_owned(),
        0x0015 => "secp224r1".to_owned(),
        0x0100 => "ffdhe2048".to_owned(),
        0x0101 => "ffdhe3072".to_owned(),
        0x0102 => "ffdhe4096".to_owned(),
        other => format!("group 0x{other:04x}"),
    }
}

/// Bits of security-relevant size of a named group (the field size).
pub fn group_bits(group: u16) -> usize {
    match group {
        0x000f..=0x0011 => 160,
        0x0012 | 0x0013 => 192,
        0x0014 | 0x0015 => 224,
        GROUP_X25519 | GROUP_SECP256R1 => 256,
        GROUP_SECP384R1 => 384,
        GROUP_X448 => 448,
        GROUP_SECP521R1 => 521,
        0x0100 => 2048,
        0x0101 => 3072,
        0x0102 => 4096,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_hello_record(version: u16, suite: u16, extensions: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        put_u16(&mut body, version);
        body.extend_from_slice(&[7u8; 32]);
        put_vector(&mut body, 1, &[]);
        put_u16(&mut body, suite);
        body.push(0);
        put_vector(&mut body, 2, extensions);
        let mut message = vec![SERVER_HELLO];
        put_vector(&mut message, 3, &body);
        let mut done = vec![SERVER_HELLO_DONE];
        put_vector(&mut done, 3, &[]);
        message.extend_from_slice(&done);
        record(HANDSHAKE, version, &message)
    }

    #[test]
    fn reads_server_hello_and_done() {
        let mut extensions = Vec::new();
        put_extension(&mut extensions, EXT_RENEGOTIATION_INFO, &[0]);
        let bytes = server_hello_record(TLS12, 0xc02f, &extensions);
        let flight = parse_server_flight(&bytes).unwrap();
        let hello = flight.server_hello.clone().unwrap();
        assert_eq!(hello.cipher_suite, 0xc02f);
        assert!(hello.secure_renegotiation);
        assert!(flight.is_complete());
    }

    #[test]
    fn every_prefix_is_incomplete_or_error_never_panic() {
        let bytes = server_hello_record(TLS12, 0x002f, &[]);
        for end in 0..bytes.len() {
            let _ = parse_server_flight(bytes.get(..end).unwrap());
        }
    }

    #[test]
    fn alert_and_absurd_lengths() {
        let flight = parse_server_flight(&[21, 3, 3, 0, 2, 2, 40]).unwrap();
        assert_eq!(flight.alert.unwrap().description, 40);
        assert_eq!(
            parse_server_flight(&[22, 3, 3, 0xff, 0xff]),
            Err(WireError::RecordTooLong(0xffff))
        );
        assert!(matches!(
            parse_server_flight(b"HTTP/1.1 400"),
            Err(WireError::NotTls(b'H'))
        ));
        assert!(parse_server_flight(&[22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn hellos_are_well_formed() {
        for version in ALL_VERSIONS {
            let spec = HelloSpec::new(version, vec![0x002f, 0x1301], Some("a.example".into()));
            let hello = client_hello(&spec);
            let declared = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
            assert_eq!(declared + 5, hello.len());
        }
    }

    #[test]
    fn dh_prime_size() {
        let mut body = Vec::new();
        let mut prime = vec![0x80u8];
        prime.extend_from_slice(&[0u8; 127]);
        put_vector(&mut body, 2, &prime);
        assert_eq!(
            key_exchange_parameters(&body, false),
            Some(KeyExchangeParameters::Dhe { prime_bits: 1024 })
        );
    }
}
