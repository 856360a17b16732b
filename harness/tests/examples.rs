//! Every example profile in `examples/` parses and stays in scope: the README points
//! readers at them, so a broken example is a broken promise.

use iotcert_suite::Profile;
use std::path::Path;

#[test]
fn every_example_profile_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let profile =
                Profile::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            iotcert::engine::check_scope(&profile)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example profiles found in {}", dir.display());
}

/// The testbed example profiles declare exactly what the virtual devices declare.
#[tokio::test]
async fn testbed_examples_match_the_virtual_devices() {
    use iotcert_testbed::DeviceConfig;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let cases = [
        (
            "testbed-secure.toml",
            DeviceConfig::secure("s", "127.78.9.1".parse().unwrap()),
        ),
        (
            "testbed-insecure.toml",
            DeviceConfig::insecure("i", "127.78.9.2".parse().unwrap()),
        ),
    ];
    for (file, config) in cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let profile = Profile::from_toml_str(&text).unwrap();
        let device = iotcert_testbed::start(config).await.unwrap();
        let key = |i: &iotcert_suite::profile::Interface| {
            (
                i.port,
                i.transport,
                i.service.clone(),
                i.tls,
                i.authentication,
            )
        };
        let mut declared: Vec<_> = device.declared_interfaces().iter().map(key).collect();
        let mut example: Vec<_> = profile.interfaces.iter().map(key).collect();
        declared.sort();
        example.sort();
        assert_eq!(example, declared, "{file} drifted from the testbed");
        device.shutdown().await;
    }
}

/// The example report documented in `report.rs` still matches the report type.
#[test]
fn example_report_matches_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/example-report.json");
    let text = std::fs::read_to_string(path).unwrap();
    let report: iotcert::report::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(report.schema, iotcert::report::REPORT_SCHEMA);
    assert!(!report.results.is_empty());
}
