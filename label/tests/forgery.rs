//! The forgery battery (issue "Trust label", acceptance): every way a label can be
//! forged, stale, revoked, about other firmware or bound to another report is rejected
//! with its own reason code, and every reason code is reached by at least one case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use std::collections::BTreeSet;

use common::*;
use iotcert_label::pki::{self, Authority, SignerUsage, Validity};
use iotcert_label::{
    dsse, sign_statement, FirmwareCheck, ReasonCode, ReportCheck, RevocationList, RevocationReason,
    Verifier, VerifyOptions,
};
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P384_SHA384};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

struct Case {
    name: &'static str,
    label: Vec<u8>,
    verifier: Verifier,
    at: OffsetDateTime,
    firmware: Option<Vec<u8>>,
    report: Option<Vec<u8>>,
    expected: ReasonCode,
}

fn with_envelope(file: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value = json(file);
    edit(&mut value["envelope"]);
    bytes(&value)
}

#[test]
fn every_forgery_is_rejected_with_its_own_code() {
    let pki = TestPki::new();
    let issued_at = t0();
    let good = issue_at(&pki, issued_at);
    let other = issue_at(&pki, issued_at + Duration::hours(1));
    let at = issued_at + Duration::days(10);
    let expires_at = good.statement.predicate.expires_at;
    let verifier = || pki.verifier();
    let good_value = json(&good.file);
    let good_payload =
        dsse::decode_base64(good_value["envelope"]["payload"].as_str().expect("payload"))
            .expect("base64");

    // The genuine label verifies: the battery below tests forgeries, not a broken setup.
    pki.verifier()
        .verify(&good.file, at, Some(FirmwareCheck::Image(FIRMWARE)))
        .expect("the genuine label verifies");

    let mut cases = Vec::new();
    let mut case = |name, label, verifier, at, firmware: Option<&[u8]>, expected| {
        cases.push(Case {
            name,
            label,
            verifier,
            at,
            firmware: firmware.map(<[u8]>::to_vec),
            report: None,
            expected,
        })
    };

    // --- parse ---
    case(
        "empty input",
        Vec::new(),
        verifier(),
        at,
        None,
        ReasonCode::Malformed,
    );
    case(
        "truncated",
        good.file[..good.file.len() / 2].to_vec(),
        verifier(),
        at,
        None,
        ReasonCode::Malformed,
    );
    case(
        "not JSON",
        b"\x89PNG\r\n\x1a\n".to_vec(),
        verifier(),
        at,
        None,
        ReasonCode::Malformed,
    );
    case(
        "too large",
        [good.file.clone(), vec![b' '; 70 * 1024]].concat(),
        verifier(),
        at,
        None,
        ReasonCode::Malformed,
    );
    case(
        "unknown field",
        {
            let mut value = json(&good.file);
            value["comment"] = Value::from("trust me");
            bytes(&value)
        },
        verifier(),
        at,
        None,
        ReasonCode::Malformed,
    );
    case(
        "payload not base64",
        with_envelope(&good.file, |envelope| {
            envelope["payload"] = Value::from("%%%")
        }),
        verifier(),
        at,
        None,
        ReasonCode::Malformed,
    );
    // --- payload type ---
    case(
        "payload type changed",
        with_envelope(&good.file, |envelope| {
            envelope["payloadType"] = Value::from("application/json")
        }),
        verifier(),
        at,
        None,
        ReasonCode::PayloadType,
    );
    // --- signature count ---
    case(
        "no signature",
        with_envelope(&good.file, |envelope| {
            envelope["signatures"] = Value::Array(vec![])
        }),
        verifier(),
        at,
        None,
        ReasonCode::SignatureCount,
    );
    case(
        "duplicate signature",
        with_envelope(&good.file, |envelope| {
            let signature = envelope["signatures"][0].clone();
            envelope["signatures"] = Value::Array(vec![signature.clone(), signature]);
        }),
        verifier(),
        at,
        None,
        ReasonCode::SignatureCount,
    );
    // --- key ---
    case(
        "signer key is P-384",
        {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("P-384 key");
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
            params.not_before = t0() - Duration::days(1);
            params.not_after = t0() + Duration::days(100);
            let certificate = params.self_signed(&key).expect("P-384 certificate");
            let mut value = json(&good.file);
            value["certificate_chain"][0] =
                Value::from(dsse::encode_base64(certificate.der().as_ref()));
            bytes(&value)
        },
        verifier(),
        at,
        None,
        ReasonCode::UnsupportedKey,
    );
    case(
        "keyid changed",
        with_envelope(&good.file, |envelope| {
            envelope["signatures"][0]["keyid"] = Value::from("0".repeat(64))
        }),
        verifier(),
        at,
        None,
        ReasonCode::KeyidMismatch,
    );
    // --- signature ---
    case(
        "payload changed",
        {
            let mut statement = good.statement.clone();
            statement.predicate.level.number = 3;
            let payload = statement.to_payload().expect("payload");
            with_envelope(&good.file, |envelope| {
                envelope["payload"] = Value::from(dsse::encode_base64(&payload))
            })
        },
        verifier(),
        at,
        None,
        ReasonCode::BadSignature,
    );
    case(
        "signature swapped from another label",
        {
            let other_signature = json(&other.file)["envelope"]["signatures"][0]["sig"].clone();
            with_envelope(&good.file, |envelope| {
                envelope["signatures"][0]["sig"] = other_signature
            })
        },
        verifier(),
        at,
        None,
        ReasonCode::BadSignature,
    );
    case(
        "signed by a key outside the chain",
        {
            let outsider = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            forge_file(&good_payload, &outsider.serialize_pem(), &pki.chain_der())
        },
        verifier(),
        at,
        None,
        ReasonCode::BadSignature,
    );
    // --- statement ---
    case(
        "payload is not a label statement",
        forge_file(b"{\"hello\": 1}", &pki.signer.key_pem, &pki.chain_der()),
        verifier(),
        at,
        None,
        ReasonCode::StatementType,
    );
    case(
        "another predicate type",
        {
            let text = String::from_utf8(good_payload.clone()).expect("utf-8");
            let payload = text.replace(
                "https://iotcert.dev/label/v1",
                "https://slsa.dev/provenance/v1",
            );
            forge_file(payload.as_bytes(), &pki.signer.key_pem, &pki.chain_der())
        },
        verifier(),
        at,
        None,
        ReasonCode::StatementType,
    );
    case(
        "two subjects",
        {
            let mut statement: Value = serde_json::from_slice(&good_payload).expect("statement");
            let subject = statement["subject"][0].clone();
            statement["subject"] = Value::Array(vec![subject.clone(), subject]);
            let payload = serde_json::to_vec(&statement).expect("payload");
            forge_file(&payload, &pki.signer.key_pem, &pki.chain_der())
        },
        verifier(),
        at,
        None,
        ReasonCode::MalformedStatement,
    );
    case(
        "the firmware digest given twice",
        {
            let digest = format!(
                r#"{{"sha256":"{}","sha256":"{}"}}"#,
                "0".repeat(64),
                good.statement.firmware.sha256
            );
            forge_file(
                &payload_with_digest_text(&good_payload, &digest),
                &pki.signer.key_pem,
                &pki.chain_der(),
            )
        },
        verifier(),
        at,
        Some(FIRMWARE),
        ReasonCode::MalformedStatement,
    );
    case(
        "expires before it is issued",
        {
            let mut statement = good.statement.clone();
            statement.predicate.expires_at = statement.predicate.issued_at;
            sign_statement(&statement, &pki.label_signer()).expect("sign")
        },
        verifier(),
        at,
        None,
        ReasonCode::MalformedStatement,
    );
    // --- chain ---
    case(
        "self-signed lab certificate",
        {
            // Same subject as the real lab, so only the issuer differs.
            let lab = pki::self_signed_signer(
                LAB,
                Validity::starting(t0() - Duration::days(30), Duration::days(730)),
            )
            .expect("self-signed");
            forge_file(
                &good_payload,
                &lab.key_pem,
                std::slice::from_ref(&lab.certificate_der),
            )
        },
        verifier(),
        at,
        None,
        ReasonCode::SelfSignedSigner,
    );
    case(
        "chain to another root",
        {
            let rogue = TestPki::new();
            sign_statement(&good.statement, &rogue.label_signer()).expect("sign")
        },
        verifier(),
        at,
        None,
        ReasonCode::UntrustedChain,
    );
    case(
        "signer certificate alone, without its CA",
        forge_file(
            &good_payload,
            &pki.signer.key_pem,
            std::slice::from_ref(&pki.signer.certificate_der),
        ),
        verifier(),
        at,
        None,
        ReasonCode::UntrustedChain,
    );
    case(
        "an extra certificate off the path",
        {
            let mut chain = pki.chain_der();
            chain.push(TestPki::new().lab_ca.certificate_der());
            forge_file(&good_payload, &pki.signer.key_pem, &chain)
        },
        verifier(),
        at,
        None,
        ReasonCode::UntrustedChain,
    );
    for (name, usage) in [
        (
            "certificate without any EKU",
            SignerUsage::NoExtendedKeyUsage,
        ),
        (
            "certificate with code signing EKU only",
            SignerUsage::CodeSigningOnly,
        ),
    ] {
        let signer = pki
            .lab_ca
            .issue_signer(
                LAB,
                Validity::starting(t0() - Duration::days(30), Duration::days(730)),
                usage,
            )
            .expect("signer");
        let chain = vec![signer.certificate_der.clone(), pki.lab_ca.certificate_der()];
        case(
            name,
            forge_file(&good_payload, &signer.key_pem, &chain),
            verifier(),
            at,
            None,
            ReasonCode::MissingEku,
        );
    }
    for (name, validity) in [
        (
            "lab certificate expired at issued_at",
            Validity::starting(t0() - Duration::days(400), Duration::days(365)),
        ),
        (
            "lab certificate not yet valid at issued_at",
            Validity::starting(t0() + Duration::days(1), Duration::days(365)),
        ),
    ] {
        // issue() refuses a signer not valid at issued_at; sign_statement() does not.
        let stale = TestPki::with_signer_validity(validity);
        case(
            name,
            sign_statement(&good.statement, &stale.label_signer()).expect("sign"),
            stale.verifier(),
            at,
            None,
            ReasonCode::SignerNotValidAtIssue,
        );
    }
    {
        use rcgen::KeyUsagePurpose::{CrlSign, DigitalSignature, KeyCertSign};
        for (name, usages) in [
            (
                "lab CA whose key usage lacks keyCertSign",
                KeyUsages {
                    ca: vec![DigitalSignature, CrlSign],
                    ..KeyUsages::conforming()
                },
            ),
            (
                "signer whose key usage lacks digitalSignature",
                KeyUsages {
                    signer: vec![KeyCertSign],
                    ..KeyUsages::conforming()
                },
            ),
        ] {
            let forger = KeyUsagePki::new(usages);
            case(
                name,
                forger.sign(&good.statement),
                Verifier::new(forger.root_pem.as_bytes(), &[], &[]).expect("verifier"),
                at,
                None,
                ReasonCode::KeyUsage,
            );
        }
    }
    let (ca_expired_label, ca_expired_verifier) = {
        let root = Authority::root(
            "Test Scheme Root",
            Validity::starting(t0() - Duration::days(365), Duration::days(3650)),
        )
        .expect("root");
        let old_ca = root
            .issue_intermediate(
                "Old Lab CA",
                Validity::starting(t0() - Duration::days(365), Duration::days(100)),
            )
            .expect("CA");
        let signer = old_ca
            .issue_signer(
                LAB,
                Validity::starting(t0() - Duration::days(30), Duration::days(730)),
                SignerUsage::LabelSigning,
            )
            .expect("signer");
        let chain = vec![signer.certificate_der.clone(), old_ca.certificate_der()];
        (
            forge_file(&good_payload, &signer.key_pem, &chain),
            Verifier::new(root.certificate_pem().as_bytes(), &[], &[]).expect("verifier"),
        )
    };
    case(
        "lab CA expired at issued_at",
        ca_expired_label,
        ca_expired_verifier,
        at,
        None,
        ReasonCode::SignerNotValidAtIssue,
    );
    case(
        "lab name not the certificate's",
        {
            let mut statement = good.statement.clone();
            statement.predicate.lab.name = "Famous Lab".to_owned();
            sign_statement(&statement, &pki.label_signer()).expect("sign")
        },
        verifier(),
        at,
        None,
        ReasonCode::LabMismatch,
    );
    case(
        "label outlives its signer",
        {
            let mut statement = good.statement.clone();
            statement.predicate.expires_at = t0() + Duration::days(800);
            sign_statement(&statement, &pki.label_signer()).expect("sign")
        },
        verifier(),
        at,
        None,
        ReasonCode::LifetimeExceedsSigner,
    );
    // --- validity window ---
    case(
        "label expired",
        good.file.clone(),
        verifier(),
        expires_at,
        None,
        ReasonCode::LabelExpired,
    );
    case(
        "label not yet valid",
        good.file.clone(),
        verifier(),
        issued_at - Duration::seconds(1),
        None,
        ReasonCode::LabelNotYetValid,
    );
    // --- revocation ---
    let signer_revoked_crl = pki
        .lab_ca
        .crl_der(
            std::slice::from_ref(&pki.signer.serial),
            t0(),
            t0() + Duration::days(30),
        )
        .expect("CRL");
    case(
        "lab certificate revoked by CRL",
        good.file.clone(),
        Verifier::new(pki.roots_pem().as_bytes(), &[&signer_revoked_crl], &[]).expect("verifier"),
        at,
        None,
        ReasonCode::RevokedCertificate,
    );
    let ca_revoked_crl = pki
        .root
        .crl_der(
            &[pki.lab_ca.serial().clone()],
            t0(),
            t0() + Duration::days(30),
        )
        .expect("CRL");
    case(
        "lab CA revoked by the root's CRL",
        good.file.clone(),
        Verifier::new(pki.roots_pem().as_bytes(), &[&ca_revoked_crl], &[]).expect("verifier"),
        at,
        None,
        ReasonCode::RevokedCertificate,
    );
    let impostor_ca = pki
        .root
        .issue_intermediate(
            "Acme Test Lab CA",
            Validity::starting(t0() - Duration::days(365), Duration::days(1825)),
        )
        .expect("CA of the same name");
    let forged_crl = impostor_ca
        .crl_der(&[], t0(), t0() + Duration::days(30))
        .expect("CRL");
    case(
        "CRL in the lab CA's name, not signed by it",
        good.file.clone(),
        Verifier::new(pki.roots_pem().as_bytes(), &[&forged_crl], &[]).expect("verifier"),
        at,
        None,
        ReasonCode::RevocationUnknown,
    );
    let mut revocations = RevocationList::new(t0());
    revocations
        .revoke(
            good.statement.predicate.label_id,
            RevocationReason::VulnerabilityDisclosed,
            t0() + Duration::days(5),
        )
        .expect("revoke");
    let revocation_file = revocations
        .sign(&pki.label_signer(), t0() + Duration::days(5))
        .expect("sign list");
    case(
        "label revoked",
        good.file.clone(),
        Verifier::new(pki.roots_pem().as_bytes(), &[], &[&revocation_file]).expect("verifier"),
        // Revocation holds whatever the time: even before it was revoked.
        issued_at + Duration::days(1),
        None,
        ReasonCode::RevokedLabel,
    );
    // --- firmware ---
    case(
        "firmware digest mismatch",
        good.file.clone(),
        verifier(),
        at,
        Some(b"acme camera firmware 1.4.3, patched by someone"),
        ReasonCode::FirmwareMismatch,
    );
    // --- report ---
    cases.push(Case {
        name: "report edited after issue",
        label: good.file.clone(),
        verifier: verifier(),
        at,
        firmware: Some(FIRMWARE.to_vec()),
        report: Some(b"report, all PASS".to_vec()),
        expected: ReasonCode::ReportMismatch,
    });

    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = case.verifier.verify_with(
            &case.label,
            case.at,
            VerifyOptions {
                firmware: case.firmware.as_deref().map(FirmwareCheck::Image),
                report: case.report.as_deref().map(ReportCheck::Bytes),
            },
        );
        match outcome {
            Err(rejection) if rejection.code == case.expected => {
                println!("{:<50} {rejection}", case.name);
                seen.insert(rejection.code.as_str());
            }
            other => failures.push(format!(
                "{}: expected {}, got {:?}",
                case.name,
                case.expected,
                other.map(|_| "a valid label")
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let all: BTreeSet<&str> = ReasonCode::ALL.iter().map(|code| code.as_str()).collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "reason codes no forgery reached: {missing:?}"
    );
}
