//! UDP services: the datagram each probe sends, and the strict check that an answer is
//! that protocol's answer to it.
//!
//! A UDP port counts as open only when it answers, so the answer must be recognised
//! (ids echoed, headers well formed) before a service name is put on it. Answers that
//! are not recognised still prove the port open; they are reported as unidentified.
//! Replies are parsed with bounds checks everywhere: SNMP's BER, DNS names with
//! compression pointers and CoAP options are classic places for parsers to overrun.

use super::{binary, http, Service};
use iotcert_wire::ber;
use iotcert_wire::coap::{self, MessageType, Part};

/// The PDU tag of an SNMP GetResponse (context-specific, constructed, 2).
const SNMP_GET_RESPONSE: u8 = 0xa2;

/// What the suite sends to a UDP port and how the answer must look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpProbe {
    pub port: u16,
    /// The service the probe speaks; `None` for the generic probe of a declared port.
    pub service: Option<Service>,
    pub payload: Vec<u8>,
    pub expect: Expect,
}

/// The shape of a valid answer, with the ids the request carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Coap {
        message_id: u16,
        token: [u8; 2],
    },
    Snmp {
        request_id: i64,
    },
    Dns {
        id: u16,
    },
    Mdns {
        id: u16,
    },
    Ntp {
        transmit: [u8; 8],
    },
    HttpU,
    Tftp,
    WsDiscovery,
    Bacnet,
    Sip,
    NatPmp,
    Dtls,
    /// A declared port with no known protocol: any answer proves it open.
    Anything,
}

/// What an answer told about the service.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UdpAnswer {
    /// The service, when the answer was recognised as its protocol.
    pub service: Option<Service>,
    /// A one-line description for the port table.
    pub detail: String,
    /// Text a banner-disclosure check should read (sysDescr, Server headers, TXT).
    pub banner: Option<String>,
    /// Why this is a management protocol without confidentiality, if it is one.
    pub cleartext_management: Option<String>,
}

/// The ids the probes use; fixed, so answers are reproducible in evidence.
const COAP_MESSAGE_ID: u16 = 0x4943;
const COAP_TOKEN: [u8; 2] = [0x69, 0x63];
const SNMP_REQUEST_ID: i64 = 0x4943_5254;
const DNS_ID: u16 = 0x4944;
const MDNS_ID: u16 = 0x4945;

/// The probes for the well-known UDP services of connected devices.
///
/// `host` is the unit's address as it appears in a URI (`[::1]` for IPv6);
/// `ntp_transmit` the transmit timestamp the NTP answer must echo.
pub fn standard_probes(host: &str, ntp_transmit: [u8; 8]) -> Vec<UdpProbe> {
    let probe = |port, service, payload, expect| UdpProbe {
        port,
        service: Some(service),
        payload,
        expect,
    };
    vec![
        probe(
            5683,
            Service::Coap,
            coap_get_well_known_core(),
            Expect::Coap {
                message_id: COAP_MESSAGE_ID,
                token: COAP_TOKEN,
            },
        ),
        probe(
            5684,
            Service::Dtls,
            binary::dtls_client_hello(),
            Expect::Dtls,
        ),
        probe(
            161,
            Service::Snmp,
            snmp_get_sys_descr(),
            Expect::Snmp {
                request_id: SNMP_REQUEST_ID,
            },
        ),
        probe(
            5353,
            Service::Mdns,
            dns_query(MDNS_ID, "_services._dns-sd._udp.local", 12, 0x8001),
            Expect::Mdns { id: MDNS_ID },
        ),
        probe(1900, Service::Ssdp, ssdp_m_search(), Expect::HttpU),
        probe(69, Service::Tftp, tftp_read_request(), Expect::Tftp),
        probe(
            123,
            Service::Ntp,
            ntp_client_request(ntp_transmit),
            Expect::Ntp {
                transmit: ntp_transmit,
            },
        ),
        probe(
            53,
            Service::Dns,
            dns_query(DNS_ID, "version.bind", 16, 3),
            Expect::Dns { id: DNS_ID },
        ),
        probe(
            3702,
            Service::WsDiscovery,
            ws_discovery_probe(),
            Expect::WsDiscovery,
        ),
        probe(47808, Service::Bacnet, bacnet_read_device(), Expect::Bacnet),
        probe(5060, Service::Sip, sip_options(host), Expect::Sip),
        probe(5351, Service::NatPmp, vec![0, 0], Expect::NatPmp),
    ]
}

