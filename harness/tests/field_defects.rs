//! The command line as a newcomer, a procurement team and a hostile file meet it
//! (issue 14): exact label ids, the report a label binds, what verify did not check,
//! capped inputs, a closed pipe, a busy data directory, a profile path that still
//! resolves from elsewhere, RFC 3339 in machine output, completions and the man page,
//! and many labels verified in one call.
//!
//! Every test drives the real binary with the small external test suite, so a whole
//! campaign takes well under a second.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{campaign_id, iotcert, profile_text};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scheme whose one level needs only the external test suite.
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

/// A folder with a development PKI, a firmware image and a profile that names it.
struct Bench {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let data = root.join("data");
        std::fs::write(root.join("fw.bin"), b"firmware v1").unwrap();
        std::fs::write(root.join("scheme.toml"), SCHEME).unwrap();
        let pki = iotcert(&data)
            .args(["pki", "init", "--dir"])
            .arg(root.join("pki"))
            .output()
            .unwrap();
        assert_eq!(pki.status.code(), Some(0), "{}", text(&pki));
        Bench {
            _dir: dir,
            root,
            data,
        }
    }

    fn profile(&self, name: &str, args: &[&str]) -> PathBuf {
        let path = self.root.join(name);
        let text = profile_text("127.0.0.1", args).replace(
            "firmware_version = \"1\"\n",
            "firmware_version = \"1\"\nfirmware_image = \"fw.bin\"\n",
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    fn campaign(&self) -> String {
        let profile = self.profile("profile.toml", &[]);
        let run = iotcert(&self.data)
            .arg("run")
            .arg(&profile)
            .output()
            .unwrap();
        campaign_id(&String::from_utf8_lossy(&run.stderr))
            .unwrap_or_else(|| panic!("no campaign: {}", text(&run)))
    }

    fn signed(&self, command: &mut Command) -> Output {
        command
            .arg("--key")
            .arg(self.root.join("pki/lab-signer.key.pem"))
            .arg("--cert")
            .arg(self.root.join("pki/lab-signer-chain.pem"))
            .arg("--scheme")
            .arg(self.root.join("scheme.toml"))
            .output()
            .unwrap()
    }

    /// Issue a label for a fresh campaign into `out`; returns the label id.
    fn label(&self, out: &str) -> String {
        let campaign = self.campaign();
        let issued = self.signed(
            iotcert(&self.data)
                .args(["label", "issue", &campaign, "-o"])
                .arg(self.root.join(out)),
        );
        assert_eq!(issued.status.code(), Some(0), "{}", text(&issued));
        let listed = iotcert(&self.data)
            .args(["label", "list", "--json"])
            .output()
            .unwrap();
        let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["id"].as_str())
            .next_back()
            .unwrap()
            .to_owned()
    }

    fn verify(&self, labels: &[&Path], extra: &[&str]) -> Output {
        iotcert(&self.data)
            .arg("verify")
            .args(labels)
            .arg("--roots")
            .arg(self.root.join("pki/scheme-root.pem"))
            .args(extra)
            .current_dir(&self.root)
            .output()
            .unwrap()
    }
}

/// Item 4: `label revoke ""` revoked nothing yet said "label  revoked"; a prefix was
/// taken for a label id.
#[test]
fn revocation_needs_the_exact_label_id() {
    let bench = Bench::new();
    let id = bench.label("label");
    let revoke = |label: &str| {
        bench.signed(
            iotcert(&bench.data)
                .args(["label", "revoke", label, "--reason", "withdrawn", "-o"])
                .arg(bench.root.join("revoked.json")),
        )
    };
    let empty = revoke("");
    assert_eq!(empty.status.code(), Some(2), "{}", text(&empty));
    assert!(!text(&empty).contains("revoked ("), "{}", text(&empty));
    let prefix = revoke(&id[..8]);
    assert_eq!(prefix.status.code(), Some(2), "{}", text(&prefix));
    assert!(
        text(&prefix).contains(&id),
        "the error names the whole id: {}",
        text(&prefix)
    );
    assert!(!bench.root.join("revoked.json").exists());
    let exact = revoke(&id);
    assert_eq!(exact.status.code(), Some(0), "{}", text(&exact));
    assert!(
        text(&exact).contains(&format!("label {id} revoked")),
        "{}",
        text(&exact)
    );
}

