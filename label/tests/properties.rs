//! Properties of labels (issue "Trust label", acceptance): no single flipped bit of a
//! label file ever verifies; any predicate survives issue then verify; validity
//! boundaries are exact (valid from `issued_at` inclusive to `expires_at` exclusive).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use std::sync::OnceLock;

use common::*;
use iotcert_label::statement::{
    CheckVerdict, LabelDevice, LabelPredicate, LabelStatement, LevelRef, SchemeRef, ToolVersion,
};
use iotcert_label::{
    sign_statement, FirmwareCheck, FirmwareSubject, ReasonCode, Sha256Hex, Verifier,
};
use iotcert_suite::{Modal, Verdict};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

struct Fixture {
    pki: TestPki,
    label: Vec<u8>,
    verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pki = TestPki::new();
        let label = issue_at(&pki, t0()).file;
        let verifier = pki.verifier();
        Fixture {
            pki,
            label,
            verifier,
        }
    })
}

fn verify_flipped(bit: usize) -> bool {
    let fixture = fixture();
    let mut label = fixture.label.clone();
    if let Some(byte) = label.get_mut(bit / 8) {
        *byte ^= 1 << (bit % 8);
    }
    fixture
        .verifier
        .verify(
            &label,
            t0() + Duration::days(1),
            Some(FirmwareCheck::Image(FIRMWARE)),
        )
        .is_ok()
}

#[test]
fn the_unflipped_label_verifies() {
    let fixture = fixture();
    fixture
        .verifier
        .verify(
            &fixture.label,
            t0() + Duration::days(1),
            Some(FirmwareCheck::Image(FIRMWARE)),
        )
        .expect("valid");
}

/// Every bit of every byte outside the long base64 strings (field names, punctuation,
/// whitespace, format, payload type, key id), and one bit of every byte inside them
/// (payload, signature, certificates: a rotating bit, so each bit position is hit).
/// Every bit of the whole file takes a minute or two in a debug build: set
/// `IOTCERT_LABEL_FULL_SWEEP=1` for that.
#[test]
fn no_single_bit_flip_at_any_byte_verifies() {
    let label = &fixture().label;
    let full_sweep = std::env::var_os("IOTCERT_LABEL_FULL_SWEEP").is_some();
    let in_long_base64 = long_base64_runs(label);
    let bits: Vec<usize> = (0..label.len())
        .flat_map(|byte| {
            let sampled = in_long_base64[byte] && !full_sweep;
            let all_bits = if sampled {
                byte % 8..byte % 8 + 1
            } else {
                0..8
            };
            all_bits.map(move |bit| byte * 8 + bit)
        })
        .collect();
    let verified: Vec<usize> = bits
        .iter()
        .copied()
        .filter(|bit| verify_flipped(*bit))
        .collect();
    assert!(
        verified.is_empty(),
        "bits whose flip still verifies: {verified:?}"
    );
}

/// Marks bytes inside runs of 64 or more base64 characters.
fn long_base64_runs(bytes: &[u8]) -> Vec<bool> {
    let is_base64 = |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=');
    let mut marks = vec![false; bytes.len()];
    let mut start = 0;
    while start < bytes.len() {
        let run = bytes[start..]
            .iter()
            .take_while(|byte| is_base64(byte))
            .count();
        if run >= 64 {
            marks[start..start + run]
                .iter_mut()
                .for_each(|mark| *mark = true);
        }
        start += run.max(1);
    }
    marks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_random_single_bit_flip_never_verifies(index in any::<prop::sample::Index>()) {
        let bit = index.index(fixture().label.len() * 8);
        prop_assert!(!verify_flipped(bit), "flipping bit {} verified", bit);
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ -~]{0,40}", "\\PC{0,12}"]
}

fn verdict() -> impl Strategy<Value = Verdict> {
    prop::sample::select(Verdict::ALL.to_vec())
}

fn modal() -> impl Strategy<Value = Modal> {
    prop::sample::select(vec![Modal::Shall, Modal::Should])
}

