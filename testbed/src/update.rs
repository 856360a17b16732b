//! The firmware update endpoint of a virtual device, and the image format it reads.
//!
//! The update suite checks that a device refuses firmware it cannot authenticate. So the
//! endpoint takes uploads the way devices do (`POST /update`, the image as the body, read
//! as a stream and never buffered whole, at most [`MAX_IMAGE_SIZE`]) and reports its
//! running version at `GET /version` as `{"firmware_version":"..."}`, so a suite can see
//! whether an upload was installed.
//!
//! # Image format
//!
//! An image starts with a header of `key=value` lines (LF or CRLF) that ends at the first
//! empty line; whatever follows is the payload, opaque to the testbed. The header must fit
//! in the first [`MAX_HEADER_SIZE`] bytes. The key `version` is required and names the
//! version the image installs (1 to 64 of `A-Z a-z 0-9 . - _ +`). For example:
//!
//! ```text
//! version=9.9.9
//! vendor=acme
//!
//! <payload bytes>
//! ```
//!
//! # What each device does with an upload
//!
//! With [`crate::Flaws::unsigned_updates`] the device installs any image with a valid
//! header: it answers 200 with `{"installed":true,"firmware_version":...,"sha256":...}`
//! and reports the new version from then on. Without it, the device has no way yet to
//! verify a signature, so it refuses every upload with 403 and says that a signature it
//! can verify is required; the running version does not change.

use crate::device::DeviceState;
use crate::http::{HttpConnection, RequestHead, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest image accepted: 64 MiB.
pub const MAX_IMAGE_SIZE: u64 = 64 * 1024 * 1024;
/// The header of an image must end within its first 4 KiB.
pub const MAX_HEADER_SIZE: usize = 4 * 1024;
/// Longest version string an image may install.
const MAX_VERSION_LENGTH: usize = 64;

/// Why an image's header names no version the device could install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// No `version=` line before the first empty line (or within [`MAX_HEADER_SIZE`]).
    NoVersion,
    /// The `version` value is empty, too long, or has characters outside the allowed set.
    InvalidVersion,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageError::NoVersion => "the image header has no version= line",
            ImageError::InvalidVersion => {
                "the image version must be 1 to 64 of A-Z a-z 0-9 . - _ +"
            }
        })
    }
}

impl std::error::Error for ImageError {}

/// The version an image installs, read from its first bytes (see the module docs).
pub fn image_version(start_of_image: &[u8]) -> Result<String, ImageError> {
    let window = start_of_image
        .get(..MAX_HEADER_SIZE)
        .unwrap_or(start_of_image);
    for line in window.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix(b"version=") {
            let valid = !value.is_empty()
                && value.len() <= MAX_VERSION_LENGTH
                && value
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b".-_+".contains(&b));
            return if valid {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err(ImageError::InvalidVersion)
            };
        }
    }
    Err(ImageError::NoVersion)
}

/// Answers one request to the update site.
pub(crate) async fn handle<S>(
    head: &RequestHead,
    connection: &mut HttpConnection<S>,
    state: &DeviceState,
) -> io::Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let response = match (head.method.as_str(), head.path()) {
        ("GET" | "HEAD", "/version") => Response::json(
            200,
            &json!({ "firmware_version": state.firmware_version() }),
        ),
        ("POST", "/update") => receive_image(head, connection, state).await?,
        (_, "/version") => {
            Response::text(405, "method not allowed").with_header("Allow", "GET, HEAD")
        }
        (_, "/update") => Response::text(405, "method not allowed").with_header("Allow", "POST"),
        _ => Response::text(404, "not found"),
    };
    Ok(response)
}

async fn receive_image<S>(
    head: &RequestHead,
    connection: &mut HttpConnection<S>,
    state: &DeviceState,
) -> io::Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if head.header("content-length").is_none() {
        return Ok(Response::json(
            411,
            &json!({ "installed": false, "reason": "the upload needs a Content-Length" }),
        ));
    }
    if connection.body_length() > MAX_IMAGE_SIZE {
        let reason = format!("images are limited to {MAX_IMAGE_SIZE} bytes");
        return Ok(Response::json(413, &json!({ "installed": false, "reason": reason })).closing());
    }
    let mut hasher = Sha256::new();
    let mut start_of_image = Vec::new();
    while let Some(chunk) = connection.next_body_chunk().await? {
        hasher.update(&chunk);
        let room = MAX_HEADER_SIZE.saturating_sub(start_of_image.len());
        start_of_image.extend_from_slice(chunk.get(..room).unwrap_or(&chunk));
    }
    let sha256 = hex::encode(hasher.finalize());
    if !state.flaws.unsigned_updates {
        return Ok(Response::json(
            403,
            &json!({
                "installed": false,
                "reason": "signature verification is required: this device installs only images \
                           carrying a manufacturer signature it can verify, and this one has none",
                "sha256": sha256,
            }),
        ));
    }
    Ok(match image_version(&start_of_image) {
        Ok(version) => {
            state.install_firmware(version.clone());
            Response::json(
                200,
                &json!({ "installed": true, "firmware_version": version, "sha256": sha256 }),
            )
        }
        Err(error) => Response::json(
            400,
            &json!({ "installed": false, "reason": error.to_string(), "sha256": sha256 }),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_the_header() {
        assert_eq!(
            image_version(b"vendor=acme\r\nversion=9.9.9\r\n\r\npayload"),
            Ok("9.9.9".into())
        );
        assert_eq!(
            image_version(b"version=2.0.0-rc1+b7"),
            Ok("2.0.0-rc1+b7".into())
        );
    }

    #[test]
    fn version_after_the_header_does_not_count() {
        assert_eq!(
            image_version(b"vendor=acme\n\nversion=9.9.9\n"),
            Err(ImageError::NoVersion)
        );
        let late = [vec![b'a'; MAX_HEADER_SIZE], b"\nversion=1\n".to_vec()].concat();
        assert_eq!(image_version(&late), Err(ImageError::NoVersion));
    }

    #[test]
    fn invalid_versions_are_refused() {
        assert_eq!(
            image_version(b"version=\n"),
            Err(ImageError::InvalidVersion)
        );
        assert_eq!(
            image_version(b"version=1.0;rm -rf /\n"),
            Err(ImageError::InvalidVersion)
        );
        let long = format!("version={}\n", "9".repeat(MAX_VERSION_LENGTH + 1));
        assert_eq!(
            image_version(long.as_bytes()),
            Err(ImageError::InvalidVersion)
        );
    }
}
