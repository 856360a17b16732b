//! The ports suite reads a banner or a probe reply until its bytes say it is whole
//! (`identify::end`): the SSH line end, the final `220 ` line, an HTTP head and its
//! declared or chunked body, a whole TLS record or ADB message, a prompt. A device
//! chooses every byte it sends, so these judgements may never panic, and must keep
//! their promises: an SSH banner is whole exactly at its line end, and only text (or
//! an HTTP head) may end at a line end followed by quiet.
#![no_main]
use iotcert_suite_ports::identify::end::{banner_progress, is_text, reply_progress, Progress};
use iotcert_suite_ports::identify::{http, identify_probe_answer, TcpProbe};
use libfuzzer_sys::fuzz_target;

/// What every judgement of `bytes` must keep, whichever probe drew them.
fn check(progress: Progress, bytes: &[u8], text: bool) {
    if progress == Progress::LineEnd {
        assert!(
            text || http::parse_response(bytes).is_some(),
            "bytes that are neither text nor HTTP end at a line end"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = is_text(data);
    if text {
        assert!(!data.is_empty(), "no bytes read as text");
    }
    let banner = banner_progress(data);
    check(banner, data, text);
    if data.starts_with(b"SSH-") {
        let whole = matches!(banner, Progress::Whole(_));
        assert_eq!(
            whole,
            data.contains(&b'\n'),
            "SSH banner whole off its line end"
        );
    }
    for probe in TcpProbe::ALL {
        let _ = identify_probe_answer(probe, data);
        check(reply_progress(probe, data), data, text);
    }
});
