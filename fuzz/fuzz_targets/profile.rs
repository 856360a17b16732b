//! Device profiles come from users and vendors: parsing any text must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = iotcert_suite::Profile::from_toml_str(text);
    }
});
