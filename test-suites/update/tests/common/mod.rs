//! Test kit for the update suite: run the suite on a profile and collect its results,
//! and make the PKI and images the tests need with the `openssl` CLI (tests only).
#![allow(dead_code)] // each test binary uses its own subset of the kit

use iotcert_suite::{run_alone, CheckResult, Profile, Verdict};
use iotcert_suite_update::UpdateSuite;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What one run of the suite produced.
pub struct Run {
    pub results: Vec<CheckResult>,
}

impl Run {
    pub fn result(&self, check: &str, unit: &str) -> &CheckResult {
        self.results
            .iter()
            .find(|r| r.check == check && r.unit.as_deref() == Some(unit))
            .unwrap_or_else(|| panic!("no result for {check} on {unit}"))
    }

    pub fn verdict(&self, check: &str, unit: &str) -> Verdict {
        self.result(check, unit).verdict
    }

    pub fn dump(&self) {
        for result in &self.results {
            eprintln!(
                "{} {} {}: {}",
                result.unit.as_deref().unwrap_or("-"),
                result.check,
                result.verdict,
                result.summary
            );
        }
    }

    /// The attempt records (JSON) of a check's evidence.
    pub fn attempts(&self, check: &str, unit: &str) -> serde_json::Value {
        let result = self.result(check, unit);
        let evidence = result
            .evidence
            .iter()
            .find(|e| e.label == "attempts")
            .expect("attempts evidence");
        serde_json::from_slice(&evidence.data).expect("attempts are JSON")
    }
}

/// Runs the suite with every check pending on every unit, within `limit`.
pub async fn run_suite(profile_text: &str, profile_dir: &Path, limit: Duration) -> Run {
    let profile = Profile::from_toml_str(profile_text).expect("test profile parses");
    let suite = UpdateSuite::new(profile_dir);
    let results = tokio::time::timeout(
        limit + Duration::from_secs(30),
        run_alone(&suite, profile, limit),
    )
    .await
    .expect("the suite returns before its deadline")
    .expect("the suite runs");
    Run { results }
}

/// Runs a command, failing the test with its output if it fails.
pub fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} cannot run ({e}); install it (scripts/test installs it)")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A CA (`NAME-ca.pem`, `NAME-ca.key`) and a signer it issued (`NAME.pem`, `NAME.key`,
/// PKCS#8, ECDSA P-256), with the e-mail protection and code signing purposes.
pub fn make_pki(dir: &Path, name: &str) {
    let ca_key = format!("{name}-ca.key");
    let ca_pem = format!("{name}-ca.pem");
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let pem = format!("{name}.pem");
    let ext = format!("{name}.ext");
    run(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &ca_key,
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &ca_key,
            "-subj",
            &format!("/O=Test/CN={name} CA"),
            "-days",
            "30",
            "-out",
            &ca_pem,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-subj",
            &format!("/O=Test/CN={name} signer"),
            "-out",
            &csr,
        ],
        dir,
    );
    std::fs::write(dir.join(&ext), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection,codeSigning\n").unwrap();
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &ext,
            "-out",
            &pem,
        ],
        dir,
    );
}
