//! The suite's section of the profile, `[protofuzz]`, as the harness loads it: every number
//! bounded and refused out of bounds naming the field, its line and its column (issue
//! 14, items 8 and 14; moved here from the SDK with the section, issue 15, item 3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{Profile, ProfileError};
use iotcert_suite_protofuzz::{HealthEndpoint, ProtofuzzOptions, ProtofuzzSuite};
use proptest::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

use iotcert_suite_testkit::bounds::{field, Field, MINIMAL_PROFILE as MINIMAL};

/// The profile as the harness loads it: the SDK's sections, then the suite's own.
fn load(text: &str) -> Result<Profile, ProfileError> {
    iotcert_suite_testkit::bounds::load_for(&ProtofuzzSuite::new(), text)
}

const WEEK_SECONDS: i64 = 7 * 24 * 3600;

fn every_numeric_field() -> Vec<Field> {
    vec![
        field("protofuzz.seed", "[protofuzz]\nseed = VALUE\n", 0, i64::MAX),
        field(
            "protofuzz.cases_per_protocol",
            "[protofuzz]\ncases_per_protocol = VALUE\n",
            0,
            1_000_000_000,
        ),
        field(
            "protofuzz.seconds_per_protocol",
            "[protofuzz]\nseconds_per_protocol = VALUE\n",
            0,
            WEEK_SECONDS,
        ),
        field(
            "protofuzz.parallel_cases",
            "[protofuzz]\nparallel_cases = VALUE\n",
            1,
            64,
        ),
        field(
            "protofuzz.probe_every",
            "[protofuzz]\nprobe_every = VALUE\n",
            1,
            10_000,
        ),
        field(
            "protofuzz.recovery_wait_seconds",
            "[protofuzz]\nrecovery_wait_seconds = VALUE\n",
            0,
            WEEK_SECONDS,
        ),
        field(
            "protofuzz.timeout_ms",
            "[protofuzz]\ntimeout_ms = VALUE\n",
            50,
            60_000,
        ),
        field(
            "protofuzz.health.port",
            "[protofuzz.health]\nport = VALUE\n",
            1,
            65_535,
        ),
    ]
}

#[test]
fn the_templates_are_valid_profiles_at_their_bounds() {
    for field in every_numeric_field() {
        field.assert_accepted(load, &field.min.to_string());
        field.assert_accepted(load, &field.max.to_string());
    }
}

#[test]
fn the_largest_toml_integer_is_refused_naming_the_field() {
    for field in every_numeric_field() {
        if field.max < i64::MAX {
            field.assert_refused(load, &i64::MAX.to_string());
        }
    }
}

#[test]
fn a_number_toml_cannot_hold_is_refused_naming_the_field() {
    for field in every_numeric_field() {
        field.assert_refused(load, &u64::MAX.to_string());
    }
}

#[test]
fn one_past_each_maximum_and_one_below_each_minimum_is_refused() {
    for field in every_numeric_field() {
        if field.max < i64::MAX {
            field.assert_refused(load, &(field.max + 1).to_string());
        }
        field.assert_refused(load, &(field.min - 1).to_string());
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
            field.assert_refused(load, "0");
            tried += 1;
        }
    }
    assert_eq!(tried, 1, "every port field of the device was tried");
}

#[test]
fn the_bound_the_tests_use_is_the_published_one() {
    assert_eq!(iotcert_suite_protofuzz::MAX_PROTOFUZZ_PARALLEL_CASES, 64);
}

#[test]
fn a_health_endpoint_is_read_and_its_path_checked() {
    let text = format!("{MINIMAL}\n[protofuzz.health]\nport = 8080\nexpect = \"1.0\"\n");
    let profile = load(&text).unwrap();
    assert_eq!(
        profile
            .section_or_default::<ProtofuzzOptions>()
            .unwrap()
            .health,
        Some(HealthEndpoint {
            port: 8080,
            path: "/".into(),
            expect: Some("1.0".into())
        })
    );
    let text = format!("{MINIMAL}\n[protofuzz.health]\nport = 8080\npath = \"/a b\\r\\nX: y\"\n");
    let error = load(&text).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("protofuzz.health.path"));
    assert_eq!(error.line, Some(13), "{error}");
}

/// 1-based line and column where `needle` occurs in `text`.
fn place(text: &str, needle: &str) -> (Option<usize>, Option<usize>) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} does not occur"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (Some(line), Some(column))
}

/// The profile is refused naming `field`, at the first occurrence of `needle`.
fn assert_points_at(text: &str, field: &str, needle: &str) {
    let error = load(text).expect_err("the profile must be refused");
    assert_eq!(error.field.as_deref(), Some(field), "{error}");
    assert_eq!((error.line, error.column), place(text, needle), "{error}");
}

#[test]
fn an_out_of_range_duration_points_at_its_own_line_not_a_same_named_key_elsewhere() {
    // `timeout_ms` appears three times; the one out of range is the protofuzz one.
    let text = format!(
        "{MINIMAL}[tls]\ntimeout_ms = 2000\n\n\
         [credentials]\nattempt_timeout_ms = 1500\n\n\
         [protofuzz]\ntimeout_ms = 9223372036854775807\n"
    );
    assert_points_at(&text, "protofuzz.timeout_ms", "9223372036854775807");
}

#[test]
fn an_error_inside_a_dotted_key_points_at_its_value() {
    let text = format!("{MINIMAL}[protofuzz]\nhealth.port = 8080\nhealth.path = \"no-slash\"\n");
    assert_points_at(&text, "protofuzz.health.path", "\"no-slash\"");
}

/// Every duration an accepted section holds, as the suite builds them.
fn durations(options: &ProtofuzzOptions) -> Vec<Duration> {
    vec![
        Duration::from_secs(options.seconds_per_protocol),
        Duration::from_secs(options.recovery_wait_seconds),
        Duration::from_millis(options.timeout_ms),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever number a field is given, loading does not panic, and what it accepts
    /// can be added to the clock without overflow.
    #[test]
    fn no_number_in_any_field_makes_loading_or_using_the_section_panic(
        index in 0usize..8,
        value in prop_oneof![any::<i64>(), 0i64..2_000_000, Just(i64::MAX), Just(i64::MIN)],
    ) {
        let fields = every_numeric_field();
        let field = &fields[index % fields.len()];
        if let Ok(profile) = load(&field.text(&value.to_string())) {
            prop_assert!(value >= field.min && value <= field.max, "{} = {value} accepted", field.path);
            let options = profile.section_or_default::<ProtofuzzOptions>().unwrap();
            let now = Instant::now();
            let mut total = Duration::ZERO;
            for duration in durations(&options) {
                prop_assert!(now.checked_add(duration).is_some(), "{} = {value}", field.path);
                total = total.checked_add(duration).unwrap_or(Duration::MAX);
            }
            prop_assert!(now.checked_add(total).is_some(), "{} = {value}: the sum", field.path);
        }
    }
}
