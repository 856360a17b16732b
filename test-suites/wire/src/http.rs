//! HTTP/1.x responses (RFC 9112) and the protocols that share their syntax (RTSP, SIP):
//! the status line and headers of a head, where the head ends, and where the body ends.
//!
//! Four suites read responses from devices: the ports suite to name a service and spot
//! a login door, the credentials suite to follow challenges and forms, the update suite
//! to hear what an update endpoint said, the protofuzz suite to judge a health endpoint.
//! A device writes every byte, so the head is read from at most
//! [`Limits::max_head_bytes`], each line from at most [`Limits::max_line_bytes`], and at
//! most [`Limits::max_headers`] headers are kept; a body is decoded up to a cap the
//! caller gives. The parser is lenient where devices are sloppy (bare LF line ends,
//! several spaces after the version, a head cut off by a read cap still yields what it
//! had) and strict where a reply is or is not HTTP-shaped: the status line must be
//! `NAME/d.d` and a three-digit status.

/// Bounds on the head of one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the head read; a head without its blank line within them is cut.
    pub max_head_bytes: usize,
    /// Bytes of one line read; the rest of a longer line is passed over.
    pub max_line_bytes: usize,
    /// Headers kept; later ones are passed over (the head still ends at its blank line).
    pub max_headers: usize,
}

