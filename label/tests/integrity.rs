//! Label integrity (issue 14): key usage on every certificate of the path, revocation
//! lists that count only for their own lab's key and chain, duplicate JSON keys, the
//! revocation status of a valid label, the report a label binds, and the one JSON
//! object per label that bulk verification prints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use iotcert_label::pki::{pem_block, SignerUsage, Validity};
use iotcert_label::{
    FirmwareCheck, LabelSigner, ReasonCode, RevocationList, RevocationReason, Verifier,
};
use rcgen::KeyUsagePurpose::{CrlSign, DigitalSignature, KeyCertSign};
use time::Duration;

fn at() -> time::OffsetDateTime {
    t0() + Duration::days(10)
}

/// Verify `label` at [`at`] and return the rejection code, or `None` when valid.
fn code(
    verifier: &Verifier,
    label: &[u8],
    firmware: Option<FirmwareCheck<'_>>,
) -> Option<ReasonCode> {
    verifier
        .verify(label, at(), firmware)
        .err()
        .map(|rejection| {
            println!("{rejection}");
            rejection.code
        })
}

fn key_usage_label(usages: KeyUsages) -> (KeyUsagePki, Vec<u8>, Verifier) {
    let pki = KeyUsagePki::new(usages);
    let statement = issue_at(&TestPki::new(), t0()).statement;
    let label = pki.sign(&statement);
    let verifier = Verifier::new(pki.root_pem.as_bytes(), &[], &[]).expect("verifier");
    (pki, label, verifier)
}

// --- 1. key usage -------------------------------------------------------------------

#[test]
fn a_chain_with_conforming_key_usage_verifies() {
    let (_, label, verifier) = key_usage_label(KeyUsages::conforming());
    assert_eq!(code(&verifier, &label, None), None);
    // RFC 5280 section 4.2.1.3: without a keyUsage extension a key may be used for
    // anything its other extensions allow.
    let (_, label, verifier) = key_usage_label(KeyUsages {
        root: vec![],
        ca: vec![],
        signer: vec![],
    });
    assert_eq!(code(&verifier, &label, None), None);
}

#[test]
fn a_lab_ca_without_key_cert_sign_cannot_certify_a_signer() {
    for ca in [
        vec![DigitalSignature],
        vec![CrlSign],
        vec![DigitalSignature, CrlSign],
    ] {
        let (_, label, verifier) = key_usage_label(KeyUsages {
            ca,
            ..KeyUsages::conforming()
        });
        assert_eq!(code(&verifier, &label, None), Some(ReasonCode::KeyUsage));
    }
}

#[test]
fn a_root_without_key_cert_sign_cannot_certify_a_lab_ca() {
    let (_, label, verifier) = key_usage_label(KeyUsages {
        root: vec![CrlSign],
        ..KeyUsages::conforming()
    });
    assert_eq!(code(&verifier, &label, None), Some(ReasonCode::KeyUsage));
}

#[test]
fn a_signer_whose_key_usage_lacks_digital_signature_cannot_sign_labels() {
    for signer in [
        vec![KeyCertSign],
        vec![rcgen::KeyUsagePurpose::KeyEncipherment],
    ] {
        let (pki, label, verifier) = key_usage_label(KeyUsages {
            signer,
            ..KeyUsages::conforming()
        });
        assert_eq!(code(&verifier, &label, None), Some(ReasonCode::KeyUsage));
        // The lab finds out when it loads the key, not from a buyer.
        let chain = format!(
            "{}{}",
            pem_block("CERTIFICATE", &pki.signer_der),
            pem_block("CERTIFICATE", &pki.ca_der)
        );
        assert!(matches!(
            LabelSigner::from_pem(pki.signer_key_pem.as_bytes(), chain.as_bytes()),
            Err(iotcert_label::SignerError::KeyUsage)
        ));
    }
}

#[test]
fn a_crl_of_a_ca_without_crl_sign_decides_nothing() {
    let pki = KeyUsagePki::new(KeyUsages {
        ca: vec![KeyCertSign],
        ..KeyUsages::conforming()
    });
    let label = pki.sign(&issue_at(&TestPki::new(), t0()).statement);
    let empty = pki.ca_crl(&[]);
    let revoking = pki.ca_crl(std::slice::from_ref(&pki.signer_serial));
    for crl in [empty, revoking] {
        let verifier = Verifier::new(pki.root_pem.as_bytes(), &[&crl], &[]).expect("verifier");
        assert_eq!(
            code(&verifier, &label, None),
            Some(ReasonCode::RevocationUnknown)
        );
    }
    // The same CA with cRLSign: its CRL counts.
    let pki = KeyUsagePki::new(KeyUsages::conforming());
    let label = pki.sign(&issue_at(&TestPki::new(), t0()).statement);
    let revoking = pki.ca_crl(std::slice::from_ref(&pki.signer_serial));
    let verifier = Verifier::new(pki.root_pem.as_bytes(), &[&revoking], &[]).expect("verifier");
    assert_eq!(
        code(&verifier, &label, None),
        Some(ReasonCode::RevokedCertificate)
    );
}