/// A datagram for a declared UDP port whose protocol the suite does not speak.
pub fn generic_probe(port: u16) -> UdpProbe {
    UdpProbe {
        port,
        service: None,
        payload: b"\r\n\r\n".to_vec(),
        expect: Expect::Anything,
    }
}

/// CoAP `GET /.well-known/core`, confirmable (RFC 7252, RFC 6690).
fn coap_get_well_known_core() -> Vec<u8> {
    let header = coap::Header {
        version: coap::VERSION,
        message_type: MessageType::Confirmable,
        token_length: 2,
        code: 0x01, // GET
        message_id: COAP_MESSAGE_ID,
    };
    let mut message = header.encode().to_vec();
    message.extend_from_slice(&COAP_TOKEN);
    message.push(0xbb); // Uri-Path (11), length 11
    message.extend_from_slice(b".well-known");
    message.push(0x04); // Uri-Path again, length 4
    message.extend_from_slice(b"core");
    message
}

/// SNMPv2c GetRequest for sysDescr.0 with community `public`.
#[allow(clippy::cast_possible_truncation)] // lengths of this probe's own fixed fields, all far below the type's limit
fn snmp_get_sys_descr() -> Vec<u8> {
    let request_id = (SNMP_REQUEST_ID as u32).to_be_bytes();
    let mut message = vec![
        0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x1c,
        0x02, 0x04,
    ];
    message.extend_from_slice(&request_id);
    message.extend_from_slice(&[
        0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01,
        0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
    ]);
    message
}

/// A DNS query for one name, type and class (`class` may carry the mDNS QU bit).
#[allow(clippy::cast_possible_truncation)] // lengths of this probe's own fixed fields, all far below the type's limit
fn dns_query(id: u16, name: &str, record_type: u16, class: u16) -> Vec<u8> {
    let mut message = id.to_be_bytes().to_vec();
    message.extend_from_slice(&[0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&record_type.to_be_bytes());
    message.extend_from_slice(&class.to_be_bytes());
    message
}

fn ssdp_m_search() -> Vec<u8> {
    b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n".to_vec()
}

/// TFTP read request for a file no device has (RFC 1350).
fn tftp_read_request() -> Vec<u8> {
    let mut message = vec![0x00, 0x01];
    message.extend_from_slice(b"iotcert-probe\0octet\0");
    message
}

/// NTPv4 client request (mode 3) carrying `transmit` as its transmit timestamp.
fn ntp_client_request(transmit: [u8; 8]) -> Vec<u8> {
    let mut message = vec![0u8; 48];
    if let Some(first) = message.first_mut() {
        *first = 0x23;
    }
    if let Some(slot) = message.get_mut(40..48) {
        slot.copy_from_slice(&transmit);
    }
    message
}

fn ws_discovery_probe() -> Vec<u8> {
    concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
        r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
        r#"xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">"#,
        r#"<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>"#,
        r#"<a:MessageID>urn:uuid:49434552-542d-504f-5254-530000000001</a:MessageID>"#,
        r#"<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"#,
        r#"<s:Body><d:Probe/></s:Body></s:Envelope>"#
    )
    .as_bytes()
    .to_vec()
}

/// BACnet/IP ReadProperty of the wildcard device's Object_Identifier.
fn bacnet_read_device() -> Vec<u8> {
    vec![
        0x81, 0x0a, 0x00, 0x11, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x3f, 0xff, 0xff,
        0x19, 0x4b,
    ]
}