fn check_verdict() -> impl Strategy<Value = CheckVerdict> {
    (verdict(), modal(), prop::collection::vec(text(), 0..3)).prop_map(
        |(verdict, modal, provisions)| CheckVerdict {
            verdict,
            modal,
            provisions,
        },
    )
}

fn digest() -> impl Strategy<Value = Sha256Hex> {
    prop::collection::vec(any::<u8>(), 0..16).prop_map(|bytes| Sha256Hex::of(&bytes))
}

/// Seconds after t0 - 30 days at which the signer (valid t0 - 30 days .. + 730 days) can
/// sign: issued within 300 days, living up to 300 days.
fn window() -> impl Strategy<Value = (OffsetDateTime, OffsetDateTime)> {
    (0i64..300 * 86_400, 1i64..300 * 86_400).prop_map(|(start, length)| {
        let issued_at = t0() - Duration::days(29) + Duration::seconds(start);
        (issued_at, issued_at + Duration::seconds(length))
    })
}

prop_compose! {
    fn statement()(
        firmware_name in "[^\\x00]{1,40}",
        firmware_sha256 in digest(),
        label_id in any::<u128>(),
        scheme_id in text(),
        scheme_version in any::<u32>(),
        policy_sha256 in digest(),
        level_number in any::<u8>(),
        level_name in text(),
        device in (text(), text(), prop::option::of(text()), text()),
        profile_sha256 in digest(),
        campaign_id in text(),
        harness in (text(), text()),
        suites in prop::collection::btree_map(text(), text(), 0..5),
        checks in prop::collection::btree_map(text(), check_verdict(), 0..12),
        report_sha256 in digest(),
        (issued_at, expires_at) in window(),
        supersedes in prop::option::of(any::<u128>()),
    ) -> LabelStatement {
        let (manufacturer, model, hardware_version, firmware_version) = device;
        LabelStatement {
            firmware: FirmwareSubject { name: firmware_name, sha256: firmware_sha256 },
            predicate: LabelPredicate {
                label_id: Uuid::from_u128(label_id),
                scheme: SchemeRef { id: scheme_id, version: scheme_version, policy_sha256 },
                level: LevelRef { number: level_number, name: level_name },
                device: LabelDevice { manufacturer, model, hardware_version, firmware_version },
                profile_sha256,
                lab: fixture().pki.label_signer().lab().clone(),
                campaign_id,
                harness: ToolVersion { name: harness.0, version: harness.1 },
                suites,
                checks,
                report_sha256,
                issued_at,
                expires_at,
                supersedes: supersedes.map(Uuid::from_u128),
            },
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn issue_then_verify_round_trips_any_predicate(statement in statement()) {
        let fixture = fixture();
        let file = sign_statement(&statement, &fixture.pki.label_signer()).expect("sign");
        let verified = fixture
            .verifier
            .verify(&file, statement.predicate.issued_at, None)
            .expect("verifies");
        prop_assert_eq!(verified.statement, statement);
    }

    #[test]
    fn validity_boundaries_are_exact((issued_at, expires_at) in window()) {
        let fixture = fixture();
        let mut statement = issue_at(&fixture.pki, t0()).statement;
        statement.predicate.issued_at = issued_at;
        statement.predicate.expires_at = expires_at;
        let file = sign_statement(&statement, &fixture.pki.label_signer()).expect("sign");
        let code_at = |at: OffsetDateTime| {
            fixture.verifier.verify(&file, at, None).err().map(|rejection| rejection.code)
        };
        prop_assert_eq!(code_at(issued_at - Duration::seconds(1)), Some(ReasonCode::LabelNotYetValid));
        prop_assert_eq!(code_at(issued_at - Duration::nanoseconds(1)), Some(ReasonCode::LabelNotYetValid));
        prop_assert_eq!(code_at(issued_at), None);
        prop_assert_eq!(code_at(expires_at - Duration::seconds(1)), None);
        prop_assert_eq!(code_at(expires_at - Duration::nanoseconds(1)), None);
        prop_assert_eq!(code_at(expires_at), Some(ReasonCode::LabelExpired));
        prop_assert_eq!(code_at(expires_at + Duration::days(400)), Some(ReasonCode::LabelExpired));
    }
}
