//! External suites write JSON Lines the harness must parse: any line must be safe.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<iotcert_suite::SuiteEvent>(data);
    let _ = serde_json::from_slice::<iotcert_suite::SuiteDescriptor>(data);
});
