//! HTTP and RTSP responses reach the credentials suite's parsers: the `WWW-Authenticate`
//! challenges of a head (answered with digest) and login forms. None may panic, loop or
//! allocate without bound, whatever the bytes. (The head and body framing themselves are
//! the wire crate's, fuzzed by `wire_http`.)
#![no_main]
use iotcert_suite_credentials::parse::http::{
    digest_authorization, find_login_form, has_password_field, parse_challenges, parse_head,
    DigestInput,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(head) = parse_head(data) {
        assert!(head.length.is_some_and(|length| length <= data.len()));
        for value in head.headers_named("www-authenticate") {
            for challenge in parse_challenges(value) {
                let input = DigestInput {
                    method: "GET",
                    uri: "/",
                    username: "admin",
                    password: "admin",
                    cnonce: "0a4f113b",
                    nonce_count: 1,
                };
                let _ = digest_authorization(&challenge, &input);
            }
        }
    }
    // The whole input as one header value, and as a page.
    for challenge in parse_challenges(&String::from_utf8_lossy(data)) {
        let _ = challenge.param("nonce");
    }
    let _ = find_login_form(data);
    let _ = has_password_field(data);
});
