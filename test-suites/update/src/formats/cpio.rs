//! The newc cpio archive that carries an SWUpdate image, read and written.
//!
//! A `.swu` comes from the manufacturer or from whoever intercepted it: every header
//! field is parsed as hex with its bounds checked, file data is sliced from the input
//! (never allocated from a declared length), and the number and size of entries are
//! capped, so an archive with absurd lengths is refused without a panic or a large
//! allocation.

use std::fmt;

/// Most entries read from one archive.
pub const MAX_ENTRIES: usize = 1024;
/// Longest file name accepted.
const MAX_NAME: usize = 4096;
const HEADER_LENGTH: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// The two newc magics: without and with a per-file checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Magic {
    Newc,
    NewcCrc,
}

impl Magic {
    fn text(self) -> &'static str {
        match self {
            Magic::Newc => "070701",
            Magic::NewcCrc => "070702",
        }
    }
}

/// Why bytes are not a newc cpio archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpioError(pub String);

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed cpio archive: {}", self.0)
    }
}

impl std::error::Error for CpioError {}

/// One file of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub mode: u32,
    pub mtime: u32,
    pub data: Vec<u8>,
}

/// A whole archive, in order, without its trailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archive {
    pub magic: Magic,
    pub entries: Vec<Entry>,
}

fn field(header: &[u8], index: usize) -> Result<u32, CpioError> {
    let start = 6 + index * 8;
    let text = header
        .get(start..start + 8)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| CpioError("short header".into()))?;
    u32::from_str_radix(text, 16)
        .map_err(|_| CpioError(format!("header field {text:?} is not hex")))
}

fn padded(offset: usize) -> usize {
    offset.saturating_add(3) & !3
}

/// Reads an archive.
pub fn read(bytes: &[u8]) -> Result<Archive, CpioError> {
    let mut entries = Vec::new();
    let mut magic = None;
    let mut offset = 0usize;
    loop {
        if entries.len() > MAX_ENTRIES {
            return Err(CpioError(format!("more than {MAX_ENTRIES} entries")));
        }
        let header = bytes
            .get(offset..offset.saturating_add(HEADER_LENGTH))
            .ok_or_else(|| CpioError(format!("archive ends at byte {offset} without a trailer")))?;
        let this_magic = match header.get(..6) {
            Some(b"070701") => Magic::Newc,
            Some(b"070702") => Magic::NewcCrc,
            _ => return Err(CpioError(format!("no newc magic at byte {offset}"))),
        };
        magic.get_or_insert(this_magic);
        let mode = field(header, 1)?;
        let mtime = field(header, 5)?;
        let file_size = field(header, 6)? as usize;
        let name_size = field(header, 11)? as usize;
        if name_size == 0 || name_size > MAX_NAME {
            return Err(CpioError(format!("name size {name_size} at byte {offset}")));
        }
        let name_start = offset + HEADER_LENGTH;
        let name_bytes = bytes
            .get(name_start..name_start + name_size)
            .ok_or_else(|| CpioError("name runs past the end".into()))?;
        let name_bytes = name_bytes
            .strip_suffix(&[0])
            .ok_or_else(|| CpioError("name not NUL-terminated".into()))?;
        let name = String::from_utf8(name_bytes.to_vec())
            .map_err(|_| CpioError("name is not UTF-8".into()))?;
        let data_start = padded(name_start + name_size);
        let data_end = data_start
            .checked_add(file_size)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                CpioError(format!(
                    "{name:?} declares {file_size} bytes, more than the archive holds"
                ))
            })?;
        if name == TRAILER {
            break;
        }
        let data = bytes.get(data_start..data_end).unwrap_or_default().to_vec();
        entries.push(Entry {
            name,
            mode,
            mtime,
            data,
        });
        offset = padded(data_end);
    }
    Ok(Archive {
        magic: magic.unwrap_or(Magic::Newc),
        entries,
    })
}

/// Writes an archive with its trailer, padded to 512 bytes like GNU cpio.
pub fn write(archive: &Archive) -> Vec<u8> {
    let mut out = Vec::new();
    let trailer = Entry {
        name: TRAILER.to_owned(),
        mode: 0,
        mtime: 0,
        data: Vec::new(),
    };
    for (index, entry) in archive
        .entries
        .iter()
        .chain(std::iter::once(&trailer))
        .enumerate()
    {
        let check = match archive.magic {
            Magic::Newc => 0u32,
            Magic::NewcCrc => entry
                .data
                .iter()
                .fold(0u32, |sum, &b| sum.wrapping_add(u32::from(b))),
        };
        let nlink = u32::from(entry.name != TRAILER);
        // newc holds 32-bit fields; entries come from `read`, whose caps keep every
        // count and size far below 4 GiB, so the saturation never happens in practice.
        let newc = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
        let fields = [
            newc(index).saturating_add(1),
            entry.mode,
            0,
            0,
            nlink,
            entry.mtime,
            newc(entry.data.len()),
            0,
            0,
            0,
            0,
            newc(entry.name.len()).saturating_add(1),
            check,
        ];
        out.extend_from_slice(archive.magic.text().as_bytes());
        for value in fields {
            out.extend_from_slice(format!("{value:08x}").as_bytes());
        }
        out.extend_from_slice(entry.name.as_bytes());
        out.push(0);
        out.resize(padded(out.len()), 0);
        out.extend_from_slice(&entry.data);
        out.resize(padded(out.len()), 0);
    }
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let archive = Archive {
            magic: Magic::NewcCrc,
            entries: vec![
                Entry {
                    name: "sw-description".into(),
                    mode: 0o100644,
                    mtime: 1,
                    data: b"abc".to_vec(),
                },
                Entry {
                    name: "rootfs.img".into(),
                    mode: 0o100644,
                    mtime: 1,
                    data: vec![9; 1000],
                },
            ],
        };
        assert_eq!(read(&write(&archive)).unwrap(), archive);
    }

    #[test]
    fn absurd_lengths_are_refused() {
        let mut bytes = write(&Archive {
            magic: Magic::Newc,
            entries: vec![Entry {
                name: "a".into(),
                mode: 0,
                mtime: 0,
                data: vec![1, 2, 3],
            }],
        });
        // File size field of the first entry: ffffffff.
        bytes.splice(6 + 6 * 8..6 + 7 * 8, *b"ffffffff");
        assert!(read(&bytes).is_err());
        assert!(read(b"070701").is_err());
        assert!(read(&[b'0'; 200]).is_err());
    }
}