impl Limits {
    /// 64 KiB of head, 8 KiB lines, 100 headers: more than any device needs.
    pub const DEFAULT: Limits = Limits {
        max_head_bytes: 64 * 1024,
        max_line_bytes: 8 * 1024,
        max_headers: 100,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// The status line and headers of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// `HTTP/1.1`, `RTSP/1.0`, `SIP/2.0`.
    pub protocol: String,
    pub status: u16,
    /// The reason phrase, trimmed (may be empty).
    pub reason: String,
    /// Header names as sent, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    /// Bytes the head took, blank line included; `None` when the blank line has not
    /// arrived within the bytes and [`Limits::max_head_bytes`]: the head may be cut.
    pub length: Option<usize>,
}

impl Head {
    /// The first value of header `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of header `name`, compared without case.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// How the body's end is found (RFC 9112 section 6.3; RTSP, RFC 2326 section 12.14:
    /// no Content-Length, no body).
    pub fn framing(&self) -> Framing {
        if matches!(self.status, 100..=199 | 204 | 304) {
            return Framing::Empty;
        }
        let chunked = self
            .header("transfer-encoding")
            .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
        if chunked {
            return Framing::Chunked;
        }
        match self.header("content-length").map(str::parse::<usize>) {
            Some(Ok(length)) => Framing::Length(length),
            Some(Err(_)) => Framing::UntilClose,
            None if self.protocol.starts_with("RTSP/") => Framing::Empty,
            None => Framing::UntilClose,
        }
    }
}

/// Where a response body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// There is no body (1xx, 204, 304; RTSP without Content-Length).
    Empty,
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`, up to the last chunk and its trailers.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// The offset just past the blank line that ends a head (CRLF CRLF, or a bare LF where a
/// CRLF belongs), wherever the head starts to be malformed.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0usize;
    while let Some(found) = bytes.get(from..)?.iter().position(|&b| b == b'\n') {
        let line_feed = from.checked_add(found)?;
        match (bytes.get(line_feed + 1), bytes.get(line_feed + 2)) {
            (Some(b'\n'), _) => return line_feed.checked_add(2),
            (Some(b'\r'), Some(b'\n')) => return line_feed.checked_add(3),
            _ => from = line_feed.checked_add(1)?,
        }
    }
    None
}

/// One line of a head: its bytes without the line end, and the offset after it.
struct Line<'a> {
    text: &'a [u8],
    /// False for the last bytes when no line end follows them (a cut head).
    terminated: bool,
    next: usize,
}

fn line_at(bytes: &[u8], at: usize) -> Option<Line<'_>> {
    let rest = bytes.get(at..).filter(|rest| !rest.is_empty())?;
    match rest.iter().position(|&b| b == b'\n') {
        Some(found) => {
            let text = rest.get(..found).unwrap_or_default();
            Some(Line {
                text: text.strip_suffix(b"\r").unwrap_or(text),
                terminated: true,
                next: at.checked_add(found)?.checked_add(1)?,
            })
        }
        None => Some(Line {
            text: rest,
            terminated: false,
            next: bytes.len(),
        }),
    }
}

/// A line as text, at most `max` bytes of it.
fn line_text(line: &[u8], max: usize) -> String {
    String::from_utf8_lossy(line.get(..line.len().min(max)).unwrap_or_default()).into_owned()
}

/// `NAME/d.d`: an upper-case protocol name, a slash, a one-digit major and minor version.
fn is_protocol(token: &str) -> bool {
    let Some((name, version)) = token.split_once('/') else {
        return false;
    };
    let version = version.as_bytes();
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_uppercase())
        && version.len() == 3
        && version.first().is_some_and(u8::is_ascii_digit)
        && version.get(1) == Some(&b'.')
        && version.get(2).is_some_and(u8::is_ascii_digit)
}

/// `protocol SP status [SP reason]`, spaces or tabs between the parts.
fn parse_status_line(line: &str) -> Option<(String, u16, String)> {
    let (protocol, rest) = line.split_once([' ', '\t'])?;
    if !is_protocol(protocol) {
        return None;
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let code = rest.get(..3)?;
    let after = rest.get(3..)?;
    let first = code.bytes().next()?;
    if !(code.bytes().all(|b| b.is_ascii_digit()) && (b'1'..=b'9').contains(&first)) {
        return None;
    }
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some((
        protocol.to_owned(),
        code.parse().ok()?,
        after.trim().to_owned(),
    ))
}

/// `name: value`, the name a token of visible characters.
fn parse_header(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| (name.to_owned(), value.trim().to_owned()))
}

/// Parse the head at the start of `bytes`. `None` unless they open with a status line;
/// a head whose blank line has not arrived has `length: None` and the headers so far
/// (the last one possibly cut).
pub fn parse_head(bytes: &[u8], limits: &Limits) -> Option<Head> {
    let window = bytes.get(..bytes.len().min(limits.max_head_bytes))?;
    let status_line = line_at(window, 0)?;
    let (protocol, status, reason) =
        parse_status_line(&line_text(status_line.text, limits.max_line_bytes))?;
    let mut head = Head {
        protocol,
        status,
        reason,
        headers: Vec::new(),
        length: None,
    };
    let mut at = status_line.next;
    while let Some(line) = line_at(window, at) {
        at = line.next;
        if line.text.is_empty() && line.terminated {
            head.length = Some(at);
            break;
        }
        if head.headers.len() < limits.max_headers {
            head.headers
                .extend(parse_header(&line_text(line.text, limits.max_line_bytes)));
        }
    }
    Some(head)
}

/// Why a body is not (yet) there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// More bytes are needed.
    Incomplete,
    /// The chunked framing is broken: more bytes will not mend it.
    Malformed,
    /// The body is longer than the cap the caller gave.
    TooLarge,
}

/// A body, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub content: Vec<u8>,
    /// Bytes of the input the body took (chunk framing and trailers included).
    pub used: usize,
}

/// The body at the start of `rest` (the bytes after the head), framed by `framing`, of
/// at most `max_body` bytes. [`Framing::UntilClose`] takes all of `rest`, cut at
/// `max_body`: only the caller knows whether the server has closed.
pub fn read_body(framing: Framing, rest: &[u8], max_body: usize) -> Result<Body, BodyError> {
    match framing {
        Framing::Empty => Ok(Body {
            content: Vec::new(),
            used: 0,
        }),
        Framing::Length(length) if length > max_body => Err(BodyError::TooLarge),
        Framing::Length(length) => {
            let content = rest.get(..length).ok_or(BodyError::Incomplete)?;
            Ok(Body {
                content: content.to_vec(),
                used: length,
            })
        }
        Framing::Chunked => decode_chunked(rest, max_body),
        Framing::UntilClose => {
            let used = rest.len().min(max_body);
            Ok(Body {
                content: rest.get(..used).unwrap_or_default().to_vec(),
                used,
            })
        }
    }
}

/// Most hex digits of a chunk size: 16 already overflow 64 bits.
const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// A chunk-size line: hex digits, then optional whitespace and `;extensions`.
fn chunk_size(line: &[u8]) -> Result<usize, BodyError> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > MAX_CHUNK_SIZE_DIGITS {
        return Err(BodyError::Malformed);
    }
    digits.iter().try_fold(0usize, |size, &digit| {
        let value = char::from(digit).to_digit(16).ok_or(BodyError::Malformed)?;
        size.checked_mul(16)
            .and_then(|size| size.checked_add(usize::try_from(value).ok()?))
            .ok_or(BodyError::TooLarge)
    })
}

/// Decode a chunked body starting at `body`, whole: every chunk, the last (zero) chunk
/// and the trailer section up to its blank line. At most `max_body` decoded bytes.
pub fn decode_chunked(body: &[u8], max_body: usize) -> Result<Body, BodyError> {
    let mut content = Vec::new();
    let mut at = 0usize;
    loop {
        let line = line_at(body, at)
            .filter(|line| line.terminated)
            .ok_or(BodyError::Incomplete)?;
        let size = chunk_size(line.text)?;
        at = line.next;
        if size == 0 {
            // Trailer fields (most devices send none), then a blank line.
            loop {
                let trailer = line_at(body, at)
                    .filter(|line| line.terminated)
                    .ok_or(BodyError::Incomplete)?;
                at = trailer.next;
                if trailer.text.is_empty() {
                    return Ok(Body { content, used: at });
                }
            }
        }
        if content
            .len()
            .checked_add(size)
            .is_none_or(|total| total > max_body)
        {
            return Err(BodyError::TooLarge);
        }
        let end = at.checked_add(size).ok_or(BodyError::TooLarge)?;
        content.extend_from_slice(body.get(at..end).ok_or(BodyError::Incomplete)?);
        at = end;
        let after = body.get(at..).unwrap_or_default();
        at = match after {
            [b'\r', b'\n', ..] => at + 2,
            [b'\n', ..] => at + 1,
            [] | [b'\r'] => return Err(BodyError::Incomplete),
            _ => return Err(BodyError::Malformed),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn head(bytes: &[u8]) -> Option<Head> {
        parse_head(bytes, &Limits::DEFAULT)
    }

    #[test]
    fn head_and_framing() {
        let head = head(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(head.status, 401);
        assert_eq!(head.reason, "Unauthorized");
        assert_eq!(head.framing(), Framing::Length(5));
        assert_eq!(head.header("www-authenticate"), Some("Basic realm=\"x\""));
        assert_eq!(head.length, Some(83));
        let rtsp = parse_head(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", &Limits::DEFAULT).unwrap();
        assert_eq!(rtsp.framing(), Framing::Empty);
        let not_modified = parse_head(
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(not_modified.framing(), Framing::Empty);
        let chunked = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: Chunked\r\n\r\n",
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(chunked.framing(), Framing::Chunked);
        let bad_length = parse_head(
            b"HTTP/1.0 200 OK\nContent-Length: 1, 2\n\n",
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(bad_length.framing(), Framing::UntilClose);
        assert_eq!(bad_length.length, Some(38));
    }

    #[test]
    fn status_lines() {
        assert!(head(b"HTTP/1.1 200 OK\r\n").is_some_and(|h| h.length.is_none()));
        assert!(head(b"HTTP/1.1 20 OK\r\n").is_none());
        assert!(head(b"HTTP/1.1 2000 OK\r\n").is_none());
        assert!(head(b"HTTP/1.1 099 OK\r\n").is_none());
        // Which protocol names count (HTTP, RTSP, SIP...) is each caller's choice.
        assert!(head(b"HTTPS/1.1 200 OK\r\n").is_some());
        assert!(head(b"HTTP/1.1x 200 OK\r\n").is_none());
        assert!(head(b"http/1.1 200 OK\r\n").is_none());
        assert!(head(b"SSH-2.0-x\r\n\r\n").is_none());
        assert!(head(b"garbage").is_none());
        assert!(head(b"").is_none());
        let sloppy = head(b"SIP/2.0  200\r\n\r\n").unwrap();
        assert_eq!((sloppy.status, sloppy.reason.as_str()), (200, ""));
    }

    #[test]
    fn a_cut_head_keeps_what_it_had() {
        let cut = head(b"HTTP/1.1 200 OK\r\nServer: nginx/1").unwrap();
        assert_eq!(cut.length, None);
        assert_eq!(cut.header("SERVER"), Some("nginx/1"));
        let limits = Limits {
            max_head_bytes: 24,
            ..Limits::DEFAULT
        };
        let capped = parse_head(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n", &limits).unwrap();
        assert_eq!(capped.length, None);
    }

    #[test]
    fn header_lines_are_capped() {
        let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
        for index in 0..150 {
            bytes.extend_from_slice(format!("X-{index}: {index}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"no colon\r\nbad name: x\r\n: empty\r\n\r\nbody");
        let parsed = head(&bytes).unwrap();
        assert_eq!(parsed.headers.len(), 100);
        assert_eq!(parsed.length, Some(bytes.len() - 4));
        let limits = Limits {
            max_line_bytes: 20,
            ..Limits::DEFAULT
        };
        let long = parse_head(
            b"HTTP/1.1 200 OK\r\nServer: 0123456789abcdefghij\r\n\r\n",
            &limits,
        )
        .unwrap();
        assert_eq!(long.header("server"), Some("0123456789ab"));
    }

    #[test]
    fn head_ends() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\nbody"), Some(19));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\nbody"), Some(17));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(head_end(b"\r\n\r"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn chunked() {
        let body = decode_chunked(b"5\r\nhello\r\n0\r\n\r\nrest", 1024).unwrap();
        assert_eq!(body.content, b"hello");
        assert_eq!(body.used, 15);
        assert_eq!(
            decode_chunked(b"5\r\nhel", 1024),
            Err(BodyError::Incomplete)
        );
        let trailers = decode_chunked(b"3;x=y\r\nabc\n0\r\nX-T: 1\r\n\r\n", 1024).unwrap();
        assert_eq!(trailers.content, b"abc");
        assert_eq!(trailers.used, 24);
        assert_eq!(
            decode_chunked(b"0\r\nX-T: 1\r\n", 1024),
            Err(BodyError::Incomplete)
        );
        assert_eq!(decode_chunked(b"zz\r\n", 1024), Err(BodyError::Malformed));
        assert_eq!(decode_chunked(b"-1\r\n", 1024), Err(BodyError::Malformed));
        assert_eq!(
            decode_chunked(b"3\r\nabcX0\r\n\r\n", 1024),
            Err(BodyError::Malformed)
        );
        assert_eq!(
            decode_chunked(b"ffffffffffffffff\r\n", 1024),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            decode_chunked(b"fffffffffffffffff\r\n", 1024),
            Err(BodyError::Malformed)
        );
        assert_eq!(
            decode_chunked(b"5\r\nhello\r\n", 4),
            Err(BodyError::TooLarge)
        );
    }

    #[test]
    fn bodies_by_framing() {
        assert_eq!(
            read_body(Framing::Length(2), b"abc", 10).map(|b| b.content),
            Ok(b"ab".to_vec())
        );
        assert_eq!(
            read_body(Framing::Length(4), b"abc", 10),
            Err(BodyError::Incomplete)
        );
        assert_eq!(
            read_body(Framing::Length(40), b"abc", 10),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            read_body(Framing::UntilClose, b"abc", 2).map(|b| b.content),
            Ok(b"ab".to_vec())
        );
        assert_eq!(read_body(Framing::Empty, b"abc", 2).map(|b| b.used), Ok(0));
    }

    /// A chunked encoding of `content` in pieces of `piece` bytes.
    fn chunk(content: &[u8], piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for part in content.chunks(piece) {
            out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn chunked_bodies_round_trip(
            content in proptest::collection::vec(any::<u8>(), 0..2048),
            piece in 1usize..300,
        ) {
            let encoded = chunk(&content, piece);
            let body = decode_chunked(&encoded, 4096).unwrap();
            prop_assert_eq!(body.used, encoded.len());
            prop_assert_eq!(body.content, content);
            for cut in [0, encoded.len() / 2, encoded.len().saturating_sub(1)] {
                if cut < encoded.len() {
                    prop_assert_eq!(
                        decode_chunked(&encoded[..cut], 4096),
                        Err(BodyError::Incomplete)
                    );
                }
            }
        }

        #[test]
        fn heads_round_trip(
            status in 100u16..1000,
            headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,40}"), 0..20),
        ) {
            let mut bytes = format!("HTTP/1.1 {status} Reason\r\n").into_bytes();
            for (name, value) in &headers {
                bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            let parsed = parse_head(&bytes, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(parsed.status, status);
            prop_assert_eq!(parsed.length, Some(bytes.len()));
            prop_assert_eq!(head_end(&bytes), Some(bytes.len()));
            let expected: Vec<(String, String)> = headers
                .iter()
                .map(|(name, value)| (name.clone(), value.trim().to_owned()))
                .collect();
            prop_assert_eq!(parsed.headers, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Some(head) = parse_head(&bytes, &Limits::DEFAULT) {
                let end = head.length.unwrap_or(bytes.len());
                prop_assert!(end <= bytes.len());
                let rest = bytes.get(end..).unwrap_or_default();
                if let Ok(body) = read_body(head.framing(), rest, 1024) {
                    prop_assert!(body.used <= rest.len());
                    prop_assert!(body.content.len() <= rest.len());
                }
            }
            let _ = head_end(&bytes);
            let _ = decode_chunked(&bytes, 1024);
        }
    }
}
