//! The firmware update endpoint of a virtual device, the image format it reads, and the
//! manufacturer's signing key that a secure device trusts.
//!
//! The update suite checks that a device refuses firmware it cannot authenticate. So the
//! endpoint takes uploads the way devices do (`POST /update`, the image as the body, at
//! most [`MAX_IMAGE_SIZE`]) and reports its running version at `GET /version` as
//! `{"firmware_version":"..."}`, so a suite can see whether an upload was installed.
//!
//! # Image format
//!
//! An image starts with a header of `key=value` lines (LF or CRLF) that ends at the first
//! empty line; whatever follows is the payload, opaque to the testbed. The header must fit
//! in the first [`MAX_HEADER_SIZE`] bytes. The key `version` is required and names the
//! version the image installs (1 to 64 of `A-Z a-z 0-9 . - _ +`); the optional key `size`
//! gives the payload's length. For example:
//!
//! ```text
//! version=9.9.9
//! size=13
//!
//! <payload bytes>
//! ```
//!
//! The signature is detached: an ECDSA P-256 signature (ASN.1 DER) over the whole image
//! with SHA-256, sent base64-encoded in the `X-Signature` request header. This is the
//! `plain` format of the update suite. [`UpdateSigner::manufacturer`] is the key of the
//! testbed's (fictional) manufacturer, and [`write_update_artifacts`] writes a genuine
//! image, an older genuine image, their signatures and the signer certificate.
//!
//! # What each device does with an upload
//!
//! A device without [`crate::Flaws::unsigned_updates`] installs an image only when its
//! signature verifies with the manufacturer's key, and only when its version is not
//! lower than the running one (no rollback); it answers 403 with the reason otherwise.
//! With the flaw, the device installs any image with a valid header and a `size` that
//! matches its payload (a length check is all it does), older versions included. An
//! image it refuses then crashes its update agent when [`crate::Flaws::fragile_update_agent`]
//! is set: `GET /version` answers 500 until the device restarts.

use crate::http::{Answer, HttpConnection, RequestHead, Response, Site};
use crate::state::DeviceState;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering as AtomicOrdering;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest image accepted: 64 MiB.
pub const MAX_IMAGE_SIZE: u64 = 64 * 1024 * 1024;
/// The header of an image must end within its first 4 KiB.
pub const MAX_HEADER_SIZE: usize = 4 * 1024;
/// Longest version string an image may install.
const MAX_VERSION_LENGTH: usize = 64;
/// Request header carrying the detached signature, base64.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// Version of the genuine image [`write_update_artifacts`] writes: newer than both presets.
pub const GENUINE_UPDATE_VERSION: &str = "1.2.0";
/// Version of the older genuine image [`write_update_artifacts`] writes: older than both.
pub const OLDER_UPDATE_VERSION: &str = "1.0.0";

/// The testbed manufacturer's update-signing key (PKCS#8). A test key, published here on
/// purpose: every virtual device trusts it, and tests sign genuine images with it.
const MANUFACTURER_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUu0KuZnZyu2cTuqq
+/oOy4Im78ATI+6DHKgjAKXG6OShRANCAASJ+a2/LCWY+XWJtIB40/m7bHbLLiut
ot8nCFVgJvs8JIwR/0UUsC1bCz3byRrDRQYj+EJNOtATpf3ta32beYb4
-----END PRIVATE KEY-----
";

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

/// The header lines of an image, up to the first empty line, within [`MAX_HEADER_SIZE`].
fn header_lines(start_of_image: &[u8]) -> impl Iterator<Item = &[u8]> {
    let window = start_of_image
        .get(..MAX_HEADER_SIZE)
        .unwrap_or(start_of_image);
    window
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
}

/// The version an image installs, read from its first bytes (see the module docs).
pub fn image_version(start_of_image: &[u8]) -> Result<String, ImageError> {
    for line in header_lines(start_of_image) {
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

/// Whether the image's `size=` (when it has one) matches the bytes after its header.
fn size_matches(image: &[u8]) -> bool {
    let Some(declared) = header_lines(image).find_map(|line| line.strip_prefix(b"size=")) else {
        return true;
    };
    let Some(header_end) = image
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| p + 2)
        .or_else(|| {
            image
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4)
        })
    else {
        return false;
    };
    std::str::from_utf8(declared)
        .ok()
        .and_then(|d| d.parse::<usize>().ok())
        == Some(image.len().saturating_sub(header_end))
}

