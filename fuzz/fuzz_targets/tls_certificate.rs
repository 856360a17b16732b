//! Fuzz target: the TLS suite's certificate inspection (x509-parser fields, name
//! matching, webpki chain validation) over a chain of arbitrary bytes.
#![no_main]

use iotcert_suite_tls::certificate::{inspect, CertificateDer, ExpectedName, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into a leaf and an intermediate.
    let Some((&split, rest)) = data.split_first() else { return };
    let at = usize::from(split).min(rest.len());
    let (leaf, intermediate) = rest.split_at(rest.len() - at);
    let policy = Policy {
        anchors: vec![CertificateDer::from(intermediate.to_vec())],
        max_validity_days: 825,
        expected: ExpectedName::Dns("device.example".to_owned()),
    };
    let _ = inspect(&[leaf.to_vec(), intermediate.to_vec()], &policy, 1_700_000_000);
});
