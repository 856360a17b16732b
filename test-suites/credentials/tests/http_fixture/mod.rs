//! What the tests' own web devices share: reading a request (head and announced body)
//! within a cap and a time, and writing a whole response that closes the connection.

use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The most bytes of a request read, and how long reading it may take.
const REQUEST_CAP: usize = 16 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The request head (and the body its Content-Length announces), or `None`.
pub async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 2048];
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&bytes).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .and_then(|v| v.trim().parse::<usize>().ok())
                    })
                    .unwrap_or(0);
                if bytes.len() >= end + 4 + length {
                    return Some(text);
                }
            }
            if bytes.len() >= REQUEST_CAP {
                return None;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(count) => bytes.extend_from_slice(chunk.get(..count).unwrap_or_default()),
            }
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

/// A response with `headers`, `body` and `Connection: close`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}
