//! Device profiles come from users and vendors: parsing any text must never panic, nor
//! reading any suite's section of it (each suite owns its section's type and rules).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(profile) = iotcert_suite::Profile::from_toml_str(text) {
            let _ = profile.section::<iotcert_suite_ports::PortsOptions>();
            let _ = profile.section::<iotcert_suite_tls::TlsOptions>();
            let _ = profile.section::<iotcert_suite_update::UpdateOptions>();
            let _ = profile.section::<iotcert_suite_credentials::CredentialsOptions>();
            let _ = profile.section::<iotcert_suite_protofuzz::ProtofuzzOptions>();
        }
    }
});
