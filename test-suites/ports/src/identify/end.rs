//! Where a banner or a probe reply ends, judged from its bytes only.
//!
//! A version hides at the end of a banner as often as at its start (`SSH-2.0-` then,
//! 0.6 s later, `dropbear_2022.83`), so a pause in the stream proves nothing: the suite
//! reads until the protocol says the banner is whole (the SSH identification line's
//! line end, the final line of a `220` greeting, the end of an HTTP head and its
//! declared body, a login or shell prompt, a whole TLS record), or until its cap, and
//! says so. Only text the suite does not recognise, which has no protocol end to wait
//! for, may end at a line end followed by quiet. Pure, like the rest of [`super`].

use super::binary;
use super::telnet;
use super::{http, TcpProbe};
use iotcert_wire::http::{decode_chunked, Framing};

/// How far bytes received so far go towards a whole banner or reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The protocol's own end was reached; the text names it for the evidence.
    Whole(&'static str),
    /// Text of no protocol the suite knows that stops at a line end or a prompt: whole
    /// if nothing more comes during a pause.
    LineEnd,
    /// Not whole yet: keep reading (up to the cap or the time limit).
    Open,
}

/// Where an unprompted banner stands.
pub fn banner_progress(banner: &[u8]) -> Progress {
    if banner.is_empty() {
        return Progress::Open;
    }
    if let Some(ssh) = banner.strip_prefix(b"SSH-") {
        return if ssh.contains(&b'\n') {
            Progress::Whole("the line end of the SSH identification")
        } else {
            Progress::Open
        };
    }
    if iotcert_wire::telnet::starts_with_negotiation(banner) {
        return Progress::Whole("the telnet option negotiation");
    }
    if binary::tls_reply(banner).is_some() {
        return if tls_record_whole(banner) {
            Progress::Whole("the end of a TLS record")
        } else {
            Progress::Open
        };
    }
    if http::parse_response(banner).is_some() {
        return http_progress(banner);
    }
    let text = telnet::console_text(banner);
    if text.starts_with("220") {
        return greeting_progress(&text);
    }
    if text.contains("Open On-Chip Debugger") {
        return if text.trim_end_matches(' ').ends_with('>') {
            Progress::Whole("the OpenOCD prompt")
        } else {
            Progress::Open
        };
    }
    if telnet::looks_like_shell_prompt(&text) {
        return Progress::Whole("a shell prompt");
    }
    if ends_with_login_prompt(&text) {
        return Progress::Whole("a login prompt");
    }
    if is_text(banner) && (text.ends_with('\n') || ends_with_prompt(&text)) {
        return Progress::LineEnd;
    }
    Progress::Open
}

/// Where the reply to `probe` stands: the probe's own protocol first (an HTTP head and
/// its declared body, an MQTT CONNACK, an ADB message...), then the banner rules for a
/// service that answers a probe with its greeting.
pub fn reply_progress(probe: TcpProbe, reply: &[u8]) -> Progress {
    match probe {
        TcpProbe::Http | TcpProbe::Rtsp if http::parse_response(reply).is_some() => {
            return http_progress(reply);
        }
        TcpProbe::Tls if binary::tls_reply(reply).is_some() => {
            return if tls_record_whole(reply) {
                Progress::Whole("the end of a TLS record")
            } else {
                Progress::Open
            };
        }
        TcpProbe::Adb if binary::adb_reply(reply).is_some() => {
            // The CNXN payload (the device's banner) follows the 24-byte header.
            let declared = reply
                .get(12..16)
                .and_then(|word| <[u8; 4]>::try_from(word).ok())
                .map_or(0, |word| u32::from_le_bytes(word) as usize);
            return if reply.len() >= 24 + declared {
                Progress::Whole("the end of the ADB message")
            } else {
                Progress::Open
            };
        }
        _ => {}
    }
    if super::identify_probe_answer(probe, reply).is_some() {
        return Progress::Whole("a whole answer to the probe");
    }
    banner_progress(reply)
}

/// An HTTP-shaped answer: whole when the head ended and the body its framing declares
/// (its `Content-Length`, or the last chunk) arrived; a head without a declared length
/// ends with quiet or the server's close.
fn http_progress(bytes: &[u8]) -> Progress {
    let Some(response) = http::parse_response(bytes) else {
        return Progress::Open;
    };
    let Some(head_end) = response.head.length else {
        return Progress::Open;
    };
    let body = bytes.get(head_end..).unwrap_or_default();
    match response.head.framing() {
        Framing::Empty => Progress::Whole("the end of the HTTP head"),
        Framing::Length(length) if body.len() >= length => {
            Progress::Whole("the end of the HTTP head and its declared body")
        }
        Framing::Chunked if decode_chunked(body, body.len()).is_ok() => {
            Progress::Whole("the end of the HTTP head and its last chunk")
        }
        Framing::Length(_) | Framing::Chunked => Progress::Open,
        Framing::UntilClose => Progress::LineEnd,
    }
}