/// OpenSSL refuses the chain our verifier refuses, for the reason it names, and
/// accepts the conforming one. Needs the `openssl` command (fails, never skips,
/// without it).
#[test]
fn openssl_agrees_on_key_cert_sign() {
    for (ca, openssl_accepts) in [
        (vec![KeyCertSign, CrlSign], true),
        (vec![DigitalSignature], false),
    ] {
        let pki = KeyUsagePki::new(KeyUsages {
            ca,
            ..KeyUsages::conforming()
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let root = write("root.pem", &pki.root_pem);
        let ca = write("ca.pem", &pem_block("CERTIFICATE", &pki.ca_der));
        let signer = write("signer.pem", &pem_block("CERTIFICATE", &pki.signer_der));
        let output = openssl_verify(&root, &ca, &signer);
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.success(), openssl_accepts, "{text}");
        if !openssl_accepts {
            assert!(
                text.contains("key usage does not include certificate signing"),
                "{text}"
            );
        }
    }
}

fn openssl_verify(root: &Path, ca: &Path, signer: &Path) -> std::process::Output {
    Command::new("openssl")
        .arg("verify")
        .arg("-attime")
        .arg(at().unix_timestamp().to_string())
        .arg("-CAfile")
        .arg(root)
        .arg("-untrusted")
        .arg(ca)
        .arg(signer)
        .output()
        .expect("run openssl (the openssl command is needed)")
}

// --- 2. revocation lists count for their own lab's key and chain -------------------

fn revocation_list(label_id: uuid::Uuid, signer: &LabelSigner) -> Vec<u8> {
    let mut list = RevocationList::new(t0());
    list.revoke(
        label_id,
        RevocationReason::KeyCompromise,
        t0() + Duration::days(2),
    )
    .expect("revoke");
    list.sign(signer, t0() + Duration::days(2)).expect("sign")
}

#[test]
fn another_lab_ca_cannot_revoke_a_label_by_copying_the_lab_subject() {
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let label_id = label.statement.predicate.label_id;
    // A second lab CA under the same scheme root certifies a key under the victim
    // lab's exact subject, and revokes the victim's label with it.
    let rogue_ca = pki
        .root
        .issue_intermediate(
            "Rogue Lab CA",
            Validity::starting(t0() - Duration::days(365), Duration::days(1825)),
        )
        .expect("rogue CA");
    let impostor = rogue_ca
        .issue_signer(
            LAB,
            Validity::starting(t0() - Duration::days(30), Duration::days(730)),
            SignerUsage::LabelSigning,
        )
        .expect("impostor");
    let impostor = LabelSigner::from_pem(
        impostor.key_pem.as_bytes(),
        impostor.chain_pem(&[&rogue_ca]).as_bytes(),
    )
    .expect("impostor signer");
    assert_eq!(impostor.subject(), pki.label_signer().subject());
    let forged = revocation_list(label_id, &impostor);
    let verifier = Verifier::new(pki.roots_pem().as_bytes(), &[], &[&forged]).expect("verifier");
    assert_eq!(code(&verifier, &label.file, None), None);

    // The lab's own list still revokes it, next to the forged one.
    let genuine = revocation_list(label_id, &pki.label_signer());
    let verifier =
        Verifier::new(pki.roots_pem().as_bytes(), &[], &[&forged, &genuine]).expect("verifier");
    assert_eq!(
        code(&verifier, &label.file, None),
        Some(ReasonCode::RevokedLabel)
    );
}

#[test]
fn a_lab_revokes_with_a_new_key_its_own_ca_certified() {
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    // Key rotation: the same lab CA certifies a new key for the same lab.
    let rotated = pki
        .lab_ca
        .issue_signer(
            LAB,
            Validity::starting(t0(), Duration::days(730)),
            SignerUsage::LabelSigning,
        )
        .expect("rotated");
    let rotated = LabelSigner::from_pem(
        rotated.key_pem.as_bytes(),
        rotated.chain_pem(&[&pki.lab_ca]).as_bytes(),
    )
    .expect("rotated signer");
    assert_ne!(rotated.key_id(), pki.label_signer().key_id());
    let list = revocation_list(label.statement.predicate.label_id, &rotated);
    let verifier = Verifier::new(pki.roots_pem().as_bytes(), &[], &[&list]).expect("verifier");
    assert_eq!(
        code(&verifier, &label.file, None),
        Some(ReasonCode::RevokedLabel)
    );
}

// --- 3. duplicate keys --------------------------------------------------------------

#[test]
fn a_duplicate_key_in_the_signed_statement_is_refused_in_either_order() {
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let payload = label.statement.to_payload().expect("payload");
    let genuine = label.statement.firmware.sha256.as_str().to_owned();
    let other = "0".repeat(64);
    let verifier = pki.verifier();
    for digest in [
        format!(r#"{{"sha256":"{other}","sha256":"{genuine}"}}"#),
        format!(r#"{{"sha256":"{genuine}","sha256":"{other}"}}"#),
        // The same key spelled with escapes: one key once unescaped.
        format!(r#"{{"sha256":"{genuine}","sha\u0032\u0035\u0036":"{other}"}}"#),
    ] {
        let forged = forge_file(
            &payload_with_digest_text(&payload, &digest),
            &pki.signer.key_pem,
            &pki.chain_der(),
        );
        let rejection = verifier
            .verify(&forged, at(), Some(FirmwareCheck::Image(FIRMWARE)))
            .expect_err("a duplicate key is refused");
        println!("{rejection}");
        assert_eq!(rejection.code, ReasonCode::MalformedStatement);
        assert!(
            rejection.detail.contains("duplicate key \"sha256\""),
            "{rejection}"
        );
    }
}

#[test]
fn duplicate_keys_are_refused_anywhere_in_the_statement() {
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let text = String::from_utf8(label.statement.to_payload().expect("payload")).expect("utf-8");
    let check = "\"credentials.default-password\":";
    let suite = "\"credentials\":\"0.1.0\"";
    for (name, forged) in [
        (
            "a check given twice, FAIL first",
            text.replacen(
                check,
                &format!(r#"{check}{{"verdict":"FAIL","shall":["5.1-1"]}},{check}"#),
                1,
            ),
        ),
        (
            "a suite given twice",
            text.replacen(suite, &format!("{suite},{suite}"), 1),
        ),
        (
            "an unknown statement field given twice",
            text.replacen('{', r#"{"note":1,"note":2,"#, 1),
        ),
    ] {
        assert_ne!(forged, text, "{name}: the edit applies");
        let file = forge_file(forged.as_bytes(), &pki.signer.key_pem, &pki.chain_der());
        let rejection = pki.verifier().verify(&file, at(), None).expect_err(name);
        println!("{name}: {rejection}");
        assert_eq!(rejection.code, ReasonCode::MalformedStatement, "{name}");
        assert!(
            rejection.detail.contains("duplicate key"),
            "{name}: {rejection}"
        );
    }
}

#[test]
fn duplicate_keys_are_refused_in_the_file_and_in_revocation_lists() {
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let text = String::from_utf8(label.file.clone()).expect("utf-8");
    let file = text.replacen(
        "{\"format\":\"iotcert-label/v1\",",
        "{\"format\":\"iotcert-label/v1\",\"format\":\"iotcert-label/v1\",",
        1,
    );
    assert_ne!(file, text);
    let rejection = pki
        .verifier()
        .verify(file.as_bytes(), at(), None)
        .expect_err("duplicate format");
    assert_eq!(rejection.code, ReasonCode::Malformed);
    assert!(
        rejection.detail.contains("duplicate key \"format\""),
        "{rejection}"
    );

    let payload = format!(
        r#"{{"issued_at":"2026-03-03T09:00:00Z","entries":[{{"label_id":"{id}","reason":"withdrawn","reason":"superseded","revoked_at":"2026-03-03T09:00:00Z"}}]}}"#,
        id = label.statement.predicate.label_id
    );
    let signer = pki.label_signer();
    let signature = signer
        .sign_pae(
            iotcert_label::revocation::REVOCATION_PAYLOAD_TYPE,
            payload.as_bytes(),
        )
        .expect("sign");
    let list = serde_json::json!({
        "format": "iotcert-label-revocations/v1",
        "envelope": {
            "payload": iotcert_label::dsse::encode_base64(payload.as_bytes()),
            "payloadType": iotcert_label::revocation::REVOCATION_PAYLOAD_TYPE,
            "signatures": [{"keyid": signer.key_id(), "sig": iotcert_label::dsse::encode_base64(&signature)}],
        },
        "certificate_chain": pki.chain_der().iter().map(|der| iotcert_label::dsse::encode_base64(der)).collect::<Vec<_>>(),
    });
    let rejection = pki
        .verifier()
        .open_revocation_list(&bytes(&list))
        .expect_err("duplicate reason");
    assert_eq!(rejection.code, ReasonCode::MalformedStatement);
    assert!(
        rejection.detail.contains("duplicate key \"reason\""),
        "{rejection}"
    );
}

#[test]
fn a_crl_in_the_name_of_a_root_without_crl_sign_is_refused() {
    let pki = KeyUsagePki::new(KeyUsages {
        root: vec![KeyCertSign],
        ..KeyUsages::conforming()
    });
    let crl = pki.root_crl(&[]);
    assert!(matches!(
        Verifier::new(pki.root_pem.as_bytes(), &[&crl], &[]),
        Err(iotcert_label::SetupError::Crl(detail)) if detail.contains("cRLSign")
    ));
    // Its labels still verify without that CRL.
    let label = pki.sign(&issue_at(&TestPki::new(), t0()).statement);
    let verifier = Verifier::new(pki.root_pem.as_bytes(), &[], &[]).expect("verifier");
    assert_eq!(code(&verifier, &label, None), None);
}

// --- 6. a valid label says whether its revocation was checked -----------------------

#[test]
fn a_valid_label_says_whether_revocation_was_checked() {
    use iotcert_label::{RevocationCheck, RevocationSources};
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let label_id = label.statement.predicate.label_id;
    let status = |crls: &[&[u8]], lists: &[&[u8]]| {
        let verified = Verifier::new(pki.roots_pem().as_bytes(), crls, lists)
            .expect("verifier")
            .verify(&label.file, at(), None)
            .expect("valid");
        let json = serde_json::to_value(&verified).expect("JSON");
        (verified.revocation, verified.revocation_sources, json)
    };

    let (check, sources, json) = status(&[], &[]);
    assert_eq!(check, RevocationCheck::NotChecked);
    assert_eq!(json["revocation"], "not_checked");
    assert_eq!(
        json["revocation_sources"],
        serde_json::json!({"signer_crl": false, "lab_revocation_list": false})
    );
    assert_eq!(
        sources,
        RevocationSources {
            signer_crl: false,
            lab_revocation_list: false
        }
    );

    // The lab CA's CRL covers the signer certificate.
    let lab_ca_crl = pki
        .lab_ca
        .crl_der(&[], t0(), t0() + Duration::days(30))
        .expect("CRL");
    let (check, sources, json) = status(&[&lab_ca_crl], &[]);
    assert_eq!(check, RevocationCheck::Checked);
    assert_eq!(json["revocation"], "checked");
    assert!(sources.signer_crl && !sources.lab_revocation_list);

    // The root's CRL alone covers the lab CA, not the signer; another lab CA's CRL
    // covers nothing of this chain.
    let root_crl = pki
        .root
        .crl_der(&[], t0(), t0() + Duration::days(30))
        .expect("CRL");
    let other_crl = pki
        .root
        .issue_intermediate(
            "Other Lab CA",
            Validity::starting(t0() - Duration::days(365), Duration::days(1825)),
        )
        .expect("other CA")
        .crl_der(&[], t0(), t0() + Duration::days(30))
        .expect("CRL");
    assert_eq!(status(&[&root_crl], &[]).0, RevocationCheck::NotChecked);
    assert_eq!(status(&[&other_crl], &[]).0, RevocationCheck::NotChecked);

    // The lab's own list, revoking another label.
    let own = revocation_list(uuid::Uuid::new_v4(), &pki.label_signer());
    let (check, sources, _) = status(&[], &[&own]);
    assert_eq!(check, RevocationCheck::Checked);
    assert!(sources.lab_revocation_list && !sources.signer_crl);
    // Another lab's list decides nothing for this label.
    let other_lab = pki
        .lab_ca
        .issue_signer(
            iotcert_label::pki::SignerSubject {
                common_name: "Other Lab signing",
                organization: "Other Lab",
            },
            Validity::starting(t0() - Duration::days(1), Duration::days(365)),
            SignerUsage::LabelSigning,
        )
        .expect("other lab");
    let other_lab = LabelSigner::from_pem(
        other_lab.key_pem.as_bytes(),
        other_lab.chain_pem(&[&pki.lab_ca]).as_bytes(),
    )
    .expect("signer");
    let foreign = revocation_list(label_id, &other_lab);
    assert_eq!(status(&[], &[&foreign]).0, RevocationCheck::NotChecked);
    let (check, sources, _) = status(&[&lab_ca_crl], &[&own, &foreign]);
    assert_eq!(check, RevocationCheck::Checked);
    assert!(sources.signer_crl && sources.lab_revocation_list);
}

// --- 5. the report a label binds ---------------------------------------------------

#[test]
fn the_report_a_label_binds_is_checked_when_given() {
    use iotcert_label::{ReportCheck, VerifyOptions};
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    // facts() binds the report b"report".
    let report = b"report";
    let digest = iotcert_label::Sha256Hex::of(report).to_string();
    let verifier = pki.verifier();
    let check = |report: Option<ReportCheck<'_>>| {
        verifier.verify_with(
            &label.file,
            at(),
            VerifyOptions {
                firmware: Some(FirmwareCheck::Image(FIRMWARE)),
                report,
            },
        )
    };
    for matching in [
        ReportCheck::Bytes(report),
        ReportCheck::Sha256(&digest),
        ReportCheck::Sha256(&digest.to_ascii_uppercase()),
    ] {
        let verified = check(Some(matching)).expect("the report matches");
        assert!(verified.report_checked && verified.firmware_checked);
    }
    for mismatching in [
        ReportCheck::Bytes(b"report\n"),
        ReportCheck::Bytes(b""),
        ReportCheck::Sha256(&"0".repeat(64)),
        ReportCheck::Sha256("not a digest"),
    ] {
        let rejection = check(Some(mismatching)).expect_err("another report");
        println!("{rejection}");
        assert_eq!(rejection.code, ReasonCode::ReportMismatch);
    }
    let unchecked = check(None).expect("valid");
    assert!(!unchecked.report_checked);
    assert_eq!(
        verifier
            .verify(&label.file, at(), None)
            .map(|v| v.report_checked),
        Ok(false)
    );
}

// --- 23. many labels, one verifier, one JSON object each ----------------------------

#[test]
fn one_verifier_checks_many_labels_on_many_threads() {
    let labs = [TestPki::new(), TestPki::new()];
    let roots = format!("{}{}", labs[0].roots_pem(), labs[1].roots_pem());
    let labels: Vec<Vec<u8>> = (0..40)
        .map(|index| issue_at(&labs[index % 2], t0() + Duration::minutes(index as i64)).file)
        .collect();
    let verifier = Verifier::new(roots.as_bytes(), &[], &[]).expect("verifier");
    let valid = std::thread::scope(|scope| {
        let workers: Vec<_> = labels
            .chunks(10)
            .map(|chunk| {
                let verifier = &verifier;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter(|label| verifier.verify(label, at(), None).is_ok())
                        .count()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("worker"))
            .sum::<usize>()
    });
    assert_eq!(valid, labels.len());
}

#[test]
fn each_verdict_is_one_json_object() {
    use iotcert_label::VerdictRecord;
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let verifier = pki.verifier();

    let valid = verifier.verify(&label.file, at(), Some(FirmwareCheck::Image(FIRMWARE)));
    let line =
        serde_json::to_string(&VerdictRecord::new(Some("a.label.json"), &valid)).expect("JSON");
    assert!(!line.contains('\n'));
    let value: serde_json::Value = serde_json::from_str(&line).expect("one object");
    assert_eq!(value["file"], "a.label.json");
    assert_eq!(value["valid"], true);
    assert_eq!(
        value["label"]["statement"]["predicate"]["label_id"],
        label.statement.predicate.label_id.to_string()
    );
    assert_eq!(value["label"]["firmware_checked"], true);
    assert_eq!(value["label"]["revocation"], "not_checked");
    assert!(value.get("code").is_none());

    let expired = verifier.verify(&label.file, t0() + Duration::days(4000), None);
    let value =
        serde_json::to_value(VerdictRecord::new(Some("b.label.json"), &expired)).expect("JSON");
    assert_eq!(
        value,
        serde_json::json!({
            "file": "b.label.json",
            "valid": false,
            "code": "label-expired",
            "detail": expired.expect_err("expired").detail,
        })
    );
    let without_file = serde_json::to_value(VerdictRecord::new(None, &valid)).expect("JSON");
    assert!(without_file.get("file").is_none());
}
