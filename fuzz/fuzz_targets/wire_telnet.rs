//! Telnet streams reach the shared incremental decoder (`iotcert_wire::telnet`) in reads
//! split wherever the network split them. It may never panic, never make more text than
//! it was given, and must decode a stream cut anywhere (even inside `IAC DO 24` or a
//! subnegotiation) exactly as the whole stream.
#![no_main]
use iotcert_wire::telnet::{Command, Decoder, MAX_SUBNEGOTIATION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose where the stream is cut.
    let (cut, stream) = match data {
        [high, low, rest @ ..] => (usize::from(u16::from_be_bytes([*high, *low])), rest),
        _ => (0, data),
    };
    let whole = Decoder::new().feed(stream);
    assert!(whole.text.len() <= stream.len(), "more text than bytes");
    for command in &whole.commands {
        if let Command::Subnegotiation { data, .. } = command {
            assert!(
                data.len() <= MAX_SUBNEGOTIATION,
                "subnegotiation over its cap"
            );
        }
    }
    let (first, second) = stream.split_at(cut.min(stream.len()));
    let mut decoder = Decoder::new();
    let mut split = decoder.feed(first);
    let rest = decoder.feed(second);
    split.text.extend(rest.text);
    split.commands.extend(rest.commands);
    assert_eq!(
        split, whole,
        "a cut stream decoded otherwise than the whole"
    );
});
