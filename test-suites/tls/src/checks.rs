//! The checks of the TLS suite, each with its standards mapping and remediation.
//!
//! Server-side checks serve EN 303 645 5.5-1 (best-practice cryptography), TS 103 701
//! 5.5-1-2 (the handshake compared with the declaration, with a downgrade attempt),
//! OWASP ISVS 4.1.2 and IoT Top 10 I7. The client-side check serves ISVS 4.1.3 (the
//! device verifies the servers it connects to). Key reuse across units serves 5.4-3
//! (no hard-coded critical security parameter shared by every device).

use iotcert_suite::check::standards;
use iotcert_suite::{CheckScope, CheckSpec, Modal};

pub const MODERN_PROTOCOL: &str = "tls.modern-protocol";
pub const LEGACY_PROTOCOL: &str = "tls.legacy-protocol";
pub const WEAK_CIPHER_SUITE: &str = "tls.weak-cipher-suite";
pub const FORWARD_SECRECY: &str = "tls.forward-secrecy";
pub const KEY_EXCHANGE: &str = "tls.key-exchange-strength";
pub const RENEGOTIATION: &str = "tls.secure-renegotiation";
pub const COMPRESSION: &str = "tls.compression";
pub const FALLBACK_SCSV: &str = "tls.fallback-protection";
pub const HEARTBLEED: &str = "tls.heartbleed";
pub const CERTIFICATE_VALIDITY: &str = "tls.certificate-validity";
pub const CERTIFICATE_TRUST: &str = "tls.certificate-trust";
pub const CERTIFICATE_NAME: &str = "tls.certificate-name";
pub const CERTIFICATE_KEY: &str = "tls.certificate-key-strength";
pub const CERTIFICATE_SIGNATURE: &str = "tls.certificate-signature";
pub const CERTIFICATE_EXTENSIONS: &str = "tls.certificate-extensions";
pub const KEY_REUSE: &str = "tls.key-reuse";
pub const CLIENT_VALIDATION: &str = "tls.client-certificate-validation";

/// The checks decided per port and merged per unit.
pub const SERVER_CHECKS: [&str; 15] = [
    MODERN_PROTOCOL,
    LEGACY_PROTOCOL,
    WEAK_CIPHER_SUITE,
    FORWARD_SECRECY,
    KEY_EXCHANGE,
    RENEGOTIATION,
    COMPRESSION,
    FALLBACK_SCSV,
    HEARTBLEED,
    CERTIFICATE_VALIDITY,
    CERTIFICATE_TRUST,
    CERTIFICATE_NAME,
    CERTIFICATE_KEY,
    CERTIFICATE_SIGNATURE,
    CERTIFICATE_EXTENSIONS,
];

fn server(id: &str, title: &str, description: &str, remediation: &str) -> CheckSpec {
    CheckSpec {
        id: id.to_owned(),
        title: title.to_owned(),
        modal: Modal::Shall,
        scope: CheckScope::PerUnit,
        description: description.to_owned(),
        remediation: remediation.to_owned(),
        positive_control: positive_control(id).to_owned(),
        standards: standards(&["5.5-1"], &["5.5-1-2"], &["4.1.2"], &["I7"]),
    }
}

/// What each check must observe before its PASS means anything.
fn positive_control(id: &str) -> &'static str {
    match id {
        CERTIFICATE_VALIDITY | CERTIFICATE_TRUST | CERTIFICATE_NAME | CERTIFICATE_KEY
        | CERTIFICATE_SIGNATURE | CERTIFICATE_EXTENSIONS => {
            "A full handshake completed on every declared TLS port and its certificate chain was read and parsed."
        }
        KEY_REUSE => "The certificate key of every declared TLS port was read on at least two units.",
        CLIENT_VALIDATION => "The device connected to the harness and completed a handshake with the valid certificate, so its refusals of the bad ones are its validation.",
        FORWARD_SECRECY | KEY_EXCHANGE => "A handshake completed on every declared TLS port and the suites and key exchange groups it accepted were recorded (not empty).",
        _ => "A handshake completed on every declared TLS port, so a refused offer is the server's choice, not a dead or non-TLS port; every code point asked about was answered.",
    }
}