fn sip_options(host: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:probe@{host} SIP/2.0\r\nVia: SIP/2.0/UDP {host}:5060;branch=z9hG4bK-iotcert\r\nMax-Forwards: 70\r\nTo: <sip:probe@{host}>\r\nFrom: <sip:iotcert@{host}>;tag=iotcert\r\nCall-ID: iotcert-probe@{host}\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Judge an answer to `probe`: recognised, or merely proof that something listens.
pub fn judge(probe: &UdpProbe, reply: &[u8]) -> UdpAnswer {
    let recognised = recognise(&probe.expect, reply);
    match recognised {
        Some(mut answer) => {
            answer.service = probe.service;
            answer
        }
        None => UdpAnswer {
            service: None,
            detail: format!(
                "answered with {} bytes that are not a {} reply",
                reply.len(),
                probe.service.map_or("known protocol's", Service::name)
            ),
            banner: None,
            cleartext_management: None,
        },
    }
}

fn answer(detail: String) -> UdpAnswer {
    UdpAnswer {
        detail,
        ..UdpAnswer::default()
    }
}

fn recognise(expect: &Expect, reply: &[u8]) -> Option<UdpAnswer> {
    match expect {
        Expect::Coap { message_id, token } => coap_reply(reply, *message_id, *token).map(|coap| {
            let resources = String::from_utf8_lossy(&coap.payload);
            let resources: String = resources.chars().take(200).collect();
            answer(format!("CoAP {} {}", coap.code, resources))
        }),
        Expect::Snmp { request_id } => snmp_reply(reply, *request_id).map(|snmp| {
            let descr = snmp.sys_descr.clone().unwrap_or_default();
            UdpAnswer {
                detail: format!(
                    "SNMPv2c answered with community {:?}: {descr}",
                    snmp.community
                ),
                banner: snmp.sys_descr,
                cleartext_management: Some(format!(
                    "SNMPv{} answers the community string {:?}, sent in clear text",
                    if snmp.version == 0 { "1" } else { "2c" },
                    snmp.community
                )),
                ..UdpAnswer::default()
            }
        }),
        Expect::Dns { id } => dns_reply(reply, *id, false).map(|dns| {
            let version = dns.texts.join(" ");
            UdpAnswer {
                detail: format!("DNS answered (rcode {}) {version}", dns.rcode),
                banner: (!version.is_empty()).then(|| format!("version.bind: {version}")),
                ..UdpAnswer::default()
            }
        }),
        Expect::Mdns { id } => dns_reply(reply, *id, true).map(|dns| {
            let mut detail = format!("mDNS answered with {} records", dns.answers);
            if !dns.names.is_empty() {
                detail.push_str(": ");
                detail.push_str(&dns.names.join(", "));
            }
            let texts = dns.texts.join(" ");
            UdpAnswer {
                detail,
                banner: (!texts.is_empty()).then_some(texts),
                ..UdpAnswer::default()
            }
        }),
        Expect::Ntp { transmit } => ntp_reply(reply, *transmit)
            .then(|| answer("NTP server answered a mode 3 request".to_owned())),
        Expect::HttpU | Expect::Sip => http::parse_response(reply).map(|response| {
            let server = ["Server", "User-Agent"]
                .iter()
                .filter_map(|name| response.header(name))
                .collect::<Vec<_>>()
                .join(" ");
            UdpAnswer {
                detail: format!(
                    "{} {} {}",
                    response.head.protocol, response.head.status, server
                ),
                banner: Some(response.head_text()),
                ..UdpAnswer::default()
            }
        }),
        Expect::Tftp => tftp_reply(reply).map(|opcode| {
            answer(format!(
                "TFTP answered a read request ({})",
                if opcode == 3 { "DATA" } else { "ERROR" }
            ))
        }),
        Expect::WsDiscovery => {
            let text = String::from_utf8_lossy(reply);
            (text.contains("Envelope") && (text.contains("ProbeMatch") || text.contains("Fault")))
                .then(|| answer("WS-Discovery answered a Probe".to_owned()))
        }
        Expect::Bacnet => bacnet_reply(reply).then(|| answer("BACnet/IP answered".to_owned())),
        Expect::NatPmp => nat_pmp_reply(reply).then(|| answer("NAT-PMP answered".to_owned())),
        Expect::Dtls => {
            binary::dtls_reply(reply).map(|dtls| answer(format!("DTLS {}", dtls.describe())))
        }
        Expect::Anything => None,
    }
}

/// A CoAP answer matching the request's message id (ACK/RST) or token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoapReply {
    /// `2.05`, `4.04`...
    pub code: String,
    pub payload: Vec<u8>,
}

