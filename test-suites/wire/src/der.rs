//! DER (X.690, distinguished encoding): the CMS structures of update signatures, read
//! and written on top of [`crate::ber`].
//!
//! The update suite checks the detached CMS signatures of SWUpdate and RAUC images and
//! builds its attack images' signatures the way `openssl cms` does. Reading is BER's
//! bounded reader (definite lengths only, single-byte tags, every length checked against
//! what is left) with errors that say the signature is malformed; writing always uses
//! the shortest length form, so what [`tlv`] builds is DER.

use crate::ber;
use thiserror::Error;

pub use crate::ber::{Tlv, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE, SET};

pub const UTC_TIME: u8 = 0x17;
/// `[0]` constructed, explicit or implicit.
pub const CONTEXT_0: u8 = 0xa0;
/// `[1]` constructed.
pub const CONTEXT_1: u8 = 0xa1;

/// Why bytes are not the DER the reader expected.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("malformed DER: {0}")]
pub struct DerError(#[from] pub ber::Error);

/// Reads one TLV from the start of `input`; returns it and what follows.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    Ok(ber::read(input)?)
}

/// Reads one TLV that must carry `tag`.
pub fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), DerError> {
    Ok(ber::expect(input, tag)?)
}

/// Every TLV of a constructed value's content, at most `limit` of them.
pub fn children(content: &[u8], limit: usize) -> Result<Vec<Tlv<'_>>, DerError> {
    Ok(ber::children(content, limit)?)
}

/// Encodes a TLV whose content is the concatenation of `parts`.
pub fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    ber::encode(tag, parts)
}

/// Encodes an OBJECT IDENTIFIER from its content bytes.
pub fn oid(content: &[u8]) -> Vec<u8> {
    tlv(OID, &[content])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert_eq!(
            read(&[0x30, 0x80, 0, 0]).unwrap_err().to_string(),
            "malformed DER: indefinite length is not supported"
        );
    }

    #[test]
    fn a_signed_data_shape_reads_back() {
        let signed = tlv(
            SEQUENCE,
            &[
                &oid(&[0x2a, 0x86, 0x48]),
                &tlv(CONTEXT_0, &[&tlv(SET, &[&[INTEGER, 1, 1]])]),
            ],
        );
        let (outer, _) = expect(&signed, SEQUENCE).unwrap();
        let (oid_tlv, rest) = expect(outer.content, OID).unwrap();
        assert_eq!(oid_tlv.content, [0x2a, 0x86, 0x48]);
        let (explicit, _) = expect(rest, CONTEXT_0).unwrap();
        let items = children(explicit.content, 4).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].tag, SET);
        assert!(expect(rest, CONTEXT_1).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok((tlv, _)) = read(&bytes) {
                let _ = children(tlv.content, 64);
            }
        }
    }
}
