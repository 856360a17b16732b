//! Service identification: what a port is, judged only from the bytes it sent.
//!
//! Everything under this module is pure (no I/O, no clock), so a fuzz target can feed
//! it whatever a hostile device might send and the verdict logic can be tested without
//! a network. Recognisers are strict: a port is called `ssh` or `adb` only when its
//! reply carries that protocol's framing, never because of its port number, so garbage
//! stays unidentified.

pub mod binary;
pub mod disclosure;
pub mod end;
pub mod http;
pub mod telnet;
pub mod udp;

use serde::Serialize;
use std::fmt;

/// The cap on the bytes kept from one banner or one probe reply.
pub const BANNER_CAP: usize = 4 * 1024;

/// The cap on one HTTP response: big enough to see a login form on most device pages.
pub const HTTP_RESPONSE_CAP: usize = 16 * 1024;

/// A service recognised on a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    Ssh,
    Telnet,
    Ftp,
    Smtp,
    Http,
    Rtsp,
    Tls,
    Mqtt,
    Modbus,
    Adb,
    Gdbserver,
    Jdwp,
    Openocd,
    Shell,
    Coap,
    Dtls,
    Snmp,
    Mdns,
    Ssdp,
    Tftp,
    Ntp,
    Dns,
    WsDiscovery,
    Bacnet,
    Sip,
    NatPmp,
}

