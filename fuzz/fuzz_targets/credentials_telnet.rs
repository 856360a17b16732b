//! A telnet stream reaches the credentials suite's decoder and screen classifier, in
//! chunks split wherever the network split them. Neither may panic, and the decoder
//! never makes more screen bytes than it was given.
#![no_main]
use iotcert_suite_credentials::parse::telnet::{classify, Negotiation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses where the stream is cut, so splits inside commands are tried.
    let (cut, stream) = match data.split_first() {
        Some((cut, rest)) => (usize::from(*cut), rest),
        None => (0, data),
    };
    let mut negotiation = Negotiation::default();
    let mut screen = Vec::new();
    let (first, second) = stream.split_at(cut.min(stream.len()));
    for chunk in [first, second] {
        let decoded = negotiation.feed(chunk);
        assert!(decoded.screen.len() <= chunk.len());
        screen.extend_from_slice(&decoded.screen);
        let _ = classify(&screen);
    }
    let _ = classify(stream);
});
