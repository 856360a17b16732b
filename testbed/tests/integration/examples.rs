//! The example profiles of the testbed's devices (`examples/testbed-*.toml`), which
//! README and the demo point users at, against what the devices declare.

use iotcert_suite::Profile;
use iotcert_testbed::DeviceConfig;
use std::path::Path;

/// The testbed example profiles declare exactly what the virtual devices declare.
#[tokio::test]
async fn testbed_examples_match_the_virtual_devices() {
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
