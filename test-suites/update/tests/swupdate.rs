//! The update suite against Debian's real SWUpdate in check mode (`swupdate -c`), with
//! images made by openssl and GNU cpio as a manufacturer would: every insecure setup is
//! found, the secure one passes. Needs `swupdate`, `openssl` and `cpio` (scripts/test
//! installs them).

mod common;

use common::{make_pki, run, run_suite};
use iotcert_suite::Verdict;
use iotcert_suite_update::checks;
use std::path::Path;
use std::time::Duration;

/// SWUpdate instances share fixed IPC sockets in /tmp: one test runs it at a time.
static ONE_SWUPDATE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Makes `NAME.swu` installing `version`, signed by `acme` (CMS, as SWUpdate documents).
fn make_swu(dir: &Path, name: &str, version: &str) {
    let work = dir.join(name);
    std::fs::create_dir_all(&work).unwrap();
    let payload: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(work.join("rootfs.img"), &payload).unwrap();
    let sha256 = iotcert_suite_update::sha256_hex(&payload);
    let description = format!(
        "software =\n{{\n\tversion = \"{version}\";\n\tdescription = \"Acme camera\";\n\thardware-compatibility: [ \"1.0\" ];\n\timages: (\n\t\t{{\n\t\t\tfilename = \"rootfs.img\";\n\t\t\tdevice = \"/dev/null\";\n\t\t\ttype = \"raw\";\n\t\t\tsha256 = \"{sha256}\";\n\t\t}}\n\t);\n}}\n"
    );
    std::fs::write(work.join("sw-description"), description).unwrap();
    let signer = dir.join("acme.pem");
    let key = dir.join("acme.key");
    run(
        "openssl",
        &[
            "cms",
            "-sign",
            "-in",
            "sw-description",
            "-out",
            "sw-description.sig",
            "-signer",
            signer.to_str().unwrap(),
            "-inkey",
            key.to_str().unwrap(),
            "-outform",
            "DER",
            "-nosmimecap",
            "-binary",
        ],
        &work,
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &format!("printf 'sw-description\\nsw-description.sig\\nrootfs.img\\n' | cpio -o -H crc > ../{name}.swu")])
        .current_dir(&work)
        .output()
        .expect("cpio runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The command channel runs `swupdate -c` through `sh`: Debian's 2022.12 build sometimes
/// exits 1 after a successful check (about one run in eight here, with "SWUPDATE
/// successful" printed), so its success line is the oracle; a refused image never prints it.
fn profile(trust_file: &str, downgrade_protection: bool) -> String {
    let no_downgrade = if downgrade_protection {
        r#""-N", "2.0.0","#
    } else {
        ""
    };
    format!(
        r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "2.0.0"

[[units]]
id = "swupdate"
address = "127.0.0.1"

[update]
format = "swu"
genuine_image = "genuine.swu"
genuine_version = "2.0.0"
signer_certificate = "acme-ca.pem"
older_image = "older.swu"
older_version = "1.0.0"
settle_seconds = 0
untrusted_signers = [{{ key = "dev.key", certificate = "dev.pem", description = "the development key" }}]

[update.trusted_test_signer]
key = "acme.key"
certificate = "acme.pem"
ca_key = "acme-ca.key"
ca_certificate = "acme-ca.pem"

[update.delivery]
kind = "command"
program = "sh"
args = ["-c", "swupdate \"$@\" > \"$0.log\" 2>&1; status=$?; grep -q 'SWUPDATE successful' \"$0.log\" || exit $status", "{{image}}", "-c", "-H", "acme:1.0", "-k", "{trust_file}", {no_downgrade} "-i", "{{image}}"]
timeout_seconds = 60
"#
    )
}

#[tokio::test]
async fn swupdate_secure_passes_and_every_insecure_setup_is_found() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    make_pki(dir, "acme");
    make_pki(dir, "dev");
    make_swu(dir, "genuine", "2.0.0");
    make_swu(dir, "older", "1.0.0");
    let both = [
        std::fs::read(dir.join("acme-ca.pem")).unwrap(),
        std::fs::read(dir.join("dev-ca.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("acme-and-dev-ca.pem"), both).unwrap();
    let acme_ca = dir.join("acme-ca.pem");
    let acme_and_dev = dir.join("acme-and-dev-ca.pem");
    let limit = Duration::from_secs(300);

    // Secure: the manufacturer's CA only, no downgrade below the installed 2.0.0.
    let secure = run_suite(&profile(acme_ca.to_str().unwrap(), true), dir, limit).await;
    secure.dump();
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::GENUINE_IMAGE,
    ] {
        assert_eq!(
            secure.verdict(check, "swupdate"),
            Verdict::Pass,
            "secure setup, {check}"
        );
    }
    let untrusted = secure.attempts(checks::UNTRUSTED_SIGNER, "swupdate");
    let names: Vec<&str> = untrusted
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attack"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "foreign-signer",
            "expired-signer",
            "wrong-purpose-signer",
            "declared-untrusted-key"
        ]
    );

    // Insecure: the development CA is trusted too.
    let extra_key = run_suite(&profile(acme_and_dev.to_str().unwrap(), true), dir, limit).await;
    extra_key.dump();
    assert_eq!(
        extra_key.verdict(checks::UNTRUSTED_SIGNER, "swupdate"),
        Verdict::Fail
    );
    assert!(extra_key
        .result(checks::UNTRUSTED_SIGNER, "swupdate")
        .summary
        .contains("declared-untrusted-key"));
    assert_eq!(
        extra_key.verdict(checks::TAMPERED_IMAGE, "swupdate"),
        Verdict::Pass
    );

    // Insecure: no downgrade protection.
    let no_downgrade = run_suite(&profile(acme_ca.to_str().unwrap(), false), dir, limit).await;
    no_downgrade.dump();
    assert_eq!(
        no_downgrade.verdict(checks::ROLLBACK, "swupdate"),
        Verdict::Fail
    );
    assert_eq!(
        no_downgrade.verdict(checks::UNSIGNED_IMAGE, "swupdate"),
        Verdict::Pass
    );
}

