//! What the suite-level tests share: a profile built from units and interfaces, and a
//! run of the whole suite that returns its results as the suite emitted them (not yet
//! admitted by the harness), so a test sees the verdict the suite itself decided.

use iotcert_suite::profile::{Authentication, Interface, Transport};
use iotcert_suite::{CheckResult, PlanKey, Profile};
use iotcert_suite_credentials::CredentialsSuite;
use iotcert_suite_credentials::UnitCredential;
use std::collections::BTreeSet;
use std::time::Duration;

/// An interface of `service` on `port` (UDP for SNMP, TCP otherwise).
pub fn interface(port: u16, service: &str, authentication: Authentication) -> Interface {
    Interface {
        port,
        transport: if service == "snmp" {
            Transport::Udp
        } else {
            Transport::Tcp
        },
        service: service.to_owned(),
        authentication,
        tls: false,
        description: None,
    }
}

/// A declared credential of `unit` for `service`.
pub fn credential(unit: &str, service: &str, username: &str, password: &str) -> UnitCredential {
    UnitCredential {
        unit: unit.to_owned(),
        service: service.to_owned(),
        username: username.to_owned(),
        password: password.to_owned(),
    }
}

/// A profile with units `unit-1`.. at `addresses`, short attempts and few candidates,
/// then `extra` appended to its `[credentials]` table.
pub fn profile(addresses: &[&str], interfaces: Vec<Interface>, extra: &str) -> Profile {
    let mut text = String::from(
        "[device]\nmanufacturer = \"Hostile\"\nmodel = \"H\"\nfirmware_version = \"1\"\n",
    );
    for (index, address) in addresses.iter().enumerate() {
        text.push_str(&format!(
            "[[units]]\nid = \"unit-{}\"\naddress = \"{address}\"\n",
            index + 1
        ));
    }
    text.push_str("[pacing]\nmax_connections = 64\nconnections_per_second = 1000\n");
    text.push_str(&format!(
        "[credentials]\nmax_candidates = 4\nattempt_timeout_ms = 1500\nbrute_force_attempts = 6\n{extra}"
    ));
    let mut profile = Profile::from_toml_str(&text).expect("profile");
    profile.interfaces = interfaces;
    profile
}

/// Run every check of the suite on `profile` and return what the suite emitted (the
/// across-units check only with two units or more).
pub async fn run(profile: Profile) -> Vec<CheckResult> {
    let suite = CredentialsSuite::new();
    let pending: BTreeSet<PlanKey> = iotcert_suite_testkit::every_decision(&suite, &profile)
        .into_iter()
        .filter(|key| key.unit.is_some() || profile.units.len() >= 2)
        .collect();
    let mut profile = profile;
    profile.campaign.suite_deadline_seconds = 240;
    iotcert_suite_testkit::run_pending(&suite, profile, pending, Duration::from_secs(300))
        .await
        .results
}

/// The result of `check` for `unit` (`None`: across units), printed for the log.
pub fn result<'a>(results: &'a [CheckResult], check: &str, unit: Option<&str>) -> &'a CheckResult {
    let found = results
        .iter()
        .find(|r| r.check == check && r.unit.as_deref() == unit)
        .unwrap_or_else(|| panic!("no result for {check} {unit:?}"));
    eprintln!("{check} {unit:?}: {} {}", found.verdict, found.summary);
    found
}
