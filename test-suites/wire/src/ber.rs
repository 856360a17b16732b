//! BER tag-length-value elements (X.690): the encoding of SNMP messages, and the base
//! [`crate::der`] builds on.
//!
//! Two suites read SNMP answers (the ports suite's `sysDescr` probe, the credentials
//! suite's community guesses) and the update suite reads CMS signatures; all three walk
//! the same TLV structure. An element's length comes from the device, so it is checked
//! against what is left before anything is sliced: the long form is read up to
//! [`MAX_LENGTH_BYTES`] bytes, indefinite lengths and multi-byte tags are refused (none
//! of these protocols uses them), and a constructed value's children are read one level
//! at a time with a cap on their number.

use thiserror::Error;

pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// Most bytes of a long-form length: 4 bytes already say 4 GiB.
pub const MAX_LENGTH_BYTES: usize = 4;
/// Most bytes of an INTEGER [`integer`] reads.
pub const MAX_INTEGER_BYTES: usize = 8;

/// Why bytes are not the element the reader expected.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("unexpected end")]
    End,
    #[error("missing length")]
    MissingLength,
    #[error("multi-byte tags are not supported")]
    MultiByteTag,
    #[error("indefinite length is not supported")]
    IndefiniteLength,
    #[error("length longer than 4 bytes")]
    LengthTooLong,
    #[error("short length")]
    ShortLength,
    #[error("length runs past the end")]
    PastEnd,
    #[error("unexpected tag")]
    UnexpectedTag,
    #[error("too many elements")]
    TooManyElements,
}

/// One tag-length-value: the tag, the content, and the whole encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one element from the start of `input`; returns it and what follows.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Error> {
    let (&tag, rest) = input.split_first().ok_or(Error::End)?;
    if tag & 0x1f == 0x1f {
        return Err(Error::MultiByteTag);
    }
    let (&first, mut rest) = rest.split_first().ok_or(Error::MissingLength)?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 {
            return Err(Error::IndefiniteLength);
        }
        if count > MAX_LENGTH_BYTES {
            return Err(Error::LengthTooLong);
        }
        let (bytes, after) = rest.split_at_checked(count).ok_or(Error::ShortLength)?;
        rest = after;
        bytes
            .iter()
            .try_fold(0usize, |acc, &b| {
                acc.checked_mul(256)?.checked_add(usize::from(b))
            })
            .ok_or(Error::LengthTooLong)?
    };
    let (content, after) = rest.split_at_checked(length).ok_or(Error::PastEnd)?;
    let raw_length = input.len().saturating_sub(after.len());
    let raw = input.get(..raw_length).ok_or(Error::PastEnd)?;
    Ok((Tlv { tag, content, raw }, after))
}

/// Reads one element that must carry `tag`.
pub fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), Error> {
    let (tlv, rest) = read(input)?;
    if tlv.tag != tag {
        return Err(Error::UnexpectedTag);
    }
    Ok((tlv, rest))
}

/// Every element of a constructed value's content, at most `limit` of them.
pub fn children(content: &[u8], limit: usize) -> Result<Vec<Tlv<'_>>, Error> {
    let mut items = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        if items.len() >= limit {
            return Err(Error::TooManyElements);
        }
        let (tlv, after) = read(rest)?;
        items.push(tlv);
        rest = after;
    }
    Ok(items)
}

/// The value of an INTEGER's content (two's complement, 1 to [`MAX_INTEGER_BYTES`]
/// bytes); `None` for an empty or longer one.
pub fn integer(content: &[u8]) -> Option<i64> {
    if content.is_empty() || content.len() > MAX_INTEGER_BYTES {
        return None;
    }
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let start: i64 = if negative { -1 } else { 0 };
    Some(
        content
            .iter()
            .fold(start, |value, &b| (value << 8) | i64::from(b)),
    )
}

/// The shortest INTEGER content of a non-negative `value`.
pub fn unsigned_content(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes
        .iter()
        .take(bytes.len() - 1)
        .take_while(|&&b| b == 0)
        .count();
    let mut content = bytes.get(skip..).unwrap_or(&bytes).to_vec();
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    content
}

