//! Issue 14, item 14: a validation error points at the offending value's own line and
//! column, taken from the parser's spans, not at the first line where a key of the same
//! name appears.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::Profile;

const HEAD: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n";

/// 1-based line and column where `needle` occurs for the `nth` time (0-based) in `text`.
fn place(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .map(|(offset, _)| offset)
        .unwrap_or_else(|| panic!("{needle:?} occurs fewer than {} times", nth + 1));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (line, column)
}

fn assert_points_at(text: &str, field: &str, needle: &str, nth: usize) {
    let error = Profile::from_toml_str(text).expect_err("the profile must be refused");
    assert_eq!(error.field.as_deref(), Some(field), "{error}");
    let (line, column) = place(text, needle, nth);
    assert_eq!(
        (error.line, error.column),
        (Some(line), Some(column)),
        "{error}"
    );
}

#[test]
fn a_duplicate_unit_id_points_at_the_second_id() {
    let text = format!(
        "{HEAD}\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n\
         [[units]]\nid = \"cam-2\"\naddress = \"127.0.0.2\"\n\n\
         [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.3\"\n"
    );
    assert_points_at(&text, "units[2].id", "\"cam-1\"", 1);
    let error = Profile::from_toml_str(&text).unwrap_err();
    assert_eq!(error.line, Some(15), "{error}");
    assert_eq!(error.column, Some(6), "{error}");
}

#[test]
fn a_duplicate_unit_id_in_inline_tables_points_at_the_second_id() {
    let text = format!(
        "units = [\n  {{ id = \"cam-1\", address = \"127.0.0.1\" }},\n  \
         {{ id = \"cam-1\", address = \"127.0.0.2\" }},\n]\n{HEAD}"
    );
    assert_points_at(&text, "units[1].id", "\"cam-1\"", 1);
    let error = Profile::from_toml_str(&text).unwrap_err();
    assert_eq!(error.line, Some(3), "{error}");
}

#[test]
fn a_duplicate_unit_address_points_at_the_second_address() {
    let text = format!(
        "{HEAD}\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.5\"\n\n\
         [[units]]\nid = \"cam-2\"\naddress = \"127.0.0.5\"\n"
    );
    assert_points_at(&text, "units[1].address", "\"127.0.0.5\"", 1);
    let error = Profile::from_toml_str(&text).unwrap_err();
    assert_eq!(error.line, Some(12), "{error}");
}

#[test]
fn a_malformed_unit_id_points_at_that_id() {
    let text = format!(
        "{HEAD}\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n\
         [[units]]\nid = \"cam 2\"\naddress = \"127.0.0.2\"\n"
    );
    assert_points_at(&text, "units[1].id", "\"cam 2\"", 0);
}

#[test]
fn an_interface_declared_twice_points_at_the_second_declaration() {
    let text = format!(
        "{HEAD}\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n\
         [[interfaces]]\nport = 443\ntransport = \"tcp\"\nservice = \"https\"\n\n\
         [[interfaces]]\nport = 80\ntransport = \"tcp\"\nservice = \"http\"\n\n\
         [[interfaces]]\nport = 443\ntransport = \"udp\"\nservice = \"quic\"\n\n\
         [[interfaces]]\nport = 80\ntransport = \"tcp\"\nservice = \"web\"\n"
    );
    assert_points_at(
        &text,
        "interfaces[3].port",
        "80\ntransport = \"tcp\"\nservice = \"web\"",
        0,
    );
    let error = Profile::from_toml_str(&text).unwrap_err();
    assert_eq!(error.line, Some(26), "{error}");
    assert!(error.message.contains("interfaces[1]"), "{error}");
}

#[test]
fn an_out_of_range_number_points_at_that_number() {
    let text = format!(
        "{HEAD}\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n\
         [campaign]\nsuites = [\"ports\"]\n\n\
         [protofuzz]\nseconds_per_protocol = 60\n\n\
         [credentials]\nmax_candidates = 10\n\n\
         [[interfaces]]\nport = 22\ntransport = \"tcp\"\nservice = \"ssh\"\n\n\
         [[interfaces]]\nport = 0\ntransport = \"tcp\"\nservice = \"http\"\n"
    );
    assert_points_at(
        &text,
        "interfaces[1].port",
        "0\ntransport = \"tcp\"\nservice = \"http\"",
        0,
    );
    let error = Profile::from_toml_str(&text).unwrap_err();
    assert_eq!(error.line, Some(25), "{error}");
    assert_eq!(error.column, Some(8), "{error}");
}

#[test]
fn a_unit_address_written_ipv4_mapped_is_the_same_address() {
    let text = format!(
        "{HEAD}\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.5\"\n\n\
         [[units]]\nid = \"cam-2\"\naddress = \"::ffff:127.0.0.5\"\n"
    );
    assert_points_at(&text, "units[1].address", "\"::ffff:127.0.0.5\"", 0);
}
