//! Reading the files a user hands us (labels, roots, CRLs, revocation lists, keys,
//! profiles, firmware) without trusting their size.
//!
//! Any of them may be `/dev/zero` or a 40 GB image by mistake or by malice. Small files
//! are read with a cap named for what they are, so the error says which input was too
//! large; firmware is hashed as a stream and never held in memory.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The largest label, revocation list, CRL or certificate file we read (1 MiB: a
/// label is a few kilobytes, a lab's CRL rarely more than a few hundred).
pub const DOCUMENT_CAP: u64 = 1024 * 1024;

/// The largest scheme policy or template we read (profiles: the SDK's own cap).
pub const CONFIG_CAP: u64 = 1024 * 1024;

/// Read `path` whole when it holds at most `cap` bytes; `what` names the input in
/// the error ("label", "roots", …).
pub fn read_capped(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > cap {
        bail!(
            "{what} {} is larger than {} bytes: not a {what} file",
            path.display(),
            cap
        );
    }
    Ok(bytes)
}

/// [`read_capped`] for text (UTF-8).
pub fn read_text_capped(path: &Path, cap: u64, what: &str) -> Result<String> {
    String::from_utf8(read_capped(path, cap, what)?)
        .map_err(|_| anyhow::anyhow!("{what} {} is not UTF-8 text", path.display()))
}

/// The SHA-256 of a firmware image, read in blocks: the image is never held in memory
/// whole. It must be a regular file (a device such as `/dev/zero` never ends).
pub fn sha256_of_file(path: &Path) -> Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("cannot read firmware {}", path.display()))?;
    let metadata = file
        .metadata()
        .with_context(|| format!("cannot read firmware {}", path.display()))?;
    if !metadata.is_file() {
        bail!("firmware {} is not a regular file", path.display());
    }
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    loop {
        let read = file
            .read(&mut block)
            .with_context(|| format!("cannot read firmware {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(block.get(..read).unwrap_or_default());
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_at_the_cap_naming_the_input() {
        let error = read_capped(Path::new("/dev/zero"), 4096, "label")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("label /dev/zero is larger than 4096 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_file_at_the_cap_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(read_capped(&path, 10, "x").unwrap(), vec![7u8; 10]);
        assert!(read_capped(&path, 9, "x").is_err());
    }

    #[test]
    fn a_device_is_not_taken_for_a_firmware_image() {
        let error = sha256_of_file(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a regular file"), "{error}");
    }

    #[test]
    fn a_streamed_digest_equals_the_digest_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image");
        let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let expected: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(sha256_of_file(&path).unwrap(), expected);
    }
}
