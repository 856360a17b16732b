//! A small HTTP/1.1 server for the admin interface and the update endpoint.
//!
//! Both web services of a device need the same careful reading of requests from clients
//! that may be curl, a browser, a scanner or a fuzzer: a request head capped at
//! [`MAX_HEAD_SIZE`] and parsed by the pure [`parse_request_head`], bodies framed only by
//! `Content-Length` (a `Transfer-Encoding` is answered 501) and read in chunks so that a
//! large upload is streamed, `Expect: 100-continue` answered when the body is wanted,
//! keep-alive for HTTP/1.1 unless `Connection: close`, and every read under a timeout.

use crate::limits::{self, READ_CHUNK};
use crate::state::DeviceState;
use iotcert_wire::http::head_end;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest request head (request line and headers) accepted: 16 KiB.
pub const MAX_HEAD_SIZE: usize = 16 * 1024;
/// Most header fields accepted in one request.
pub const MAX_HEADERS: usize = 64;
/// Requests served on one connection before it is closed.
const MAX_REQUESTS_PER_CONNECTION: usize = 100;
/// Time allowed for the first request head to arrive.
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a kept-alive connection may stay idle between requests.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(15);
/// Time allowed between two chunks of a request body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// A body the service did not want is read and thrown away up to this size, to keep the
/// connection; past it the connection is closed instead.
const MAX_DISCARDED_BODY: u64 = 64 * 1024;

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// The request line and header fields of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request target in origin form: a path, maybe followed by `?` and a query.
    pub target: String,
    pub version: Version,
    /// Header fields in order; names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
}

/// Why a request head was refused; each maps to one status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The head is larger than [`MAX_HEAD_SIZE`] (431).
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields (431).
    TooManyHeaders,
    /// The request line is not `METHOD /target HTTP/x.y` (400).
    BadRequestLine,
    /// A header line is not `name: value` with a token name and visible value (400).
    BadHeader,
    /// An HTTP version other than 1.0 and 1.1 (505).
    UnsupportedVersion,
    /// `Content-Length` is not a number, or two of them disagree (400).
    BadContentLength,
    /// The request uses `Transfer-Encoding`, which this server does not implement (501).
    TransferEncodingUnsupported,
}

impl ParseError {
    fn status(&self) -> u16 {
        match self {
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::BadRequestLine | ParseError::BadHeader | ParseError::BadContentLength => {
                400
            }
            ParseError::UnsupportedVersion => 505,
            ParseError::TransferEncodingUnsupported => 501,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::HeadTooLarge => "request head too large",
            ParseError::TooManyHeaders => "too many header fields",
            ParseError::BadRequestLine => "malformed request line",
            ParseError::BadHeader => "malformed header field",
            ParseError::UnsupportedVersion => "HTTP version not supported",
            ParseError::BadContentLength => "invalid Content-Length",
            ParseError::TransferEncodingUnsupported => "Transfer-Encoding is not supported",
        })
    }
}

impl std::error::Error for ParseError {}

/// Parses a request head (as delimited by [`head_end`]: CRLF CRLF, or a bare LF LF).
pub fn parse_request_head(head: &[u8]) -> Result<RequestHead, ParseError> {
    if head.len() > MAX_HEAD_SIZE {
        return Err(ParseError::HeadTooLarge);
    }
    let mut lines = head
        .split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next().ok_or(ParseError::BadRequestLine)?;
    let (method, target, version) = parse_request_line(request_line)?;
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        headers.push(parse_header_line(line)?);
    }
    Ok(RequestHead {
        method,
        target,
        version,
        headers,
    })
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn parse_request_line(line: &[u8]) -> Result<(String, String, Version), ParseError> {
    let mut parts = line.split(|&byte| byte == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadRequestLine);
    };
    if method.is_empty() || !method.iter().all(|&b| is_token_byte(b)) {
        return Err(ParseError::BadRequestLine);
    }
    if !target.starts_with(b"/") || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(ParseError::BadRequestLine);
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        other if other.starts_with(b"HTTP/") => return Err(ParseError::UnsupportedVersion),
        _ => return Err(ParseError::BadRequestLine),
    };
    // Both parts were checked to be ASCII above.
    Ok((
        String::from_utf8_lossy(method).into_owned(),
        String::from_utf8_lossy(target).into_owned(),
        version,
    ))
}

fn parse_header_line(line: &[u8]) -> Result<(String, String), ParseError> {
    let colon = line
        .iter()
        .position(|&byte| byte == b':')
        .ok_or(ParseError::BadHeader)?;
    let (name, value) = line.split_at(colon);
    let value = value.get(1..).unwrap_or_default();
    if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
        return Err(ParseError::BadHeader);
    }
    let value_byte_ok = |b: &u8| *b == b'\t' || *b >= 0x20 && *b != 0x7f;
    if !value.iter().all(value_byte_ok) {
        return Err(ParseError::BadHeader);
    }
    Ok((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value)
            .trim_matches([' ', '\t'])
            .to_owned(),
    ))
}

