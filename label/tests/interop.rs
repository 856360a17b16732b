//! DSSE interoperability (issue "Trust label", acceptance): securesystemslib, an
//! independent implementation, verifies the envelope of an iotcert label, and iotcert
//! verifies a label whose envelope securesystemslib signed over the PAE.
//!
//! The test installs `securesystemslib[crypto]` with pip when it is missing, and fails
//! (never skips) when it cannot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use iotcert_label::pki::pem_block;
use iotcert_label::statement::PAYLOAD_TYPE;
use iotcert_label::{dsse, FirmwareCheck, Sha256Hex};
use time::Duration;

fn python() -> String {
    std::env::var("IOTCERT_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/dsse_interop.py")
}

fn securesystemslib_present() -> bool {
    Command::new(python())
        .args([
            "-c",
            "import securesystemslib.dsse, securesystemslib.signer, cryptography",
        ])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Installs securesystemslib once per test process (the tests run in parallel).
fn ensure_securesystemslib() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(install_securesystemslib);
}

fn install_securesystemslib() {
    if securesystemslib_present() {
        return;
    }
    let install = Command::new(python())
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "securesystemslib[crypto]",
        ])
        .output()
        .expect("run pip");
    assert!(
        securesystemslib_present(),
        "securesystemslib[crypto] is missing and `{} -m pip install` could not install it:\n{}",
        python(),
        String::from_utf8_lossy(&install.stderr)
    );
}

fn run(arguments: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg(script())
        .args(arguments)
        .output()
        .expect("run the interop script")
}

#[test]
fn securesystemslib_verifies_an_iotcert_envelope() {
    ensure_securesystemslib();
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let dir = tempfile::tempdir().expect("tempdir");
    let envelope_path = dir.path().join("envelope.json");
    let key_path = dir.path().join("signer.pub.pem");
    let spki = x509_spki(&pki.signer.certificate_der);
    let keyid = dsse::key_id(&spki);
    std::fs::write(&key_path, pem_block("PUBLIC KEY", &spki)).expect("write key");

    let value = json(&label.file);
    std::fs::write(&envelope_path, bytes(&value["envelope"])).expect("write envelope");
    let output = run(&[
        "verify",
        envelope_path.to_str().expect("path"),
        key_path.to_str().expect("path"),
        &keyid,
    ]);
    assert!(
        output.status.success(),
        "securesystemslib refused our envelope: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let payload = dsse::decode_base64(value["envelope"]["payload"].as_str().expect("payload"))
        .expect("base64");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        Sha256Hex::of(&payload).as_str(),
        "securesystemslib saw another payload"
    );

    // And it is really checking: a changed payload type fails there too.
    let mut tampered = value["envelope"].clone();
    tampered["payloadType"] = serde_json::Value::from("application/json");
    std::fs::write(&envelope_path, bytes(&tampered)).expect("write envelope");
    let output = run(&[
        "verify",
        envelope_path.to_str().expect("path"),
        key_path.to_str().expect("path"),
        &keyid,
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "securesystemslib accepted a tampered envelope"
    );
}

#[test]
fn iotcert_verifies_an_envelope_securesystemslib_signed() {
    ensure_securesystemslib();
    let pki = TestPki::new();
    let statement = issue_at(&pki, t0()).statement;
    let payload = statement.to_payload().expect("payload");
    let dir = tempfile::tempdir().expect("tempdir");
    let payload_path = dir.path().join("statement.json");
    let key_path = dir.path().join("signer.key.pem");
    std::fs::write(&payload_path, &payload).expect("write payload");
    std::fs::write(&key_path, &pki.signer.key_pem).expect("write key");
    let keyid = dsse::key_id(&x509_spki(&pki.signer.certificate_der));

    let output = run(&[
        "sign",
        payload_path.to_str().expect("path"),
        PAYLOAD_TYPE,
        key_path.to_str().expect("path"),
        &keyid,
    ]);
    assert!(
        output.status.success(),
        "securesystemslib could not sign: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let envelope: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("an envelope from securesystemslib");

    // The signature over the PAE, checked on its own with the signer's key...
    let signature = dsse::decode_base64(envelope["signatures"][0]["sig"].as_str().expect("sig"))
        .expect("base64");
    let signed_payload =
        dsse::decode_base64(envelope["payload"].as_str().expect("payload")).expect("base64");
    let point = {
        use x509_parser::prelude::FromDer;
        let (_, certificate) =
            x509_parser::certificate::X509Certificate::from_der(&pki.signer.certificate_der)
                .expect("certificate");
        certificate.public_key().subject_public_key.data.to_vec()
    };
    assert!(dsse::verify_pae(
        &point,
        PAYLOAD_TYPE,
        &signed_payload,
        &signature
    ));
    assert!(!dsse::verify_pae(
        &point,
        "application/json",
        &signed_payload,
        &signature
    ));

    // ...and the whole label, the envelope exactly as securesystemslib wrote it.
    let label = bytes(&serde_json::json!({
        "format": "iotcert-label/v1",
        "envelope": envelope,
        "certificate_chain": pki.chain_der().iter().map(|der| dsse::encode_base64(der)).collect::<Vec<_>>(),
    }));
    let verified = pki
        .verifier()
        .verify(
            &label,
            t0() + Duration::days(1),
            Some(FirmwareCheck::Image(FIRMWARE)),
        )
        .expect("iotcert verifies the securesystemslib envelope");
    assert_eq!(verified.statement, statement);
}
