//! RAUC bundles come from manufacturers or attackers: reading the squashfs superblock,
//! the signature trailer and the CMS signature of any bytes must never panic.
#![no_main]
use iotcert_suite_update::cms;
use iotcert_suite_update::formats::rauc::Rauc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cms::verify(data, b"content", &[]);
    if let Ok(bundle) = Rauc::read(data) {
        let _ = bundle.verify(&[]);
    }
});
