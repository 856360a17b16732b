//! The certificate chain a TLS port presents: captured, then judged field by field.
//!
//! The chain is captured by a rustls handshake whose verifier records what it is shown
//! and accepts it (DESIGN.md: inspect, never trust blindly), or, for a server that speaks
//! only TLS 1.1 or older, read from the Certificate message of a hand-built handshake.
//! [`inspect`] is pure: it reads the DER with x509-parser and validates the chain with
//! rustls-webpki against the profile's trust anchors, and is what the `tls_certificate`
//! fuzz target drives.

use crate::probe::Target;
use crate::wire::{self, ServerFlight};
use iotcert_suite::tls::RecordingVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
pub use rustls::pki_types::CertificateDer;
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{CertificateError, RootCertStore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

/// The chain a port presented, and how it was obtained.
#[derive(Clone, Debug, Default)]
pub struct CapturedChain {
    /// DER certificates, leaf first.
    pub certificates: Vec<Vec<u8>>,
    pub source: String,
    /// Why no chain could be captured, or why the handshake that captured it failed.
    pub problem: Option<String>,
    /// The full handshake that completed, when one did: `TLS 1.3 TLS13_AES_128_GCM_SHA256`.
    pub handshake: Option<String>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The name a unit's certificates are checked against, as rustls wants it.
fn rustls_name(target: &Target<'_>) -> ServerName<'static> {
    target
        .unit
        .hostname
        .as_deref()
        .and_then(|name| ServerName::try_from(name.to_owned()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(target.unit.address.into()))
}

/// Captures the chain: by rustls when TLS 1.2 or 1.3 is accepted, else from `legacy`.
pub async fn capture_chain(
    target: Target<'_>,
    versions: &[u16],
    legacy: Option<&ServerFlight>,
) -> CapturedChain {
    let mut problem = None;
    if versions.iter().any(|v| *v >= wire::TLS12) {
        match capture_with_rustls(target).await {
            Ok(chain) if !chain.certificates.is_empty() => return chain,
            Ok(chain) if chain.problem.is_some() => problem = chain.problem,
            Ok(_) => problem = Some("the rustls handshake saw no certificate".to_owned()),
            Err(error) => problem = Some(error),
        }
    }
    match legacy {
        Some(flight) if !flight.certificates.is_empty() => CapturedChain {
            certificates: flight.certificates.clone(),
            source: "Certificate message of a hand-built handshake".to_owned(),
            problem,
            handshake: None,
        },
        _ => CapturedChain {
            certificates: Vec::new(),
            source: String::new(),
            problem: Some(
                problem.unwrap_or_else(|| "no handshake reached the certificate".to_owned()),
            ),
            handshake: None,
        },
    }
}

async fn capture_with_rustls(target: Target<'_>) -> Result<CapturedChain, String> {
    let provider = provider();
    // Records the chain and accepts it: the verdicts judge it afterwards.
    let verifier = Arc::new(RecordingVerifier::new(Arc::clone(&provider)));
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let connection = target
        .ctx
        .connect_tcp(target.unit, target.port, target.timeout)
        .await
        .map_err(|e| e.to_string())?;
    let (stream, _permit) = connection.into_parts();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = tokio::time::timeout(
        target.timeout,
        connector.connect(rustls_name(&target), stream),
    )
    .await;
    let (problem, completed) = match handshake {
        Err(_) => (Some("the rustls handshake timed out".to_owned()), None),
        Ok(Err(error)) => (Some(format!("the rustls handshake failed: {error}")), None),
        Ok(Ok(stream)) => {
            let (_, connection) = stream.get_ref();
            let version = connection
                .protocol_version()
                .map_or_else(|| "TLS".to_owned(), |v| format!("{v:?}"));
            let suite = connection.negotiated_cipher_suite().map_or_else(
                || "an unnamed suite".to_owned(),
                |s| format!("{:?}", s.suite()),
            );
            (
                None,
                Some(format!("full handshake completed ({version}, {suite})")),
            )
        }
    };
    let certificates = verifier.chain();
    Ok(CapturedChain {
        handshake: completed.filter(|_| !certificates.is_empty()),
        certificates,
        source: "rustls handshake with a recording verifier".to_owned(),
        problem,
    })
}

/// What the unit's certificate should name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedName {
    Dns(String),
    Ip(IpAddr),
}

/// The policy a chain is judged by.
#[derive(Clone, Debug)]
pub struct Policy {
    pub anchors: Vec<CertificateDer<'static>>,
    pub max_validity_days: u32,
    pub expected: ExpectedName,
}

/// The facts of one certificate, for the evidence.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateFacts {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub key: String,
    pub signature_algorithm: String,
    pub subject_alt_names: Vec<String>,
    pub sha256: String,
}

/// The judgement of a chain: the problems found in each area (empty = fine).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainReport {
    pub certificates: Vec<CertificateFacts>,
    /// The leaf could not be read at all; every certificate check is then undecided.
    pub unreadable: Option<String>,
    pub validity: Vec<String>,
    pub trust: Vec<String>,
    /// Trust could not be judged (no trust anchor declared).
    pub trust_undecided: Option<String>,
    pub name: Vec<String>,
    pub key: Vec<String>,
    pub signature: Vec<String>,
    pub extensions: Vec<String>,
    /// sha256 of the leaf certificate and of its public key, for key reuse across units.
    pub leaf_sha256: String,
    pub leaf_key_sha256: String,
}

const SHA1_OR_MD5_SIGNATURES: [(&str, &str); 6] = [
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10040.4.3", "dsa-with-sha1"),
    ("1.3.14.3.2.29", "sha1WithRSA (OIW)"),
];

/// Judges `chain` (leaf first) at the time `now` (seconds since the Unix epoch).
pub fn inspect(chain: &[Vec<u8>], policy: &Policy, now: i64) -> ChainReport {
    let mut report = ChainReport::default();
    let Some(leaf_der) = chain.first() else {
        report.unreadable = Some("the server presented no certificate".to_owned());
        return report;
    };
    let parsed: Vec<Option<X509Certificate<'_>>> = chain
        .iter()
        .map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c))
        .collect();
    let Some(Some(leaf)) = parsed.first() else {
        report.unreadable = Some("the leaf certificate is not valid DER X.509".to_owned());
        return report;
    };
    report.leaf_sha256 = hex::encode(Sha256::digest(leaf_der));
    report.leaf_key_sha256 = hex::encode(Sha256::digest(leaf.public_key().raw));
    for (index, (der, certificate)) in chain.iter().zip(&parsed).enumerate() {
        let role = if index == 0 {
            "leaf".to_owned()
        } else {
            format!("chain certificate {index}")
        };
        let Some(certificate) = certificate else {
            report
                .extensions
                .push(format!("{role} is not valid DER X.509"));
            continue;
        };
        report.certificates.push(facts(der, certificate));
        let self_signed = is_self_signed(certificate);
        judge_key(&mut report, &role, certificate);
        if index == 0 || !self_signed {
            judge_signature(&mut report, &role, certificate);
        }
        judge_extensions(&mut report, &role, index == 0, certificate);
    }
    judge_validity(&mut report, leaf, policy, now);
    judge_name(&mut report, leaf, &policy.expected);
    judge_trust(&mut report, chain, leaf, policy);
    report
}

