//! The bounds every service of a virtual device puts on its clients.
//!
//! The devices are fuzzed and brute-forced from inside the process that hosts them, so a
//! client must never be able to make a device wait forever, buffer without end, or hold
//! more connections than the host can afford. Every read and write of every service goes
//! through the helpers here, each with a timeout.

use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Connections a device serves at once, over all its TCP services; further connections
/// are accepted and closed at once, so a flood cannot exhaust the hosting process.
pub const MAX_CONNECTIONS_PER_DEVICE: usize = 512;

/// Time allowed for a TLS handshake to complete.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed for one write (and its flush) to be taken by the peer.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed for an orderly close (TLS close_notify, FIN).
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes asked of the socket by one read.
pub(crate) const READ_CHUNK: usize = 8 * 1024;

/// An `io::Error` of kind `TimedOut` naming what took too long.
pub(crate) fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))
}

/// One read of at most `buffer.len()` bytes, within `timeout`. `Ok(0)` is end of stream.
pub(crate) async fn read_some<S>(
    stream: &mut S,
    buffer: &mut [u8],
    timeout: Duration,
) -> io::Result<usize>
where
    S: AsyncRead + Unpin,
{
    match tokio::time::timeout(timeout, stream.read(buffer)).await {
        Ok(result) => result,
        Err(_) => Err(timed_out("read")),
    }
}

/// Appends one read of at most [`READ_CHUNK`] bytes to `buffer`, refusing to let the buffer
/// grow past `cap`. Returns the number of bytes read; `Ok(0)` is end of stream.
pub(crate) async fn read_into<S>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    cap: usize,
    timeout: Duration,
) -> io::Result<usize>
where
    S: AsyncRead + Unpin,
{
    let room = cap.saturating_sub(buffer.len()).min(READ_CHUNK);
    if room == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "peer sent more than the buffer cap",
        ));
    }
    let mut chunk = [0u8; READ_CHUNK];
    let window = chunk.get_mut(..room).unwrap_or_default();
    let count = read_some(stream, window, timeout).await?;
    buffer.extend_from_slice(window.get(..count).unwrap_or_default());
    Ok(count)
}

/// Writes all of `bytes` and flushes them (TLS streams buffer until flushed), within
/// [`WRITE_TIMEOUT`].
pub(crate) async fn write_all<S>(stream: &mut S, bytes: &[u8]) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(result) => result,
        Err(_) => Err(timed_out("write")),
    }
}

/// Closes the writing half in order (sending TLS close_notify where there is TLS), without
/// waiting more than [`CLOSE_TIMEOUT`] for a peer that stopped reading.
pub(crate) async fn close<S>(stream: &mut S)
where
    S: AsyncWrite + Unpin,
{
    // The connection is over either way; a peer that already left is not an error.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, stream.shutdown()).await;
}

/// Bytes read and thrown away after a close, at most.
const MAX_LINGER_BYTES: usize = 256 * 1024;

/// Reads and discards what the peer still sends after the device closed its side, for at
/// most [`CLOSE_TIMEOUT`] and [`MAX_LINGER_BYTES`]. Closing a socket with unread input
/// makes the kernel send a reset, which can destroy the response the peer has not read
/// yet (an early 413, say); lingering a moment lets it arrive.
pub(crate) async fn linger<S>(stream: &mut S)
where
    S: AsyncRead + Unpin,
{
    let deadline = tokio::time::Instant::now() + CLOSE_TIMEOUT;
    let mut discarded = 0;
    let mut sink = [0u8; READ_CHUNK];
    while discarded < MAX_LINGER_BYTES {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(count)) if count > 0 => discarded += count,
            _ => break,
        }
    }
}

/// Fills `buffer` exactly, within `timeout` for the whole of it.
pub(crate) async fn read_exact<S>(
    stream: &mut S,
    buffer: &mut [u8],
    timeout: Duration,
) -> io::Result<()>
where
    S: AsyncRead + Unpin,
{
    match tokio::time::timeout(timeout, stream.read_exact(buffer)).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(timed_out("read")),
    }
}
