//! The label lifecycle through the real binary: a throw-away PKI, a campaign, issue,
//! offline verify (valid, wrong firmware, expired, revoked), retest with a successor,
//! the retest queue, and a refusal that names every blocking check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{campaign_id, iotcert, profile_text};
use std::path::Path;
use std::process::Output;

const SCHEME: &str = r#"[scheme]
id = "test-scheme"
name = "test scheme"
version = 1
label_lifetime_months = 12

[[level]]
number = 1
name = "Baseline"
suites = ["ext"]
"#;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Run a campaign of the external test suite on a profile that names `fw.bin`.
fn campaign(dir: &Path, data: &Path, args: &[&str]) -> String {
    let profile = dir.join(format!("profile-{}.toml", args.len()));
    let text = profile_text("127.0.0.1", args).replace(
        "firmware_version = \"1\"\n",
        "firmware_version = \"1\"\nfirmware_image = \"fw.bin\"\n",
    );
    std::fs::write(&profile, text).unwrap();
    let run = iotcert(data).arg("run").arg(&profile).output().unwrap();
    campaign_id(&String::from_utf8_lossy(&run.stderr)).unwrap()
}

#[test]
fn issue_verify_revoke_retest_and_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    std::fs::write(d.join("fw.bin"), b"firmware v1").unwrap();
    std::fs::write(d.join("other.bin"), b"firmware v2").unwrap();
    std::fs::write(d.join("scheme.toml"), SCHEME).unwrap();
    let pki = iotcert(&data)
        .args(["pki", "init", "--dir"])
        .arg(d.join("pki"))
        .output()
        .unwrap();
    assert_eq!(pki.status.code(), Some(0), "{}", text(&pki));
    let signing = |command: &mut std::process::Command| {
        command
            .arg("--key")
            .arg(d.join("pki/lab-signer.key.pem"))
            .arg("--cert")
            .arg(d.join("pki/lab-signer-chain.pem"))
            .arg("--scheme")
            .arg(d.join("scheme.toml"));
    };
    let verify = |label: &Path, extra: &[&str]| {
        let mut command = iotcert(&data);
        command
            .arg("verify")
            .arg(label)
            .arg("--roots")
            .arg(d.join("pki/scheme-root.pem"))
            .args(extra);
        command.current_dir(d).output().unwrap()
    };

    let good = campaign(d, &data, &[]);
    let mut issue = iotcert(&data);
    issue
        .args(["label", "issue", &good, "-o"])
        .arg(d.join("label"));
    signing(&mut issue);
    let issued = issue.output().unwrap();
    assert_eq!(issued.status.code(), Some(0), "{}", text(&issued));
    let label = d.join("label/label.json");
    assert!(d.join("label/label.svg").exists());

    let valid = verify(
        &label,
        &["--firmware", "fw.bin", "--crl", "pki/lab-ca.crl.pem"],
    );
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    assert!(text(&valid).starts_with("VALID"), "{}", text(&valid));
    let wrong = verify(&label, &["--firmware", "other.bin"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong).contains("INVALID (firmware-mismatch)"),
        "{}",
        text(&wrong)
    );
    let late = verify(&label, &["--at", "2099-01-01T00:00:00Z"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(
        text(&late).contains("label-expired") || text(&late).contains("signer"),
        "{}",
        text(&late)
    );
    let misuse = verify(&label, &["--at", "yesterday"]);
    assert_eq!(misuse.status.code(), Some(2), "{}", text(&misuse));

    let listed = iotcert(&data)
        .args(["label", "list", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();

    let mut retest = iotcert(&data);
    retest
        .args(["--quiet", "retest", &id, "-o"])
        .arg(d.join("successor"));
    signing(&mut retest);
    let renewed = retest.current_dir(d).output().unwrap();
    assert_eq!(renewed.status.code(), Some(0), "{}", text(&renewed));
    let successor: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("successor/label.json")).unwrap()).unwrap();
    assert!(successor.to_string().len() > 100);
    let due = iotcert(&data)
        .args(["label", "list", "--due", "400", "--json"])
        .output()
        .unwrap();
    let due: serde_json::Value = serde_json::from_slice(&due.stdout).unwrap();
    let due = due.as_array().unwrap();
    assert_eq!(
        due.len(),
        1,
        "the superseded label leaves the retest queue: {due:?}"
    );
    assert_eq!(due[0]["supersedes"], serde_json::json!(id));

    let mut revoke = iotcert(&data);
    revoke
        .args(["label", "revoke", &id, "--reason", "withdrawn", "-o"])
        .arg(d.join("revoked.json"));
    signing(&mut revoke);
    assert_eq!(revoke.output().unwrap().status.code(), Some(0));
    let revoked = verify(&label, &["--revoked", "revoked.json"]);
    assert_eq!(revoked.status.code(), Some(1));
    assert!(
        text(&revoked).contains("INVALID (revoked-label)"),
        "{}",
        text(&revoked)
    );

    let bad = campaign(d, &data, &["--mixed"]);
    let mut refuse = iotcert(&data);
    refuse
        .args(["label", "issue", &bad, "-o"])
        .arg(d.join("refused"));
    signing(&mut refuse);
    let refused = refuse.output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let why = text(&refused);
    assert!(
        why.contains("ext.beta") && why.contains("ext.gamma"),
        "{why}"
    );
    assert!(!d.join("refused/label.json").exists());
}

/// A level with a minimum budget is issued only when every measured result of the suite
/// reached it, and a refusal names the budget.
#[test]
fn a_minimum_budget_needs_the_recorded_effort() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    std::fs::write(d.join("fw.bin"), b"firmware v1").unwrap();
    std::fs::write(
        d.join("scheme.toml"),
        format!("{SCHEME}min_budget.ext = {{ cases = 100 }}\n"),
    )
    .unwrap();
    let pki = iotcert(&data)
        .args(["pki", "init", "--dir"])
        .arg(d.join("pki"))
        .output()
        .unwrap();
    assert_eq!(pki.status.code(), Some(0), "{}", text(&pki));
    let issue = |campaign: &str, out: &str| {
        iotcert(&data)
            .args(["label", "issue", campaign, "-o"])
            .arg(d.join(out))
            .arg("--key")
            .arg(d.join("pki/lab-signer.key.pem"))
            .arg("--cert")
            .arg(d.join("pki/lab-signer-chain.pem"))
            .arg("--scheme")
            .arg(d.join("scheme.toml"))
            .output()
            .unwrap()
    };

    let little = campaign(d, &data, &["--effort", "50"]);
    let refused = issue(&little, "little");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("100 cases"), "{}", text(&refused));
    assert!(!d.join("little/label.json").exists());

    let enough = campaign(d, &data, &["--effort", "500"]);
    let issued = issue(&enough, "enough");
    assert_eq!(issued.status.code(), Some(0), "{}", text(&issued));
    assert!(d.join("enough/label.json").exists());
}