/// Orders dotted versions numerically part by part (`1.10.0` > `1.9.3`); parts that are
/// not numbers compare as text.
pub fn compare_versions(left: &str, right: &str) -> Ordering {
    let mut left_parts = left.split(['.', '-', '+']);
    let mut right_parts = right.split(['.', '-', '+']);
    loop {
        match (left_parts.next(), right_parts.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(l), Some(r)) => {
                let order = match (l.parse::<u64>(), r.parse::<u64>()) {
                    (Ok(l), Ok(r)) => l.cmp(&r),
                    _ => l.cmp(r),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The key that signs the testbed's genuine update images.
pub struct UpdateSigner {
    key: EcdsaKeyPair,
    pkcs8_pem: &'static str,
}

impl UpdateSigner {
    /// The testbed manufacturer's key, trusted by every virtual device. The key is a
    /// constant of this file (a test checks it parses); an error here means ring refused it.
    pub fn manufacturer() -> io::Result<UpdateSigner> {
        let der = pem_body(MANUFACTURER_KEY_PEM);
        let key = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &der,
            &SystemRandom::new(),
        )
        .map_err(|e| io::Error::other(format!("the manufacturer key is unusable: {e}")))?;
        Ok(UpdateSigner {
            key,
            pkcs8_pem: MANUFACTURER_KEY_PEM,
        })
    }

    /// ECDSA P-256 / SHA-256 signature (ASN.1 DER) over `image`.
    pub fn sign(&self, image: &[u8]) -> Vec<u8> {
        self.key
            .sign(&SystemRandom::new(), image)
            .map(|s| s.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// An image of the testbed format installing `version`, with `payload`.
    pub fn image(version: &str, payload: &[u8]) -> Vec<u8> {
        let mut image =
            format!("version={version}\nvendor=acme\nsize={}\n\n", payload.len()).into_bytes();
        image.extend_from_slice(payload);
        image
    }

    /// A self-signed certificate for the key (PEM): what a profile declares as the signer.
    pub fn certificate_pem(&self) -> Result<String, rcgen::Error> {
        let pair = rcgen::KeyPair::from_pem(self.pkcs8_pem)?;
        let mut params = rcgen::CertificateParams::default();
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, "Acme firmware update signing");
        name.push(rcgen::DnType::OrganizationName, "Acme (iotcert testbed)");
        params.distinguished_name = name;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(3650);
        Ok(params.self_signed(&pair)?.pem())
    }

    /// Whether `signature` over `image` verifies with this key.
    pub fn verifies(&self, image: &[u8], signature_bytes: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_ASN1,
            self.key.public_key().as_ref(),
        )
        .verify(image, signature_bytes)
        .is_ok()
    }
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_default()
}

/// The files a profile needs to run the update suite against a virtual device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateArtifacts {
    /// The manufacturer's signer certificate (PEM).
    pub signer_certificate: PathBuf,
    /// A genuine image of [`GENUINE_UPDATE_VERSION`] and its detached signature.
    pub genuine_image: PathBuf,
    pub genuine_signature: PathBuf,
    /// A genuine image of [`OLDER_UPDATE_VERSION`] and its detached signature.
    pub older_image: PathBuf,
    pub older_signature: PathBuf,
}

/// Writes genuine images and the signer certificate into `directory`.
pub fn write_update_artifacts(directory: &Path) -> io::Result<UpdateArtifacts> {
    let signer = UpdateSigner::manufacturer()?;
    let certificate = signer
        .certificate_pem()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let signer_certificate = directory.join("acme-update-signer.pem");
    std::fs::write(&signer_certificate, certificate)?;
    let write_image = |version: &str| -> io::Result<(PathBuf, PathBuf)> {
        let payload: Vec<u8> = format!("Acme camera firmware {version}\n")
            .into_bytes()
            .into_iter()
            .cycle()
            .take(8 * 1024)
            .collect();
        let image = UpdateSigner::image(version, &payload);
        let image_path = directory.join(format!("acmecam-{version}.img"));
        let signature_path = directory.join(format!("acmecam-{version}.img.sig"));
        std::fs::write(&image_path, &image)?;
        std::fs::write(&signature_path, signer.sign(&image))?;
        Ok((image_path, signature_path))
    };
    let (genuine_image, genuine_signature) = write_image(GENUINE_UPDATE_VERSION)?;
    let (older_image, older_signature) = write_image(OLDER_UPDATE_VERSION)?;
    Ok(UpdateArtifacts {
        signer_certificate,
        genuine_image,
        genuine_signature,
        older_image,
        older_signature,
    })
}

/// Answers one request to the update site.
/// The update endpoint of a device (upload, version).
pub(crate) struct UpdateSite;

impl Site for UpdateSite {
    fn answer<'a, S>(
        &'a self,
        head: &'a RequestHead,
        connection: &'a mut HttpConnection<S>,
        state: &'a DeviceState,
        _over_tls: bool,
    ) -> Answer<'a>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'a,
    {
        Box::pin(handle(head, connection, state))
    }
}

async fn handle<S>(
    head: &RequestHead,
    connection: &mut HttpConnection<S>,
    state: &DeviceState,
) -> io::Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let response = match (head.method.as_str(), head.path()) {
        ("GET" | "HEAD", "/version") => {
            if state.update_agent_crashed.load(AtomicOrdering::Relaxed) {
                Response::json(
                    500,
                    &json!({ "error": "update agent crashed after a failed update; restart the device" }),
                )
            } else {
                Response::json(
                    200,
                    &json!({ "firmware_version": state.firmware_version() }),
                )
            }
        }
        ("POST", "/update") => receive_image(head, connection, state).await?,
        (_, "/version") => {
            Response::text(405, "method not allowed").with_header("Allow", "GET, HEAD")
        }
        (_, "/update") => Response::text(405, "method not allowed").with_header("Allow", "POST"),
        _ => Response::text(404, "not found"),
    };
    Ok(response)
}

