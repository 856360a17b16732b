//! SWUpdate images come from manufacturers or attackers: reading the cpio, the
//! sw-description and the CMS signature of any bytes must never panic.
#![no_main]
use iotcert_suite_update::formats::swu::{self, Swu};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = swu::describe(data);
    let _ = swu::without_hashes(data);
    if let Ok(image) = Swu::read(data) {
        let _ = image.verify(&[]);
        let _ = image.bytes();
    }
});
