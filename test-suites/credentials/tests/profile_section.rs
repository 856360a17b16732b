//! The suite's section of the profile, `[credentials]`, as the harness loads it: every number
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
use iotcert_suite_credentials::{CredentialsOptions, CredentialsSuite};
use proptest::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

use iotcert_suite_testkit::bounds::{field, Field, MINIMAL_PROFILE as MINIMAL};

/// The profile as the harness loads it: the SDK's sections, then the suite's own.
fn load(text: &str) -> Result<Profile, ProfileError> {
    iotcert_suite_testkit::bounds::load_for(&CredentialsSuite::new(), text)
}

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

fn every_numeric_field() -> Vec<Field> {
    vec![
        field(
            "credentials.brute_force_attempts",
            "[credentials]\nbrute_force_attempts = VALUE\n",
            0,
            100_000,
        ),
        field(
            "credentials.max_candidates",
            "[credentials]\nmax_candidates = VALUE\n",
            0,
            1_000_000,
        ),
        field(
            "credentials.concurrency",
            "[credentials]\nconcurrency = VALUE\n",
            1,
            1_048_576,
        ),
        field(
            "credentials.attempt_timeout_ms",
            "[credentials]\nattempt_timeout_ms = VALUE\n",
            0,
            WEEK_MS,
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
        field.assert_refused(load, &i64::MAX.to_string());
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
        field.assert_refused(load, &(field.max + 1).to_string());
        field.assert_refused(load, &(field.min - 1).to_string());
    }
}

#[test]
fn an_unknown_field_of_the_section_is_refused_naming_it() {
    let text = format!("{MINIMAL}[credentials]\nmax_candidate = 3\n");
    let error = load(&text).expect_err("the profile must be refused");
    assert_eq!(
        error.field.as_deref(),
        Some("credentials.max_candidate"),
        "{error}"
    );
    assert_eq!((error.line, error.column), (Some(11), Some(1)), "{error}");
}

/// Every duration an accepted section holds, as the suite builds them.
fn durations(options: &CredentialsOptions) -> Vec<Duration> {
    vec![Duration::from_millis(options.attempt_timeout_ms)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever number a field is given, loading does not panic, and what it accepts
    /// can be added to the clock without overflow.
    #[test]
    fn no_number_in_any_field_makes_loading_or_using_the_section_panic(
        index in 0usize..4,
        value in prop_oneof![any::<i64>(), 0i64..2_000_000, Just(i64::MAX), Just(i64::MIN)],
    ) {
        let fields = every_numeric_field();
        let field = &fields[index % fields.len()];
        if let Ok(profile) = load(&field.text(&value.to_string())) {
            prop_assert!(value >= field.min && value <= field.max, "{} = {value} accepted", field.path);
            let options = profile.section_or_default::<CredentialsOptions>().unwrap();
            let now = Instant::now();
            for duration in durations(&options) {
                prop_assert!(now.checked_add(duration).is_some(), "{} = {value}", field.path);
            }
        }
    }
}