/// An FTP or SMTP greeting is whole at its final line: `220 ` (not `220-`) and a line end.
fn greeting_progress(text: &str) -> Progress {
    if !text.ends_with('\n') {
        return Progress::Open;
    }
    let final_line = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    if final_line.starts_with("220 ") || final_line == "220" {
        Progress::Whole("the line end of the final 220 greeting line")
    } else {
        Progress::Open
    }
}

/// True when a whole TLS record (header and the length it declares) arrived.
fn tls_record_whole(bytes: &[u8]) -> bool {
    match (bytes.get(3), bytes.get(4)) {
        (Some(&high), Some(&low)) => {
            bytes.len() >= 5 + usize::from(u16::from_be_bytes([high, low]))
        }
        _ => false,
    }
}

/// A last line asking for a user name or password (`cam login: `).
fn ends_with_login_prompt(text: &str) -> bool {
    let last_line = text.rsplit('\n').next().unwrap_or_default();
    ends_with_prompt(last_line) && telnet::asks_for_login(last_line)
}

/// A last line that waits for input: it ends with `: `, `> `, `# ` or `$ `.
fn ends_with_prompt(text: &str) -> bool {
    let trimmed = text.trim_end_matches(' ');
    trimmed.len() < text.len() && trimmed.ends_with([':', '>', '#', '$'])
}

/// True when the bytes read as text: printable ASCII or UTF-8, tabs and line ends,
/// telnet commands and ANSI escapes aside. Random bytes are not text.
pub fn is_text(bytes: &[u8]) -> bool {
    let shown = telnet::console_text(bytes);
    if shown.is_empty() {
        return false;
    }
    let odd = shown
        .chars()
        .filter(|&c| {
            c == char::REPLACEMENT_CHARACTER || (c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
        })
        .count();
    odd == 0
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // lengths of the tests' own small messages
mod tests {
    use super::*;

    #[test]
    fn a_banner_is_whole_only_at_its_protocol_end() {
        assert_eq!(banner_progress(b"S"), Progress::Open);
        assert_eq!(banner_progress(b"SSH-2.0-"), Progress::Open);
        assert!(matches!(
            banner_progress(b"SSH-2.0-dropbear_2022.83\r\n"),
            Progress::Whole(_)
        ));
        assert_eq!(banner_progress(b"220-Welcome\r\n"), Progress::Open);
        assert_eq!(banner_progress(b"220 ProFTPD 1.3.8 Ser"), Progress::Open);
        assert!(matches!(
            banner_progress(b"220-Welcome\r\n220 ProFTPD 1.3.8 Server\r\n"),
            Progress::Whole(_)
        ));
        assert_eq!(
            banner_progress(b"HTTP/1.1 200 OK\r\nServer: x\r\n"),
            Progress::Open
        );
        assert_eq!(
            banner_progress(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
            Progress::Open
        );
        assert!(matches!(
            banner_progress(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"),
            Progress::Whole(_)
        ));
        assert!(matches!(
            banner_progress(b"\r\nDebian GNU/Linux 12\r\ncam login: "),
            Progress::Whole(_)
        ));
        assert!(matches!(banner_progress(b"/ # "), Progress::Whole(_)));
        assert_eq!(
            banner_progress(b"Welcome to the device\r\n"),
            Progress::LineEnd
        );
        assert_eq!(banner_progress(b"Welcome to the dev"), Progress::Open);
        assert_eq!(banner_progress(&[0x16, 3, 3, 0, 40, 2]), Progress::Open);
    }

    #[test]
    fn garbage_is_never_whole() {
        let garbage: Vec<u8> = (0u32..1024)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(!is_text(&garbage));
        assert_eq!(banner_progress(&garbage), Progress::Open);
        let mut with_newline = garbage.clone();
        with_newline.push(b'\n');
        assert_eq!(banner_progress(&with_newline), Progress::Open);
    }

    #[test]
    fn probe_replies_end_with_their_protocol() {
        assert_eq!(
            reply_progress(TcpProbe::Http, b"HTTP/1.1 200 OK\r\nServer: nginx/1"),
            Progress::Open
        );
        assert!(matches!(
            reply_progress(TcpProbe::Mqtt, &[0x20, 2, 0, 5]),
            Progress::Whole(_)
        ));
        assert_eq!(
            reply_progress(TcpProbe::Http, b"HTTP/1.1 200 OK\r\n\r\nbody"),
            Progress::LineEnd
        );
        assert_eq!(reply_progress(TcpProbe::Gdb, b"SSH-2.0-x"), Progress::Open);
    }
}
