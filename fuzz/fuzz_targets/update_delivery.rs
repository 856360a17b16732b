//! The update suite reads the HTTP answers of a device's update endpoint and its
//! version query (`delivery::parse_response`), and puts device text into its summaries
//! through `delivery::one_line`. Both take bytes the device chose: they may never
//! panic, a body is never longer than what arrived, and one line stays one short line.
#![no_main]
use iotcert_suite_update::delivery::{one_line, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((_status, body)) = parse_response(data) {
        assert!(body.len() <= data.len());
    }
    let line = one_line(&String::from_utf8_lossy(data));
    assert!(!line.contains('\n'), "one line with a line end");
    assert!(
        line.chars().count() <= 301,
        "one line over its 300 characters"
    );
});