/// Encodes an element whose content is the concatenation of `parts`, its length in the
/// shortest form (as DER requires, and BER accepts).
pub fn encode(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let length: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = vec![tag];
    match u8::try_from(length) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let bytes = length.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            let significant = bytes.get(skip..).unwrap_or_default();
            let count = u8::try_from(significant.len()).unwrap_or(u8::MAX);
            out.push(0x80 | count);
            out.extend_from_slice(significant);
        }
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 70_000];
        let encoded = encode(OCTET_STRING, &[&content]);
        assert_eq!(
            encoded.get(..5),
            Some(&[OCTET_STRING, 0x83, 0x01, 0x11, 0x70][..])
        );
        let (read_back, rest) = read(&encoded).unwrap();
        assert_eq!(read_back.content.len(), 70_000);
        assert_eq!(read_back.raw, encoded.as_slice());
        assert!(rest.is_empty());
    }

    #[test]
    fn hostile_lengths_are_refused() {
        assert_eq!(
            read(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]),
            Err(Error::PastEnd)
        );
        assert_eq!(read(&[0x30, 0x80, 0, 0]), Err(Error::IndefiniteLength));
        assert_eq!(
            read(&[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            Err(Error::LengthTooLong)
        );
        assert_eq!(read(&[0x30, 0x82, 1]), Err(Error::ShortLength));
        assert_eq!(read(&[0x1f, 0x01, 0]), Err(Error::MultiByteTag));
        assert_eq!(read(&[0x30]), Err(Error::MissingLength));
        assert_eq!(read(&[]), Err(Error::End));
    }

    #[test]
    fn nested_elements_are_read_one_level_at_a_time() {
        let inner = [encode(INTEGER, &[&[5]]), encode(NULL, &[])].concat();
        let outer = encode(SEQUENCE, &[&inner, &encode(OCTET_STRING, &[b"x"])]);
        let (sequence, rest) = expect(&outer, SEQUENCE).unwrap();
        assert!(rest.is_empty());
        let items = children(sequence.content, 8).unwrap();
        let tags: Vec<u8> = items.iter().map(|t| t.tag).collect();
        assert_eq!(tags, [INTEGER, NULL, OCTET_STRING]);
        assert_eq!(integer(items[0].content), Some(5));
        assert_eq!(children(sequence.content, 2), Err(Error::TooManyElements));
        assert_eq!(expect(&outer, SET), Err(Error::UnexpectedTag));
    }

    #[test]
    fn integers() {
        assert_eq!(integer(&[0x01, 0x00]), Some(256));
        assert_eq!(integer(&[0xff]), Some(-1));
        assert_eq!(integer(&[0x49, 0x43, 0x52, 0x54]), Some(0x4943_5254));
        assert_eq!(integer(&[]), None);
        assert_eq!(integer(&[0; 9]), None);
        assert_eq!(unsigned_content(0), [0]);
        assert_eq!(unsigned_content(0x1234), [0x12, 0x34]);
        assert_eq!(unsigned_content(0x80), [0x00, 0x80]);
    }

    proptest! {
        #[test]
        fn encode_then_read_is_identity(
            tag in (0u8..0x1f).prop_map(|t| t | 0x20),
            content in proptest::collection::vec(any::<u8>(), 0..1024),
            trailer in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut bytes = encode(tag, &[&content]);
            let length = bytes.len();
            bytes.extend_from_slice(&trailer);
            let (tlv, rest) = read(&bytes).unwrap();
            prop_assert_eq!(tlv.tag, tag);
            prop_assert_eq!(tlv.content, content.as_slice());
            prop_assert_eq!(tlv.raw.len(), length);
            prop_assert_eq!(rest, trailer.as_slice());
        }

        #[test]
        fn unsigned_integers_round_trip(value in 0u64..=i64::MAX as u64) {
            prop_assert_eq!(integer(&unsigned_content(value)), i64::try_from(value).ok());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok((tlv, rest)) = read(&bytes) {
                prop_assert!(tlv.raw.len() + rest.len() == bytes.len());
                let _ = children(tlv.content, 64);
                let _ = integer(tlv.content);
            }
        }
    }
}
