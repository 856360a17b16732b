//! Issue 14, item 9 (profile part): a profile file is read through a cap, so a path
//! that names a huge file (or a device that never ends, such as /dev/zero) costs at
//! most the cap in memory and ends with a clear error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::profile::MAX_PROFILE_BYTES;
use iotcert_suite::Profile;
use std::io::Write;
use std::path::PathBuf;

const MINIMAL: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                       [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n";

/// A file in a fresh directory of its own under the system's temporary directory.
struct TempFile {
    directory: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn with_text(name: &str, text: &str) -> TempFile {
        let directory = std::env::temp_dir().join(format!(
            "iotcert-sdk-profile-file-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("profile.toml");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
        TempFile { directory, path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// MINIMAL padded with a TOML comment to exactly `size` bytes.
fn padded(size: usize) -> String {
    let mut text = MINIMAL.to_owned();
    text.push('#');
    text.push_str(&"x".repeat(size - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), size);
    text
}

#[test]
fn a_profile_file_is_read_and_its_exact_text_returned() {
    let file = TempFile::with_text("small", MINIMAL);
    let (text, profile) = Profile::from_path(&file.path).unwrap();
    assert_eq!(text, MINIMAL);
    assert_eq!(profile.units[0].id, "cam-1");
}

#[test]
fn a_profile_of_exactly_the_cap_is_read() {
    let file = TempFile::with_text("at-cap", &padded(MAX_PROFILE_BYTES));
    let (text, _) = Profile::from_path(&file.path).unwrap();
    assert_eq!(text.len(), MAX_PROFILE_BYTES);
}

#[test]
fn a_profile_one_byte_over_the_cap_is_refused_before_it_is_parsed() {
    let file = TempFile::with_text("over-cap", &padded(MAX_PROFILE_BYTES + 1));
    let error = Profile::from_path(&file.path).unwrap_err();
    assert!(
        error.message.starts_with("profile is larger than"),
        "{error}"
    );
    assert!(error.message.contains("1048576 bytes"), "{error}");
    assert_eq!(
        (error.line, error.field.as_deref()),
        (None, None),
        "{error}"
    );
}

#[test]
fn a_file_that_never_ends_costs_the_cap_only() {
    let error = Profile::from_path(std::path::Path::new("/dev/zero")).unwrap_err();
    assert!(
        error.message.starts_with("profile is larger than"),
        "{error}"
    );
}

#[test]
fn text_over_the_cap_is_refused_when_parsed_too() {
    let error = Profile::from_toml_str(&padded(MAX_PROFILE_BYTES + 1)).unwrap_err();
    assert!(
        error.message.starts_with("profile is larger than"),
        "{error}"
    );
}

#[test]
fn a_missing_file_and_a_file_that_is_not_utf8_are_clear_errors() {
    let error =
        Profile::from_path(std::path::Path::new("/nonexistent/iotcert/profile.toml")).unwrap_err();
    assert!(error.message.contains("cannot read"), "{error}");
    let directory = std::env::temp_dir().join(format!(
        "iotcert-sdk-profile-file-{}-latin1",
        std::process::id()
    ));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("profile.toml");
    std::fs::write(&path, b"[device]\nmanufacturer = \"Acm\xe9\"\n").unwrap();
    let error = Profile::from_path(&path).unwrap_err();
    let _ = std::fs::remove_dir_all(&directory);
    assert!(error.message.contains("UTF-8"), "{error}");
}
