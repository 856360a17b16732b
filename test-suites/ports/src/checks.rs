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
            description: "Connects to every TCP port of the profile's range (all 65,535 by default) and sends protocol-correct probes to the common UDP services of connected devices (CoAP, DTLS, SNMP, mDNS, SSDP, TFTP, NTP, DNS, WS-Discovery, BACnet, SIP, NAT-PMP, plus every declared UDP port). A TCP port that accepts a connection, or a UDP port that answers, and that the profile's interfaces do not declare fails the check; ports the profile ignores are listed with their reason. Declared interfaces found closed are reported, not failed. Silent UDP ports are open|filtered and not counted as open.".to_owned(),
            remediation: UNDECLARED_REMEDIATION.to_owned(),
            positive_control: "Every declared TCP interface was seen open and answering during the same sweep, so the sweep can tell an open port from a closed one on this unit, and the whole range asked for was swept.".to_owned(),
            standards: standards(&["5.6-1"], &["5.6-1-2"], &["3.2.2"], &["I2"]),
        },
        CheckSpec {
            id: CLEARTEXT_MANAGEMENT.to_owned(),
            title: "No management interface is reachable without encryption".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Identifies the service on every open port and fails when a management interface answers without TLS: telnet, FTP, an HTTP administration interface (401 with WWW-Authenticate, or a login form with a password field, including one reached by a redirect on the same server), or SNMPv1/v2c answering a community string.".to_owned(),
            remediation: CLEARTEXT_REMEDIATION.to_owned(),
            positive_control: "Every open port's service was identified from a whole exchange (a banner read to its end, an answer to a probe); a port that reset or stayed silent is not counted as safe.".to_owned(),
            standards: standards(&["5.5-1", "5.5-5"], &["5.5-1-2"], &["3.2.3"], &["I7"]),
        },
        CheckSpec {
            id: DEBUG_INTERFACE.to_owned(),
            title: "No debug interface is reachable over the network".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Fails when a debug interface answers on an open port: ADB (a CNXN message answered by CNXN, AUTH or STLS), a gdb remote-protocol stub (qSupported answered by a well-formed packet), a JDWP agent (handshake echoed), OpenOCD (telnet banner or Tcl RPC), or a shell offered without authentication (a prompt right after connect, or a command evaluated without login).".to_owned(),
            remediation: DEBUG_REMEDIATION.to_owned(),
            positive_control: "Every open port was probed to the end of its exchange (the debug protocols' handshakes were answered or refused), and the sweep saw the declared interfaces open.".to_owned(),
            standards: standards(&["5.6-4", "5.6-1"], &["5.6-4-2"], &["1.3.12"], &["I9"]),
        },
        CheckSpec {
            id: BANNER_DISCLOSURE.to_owned(),
            title: "Unauthenticated banners disclose no exact software version".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Reads what every open service says before authentication (SSH identification, FTP/SMTP greetings, telnet and shell banners, HTTP, RTSP, SSDP and SIP Server headers, SNMP sysDescr, DNS version.bind, ADB and OpenOCD banners) and fails when it names an exact version of software, operating system or firmware, such as `SSH-2.0-dropbear_2022.83` or `Server: lighttpd/1.4.69`.".to_owned(),
            remediation: DISCLOSURE_REMEDIATION.to_owned(),
            positive_control: "Every banner was read to the protocol's end of banner (line end, end of HTTP head) or to its cap, over TLS where the port speaks it.".to_owned(),
            standards: standards(&["5.6-2"], &["5.6-2-2"], &[], &["I2"]),
        },
    ]
}
