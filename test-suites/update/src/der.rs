//! A minimal DER reader and writer for the CMS structures of update signatures.
//!
//! Signatures arrive inside images a manufacturer (or an attacker) made, so reading them
//! is parsing hostile bytes: every length is checked against what is left, indefinite
//! lengths and multi-byte tags are refused, and nothing here can panic. Writing is the
//! mirror image, used to build the CMS signatures of the attack images.

use std::fmt;

/// Why bytes are not the DER the reader expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerError(pub &'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed DER: {}", self.0)
    }
}

impl std::error::Error for DerError {}

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const NULL: u8 = 0x05;
pub const UTC_TIME: u8 = 0x17;
/// `[0]` constructed, explicit or implicit.
pub const CONTEXT_0: u8 = 0xa0;
/// `[1]` constructed.
pub const CONTEXT_1: u8 = 0xa1;

/// One tag-length-value: the tag, the content, and the whole encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one TLV from the start of `input`; returns it and what follows.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError("unexpected end"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("multi-byte tags are not used by CMS"));
    }
    let (&first, mut rest) = rest.split_first().ok_or(DerError("missing length"))?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 {
            return Err(DerError("indefinite length (BER) is not DER"));
        }
        if count > 4 {
            return Err(DerError("length longer than 4 bytes"));
        }
        let (bytes, after) = rest
            .split_at_checked(count)
            .ok_or(DerError("short length"))?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (content, after) = rest
        .split_at_checked(length)
        .ok_or(DerError("length runs past the end"))?;
    let header = input.len() - rest.len();
    let raw = input
        .get(..header + length)
        .ok_or(DerError("length runs past the end"))?;
    Ok((Tlv { tag, content, raw }, after))
}

/// Reads one TLV that must carry `tag`.
pub fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (tlv, rest) = read(input)?;
    if tlv.tag != tag {
        return Err(DerError("unexpected tag"));
    }
    Ok((tlv, rest))
}

/// Every TLV of a constructed value's content, at most `limit` of them.
pub fn children(content: &[u8], limit: usize) -> Result<Vec<Tlv<'_>>, DerError> {
    let mut items = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        if items.len() >= limit {
            return Err(DerError("too many elements"));
        }
        let (tlv, after) = read(rest)?;
        items.push(tlv);
        rest = after;
    }
    Ok(items)
}

/// Encodes a TLV whose content is the concatenation of `parts`.
pub fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let length: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = vec![tag];
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// Encodes an OBJECT IDENTIFIER from its content bytes.
pub fn oid(content: &[u8]) -> Vec<u8> {
    tlv(OID, &[content])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_long_lengths() {
        let content = vec![7u8; 70_000];
        let encoded = tlv(OCTET_STRING, &[&content]);
        let (read_back, rest) = read(&encoded).unwrap();
        assert_eq!(read_back.content.len(), 70_000);
        assert!(rest.is_empty());
    }

    #[test]
    fn hostile_lengths_are_refused() {
        assert!(read(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).is_err());
        assert!(read(&[0x30, 0x80, 0, 0]).is_err());
        assert!(read(&[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]).is_err());
        assert!(read(&[0x1f, 0x01, 0]).is_err());
        assert!(read(&[]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            if let Ok((tlv, _)) = read(&bytes) {
                let _ = children(tlv.content, 64);
            }
        }
    }
}
