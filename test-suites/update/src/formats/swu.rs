//! SWUpdate images: a cpio whose first file is `sw-description`, signed by the CMS
//! signature in `sw-description.sig`, which names the sha256 of every other file.
//!
//! The suite needs to read the version and the per-file hashes of `sw-description`
//! (libconfig or JSON syntax) and to rewrite them (older version, hashes removed), so
//! this module tokenises it just enough: identifiers, quoted strings and braces, with
//! byte positions. It never evaluates the file.

use super::cpio::{self, Archive, Entry};
use super::FormatError;
use crate::cms;
use sha2::{Digest, Sha256};

pub const DESCRIPTION: &str = "sw-description";
pub const SIGNATURE: &str = "sw-description.sig";
/// Largest `sw-description` read.
const MAX_DESCRIPTION: usize = 1024 * 1024;

/// A string value assigned to a key, with the byte range of the whole assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Assignment {
    key: String,
    value: String,
    /// Byte range of the quoted value, quotes excluded.
    value_range: (usize, usize),
    /// Byte range from the key to the end of the assignment (`;` or `,` included).
    whole_range: (usize, usize),
    /// Brace group the assignment sits in.
    group: usize,
}

/// `key = "value"` and `"key": "value"` assignments of a description, in order.
fn assignments(text: &[u8]) -> Vec<Assignment> {
    let mut found = Vec::new();
    let mut groups = vec![0usize];
    let mut next_group = 1usize;
    let mut index = 0usize;
    let mut pending_key: Option<(String, usize)> = None;
    while let Some(&byte) = text.get(index) {
        match byte {
            b'{' | b'(' | b'[' => {
                groups.push(next_group);
                next_group += 1;
                pending_key = None;
                index += 1;
            }
            b'}' | b')' | b']' => {
                if groups.len() > 1 {
                    groups.pop();
                }
                pending_key = None;
                index += 1;
            }
            b'#' => index = end_of_line(text, index),
            b'/' if text.get(index + 1) == Some(&b'/') => index = end_of_line(text, index),
            b'"' => {
                let start = index + 1;
                let end = closing_quote(text, start);
                let value = String::from_utf8_lossy(
                    text.get(start..end.min(text.len())).unwrap_or_default(),
                )
                .into_owned();
                index = end.saturating_add(1);
                if let Some((key, key_start)) = pending_key.take() {
                    found.push(Assignment {
                        key,
                        value,
                        value_range: (start, end.min(text.len())),
                        whole_range: (key_start, assignment_end(text, index)),
                        group: groups.last().copied().unwrap_or(0),
                    });
                } else {
                    // A JSON key: "name" followed by ':'.
                    let after = skip_whitespace(text, index);
                    if text.get(after) == Some(&b':') {
                        pending_key = Some((value, start.saturating_sub(1)));
                        index = after + 1;
                    }
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = index;
                index = identifier_end(text, index);
                let word = String::from_utf8_lossy(text.get(start..index).unwrap_or_default())
                    .into_owned();
                let after = skip_whitespace(text, index);
                if text.get(after).is_some_and(|b| b"=:".contains(b)) {
                    pending_key = Some((word, start));
                    index = after + 1;
                } else {
                    pending_key = None;
                }
            }
            _ => index += 1,
        }
    }
    found
}

/// The index of the newline that ends the line `index` is on, or the text's end: how a
/// comment is skipped.
fn end_of_line(text: &[u8], mut index: usize) -> usize {
    while text.get(index).is_some_and(|&b| b != b'\n') {
        index += 1;
    }
    index
}

/// The index of the quote that closes a string whose first byte is at `start`, or an
/// index at or past the text's end when none does; a backslash escapes the next byte.
fn closing_quote(text: &[u8], start: usize) -> usize {
    let mut end = start;
    while let Some(&b) = text.get(end) {
        if b == b'\\' {
            end += 2;
            continue;
        }
        if b == b'"' {
            break;
        }
        end += 1;
    }
    end
}

/// The first index from `index` on that is not ASCII whitespace.
fn skip_whitespace(text: &[u8], mut index: usize) -> usize {
    while text.get(index).is_some_and(u8::is_ascii_whitespace) {
        index += 1;
    }
    index
}

/// The end of an assignment whose value ends just before `index`: the blanks and the one
/// `;` or `,` after it belong to it.
fn assignment_end(text: &[u8], mut index: usize) -> usize {
    while text.get(index).is_some_and(|b| b" \t".contains(b)) {
        index += 1;
    }
    if text.get(index).is_some_and(|b| b";,".contains(b)) {
        index += 1;
    }
    index
}

/// The end of an identifier that starts at `index`: letters, digits, `_` and `-`.
fn identifier_end(text: &[u8], mut index: usize) -> usize {
    while text
        .get(index)
        .is_some_and(|b| b.is_ascii_alphanumeric() || b"_-".contains(b))
    {
        index += 1;
    }
    index
}

/// What a description declares: its version and each file's sha256.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    pub version: Option<String>,
    /// (filename, sha256 hex) pairs.
    pub hashes: Vec<(String, String)>,
}

