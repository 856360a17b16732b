//! The label's life around verification: scheme policies, issuing (and refusing),
//! lifetimes, revocation lists, the development PKI on disk and the human SVG label.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::*;
use iotcert_label::pki::{self, Existing, SignerSubject, SignerUsage, Validity};
use iotcert_label::policy::{BlockReason, PolicyError, SuiteBudget, DEFAULT_SCHEME_TOML};
use iotcert_label::svg::{qr_text, render_svg, render_svg_with_template, QR_HEADER};
use iotcert_label::{
    add_months, evaluate, issue, FirmwareCheck, IssueError, LabelSigner, ReasonCode,
    RevocationList, RevocationReason, SchemePolicy, SetupError, Sha256Hex, Verifier,
};
use iotcert_suite::{Modal, Verdict};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

#[test]
fn the_default_scheme_has_three_levels_and_a_twelve_month_lifetime() {
    let policy = default_policy();
    assert_eq!(policy.scheme.id, "iotcert-default");
    assert_eq!(policy.scheme.label_lifetime_months.get(), 12);
    let names: Vec<_> = policy
        .levels
        .iter()
        .map(|level| (level.number, level.name.as_str()))
        .collect();
    assert_eq!(names, [(1, "Baseline"), (2, "Hardened"), (3, "Resilient")]);
    assert_eq!(
        policy.level(1).map(|level| level.suites.clone()),
        Some(vec!["credentials".to_owned(), "update".to_owned()])
    );
    let resilient = policy.level(3).expect("level 3");
    assert!(resilient.suites.contains(&"protofuzz".to_owned()));
    assert!(resilient.min_budget.contains_key("protofuzz"));
    assert_eq!(
        policy.source_sha256,
        Some(Sha256Hex::of(DEFAULT_SCHEME_TOML.as_bytes()))
    );
}