fn facts(der: &[u8], certificate: &X509Certificate<'_>) -> CertificateFacts {
    let validity = certificate.validity();
    CertificateFacts {
        subject: certificate.subject().to_string(),
        issuer: certificate.issuer().to_string(),
        not_before: validity.not_before.to_string(),
        not_after: validity.not_after.to_string(),
        key: key_description(certificate),
        signature_algorithm: signature_name(certificate),
        subject_alt_names: alt_names(certificate),
        sha256: hex::encode(Sha256::digest(der)),
    }
}

fn key_description(certificate: &X509Certificate<'_>) -> String {
    match certificate.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {} bits", rsa.key_size()),
        Ok(PublicKey::EC(point)) => format!("EC {} bits", point.key_size()),
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        Ok(_) => format!("{}", certificate.public_key().algorithm.algorithm),
        Err(_) => "unreadable key".to_owned(),
    }
}

fn signature_name(certificate: &X509Certificate<'_>) -> String {
    let oid = certificate.signature_algorithm.algorithm.to_id_string();
    SHA1_OR_MD5_SIGNATURES
        .iter()
        .find(|(id, _)| *id == oid)
        .map_or(oid.clone(), |(_, name)| (*name).to_owned())
}

fn alt_names(certificate: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(extension)) = certificate.subject_alternative_name() else {
        return Vec::new();
    };
    extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(format!("DNS:{dns}")),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| format!("IP:{ip}")),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn is_self_signed(certificate: &X509Certificate<'_>) -> bool {
    certificate.subject().as_raw() == certificate.issuer().as_raw()
}

