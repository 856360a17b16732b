//! The suite against real daemons set up by the test with a known password: a default
//! must be found, a strong password must not, and nothing else may count as a login.

use iotcert_suite::{Profile, RunContext, SampleUnit};
use iotcert_suite_credentials::probe::{self, Login, Outcome, Protocol, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Kills the daemon when the test ends, however it ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn context(address: &str) -> (RunContext, SampleUnit) {
    let text = format!("[device]\nmanufacturer = \"A\"\nmodel = \"B\"\nfirmware_version = \"1\"\n[[units]]\nid = \"u\"\naddress = \"{address}\"\n");
    let profile = Profile::from_toml_str(&text).expect("profile");
    let unit = profile.units[0].clone();
    let (sender, _receiver) = tokio::sync::mpsc::channel(1);
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(BTreeMap::new()),
        tokio::time::Instant::now() + Duration::from_secs(60),
        CancellationToken::new(),
        BTreeSet::new(),
        iotcert_suite::EventSink::new("credentials", sender),
    );
    (ctx, unit)
}

fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: apt-get install -y {package}");
}

#[tokio::test]
async fn mosquitto_password_file() {
    require("mosquitto", "mosquitto");
    require("mosquitto_passwd", "mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("passwd");
    let strong = "Vq7-strong-9Lx2pQ";
    Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&passwords)
        .args(["admin", "admin"])
        .status()
        .unwrap();
    Command::new("mosquitto_passwd")
        .args(["-b"])
        .arg(&passwords)
        .args(["operator", strong])
        .status()
        .unwrap();
    let config = dir.path().join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "listener 18830 127.62.9.1\nallow_anonymous false\npassword_file {}\n",
            passwords.display()
        ),
    )
    .unwrap();
    let _daemon = Daemon(
        Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ctx, unit) = context("127.62.9.1");
    let target = Target {
        unit,
        port: 18830,
        protocol: Protocol::Mqtt,
        tls: false,
        path: "/".to_owned(),
        attempt_timeout: Duration::from_secs(10),
    };
    let attempt = |login: Login| {
        let ctx = ctx.clone();
        let target = target.clone();
        async move { probe::attempt(&ctx, &target, &login).await.outcome }
    };
    assert_eq!(
        attempt(Login::new("admin", "admin")).await,
        Outcome::Accepted
    );
    assert_eq!(
        attempt(Login::new("operator", strong)).await,
        Outcome::Accepted
    );
    assert_eq!(
        attempt(Login::new("operator", "admin")).await,
        Outcome::Refused
    );
    assert_eq!(attempt(Login::new("admin", "")).await, Outcome::Refused);
    assert_eq!(
        attempt(Login {
            username: None,
            password: String::new()
        })
        .await,
        Outcome::Refused
    );
}
