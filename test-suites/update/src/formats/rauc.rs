//! RAUC bundles (plain format): a squashfs image, then a detached CMS signature over it,
//! then the signature's size as a big-endian u64.
//!
//! The reader never decompresses the squashfs (so a compression bomb inside it costs
//! nothing): it checks the superblock magic and that the filesystem's declared size fits
//! before the signature, and caps the signature at [`crate::cms::MAX_CMS_SIZE`].

use super::FormatError;
use crate::cms;

const SQUASHFS_MAGIC: &[u8] = b"hsqs";
/// Offset of `bytes_used` (u64, little endian) in the squashfs superblock.
const BYTES_USED_OFFSET: usize = 40;

/// A RAUC bundle, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rauc {
    pub squashfs: Vec<u8>,
    /// The CMS signature; empty when the bundle carries none.
    pub signature: Vec<u8>,
}

impl Rauc {
    pub fn read(bytes: &[u8]) -> Result<Rauc, FormatError> {
        let (body, size_bytes) = bytes
            .split_last_chunk::<8>()
            .ok_or_else(|| FormatError("shorter than the 8-byte signature size".into()))?;
        let size = u64::from_be_bytes(*size_bytes);
        if size == 0 || size > cms::MAX_CMS_SIZE as u64 || size > body.len() as u64 {
            return Err(FormatError(format!(
                "signature size {size} is zero, larger than {} bytes, or larger than the bundle",
                cms::MAX_CMS_SIZE
            )));
        }
        let split = usize::try_from(size)
            .ok()
            .and_then(|size| body.len().checked_sub(size))
            .ok_or_else(|| {
                FormatError(format!("signature size {size} is larger than the bundle"))
            })?;
        let (squashfs, signature) = body.split_at(split);
        if squashfs.get(..4) != Some(SQUASHFS_MAGIC) {
            return Err(FormatError(
                "the bundle does not start with a squashfs superblock".into(),
            ));
        }
        let used = squashfs
            .get(BYTES_USED_OFFSET..BYTES_USED_OFFSET + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| FormatError("truncated squashfs superblock".into()))?;
        if used > squashfs.len() as u64 {
            return Err(FormatError(format!(
                "the squashfs declares {used} bytes but only {} precede the signature",
                squashfs.len()
            )));
        }
        cms::parse(signature).map_err(|e| FormatError(e.to_string()))?;
        Ok(Rauc {
            squashfs: squashfs.to_vec(),
            signature: signature.to_vec(),
        })
    }

    /// The bundle's bytes; without a signature, the bare squashfs.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.squashfs.clone();
        if !self.signature.is_empty() {
            out.extend_from_slice(&self.signature);
            out.extend_from_slice(&(self.signature.len() as u64).to_be_bytes());
        }
        out
    }

    pub fn verify(&self, trusted: &[Vec<u8>]) -> Result<String, String> {
        let verified =
            cms::verify(&self.signature, &self.squashfs, trusted).map_err(|e| e.to_string())?;
        Ok(format!(
            "the bundle's CMS signature over the squashfs verifies (signer {})",
            verified.describe()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_trailers_are_refused() {
        let mut bundle = b"hsqs".to_vec();
        bundle.resize(96, 0);
        bundle.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(Rauc::read(&bundle).is_err());
        assert!(Rauc::read(b"short").is_err());
        let mut garbage_signature = b"hsqs".to_vec();
        garbage_signature.resize(96, 0);
        garbage_signature.extend_from_slice(&[0x30, 0x80, 1, 2]);
        garbage_signature.extend_from_slice(&4u64.to_be_bytes());
        assert!(Rauc::read(&garbage_signature).is_err());
    }
}
