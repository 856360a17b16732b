//! SNMP v1/v2c GetRequest for `sysDescr.0` and the reading of its response.
//!
//! An agent answers only a community it knows and stays silent otherwise, so the one
//! positive signal is a well-formed GetResponse that echoes our request id and
//! community. This module builds the request and decodes just enough BER to check that.

/// `sysDescr.0`, asked for because every agent has it.
const SYS_DESCR_OID: [u8; 8] = [0x2b, 6, 1, 2, 1, 1, 1, 0];
const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
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

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else if length <= 0xff {
        out.extend_from_slice(&[0x81, length as u8]);
    } else {
        let length = u16::try_from(length).unwrap_or(u16::MAX);
        out.push(0x82);
        out.extend_from_slice(&length.to_be_bytes());
    }
    out.extend_from_slice(content);
    out
}

fn integer(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    let mut content: Vec<u8> = bytes.get(skip..).unwrap_or(&bytes).to_vec();
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(TAG_INTEGER, &content)
}

/// A GetRequest for `sysDescr.0` with this community and request id (kept below 2^31
/// so that it is a positive INTEGER).
pub fn get_request(version: SnmpVersion, community: &[u8], request_id: u32) -> Vec<u8> {
    let request_id = request_id & 0x7fff_ffff;
    let varbind = tlv(
        TAG_SEQUENCE,
        &[tlv(TAG_OID, &SYS_DESCR_OID), tlv(TAG_NULL, &[])].concat(),
    );
    let pdu = tlv(
        TAG_GET_REQUEST,
        &[
            integer(request_id),
            integer(0),
            integer(0),
            tlv(TAG_SEQUENCE, &varbind),
        ]
        .concat(),
    );
    tlv(
        TAG_SEQUENCE,
        &[
            integer(u32::from(version.wire())),
            tlv(TAG_OCTET_STRING, community),
            pdu,
        ]
        .concat(),
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

/// One TLV at the start of `bytes`: tag, content, and the rest after it.
fn read_tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *bytes.first()?;
    let first_length = *bytes.get(1)?;
    let (length, header) = if first_length < 0x80 {
        (usize::from(first_length), 2)
    } else {
        let count = usize::from(first_length & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for index in 0..count {
            length = (length << 8) | usize::from(*bytes.get(2 + index)?);
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    Some((tag, bytes.get(header..end)?, bytes.get(end..)?))
}

fn read_integer(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (tag, content, rest) = read_tlv(bytes)?;
    if tag != TAG_INTEGER || content.is_empty() || content.len() > 5 {
        return None;
    }
    let value = content
        .iter()
        .fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
    Some((u32::try_from(value & 0xffff_ffff).ok()?, rest))
}

/// Decode a GetResponse; `None` for anything else.
pub fn parse_response(bytes: &[u8]) -> Option<SnmpResponse> {
    let (tag, message, _) = read_tlv(bytes)?;
    if tag != TAG_SEQUENCE {
        return None;
    }
    let (version, rest) = read_integer(message)?;
    let (tag, community, rest) = read_tlv(rest)?;
    if tag != TAG_OCTET_STRING {
        return None;
    }
    let (tag, pdu, _) = read_tlv(rest)?;
    if tag != TAG_GET_RESPONSE {
        return None;
    }
    let (request_id, rest) = read_integer(pdu)?;
    let (error_status, _) = read_integer(rest)?;
    Some(SnmpResponse {
        version: u8::try_from(version).ok()?,
        community: community.to_vec(),
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