/// Every check of the suite.
pub fn specs() -> Vec<CheckSpec> {
    vec![
        server(MODERN_PROTOCOL, "Every TLS port negotiates TLS 1.2 or 1.3",
            "Offers TLS 1.2 and 1.3 ClientHellos to every declared TLS port and expects one of them to be accepted.",
            "Enable TLS 1.2 and TLS 1.3 on every TLS service."),
        server(LEGACY_PROTOCOL, "No TLS port accepts SSL 3.0, TLS 1.0 or TLS 1.1",
            "Offers SSL 3.0, TLS 1.0 and TLS 1.1 with hand-built ClientHellos (RFC 8996 deprecates them).",
            "Disable SSL 3.0, TLS 1.0 and TLS 1.1; offer only TLS 1.2 and 1.3."),
        server(WEAK_CIPHER_SUITE, "No TLS port accepts a weak cipher suite",
            "Enumerates the suites accepted in each version and looks for NULL, EXPORT, anonymous, RC4, DES, 3DES/IDEA, MD5 and, where the profile's policy says so, CBC with SHA-1.",
            "Remove the named suites from the server's cipher list; keep AEAD suites with ECDHE (AES-GCM, ChaCha20-Poly1305)."),
        server(FORWARD_SECRECY, "Every accepted cipher suite has forward secrecy",
            "Looks for suites with static RSA or static (EC)DH key exchange, whose recorded traffic a stolen key decrypts.",
            "Offer only ECDHE (or DHE) suites in TLS 1.2, and TLS 1.3."),
        server(KEY_EXCHANGE, "Key exchange groups are at least 256-bit EC or 2048-bit DH",
            "Reads the group or prime of every ephemeral key exchange, and offers only curves under 256 bits to see whether they are accepted.",
            "Configure x25519/secp256r1 or stronger, and DH primes of at least 2048 bits (RFC 7919 groups)."),
        server(RENEGOTIATION, "TLS 1.2 and older support secure renegotiation (RFC 5746)",
            "Sends the renegotiation SCSV and expects renegotiation_info in the ServerHello.",
            "Update the TLS library to one that implements RFC 5746."),
        server(COMPRESSION, "TLS compression is off (CRIME)",
            "Offers DEFLATE compression and expects the server to choose none.",
            "Disable TLS-level compression."),
        server(FALLBACK_SCSV, "Protocol downgrade is refused (TLS_FALLBACK_SCSV, RFC 7507)",
            "Offers the second-highest accepted version marked as a fallback; the server must refuse it (inappropriate_fallback) or mark the downgrade (TLS 1.3 sentinel).",
            "Support TLS_FALLBACK_SCSV, or offer a single protocol version."),
        server(HEARTBLEED, "No Heartbleed (CVE-2014-0160)",
            "When the server agrees to heartbeats, sends once, after its first flight, a heartbeat request declaring more payload than it carries; a vulnerable server answers with its memory.",
            "Update OpenSSL (1.0.1g or later) or disable heartbeats, then replace keys and certificates."),
        server(CERTIFICATE_VALIDITY, "Certificates are within their validity, and not valid for too long",
            "Reads notBefore/notAfter of the leaf and compares the lifetime with the profile's policy.",
            "Renew the certificate, and issue certificates whose lifetime does not exceed the policy."),
        server(CERTIFICATE_TRUST, "Certificates chain to a declared trust anchor and are not self-signed",
            "Validates the chain with rustls-webpki against the profile's trust anchors.",
            "Issue the device certificate from the manufacturer's CA (declared as trust anchor) and send the intermediates."),
        server(CERTIFICATE_NAME, "Certificates name the unit in subjectAltName",
            "Compares the leaf's subjectAltName with the unit's host name, or its address.",
            "Put the unit's host name (DNS) or address (IP) in subjectAltName."),
        server(CERTIFICATE_KEY, "Certificate keys are at least RSA 2048 or EC 256 bits",
            "Reads the public key of every certificate of the chain.",
            "Reissue with RSA 2048+ or ECDSA P-256+ keys."),
        server(CERTIFICATE_SIGNATURE, "Certificates are not signed with SHA-1 or MD5",
            "Reads the signature algorithm of the leaf and every intermediate.",
            "Reissue the certificates with SHA-256 or stronger."),
        server(CERTIFICATE_EXTENSIONS, "Basic constraints and key usage fit the certificate's role",
            "Checks that the leaf is not a CA and may be used for a TLS server, and that issuers are CAs allowed to sign certificates.",
            "Issue leaves with CA:FALSE, keyUsage digitalSignature, extendedKeyUsage serverAuth; issuers with CA:TRUE and keyCertSign."),
        CheckSpec {
            id: KEY_REUSE.to_owned(),
            title: "No two units share a TLS certificate or key".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::AcrossUnits,
            description: "Compares the sha256 of the leaf certificates and public keys of every TLS port of every unit.".to_owned(),
            remediation: "Generate a key pair and certificate per device, at manufacture or first boot.".to_owned(),
            positive_control: positive_control(KEY_REUSE).to_owned(),
            standards: standards(&["5.4-3"], &[], &["4.1.2"], &["I7"]),
        },
        CheckSpec {
            id: CLIENT_VALIDATION.to_owned(),
            title: "The device verifies the certificates of the servers it connects to".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Presents to the device's TLS client, in turn, a self-signed certificate, an expired one, one for another host name, one from an untrusted CA, and a valid one; records whether the device completes the handshake and sends application data.".to_owned(),
            remediation: "Verify the server's chain against the trusted CAs, its validity and its host name (for example with rustls or OpenSSL's SSL_VERIFY_PEER plus host name checking); never disable verification.".to_owned(),
            positive_control: positive_control(CLIENT_VALIDATION).to_owned(),
            standards: standards(&["5.5-1"], &["5.5-1-2"], &["4.1.3"], &["I7"]),
        },
    ]
}