fn judge_key(report: &mut ChainReport, role: &str, certificate: &X509Certificate<'_>) {
    match certificate.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) if rsa.key_size() < 2048 => report.key.push(format!(
            "{role} has an RSA key of {} bits (at least 2048 needed)",
            rsa.key_size()
        )),
        Ok(PublicKey::EC(point)) if point.key_size() < 256 => report.key.push(format!(
            "{role} has an EC key of {} bits (at least 256 needed)",
            point.key_size()
        )),
        Ok(PublicKey::DSA(_)) => report.key.push(format!("{role} has a DSA key")),
        _ => {}
    }
}

fn judge_signature(report: &mut ChainReport, role: &str, certificate: &X509Certificate<'_>) {
    let oid = certificate.signature_algorithm.algorithm.to_id_string();
    if let Some((_, name)) = SHA1_OR_MD5_SIGNATURES.iter().find(|(id, _)| *id == oid) {
        report.signature.push(format!(
            "{role} is signed with {name}: collisions are practical"
        ));
    }
}

/// Basic constraints and key usage against the certificate's role. A leaf is what the
/// device serves, self-signed or not: RFC 5280 (4.2.1.9) reserves CA:TRUE for keys that
/// sign certificates, and the CA/Browser Forum baseline requirements (7.1.2.7) want a TLS
/// server leaf to say what its key is for: keyUsage (digitalSignature or keyEncipherment)
/// and extendedKeyUsage serverAuth. Issuers must be CAs allowed to sign certificates.
fn judge_extensions(
    report: &mut ChainReport,
    role: &str,
    leaf: bool,
    certificate: &X509Certificate<'_>,
) {
    let ca = match certificate.basic_constraints() {
        Ok(Some(extension)) => Some(extension.value.ca),
        Ok(None) => None,
        Err(_) => {
            report
                .extensions
                .push(format!("{role} has an unreadable basicConstraints"));
            None
        }
    };
    match certificate.key_usage() {
        Ok(Some(extension)) => {
            let usage = extension.value;
            if leaf && usage.key_cert_sign() {
                report.extensions.push(format!(
                    "{role} may sign certificates (keyUsage keyCertSign)"
                ));
            }
            if leaf
                && !(usage.digital_signature() || usage.key_encipherment() || usage.key_agreement())
            {
                report.extensions.push(format!(
                    "{role} keyUsage allows neither digitalSignature nor keyEncipherment"
                ));
            }
            if !leaf && !usage.key_cert_sign() {
                report.extensions.push(format!(
                    "{role} issues certificates without keyUsage keyCertSign"
                ));
            }
        }
        Ok(None) if leaf => report.extensions.push(format!(
            "{role} has no keyUsage: nothing limits its key to TLS server use (digitalSignature or keyEncipherment)"
        )),
        Ok(None) => {}
        Err(_) => report
            .extensions
            .push(format!("{role} has an unreadable keyUsage")),
    }
    if leaf {
        if ca == Some(true) {
            let origin = if is_self_signed(certificate) {
                " (self-signed: the device serves a CA certificate whose key can sign certificates for any name)"
            } else {
                ""
            };
            report.extensions.push(format!(
                "{role} is a CA certificate (basicConstraints CA:TRUE){origin}"
            ));
        }
        match certificate.extended_key_usage() {
            Ok(Some(extension)) => {
                let usage = extension.value;
                if !(usage.server_auth || usage.any) {
                    report
                        .extensions
                        .push(format!("{role} extendedKeyUsage lacks serverAuth"));
                }
            }
            Ok(None) => report.extensions.push(format!(
                "{role} has no extendedKeyUsage serverAuth (the CA/Browser Forum baseline requirements ask for it on TLS server certificates)"
            )),
            Err(_) => report
                .extensions
                .push(format!("{role} has an unreadable extendedKeyUsage")),
        }
    } else if ca != Some(true) {
        report.extensions.push(format!(
            "{role} issues certificates but is not a CA (basicConstraints)"
        ));
    }
}

