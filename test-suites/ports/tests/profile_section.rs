//! The suite's section of the profile, `[ports]`, as the harness loads it: every number
//! bounded and refused out of bounds naming the field, its line and its column (issue
//! 14, items 8 and 14; moved here from the SDK with the section, issue 15, item 3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{Profile, ProfileError, Suite};
use iotcert_suite_ports::{PortsOptions, PortsSuite};
use proptest::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

const MINIMAL: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                       [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n";

/// The profile as the harness loads it: the SDK's sections, then the suite's own.
fn load(text: &str) -> Result<Profile, ProfileError> {
    let profile = Profile::from_toml_str(text)?;
    for section in PortsSuite::new().profile_sections() {
        section.check(&profile)?;
    }
    Ok(profile)
}

/// One numeric field: where it sits (`VALUE` marks the number), its dotted path, the
/// smallest and largest values a profile may give it.
struct Field {
    path: &'static str,
    template: &'static str,
    min: i64,
    max: i64,
}

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

const FIELDS: [Field; 3] = [
    Field {
        path: "ports.connect_timeout_ms",
        template: "[ports]\nconnect_timeout_ms = VALUE\n",
        min: 0,
        max: WEEK_MS,
    },
    Field {
        path: "ports.retries",
        template: "[ports]\nretries = VALUE\n",
        min: 0,
        max: 100,
    },
    Field {
        path: "ports.ignore[0].port",
        template: "[[ports.ignore]]\nport = VALUE\ntransport = \"udp\"\nreason = \"the host's resolver\"\n",
        min: 1,
        max: 65_535,
    },
];

impl Field {
    fn text(&self, value: &str) -> String {
        format!("{MINIMAL}{}", self.template.replace("VALUE", value))
    }

    /// 1-based line and column of the number in the text.
    fn place(&self) -> (Option<usize>, Option<usize>) {
        let text = format!("{MINIMAL}{}", self.template);
        let (index, line) = text
            .lines()
            .enumerate()
            .find(|(_, line)| line.contains("VALUE"))
            .unwrap_or_else(|| panic!("{}: the template has no VALUE", self.path));
        (Some(index + 1), line.find("VALUE").map(|column| column + 1))
    }

    fn assert_refused(&self, value: &str) {
        match load(&self.text(value)) {
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
                    self.place(),
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
    for field in &FIELDS {
        field.assert_accepted(&field.min.to_string());
        field.assert_accepted(&field.max.to_string());
    }
}

#[test]
fn the_largest_toml_integer_is_refused_naming_the_field() {
    for field in &FIELDS {
        field.assert_refused(&i64::MAX.to_string());
    }
}

#[test]
fn a_number_toml_cannot_hold_is_refused_naming_the_field() {
    for field in &FIELDS {
        field.assert_refused(&u64::MAX.to_string());
    }
}

#[test]
fn one_past_each_maximum_and_one_below_each_minimum_is_refused() {
    for field in &FIELDS {
        field.assert_refused(&(field.max + 1).to_string());
        field.assert_refused(&(field.min - 1).to_string());
    }
}

#[test]
fn port_zero_is_refused_wherever_the_device_listens() {
    let mut tried = 0;
    for field in FIELDS.iter().filter(|field| field.path.ends_with("port")) {
        if field.min == 1 {
            field.assert_refused("0");
            tried += 1;
        }
    }
    assert_eq!(tried, 1, "every port field of the device was tried");
}

#[test]
fn a_malformed_port_range_points_at_that_range() {
    let text = format!("{MINIMAL}[ports]\ntcp = [\"1-1024\",\n  \"9000-8000\"]\n");
    let error = load(&text).expect_err("the profile must be refused");
    assert_eq!(error.field.as_deref(), Some("ports.tcp[1]"), "{error}");
    let offset = text.find("\"9000-8000\"").unwrap();
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    assert_eq!(
        (error.line, error.column),
        (Some(line), Some(column)),
        "{error}"
    );
}

#[test]
fn an_unknown_field_of_the_section_is_refused_naming_it() {
    let text = format!("{MINIMAL}[ports]\nretires = 3\n");
    let error = load(&text).expect_err("the profile must be refused");
    assert_eq!(error.field.as_deref(), Some("ports.retires"), "{error}");
    assert_eq!((error.line, error.column), (Some(11), Some(1)), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever number a field is given, loading does not panic, and the connect
    /// timeout it accepts can be added to the clock.
    #[test]
    fn no_number_in_any_field_makes_loading_or_using_the_section_panic(
        index in 0usize..3,
        value in prop_oneof![any::<i64>(), 0i64..2_000_000, Just(i64::MAX), Just(i64::MIN)],
    ) {
        let field = &FIELDS[index % FIELDS.len()];
        if let Ok(profile) = load(&field.text(&value.to_string())) {
            prop_assert!(value >= field.min && value <= field.max, "{} = {value} accepted", field.path);
            let options = profile.section_or_default::<PortsOptions>().unwrap();
            let timeout = Duration::from_millis(options.connect_timeout_ms);
            prop_assert!(Instant::now().checked_add(timeout).is_some(), "{} = {value}", field.path);
        }
    }
}
