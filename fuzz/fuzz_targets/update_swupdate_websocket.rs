//! SWUpdate's web server tells the install result over a WebSocket, and the update
//! suite's verdict rests on what it reads there (`swupdate_websocket`): the handshake
//! answer, the frames (lengths, masks, opcodes) and the JSON status messages split or
//! joined across frames. A hostile device writes every byte of it, so reading must
//! never panic, hang or grow without bound: the stream ends or reaches its terminal
//! status once the bytes run out, statuses, errors and transcript stay capped, and a
//! handshake answer without the proof of our key (`Sec-WebSocket-Accept`) is refused.
//!
//! The device here is an in-memory connection: it answers with the fuzz bytes, where
//! each `{accept}` stands for the accept value of the key the suite sent, in reads of
//! a size the first byte chooses (0: all at once).
#![no_main]
use base64::Engine as _;
use iotcert_suite_update::swupdate_websocket::{self, InstallStatus};
use libfuzzer_sys::fuzz_target;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const ACCEPT_MARK: &[u8] = b"{accept}";
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A device whose answer is fixed in advance, but for the accept value of our key.
struct Device {
    request: Vec<u8>,
    template: Vec<u8>,
    answer: Option<Vec<u8>>,
    sent: usize,
    chunk: usize,
}

impl Device {
    /// The answer, with the accept value of the key found in the request put in.
    fn answer(&mut self) -> &[u8] {
        let request = String::from_utf8_lossy(&self.request);
        let key = request
            .lines()
            .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap_or_default();
        let digest = ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            format!("{key}{GUID}").as_bytes(),
        );
        let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        let template = &self.template;
        self.answer.get_or_insert_with(|| {
            let mut answer = Vec::with_capacity(template.len() + 32);
            let mut rest = template.as_slice();
            while let Some(at) = rest
                .windows(ACCEPT_MARK.len())
                .position(|w| w == ACCEPT_MARK)
            {
                answer.extend_from_slice(&rest[..at]);
                answer.extend_from_slice(accept.as_bytes());
                rest = &rest[at + ACCEPT_MARK.len()..];
            }
            answer.extend_from_slice(rest);
            answer
        })
    }
}

impl AsyncRead for Device {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let (sent, chunk) = (this.sent, this.chunk);
        let rest = &this.answer()[sent..];
        let count = rest.len().min(chunk).min(buf.remaining());
        buf.put_slice(&rest[..count]);
        this.sent += count;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Device {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.request.extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One runtime for every input: building it is not what is being fuzzed.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, template)) = data.split_first() else {
        return;
    };
    let device = Device {
        request: Vec::new(),
        template: template.to_vec(),
        answer: None,
        sent: 0,
        chunk: if first == 0 {
            usize::MAX
        } else {
            usize::from(first)
        },
    };
    let proof_offered = template
        .windows(ACCEPT_MARK.len())
        .any(|w| w == ACCEPT_MARK);
    runtime().block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let opened = swupdate_websocket::open(Box::new(device), "device", "/ws", deadline).await;
        let Ok(mut stream) = opened else {
            return;
        };
        assert!(
            proof_offered,
            "a WebSocket opened without the proof of our key"
        );
        stream.wait_terminal(deadline).await;
        stream.wait_idle(deadline).await;

        // The bytes ran out: the stream ended, or said all it had to say.
        assert!(
            stream.ended().is_some() || (stream.terminal().is_some() && stream.idle_again()),
            "reading stopped with the stream neither ended nor done"
        );
        assert!(!stream.idle_again() || stream.terminal().is_some());
        assert!(stream.statuses.len() <= 64);
        assert!(stream.errors.len() <= 8);
        assert!(stream
            .errors
            .iter()
            .all(|error| error.chars().count() <= 301));
        assert!(stream.transcript.len() <= 32 * 1024 + 1300);
        if stream.statuses.len() < 64 {
            let first_terminal = stream
                .statuses
                .iter()
                .find_map(|status| match status.as_str() {
                    "SUCCESS" => Some(InstallStatus::Success),
                    "FAILURE" => Some(InstallStatus::Failure),
                    _ => None,
                });
            assert_eq!(stream.terminal(), first_terminal.as_ref());
        }
    });
});
