//! The update image formats the suite reads, verifies and re-signs.
//!
//! Each format module parses hostile bytes with every length capped; this module puts
//! them behind one type, [`Genuine`], from which the attack images are made.

pub mod cpio;
pub mod plain;
pub mod rauc;
pub mod swu;

use crate::options::UpdateFormat;
use std::fmt;

/// Largest image the suite reads into memory.
pub const MAX_IMAGE_SIZE: u64 = 512 * 1024 * 1024;

/// Why an image cannot be read as its declared format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

/// What is delivered to the device: an image and, for plain images, its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub image: Vec<u8>,
    pub signature: Option<Vec<u8>>,
}

/// A manufacturer's image, read according to its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Genuine {
    Swu(swu::Swu),
    Rauc(rauc::Rauc),
    Plain(plain::Plain),
}

impl Genuine {
    /// Reads an image (and, for `plain`, its detached signature).
    pub fn read(
        format: UpdateFormat,
        image: &[u8],
        signature: Option<&[u8]>,
    ) -> Result<Genuine, FormatError> {
        match format {
            UpdateFormat::Swu => swu::Swu::read(image).map(Genuine::Swu),
            UpdateFormat::Rauc => rauc::Rauc::read(image).map(Genuine::Rauc),
            UpdateFormat::Plain => {
                let signature = signature.ok_or_else(|| {
                    FormatError("format `plain` needs the image's detached signature".into())
                })?;
                Ok(Genuine::Plain(plain::Plain {
                    image: image.to_vec(),
                    signature: signature.to_vec(),
                }))
            }
        }
    }

    /// Whether the image verifies against the trusted certificates; says how, or why not.
    pub fn verify(&self, trusted: &[Vec<u8>]) -> Result<String, String> {
        match self {
            Genuine::Swu(image) => image.verify(trusted),
            Genuine::Rauc(image) => image.verify(trusted),
            Genuine::Plain(image) => image.verify(trusted),
        }
    }

    /// The bytes to deliver.
    pub fn artifact(&self) -> Artifact {
        match self {
            Genuine::Swu(image) => Artifact {
                image: image.bytes(),
                signature: None,
            },
            Genuine::Rauc(image) => Artifact {
                image: image.bytes(),
                signature: None,
            },
            Genuine::Plain(image) => Artifact {
                image: image.image.clone(),
                signature: Some(image.signature.clone()),
            },
        }
    }

    /// The version the image declares, where the format carries one readable without
    /// unpacking (the `sw-description` of an SWUpdate image).
    pub fn declared_version(&self) -> Option<String> {
        match self {
            Genuine::Swu(image) => image.description.version.clone(),
            Genuine::Rauc(_) | Genuine::Plain(_) => None,
        }
    }
}