pub fn coap_reply(reply: &[u8], message_id: u16, token: [u8; 2]) -> Option<CoapReply> {
    let header = coap::Header::parse(reply)?;
    if header.version != coap::VERSION || header.token_length > coap::MAX_TOKEN_LENGTH {
        return None;
    }
    let reply_token = header.token(reply)?;
    let matches = match header.message_type {
        MessageType::Acknowledgement | MessageType::Reset => header.message_id == message_id,
        MessageType::Confirmable | MessageType::NonConfirmable => reply_token == token,
    };
    if !matches || (header.code == coap::EMPTY_CODE && header.message_type != MessageType::Reset) {
        return None;
    }
    let after_token = reply.get(coap::HEADER_LENGTH + reply_token.len()..)?;
    let mut payload = Vec::new();
    for part in coap::parts(after_token) {
        if let Part::Payload(bytes) = part.ok()? {
            payload = bytes.to_vec();
        }
    }
    Some(CoapReply {
        code: coap::code_text(header.code),
        payload,
    })
}

/// An SNMP GetResponse to our request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnmpReply {
    /// 0 for SNMPv1, 1 for v2c.
    pub version: i64,
    pub community: String,
    pub error_status: i64,
    pub sys_descr: Option<String>,
}

pub fn snmp_reply(reply: &[u8], request_id: i64) -> Option<SnmpReply> {
    let (message, _) = ber::expect(reply, ber::SEQUENCE).ok()?;
    let (version, rest) = ber::expect(message.content, ber::INTEGER).ok()?;
    let (community, rest) = ber::expect(rest, ber::OCTET_STRING).ok()?;
    let (pdu, _) = ber::expect(rest, SNMP_GET_RESPONSE).ok()?;
    let (id, rest) = ber::expect(pdu.content, ber::INTEGER).ok()?;
    if ber::integer(id.content)? != request_id {
        return None;
    }
    let (error_status, rest) = ber::expect(rest, ber::INTEGER).ok()?;
    let (_error_index, rest) = ber::expect(rest, ber::INTEGER).ok()?;
    let sys_descr = ber::expect(rest, ber::SEQUENCE)
        .and_then(|(bindings, _)| ber::expect(bindings.content, ber::SEQUENCE))
        .and_then(|(binding, _)| ber::read(binding.content))
        .and_then(|(_oid, value)| ber::expect(value, ber::OCTET_STRING))
        .ok()
        .map(|(value, _)| String::from_utf8_lossy(value.content).into_owned());
    Some(SnmpReply {
        version: ber::integer(version.content)?,
        community: String::from_utf8_lossy(community.content).into_owned(),
        error_status: ber::integer(error_status.content)?,
        sys_descr,
    })
}

/// A DNS answer to our query.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DnsReply {
    pub rcode: u8,
    pub answers: u16,
    /// Owner and target names of PTR records (mDNS service types).
    pub names: Vec<String>,
    /// TXT strings (`version.bind`).
    pub texts: Vec<String>,
}

/// The most records read from one DNS answer.
const MAX_RECORDS: u16 = 32;