/// Items 5 and 6: the label binds a report file that ships with it, `verify --report`
/// checks it, and verify says when revocation was not checked.
#[test]
fn the_label_binds_the_report_beside_it_and_verify_says_what_it_did_not_check() {
    let bench = Bench::new();
    bench.label("label");
    let label = bench.root.join("label/label.json");
    let report = bench.root.join("label/label-report.json");
    let report_bytes = std::fs::read(&report).expect("label-report.json is written");
    let verified = bench.verify(&[&label], &["--json"]);
    let verified: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(
        verified["label"]["statement"]["predicate"]["report_sha256"],
        serde_json::json!(hex_sha256(&report_bytes)),
        "the label binds the digest of the report file beside it: {verified}"
    );

    let checked = bench.verify(&[&label], &["--report", "label/label-report.json"]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked));
    assert!(
        text(&checked).contains("report matches"),
        "{}",
        text(&checked)
    );
    assert!(
        text(&checked).contains("revocation not checked"),
        "{}",
        text(&checked)
    );
    let json = bench.verify(&[&label], &["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["label"]["revocation"], "not_checked", "{json}");
    let with_crl = bench.verify(&[&label], &["--json", "--crl", "pki/lab-ca.crl.pem"]);
    let with_crl: serde_json::Value = serde_json::from_slice(&with_crl.stdout).unwrap();
    assert_eq!(with_crl["label"]["revocation"], "checked", "{with_crl}");

    let mut tampered = report_bytes.clone();
    tampered.extend_from_slice(b" ");
    std::fs::write(bench.root.join("tampered.json"), tampered).unwrap();
    let mismatch = bench.verify(&[&label], &["--report", "tampered.json"]);
    assert_eq!(mismatch.status.code(), Some(1), "{}", text(&mismatch));
    assert!(
        text(&mismatch).contains("INVALID (report-mismatch)"),
        "{}",
        text(&mismatch)
    );
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Item 9: `/dev/zero` as a label, roots or firmware grew to gigabytes before any
/// check; now each input is capped (firmware is hashed as a stream, and must be a file).
#[test]
fn endless_inputs_are_refused_within_a_small_memory_limit() {
    let bench = Bench::new();
    bench.label("label");
    let label = bench.root.join("label/label.json");
    let binary = env!("CARGO_BIN_EXE_iotcert");
    let roots = bench.root.join("pki/scheme-root.pem");
    let cases: [(&str, Vec<String>); 4] = [
        (
            "label",
            vec![
                "verify".into(),
                "/dev/zero".into(),
                "--roots".into(),
                roots.display().to_string(),
            ],
        ),
        (
            "roots",
            vec![
                "verify".into(),
                label.display().to_string(),
                "--roots".into(),
                "/dev/zero".into(),
            ],
        ),
        (
            "firmware",
            vec![
                "verify".into(),
                label.display().to_string(),
                "--roots".into(),
                roots.display().to_string(),
                "--firmware".into(),
                "/dev/zero".into(),
            ],
        ),
        ("profile", vec!["run".into(), "/dev/zero".into()]),
    ];
    for (what, args) in cases {
        // 512 MiB of address space: enough for the runtime, not for /dev/zero.
        let output = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 524288; exec \"$@\"")
            .arg("sh")
            .arg(binary)
            .args(&args)
            .env("IOTCERT_DATA_DIR", &bench.data)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{what}: {}", text(&output));
        assert!(
            text(&output).contains(what),
            "the error names the {what}: {}",
            text(&output)
        );
    }
}

/// Item 12: a reader that closes the pipe early (`| head -c 10`) made the binary panic
/// with exit 101; it now ends quietly.
#[test]
fn a_closed_standard_output_ends_quietly() {
    let bench = Bench::new();
    let campaign = bench.campaign();
    for args in [
        vec!["suites".to_owned()],
        vec!["show".to_owned(), campaign.clone(), "--json".to_owned()],
        vec!["diff".to_owned(), campaign.clone(), campaign.clone()],
        vec!["completions".to_owned(), "bash".to_owned()],
    ] {
        let mut child = iotcert(&bench.data)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close our end before the child writes a byte: its first write meets EPIPE.
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Item 13: a second command during a run failed with a doubled raw "could not acquire
/// lock … WouldBlock"; a writer is now told which campaign runs, and readers read.
#[test]
fn a_busy_data_directory_names_the_running_campaign_and_still_serves_readers() {
    let bench = Bench::new();
    let first = bench.campaign();
    let slow = bench.profile("slow.toml", &["--delay", "1.0"]);
    let mut running = iotcert(&bench.data)
        .args(["--quiet", "run"])
        .arg(&slow)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The run holds the directory once its holder note names a campaign.
    let holder = bench.data.join("holder.txt");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&holder)
        .map(|t| t.starts_with("campaign"))
        .unwrap_or(false)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let second = iotcert(&bench.data)
        .arg("run")
        .arg(bench.profile("other.toml", &[]))
        .output()
        .unwrap();
    let readers = [
        iotcert(&bench.data).args(["campaigns"]).output().unwrap(),
        iotcert(&bench.data)
            .args(["show", &first, "--json"])
            .output()
            .unwrap(),
        iotcert(&bench.data)
            .args(["label", "list"])
            .output()
            .unwrap(),
    ];
    let finished = running.wait().unwrap();
    assert!(finished.success() || finished.code() == Some(1));

    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("is in use by campaign"), "{said}");
    assert!(!said.contains("WouldBlock"), "{said}");
    assert_eq!(said.lines().count(), 1, "one sentence: {said}");
    for reader in readers {
        assert_eq!(reader.status.code(), Some(0), "{}", text(&reader));
    }
}

/// Item 15: `label issue` from another directory than the run's could not find the
/// firmware image the profile names relative to itself.
#[test]
fn a_label_is_issued_from_any_directory() {
    let bench = Bench::new();
    bench.profile("profile.toml", &[]);
    let run = iotcert(&bench.data)
        .args(["run", "profile.toml"])
        .current_dir(&bench.root)
        .output()
        .unwrap();
    let campaign = campaign_id(&String::from_utf8_lossy(&run.stderr)).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let issued = bench.signed(
        iotcert(&bench.data)
            .args(["label", "issue", &campaign, "-o", "out"])
            .current_dir(elsewhere.path()),
    );
    assert_eq!(issued.status.code(), Some(0), "{}", text(&issued));
    assert!(elsewhere.path().join("out/label.json").exists());
}

/// Item 18: machine output printed `2026-12-07 16:17:45.528 +00:00:00`; `due` was "".
#[test]
fn machine_output_gives_rfc_3339_times() {
    let bench = Bench::new();
    bench.label("label");
    let rfc3339 = |value: &serde_json::Value| {
        let text = value.as_str().unwrap_or_default();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"));
    };
    let campaigns = iotcert(&bench.data)
        .args(["campaigns", "--json"])
        .output()
        .unwrap();
    let campaigns: serde_json::Value = serde_json::from_slice(&campaigns.stdout).unwrap();
    rfc3339(&campaigns[0]["started_at"]);
    let labels = iotcert(&bench.data)
        .args(["label", "list", "--json"])
        .output()
        .unwrap();
    let labels: serde_json::Value = serde_json::from_slice(&labels.stdout).unwrap();
    for field in ["issued_at", "expires_at", "signer_valid_until"] {
        rfc3339(&labels[0][field]);
    }
    assert!(labels[0]["due"].is_null(), "{labels}");
    let verified = bench.verify(&[&bench.root.join("label/label.json")], &[]);
    let line = String::from_utf8_lossy(&verified.stdout).into_owned();
    let expires = line
        .split("expires ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_default()
        .to_owned();
    rfc3339(&serde_json::Value::String(expires));
}

/// Item 21: completions for three shells, a man page, and `--data-dir` only on the
/// commands that use a data directory.
#[test]
fn completions_and_a_man_page_are_generated() {
    let bench = Bench::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = iotcert(&bench.data)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(script.status.code(), Some(0), "{}", text(&script));
        let script = String::from_utf8_lossy(&script.stdout);
        assert!(
            script.contains("iotcert") && script.contains("verify"),
            "{shell}"
        );
    }
    let man = iotcert(&bench.data).arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH iotcert"),
        "{man}"
    );
    let help = |command: &str| {
        let output = iotcert(&bench.data)
            .args([command, "--help"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(help("run").contains("--data-dir"));
    assert!(!help("suites").contains("--data-dir"));
    assert!(!help("verify").contains("--data-dir"));
}

/// Item 23: many labels in one call, one JSON line each, exit 1 when any is invalid.
#[test]
fn many_labels_are_verified_in_one_call() {
    let bench = Bench::new();
    bench.label("a");
    bench.label("b");
    let forged = bench.root.join("forged.json");
    let mut bytes = std::fs::read(bench.root.join("a/label.json")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&forged, bytes).unwrap();
    let a = bench.root.join("a/label.json");
    let b = bench.root.join("b/label.json");

    let valid = bench.verify(&[&a, &b], &["--json"]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&valid.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["valid"] == true), "{lines:?}");
    assert_eq!(lines[1]["file"], serde_json::json!(b));

    let mixed = bench.verify(&[&a, &forged, &b], &["--json"]);
    assert_eq!(mixed.status.code(), Some(1), "{}", text(&mixed));
    let verdicts: Vec<bool> = String::from_utf8_lossy(&mixed.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["valid"] == true)
        .collect();
    assert_eq!(verdicts, [true, false, true]);
}
