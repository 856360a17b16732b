//! CoAP messages (RFC 7252 section 3): the four-byte header (version, type, token
//! length, code, message id), the token, options with their extended deltas and
//! lengths, and the payload.
//!
//! The ports suite recognises a CoAP answer to its probe, the protofuzz suite judges
//! whether a fuzzed server still answers and builds options on purpose wrong or right,
//! and the testbed serves CoAP. They read the same header and walk the same option
//! list: a delta or length nibble of 13 or 14 takes one or two more bytes, 15 is
//! reserved, `0xff` starts the payload. [`Header`] reads and writes the header alone;
//! [`parts`] walks the options leniently (as a client reading any answer); [`parse`]
//! applies every rule of the format (as a server deciding whether to answer with a
//! Reset), with at most [`MAX_OPTIONS`] options.

use thiserror::Error;

/// The only CoAP version.
pub const VERSION: u8 = 1;
/// Bytes of the header.
pub const HEADER_LENGTH: usize = 4;
/// Longest token.
pub const MAX_TOKEN_LENGTH: u8 = 8;
/// Options accepted in one message by [`parse`].
pub const MAX_OPTIONS: usize = 64;
/// The code of an empty message (0.00).
pub const EMPTY_CODE: u8 = 0x00;
/// The byte that ends the options and starts the payload.
pub const PAYLOAD_MARKER: u8 = 0xff;
/// The largest option length [`encode`] writes: a two-byte extension over 269.
const MAX_OPTION_LENGTH: u32 = 65_535 + 269;

/// The four message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    Confirmable = 0,
    NonConfirmable = 1,
    Acknowledgement = 2,
    Reset = 3,
}

impl MessageType {
    /// The type of the two low bits of `bits`.
    pub fn from_bits(bits: u8) -> MessageType {
        match bits & 0b11 {
            0 => MessageType::Confirmable,
            1 => MessageType::NonConfirmable,
            2 => MessageType::Acknowledgement,
            _ => MessageType::Reset,
        }
    }
}

/// The fixed four bytes that open every message, as they are on the wire: the version
/// and token length are not checked here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Two bits; 1 is the only version.
    pub version: u8,
    pub message_type: MessageType,
    /// Four bits; 9 to 15 are reserved.
    pub token_length: u8,
    /// `class << 5 | detail`: 0.01 GET is 0x01, 2.05 Content is 0x45.
    pub code: u8,
    pub message_id: u16,
}

impl Header {
    /// The header at the start of `datagram`; `None` when it is shorter than 4 bytes.
    pub fn parse(datagram: &[u8]) -> Option<Header> {
        let (&[first, code, id_high, id_low], _) = datagram.split_first_chunk::<4>()?;
        Some(Header {
            version: first >> 6,
            message_type: MessageType::from_bits(first >> 4),
            token_length: first & 0x0f,
            code,
            message_id: u16::from_be_bytes([id_high, id_low]),
        })
    }

    /// The four header bytes (fields wider than their bits are cut to them).
    pub fn encode(&self) -> [u8; HEADER_LENGTH] {
        let [id_high, id_low] = self.message_id.to_be_bytes();
        [
            (self.version & 0b11) << 6
                | (self.message_type as u8) << 4
                | (self.token_length & 0x0f),
            self.code,
            id_high,
            id_low,
        ]
    }

    /// The token after this header in `datagram`, when it is all there.
    pub fn token<'a>(&self, datagram: &'a [u8]) -> Option<&'a [u8]> {
        datagram.get(HEADER_LENGTH..HEADER_LENGTH + usize::from(self.token_length))
    }
}

/// A code as people write it: `2.05`, `4.04`.
pub fn code_text(code: u8) -> String {
    format!("{}.{:02}", code >> 5, code & 0x1f)
}

/// Why a datagram is not a valid CoAP message.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than the 4 bytes of the header.
    #[error("shorter than the 4-byte header")]
    TooShort,
    /// A version other than 1; such messages are silently ignored.
    #[error("CoAP version {0}")]
    UnsupportedVersion(u8),
    /// Token length 9 to 15.
    #[error("token length {0} over 8")]
    TokenTooLong(u8),
    /// The token, an option or its extended fields run past the end.
    #[error("message ends inside a field")]
    Truncated,
    /// Option delta or length nibble 15 outside a payload marker.
    #[error("reserved option nibble 15")]
    ReservedNibble,
    /// Option numbers add up past 65,535.
    #[error("option number over 65535")]
    OptionNumberOverflow,
    /// More than [`MAX_OPTIONS`] options.
    #[error("more than {MAX_OPTIONS} options")]
    TooManyOptions,
    /// A payload marker followed by nothing.
    #[error("payload marker without payload")]
    EmptyPayload,
    /// An empty message (code 0.00) with a token, options or payload.
    #[error("empty message carries data")]
    NonEmptyEmptyMessage,
}

