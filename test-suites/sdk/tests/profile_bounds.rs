//! Issue 14, item 8: every number of the profile is bounded, and a number out of bounds
//! is refused when the profile is loaded, naming the field and its place, instead of
//! panicking later ("overflow when adding duration to instant") or allocating without
//! end. Each field is tried at its documented maximum, one past it, the largest TOML
//! integer and a number TOML cannot hold at all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::profile::limits;
use iotcert_suite::Profile;
use proptest::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

const MINIMAL: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                       [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n";

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

const DAY_SECONDS: i64 = 24 * 3600;
const WEEK_SECONDS: i64 = 7 * DAY_SECONDS;
const WEEK_MS: i64 = WEEK_SECONDS * 1000;

fn every_numeric_field() -> Vec<Field> {
    vec![
        field(
            "pacing.max_connections",
            "[pacing]\nmax_connections = VALUE\n",
            1,
            1_048_576,
        ),
        field(
            "pacing.connections_per_second",
            "[pacing]\nconnections_per_second = VALUE\n",
            1,
            i64::from(u32::MAX),
        ),
        field(
            "campaign.suite_deadline_seconds",
            "[campaign]\nsuite_deadline_seconds = VALUE\n",
            1,
            WEEK_SECONDS,
        ),
        field(
            "interfaces[1].port",
            "[[interfaces]]\nport = 22\ntransport = \"tcp\"\nservice = \"ssh\"\n\n\
             [[interfaces]]\nport = VALUE\ntransport = \"tcp\"\nservice = \"http\"\n",
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
        match Profile::from_toml_str(&text) {
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
        if let Err(error) = Profile::from_toml_str(&self.text(value)) {
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
    assert_eq!(tried, 1, "every port field of the device was tried");
}

#[test]
fn the_bounds_the_tests_use_are_the_published_ones() {
    assert_eq!(limits::MAX_DURATION_SECONDS, WEEK_SECONDS as u64);
    assert_eq!(limits::MAX_DURATION_MS, WEEK_MS as u64);
    assert_eq!(limits::MAX_CONNECTIONS, 1_048_576);
}

/// Every duration an accepted profile holds, as the suites and the engine build them.
fn durations(profile: &Profile) -> Vec<Duration> {
    vec![Duration::from_secs(profile.campaign.suite_deadline_seconds)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever number a field is given, loading does not panic, and what it accepts
    /// can be added to the clock, added up and multiplied by the counts without
    /// overflow.
    #[test]
    fn no_number_in_any_field_makes_loading_or_using_the_profile_panic(
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
        if let Ok(profile) = Profile::from_toml_str(&field.text(&value.to_string())) {
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