/// Reads the version and per-file hashes of a description.
pub fn describe(text: &[u8]) -> Description {
    let found = assignments(text);
    let version = found
        .iter()
        .find(|a| a.key == "version")
        .map(|a| a.value.clone());
    let hashes = found
        .iter()
        .filter(|a| a.key == "sha256")
        .filter_map(|hash| {
            found
                .iter()
                .find(|a| a.key == "filename" && a.group == hash.group)
                .map(|file| (file.value.clone(), hash.value.to_ascii_lowercase()))
        })
        .collect();
    Description { version, hashes }
}

/// The description with its first `version` set to `version`.
pub fn with_version(text: &[u8], version: &str) -> Option<Vec<u8>> {
    let found = assignments(text);
    let target = found.iter().find(|a| a.key == "version")?;
    let (start, end) = target.value_range;
    let mut out = text.get(..start)?.to_vec();
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(text.get(end..)?);
    Some(out)
}

/// The description with every `sha256` assignment removed.
pub fn without_hashes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut copied = 0usize;
    for hash in assignments(text).iter().filter(|a| a.key == "sha256") {
        let (start, end) = hash.whole_range;
        out.extend_from_slice(text.get(copied..start).unwrap_or_default());
        copied = end;
    }
    out.extend_from_slice(text.get(copied..).unwrap_or_default());
    out
}

/// An SWUpdate image, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swu {
    pub archive: Archive,
    pub description: Description,
}

impl Swu {
    /// Reads a `.swu`: `sw-description` must be the first file.
    pub fn read(bytes: &[u8]) -> Result<Swu, FormatError> {
        let archive = cpio::read(bytes).map_err(|e| FormatError(e.to_string()))?;
        let first = archive
            .entries
            .first()
            .ok_or_else(|| FormatError("the archive is empty".into()))?;
        if first.name != DESCRIPTION {
            return Err(FormatError(format!(
                "the first file is {:?}, not {DESCRIPTION}",
                first.name
            )));
        }
        if first.data.len() > MAX_DESCRIPTION {
            return Err(FormatError(format!(
                "{DESCRIPTION} is larger than {MAX_DESCRIPTION} bytes"
            )));
        }
        let description = describe(&first.data);
        Ok(Swu {
            archive,
            description,
        })
    }

    pub fn bytes(&self) -> Vec<u8> {
        cpio::write(&self.archive)
    }

    pub fn description_text(&self) -> &[u8] {
        self.archive
            .entries
            .first()
            .map_or(&[], |e| e.data.as_slice())
    }

    pub fn signature(&self) -> Option<&[u8]> {
        self.entry(SIGNATURE).map(|e| e.data.as_slice())
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.archive.entries.iter().find(|e| e.name == name)
    }

    /// Index of the first payload file (not the description nor its signature).
    pub fn payload_index(&self) -> Option<usize> {
        self.archive
            .entries
            .iter()
            .position(|e| e.name != DESCRIPTION && e.name != SIGNATURE && !e.data.is_empty())
    }

