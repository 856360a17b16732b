//! The suite's section of the profile, `[update]`, as the harness loads it (issue 14,
//! items 8 and 14; moved here from the SDK with the section, issue 15, item 3): every
//! number bounded and refused out of bounds naming the field and its place, instead of
//! panicking later ("overflow when adding duration to instant"); each field tried at its
//! documented maximum, one past it, the largest TOML integer and a number TOML cannot
//! hold at all; and an error inside a table chosen by `kind` points at the offending
//! key or value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{Profile, ProfileError, Suite};
use iotcert_suite_update::{UpdateDelivery, UpdateOptions, UpdateSuite};
use proptest::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

const MINIMAL: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                       [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n";

/// The profile as the harness loads it: the SDK's sections, then the suite's own.
fn load(text: &str) -> Result<Profile, ProfileError> {
    let profile = Profile::from_toml_str(text)?;
    for section in UpdateSuite::new(".").profile_sections() {
        section.check(&profile)?;
    }
    Ok(profile)
}

const UPDATE_HEAD: &str = "[update]\nformat = \"plain\"\ngenuine_image = \"a.img\"\n\
                           genuine_version = \"2.0\"\nsigner_certificate = \"signer.pem\"\n";

/// One numeric field: where it sits (`VALUE` marks the number), its dotted path, the
/// smallest and largest values a profile may give it.
struct Field {
    path: &'static str,
    template: String,
    min: i64,
    max: i64,
}

fn field(path: &'static str, template: impl Into<String>, min: i64, max: i64) -> Field {
    Field {
        path,
        template: template.into(),
        min,
        max,
    }
}

const WEEK_SECONDS: i64 = 7 * 24 * 3600;

fn every_numeric_field() -> Vec<Field> {
    let upload = |extra: &str| {
        format!("{UPDATE_HEAD}\n[update.delivery]\nkind = \"http-upload\"\nport = 8080\n{extra}")
    };
    vec![
        field(
            "update.settle_seconds",
            format!("{UPDATE_HEAD}settle_seconds = VALUE\n[update.delivery]\nkind = \"http-upload\"\nport = 8080\n"),
            0,
            WEEK_SECONDS,
        ),
        field(
            "update.delivery.port",
            format!("{UPDATE_HEAD}\n[update.delivery]\nkind = \"http-upload\"\nport = VALUE\n"),
            1,
            65_535,
        ),
        field(
            "update.delivery.timeout_seconds",
            upload("timeout_seconds = VALUE\n"),
            0,
            WEEK_SECONDS,
        ),
        field(
            "update.delivery.port",
            format!("{UPDATE_HEAD}\n[update.delivery]\nkind = \"serve\"\nport = VALUE\n"),
            // 0 asks the system for any free port of this host: the update server
            // listens, the device connects to it.
            0,
            65_535,
        ),
        field(
            "update.delivery.timeout_seconds",
            format!("{UPDATE_HEAD}\n[update.delivery]\nkind = \"serve\"\ntimeout_seconds = VALUE\n"),
            0,
            WEEK_SECONDS,
        ),
        field(
            "update.delivery.timeout_seconds",
            format!("{UPDATE_HEAD}\n[update.delivery]\nkind = \"command\"\nprogram = \"flash\"\ntimeout_seconds = VALUE\n"),
            0,
            WEEK_SECONDS,
        ),
        field(
            "update.delivery.success_exit_codes[1]",
            format!("{UPDATE_HEAD}\n[update.delivery]\nkind = \"command\"\nprogram = \"flash\"\nsuccess_exit_codes = [0,\n VALUE]\n"),
            0,
            255,
        ),
        field(
            "update.version_query.port",
            upload("\n[update.version_query]\nkind = \"http\"\nport = VALUE\n"),
            1,
            65_535,
        ),
        field(
            "update.acceptance.port",
            upload("\n[update.acceptance]\nkind = \"swupdate-websocket\"\nport = VALUE\n"),
            1,
            65_535,
        ),
    ]
}

impl Field {
    fn text(&self, value: &str) -> String {
        format!("{MINIMAL}{}", self.template.replace("VALUE", value))
    }

    /// 1-based line of the number in the text.
    fn line(&self) -> usize {
        let text = format!("{MINIMAL}{}", self.template);
        text.lines()
            .position(|line| line.contains("VALUE"))
            .map(|index| index + 1)
            .unwrap_or_else(|| panic!("{}: the template has no VALUE", self.path))
    }

    /// 1-based column of the number in the text.
    fn column(&self) -> usize {
        let text = format!("{MINIMAL}{}", self.template);
        let line = text.lines().nth(self.line() - 1).unwrap_or("");
        line.find("VALUE").map_or(0, |index| index + 1)
    }

    fn assert_refused(&self, value: &str) {
        let text = self.text(value);
        match load(&text) {
            Ok(_) => panic!("{} = {value} must be refused", self.path),
            Err(error) => {
                assert_eq!(
                    error.field.as_deref(),
                    Some(self.path),
                    "{} = {value}: {error}",
                    self.path
                );
                assert_eq!(
                    (error.line, error.column),
                    (Some(self.line()), Some(self.column())),
                    "{} = {value}: {error}",
                    self.path
                );
            }
        }
    }

    fn assert_accepted(&self, value: &str) {
        if let Err(error) = load(&self.text(value)) {
            panic!("{} = {value} must be accepted: {error}", self.path);
        }
    }
}

#[test]
fn the_templates_are_valid_profiles_at_their_bounds() {
    for field in every_numeric_field() {
        field.assert_accepted(&field.min.to_string());
        field.assert_accepted(&field.max.to_string());
    }
}

#[test]
fn the_largest_toml_integer_is_refused_naming_the_field() {
    for field in every_numeric_field() {
        if field.max < i64::MAX {
            field.assert_refused(&i64::MAX.to_string());
        }
    }
}

#[test]
fn a_number_toml_cannot_hold_is_refused_naming_the_field() {
    for field in every_numeric_field() {
        field.assert_refused(&u64::MAX.to_string());
    }
}

#[test]
fn one_past_each_maximum_and_one_below_each_minimum_is_refused() {
    for field in every_numeric_field() {
        if field.max < i64::MAX {
            field.assert_refused(&(field.max + 1).to_string());
        }
        field.assert_refused(&(field.min - 1).to_string());
    }
}

#[test]
fn port_zero_is_refused_wherever_the_device_listens() {
    let ports = every_numeric_field()
        .into_iter()
        .filter(|field| field.path.ends_with("port") || field.path.contains("ports["));
    let mut tried = 0;
    for field in ports {
        if field.min == 1 {
            field.assert_refused("0");
            tried += 1;
        }
    }
    assert_eq!(tried, 3, "every port field of the device was tried");
}

/// Every duration an accepted section holds, as the suite builds them.
fn durations(profile: &Profile) -> Vec<Duration> {
    let mut all = Vec::new();
    if let Ok(Some(update)) = profile.section::<UpdateOptions>() {
        all.push(Duration::from_secs(update.settle_seconds));
        match &update.delivery {
            UpdateDelivery::HttpUpload {
                timeout_seconds, ..
            }
            | UpdateDelivery::Serve {
                timeout_seconds, ..
            }
            | UpdateDelivery::Command {
                timeout_seconds, ..
            } => all.push(Duration::from_secs(*timeout_seconds)),
        }
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever number a field is given, loading does not panic, and what it accepts
    /// can be added to the clock, added up and multiplied by the counts without
    /// overflow.
    #[test]
    fn no_number_in_any_field_makes_loading_or_using_the_section_panic(
        index in 0usize..32,
        value in prop_oneof![
            any::<i64>(),
            0i64..2_000_000,
            Just(i64::MAX),
            Just(i64::MIN),
        ],
    ) {
        let fields = every_numeric_field();
        let field = &fields[index % fields.len()];
        if let Ok(profile) = load(&field.text(&value.to_string())) {
            prop_assert!(value >= field.min && value <= field.max, "{} = {value} accepted", field.path);
            let now = Instant::now();
            let mut total = Duration::ZERO;
            for duration in durations(&profile) {
                prop_assert!(now.checked_add(duration).is_some(), "{} = {value}", field.path);
                total = total.checked_add(duration).unwrap_or(Duration::MAX);
            }
            prop_assert!(now.checked_add(total).is_some(), "{} = {value}: the sum", field.path);
        }
    }
}

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
    let error = load(text).expect_err("the profile must be refused");
    assert_eq!(error.field.as_deref(), Some(field), "{error}");
    let (line, column) = place(text, needle, nth);
    assert_eq!(
        (error.line, error.column),
        (Some(line), Some(column)),
        "{error}"
    );
}

const UPDATE: &str = "\n[[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n\
                      [update]\nformat = \"plain\"\ngenuine_image = \"a.img\"\n\
                      genuine_version = \"2.0\"\nsigner_certificate = \"signer.pem\"\n\n\
                      [update.delivery]\nkind = \"http-upload\"\n";

/// Inside a table chosen by `kind`, serde reports errors at the table; the error still
/// points at the offending key or value.
#[test]
fn errors_inside_a_kind_table_point_at_the_offending_key_or_value() {
    let text = format!("{HEAD}{UPDATE}port = 8080\ntimeot_seconds = 5\n");
    assert_points_at(&text, "update.delivery.timeot_seconds", "timeot_seconds", 0);

    let text = format!("{HEAD}{UPDATE}port = 8080\ntimeout_seconds = \"soon\"\n");
    assert_points_at(&text, "update.delivery.timeout_seconds", "\"soon\"", 0);

    let text = format!("{HEAD}{UPDATE}port = 80800\n");
    assert_points_at(&text, "update.delivery.port", "80800", 0);

    let text = format!(
        "{HEAD}{UPDATE}port = 8080\n\n[update.version_query]\nkind = \"http\"\nport = -1\n"
    );
    assert_points_at(&text, "update.version_query.port", "-1\n", 0);
}

/// When the message could name two values, the error stays at the table rather than
/// guess.
#[test]
fn an_ambiguous_error_inside_a_kind_table_points_at_the_table() {
    let text = format!("{HEAD}{UPDATE}port = 70000\ntimeout_seconds = 70000\n");
    let error = load(&text).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("update.delivery"), "{error}");
    assert_eq!(
        error.line,
        Some(place(&text, "[update.delivery]", 0).0),
        "{error}"
    );
}
