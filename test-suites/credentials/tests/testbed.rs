//! The suite against the testbed's virtual devices: the insecure model fails every
//! check for its known flaw (admin/admin on SSH, telnet, HTTP and MQTT, anonymous MQTT,
//! no lockout, one credential and one SSH host key on both units); the secure model
//! passes every check, its lockout after five failures being the throttle and its two
//! units showing SSH host keys of their own.

use iotcert_suite::{
    CheckResult, EventSink, PlanKey, Profile, RunContext, Suite, SuiteEvent, Verdict,
};
use iotcert_suite_credentials::{
    CredentialsSuite, BRUTE_FORCE, DEFAULT_CREDENTIAL, EMPTY_PASSWORD, SHARED_ACROSS_UNITS,
};
use iotcert_testbed::{start, DeviceConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
    let suite = CredentialsSuite::new();
    let descriptor = suite.descriptor();
    let mut pending = BTreeSet::new();
    for check in &descriptor.checks {
        if check.id == SHARED_ACROSS_UNITS {
            pending.insert(PlanKey::new(&check.id, None));
        } else {
            for unit in &profile.units {
                pending.insert(PlanKey::new(&check.id, Some(&unit.id)));
            }
        }
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(BTreeMap::new()),
        tokio::time::Instant::now() + Duration::from_secs(240),
        CancellationToken::new(),
        pending,
        EventSink::new("credentials", sender),
    );
    let collector = tokio::spawn(async move {
        let mut results = Vec::new();
        while let Some((_, event)) = receiver.recv().await {
            if let SuiteEvent::Result(result) = event {
                results.push(result);
            }
        }
        results
    });
    suite.run(ctx).await.expect("suite runs");
    collector.await.expect("collector ends")
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
        .find(|r| r.check == DEFAULT_CREDENTIAL)
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
    let results = run(profile(&addresses, first.declared_interfaces())).await;
    for unit in ["unit-1", "unit-2"] {
        assert_eq!(
            verdict(&results, DEFAULT_CREDENTIAL, Some(unit)),
            Verdict::Pass
        );
        assert_eq!(verdict(&results, EMPTY_PASSWORD, Some(unit)), Verdict::Pass);
        assert_eq!(verdict(&results, BRUTE_FORCE, Some(unit)), Verdict::Pass);
    }
    assert_eq!(verdict(&results, SHARED_ACROSS_UNITS, None), Verdict::Pass);
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
    first.shutdown().await;
    second.shutdown().await;
}