fn refused(status: u16, reason: &str, sha256: &str) -> Response {
    Response::json(
        status,
        &json!({ "installed": false, "reason": reason, "sha256": sha256 }),
    )
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
    // Capacity grows with what arrives, never from the declared length.
    let mut image = Vec::new();
    while let Some(chunk) = connection.next_body_chunk().await? {
        image.extend_from_slice(&chunk);
    }
    let sha256 = hex::encode(Sha256::digest(&image));
    let response = if state.flaws.unsigned_updates {
        install_unverified(&image, state, &sha256)
    } else {
        install_verified(head, &image, state, &sha256)
    };
    Ok(response)
}

/// The insecure device: a header and a length check, nothing else.
fn install_unverified(image: &[u8], state: &DeviceState, sha256: &str) -> Response {
    let problem = match image_version(image) {
        Err(error) => Err(error.to_string()),
        Ok(_) if !size_matches(image) => {
            Err("the payload's length differs from the header's size=".to_owned())
        }
        Ok(version) => Ok(version),
    };
    match problem {
        Ok(version) => {
            state.install_firmware(version.clone());
            Response::json(
                200,
                &json!({ "installed": true, "firmware_version": version, "sha256": sha256 }),
            )
        }
        Err(reason) => {
            if state.flaws.fragile_update_agent {
                state
                    .update_agent_crashed
                    .store(true, AtomicOrdering::Relaxed);
            }
            refused(400, &reason, sha256)
        }
    }
}

/// The secure device: the manufacturer's signature, then no rollback.
fn install_verified(
    head: &RequestHead,
    image: &[u8],
    state: &DeviceState,
    sha256: &str,
) -> Response {
    let Some(encoded) = head.header(SIGNATURE_HEADER) else {
        return refused(
            403,
            "signature verification is required: this device installs only images carrying a \
             manufacturer signature (X-Signature) it can verify, and this one has none",
            sha256,
        );
    };
    let Ok(signature_bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim())
    else {
        return refused(403, "the X-Signature header is not base64", sha256);
    };
    let Ok(manufacturer) = UpdateSigner::manufacturer() else {
        return refused(500, "the device's trusted update key is unusable", sha256);
    };
    if !manufacturer.verifies(image, &signature_bytes) {
        return refused(
            403,
            "the signature does not verify with the manufacturer's update-signing key",
            sha256,
        );
    }
    let version = match image_version(image) {
        Ok(version) => version,
        Err(error) => return refused(400, &error.to_string(), sha256),
    };
    let running = state.firmware_version();
    if compare_versions(&version, &running) == Ordering::Less {
        return refused(
            403,
            &format!(
                "rollback refused: the image installs {version}, older than the running {running}"
            ),
            sha256,
        );
    }
    state.install_firmware(version.clone());
    Response::json(
        200,
        &json!({ "installed": true, "firmware_version": version, "sha256": sha256 }),
    )
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

    #[test]
    fn manufacturer_signatures_verify_and_tampering_does_not() {
        let signer = UpdateSigner::manufacturer().unwrap();
        let image = UpdateSigner::image("1.2.0", b"payload");
        let signature_bytes = signer.sign(&image);
        assert!(signer.verifies(&image, &signature_bytes));
        let mut tampered = image.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(!signer.verifies(&tampered, &signature_bytes));
        assert!(signer
            .certificate_pem()
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
    }

    #[test]
    fn sizes_and_versions() {
        let image = UpdateSigner::image("1.2.0", b"0123456789");
        assert!(size_matches(&image));
        assert!(!size_matches(image.get(..image.len() - 3).unwrap()));
        assert!(size_matches(b"version=1\n\nanything"));
        assert_eq!(compare_versions("1.10.0", "1.9.3"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0", "1.1.0"), Ordering::Less);
        assert_eq!(compare_versions("1.1.0", "1.1.0"), Ordering::Equal);
    }
}
