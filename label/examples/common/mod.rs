//! The sample lab and campaign of the examples: a throw-away PKI at a fixed instant and
//! a level-2 campaign of 25 verdicts over 14 checks.

use iotcert_label::pki::{Authority, SignerSubject, SignerUsage, Validity};
use iotcert_label::{
    CampaignFacts, CheckOutcome, FirmwareSubject, LabelDevice, LabelSigner, Sha256Hex, ToolVersion,
};
use iotcert_suite::{Modal, Verdict};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// When the sample label is issued.
pub const ISSUED_AT: OffsetDateTime = datetime!(2026-03-01 09:00:00 UTC);

/// A scheme root, a lab CA and the lab's label signer.
pub struct SamplePki {
    pub root: Authority,
    pub signer: LabelSigner,
}

impl SamplePki {
    pub fn new() -> Result<SamplePki, Box<dyn std::error::Error>> {
        let root = Authority::root(
            "Example Scheme Root",
            Validity::starting(ISSUED_AT - Duration::days(365), Duration::days(3650)),
        )?;
        let lab_ca = root.issue_intermediate(
            "Example Lab CA",
            Validity::starting(ISSUED_AT - Duration::days(365), Duration::days(1825)),
        )?;
        let issued = lab_ca.issue_signer(
            SignerSubject {
                common_name: "Example Lab label signing",
                organization: "Example Lab",
            },
            Validity::starting(ISSUED_AT - Duration::days(30), Duration::days(730)),
            SignerUsage::LabelSigning,
        )?;
        let signer = LabelSigner::from_pem(
            issued.key_pem.as_bytes(),
            issued.chain_pem(&[&lab_ca]).as_bytes(),
        )?;
        Ok(SamplePki { root, signer })
    }
}

/// A level-2 campaign: 11 per-unit checks on two units and 3 checks across units.
pub fn sample_facts() -> CampaignFacts {
    let check =
        |suite: &str, name: &str, unit: Option<&str>, modal, provision: &str| CheckOutcome {
            suite: suite.to_owned(),
            check: format!("{suite}.{name}"),
            unit: unit.map(str::to_owned),
            verdict: Verdict::Pass,
            modal,
            en_303_645: vec![provision.to_owned()],
            proven: true,
        };
    let mut outcomes = Vec::new();
    for unit in ["unit-a", "unit-b"] {
        for (suite, name, provision) in [
            ("credentials", "default-password", "5.1-1"),
            ("credentials", "weak-password-accepted", "5.1-5"),
            ("update", "unsigned-image-accepted", "5.3-10"),
            ("update", "downgrade-accepted", "5.3-7"),
            ("ports", "undeclared-open-port", "5.6-1"),
            ("ports", "cleartext-management", "5.5-5"),
            ("ports", "debug-interface", "5.6-4"),
            ("ports", "banner-disclosure", "5.6-8"),
            ("tls", "legacy-protocol", "5.5-1"),
            ("tls", "weak-cipher", "5.5-1"),
            ("tls", "certificate-validity", "5.5-2"),
        ] {
            outcomes.push(check(suite, name, Some(unit), Modal::Shall, provision));
        }
    }
    outcomes.push(check(
        "credentials",
        "unique-per-device",
        None,
        Modal::Shall,
        "5.1-2",
    ));
    outcomes.push(check(
        "tls",
        "unique-key-per-device",
        None,
        Modal::Should,
        "5.5-2",
    ));
    outcomes.push(check(
        "update",
        "rollback-protection",
        None,
        Modal::Should,
        "5.3-7",
    ));
    CampaignFacts {
        campaign_id: "c-20260301-090000-3f2a".to_owned(),
        device: LabelDevice {
            manufacturer: "Acme Devices".to_owned(),
            model: "CAM-200".to_owned(),
            hardware_version: Some("rev C".to_owned()),
            firmware_version: "1.4.2".to_owned(),
        },
        firmware: FirmwareSubject {
            name: "cam200-1.4.2.bin".to_owned(),
            sha256: Sha256Hex::of(b"cam200-1.4.2.bin contents"),
        },
        profile_sha256: Sha256Hex::of(b"profile"),
        report_sha256: Sha256Hex::of(b"report"),
        harness: ToolVersion {
            name: "iotcert".to_owned(),
            version: "0.1.0".to_owned(),
        },
        suites: ["credentials", "update", "ports", "tls"]
            .into_iter()
            .map(|name| (name.to_owned(), "0.1.0".to_owned()))
            .collect(),
        outcomes,
        budgets: Vec::new(),
        supersedes: None,
    }
}
