//! How the tests' own HTTP servers read a request head: until the blank line, the
//! client's close, 128 KiB or `wait`, whichever comes first.

use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The bytes of the request head read from `stream` (possibly cut short).
pub async fn read_head(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let _ = tokio::time::timeout(wait, async {
        while request.len() < 128 * 1024 && !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => request.extend_from_slice(buffer.get(..read).unwrap_or_default()),
            }
        }
    })
    .await;
    request
}
