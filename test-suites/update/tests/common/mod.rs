//! Test kit for the update suite: run the suite on a profile and collect its results,
//! and make the PKI and images the tests need with the `openssl` CLI (tests only).
#![allow(dead_code, unused_imports)] // each test binary uses its own subset of the kit

use iotcert_suite::Profile;
use iotcert_suite_update::UpdateSuite;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What one run of the suite produced: the test kit's run, plus the update suite's
/// attempt records.
pub struct Run(pub iotcert_suite_testkit::Run);

impl std::ops::Deref for Run {
    type Target = iotcert_suite_testkit::Run;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Run {
    /// The attempt records (JSON) of a check's evidence.
    pub fn attempts(&self, check: &str, unit: &str) -> serde_json::Value {
        self.evidence_json(check, unit, "attempts")
    }
}

/// Runs the suite as a campaign plans it, within `limit`.
pub async fn run_suite(profile_text: &str, profile_dir: &Path, limit: Duration) -> Run {
    let profile = Profile::from_toml_str(profile_text).expect("test profile parses");
    let suite = UpdateSuite::new(profile_dir);
    Run(iotcert_suite_testkit::run_planned(&suite, profile, limit).await)
}

/// Runs a command, failing the test with its output if it fails.
pub use iotcert_suite_testkit::command_output as run;

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
