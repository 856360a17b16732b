//! Shared test kit: throw-away PKIs at fixed instants, campaign facts, label forging.
//!
//! Every time here derives from [`t0`], a fixed instant, never from the clock, so tests
//! pass on any day.
#![allow(dead_code)] // each test binary uses a different part of the kit

use iotcert_label::pki::{Authority, IssuedSigner, SignerSubject, SignerUsage, Validity};
use iotcert_label::policy::{CheckOutcome, SchemePolicy, SuiteBudget};
use iotcert_label::statement::PAYLOAD_TYPE;
use iotcert_label::{
    dsse, issue, CampaignFacts, FirmwareSubject, LabelDevice, LabelSigner, Sha256Hex, ToolVersion,
};
use iotcert_suite::{Modal, Verdict};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The fixed "now" of the tests.
pub fn t0() -> OffsetDateTime {
    datetime!(2026-03-01 09:00:00 UTC)
}

pub const FIRMWARE: &[u8] = b"acme camera firmware 1.4.2, the bytes of the image";

pub const LAB: SignerSubject<'static> = SignerSubject {
    common_name: "Acme Test Lab label signing",
    organization: "Acme Test Lab",
};

/// Root, lab CA, signer: root and CA from a year before t0 for ten and five years,
/// signer from 30 days before t0 for two years.
pub struct TestPki {
    pub root: Authority,
    pub lab_ca: Authority,
    pub signer: IssuedSigner,
}

impl TestPki {
    pub fn new() -> TestPki {
        TestPki::with_signer_validity(Validity::starting(
            t0() - Duration::days(30),
            Duration::days(730),
        ))
    }

    pub fn with_signer_validity(validity: Validity) -> TestPki {
        let root = Authority::root(
            "Test Scheme Root",
            Validity::starting(t0() - Duration::days(365), Duration::days(3650)),
        )
        .expect("root");
        let lab_ca = root
            .issue_intermediate(
                "Acme Test Lab CA",
                Validity::starting(t0() - Duration::days(365), Duration::days(1825)),
            )
            .expect("lab CA");
        let signer = lab_ca
            .issue_signer(LAB, validity, SignerUsage::LabelSigning)
            .expect("signer");
        TestPki {
            root,
            lab_ca,
            signer,
        }
    }

    pub fn chain_pem(&self) -> String {
        self.signer.chain_pem(&[&self.lab_ca])
    }

    pub fn label_signer(&self) -> LabelSigner {
        LabelSigner::from_pem(self.signer.key_pem.as_bytes(), self.chain_pem().as_bytes())
            .expect("label signer")
    }

    pub fn roots_pem(&self) -> String {
        self.root.certificate_pem()
    }

    pub fn verifier(&self) -> iotcert_label::Verifier {
        iotcert_label::Verifier::new(self.roots_pem().as_bytes(), &[], &[]).expect("verifier")
    }

    /// The signer's chain as DER, signer first.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![
            self.signer.certificate_der.clone(),
            self.lab_ca.certificate_der(),
        ]
    }
}

pub fn outcome(
    suite: &str,
    check: &str,
    unit: Option<&str>,
    verdict: Verdict,
    modal: Modal,
) -> CheckOutcome {
    CheckOutcome {
        suite: suite.to_owned(),
        check: format!("{suite}.{check}"),
        unit: unit.map(str::to_owned),
        verdict,
        modal,
        en_303_645: vec!["5.1-1".to_owned()],
        proven: verdict == Verdict::Pass,
    }
}

/// A campaign that meets level 2 of the default scheme: 14 checks on two units where
/// they are per unit, as a realistic label carries.
pub fn passing_outcomes() -> Vec<CheckOutcome> {
    let mut outcomes = Vec::new();
    for unit in ["unit-a", "unit-b"] {
        for (suite, check) in [
            ("credentials", "default-password"),
            ("credentials", "weak-password-accepted"),
            ("update", "unsigned-image-accepted"),
            ("update", "downgrade-accepted"),
            ("ports", "undeclared-open-port"),
            ("ports", "cleartext-management"),
            ("ports", "debug-interface"),
            ("ports", "banner-disclosure"),
            ("tls", "legacy-protocol"),
            ("tls", "weak-cipher"),
            ("tls", "certificate-validity"),
        ] {
            outcomes.push(outcome(
                suite,
                check,
                Some(unit),
                Verdict::Pass,
                Modal::Shall,
            ));
        }
    }
    for (suite, check) in [
        ("credentials", "unique-per-device"),
        ("tls", "unique-key-per-device"),
        ("update", "rollback-protection"),
    ] {
        outcomes.push(outcome(suite, check, None, Verdict::Pass, Modal::Should));
    }
    outcomes
}

