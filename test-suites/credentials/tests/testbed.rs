//! The suite against the testbed's virtual devices: the insecure model fails every
//! check for its known flaw (admin/admin on SSH, telnet, HTTP and MQTT, anonymous MQTT,
//! no lockout, one credential and one SSH host key on both units); the secure model,
//! each unit's own password declared for every login service (the positive control),
//! passes every check, its lockout after five failures being the throttle and its two
//! units showing SSH host keys of their own. The web session secret is compared on its
//! own: a model whose only flaw is one cookie-signing secret for every unit fails the
//! uniqueness check, the same model with a secret per unit passes it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{run_alone, CheckResult, Profile, Verdict};
use iotcert_suite_credentials::{
    CredentialsOptions, CredentialsSuite, UnitCredential, BRUTE_FORCE, DEFAULT_CREDENTIAL,
    EMPTY_PASSWORD, SHARED_ACROSS_UNITS,
};
use iotcert_testbed::{start, DeviceConfig, Flaws, RunningDevice};
use std::net::IpAddr;
use std::time::Duration;

fn profile(addresses: &[IpAddr], interfaces: Vec<iotcert_suite::profile::Interface>) -> Profile {
    let mut text = String::from(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1\"\n",
    );
    for (index, address) in addresses.iter().enumerate() {
        text.push_str(&format!(
            "[[units]]\nid = \"unit-{}\"\naddress = \"{address}\"\n",
            index + 1
        ));
    }
    let mut profile = Profile::from_toml_str(&text).expect("test profile parses");
    profile.interfaces = interfaces;
    profile
}

async fn run(profile: Profile) -> Vec<CheckResult> {
    run_alone(&CredentialsSuite::new(), profile, Duration::from_secs(240))
        .await
        .expect("suite runs")
}

fn verdict(results: &[CheckResult], check: &str, unit: Option<&str>) -> Verdict {
    let result = results
        .iter()
        .find(|r| r.check == check && r.unit.as_deref() == unit)
        .unwrap_or_else(|| panic!("no result for {check} {unit:?}"));
    eprintln!("{check} {unit:?}: {} {}", result.verdict, result.summary);
    result.verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_units_fail_every_check() {
    let addresses: Vec<IpAddr> = vec!["127.62.1.1".parse().unwrap(), "127.62.1.2".parse().unwrap()];
    let first = start(DeviceConfig::insecure("cam-1", addresses[0]))
        .await
        .unwrap();
    let second = start(DeviceConfig::insecure("cam-2", addresses[1]))
        .await
        .unwrap();
    let results = run(profile(&addresses, first.declared_interfaces())).await;
    for unit in ["unit-1", "unit-2"] {
        assert_eq!(
            verdict(&results, DEFAULT_CREDENTIAL, Some(unit)),
            Verdict::Fail
        );
        assert_eq!(verdict(&results, EMPTY_PASSWORD, Some(unit)), Verdict::Fail);
        assert_eq!(verdict(&results, BRUTE_FORCE, Some(unit)), Verdict::Fail);
    }
    let default = results
        .iter()
        .find(|r| r.check == DEFAULT_CREDENTIAL && r.unit.as_deref() == Some("unit-1"))
        .unwrap();
    for port_and_service in ["2222/ssh", "2323/telnet", "8080/http", "1883/mqtt"] {
        let finding = format!("admin/admin on unit-1 127.62.1.1:{port_and_service}");
        assert!(default.summary.contains(&finding), "{}", default.summary);
    }
    assert_eq!(verdict(&results, SHARED_ACROSS_UNITS, None), Verdict::Fail);
    let shared = results
        .iter()
        .find(|r| r.check == SHARED_ACROSS_UNITS)
        .unwrap();
    let key = first.ssh_host_key_fingerprint();
    assert_eq!(key, second.ssh_host_key_fingerprint());
    let finding = format!("SSH host key {key} on unit-1 port 2222 and unit-2 port 2222");
    assert!(shared.summary.contains(&finding), "{}", shared.summary);
    // admin/admin, found by guessing, opens a web session that the other unit honours.
    assert!(
        shared
            .summary
            .contains("the web session cookie unit-1 opened (logging in as admin/admin, found by guessing) opens /admin on unit-2"),
        "{}",
        shared.summary
    );
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_units_pass_every_check() {
    let addresses: Vec<IpAddr> = vec!["127.62.2.1".parse().unwrap(), "127.62.2.2".parse().unwrap()];
    let first = start(DeviceConfig::secure("cam-1", addresses[0]))
        .await
        .unwrap();
    let second = start(DeviceConfig::secure("cam-2", addresses[1]))
        .await
        .unwrap();
    // Each unit's own password, declared for every login service: the positive control
    // that lets a refusal of every default mean something.
    let mut profile = profile(&addresses, first.declared_interfaces());
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.unit_credentials = [&first, &second]
                .iter()
                .enumerate()
                .flat_map(|(index, unit)| {
                    let (username, password) = unit.admin_credentials();
                    ["https", "mqtts", "ssh"].map(|service| UnitCredential {
                        unit: format!("unit-{}", index + 1),
                        service: service.to_owned(),
                        username: username.clone(),
                        password: password.clone(),
                    })
                })
                .collect();
        })
        .unwrap();
    let results = run(profile).await;
    for unit in ["unit-1", "unit-2"] {
        assert_eq!(
            verdict(&results, DEFAULT_CREDENTIAL, Some(unit)),
            Verdict::Pass
        );
        assert_eq!(verdict(&results, EMPTY_PASSWORD, Some(unit)), Verdict::Pass);
        assert_eq!(verdict(&results, BRUTE_FORCE, Some(unit)), Verdict::Pass);
    }
    assert_eq!(verdict(&results, SHARED_ACROSS_UNITS, None), Verdict::Pass);
    for result in &results {
        if result.verdict == Verdict::Pass {
            let proof = result.proof.as_ref().expect("a PASS carries its proof");
            assert!(proof.is_given(), "{}: {}", result.check, proof.as_str());
        }
    }
    assert_ne!(
        first.ssh_host_key_fingerprint(),
        second.ssh_host_key_fingerprint()
    );
    let shared = results
        .iter()
        .find(|r| r.check == SHARED_ACROSS_UNITS)
        .unwrap();
    assert!(
        shared.summary.contains("2 SSH host keys are all distinct"),
        "{}",
        shared.summary
    );
    // Each declared credential was compared by digest, on every interface it is declared
    // for (`https` names the admin site and the update server), and refused by the other
    // unit on the three that log in with a password, where the other's own opened it; the
    // session each opened on its own unit was refused by the other.
    assert!(
        shared.summary.contains(
            "8 declared credentials compared by digest (none identical), 6 tried live on a neighbouring unit and refused, 0 credentials found by guessing were refused by a neighbouring unit, and 2 web session cookies compared by digest (none identical), 2 replayed on a neighbouring unit and refused"
        ),
        "{}",
        shared.summary
    );
    first.shutdown().await;
    second.shutdown().await;
}