impl Service {
    /// The name used in reports, as in the IANA service registry where there is one.
    pub fn name(self) -> &'static str {
        match self {
            Service::Ssh => "ssh",
            Service::Telnet => "telnet",
            Service::Ftp => "ftp",
            Service::Smtp => "smtp",
            Service::Http => "http",
            Service::Rtsp => "rtsp",
            Service::Tls => "tls",
            Service::Mqtt => "mqtt",
            Service::Modbus => "modbus",
            Service::Adb => "adb",
            Service::Gdbserver => "gdbserver",
            Service::Jdwp => "jdwp",
            Service::Openocd => "openocd",
            Service::Shell => "shell",
            Service::Coap => "coap",
            Service::Dtls => "dtls",
            Service::Snmp => "snmp",
            Service::Mdns => "mdns",
            Service::Ssdp => "ssdp",
            Service::Tftp => "tftp",
            Service::Ntp => "ntp",
            Service::Dns => "dns",
            Service::WsDiscovery => "ws-discovery",
            Service::Bacnet => "bacnet",
            Service::Sip => "sip",
            Service::NatPmp => "nat-pmp",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A request the suite can send to a TCP service that stays silent after connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpProbe {
    /// `GET / HTTP/1.0`.
    Http,
    /// A TLS ClientHello.
    Tls,
    /// An MQTT 3.1.1 CONNECT.
    Mqtt,
    /// An RTSP `OPTIONS`.
    Rtsp,
    /// An ADB `CNXN` message.
    Adb,
    /// A gdb remote-protocol `qSupported` packet.
    Gdb,
    /// The JDWP handshake string.
    Jdwp,
    /// OpenOCD's Tcl RPC `version` command.
    OpenocdTcl,
    /// A Modbus/TCP Read Device Identification request.
    Modbus,
    /// A shell command whose output only a shell that evaluates it can produce.
    ShellEcho,
}

impl TcpProbe {
    /// Every probe, in the order tried when the port number gives no hint.
    pub const ALL: [TcpProbe; 10] = [
        TcpProbe::Http,
        TcpProbe::Tls,
        TcpProbe::Mqtt,
        TcpProbe::Rtsp,
        TcpProbe::Adb,
        TcpProbe::Gdb,
        TcpProbe::Jdwp,
        TcpProbe::OpenocdTcl,
        TcpProbe::Modbus,
        TcpProbe::ShellEcho,
    ];

    /// Bytes kept from the reply to this probe.
    pub fn reply_cap(self) -> usize {
        match self {
            TcpProbe::Http | TcpProbe::Rtsp => HTTP_RESPONSE_CAP,
            _ => BANNER_CAP,
        }
    }
}

/// Recognise a service from what it sent unprompted right after the connect.
pub fn identify_banner(banner: &[u8]) -> Option<Service> {
    if banner.starts_with(b"SSH-") && banner.get(4).is_some_and(u8::is_ascii_digit) {
        return Some(Service::Ssh);
    }
    if iotcert_wire::telnet::starts_with_negotiation(banner) {
        return Some(Service::Telnet);
    }
    if binary::tls_reply(banner).is_some() {
        return Some(Service::Tls);
    }
    if let Some(response) = http::parse_response(banner) {
        return Some(response.service());
    }
    let text = telnet::console_text(banner);
    if text.contains("Open On-Chip Debugger") {
        return Some(Service::Openocd);
    }
    if let Some(service) = greeting_220(&text) {
        return Some(service);
    }
    if telnet::looks_like_shell_prompt(&text) {
        return Some(Service::Shell);
    }
    None
}

/// FTP and SMTP both greet with `220`; SMTP servers name their protocol.
fn greeting_220(text: &str) -> Option<Service> {
    let rest = text.strip_prefix("220")?;
    if !(rest.starts_with(' ') || rest.starts_with('-')) {
        return None;
    }
    let first_line = text.lines().next().unwrap_or_default().to_ascii_lowercase();
    if first_line.contains("smtp") || first_line.contains("mail") {
        Some(Service::Smtp)
    } else {
        Some(Service::Ftp)
    }
}

/// Recognise a service from its reply to `probe`: the probe's own protocol first, then
/// anything else a reply can unmistakably be (an HTTP error from a server that did not
/// like a TLS ClientHello is still HTTP).
pub fn identify_reply(probe: TcpProbe, reply: &[u8]) -> Option<Service> {
    identify_probe_answer(probe, reply).or_else(|| identify_banner(reply))
}

/// The service `reply` proves in the probe's own protocol, whole (no greeting fallback).
pub fn identify_probe_answer(probe: TcpProbe, reply: &[u8]) -> Option<Service> {
    match probe {
        TcpProbe::Http | TcpProbe::Rtsp => http::parse_response(reply).map(|r| r.service()),
        TcpProbe::Tls => binary::tls_reply(reply).map(|_| Service::Tls),
        TcpProbe::Mqtt => binary::mqtt_connack(reply).map(|_| Service::Mqtt),
        TcpProbe::Adb => binary::adb_reply(reply).map(|_| Service::Adb),
        TcpProbe::Gdb => binary::gdb_reply(reply).map(|_| Service::Gdbserver),
        TcpProbe::Jdwp => binary::jdwp_reply(reply).then_some(Service::Jdwp),
        TcpProbe::OpenocdTcl => binary::openocd_tcl_reply(reply).then_some(Service::Openocd),
        TcpProbe::Modbus => binary::modbus_reply(reply).then_some(Service::Modbus),
        TcpProbe::ShellEcho => telnet::shell_evaluated(reply).then_some(Service::Shell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_name_their_services() {
        assert_eq!(identify_banner(b"SSH-2.0-device\r\n"), Some(Service::Ssh));
        assert_eq!(identify_banner(b"\xff\xfd\x18"), Some(Service::Telnet));
        assert_eq!(
            identify_banner(b"220 (vsFTPd 3.0.3)\r\n"),
            Some(Service::Ftp)
        );
        assert_eq!(
            identify_banner(b"220 mail ESMTP Postfix\r\n"),
            Some(Service::Smtp)
        );
        assert_eq!(
            identify_banner(b"Open On-Chip Debugger\r\n> "),
            Some(Service::Openocd)
        );
        assert_eq!(identify_banner(b"/ # "), Some(Service::Shell));
        assert_eq!(identify_banner(b"SSH-x"), None);
        assert_eq!(identify_banner(b"2200 nothing"), None);
        assert_eq!(
            identify_reply(TcpProbe::Mqtt, &[0x20, 2, 0, 5]),
            Some(Service::Mqtt)
        );
        assert_eq!(
            identify_reply(TcpProbe::Tls, b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Some(Service::Http)
        );
        assert_eq!(
            identify_reply(TcpProbe::ShellEcho, b"echo iotcert$((6*7))probe"),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_judged_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = identify_banner(&bytes);
            let _ = end::banner_progress(&bytes);
            let _ = end::is_text(&bytes);
            for probe in TcpProbe::ALL {
                let _ = identify_reply(probe, &bytes);
                let _ = end::reply_progress(probe, &bytes);
            }
            for probe in udp::standard_probes("127.0.0.1", [0; 8]) {
                let _ = udp::judge(&probe, &bytes);
            }
        }

        #[test]
        fn disclosed_versions_come_from_the_text(text in "[ -~]{0,200}") {
            for found in disclosure::versions_in(&text) {
                proptest::prop_assert!(text.contains(&found.version));
                proptest::prop_assert!(text.contains(&found.product) || found.product == "version");
            }
        }
    }
}