impl RequestHead {
    /// The value of the first header field of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The path of the target, without its query.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The declared body length: 0 without `Content-Length`. Refuses bodies framed by
    /// `Transfer-Encoding`, and `Content-Length` fields that disagree.
    pub fn body_length(&self) -> Result<u64, ParseError> {
        if self.header("transfer-encoding").is_some() {
            return Err(ParseError::TransferEncodingUnsupported);
        }
        let mut length = None;
        for (_, value) in self
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::BadContentLength);
            }
            let parsed: u64 = value.parse().map_err(|_| ParseError::BadContentLength)?;
            if length.is_some_and(|earlier| earlier != parsed) {
                return Err(ParseError::BadContentLength);
            }
            length = Some(parsed);
        }
        Ok(length.unwrap_or(0))
    }

    /// Whether the client wants the connection kept open after the response.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or_default();
        let has = |option: &str| {
            connection
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case(option))
        };
        match self.version {
            Version::Http11 => !has("close"),
            Version::Http10 => has("keep-alive"),
        }
    }

    fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    }
}

/// A response to send.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    /// Close the connection after this response.
    pub(crate) close: bool,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: body.into(),
            close: false,
        }
    }

    pub(crate) fn html(status: u16, body: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", body)
    }

    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Response {
        Response::new(status, "application/json", format!("{body}\n"))
    }

    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn closing(mut self) -> Response {
        self.close = true;
        self
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A site's answer to one request, on its way.
pub(crate) type Answer<'a> = Pin<Box<dyn Future<Output = io::Result<Response>> + Send + 'a>>;

/// A site a listener serves (the admin web, the update endpoint): it answers one
/// request whose head was read, reading the body through the connection. The server
/// loop here knows nothing of what the sites do.
pub(crate) trait Site: Sync {
    fn answer<'a, S>(
        &'a self,
        head: &'a RequestHead,
        connection: &'a mut HttpConnection<S>,
        state: &'a DeviceState,
        over_tls: bool,
    ) -> Answer<'a>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'a;
}

/// Why no request head could be read.
enum HeadError {
    /// The client left, stalled or broke the stream: nothing more can be said to it.
    Gone,
    /// The head arrived but is refused; the client is told why.
    Malformed(ParseError),
}

/// One client connection: the stream, bytes read but not yet used, and the state of the
/// current request's body.
pub(crate) struct HttpConnection<S> {
    stream: S,
    buffer: Vec<u8>,
    body_remaining: u64,
    continue_pending: bool,
}

