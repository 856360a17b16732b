//! The suite's section of the profile, `[tls]`, as the harness loads it: every number
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
use iotcert_suite_tls::{TlsOptions, TlsSuite};
use proptest::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

use iotcert_suite_testkit::bounds::{field, Field, MINIMAL_PROFILE as MINIMAL};

const TLS_CLIENT_HEAD: &str =
    "[tls.client]\nlisten = \"127.0.0.1:8883\"\nserver_name = \"cloud.example\"\n\
                               trusted_ca_certificate = \"ca.pem\"\ntrusted_ca_key = \"ca.key\"\n";

/// The profile as the harness loads it: the SDK's sections, then the suite's own.
fn load(text: &str) -> Result<Profile, ProfileError> {
    iotcert_suite_testkit::bounds::load_for(&TlsSuite::new("."), text)
}

const WEEK_SECONDS: i64 = 7 * 24 * 3600;
const WEEK_MS: i64 = WEEK_SECONDS * 1000;

fn every_numeric_field() -> Vec<Field> {
    vec![
        field(
            "tls.extra_ports[1]",
            "[tls]\nextra_ports = [\n  8443,\n  VALUE,\n]\n",
            1,
            65_535,
        ),
        field(
            "tls.max_certificate_validity_days",
            "[tls]\nmax_certificate_validity_days = VALUE\n",
            0,
            3_652_425,
        ),
        field("tls.timeout_ms", "[tls]\ntimeout_ms = VALUE\n", 0, WEEK_MS),
        field(
            "tls.client.wait_seconds",
            format!("{TLS_CLIENT_HEAD}wait_seconds = VALUE\n"),
            0,
            WEEK_SECONDS,
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
fn the_tls_client_listen_port_cannot_be_zero() {
    let text = format!(
        "{MINIMAL}[tls.client]\nlisten = \"127.0.0.1:0\"\nserver_name = \"cloud.example\"\n\
         trusted_ca_certificate = \"ca.pem\"\ntrusted_ca_key = \"ca.key\"\n"
    );
    let error = load(&text).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("tls.client.listen"), "{error}");
    assert_eq!(error.line, Some(11), "{error}");
    assert!(error.message.contains("port"), "{error}");
}

/// Every duration an accepted section holds, as the suite builds them.
fn durations(options: &TlsOptions) -> Vec<Duration> {
    let mut all = vec![Duration::from_millis(options.timeout_ms)];
    if let Some(client) = &options.client {
        all.push(Duration::from_secs(client.wait_seconds));
    }
    all
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
            let options = profile.section_or_default::<TlsOptions>().unwrap();
            let now = Instant::now();
            for duration in durations(&options) {
                prop_assert!(now.checked_add(duration).is_some(), "{} = {value}", field.path);
            }
        }
    }
}