pub fn facts() -> CampaignFacts {
    CampaignFacts {
        campaign_id: "c-2026-03-01-0001".to_owned(),
        device: LabelDevice {
            manufacturer: "Acme Devices".to_owned(),
            model: "CAM-200".to_owned(),
            hardware_version: Some("rev C".to_owned()),
            firmware_version: "1.4.2".to_owned(),
        },
        firmware: FirmwareSubject {
            name: "cam200-1.4.2.bin".to_owned(),
            sha256: Sha256Hex::of(FIRMWARE),
        },
        profile_sha256: Sha256Hex::of(b"profile"),
        report_sha256: Sha256Hex::of(b"report"),
        harness: ToolVersion {
            name: "iotcert".to_owned(),
            version: "0.1.0".to_owned(),
        },
        suites: ["credentials", "update", "ports", "tls"]
            .into_iter()
            .map(|name| (name.to_owned(), "0.1.0".to_owned()))
            .collect(),
        outcomes: passing_outcomes(),
        budgets: vec![SuiteBudget {
            suite: "protofuzz".to_owned(),
            cases: 0,
            seconds: 0,
        }],
        supersedes: None,
    }
}

pub fn default_policy() -> SchemePolicy {
    SchemePolicy::default_scheme().expect("default scheme")
}

/// A level-2 label issued at `issued_at`.
pub fn issue_at(pki: &TestPki, issued_at: OffsetDateTime) -> iotcert_label::IssuedLabel {
    issue(
        &default_policy(),
        2,
        &facts(),
        &pki.label_signer(),
        issued_at,
    )
    .expect("issue")
}

/// The label file as JSON.
pub fn json(file: &[u8]) -> serde_json::Value {
    serde_json::from_slice(file).expect("label JSON")
}

pub fn bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("serialize")
}

/// Sign the DSSE PAE with a PKCS#8 PEM key, outside any LabelSigner check.
pub fn sign_pae_with(key_pem: &str, payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes()).expect("key PEM");
    let random = SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        der.secret_pkcs8_der(),
        &random,
    )
    .expect("P-256 key");
    key.sign(&random, &dsse::pae(payload_type, payload))
        .expect("sign")
        .as_ref()
        .to_vec()
}

/// A label file written by hand from the documented schema: any key, any chain.
pub fn forge_file(payload: &[u8], key_pem: &str, chain: &[Vec<u8>]) -> Vec<u8> {
    let signature = sign_pae_with(key_pem, PAYLOAD_TYPE, payload);
    let leaf = chain.first().expect("a leaf");
    let spki = x509_spki(leaf);
    bytes(&serde_json::json!({
        "format": "iotcert-label/v1",
        "envelope": {
            "payload": dsse::encode_base64(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"keyid": dsse::key_id(&spki), "sig": dsse::encode_base64(&signature)}],
        },
        "certificate_chain": chain.iter().map(|der| dsse::encode_base64(der)).collect::<Vec<_>>(),
    }))
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn x509_spki(certificate_der: &[u8]) -> Vec<u8> {
    use x509_parser::prelude::FromDer;
    let (_, certificate) =
        x509_parser::certificate::X509Certificate::from_der(certificate_der).expect("certificate");
    certificate.public_key().raw.to_vec()
}

/// A three-level PKI built with rcgen directly, so each certificate's key usage
/// (RFC 5280 section 4.2.1.3) can be chosen, including ones `pki::Authority` never
/// writes. An empty list leaves the keyUsage extension out.
pub struct KeyUsagePki {
    pub root_pem: String,
    pub root_key: rcgen::KeyPair,
    pub root_name: &'static str,
    pub ca_der: Vec<u8>,
    pub ca_key: rcgen::KeyPair,
    pub ca_name: &'static str,
    pub signer_der: Vec<u8>,
    pub signer_key_pem: String,
    pub signer_serial: rcgen::SerialNumber,
}

pub struct KeyUsages {
    pub root: Vec<rcgen::KeyUsagePurpose>,
    pub ca: Vec<rcgen::KeyUsagePurpose>,
    pub signer: Vec<rcgen::KeyUsagePurpose>,
}

impl KeyUsages {
    /// What `pki::Authority` writes: CAs keyCertSign and cRLSign, signer digitalSignature.
    pub fn conforming() -> KeyUsages {
        use rcgen::KeyUsagePurpose::*;
        KeyUsages {
            root: vec![KeyCertSign, CrlSign],
            ca: vec![KeyCertSign, CrlSign],
            signer: vec![DigitalSignature],
        }
    }
}