/// Two units of a model whose only flaw, if any, is one session-signing secret for all
/// units; each unit's own (random) admin credential declared for its HTTPS interface.
async fn session_secret_run(
    addresses: [&str; 2],
    shared_session_secret: bool,
) -> (CheckResult, Vec<RunningDevice>) {
    let flaws = Flaws {
        shared_session_secret,
        ..Flaws::none()
    };
    let mut units = Vec::new();
    let mut parsed = Vec::new();
    for (index, address) in addresses.iter().enumerate() {
        let address: IpAddr = address.parse().unwrap();
        let mut config = DeviceConfig::secure(&format!("cam-{}", index + 1), address);
        config.flaws = flaws.clone();
        units.push(start(config).await.unwrap());
        parsed.push(address);
    }
    let mut profile = profile(&parsed, units[0].declared_interfaces());
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.unit_credentials = units
                .iter()
                .enumerate()
                .map(|(index, unit)| {
                    let (username, password) = unit.admin_credentials();
                    UnitCredential {
                        unit: format!("unit-{}", index + 1),
                        service: "https".to_owned(),
                        username,
                        password,
                    }
                })
                .collect();
        })
        .unwrap();
    let results = run(profile).await;
    let shared = results
        .into_iter()
        .find(|r| r.check == SHARED_ACROSS_UNITS)
        .expect("a result for the uniqueness check");
    eprintln!("{}: {}", shared.verdict, shared.summary);
    (shared, units)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_secret_for_every_unit_fails_uniqueness() {
    let (shared, units) = session_secret_run(["127.65.8.1", "127.65.8.2"], true).await;
    assert_eq!(shared.verdict, Verdict::Fail, "{}", shared.summary);
    // Passwords and host keys are per unit here: the session cookie alone fails it.
    assert!(
        shared.summary.starts_with("Secrets are shared between units: the web session cookie unit-1 opened (logging in as admin, the credential declared for it) opens /admin on unit-2 (unit-2 127.65.8.2:8443/http+tls); the web session cookie unit-2 opened"),
        "{}",
        shared.summary
    );
    assert!(
        !shared.summary.contains("SSH host key"),
        "{}",
        shared.summary
    );
    let replay = shared
        .evidence
        .iter()
        .find(|e| e.label == "session cookie of unit-1 replayed on unit-2")
        .expect("the replayed exchange is evidence");
    let text = String::from_utf8_lossy(&replay.data);
    assert!(
        text.contains("401 Unauthorized")
            && text.contains("Cookie: session=")
            && text.contains("200 OK"),
        "{text}"
    );
    for unit in units {
        unit.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_secret_per_unit_passes_uniqueness() {
    let (shared, units) = session_secret_run(["127.65.8.3", "127.65.8.4"], false).await;
    assert_eq!(shared.verdict, Verdict::Pass, "{}", shared.summary);
    assert!(
        shared
            .summary
            .contains("4 declared credentials compared by digest (none identical), 2 tried live on a neighbouring unit and refused, 0 credentials found by guessing were refused by a neighbouring unit, and 2 web session cookies compared by digest (none identical), 2 replayed on a neighbouring unit and refused"),
        "{}",
        shared.summary
    );
    for unit in units {
        unit.shutdown().await;
    }
}