/// One piece of what follows the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// An option: its number (the sum of the deltas so far) and value.
    Option { number: u32, value: &'a [u8] },
    /// The bytes after the payload marker (possibly none).
    Payload(&'a [u8]),
}

/// The options and payload after the token, in order; stops at the payload or the
/// first error.
#[derive(Clone, Debug)]
pub struct Parts<'a> {
    rest: &'a [u8],
    number: u32,
    done: bool,
}

/// Walk the options and payload that follow the token.
pub fn parts(after_token: &[u8]) -> Parts<'_> {
    Parts {
        rest: after_token,
        number: 0,
        done: false,
    }
}

impl<'a> Parts<'a> {
    /// The bytes not read yet: the next option's first byte comes first.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    fn next_part(&mut self) -> Result<Option<Part<'a>>, ParseError> {
        let Some((&byte, after)) = self.rest.split_first() else {
            return Ok(None);
        };
        self.rest = after;
        if byte == PAYLOAD_MARKER {
            self.done = true;
            return Ok(Some(Part::Payload(std::mem::take(&mut self.rest))));
        }
        let delta = self.extended_value(byte >> 4)?;
        let length = self.extended_value(byte & 0x0f)?;
        self.number = self
            .number
            .checked_add(delta)
            .ok_or(ParseError::OptionNumberOverflow)?;
        let length = usize::try_from(length).map_err(|_| ParseError::Truncated)?;
        let (value, after_value) = self
            .rest
            .split_at_checked(length)
            .ok_or(ParseError::Truncated)?;
        self.rest = after_value;
        Ok(Some(Part::Option {
            number: self.number,
            value,
        }))
    }

    /// An option delta or length from its nibble and extended bytes (section 3.1).
    fn extended_value(&mut self, nibble: u8) -> Result<u32, ParseError> {
        match nibble {
            0..=12 => Ok(u32::from(nibble)),
            13 => {
                let (&byte, after) = self.rest.split_first().ok_or(ParseError::Truncated)?;
                self.rest = after;
                Ok(u32::from(byte) + 13)
            }
            14 => {
                let (bytes, after) = self
                    .rest
                    .split_first_chunk::<2>()
                    .ok_or(ParseError::Truncated)?;
                self.rest = after;
                Ok(u32::from(u16::from_be_bytes(*bytes)) + 269)
            }
            _ => Err(ParseError::ReservedNibble),
        }
    }
}

impl<'a> Iterator for Parts<'a> {
    type Item = Result<Part<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let part = self.next_part().transpose();
        if !matches!(part, Some(Ok(Part::Option { .. }))) {
            self.done = true;
        }
        part
    }
}

/// The nibble and extension bytes that say an option delta or length of `value`
/// (values past the two-byte extension are clamped to its largest).
pub fn option_nibble(value: u32) -> (u8, Vec<u8>) {
    match value {
        0..=12 => (u8::try_from(value).unwrap_or(12), Vec::new()),
        13..=268 => (13, vec![u8::try_from(value - 13).unwrap_or(u8::MAX)]),
        _ => (
            14,
            u16::try_from(value - 269)
                .unwrap_or(u16::MAX)
                .to_be_bytes()
                .to_vec(),
        ),
    }
}

/// One option: its number and raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoapOption {
    pub number: u16,
    pub value: Vec<u8>,
}

/// A CoAP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub message_type: MessageType,
    pub code: u8,
    pub message_id: u16,
    /// 0 to 8 bytes.
    pub token: Vec<u8>,
    /// In the order they appear, which is by number.
    pub options: Vec<CoapOption>,
    pub payload: Vec<u8>,
}

