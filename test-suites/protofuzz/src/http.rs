//! HTTP/1.1 cases and the HTTP oracle.
//!
//! Cases vary the request line (methods, very long or odd targets, unknown versions, bare
//! LF line ends), the headers (missing or duplicated Host, Content-Length that is
//! negative, huge, doubled or disagreeing with the body, chunked bodies with bad chunk
//! sizes, a header without a colon, very long names and values) and the body. Nearly
//! every case asks `Connection: close`, so the server ends the exchange itself.
//!
//! The oracle is `GET / HTTP/1.1` answered by anything starting `HTTP/`.

use crate::node::{bytes, run, seq, Node};
use crate::rng::Rng;
use iotcert_wire::http::{head_end, parse_head, Limits};

/// The probe request.
pub fn probe(host: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// A GET of the device's health endpoint `path`.
pub fn health_request(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Whether a health answer has arrived far enough to be judged: the head, and the
/// expected text once it appears (or the whole answer, when the server closes).
pub fn health_complete(reply: &[u8], expect: Option<&str>) -> bool {
    let expect = expect.filter(|text| !text.is_empty());
    head_complete(reply)
        && expect.is_none_or(|text| {
            reply
                .windows(text.len().max(1))
                .any(|w| w == text.as_bytes())
        })
}

/// Whether a health answer says the device is well: a 2xx status and, when given,
/// `expect` in the body. `Err` says what was wrong.
pub fn judge_health(reply: &[u8], expect: Option<&str>) -> Result<(), String> {
    let expect = expect.filter(|text| !text.is_empty());
    let Some(head_end) = head_end(reply).filter(|_| is_http(reply)) else {
        return Err(if reply.is_empty() {
            "no answer".to_owned()
        } else {
            format!(
                "not an HTTP answer: {}",
                iotcert_suite::evidence::escape_bytes(reply.get(..64).unwrap_or(reply))
            )
        });
    };
    let head = parse_head(reply, &Limits::DEFAULT);
    if !head.is_some_and(|head| (200..300).contains(&head.status)) {
        let status_line = reply.split(|&b| b == b'\n').next().unwrap_or_default();
        return Err(format!(
            "answered {}",
            String::from_utf8_lossy(status_line).trim_end()
        ));
    }
    let body = reply.get(head_end..).unwrap_or_default();
    match expect {
        Some(text)
            if !body
                .windows(text.len().max(1))
                .any(|w| w == text.as_bytes()) =>
        {
            Err(format!(
                "the answer no longer contains {text:?}: {}",
                iotcert_suite::evidence::escape_bytes(body.get(..96).unwrap_or(body))
            ))
        }
        _ => Ok(()),
    }
}

/// Whether `reply` is the start of an HTTP response.
pub fn is_http(reply: &[u8]) -> bool {
    reply.starts_with(b"HTTP/")
}

/// Whether a whole response head has arrived.
pub fn head_complete(reply: &[u8]) -> bool {
    head_end(reply).is_some()
}

const LONG: [u32; 6] = [256, 1024, 4096, 8192, 16_384, 65_536];

fn text(value: &str) -> Node {
    bytes(value.as_bytes().to_vec())
}

/// One mutated request for case `rng`.
pub fn generate(rng: &mut Rng) -> (String, Node) {
    let eol = if rng.chance(8) { "\n" } else { "\r\n" };
    let method = rng.pick(
        &[
            "GET", "GET", "POST", "HEAD", "PUT", "OPTIONS", "TRACE", "G\0T", "",
        ],
        "GET",
    );
    let target = match rng.below(8) {
        0 => seq(vec![text("/"), run(b'A', rng.pick(&LONG, 256))]),
        1 => text("/%00%ff/../../etc/passwd"),
        2 => text("*"),
        3 => text("http://[::1]:0/"),
        4 => text(""),
        _ => text("/"),
    };
    let version = rng.pick(
        &[
            "HTTP/1.1",
            "HTTP/1.1",
            "HTTP/1.0",
            "HTTP/9.9",
            "HTTP/1.1x",
            "",
            "HTTP/1.01",
        ],
        "HTTP/1.1",
    );
    let mut items = vec![
        text(method),
        text(" "),
        target,
        text(" "),
        text(version),
        text(eol),
    ];
    if !rng.chance(8) {
        items.push(text(&format!("Host: iotcert{eol}")));
    }
    let mut body = Vec::new();
    let what = match rng.below(6) {
        0 => {
            let value = rng.pick(
                &[
                    "-1",
                    "18446744073709551616",
                    "1, 2",
                    "0x10",
                    " 4",
                    "99999999",
                ],
                "-1",
            );
            items.push(text(&format!("Content-Length: {value}{eol}")));
            body = b"abcd".to_vec();
            "content-length"
        }
        1 => {
            items.push(text(&format!("Transfer-Encoding: chunked{eol}")));
            let size = rng.pick(&["ffffffffffffffff", "-1", "4;x=y", "zz", "0"], "zz");
            body = format!("{size}\r\nabcd\r\n0\r\n\r\n").into_bytes();
            "chunked"
        }
        2 => {
            items.push(seq(vec![
                text("X-"),
                run(b'h', rng.pick(&LONG, 256)),
                text(": "),
                run(b'v', rng.pick(&LONG, 256)),
                text(eol),
            ]));
            "long-header"
        }
        3 => {
            items.push(text(&format!("NoColonHere{eol}")));
            items.push(text(&format!("Host: second{eol}")));
            "bad-header"
        }
        4 => {
            items.push(text(&format!(
                "Content-Length: 4{eol}Content-Length: 5{eol}"
            )));
            body = b"abcde".to_vec();
            "conflicting-length"
        }
        _ => "request-line",
    };
    if !rng.chance(16) {
        items.push(text(&format!("Connection: close{eol}")));
    }
    items.push(text(eol));
    items.push(bytes(body));
    (what.to_owned(), seq(items))
}

#[cfg(test)]
mod tests {
    #[test]
    fn health_is_a_2xx_answer_with_the_expected_text() {
        let good = b"HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n{\"firmware_version\":\"2.1\"}";
        assert!(health_complete(good, Some("2.1")));
        assert_eq!(judge_health(good, Some("2.1")), Ok(()));
        assert_eq!(judge_health(good, None), Ok(()));
        assert!(judge_health(good, Some("2.2")).is_err_and(|why| why.contains("2.2")));
        let down = b"HTTP/1.1 503 Service Unavailable\r\n\r\nmqtt down";
        assert!(judge_health(down, None).is_err_and(|why| why.contains("503")));
        assert!(judge_health(b"", None).is_err_and(|why| why == "no answer"));
        assert!(judge_health(b"SSH-2.0-x\r\n\r\n", None).is_err());
        assert!(!health_complete(b"HTTP/1.1 200 OK\r\n\r\n{", Some("2.1")));
        assert!(health_complete(b"HTTP/1.1 200 OK\r\n\r\n", Some("")));
    }

    use super::*;

    #[test]
    fn probe_and_oracle() {
        assert_eq!(
            probe("h"),
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        );
        assert!(is_http(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(!is_http(b"SSH-2.0"));
        assert!(head_complete(b"HTTP/1.1 200 OK\r\n\r\n"));
        assert!(!head_complete(b"HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn requests_vary() {
        let mut kinds = std::collections::BTreeSet::new();
        for index in 0..100 {
            let (kind, node) = generate(&mut Rng::for_case(3, "http", index));
            assert!(!node.encode().is_empty());
            kinds.insert(kind);
        }
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }
}
