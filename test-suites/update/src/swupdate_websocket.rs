//! SWUpdate's install result, as its web server tells it to the browser.
//!
//! `swupdate -w` answers an upload with HTTP 200 as soon as the bytes have arrived, and
//! only then verifies and installs them: the 200 says nothing about the image. The web
//! page learns the result from a WebSocket on the same server, which carries JSON
//! messages such as `{"type": "status", "status": "FAILURE"}` and
//! `{"type": "message", "level": "3", "text": "ERROR : HASH mismatch ..."}`. This module
//! is a minimal WebSocket client (RFC 6455: handshake, unmasked server frames, every
//! frame and the whole stream capped) that reads those messages until the terminal
//! status of one install, SUCCESS or FAILURE.

use crate::device_text::one_line;
use base64::Engine as _;
use iotcert_wire::http;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Most bytes of one frame's payload accepted; a larger frame ends the stream.
const MAX_FRAME: u64 = 256 * 1024;
/// Most bytes of the handshake's answer read.
const MAX_HANDSHAKE: usize = 16 * 1024;
/// Most bytes of unparsed JSON text kept between frames.
const MAX_PENDING_TEXT: usize = 64 * 1024;
/// Most error messages kept for the report.
const MAX_ERRORS: usize = 8;
/// Most statuses kept for the report.
const MAX_STATUSES: usize = 64;
/// Most bytes of the transcript kept.
const MAX_TRANSCRIPT: usize = 32 * 1024;
/// The GUID of RFC 6455, section 1.3.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A byte stream the status messages arrive on: TCP or TLS.
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// What SWUpdate said about the install, once it said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallStatus {
    Success,
    Failure,
}

/// An open status WebSocket.
pub struct StatusStream {
    connection: Box<dyn Connection>,
    /// Received bytes not yet parsed into frames.
    buffer: Vec<u8>,
    /// Text of frames not yet parsed into complete JSON messages (SWUpdate may split or
    /// join its messages across frames).
    pending_text: String,
    /// The first terminal status seen.
    terminal: Option<InstallStatus>,
    /// Whether SWUpdate said it waits for the next request after the terminal status: an
    /// upload sent before that is answered 500 ("Failed to queue command").
    idle_again: bool,
    /// The statuses seen, in order (the first [`MAX_STATUSES`]).
    pub statuses: Vec<String>,
    /// Error-level messages (RFC 5424 level 3 or lower), the first few.
    pub errors: Vec<String>,
    /// Readable record of the messages.
    pub transcript: String,
    /// Why the stream ended, when it did.
    ended: Option<String>,
}

/// Opens the WebSocket at `path` over `connection` (already connected, TLS done).
pub async fn open(
    mut connection: Box<dyn Connection>,
    host: &str,
    path: &str,
    deadline: Instant,
) -> Result<StatusStream, String> {
    let mut nonce = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .map_err(|_| "no random bytes for the WebSocket key".to_owned())?;
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: iotcert-update\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tokio::time::timeout_at(deadline, connection.write_all(request.as_bytes()))
        .await
        .map_err(|_| "timed out sending the WebSocket handshake".to_owned())?
        .map_err(|e| format!("sending the WebSocket handshake failed: {e}"))?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = http::head_end(&received) {
            break end;
        }
        if received.len() > MAX_HANDSHAKE {
            return Err("the WebSocket handshake answer has no end".to_owned());
        }
        match tokio::time::timeout_at(deadline, connection.read(&mut chunk)).await {
            Err(_) => return Err("no WebSocket handshake answer before the timeout".to_owned()),
            Ok(Err(e)) => return Err(format!("the WebSocket handshake failed: {e}")),
            Ok(Ok(0)) => {
                return Err("the connection closed during the WebSocket handshake".to_owned())
            }
            Ok(Ok(count)) => received.extend_from_slice(chunk.get(..count).unwrap_or_default()),
        }
    };
    let head_bytes = received.get(..head_end).unwrap_or_default();
    let head = http::parse_head(head_bytes, &http::Limits::DEFAULT);
    let Some(head) = head.filter(|head| head.status == 101) else {
        let status_line = String::from_utf8_lossy(head_bytes);
        let status_line = status_line.lines().next().unwrap_or_default();
        return Err(format!(
            "the server did not open a WebSocket: {}",
            one_line(status_line)
        ));
    };
    let expected = accept_value(&key);
    let answered = head.header("sec-websocket-accept");
    if answered != Some(expected.as_str()) {
        return Err("the WebSocket handshake answer does not prove the server read our key (Sec-WebSocket-Accept)".to_owned());
    }
    let mut stream = StatusStream {
        connection,
        buffer: received.get(head_end..).unwrap_or_default().to_vec(),
        pending_text: String::new(),
        terminal: None,
        idle_again: false,
        statuses: Vec::new(),
        errors: Vec::new(),
        transcript: String::new(),
        ended: None,
    };
    // Frames that came with the handshake's answer.
    stream.digest_frames();
    Ok(stream)
}