/// Parses one datagram as a CoAP message, every rule of the format applied.
pub fn parse(datagram: &[u8]) -> Result<Message, ParseError> {
    let header = Header::parse(datagram).ok_or(ParseError::TooShort)?;
    if header.version != VERSION {
        return Err(ParseError::UnsupportedVersion(header.version));
    }
    if header.token_length > MAX_TOKEN_LENGTH {
        return Err(ParseError::TokenTooLong(header.token_length));
    }
    let token = header.token(datagram).ok_or(ParseError::Truncated)?;
    let rest = datagram
        .get(HEADER_LENGTH + token.len()..)
        .unwrap_or_default();
    if header.code == EMPTY_CODE && (header.token_length != 0 || !rest.is_empty()) {
        return Err(ParseError::NonEmptyEmptyMessage);
    }
    let mut options = Vec::new();
    let mut payload = Vec::new();
    for part in parts(rest) {
        match part? {
            Part::Option { number, value } => {
                let number = u16::try_from(number).map_err(|_| ParseError::OptionNumberOverflow)?;
                if options.len() == MAX_OPTIONS {
                    return Err(ParseError::TooManyOptions);
                }
                options.push(CoapOption {
                    number,
                    value: value.to_vec(),
                });
            }
            Part::Payload([]) => return Err(ParseError::EmptyPayload),
            Part::Payload(bytes) => payload = bytes.to_vec(),
        }
    }
    Ok(Message {
        message_type: header.message_type,
        code: header.code,
        message_id: header.message_id,
        token: token.to_vec(),
        options,
        payload,
    })
}