fn judge_validity(report: &mut ChainReport, leaf: &X509Certificate<'_>, policy: &Policy, now: i64) {
    let validity = leaf.validity();
    let (start, end) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    if end < now {
        report
            .validity
            .push(format!("expired on {}", validity.not_after));
    }
    if start > now {
        report
            .validity
            .push(format!("not valid before {}", validity.not_before));
    }
    let days = (end - start) / 86_400;
    if days > i64::from(policy.max_validity_days) {
        report.validity.push(format!(
            "valid for {days} days, longer than the policy's {} days",
            policy.max_validity_days
        ));
    }
}

fn judge_name(report: &mut ChainReport, leaf: &X509Certificate<'_>, expected: &ExpectedName) {
    let names = alt_names(leaf);
    if names.is_empty() {
        report.name.push(
            "no subjectAltName: clients ignore the common name (RFC 6125), so no name can match"
                .to_owned(),
        );
        return;
    }
    let matches = names
        .iter()
        .any(|name| match (expected, name.split_once(':')) {
            (ExpectedName::Ip(ip), Some(("IP", value))) => {
                value.parse::<IpAddr>().ok() == Some(*ip)
            }
            (ExpectedName::Dns(host), Some(("DNS", pattern))) => dns_matches(pattern, host),
            _ => false,
        });
    if !matches {
        let wanted = match expected {
            ExpectedName::Ip(ip) => format!("IP address {ip}"),
            ExpectedName::Dns(host) => format!("host name {host}"),
        };
        report.name.push(format!(
            "the certificate names {} but not the unit's {wanted}",
            names.join(", ")
        ));
    }
}

/// RFC 6125 matching: case-insensitive, a wildcard only as the whole left-most label.
fn dns_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(label, domain)| !label.is_empty() && domain == rest),
        None => pattern == host,
    }
}