/// A DNS response with our id (mDNS responders may answer with id 0).
pub fn dns_reply(reply: &[u8], id: u16, multicast: bool) -> Option<DnsReply> {
    let reply_id = u16::from_be_bytes([*reply.first()?, *reply.get(1)?]);
    let flags = *reply.get(2)?;
    let rcode = *reply.get(3)? & 0x0f;
    let count = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*reply.get(at)?, *reply.get(at + 1)?]))
    };
    let (questions, answers) = (count(4)?, count(6)?);
    let id_ok = reply_id == id || (multicast && reply_id == 0);
    if !id_ok || flags & 0x80 == 0 || (flags >> 3) & 0xf != 0 {
        return None;
    }
    let mut parsed = DnsReply {
        rcode,
        answers,
        ..DnsReply::default()
    };
    let mut at = 12;
    for _ in 0..questions.min(MAX_RECORDS) {
        at = read_name(reply, at)?.1 + 4;
    }
    for _ in 0..answers.min(MAX_RECORDS) {
        let Some((owner, after_name)) = read_name(reply, at) else {
            break;
        };
        let record_type = count(after_name)?;
        let data_length = usize::from(count(after_name + 8)?);
        let data_start = after_name + 10;
        let data = reply.get(data_start..data_start + data_length)?;
        match record_type {
            12 => {
                if let Some((target, _)) = read_name(reply, data_start) {
                    parsed.names.push(format!("{owner} -> {target}"));
                }
            }
            16 => {
                let mut rest = data;
                while let Some((&length, tail)) = rest.split_first() {
                    let text = tail.get(..usize::from(length)).unwrap_or(tail);
                    parsed
                        .texts
                        .push(String::from_utf8_lossy(text).into_owned());
                    rest = tail.get(usize::from(length)..).unwrap_or_default();
                }
            }
            _ => {}
        }
        at = data_start + data_length;
    }
    Some(parsed)
}

/// A domain name at `at` (following compression pointers, at most 16 jumps) and the
/// offset just after it in the message.
pub fn read_name(message: &[u8], at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut position = at;
    let mut after: Option<usize> = None;
    let mut jumps = 0;
    loop {
        let length = *message.get(position)?;
        match length {
            0 => {
                let end = after.unwrap_or(position + 1);
                return Some((labels.join("."), end));
            }
            0xc0..=0xff => {
                let low = *message.get(position + 1)?;
                jumps += 1;
                if jumps > 16 {
                    return None;
                }
                after.get_or_insert(position + 2);
                position = usize::from(u16::from_be_bytes([length & 0x3f, low]));
            }
            1..=63 => {
                let label = message.get(position + 1..position + 1 + usize::from(length))?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                if labels.len() > 64 {
                    return None;
                }
                position += 1 + usize::from(length);
            }
            _ => return None,
        }
    }
}

/// An NTP server answer (mode 4) that echoes our transmit timestamp as its origin.
pub fn ntp_reply(reply: &[u8], transmit: [u8; 8]) -> bool {
    reply.len() >= 48
        && reply.first().is_some_and(|b| b & 0x7 == 4)
        && reply.get(24..32) == Some(&transmit[..])
}

/// A TFTP DATA (3) or ERROR (5) packet: its opcode.
pub fn tftp_reply(reply: &[u8]) -> Option<u16> {
    let opcode = u16::from_be_bytes([*reply.first()?, *reply.get(1)?]);
    (reply.len() >= 4 && matches!(opcode, 3 | 5)).then_some(opcode)
}

/// A BACnet/IP frame (BVLC type 0x81) whose length field matches the datagram.
pub fn bacnet_reply(reply: &[u8]) -> bool {
    let length = match (reply.get(2), reply.get(3)) {
        (Some(&high), Some(&low)) => usize::from(u16::from_be_bytes([high, low])),
        _ => return false,
    };
    reply.first() == Some(&0x81) && length == reply.len() && length > 4
}