fn ca_params_with(
    common_name: &str,
    usages: Vec<rcgen::KeyUsagePurpose>,
    path_length: Option<u8>,
) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params.not_before = t0() - Duration::days(365);
    params.not_after = t0() + Duration::days(1825);
    params.serial_number = Some(rcgen::SerialNumber::from(rand_serial()));
    params.is_ca = rcgen::IsCa::Ca(match path_length {
        Some(length) => rcgen::BasicConstraints::Constrained(length),
        None => rcgen::BasicConstraints::Unconstrained,
    });
    params.key_usages = usages;
    params
}

fn rand_serial() -> u64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    SystemRandom::new().fill(&mut bytes).expect("random");
    (u64::from_be_bytes(bytes) >> 1) | 1
}

/// The value of an extendedKeyUsage extension holding the label-signing EKU only.
pub fn label_eku_extension() -> rcgen::CustomExtension {
    let oid = iotcert_label::pki::LABEL_SIGNING_EKU_DER;
    let mut value = vec![0x30, oid.len() as u8 + 2, 0x06, oid.len() as u8];
    value.extend_from_slice(oid);
    rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 37], value)
}

impl KeyUsagePki {
    pub fn new(usages: KeyUsages) -> KeyUsagePki {
        let root_name = "Key Usage Test Root";
        let root_key = rcgen::KeyPair::generate().expect("root key");
        let root = ca_params_with(root_name, usages.root, None)
            .self_signed(&root_key)
            .expect("root");
        let ca_name = "Key Usage Test Lab CA";
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let ca = ca_params_with(ca_name, usages.ca, Some(0))
            .signed_by(&ca_key, &root, &root_key)
            .expect("CA");
        let signer_key = rcgen::KeyPair::generate().expect("signer key");
        let serial = rcgen::SerialNumber::from(rand_serial());
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, LAB.organization);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, LAB.common_name);
        params.not_before = t0() - Duration::days(30);
        params.not_after = t0() + Duration::days(700);
        params.serial_number = Some(serial.clone());
        params.key_usages = usages.signer;
        params.custom_extensions.push(label_eku_extension());
        let signer = params.signed_by(&signer_key, &ca, &ca_key).expect("signer");
        KeyUsagePki {
            root_pem: root.pem(),
            root_key,
            root_name,
            ca_der: ca.der().to_vec(),
            ca_key,
            ca_name,
            signer_der: signer.der().to_vec(),
            signer_key_pem: signer_key.serialize_pem(),
            signer_serial: serial,
        }
    }

    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.signer_der.clone(), self.ca_der.clone()]
    }

    /// A label statement signed by this PKI's signer, outside any `LabelSigner` check.
    pub fn sign(&self, statement: &iotcert_label::LabelStatement) -> Vec<u8> {
        forge_file(
            &statement.to_payload().expect("payload"),
            &self.signer_key_pem,
            &self.chain_der(),
        )
    }

    /// A CRL in the lab CA's name, signed with its key, revoking `serials`.
    pub fn ca_crl(&self, serials: &[rcgen::SerialNumber]) -> Vec<u8> {
        crl_signed_as(self.ca_name, &self.ca_key, serials)
    }

    /// A CRL in the root's name, signed with its key, revoking `serials`.
    pub fn root_crl(&self, serials: &[rcgen::SerialNumber]) -> Vec<u8> {
        crl_signed_as(self.root_name, &self.root_key, serials)
    }
}

/// A CRL in the name `common_name`, signed with `key`. rcgen refuses to sign a CRL for
/// an issuer whose key usage lacks cRLSign, so the CRL is signed through a twin of the
/// CA (same name, same key) that claims cRLSign: what any holder of the key can do.
fn crl_signed_as(
    common_name: &str,
    key: &rcgen::KeyPair,
    serials: &[rcgen::SerialNumber],
) -> Vec<u8> {
    use rcgen::KeyUsagePurpose::{CrlSign, KeyCertSign};
    let twin = ca_params_with(common_name, vec![KeyCertSign, CrlSign], None)
        .self_signed(key)
        .expect("twin");
    let params = rcgen::CertificateRevocationListParams {
        this_update: t0(),
        next_update: t0() + Duration::days(30),
        crl_number: rcgen::SerialNumber::from(rand_serial()),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|serial| rcgen::RevokedCertParams {
                serial_number: serial.clone(),
                revocation_time: t0(),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    params.signed_by(&twin, key).expect("CRL").der().to_vec()
}

/// A statement payload whose subject `digest` object is replaced by `digest_text`, JSON
/// text written by hand (duplicate keys, which no serializer writes).
pub fn payload_with_digest_text(statement_payload: &[u8], digest_text: &str) -> Vec<u8> {
    let text = String::from_utf8(statement_payload.to_vec()).expect("utf-8");
    let start = text.find("\"digest\":{").expect("digest") + "\"digest\":".len();
    let end = start + text[start..].find('}').expect("end of digest") + 1;
    format!("{}{}{}", &text[..start], digest_text, &text[end..]).into_bytes()
}