    /// Verifies the description's signature and every declared hash.
    pub fn verify(&self, trusted: &[Vec<u8>]) -> Result<String, String> {
        let signature = self
            .signature()
            .ok_or("the image has no sw-description.sig")?;
        let verified =
            cms::verify(signature, self.description_text(), trusted).map_err(|e| e.to_string())?;
        if self.description.hashes.is_empty() {
            return Err("sw-description declares no sha256 for any file".into());
        }
        for (file, declared) in &self.description.hashes {
            let entry = self
                .entry(file)
                .ok_or_else(|| format!("sw-description names {file:?}, which the image lacks"))?;
            let actual = hex::encode(Sha256::digest(&entry.data));
            if &actual != declared {
                return Err(format!(
                    "{file}: sha256 {actual} differs from the declared {declared}"
                ));
            }
        }
        Ok(format!(
            "sw-description.sig verifies (signer {}), and the sha256 of all {} files matches",
            verified.describe(),
            self.description.hashes.len()
        ))
    }

    /// A copy with the description replaced (the signature left as it was).
    pub fn with_description(&self, text: Vec<u8>) -> Swu {
        let mut copy = self.clone();
        if let Some(first) = copy.archive.entries.first_mut() {
            first.data = text;
        }
        copy.description = describe(copy.description_text());
        copy
    }

    /// A copy with the signature replaced, or removed with `None`.
    pub fn with_signature(&self, signature: Option<Vec<u8>>) -> Swu {
        let mut copy = self.clone();
        copy.archive.entries.retain(|e| e.name != SIGNATURE);
        if let Some(data) = signature {
            let mode = self.entry(SIGNATURE).map_or(0o100644, |e| e.mode);
            let entry = Entry {
                name: SIGNATURE.to_owned(),
                mode,
                mtime: self.archive.entries.first().map_or(0, |e| e.mtime),
                data,
            };
            copy.archive
                .entries
                .insert(1.min(copy.archive.entries.len()), entry);
        }
        copy
    }

    /// A copy with one file's data changed by `change`.
    pub fn with_payload(&self, index: usize, change: impl FnOnce(&mut Vec<u8>)) -> Swu {
        let mut copy = self.clone();
        if let Some(entry) = copy.archive.entries.get_mut(index) {
            change(&mut entry.data);
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBCONFIG: &str = r#"software =
{
	version = "2.1.0";
	description = "Acme camera";
	images: (
		{
			filename = "rootfs.ext4";
			type = "raw";
			device = "/dev/null";
			sha256 = "ABCDEF";
		},
		{
			filename = "kernel";
			sha256 = "0123";
		}
	);
}
"#;

    #[test]
    fn libconfig_is_read_and_rewritten() {
        let description = describe(LIBCONFIG.as_bytes());
        assert_eq!(description.version.as_deref(), Some("2.1.0"));
        assert_eq!(
            description.hashes,
            vec![
                ("rootfs.ext4".into(), "abcdef".into()),
                ("kernel".into(), "0123".into())
            ]
        );
        let older = with_version(LIBCONFIG.as_bytes(), "0.0.1").unwrap();
        assert_eq!(describe(&older).version.as_deref(), Some("0.0.1"));
        let bare = without_hashes(LIBCONFIG.as_bytes());
        assert!(describe(&bare).hashes.is_empty());
        assert!(!String::from_utf8(bare).unwrap().contains("sha256"));
    }

    #[test]
    fn json_is_read() {
        let json = br#"{"software": {"version": "3.0", "images": [{"filename": "a.img", "sha256": "ff"}]}}"#;
        let description = describe(json);
        assert_eq!(description.version.as_deref(), Some("3.0"));
        assert_eq!(description.hashes, vec![("a.img".into(), "ff".into())]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_descriptions_never_panic(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = describe(&text);
            let _ = with_version(&text, "0");
            let _ = without_hashes(&text);
        }
    }
}