/// `Sec-WebSocket-Accept` for `key`: base64 of the SHA-1 of the key and the GUID.
fn accept_value(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{WEBSOCKET_GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

impl StatusStream {
    /// The terminal status, once seen.
    pub fn terminal(&self) -> Option<&InstallStatus> {
        self.terminal.as_ref()
    }

    /// Whether SWUpdate said it waits for requests again after the terminal status.
    pub fn idle_again(&self) -> bool {
        self.idle_again
    }

    /// Why the stream ended (closed, reset, a frame too large), if it did.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// Reads once from the connection and digests every complete frame. Cancel-safe: a
    /// dropped call loses nothing. Does nothing once the stream has ended.
    pub async fn read_some(&mut self) {
        if self.ended.is_some() {
            return std::future::pending().await;
        }
        let mut chunk = [0u8; 8192];
        match self.connection.read(&mut chunk).await {
            Ok(0) => self.ended = Some("the server closed the WebSocket".to_owned()),
            Err(e) => self.ended = Some(format!("the WebSocket failed: {e}")),
            Ok(count) => {
                self.buffer
                    .extend_from_slice(chunk.get(..count).unwrap_or_default());
                self.digest_frames();
            }
        }
    }

    fn digest_frames(&mut self) {
        while self.ended.is_none() {
            match parse_frame(&self.buffer) {
                FrameParse::Incomplete => return,
                FrameParse::TooLarge(length) => {
                    self.ended = Some(format!(
                        "a WebSocket frame of {length} bytes, more than the {MAX_FRAME} read"
                    ));
                    return;
                }
                FrameParse::Frame {
                    opcode,
                    payload,
                    consumed,
                } => {
                    self.buffer.drain(..consumed.min(self.buffer.len()));
                    match opcode {
                        // Text and continuation frames carry the JSON messages.
                        0x0 | 0x1 => self.digest_text(&String::from_utf8_lossy(&payload)),
                        0x8 => self.ended = Some("the server closed the WebSocket".to_owned()),
                        // Binary, ping and pong frames carry no status.
                        _ => {}
                    }
                }
            }
        }
    }

    fn digest_text(&mut self, text: &str) {
        self.pending_text.push_str(text);
        let mut consumed = 0;
        let mut parsed = Vec::new();
        {
            let mut messages = serde_json::Deserializer::from_str(&self.pending_text)
                .into_iter::<serde_json::Value>();
            loop {
                match messages.next() {
                    Some(Ok(message)) => {
                        parsed.push(message);
                        consumed = messages.byte_offset();
                    }
                    // A message cut between frames: keep it for the next frame.
                    Some(Err(error)) if error.is_eof() => break,
                    // Not JSON: skip everything received so far.
                    Some(Err(_)) => {
                        consumed = self.pending_text.len();
                        break;
                    }
                    None => break,
                }
            }
        }
        for message in parsed {
            self.digest_message(&message);
        }
        self.pending_text
            .drain(..consumed.min(self.pending_text.len()));
        if self.pending_text.len() > MAX_PENDING_TEXT {
            // Not JSON SWUpdate would send: drop it rather than grow.
            self.pending_text.clear();
        }
    }

    fn digest_message(&mut self, message: &serde_json::Value) {
        let field = |name: &str| message.get(name).and_then(serde_json::Value::as_str);
        match field("type") {
            Some("status") => {
                let status = field("status").unwrap_or_default().to_owned();
                self.note(&format!("status {status}"));
                if self.terminal.is_some() && status == "IDLE" {
                    self.idle_again = true;
                }
                if self.terminal.is_none() {
                    self.terminal = match status.as_str() {
                        "SUCCESS" => Some(InstallStatus::Success),
                        "FAILURE" => Some(InstallStatus::Failure),
                        _ => None,
                    };
                }
                if self.statuses.len() < MAX_STATUSES {
                    self.statuses.push(status);
                }
            }
            Some("message") => {
                let text = field("text").unwrap_or_default();
                let level: u8 = field("level")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(u8::MAX);
                self.note(&format!("message (level {level}): {text}"));
                if self.terminal.is_some() && text.contains("Waiting for requests") {
                    self.idle_again = true;
                }
                if level <= 3 && self.errors.len() < MAX_ERRORS {
                    self.errors.push(one_line(text));
                }
            }
            _ => {}
        }
    }

    fn note(&mut self, line: &str) {
        if self.transcript.len() < MAX_TRANSCRIPT {
            self.transcript.push_str("ws< ");
            self.transcript.push_str(&one_line(line));
            self.transcript.push('\n');
        }
    }

    /// After the terminal status, reads until SWUpdate says it waits for requests again,
    /// the end of the stream or `deadline`, so the next upload finds it ready.
    pub async fn wait_idle(&mut self, deadline: Instant) {
        while self.terminal.is_some() && !self.idle_again && self.ended.is_none() {
            if tokio::time::timeout_at(deadline, self.read_some())
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Reads until the terminal status, the end of the stream or `deadline`.
    pub async fn wait_terminal(&mut self, deadline: Instant) {
        while self.terminal.is_none() && self.ended.is_none() {
            if tokio::time::timeout_at(deadline, self.read_some())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

enum FrameParse {
    Incomplete,
    TooLarge(u64),
    Frame {
        opcode: u8,
        payload: Vec<u8>,
        consumed: usize,
    },
}

/// One frame from the start of `bytes` (a server's frames are not masked; a masked one
/// is unmasked all the same).
fn parse_frame(bytes: &[u8]) -> FrameParse {
    let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1)) else {
        return FrameParse::Incomplete;
    };
    let opcode = first & 0x0f;
    let masked = second & 0x80 != 0;
    let (length, mut offset) = match second & 0x7f {
        126 => match bytes.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()) {
            Some(b) => (u64::from(u16::from_be_bytes(b)), 4usize),
            None => return FrameParse::Incomplete,
        },
        127 => match bytes.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (u64::from_be_bytes(b), 10usize),
            None => return FrameParse::Incomplete,
        },
        short => (u64::from(short), 2usize),
    };
    if length > MAX_FRAME {
        return FrameParse::TooLarge(length);
    }
    let mask = if masked {
        match bytes
            .get(offset..offset + 4)
            .and_then(|m| <[u8; 4]>::try_from(m).ok())
        {
            Some(mask) => {
                offset += 4;
                Some(mask)
            }
            None => return FrameParse::Incomplete,
        }
    } else {
        None
    };
    let Some(end) = usize::try_from(length)
        .ok()
        .and_then(|length| offset.checked_add(length))
    else {
        return FrameParse::TooLarge(length);
    };
    let Some(payload) = bytes.get(offset..end) else {
        return FrameParse::Incomplete;
    };
    let payload = match mask {
        Some(mask) => payload
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key)
            .collect(),
        None => payload.to_vec(),
    };
    FrameParse::Frame {
        opcode,
        payload,
        consumed: end,
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // frames of the tests' own small payloads
mod tests {
    use super::*;

    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x80 | opcode];
        if payload.len() < 126 {
            bytes.push(payload.len() as u8);
        } else {
            bytes.push(126);
            bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        bytes.extend_from_slice(payload);
        bytes
    }

    /// A server end that answers the handshake, then sends `frames`, then stays open.
    async fn stream_of(frames: Vec<Vec<u8>>) -> StatusStream {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let serve = async move {
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let count = server.read(&mut chunk).await.unwrap();
                request.extend_from_slice(&chunk[..count]);
            }
            let text = String::from_utf8(request).unwrap();
            let key = text
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .to_owned();
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_value(&key)
            );
            server.write_all(answer.as_bytes()).await.unwrap();
            for frame in frames {
                server.write_all(&frame).await.unwrap();
            }
            server
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let (stream, server) =
            tokio::join!(open(Box::new(client), "device", "/ws", deadline), serve);
        std::mem::forget(server);
        stream.unwrap()
    }

    #[tokio::test]
    async fn statuses_split_across_frames_and_garbage_are_read() {
        let failure = "{\r\n\t\"type\": \"status\",\r\n\t\"status\": \"FAILURE\"\r\n}\r\n";
        let (first, second) = failure.split_at(20);
        let mut stream = stream_of(vec![
            frame(0x1, b"not json at all"),
            frame(0x9, b"ping"),
            frame(
                0x1,
                b"{\"type\": \"message\", \"level\": \"3\", \"text\": \"ERROR : HASH mismatch\"}",
            ),
            frame(0x1, first.as_bytes()),
            frame(0x1, second.as_bytes()),
        ])
        .await;
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        stream.wait_terminal(deadline).await;
        assert_eq!(stream.terminal(), Some(&InstallStatus::Failure));
        assert_eq!(stream.errors, ["ERROR : HASH mismatch"]);
        assert!(!stream.idle_again());
    }

    #[tokio::test]
    async fn a_handshake_without_the_key_proof_is_refused() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let serve = async move {
            let mut chunk = [0u8; 1024];
            let _ = server.read(&mut chunk).await;
            server
                .write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: bogus\r\n\r\n",
                )
                .await
                .unwrap();
            server
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let (opened, _server) =
            tokio::join!(open(Box::new(client), "device", "/ws", deadline), serve);
        assert!(opened.is_err());
    }

    #[test]
    fn accept_value_matches_rfc_6455_example() {
        assert_eq!(
            accept_value("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_are_parsed_whole_split_and_capped() {
        let text = frame(0x1, b"{\"type\": \"status\", \"status\": \"RUN\"}");
        match parse_frame(&text) {
            FrameParse::Frame {
                opcode, consumed, ..
            } => {
                assert_eq!(opcode, 1);
                assert_eq!(consumed, text.len());
            }
            _ => panic!("a whole frame parses"),
        }
        assert!(matches!(
            parse_frame(&text[..text.len() - 1]),
            FrameParse::Incomplete
        ));
        let mut huge = vec![0x81, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(parse_frame(&huge), FrameParse::TooLarge(_)));
        assert!(matches!(parse_frame(&[0x81]), FrameParse::Incomplete));
    }
}