impl<S> HttpConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn new(stream: S) -> HttpConnection<S> {
        HttpConnection {
            stream,
            buffer: Vec::new(),
            body_remaining: 0,
            continue_pending: false,
        }
    }

    /// Reads the next request head; `Ok(None)` when the client closed between requests.
    async fn read_head(&mut self, timeout: Duration) -> Result<Option<RequestHead>, HeadError> {
        loop {
            // Blank lines before a request line are ignored (RFC 9112 section 2.2).
            let blank = self
                .buffer
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.buffer.drain(..blank);
            if let Some(length) = head_end(&self.buffer) {
                let head = parse_request_head(self.buffer.get(..length).unwrap_or_default());
                self.buffer.drain(..length.min(self.buffer.len()));
                return head.map(Some).map_err(HeadError::Malformed);
            }
            if self.buffer.len() >= MAX_HEAD_SIZE {
                return Err(HeadError::Malformed(ParseError::HeadTooLarge));
            }
            let read =
                limits::read_into(&mut self.stream, &mut self.buffer, MAX_HEAD_SIZE, timeout)
                    .await
                    .map_err(|_| HeadError::Gone)?;
            if read == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(HeadError::Gone)
                };
            }
        }
    }

    /// The declared length of the current request's body.
    pub(crate) fn body_length(&self) -> u64 {
        self.body_remaining
    }

    /// The next piece of the current request's body, `Ok(None)` once it is all read.
    pub(crate) async fn next_body_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.body_remaining == 0 {
            return Ok(None);
        }
        if self.continue_pending {
            self.continue_pending = false;
            limits::write_all(&mut self.stream, b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        if self.buffer.is_empty() {
            let read = limits::read_into(
                &mut self.stream,
                &mut self.buffer,
                READ_CHUNK,
                BODY_READ_TIMEOUT,
            )
            .await?;
            if read == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let available = u64::try_from(self.buffer.len()).unwrap_or(u64::MAX);
        let take = self.body_remaining.min(available);
        self.body_remaining -= take;
        let take = usize::try_from(take).unwrap_or(self.buffer.len());
        Ok(Some(self.buffer.drain(..take).collect()))
    }

    /// The whole body when it is at most `cap` bytes, `Ok(None)` (and nothing read) when
    /// it is declared larger.
    pub(crate) async fn read_body(&mut self, cap: u64) -> io::Result<Option<Vec<u8>>> {
        if self.body_remaining > cap {
            return Ok(None);
        }
        let mut body = Vec::new();
        while let Some(chunk) = self.next_body_chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// Reads and discards what is left of the body, if that is little enough; returns
    /// whether the connection can carry another request.
    async fn finish_body(&mut self) -> io::Result<bool> {
        if self.body_remaining == 0 {
            return Ok(true);
        }
        // A client still waiting for 100 Continue may or may not send the body: the
        // connection cannot be reused safely.
        if self.continue_pending || self.body_remaining > MAX_DISCARDED_BODY {
            return Ok(false);
        }
        while self.next_body_chunk().await?.is_some() {}
        Ok(true)
    }

    async fn respond(
        &mut self,
        response: &Response,
        server: &str,
        head_only: bool,
        keep_open: bool,
    ) -> io::Result<()> {
        let mut bytes = format!(
            "HTTP/1.1 {} {}\r\nServer: {server}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            response.status,
            reason_phrase(response.status),
            response.body.len(),
            if keep_open { "keep-alive" } else { "close" },
        )
        .into_bytes();
        for (name, value) in &response.headers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        if !head_only {
            bytes.extend_from_slice(&response.body);
        }
        limits::write_all(&mut self.stream, &bytes).await
    }
}

/// The `Server` header of a device: a product and version only with
/// [`crate::Flaws::version_banners`].
fn server_header(state: &DeviceState) -> &'static str {
    if state.flaws.version_banners {
        "lighttpd/1.4.45"
    } else {
        "device"
    }
}

/// Serves the requests of one connection until it closes, errs, idles or reaches
/// [`MAX_REQUESTS_PER_CONNECTION`].
pub(crate) async fn serve<S>(
    stream: S,
    state: &DeviceState,
    site: &impl Site,
    over_tls: bool,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let server = server_header(state);
    let mut connection = HttpConnection::new(stream);
    for served in 0..MAX_REQUESTS_PER_CONNECTION {
        let timeout = if served == 0 {
            FIRST_REQUEST_TIMEOUT
        } else {
            KEEP_ALIVE_TIMEOUT
        };
        let head = match connection.read_head(timeout).await {
            Ok(Some(head)) => head,
            Ok(None) | Err(HeadError::Gone) => break,
            Err(HeadError::Malformed(error)) => {
                let response = Response::text(error.status(), &error.to_string());
                connection.respond(&response, server, false, false).await?;
                break;
            }
        };
        let response = match head.body_length() {
            Err(error) => Response::text(error.status(), &error.to_string()).closing(),
            Ok(length) => {
                connection.body_remaining = length;
                connection.continue_pending = head.expects_continue() && length > 0;
                site.answer(&head, &mut connection, state, over_tls).await?
            }
        };
        let last_allowed = served + 1 == MAX_REQUESTS_PER_CONNECTION;
        let keep_open = !response.close
            && !last_allowed
            && head.keep_alive()
            && connection.finish_body().await?;
        let head_only = head.method == "HEAD";
        connection
            .respond(&response, server, head_only, keep_open)
            .await?;
        if !keep_open {
            break;
        }
    }
    limits::close(&mut connection.stream).await;
    limits::linger(&mut connection.stream).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn curl_request_parses() {
        let text = b"GET /admin?x=1 HTTP/1.1\r\nHost: 127.77.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
        assert_eq!(head_end(text), Some(text.len()));
        let head = parse_request_head(text).unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path(), "/admin");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.header("host"), Some("127.77.0.1:8080"));
        assert_eq!(head.body_length(), Ok(0));
        assert!(head.keep_alive());
    }

    #[test]
    fn framing_rules() {
        let parse = |text: &str| parse_request_head(text.as_bytes());
        let head = parse("POST /update HTTP/1.1\r\nContent-Length: 12\r\n\r\n").unwrap();
        assert_eq!(head.body_length(), Ok(12));
        let head = parse("POST /update HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
            .unwrap();
        assert_eq!(head.body_length(), Err(ParseError::BadContentLength));
        let head = parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").unwrap();
        assert_eq!(head.body_length(), Err(ParseError::BadContentLength));
        let head = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert_eq!(
            head.body_length(),
            Err(ParseError::TransferEncodingUnsupported)
        );
        let head = parse("GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(!head.keep_alive());
        let head = parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").unwrap();
        assert!(!head.keep_alive());
    }

    #[test]
    fn malformed_heads_are_refused() {
        let parse = |text: &[u8]| parse_request_head(text);
        assert_eq!(parse(b"GET /\r\n\r\n"), Err(ParseError::BadRequestLine));
        assert_eq!(
            parse(b"GET http://x/ HTTP/1.1\r\n\r\n"),
            Err(ParseError::BadRequestLine)
        );
        assert_eq!(
            parse(b"GET / HTTP/2.0\r\n\r\n"),
            Err(ParseError::UnsupportedVersion)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(ParseError::BadHeader)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"),
            Err(ParseError::BadHeader)
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(
            parse(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Err(ParseError::TooManyHeaders)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_heads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = head_end(&bytes);
            if let Ok(head) = parse_request_head(&bytes) {
                let _ = (head.body_length(), head.keep_alive(), head.path());
            }
        }
    }
}