fn judge_trust(
    report: &mut ChainReport,
    chain: &[Vec<u8>],
    leaf: &X509Certificate<'_>,
    policy: &Policy,
) {
    if is_self_signed(leaf) {
        report.trust.push(
            "the leaf is self-signed: a client can accept it only by trusting it blindly or pinning it"
                .to_owned(),
        );
        return;
    }
    if policy.anchors.is_empty() {
        report.trust_undecided = Some(
            "the profile declares no trust anchor (tls.trust_anchors), so the chain cannot be judged"
                .to_owned(),
        );
        return;
    }
    let mut roots = RootCertStore::empty();
    for anchor in &policy.anchors {
        let _ = roots.add(anchor.clone());
    }
    let verifier =
        match WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build() {
            Ok(verifier) => verifier,
            Err(error) => {
                report.trust_undecided = Some(format!("the trust anchors cannot be used: {error}"));
                return;
            }
        };
    let Some(leaf_der) = chain.first() else {
        return;
    };
    let end_entity = CertificateDer::from(leaf_der.clone());
    let intermediates: Vec<CertificateDer<'_>> = chain
        .iter()
        .skip(1)
        .map(|der| CertificateDer::from(der.clone()))
        .collect();
    // Judged at the middle of the leaf's validity, so an expired certificate is reported
    // as expired, not as untrusted.
    let validity = leaf.validity();
    let middle = validity.not_before.timestamp() / 2 + validity.not_after.timestamp() / 2;
    let when = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(middle).unwrap_or(0)));
    let name = match &policy.expected {
        ExpectedName::Ip(ip) => ServerName::IpAddress((*ip).into()),
        ExpectedName::Dns(host) => ServerName::try_from(host.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(IpAddr::from([0, 0, 0, 0]).into())),
    };
    match verifier.verify_server_cert(&end_entity, &intermediates, &name, &[], when) {
        Ok(_) => {}
        Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => {}
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. },
        )) if chains_by_name(chain, &policy.anchors) => {
            // webpki refuses the algorithm (SHA-1, RSA under 2048 bits): the signature and
            // key checks report that; the chain itself leads to a declared anchor.
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => report
            .trust
            .push("the chain does not lead to any trust anchor the profile declares".to_owned()),
        Err(error) => report.trust.push(format!(
            "the chain does not verify against the declared trust anchors: {error}"
        )),
    }
}

/// Whether issuer names lead from the leaf, through the chain, to a declared anchor.
fn chains_by_name(chain: &[Vec<u8>], anchors: &[CertificateDer<'static>]) -> bool {
    let subjects = |ders: &mut dyn Iterator<Item = &[u8]>| -> Vec<(Vec<u8>, Vec<u8>)> {
        ders.filter_map(|der| X509Certificate::from_der(der).ok())
            .map(|(_, c)| (c.subject().as_raw().to_vec(), c.issuer().as_raw().to_vec()))
            .collect()
    };
    let anchor_names = subjects(&mut anchors.iter().map(|a| a.as_ref()));
    let links = subjects(&mut chain.iter().map(Vec::as_slice));
    let Some((_, mut issuer)) = links.first().cloned() else {
        return false;
    };
    for _ in 0..links.len() {
        if anchor_names.iter().any(|(subject, _)| *subject == issuer) {
            return true;
        }
        match links.iter().skip(1).find(|(subject, _)| *subject == issuer) {
            Some((_, next)) if *next != issuer => issuer = next.clone(),
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        assert!(dns_matches("*.example.com", "a.example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(dns_matches("Cam.Example.com", "cam.example.com"));
    }

    fn policy() -> Policy {
        Policy {
            anchors: Vec::new(),
            max_validity_days: 825,
            expected: ExpectedName::Ip(IpAddr::from([127, 0, 0, 1])),
        }
    }

    fn self_signed(params: rcgen::CertificateParams) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_self_signed_ca_leaf_without_usages_is_a_finding() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let report = inspect(&[self_signed(params)], &policy(), 0);
        let found = report.extensions.join("; ");
        assert!(found.contains("CA:TRUE"), "{found}");
        assert!(found.contains("no keyUsage"), "{found}");
        assert!(found.contains("no extendedKeyUsage"), "{found}");
    }

    #[test]
    fn a_leaf_with_the_usages_of_a_tls_server_is_fine() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let report = inspect(&[self_signed(params)], &policy(), 0);
        assert!(report.extensions.is_empty(), "{:?}", report.extensions);
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let policy = Policy {
            anchors: Vec::new(),
            max_validity_days: 825,
            expected: ExpectedName::Ip(IpAddr::from([127, 0, 0, 1])),
        };
        let report = inspect(&[vec![0x30, 0x82, 0xff]], &policy, 0);
        assert!(report.unreadable.is_some());
        assert!(inspect(&[], &policy, 0).unreadable.is_some());
    }
}
