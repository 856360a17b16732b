//! `iotcert replay` reads a stored reproducer (JSON): parsing it, decoding its hex and
//! re-encoding its field tree must never panic, whatever the file holds.
#![no_main]

use iotcert_suite_protofuzz::node::Node;
use iotcert_suite_protofuzz::Reproducer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reproducer) = serde_json::from_slice::<Reproducer>(data) {
        let _ = reproducer.wire();
        let _ = reproducer.message.encode();
    }
    if let Ok(node) = serde_json::from_slice::<Node>(data) {
        let _ = node.simpler();
        let _ = node.runs();
    }
});