/// Encodes a message; options are written sorted by number, as the format requires.
/// A token longer than 8 bytes is cut to 8.
pub fn encode(message: &Message) -> Vec<u8> {
    let token = message.token.get(..8).unwrap_or(&message.token);
    let header = Header {
        version: VERSION,
        message_type: message.message_type,
        token_length: u8::try_from(token.len()).unwrap_or(MAX_TOKEN_LENGTH),
        code: message.code,
        message_id: message.message_id,
    };
    let mut bytes = header.encode().to_vec();
    bytes.extend_from_slice(token);
    let mut options: Vec<&CoapOption> = message.options.iter().collect();
    options.sort_by_key(|option| option.number);
    let mut previous = 0u16;
    for option in options {
        let delta = u32::from(option.number.saturating_sub(previous));
        previous = option.number;
        let length = u32::try_from(option.value.len())
            .unwrap_or(u32::MAX)
            .min(MAX_OPTION_LENGTH);
        let (delta_nibble, delta_extension) = option_nibble(delta);
        let (length_nibble, length_extension) = option_nibble(length);
        bytes.push(delta_nibble << 4 | length_nibble);
        bytes.extend_from_slice(&delta_extension);
        bytes.extend_from_slice(&length_extension);
        let length = usize::try_from(length).unwrap_or(option.value.len());
        bytes.extend_from_slice(option.value.get(..length).unwrap_or(&option.value));
    }
    if !message.payload.is_empty() {
        bytes.push(PAYLOAD_MARKER);
        bytes.extend_from_slice(&message.payload);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers() {
        let header = Header::parse(&[0x62, 0x45, 0x49, 0x43, 0x69, 0x63]).unwrap();
        assert_eq!(
            header,
            Header {
                version: 1,
                message_type: MessageType::Acknowledgement,
                token_length: 2,
                code: 0x45,
                message_id: 0x4943,
            }
        );
        assert_eq!(header.encode(), [0x62, 0x45, 0x49, 0x43]);
        assert_eq!(
            header.token(&[0x62, 0x45, 0x49, 0x43, 0x69, 0x63]),
            Some(&[0x69, 0x63][..])
        );
        assert_eq!(header.token(&[0x62, 0x45, 0x49, 0x43, 0x69]), None);
        assert_eq!(Header::parse(&[0x60, 0x45, 0x12]), None);
        assert_eq!(code_text(0x45), "2.05");
        assert_eq!(code_text(0x84), "4.04");
    }

    #[test]
    fn options_with_extended_deltas_and_lengths() {
        // Uri-Path (11) "a", then delta 13+1=14 (option 25) with a 14-byte value, then
        // the payload.
        let mut rest = vec![0xb1, b'a', 0xdd, 0x01, 0x01];
        rest.extend_from_slice(&[b'v'; 14]);
        rest.extend_from_slice(&[0xff, b'p']);
        let found: Vec<_> = parts(&rest).collect();
        assert_eq!(
            found,
            [
                Ok(Part::Option {
                    number: 11,
                    value: b"a"
                }),
                Ok(Part::Option {
                    number: 25,
                    value: &[b'v'; 14]
                }),
                Ok(Part::Payload(b"p")),
            ]
        );
        assert_eq!(
            parts(&[0xf1, 0]).collect::<Vec<_>>(),
            [Err(ParseError::ReservedNibble)]
        );
        assert_eq!(
            parts(&[0x13, b'a']).collect::<Vec<_>>(),
            [Err(ParseError::Truncated)]
        );
        assert_eq!(parts(&[0xff]).collect::<Vec<_>>(), [Ok(Part::Payload(&[]))]);
    }

    #[test]
    fn strict_parse_rules() {
        assert_eq!(parse(&[0x40, 0x01]), Err(ParseError::TooShort));
        assert_eq!(
            parse(&[0x80, 0x01, 0, 0]),
            Err(ParseError::UnsupportedVersion(2))
        );
        assert_eq!(parse(&[0x49, 0x01, 0, 0]), Err(ParseError::TokenTooLong(9)));
        assert_eq!(parse(&[0x42, 0x01, 0, 0, 1]), Err(ParseError::Truncated));
        assert_eq!(
            parse(&[0x40, 0x00, 0, 0, 0xff, 1]),
            Err(ParseError::NonEmptyEmptyMessage)
        );
        assert_eq!(
            parse(&[0x40, 0x01, 0, 0, 0xff]),
            Err(ParseError::EmptyPayload)
        );
        assert_eq!(
            parse(&[0x40, 0x01, 0, 0, 0xe0, 0xff, 0x00, 0xe0, 0xff, 0x00]),
            Err(ParseError::OptionNumberOverflow)
        );
        let mut many = vec![0x40, 0x01, 0, 0];
        many.extend(std::iter::repeat_n(0x00, MAX_OPTIONS + 1));
        assert_eq!(parse(&many), Err(ParseError::TooManyOptions));
        assert_eq!(
            ParseError::TooManyOptions.to_string(),
            "more than 64 options"
        );
    }

    #[test]
    fn malformed_options_are_refused() {
        assert_eq!(
            parse(&[0x40, 0x01, 0, 1, 0xf0]),
            Err(ParseError::ReservedNibble)
        );
        assert_eq!(parse(&[0x40, 0x01, 0, 1, 0xd0]), Err(ParseError::Truncated));
        assert_eq!(
            parse(&[0x40, 0x01, 0, 1, 0xb3, b'a']),
            Err(ParseError::Truncated)
        );
        assert_eq!(
            parse(&[0x40, 0x01, 0, 1, 0xff]),
            Err(ParseError::EmptyPayload)
        );
        assert_eq!(
            parse(&[0x40, 0x01, 0, 1, 0xe0, 0xff, 0xff, 0xe0, 0xff, 0xff]),
            Err(ParseError::OptionNumberOverflow)
        );
    }

    #[test]
    fn option_nibbles() {
        assert_eq!(option_nibble(12), (12, vec![]));
        assert_eq!(option_nibble(13), (13, vec![0]));
        assert_eq!(option_nibble(268), (13, vec![255]));
        assert_eq!(option_nibble(269), (14, vec![0, 0]));
        assert_eq!(option_nibble(65_804), (14, vec![0xff, 0xff]));
        assert_eq!(option_nibble(u32::MAX), (14, vec![0xff, 0xff]));
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            0u8..4,
            1u8..=255,
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..=8),
            proptest::collection::vec(
                (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..300)),
                0..8,
            ),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(kind, code, message_id, token, options, payload)| {
                let mut options: Vec<CoapOption> = options
                    .into_iter()
                    .map(|(number, value)| CoapOption { number, value })
                    .collect();
                options.sort_by_key(|option| option.number);
                Message {
                    message_type: MessageType::from_bits(kind),
                    code,
                    message_id,
                    token,
                    options,
                    payload,
                }
            })
    }

    proptest! {
        #[test]
        fn encode_then_parse_is_identity(message in message()) {
            prop_assert_eq!(parse(&encode(&message)), Ok(message));
        }

        #[test]
        fn headers_round_trip(first in any::<u8>(), code in any::<u8>(), id in any::<u16>()) {
            let [high, low] = id.to_be_bytes();
            let bytes = [first, code, high, low];
            prop_assert_eq!(Header::parse(&bytes).map(|h| h.encode()), Some(bytes));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
            for part in parts(&bytes) {
                if let Ok(Part::Option { value, .. } | Part::Payload(value)) = part {
                    prop_assert!(value.len() <= bytes.len());
                }
            }
        }
    }
}