/// The third insecure setup, "no key", cannot be made with Debian's build: it is compiled
/// for signed images and refuses to start without `-k`.
#[tokio::test]
async fn debian_swupdate_cannot_run_without_a_key() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let output = std::process::Command::new("swupdate")
        .args(["-c", "-i", "/nonexistent.swu"])
        .output()
        .expect("swupdate is installed (scripts/test installs it)");
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&[output.stdout, output.stderr].concat()).into_owned();
    assert!(text.contains("built for signed images"), "{text}");
}

/// The `serve` channel over HTTPS: the device (curl, then SWUpdate) pulls each image
/// from the suite's loopback server, trusting the server's certificate (`{ca}`).
#[tokio::test]
async fn swupdate_pulling_from_the_https_update_server() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    make_pki(dir, "acme");
    make_pki(dir, "dev");
    make_swu(dir, "genuine", "2.0.0");
    make_swu(dir, "older", "1.0.0");
    let pulled = dir.join("pulled.swu");
    let script = format!(
        "rm -f {pulled}.log; curl -sSf --max-time 20 --cacert {{ca}} -o {pulled} {{url}} && swupdate -c -H acme:1.0 -k {ca} -N 2.0.0 -i {pulled} > {pulled}.log 2>&1; grep -q 'SWUPDATE successful' {pulled}.log",
        pulled = pulled.display(),
        ca = dir.join("acme-ca.pem").display()
    );
    let command_profile = profile("unused", true);
    let (head, _) = command_profile.split_once("[update.delivery]").unwrap();
    let serve_profile = format!(
        "{head}[update.delivery]\nkind = \"serve\"\ntls = true\ntimeout_seconds = 60\ntrigger = {{ program = \"sh\", args = [\"-c\", {script:?}] }}\n"
    );
    let run = run_suite(&serve_profile, dir, Duration::from_secs(300)).await;
    run.dump();
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::GENUINE_IMAGE,
    ] {
        assert_eq!(run.verdict(check, "swupdate"), Verdict::Pass, "{check}");
    }
    let genuine = run.attempts(checks::GENUINE_IMAGE, "swupdate");
    assert!(
        genuine[0]["channel_answer"]
            .as_str()
            .unwrap()
            .contains("image fetched"),
        "{genuine:#}"
    );
}
