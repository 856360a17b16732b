//! The demo end to end, through the real binary: two virtual devices, every suite,
//! reports on disk, and verdicts that match each device's known flaws.

use std::path::Path;
use std::process::Command;

fn report(out: &Path, device: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join(device).join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn verdict<'a>(report: &'a serde_json::Value, check: &str) -> &'a serde_json::Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no result for {check}"))
}

#[test]
fn demo_passes_the_secure_device_and_flags_every_flaw_of_the_insecure_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_iotcert"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["demo", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("DEVICE") && stdout.contains("EN 303 645"),
        "{stdout}"
    );

    let secure = report(&out, "secure");
    for result in secure["results"].as_array().unwrap() {
        assert_eq!(result["verdict"], "PASS", "secure device: {result}");
    }
    let insecure = report(&out, "insecure");
    for check in [
        "ports.undeclared-open-port",
        "ports.cleartext-management",
        "ports.debug-interface",
        "ports.banner-disclosure",
    ] {
        let result = verdict(&insecure, check);
        assert_eq!(result["verdict"], "FAIL", "insecure device: {result}");
        assert!(
            !result["evidence"].as_array().unwrap().is_empty(),
            "{check} has evidence"
        );
    }
    assert!(verdict(&insecure, "ports.undeclared-open-port")["summary"]
        .as_str()
        .unwrap()
        .contains("5555"));
    assert!(verdict(&insecure, "ports.cleartext-management")["summary"]
        .as_str()
        .unwrap()
        .contains("2323"));
    for format in ["json", "md", "html"] {
        for device in ["secure", "insecure"] {
            assert!(out.join(device).join(format!("report.{format}")).exists());
        }
    }
    let html = std::fs::read_to_string(out.join("insecure/report.html")).unwrap();
    assert!(html.contains("ports.debug-interface") && html.contains("class=\"verdict FAIL\""));
}