/// A NAT-PMP answer: version 0, opcode 128 + request opcode.
pub fn nat_pmp_reply(reply: &[u8]) -> bool {
    reply.len() >= 8 && reply.first() == Some(&0) && reply.get(1) == Some(&128)
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // lengths of the tests' own small messages
mod tests {
    use super::*;

    #[test]
    fn snmp_request_is_well_formed_and_answers_parse() {
        let request = snmp_get_sys_descr();
        assert_eq!(request.len(), 43);
        let (message, rest) = ber::read(&request).unwrap();
        assert_eq!(
            (message.tag, message.content.len(), rest.len()),
            (0x30, 41, 0)
        );
        // A GetResponse: our request with tag 0xa2 and an OCTET STRING value.
        let descr = b"Linux cam 4.14.98 #1 SMP";
        let mut binding = vec![
            0x06,
            0x08,
            0x2b,
            0x06,
            0x01,
            0x02,
            0x01,
            0x01,
            0x01,
            0x00,
            0x04,
            descr.len() as u8,
        ];
        binding.extend_from_slice(descr);
        let mut list = vec![0x30, binding.len() as u8];
        list.extend_from_slice(&binding);
        let mut bindings = vec![0x30, list.len() as u8];
        bindings.extend_from_slice(&list);
        let mut pdu = vec![
            0x02, 0x04, 0x49, 0x43, 0x52, 0x54, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
        ];
        pdu.extend_from_slice(&bindings);
        let mut body = vec![0x02, 0x01, 0x01, 0x04, 0x06];
        body.extend_from_slice(b"public");
        body.push(0xa2);
        body.push(pdu.len() as u8);
        body.extend_from_slice(&pdu);
        let mut reply = vec![0x30, body.len() as u8];
        reply.extend_from_slice(&body);
        let parsed = snmp_reply(&reply, SNMP_REQUEST_ID).unwrap();
        assert_eq!(
            parsed.sys_descr.as_deref(),
            Some("Linux cam 4.14.98 #1 SMP")
        );
        assert_eq!(parsed.community, "public");
        assert!(snmp_reply(&reply, 1).is_none());
        for cut in 0..reply.len() {
            let _ = snmp_reply(&reply[..cut], SNMP_REQUEST_ID);
        }
    }

    #[test]
    fn dns_names_follow_pointers_but_not_forever() {
        let looped = [0xc0, 0x00];
        assert_eq!(read_name(&looped, 0), None);
        let message = [3, b'c', b'a', b'm', 0, 0xc0, 0x00];
        assert_eq!(read_name(&message, 5), Some(("cam".to_owned(), 7)));
    }

    #[test]
    fn version_bind_answer() {
        let mut reply = dns_query(DNS_ID, "version.bind", 16, 3);
        reply[2] = 0x84;
        reply[7] = 1;
        reply.extend_from_slice(&[
            0xc0, 0x0c, 0x00, 0x10, 0x00, 0x03, 0, 0, 0, 0, 0x00, 0x0d, 12,
        ]);
        reply.extend_from_slice(b"dnsmasq-2.89");
        let parsed = dns_reply(&reply, DNS_ID, false).unwrap();
        assert_eq!(parsed.texts, vec!["dnsmasq-2.89".to_owned()]);
        assert!(dns_reply(&reply, 7, false).is_none());
    }

    #[test]
    fn coap_ack_with_payload() {
        let mut reply = vec![0x62, 0x45];
        reply.extend_from_slice(&COAP_MESSAGE_ID.to_be_bytes());
        reply.extend_from_slice(&COAP_TOKEN);
        reply.extend_from_slice(&[0xc1, 0x28, 0xff]);
        reply.extend_from_slice(b"</sensors/temp>");
        let parsed = coap_reply(&reply, COAP_MESSAGE_ID, COAP_TOKEN).unwrap();
        assert_eq!(parsed.code, "2.05");
        assert_eq!(parsed.payload, b"</sensors/temp>");
        assert!(coap_reply(&reply, 1, COAP_TOKEN).is_none());
        assert!(coap_reply(&[0x6f, 0x45, 0, 0], 0, COAP_TOKEN).is_none());
    }
}
