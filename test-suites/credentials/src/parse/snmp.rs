//! SNMP v1/v2c GetRequest for `sysDescr.0` and the reading of its response.
//!
//! An agent answers only a community it knows and stays silent otherwise, so the one
//! positive signal is a well-formed GetResponse that echoes our request id and
//! community. This module builds the request and decodes just enough BER to check that.

use iotcert_wire::ber::{self, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE};

/// `sysDescr.0`, asked for because every agent has it.
const SYS_DESCR_OID: [u8; 8] = [0x2b, 6, 1, 2, 1, 1, 1, 0];
const TAG_GET_REQUEST: u8 = 0xa0;
const TAG_GET_RESPONSE: u8 = 0xa2;

/// SNMP versions with community strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SnmpVersion {
    V1,
    V2c,
}

impl SnmpVersion {
    fn wire(self) -> u8 {
        match self {
            SnmpVersion::V1 => 0,
            SnmpVersion::V2c => 1,
        }
    }
}

/// An INTEGER element of a non-negative value.
fn integer(value: u32) -> Vec<u8> {
    ber::encode(INTEGER, &[&ber::unsigned_content(u64::from(value))])
}

/// A GetRequest for `sysDescr.0` with this community and request id (kept below 2^31
/// so that it is a positive INTEGER).
pub fn get_request(version: SnmpVersion, community: &[u8], request_id: u32) -> Vec<u8> {
    let request_id = request_id & 0x7fff_ffff;
    let varbind = ber::encode(
        SEQUENCE,
        &[
            &ber::encode(OID, &[&SYS_DESCR_OID]),
            &ber::encode(NULL, &[]),
        ],
    );
    let pdu = ber::encode(
        TAG_GET_REQUEST,
        &[
            &integer(request_id),
            &integer(0),
            &integer(0),
            &ber::encode(SEQUENCE, &[&varbind]),
        ],
    );
    ber::encode(
        SEQUENCE,
        &[
            &integer(u32::from(version.wire())),
            &ber::encode(OCTET_STRING, &[community]),
            &pdu,
        ],
    )
}

/// The parts of a response the probe checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnmpResponse {
    pub version: u8,
    pub community: Vec<u8>,
    pub request_id: u32,
    pub error_status: u32,
}

/// An INTEGER at the start of `bytes` as the 32-bit value SNMP fields carry, and what
/// follows it.
fn read_integer(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (tlv, rest) = ber::expect(bytes, INTEGER).ok()?;
    let value = ber::integer(tlv.content)?;
    Some((u32::try_from(value & 0xffff_ffff).ok()?, rest))
}

/// Decode a GetResponse; `None` for anything else.
pub fn parse_response(bytes: &[u8]) -> Option<SnmpResponse> {
    let (message, _) = ber::expect(bytes, SEQUENCE).ok()?;
    let (version, rest) = read_integer(message.content)?;
    let (community, rest) = ber::expect(rest, OCTET_STRING).ok()?;
    let (pdu, _) = ber::expect(rest, TAG_GET_RESPONSE).ok()?;
    let (request_id, rest) = read_integer(pdu.content)?;
    let (error_status, _) = read_integer(rest)?;
    Some(SnmpResponse {
        version: u8::try_from(version).ok()?,
        community: community.content.to_vec(),
        request_id,
        error_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_matches_net_snmp() {
        // snmpget -v2c -c public 127.0.0.1 1.3.6.1.2.1.1.1.0 with request id 0x1234.
        let request = get_request(SnmpVersion::V2c, b"public", 0x1234);
        assert_eq!(
            hex::encode(&request),
            "302702010104067075626c6963a01a02021234020100020100300e300c06082b060102010101000500"
        );
    }

    #[test]
    fn response_round_trip() {
        let mut response = get_request(SnmpVersion::V1, b"private", 77);
        // Turn the request into a response by changing the PDU tag.
        let at = response.iter().position(|&b| b == TAG_GET_REQUEST).unwrap();
        response[at] = TAG_GET_RESPONSE;
        let parsed = parse_response(&response).unwrap();
        assert_eq!(parsed.request_id, 77);
        assert_eq!(parsed.community, b"private");
        assert_eq!(parsed.error_status, 0);
        assert!(parse_response(&get_request(SnmpVersion::V1, b"x", 1)).is_none());
        assert!(parse_response(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }
}
