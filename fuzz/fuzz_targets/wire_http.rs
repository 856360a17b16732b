//! HTTP/1.x responses from devices reach the shared reader (`iotcert_wire::http`): the
//! head under its caps, the body by its framing under a cap, the chunked decoder. None
//! may panic or read past the input; a head's length is where its blank line ends (as
//! `head_end` finds it), heads keep within their header cap, and a body never decodes to
//! more than its cap or than the bytes it used.
#![no_main]
use iotcert_wire::http::{decode_chunked, head_end, parse_head, read_body, Limits};
use libfuzzer_sys::fuzz_target;

/// Tight caps, so the fuzzer reaches them with short inputs.
const SMALL: Limits = Limits {
    max_head_bytes: 256,
    max_line_bytes: 32,
    max_headers: 4,
};
const MAX_BODY: usize = 512;

fuzz_target!(|data: &[u8]| {
    for limits in [Limits::DEFAULT, SMALL] {
        let Some(head) = parse_head(data, &limits) else {
            continue;
        };
        assert!((100..=999).contains(&head.status));
        assert!(head.headers.len() <= limits.max_headers);
        let Some(length) = head.length else {
            continue;
        };
        assert!(length <= data.len().min(limits.max_head_bytes));
        assert_eq!(
            head_end(data),
            Some(length),
            "the head ends off its blank line"
        );
        let rest = data.get(length..).unwrap_or_default();
        if let Ok(body) = read_body(head.framing(), rest, MAX_BODY) {
            assert!(body.used <= rest.len());
            assert!(body.content.len() <= body.used.min(MAX_BODY));
        }
    }
    if let Ok(body) = decode_chunked(data, MAX_BODY) {
        assert!(body.used <= data.len());
        assert!(body.content.len() <= body.used.min(MAX_BODY));
    }
    if let Some(end) = head_end(data) {
        assert!(end <= data.len());
    }
});
