//! Label files and revocation lists come from anyone: parsing and verifying any bytes
//! must never panic, and no edit of a genuine label may verify as another statement.
//!
//! Each input is tried three ways: as a label file, as a revocation list, and spliced
//! into a genuine label (bytes 0-1: offset, byte 2: bytes replaced, the rest: inserted),
//! which reaches the signature, chain, time, CRL and revocation checks.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iotcert_label::pki::{Authority, SignerSubject, SignerUsage, Validity};
use iotcert_label::{
    issue, CampaignFacts, CheckOutcome, FirmwareCheck, FirmwareSubject, LabelDevice,
    LabelSigner, LabelStatement, RevocationList, RevocationReason, SchemePolicy, Sha256Hex,
    ToolVersion, Verifier,
};
use iotcert_suite::{Modal, Verdict};
use libfuzzer_sys::fuzz_target;

/// 2026-03-01T09:00:00Z: every time derives from it, never from the clock.
const T0: u64 = 1_772_355_600;
const DAY: u64 = 86_400;

fn instant(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn validity(from: u64, to: u64) -> Validity {
    Validity {
        not_before: instant(from).into(),
        not_after: instant(to).into(),
    }
}

struct Fixture {
    verifier: Verifier,
    label: Vec<u8>,
    statement: LabelStatement,
    firmware_sha256: String,
}

fn facts() -> CampaignFacts {
    let outcome = |suite: &str, check: &str| CheckOutcome {
        suite: suite.to_owned(),
        check: format!("{suite}.{check}"),
        unit: Some("unit-a".to_owned()),
        verdict: Verdict::Pass,
        modal: Modal::Shall,
        en_303_645: vec!["5.1-1".to_owned()],
        proven: true,
    };
    CampaignFacts {
        campaign_id: "fuzz".to_owned(),
        device: LabelDevice {
            manufacturer: "Acme".to_owned(),
            model: "CAM-200".to_owned(),
            hardware_version: None,
            firmware_version: "1.0".to_owned(),
        },
        firmware: FirmwareSubject {
            name: "fw.bin".to_owned(),
            sha256: Sha256Hex::of(b"firmware"),
        },
        profile_sha256: Sha256Hex::of(b"profile"),
        report_sha256: Sha256Hex::of(b"report"),
        harness: ToolVersion {
            name: "iotcert".to_owned(),
            version: "0.1.0".to_owned(),
        },
        suites: Default::default(),
        outcomes: vec![outcome("credentials", "default-password"), outcome("update", "unsigned")],
        budgets: Vec::new(),
        supersedes: None,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = Authority::root("Fuzz Root", validity(T0 - 365 * DAY, T0 + 3650 * DAY))
            .expect("root");
        let lab_ca = root
            .issue_intermediate("Fuzz Lab CA", validity(T0 - 365 * DAY, T0 + 1825 * DAY))
            .expect("lab CA");
        let issued = lab_ca
            .issue_signer(
                SignerSubject {
                    common_name: "Fuzz Lab signing",
                    organization: "Fuzz Lab",
                },
                validity(T0 - 30 * DAY, T0 + 730 * DAY),
                SignerUsage::LabelSigning,
            )
            .expect("signer");
        let signer = LabelSigner::from_pem(
            issued.key_pem.as_bytes(),
            issued.chain_pem(&[&lab_ca]).as_bytes(),
        )
        .expect("label signer");
        let policy = SchemePolicy::default_scheme().expect("scheme");
        let label = issue(&policy, 1, &facts(), &signer, instant(T0).into()).expect("label");
        let other = issue(&policy, 1, &facts(), &signer, instant(T0).into()).expect("label");
        let mut revoked = RevocationList::new(instant(T0).into());
        revoked
            .revoke(
                other.statement.predicate.label_id,
                RevocationReason::IssuedInError,
                instant(T0).into(),
            )
            .expect("revoke");
        let revocations = revoked.sign(&signer, instant(T0).into()).expect("sign list");
        // A CRL that revokes another of the lab's certificates, not the signer's.
        let retired = lab_ca
            .issue_signer(
                SignerSubject {
                    common_name: "Fuzz Lab retired signing",
                    organization: "Fuzz Lab",
                },
                validity(T0 - 300 * DAY, T0 + 30 * DAY),
                SignerUsage::LabelSigning,
            )
            .expect("retired signer");
        let crl = lab_ca
            .crl_der(&[retired.serial], instant(T0).into(), instant(T0 + 30 * DAY).into())
            .expect("CRL");
        let verifier = Verifier::new(
            root.certificate_pem().as_bytes(),
            &[&crl],
            &[&revocations],
        )
        .expect("verifier");
        Fixture {
            verifier,
            firmware_sha256: label.statement.firmware.sha256.to_string(),
            statement: label.statement,
            label: label.file,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let at = instant(T0 + DAY).into();
    let _ = fixture.verifier.verify(data, at, None);
    let _ = fixture.verifier.open_revocation_list(data);

    let [high, low, replaced, inserted @ ..] = data else {
        return;
    };
    let label = &fixture.label;
    let offset = usize::from(u16::from_be_bytes([*high, *low])) % (label.len() + 1);
    let end = (offset + usize::from(*replaced)).min(label.len());
    let mut spliced = Vec::with_capacity(label.len() + inserted.len());
    spliced.extend_from_slice(&label[..offset]);
    spliced.extend_from_slice(inserted);
    spliced.extend_from_slice(&label[end..]);
    let firmware = Some(FirmwareCheck::Sha256(&fixture.firmware_sha256));
    if let Ok(verified) = fixture.verifier.verify(&spliced, at, firmware) {
        // Another encoding of the same bytes may verify; another statement never.
        assert_eq!(verified.statement, fixture.statement, "an edited label verified");
    }
});
