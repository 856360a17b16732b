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

/// What each check must observe before its PASS means anything. Every server-side
/// check first needs the port's handshake seen to complete (a full rustls handshake, or
/// for suites rustls cannot speak, the first flight read to ServerHelloDone with a
/// certificate): a port that refuses, resets, stays silent or answers garbage is
/// INCONCLUSIVE, never PASS.
fn positive_control(id: &str) -> &'static str {
    match id {
        MODERN_PROTOCOL => "A handshake completed on every TLS port and a TLS 1.2 or 1.3 ServerHello was read.",
        LEGACY_PROTOCOL => "A handshake completed on every TLS port, and the SSL 3.0, TLS 1.0 and TLS 1.1 hellos (every registry code point offered) were each refused with an alert, or with a close while the server, asked again at once, still accepted what it had accepted; none undecided or cut by the time limit.",
        WEAK_CIPHER_SUITE => "A handshake completed on every TLS port, and in every accepted version all IANA registry code points were offered (hellos of at most 128) until the server refused the rest, each refusal confirmed by the server still accepting a suite it had accepted (the enumeration not cut, the first choice found again, at least one suite recorded).",
        FORWARD_SECRECY => "A handshake completed on every TLS port, and the accepted suites of every version were enumerated to a confirmed refusal and recorded (not empty).",
        KEY_EXCHANGE => "A handshake completed on every TLS port, and the group or prime of every accepted ephemeral suite and TLS 1.3 key share was read (not empty), with the weak curves refused while the same suite with the usual curves was still accepted.",
        RENEGOTIATION | COMPRESSION => "A handshake completed on every TLS port, and every TLS 1.2-or-older ServerHello was read (or every such hello refused, none undecided, for TLS 1.3 only).",
        FALLBACK_SCSV => "A handshake completed on every TLS port at the highest version, and the lower version marked with TLS_FALLBACK_SCSV met inappropriate_fallback or the downgrade sentinel (or every other version was refused, none undecided).",
        HEARTBLEED => "A handshake completed on every TLS port, and heartbeats were refused in every TLS 1.2-or-older ServerHello, or an over-long request after the complete first flight got no heartbeat back.",
        CERTIFICATE_VALIDITY | CERTIFICATE_TRUST | CERTIFICATE_NAME | CERTIFICATE_KEY
        | CERTIFICATE_SIGNATURE | CERTIFICATE_EXTENSIONS => {
            "A handshake completed on every TLS port and its certificate chain was read and parsed."
        }
        KEY_REUSE => "The leaf certificate and key of every unit were read (at least two units, none missing) and compared.",
        CLIENT_VALIDATION => "The device completed a handshake with the valid control certificate and sent application data, so its refusals of the bad ones are its validation.",
        _ => "A handshake completed on every TLS port.",
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
            "Enumerates, in each version, every code point of the IANA cipher suite registry the server accepts, and looks for NULL, EXPORT, anonymous, RC4, DES/RC2, 3DES/IDEA, MD5 and, where the profile's policy says so, CBC with SHA-1.",
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
            "Checks that the leaf (self-signed or not) is not a CA and carries keyUsage and extendedKeyUsage serverAuth, and that issuers are CAs allowed to sign certificates.",
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
