//! MQTT fixed header (MQTT 3.1.1 and 5, section 2.2): the packet type and flags byte and
//! the variable-length "remaining length" after it.
//!
//! The credentials suite reads a broker's CONNACK, the protofuzz suite encodes lengths
//! (truthful and lying) and reads answers, and the testbed's broker frames every packet
//! it receives; all three decode and encode the same remaining length. It takes one to
//! four bytes, seven bits each, low group first; a fifth byte would be malformed, so the
//! decoder never reads past four and the largest length is [`MAX_REMAINING_LENGTH`].

use thiserror::Error;

/// The largest remaining length four bytes can say: 268,435,455 (256 MiB - 1).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;
/// Most bytes of a remaining length.
const MAX_LENGTH_BYTES: usize = 4;

/// Why bytes are no MQTT fixed header.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Error {
    /// The fourth byte of the remaining length still says more follow.
    #[error("remaining length over 4 bytes")]
    MalformedRemainingLength,
}

/// Decodes the remaining length at the start of `bytes` (the bytes after the first).
///
/// Returns the length and how many bytes encoded it, or `Ok(None)` if `bytes` ends first.
pub fn decode_remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, Error> {
    let mut length = 0usize;
    for (index, &byte) in bytes.iter().take(MAX_LENGTH_BYTES).enumerate() {
        length |= usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(Some((length, index + 1)));
        }
    }
    if bytes.len() >= MAX_LENGTH_BYTES {
        Err(Error::MalformedRemainingLength)
    } else {
        Ok(None)
    }
}

/// The encoding of `length` (one to four bytes, shortest form). A length over
/// [`MAX_REMAINING_LENGTH`] cannot be said in MQTT and is clamped to it.
pub fn encode_remaining_length(length: usize) -> Vec<u8> {
    let mut length = length.min(MAX_REMAINING_LENGTH);
    let mut out = Vec::with_capacity(MAX_LENGTH_BYTES);
    loop {
        let low_bits = u8::try_from(length % 128).unwrap_or(0x7f);
        length /= 128;
        if length > 0 {
            out.push(low_bits | 0x80);
        } else {
            out.push(low_bits);
            return out;
        }
    }
}

/// The fixed header of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    /// The high four bits of the first byte (1 CONNECT, 2 CONNACK, 3 PUBLISH...).
    pub packet_type: u8,
    /// The low four bits of the first byte.
    pub flags: u8,
    pub remaining_length: usize,
    /// The first byte and the remaining length's bytes: 2 to 5.
    pub header_length: usize,
}

impl FixedHeader {
    /// The first byte, as sent.
    pub fn first_byte(&self) -> u8 {
        self.packet_type << 4 | self.flags
    }

    /// The whole packet's length, header included.
    pub fn packet_length(&self) -> usize {
        self.header_length.saturating_add(self.remaining_length)
    }
}

/// The fixed header at the start of `bytes`; `Ok(None)` until it has arrived.
pub fn parse_fixed_header(bytes: &[u8]) -> Result<Option<FixedHeader>, Error> {
    let Some((&first, after_first)) = bytes.split_first() else {
        return Ok(None);
    };
    Ok(
        decode_remaining_length(after_first)?.map(|(remaining_length, length_bytes)| FixedHeader {
            packet_type: first >> 4,
            flags: first & 0x0f,
            remaining_length,
            header_length: length_bytes + 1,
        }),
    )
}

/// The first packet of `bytes`, once it is whole: its header and its body (the
/// `remaining_length` bytes after the header).
pub fn split_packet(bytes: &[u8]) -> Result<Option<(FixedHeader, &[u8])>, Error> {
    let Some(header) = parse_fixed_header(bytes)? else {
        return Ok(None);
    };
    Ok(bytes
        .get(header.header_length..header.packet_length())
        .map(|body| (header, body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn remaining_length_boundaries() {
        assert_eq!(decode_remaining_length(&[0x00]), Ok(Some((0, 1))));
        assert_eq!(decode_remaining_length(&[0x7f]), Ok(Some((127, 1))));
        assert_eq!(decode_remaining_length(&[0x80, 0x01]), Ok(Some((128, 2))));
        assert_eq!(
            decode_remaining_length(&[0xff, 0xff, 0xff, 0x7f]),
            Ok(Some((268_435_455, 4)))
        );
        assert_eq!(decode_remaining_length(&[0xff, 0xff]), Ok(None));
        assert_eq!(decode_remaining_length(&[]), Ok(None));
        assert_eq!(
            decode_remaining_length(&[0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(Error::MalformedRemainingLength)
        );
    }

    #[test]
    fn encodings_are_shortest_and_clamped() {
        assert_eq!(encode_remaining_length(0), [0x00]);
        assert_eq!(encode_remaining_length(127), [0x7f]);
        assert_eq!(encode_remaining_length(128), [0x80, 0x01]);
        assert_eq!(encode_remaining_length(16_383), [0xff, 0x7f]);
        assert_eq!(encode_remaining_length(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(
            encode_remaining_length(MAX_REMAINING_LENGTH),
            [0xff, 0xff, 0xff, 0x7f]
        );
        assert_eq!(
            encode_remaining_length(usize::MAX),
            [0xff, 0xff, 0xff, 0x7f]
        );
    }

    #[test]
    fn packets_are_split_once_whole() {
        let connack = [0x20, 0x02, 0x00, 0x05, 0xd0, 0x00];
        let (header, body) = split_packet(&connack).unwrap().unwrap();
        assert_eq!(header.packet_type, 2);
        assert_eq!(header.first_byte(), 0x20);
        assert_eq!(header.packet_length(), 4);
        assert_eq!(body, [0x00, 0x05]);
        assert_eq!(split_packet(&connack[..3]), Ok(None));
        assert_eq!(split_packet(&[]), Ok(None));
        assert_eq!(split_packet(&[0x30]), Ok(None));
        assert_eq!(
            split_packet(&[0x90, 0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(Error::MalformedRemainingLength)
        );
        let header = parse_fixed_header(&[0x32, 0x80, 0x01]).unwrap().unwrap();
        assert_eq!(
            (header.flags, header.remaining_length, header.header_length),
            (2, 128, 3)
        );
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(length in 0usize..=MAX_REMAINING_LENGTH) {
            let encoded = encode_remaining_length(length);
            prop_assert!(encoded.len() <= 4);
            prop_assert_eq!(
                decode_remaining_length(&encoded),
                Ok(Some((length, encoded.len())))
            );
        }

        #[test]
        fn whole_packets_split_back(
            first in any::<u8>(),
            body in proptest::collection::vec(any::<u8>(), 0..600),
            after in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut bytes = vec![first];
            bytes.extend(encode_remaining_length(body.len()));
            bytes.extend_from_slice(&body);
            let whole = bytes.len();
            bytes.extend_from_slice(&after);
            let (header, read) = split_packet(&bytes).unwrap().unwrap();
            prop_assert_eq!(header.first_byte(), first);
            prop_assert_eq!(header.packet_length(), whole);
            prop_assert_eq!(read, body.as_slice());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(Some((header, body))) = split_packet(&bytes) {
                prop_assert!(header.packet_length() <= bytes.len());
                prop_assert_eq!(body.len(), header.remaining_length);
            }
        }
    }
}