#[test]
fn a_policy_typo_fails_loudly_with_its_position() {
    let typo = DEFAULT_SCHEME_TOML.replace("label_lifetime_months", "label_lifetime_month");
    match SchemePolicy::from_toml_str(&typo) {
        Err(PolicyError::Syntax(message)) => {
            assert!(message.contains("label_lifetime_month"), "{message}");
            assert!(message.contains("line"), "{message}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    for (broken, why) in [
        (
            DEFAULT_SCHEME_TOML.replace("number = 2", "number = 1"),
            "defined twice",
        ),
        (
            DEFAULT_SCHEME_TOML.replace("min_budget.protofuzz", "min_budget.zigbee"),
            "does not need",
        ),
        (
            DEFAULT_SCHEME_TOML.replace("{ cases = 10000, seconds = 600 }", "{ }"),
            "sets neither",
        ),
        (DEFAULT_SCHEME_TOML.replace("/{label_id}", "/"), "label_url"),
    ] {
        match SchemePolicy::from_toml_str(&broken) {
            Err(PolicyError::Invalid(message)) => {
                assert!(message.contains(why), "{message}")
            }
            other => panic!("expected {why}, got {other:?}"),
        }
    }
    assert!(SchemePolicy::from_toml_str(
        &DEFAULT_SCHEME_TOML.replace("label_lifetime_months = 12", "label_lifetime_months = 0")
    )
    .is_err());
}

#[test]
fn evaluate_names_every_blocker() {
    let policy = default_policy();
    assert_eq!(evaluate(&policy, 2, &passing_outcomes(), &[]), Ok(()));
    assert_eq!(evaluate(&policy, 1, &passing_outcomes(), &[]), Ok(()));

    let mut outcomes = passing_outcomes();
    outcomes.push(outcome(
        "ports",
        "banner-disclosure",
        Some("unit-c"),
        Verdict::Fail,
        Modal::Should,
    ));
    outcomes.push(outcome(
        "tls",
        "weak-cipher",
        Some("unit-c"),
        Verdict::Error,
        Modal::Shall,
    ));
    outcomes.push(outcome(
        "credentials",
        "default-password",
        Some("unit-c"),
        Verdict::Inconclusive,
        Modal::Shall,
    ));
    // Not blocking: INCONCLUSIVE on a should check, or on a suite level 1 does not need.
    outcomes.push(outcome(
        "update",
        "rollback-protection",
        Some("unit-c"),
        Verdict::Inconclusive,
        Modal::Should,
    ));
    outcomes.push(outcome(
        "tls",
        "legacy-protocol",
        Some("unit-c"),
        Verdict::Inconclusive,
        Modal::Shall,
    ));
    outcomes.push(outcome(
        "update",
        "downgrade-accepted",
        Some("unit-c"),
        Verdict::NotApplicable,
        Modal::Shall,
    ));
    let blockers = evaluate(&policy, 1, &outcomes, &[]).expect_err("blocked");
    let named: Vec<String> = blockers.iter().map(ToString::to_string).collect();
    assert_eq!(
        named,
        [
            "ports.banner-disclosure on unit-c: FAIL",
            "tls.weak-cipher on unit-c: ERROR (the harness failed)",
            "credentials.default-password on unit-c: INCONCLUSIVE on a shall check of the level",
        ]
    );

    // Level 3 needs protofuzz results and budget.
    let blockers = evaluate(&policy, 3, &passing_outcomes(), &[]).expect_err("blocked");
    assert_eq!(blockers.len(), 2, "{blockers:?}");
    assert_eq!(blockers[0].reason, BlockReason::NoResults);
    assert_eq!(blockers[0].suite, "protofuzz");
    assert!(matches!(
        blockers[1].reason,
        BlockReason::BudgetTooSmall { spent: None, .. }
    ));
    let mut fuzzed = passing_outcomes();
    fuzzed.push(outcome(
        "protofuzz",
        "mqtt-robustness",
        Some("unit-a"),
        Verdict::Pass,
        Modal::Shall,
    ));
    let small = [SuiteBudget {
        suite: "protofuzz".into(),
        cases: 20_000,
        seconds: 599,
    }];
    let blockers = evaluate(&policy, 3, &fuzzed, &small).expect_err("budget too small");
    assert_eq!(
        blockers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["suite protofuzz: needs at least 10000 cases 600 s, spent 20000 cases in 599 s"]
    );
    let enough = [SuiteBudget {
        suite: "protofuzz".into(),
        cases: 10_000,
        seconds: 600,
    }];
    assert_eq!(evaluate(&policy, 3, &fuzzed, &enough), Ok(()));

    let blockers = evaluate(&policy, 4, &fuzzed, &enough).expect_err("no level 4");
    assert!(
        matches!(&blockers[0].reason, BlockReason::UnknownLevel { available } if available == &[1, 2, 3])
    );
}

#[test]
fn issue_refuses_and_names_the_checks() {
    let pki = TestPki::new();
    let mut facts = facts();
    facts.outcomes.push(outcome(
        "tls",
        "legacy-protocol",
        Some("unit-a"),
        Verdict::Fail,
        Modal::Shall,
    ));
    match issue(&default_policy(), 2, &facts, &pki.label_signer(), t0()) {
        Err(IssueError::Blocked(blockers)) => {
            assert_eq!(blockers.len(), 1);
            assert_eq!(blockers[0].check.as_deref(), Some("tls.legacy-protocol"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let error = issue(
        &default_policy(),
        3,
        &common::facts(),
        &pki.label_signer(),
        t0(),
    )
    .expect_err("level 3 not met");
    assert!(error.to_string().contains("suite protofuzz"), "{error}");
}

/// A PASS that lacks the proof of its positive control is no PASS: issue refuses and
/// names the check, whatever the suite or modal.
#[test]
fn issue_refuses_a_pass_without_proof_and_names_it() {
    let pki = TestPki::new();
    let mut facts = facts();
    let mut unproven = outcome(
        "update",
        "tampered-image-accepted",
        Some("unit-b"),
        Verdict::Pass,
        Modal::Shall,
    );
    unproven.proven = false;
    facts.outcomes.push(unproven);
    match issue(&default_policy(), 1, &facts, &pki.label_signer(), t0()) {
        Err(IssueError::Blocked(blockers)) => {
            assert_eq!(blockers.len(), 1, "{blockers:?}");
            let named = blockers[0].to_string();
            assert!(
                named.contains("update.tampered-image-accepted on unit-b")
                    && named.contains("without proof"),
                "{named}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_issued_label_carries_the_campaign_and_lasts_twelve_months() {
    let pki = TestPki::new();
    let issued_at = datetime!(2026-03-01 09:00:00.75 +01:00);
    let mut facts = facts();
    let predecessor = uuid::Uuid::from_u128(7);
    facts.supersedes = Some(predecessor);
    // A check shows its worst unit: INCONCLUSIVE beats PASS, PASS beats NOT_APPLICABLE.
    facts.outcomes.push(outcome(
        "update",
        "rollback-protection",
        Some("unit-c"),
        Verdict::Inconclusive,
        Modal::Should,
    ));
    facts.outcomes.push(outcome(
        "credentials",
        "default-password",
        Some("unit-c"),
        Verdict::NotApplicable,
        Modal::Shall,
    ));
    let label = issue(&default_policy(), 2, &facts, &pki.label_signer(), issued_at).expect("issue");
    let predicate = &label.statement.predicate;
    assert_eq!(predicate.issued_at, datetime!(2026-03-01 08:00:00 UTC));
    assert_eq!(predicate.expires_at, datetime!(2027-03-01 08:00:00 UTC));
    assert_eq!(predicate.level.number, 2);
    assert_eq!(predicate.level.name, "Hardened");
    assert_eq!(
        predicate.scheme.policy_sha256,
        Sha256Hex::of(DEFAULT_SCHEME_TOML.as_bytes())
    );
    assert_eq!(predicate.lab.name, "Acme Test Lab");
    assert_eq!(predicate.supersedes, Some(predecessor));
    assert_eq!(
        predicate.checks.len(),
        14,
        "one verdict per check, over the units"
    );
    assert_eq!(
        predicate.suites.get("tls").map(String::as_str),
        Some("0.1.0")
    );
    assert_eq!(
        predicate.checks["update.rollback-protection"].verdict,
        Verdict::Inconclusive
    );
    assert_eq!(
        predicate.checks["update.rollback-protection"].modal,
        Modal::Should
    );
    assert_eq!(
        predicate.checks["credentials.default-password"].verdict,
        Verdict::Pass
    );
    assert_eq!(
        predicate.checks["credentials.default-password"].provisions,
        ["5.1-1"]
    );
    assert_eq!(label.statement.firmware.sha256, Sha256Hex::of(FIRMWARE));

    let verified = pki
        .verifier()
        .verify(
            &label.file,
            predicate.issued_at + Duration::days(100),
            Some(FirmwareCheck::Sha256(
                &Sha256Hex::of(FIRMWARE).to_string().to_uppercase(),
            )),
        )
        .expect("verifies");
    assert_eq!(verified.statement, label.statement);
    assert!(verified.firmware_checked);
    assert_eq!(verified.signer.lab.name, "Acme Test Lab");
}

#[test]
fn the_lifetime_is_capped_by_the_signer_chain() {
    let signer_end = t0() + Duration::days(90);
    let pki = TestPki::with_signer_validity(Validity {
        not_before: t0() - Duration::days(1),
        not_after: signer_end,
    });
    let label = issue_at(&pki, t0());
    assert_eq!(label.statement.predicate.expires_at, signer_end);
    let verifier = pki.verifier();
    assert!(verifier
        .verify(&label.file, signer_end - Duration::seconds(1), None)
        .is_ok());
    assert_eq!(
        verifier
            .verify(&label.file, signer_end, None)
            .map_err(|r| r.code)
            .err(),
        Some(ReasonCode::LabelExpired)
    );
    match issue(
        &default_policy(),
        2,
        &facts(),
        &pki.label_signer(),
        signer_end + Duration::seconds(1),
    ) {
        Err(IssueError::SignerNotValid(message)) => {
            assert!(message.contains("valid from"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        add_months(datetime!(2026-08-31 00:00 UTC), 6),
        Some(datetime!(2027-02-28 00:00 UTC))
    );
}

#[test]
fn a_signer_without_the_label_eku_or_with_another_key_is_refused() {
    let pki = TestPki::new();
    let no_eku = pki
        .lab_ca
        .issue_signer(
            LAB,
            Validity::starting(t0(), Duration::days(30)),
            SignerUsage::NoExtendedKeyUsage,
        )
        .expect("signer");
    let chain = no_eku.chain_pem(&[&pki.lab_ca]);
    assert!(LabelSigner::from_pem(no_eku.key_pem.as_bytes(), chain.as_bytes()).is_err());
    let mismatched = LabelSigner::from_pem(no_eku.key_pem.as_bytes(), pki.chain_pem().as_bytes());
    assert!(matches!(
        mismatched,
        Err(iotcert_label::SignerError::KeyMismatch)
    ));
    assert!(LabelSigner::from_pem(b"not a key", pki.chain_pem().as_bytes()).is_err());
}

#[test]
fn revocation_lists_revoke_only_their_own_labs_labels() {
    let pki = TestPki::new();
    let label = issue_at(&pki, t0());
    let label_id = label.statement.predicate.label_id;
    let mut list = RevocationList::new(t0());
    list.revoke(
        label_id,
        RevocationReason::Superseded,
        t0() + Duration::days(3),
    )
    .expect("revoke");
    assert!(
        list.revoke(label_id, RevocationReason::Withdrawn, t0())
            .is_err(),
        "revoked once"
    );
    assert!(list.is_revoked(&label_id));

    // Another lab under the same root cannot revoke it.
    let other_lab = pki
        .lab_ca
        .issue_signer(
            SignerSubject {
                common_name: "Other Lab signing",
                organization: "Other Lab",
            },
            Validity::starting(t0() - Duration::days(1), Duration::days(365)),
            SignerUsage::LabelSigning,
        )
        .expect("other lab");
    let other_signer = LabelSigner::from_pem(
        other_lab.key_pem.as_bytes(),
        other_lab.chain_pem(&[&pki.lab_ca]).as_bytes(),
    )
    .expect("signer");
    let foreign = list
        .sign(&other_signer, t0() + Duration::days(3))
        .expect("sign");
    let verifier = Verifier::new(pki.roots_pem().as_bytes(), &[], &[&foreign]).expect("verifier");
    assert!(verifier
        .verify(&label.file, t0() + Duration::days(4), None)
        .is_ok());

    let own = list
        .sign(&pki.label_signer(), t0() + Duration::days(3))
        .expect("sign");
    let verifier = Verifier::new(pki.roots_pem().as_bytes(), &[], &[&own]).expect("verifier");
    let opened = verifier.open_revocation_list(&own).expect("opens");
    assert_eq!(opened.list.entries.len(), 1);
    assert_eq!(opened.list.entries[0].reason, RevocationReason::Superseded);
    assert_eq!(
        verifier
            .verify(&label.file, t0() + Duration::days(4), None)
            .map_err(|r| r.code)
            .err(),
        Some(ReasonCode::RevokedLabel)
    );

    // A list that does not verify is a setup error, not a silent no-op.
    let rogue = TestPki::new();
    let unsigned = list.sign(&rogue.label_signer(), t0()).expect("sign");
    assert!(matches!(
        Verifier::new(pki.roots_pem().as_bytes(), &[], &[&unsigned]),
        Err(SetupError::RevocationList(rejection)) if rejection.code == ReasonCode::UntrustedChain
    ));
    // A label is not a revocation list, nor the reverse.
    assert_eq!(
        verifier
            .open_revocation_list(&label.file)
            .map_err(|r| r.code)
            .err(),
        Some(ReasonCode::Malformed)
    );
    assert_eq!(
        verifier.verify(&own, t0(), None).map_err(|r| r.code).err(),
        Some(ReasonCode::Malformed)
    );
    for reason in RevocationReason::ALL {
        assert_eq!(reason.as_str().parse::<RevocationReason>(), Ok(reason));
    }
    assert!("lost".parse::<RevocationReason>().is_err());
}

#[test]
fn the_development_pki_on_disk_issues_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki::init(dir.path(), Existing::Refuse).expect("init");
    let read = |path: &std::path::Path| std::fs::read(path).expect("read");
    let signer = LabelSigner::from_pem(&read(&files.signer_key), &read(&files.signer_chain))
        .expect("signer");
    assert_eq!(signer.lab().name, "iotcert development lab");
    // Made now, so verified now: the only test that reads a clock, for the files' sake.
    let now = OffsetDateTime::now_utc();
    let label = issue(&default_policy(), 2, &facts(), &signer, now).expect("issue");
    let crl = read(&files.lab_ca_crl);
    let verifier = Verifier::new(&read(&files.root_certificate), &[&crl], &[]).expect("verifier");
    verifier
        .verify(&label.file, now, Some(FirmwareCheck::Image(FIRMWARE)))
        .expect("verifies");
    assert!(Verifier::new(
        b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
        &[],
        &[]
    )
    .is_err());
    assert!(Verifier::new(&read(&files.root_certificate), &[b"not a CRL"], &[]).is_err());
}

#[test]
fn the_svg_label_shows_the_label_and_escapes_what_it_shows() {
    let pki = TestPki::new();
    let mut facts = facts();
    facts.device.manufacturer = "Acme <script>alert(1)</script> & \"Sons\"\u{1}".to_owned();
    let label = issue(&default_policy(), 2, &facts, &pki.label_signer(), t0()).expect("issue");
    let predicate = &label.statement.predicate;
    let url = default_policy().label_url(&predicate.label_id);
    let svg = render_svg(&label.statement, url.as_deref()).expect("svg");
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{}",
        &svg[..80]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    for shown in [
        "Level 2 · Hardened",
        "CAM-200",
        "Acme Test Lab",
        "2026-03-01 09:00 UTC",
        "2027-03-01 09:00 UTC",
        &predicate.label_id.to_string(),
    ] {
        assert!(svg.contains(shown), "the label shows {shown}");
    }
    assert!(!svg.contains("<script>"));
    assert!(svg.contains("&lt;script&gt;"));
    assert!(!svg.contains('\u{1}'), "no character XML forbids");
    assert!(svg.contains("<path d=\"M"), "a QR code");

    assert_eq!(
        qr_text(&label.statement, url.as_deref()),
        format!("https://labels.iotcert.example/{}", predicate.label_id),
        "with a published label, the QR code is its URL, which a phone opens"
    );
    let text = qr_text(&label.statement, None);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], QR_HEADER);
    assert_eq!(lines[1], format!("id:{}", predicate.label_id));
    assert_eq!(lines[2], format!("fw-sha256:{}", Sha256Hex::of(FIRMWARE)));
    assert_eq!(lines[3], "expires:2027-03-01T09:00:00Z");
    assert_eq!(lines[4], "level:2 Hardened (iotcert-default)");
    assert_eq!(
        lines[5],
        format!(
            "verify:{}",
            iotcert_label::svg::verify_command(&label.statement)
        )
    );
    assert!(
        lines[5].contains(" label.json --roots scheme-root.pem --firmware "),
        "{}",
        lines[5]
    );

    let custom = render_svg_with_template(
        "<svg>{{ device.manufacturer }}</svg>",
        &label.statement,
        None,
    )
    .expect("custom");
    assert!(
        custom
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;Sons&quot;\u{fffd}"),
        "{custom}"
    );
}

#[test]
fn the_readme_documents_every_reason_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for code in ReasonCode::ALL {
        assert!(
            readme.contains(&format!("| `{}` | {} |", code.as_str(), code.description())),
            "README lacks the row of {code}"
        );
    }
}

#[test]
fn the_signer_can_be_loaded_from_der_too() {
    let pki = TestPki::new();
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from(
        rustls_pki_types::pem::PemObject::from_pem_slice(pki.signer.key_pem.as_bytes())
            .map(|der: rustls_pki_types::PrivatePkcs8KeyDer<'_>| der.secret_pkcs8_der().to_vec())
            .expect("key"),
    );
    let signer = LabelSigner::from_der(key.secret_pkcs8_der(), pki.chain_der()).expect("signer");
    assert_eq!(signer.chain().len(), 2);
    assert!(signer.valid_until() <= t0() + Duration::days(700));
    assert!(signer.valid_from() >= t0() - Duration::days(30));
    assert_eq!(
        signer.key_id(),
        iotcert_label::dsse::key_id(&x509_spki(&pki.signer.certificate_der))
    );
}
