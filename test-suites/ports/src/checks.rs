//! The four checks of the suite: stable ids, titles, modal verbs and the standards
//! each one provides evidence for.

use iotcert_suite::check::standards;
use iotcert_suite::{CheckScope, CheckSpec, Modal};

pub const UNDECLARED_OPEN_PORT: &str = "ports.undeclared-open-port";
pub const CLEARTEXT_MANAGEMENT: &str = "ports.cleartext-management";
pub const DEBUG_INTERFACE: &str = "ports.debug-interface";
pub const BANNER_DISCLOSURE: &str = "ports.banner-disclosure";

/// Every check id, in report order.
pub const ALL: [&str; 4] = [
    UNDECLARED_OPEN_PORT,
    CLEARTEXT_MANAGEMENT,
    DEBUG_INTERFACE,
    BANNER_DISCLOSURE,
];

pub const UNDECLARED_REMEDIATION: &str = "Close every network service the product does not need (disable the daemon or bind it to the loopback interface), or, if it is needed, declare it in the product documentation and the device profile's interfaces.";
pub const CLEARTEXT_REMEDIATION: &str = "Disable telnet, FTP and SNMPv1/v2c; serve web administration only over HTTPS (redirect plain HTTP to it) and use SSH or SNMPv3 with privacy for remote management.";
pub const DEBUG_REMEDIATION: &str = "Remove or disable debug interfaces (ADB over TCP, gdbserver, JDWP, OpenOCD, root shells) in production firmware, or restrict them to a physically protected, authenticated channel.";
pub const DISCLOSURE_REMEDIATION: &str = "Configure services to announce no version in unauthenticated banners (for example `server.tag` in lighttpd, `server_tokens off` in nginx, a custom SSH identification string), and remove version strings from login banners and SNMP sysDescr.";

/// The checks as the engine and reports see them.
pub fn specs() -> Vec<CheckSpec> {
    vec![
        CheckSpec {
            id: UNDECLARED_OPEN_PORT.to_owned(),
            title: "No network service is open that the manufacturer did not declare".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Connects to every TCP port of the profile's range (all 65,535 by default) and sends protocol-correct probes to the common UDP services of connected devices (CoAP, DTLS, SNMP, mDNS, SSDP, TFTP, NTP, DNS, WS-Discovery, BACnet, SIP, NAT-PMP, plus every declared UDP port). A TCP port that accepts a connection, or a UDP port that answers, and that the profile's interfaces do not declare fails the check; ports the profile ignores are listed with their reason. A declared TCP interface found closed, filtered, resetting, silent or answering garbage, or a declared UDP interface found closed or answering bytes of no protocol (when UDP probes run), leaves the check INCONCLUSIVE naming it, and so does a profile whose declared interfaces all stayed silent (the scan could not show it sees this unit's services). Silent undeclared UDP ports are open|filtered and not counted as open.".to_owned(),
            remediation: UNDECLARED_REMEDIATION.to_owned(),
            positive_control: "The whole range asked for was swept with every port decided, and in the same scan every declared TCP interface was open and answered as a live service in a whole exchange (a banner read to its end, a recognised answer to a probe, a TLS handshake), and no declared UDP interface was found closed or answering garbage (a silent one is tolerated, as SNMP ignores an unknown community, but not when no declared interface answered at all).".to_owned(),
            standards: standards(&["5.6-1"], &["5.6-1-2"], &["3.2.2"], &["I2"]),
        },
        CheckSpec {
            id: CLEARTEXT_MANAGEMENT.to_owned(),
            title: "No management interface is reachable without encryption".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Identifies the service on every open port and fails when a management interface answers without TLS: telnet, FTP, an HTTP administration interface (401 with WWW-Authenticate, or a login form with a password field, including one reached by a redirect on the same server), or SNMPv1/v2c answering a community string.".to_owned(),
            remediation: CLEARTEXT_REMEDIATION.to_owned(),
            positive_control: "Every open port (and every answering UDP service) was told from a whole exchange: a recognised banner or probe answer, or text read to its end; a port that reset, closed without a word, stayed silent or sent bytes of no protocol is not counted as safe; and every declared interface was seen open and answering.".to_owned(),
            standards: standards(&["5.5-1", "5.5-5"], &["5.5-1-2"], &["3.2.3"], &["I7"]),
        },
        CheckSpec {
            id: DEBUG_INTERFACE.to_owned(),
            title: "No debug interface is reachable over the network".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Fails when a debug interface answers on an open port: ADB (a CNXN message answered by CNXN, AUTH or STLS), a gdb remote-protocol stub (qSupported answered by a well-formed packet), a JDWP agent (handshake echoed), OpenOCD (telnet banner or Tcl RPC), or a shell offered without authentication (a prompt right after connect, or a command evaluated without login).".to_owned(),
            remediation: DEBUG_REMEDIATION.to_owned(),
            positive_control: "Every open port (and every answering UDP service) was told from a whole exchange (a recognised banner or probe answer, or text read to its end), so a debug protocol would have been recognised; a port that reset, stayed silent or sent bytes of no protocol is not counted as safe; and every declared interface was seen open and answering.".to_owned(),
            standards: standards(&["5.6-4", "5.6-1"], &["5.6-4-2"], &["1.3.12"], &["I9"]),
        },
        CheckSpec {
            id: BANNER_DISCLOSURE.to_owned(),
            title: "Unauthenticated banners disclose no exact software version".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Reads what every open service says before authentication, to the protocol's end of banner (SSH identification, FTP/SMTP greetings, telnet and shell banners, HTTP, RTSP, SSDP and SIP Server headers, HTTP heads inside TLS, SNMP sysDescr, DNS version.bind, ADB and OpenOCD banners) and fails when it names an exact version of software, operating system or firmware, such as `SSH-2.0-dropbear_2022.83` or `Server: lighttpd/1.4.69`.".to_owned(),
            remediation: DISCLOSURE_REMEDIATION.to_owned(),
            positive_control: "Every open service's banner or answer was read to its protocol's end (SSH line end, final 220 line, end of the HTTP head and declared body, login or shell prompt) or to its cap within 5 s, inside TLS where the port speaks TLS (an HTTP head or an MQTT CONNACK); and every declared interface was seen open and answering.".to_owned(),
            standards: standards(&["5.6-2"], &["5.6-2-2"], &[], &["I2"]),
        },
    ]
}
