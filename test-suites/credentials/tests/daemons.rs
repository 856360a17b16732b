//! The suite against real daemons set up by the test with a known password: a default
//! must be found, a strong password must not, and nothing else may count as a login.
//!
//! Each daemon listens on a 127.64.10.x address of its own test. Daemons that log in
//! system accounts (dropbear, telnetd, vsftpd) get a throw-away user, created with
//! `useradd` and removed when the test ends (the tests run as root). A missing program
//! fails its test with the Debian package that provides it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use iotcert_suite::profile::Authentication;
use iotcert_suite::{Applicability, Profile, RunContext, SampleUnit, Suite, Verdict};
use iotcert_suite_credentials::guess::{ad_hoc, guess, GuessReport};
use iotcert_suite_credentials::probe::{self, Login, Outcome, Protocol, Target};
use iotcert_suite_credentials::{
    CredentialsOptions, CredentialsSuite, DEFAULT_CREDENTIAL, SHARED_ACROSS_UNITS,
};
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
    context_with(address, "")
}

/// A context whose profile ends with `extra` (a `[pacing]` table, say).
fn context_with(address: &str, extra: &str) -> (RunContext, SampleUnit) {
    let text = format!("[device]\nmanufacturer = \"A\"\nmodel = \"B\"\nfirmware_version = \"1\"\n[[units]]\nid = \"u\"\naddress = \"{address}\"\n{extra}");
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

/// Passwords a guesser tries first; the weak accounts below use one of them.
const COMMON: [&str; 6] = ["123456", "password", "root", "12345", "1234", "admin"];
/// The password of the accounts that must not be found.
const STRONG: &str = "Vq7-strong-9Lx2pQ";

/// A system account that exists for one test.
struct ThrowAwayUser(String);

impl ThrowAwayUser {
    fn new(name: &str, password: &str) -> ThrowAwayUser {
        require("useradd", "passwd");
        let _ = Command::new("userdel").args(["-r", name]).output();
        let created = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", name])
            .status()
            .expect("useradd runs");
        assert!(created.success(), "useradd {name} failed");
        let user = ThrowAwayUser(name.to_owned());
        let mut chpasswd = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("chpasswd runs");
        use std::io::Write as _;
        chpasswd
            .stdin
            .take()
            .expect("chpasswd stdin")
            .write_all(format!("{name}:{password}\n").as_bytes())
            .expect("chpasswd input");
        assert!(chpasswd.wait().expect("chpasswd ends").success());
        user
    }
}

impl Drop for ThrowAwayUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").args(["-r", &self.0]).output();
    }
}

fn target(unit: SampleUnit, port: u16, protocol: Protocol) -> Target {
    Target {
        unit,
        port,
        protocol,
        tls: false,
        path: "/".to_owned(),
        attempt_timeout: Duration::from_secs(20),
    }
}

/// Waits until `address:port` accepts TCP connections (the daemon is up), at most 10 s.
async fn wait_for(address: &str, port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((address, port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on {address}:{port}");
}

/// Guess [`COMMON`] for `weak` (password `admin`) and `strong` (password [`STRONG`]):
/// the weak one is found, the strong one is not, nothing is undecided, and the strong
/// password itself is accepted (so a refusal is not a broken probe).
async fn weak_found_strong_not(ctx: &RunContext, target: &Target, weak: &str, strong: &str) {
    let candidates: Vec<_> = [weak, strong]
        .iter()
        .flat_map(|user| {
            COMMON
                .iter()
                .map(|password| ad_hoc(Login::new(user, password), "test"))
        })
        .collect();
    let report = guess(ctx, target, &candidates, 2).await;
    let accepted: Vec<String> = report
        .accepted
        .iter()
        .map(|f| f.entry.login.display())
        .collect();
    assert_eq!(accepted, [format!("{weak}/admin")], "{:?}", report.tried);
    assert_every_attempt_judged(&report);
    assert_eq!(
        probe::attempt(ctx, target, &Login::new(strong, STRONG))
            .await
            .outcome,
        Outcome::Accepted
    );
    assert_eq!(
        probe::attempt(ctx, target, &Login::new("iotcert-nobody", "admin"))
            .await
            .outcome,
        Outcome::Refused
    );
}

#[tokio::test]
async fn lighttpd_basic_auth() {
    require("lighttpd", "lighttpd");
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, format!("admin:admin\noperator:{STRONG}\n")).unwrap();
    std::fs::write(dir.path().join("index.html"), "device home\n").unwrap();
    let config = dir.path().join("lighttpd.conf");
    std::fs::write(
        &config,
        format!(
            "server.document-root = \"{root}\"\nserver.bind = \"127.64.10.1\"\nserver.port = 18080\n\
             server.modules += (\"mod_auth\", \"mod_authn_file\")\nindex-file.names = (\"index.html\")\n\
             auth.backend = \"plain\"\nauth.backend.plain.userfile = \"{users}\"\n\
             auth.require = (\"/\" => (\"method\" => \"basic\", \"realm\" => \"cam\", \"require\" => \"valid-user\"))\n",
            root = dir.path().display(),
            users = users.display()
        ),
    )
    .unwrap();
    let _daemon = Daemon(
        Command::new("lighttpd")
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("127.64.10.1", 18080).await;
    let (ctx, unit) = context("127.64.10.1");
    weak_found_strong_not(
        &ctx,
        &target(unit, 18080, Protocol::Http),
        "admin",
        "operator",
    )
    .await;
}

/// No attempt of a guessing run left undecided: each was accepted or refused.
fn assert_every_attempt_judged(report: &GuessReport) {
    assert!(
        report
            .tried
            .iter()
            .all(|t| matches!(t.outcome, Outcome::Accepted | Outcome::Refused)),
        "every attempt judged: {:?}",
        report.tried
    );
}

/// dropbear on `address` port 12222, with a fresh host key kept in `dir`.
async fn dropbear(dir: &std::path::Path, address: &str) -> Daemon {
    let key = dir.join("host_key");
    let made = Command::new("dropbearkey")
        .args(["-t", "ed25519", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let daemon = Daemon(
        Command::new("dropbear")
            .args(["-F", "-E", "-p", &format!("{address}:12222"), "-r"])
            .arg(&key)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(address, 12222).await;
    daemon
}

#[tokio::test]
async fn dropbear_password_login() {
    require("dropbear", "dropbear-bin");
    require("dropbearkey", "dropbear-bin");
    let weak = ThrowAwayUser::new("iotcdbweak", "admin");
    let strong = ThrowAwayUser::new("iotcdbstrong", STRONG);
    let dir = tempfile::tempdir().unwrap();
    let _daemon = dropbear(dir.path(), "127.64.10.2").await;
    let (ctx, unit) = context("127.64.10.2");
    weak_found_strong_not(
        &ctx,
        &target(unit, 12222, Protocol::Ssh),
        &weak.0,
        &strong.0,
    )
    .await;
}

/// dropbear holds 5 unauthenticated connections per address and closes the others
/// before its greeting. Guessing 16 at a time must still judge every password (the
/// right one is last), learn the limit, and never count a closed connection as tried.
#[tokio::test]
async fn dropbear_connection_limit_is_learned_and_no_password_lost() {
    require("dropbear", "dropbear-bin");
    require("dropbearkey", "dropbear-bin");
    let user = ThrowAwayUser::new("iotcdblimit", STRONG);
    let dir = tempfile::tempdir().unwrap();
    let _daemon = dropbear(dir.path(), "127.64.10.9").await;
    let (ctx, unit) = context_with(
        "127.64.10.9",
        "[pacing]\nmax_connections = 32\nconnections_per_second = 1000\n",
    );
    let candidates: Vec<_> = (0..30)
        .map(|i| format!("wrong-{i}"))
        .chain([STRONG.to_owned()])
        .map(|password| ad_hoc(Login::new(&user.0, &password), "test"))
        .collect();
    let report = guess(&ctx, &target(unit, 12222, Protocol::Ssh), &candidates, 16).await;
    assert_eq!(report.accepted.len(), 1, "{:?}", report.tried);
    assert_eq!(report.accepted[0].entry.login.password, STRONG);
    assert_eq!(
        report.tried.len() + report.abandoned,
        candidates.len(),
        "every candidate sent: {report:?}"
    );
    assert_every_attempt_judged(&report);
    assert!(report.turned_away > 0, "16 at once exceed dropbear's 5");
    // The window settles at dropbear's 5, one less while a slot is still being freed.
    let held = report.connection_limit.expect("a limit was seen");
    assert!((4..=5).contains(&held), "settled at {held} at once");
}

#[tokio::test]
async fn inetutils_telnetd_login() {
    require("tcpserver", "ucspi-tcp");
    require("/usr/sbin/telnetd", "inetutils-telnetd");
    let weak = ThrowAwayUser::new("iotctnweak", "admin");
    let strong = ThrowAwayUser::new("iotctnstrong", STRONG);
    let _daemon = Daemon(
        Command::new("tcpserver")
            .args([
                "-R",
                "-H",
                "-l0",
                "127.64.10.3",
                "12323",
                "/usr/sbin/telnetd",
                "-h",
            ])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("127.64.10.3", 12323).await;
    let (ctx, unit) = context("127.64.10.3");
    weak_found_strong_not(
        &ctx,
        &target(unit, 12323, Protocol::Telnet),
        &weak.0,
        &strong.0,
    )
    .await;
}

#[tokio::test]
async fn vsftpd_local_users() {
    require("vsftpd", "vsftpd");
    let weak = ThrowAwayUser::new("iotcftpweak", "admin");
    let strong = ThrowAwayUser::new("iotcftpstrong", STRONG);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let config = dir.path().join("vsftpd.conf");
    std::fs::write(
        &config,
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.64.10.4\nlisten_port=12121\nbackground=NO\n\
             anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=NO\nseccomp_sandbox=NO\n\
             pam_service_name=vsftpd\nsecure_chroot_dir={}\nmax_login_fails=1\n",
            empty.display()
        ),
    )
    .unwrap();
    let _daemon = Daemon(Command::new("vsftpd").arg(&config).spawn().unwrap());
    wait_for("127.64.10.4", 12121).await;
    let (ctx, unit) = context("127.64.10.4");
    weak_found_strong_not(
        &ctx,
        &target(unit, 12121, Protocol::Ftp),
        &weak.0,
        &strong.0,
    )
    .await;
    // Anonymous FTP is off: refused, not a login.
    assert_eq!(
        probe::attempt(
            &ctx,
            &target(ctx.units[0].clone(), 12121, Protocol::Ftp),
            &Login::new("anonymous", "")
        )
        .await
        .outcome,
        Outcome::Refused
    );
}

#[tokio::test]
async fn snmpd_communities() {
    require("snmpd", "snmpd");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("snmpd.conf");
    std::fs::write(
        &config,
        format!("rocommunity public default\nrocommunity {STRONG} default\n"),
    )
    .unwrap();
    let _daemon = Daemon(
        Command::new("snmpd")
            .args(["-f", "-Ln", "-C", "-c"])
            .arg(&config)
            .args(["-p"])
            .arg(dir.path().join("snmpd.pid"))
            .arg("udp:127.64.10.5:11161")
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (ctx, unit) = context("127.64.10.5");
    let target = target(unit, 11161, Protocol::Snmp);
    let community = |text: &str| Login {
        username: None,
        password: text.to_owned(),
    };
    let candidates: Vec<_> = ["private", "admin", "public", "community"]
        .iter()
        .map(|c| ad_hoc(community(c), "test"))
        .collect();
    let report = guess(&ctx, &target, &candidates, 2).await;
    let accepted: Vec<String> = report
        .accepted
        .iter()
        .map(|f| f.entry.login.password.clone())
        .collect();
    assert_eq!(accepted, ["public"], "{:?}", report.tried);
    assert_every_attempt_judged(&report);
    assert_eq!(
        probe::attempt(&ctx, &target, &community(STRONG))
            .await
            .outcome,
        Outcome::Accepted
    );
}

/// The result of every check of the suite against the units of `profile`.
async fn whole_suite(profile: iotcert_suite::Profile) -> Vec<iotcert_suite::CheckResult> {
    common::run(profile).await
}

/// A self-signed RSA-1024 certificate with CA:TRUE, and its key, in `dir`.
fn weak_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    require("openssl", "openssl");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "30",
        ])
        .args([
            "-subj",
            "/CN=street-light",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (cert, key)
}

/// Issue 13, observation 6: nginx serves basic auth admin/admin behind TLS with an
/// RSA-1024 certificate (TLS 1.0 and 1.2), beside a plain HTTP port with another
/// password. The HTTPS login must be driven (any key is taken) and admin/admin found
/// there; it used to stay undecided while the plain port's refusals made a PASS.
#[tokio::test]
async fn nginx_https_with_an_rsa_1024_key_is_driven() {
    require("nginx", "nginx");
    let address = "127.64.10.20";
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = weak_certificate(dir.path());
    let root = dir.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("index.html"), "street light\n").unwrap();
    std::fs::write(dir.path().join("weak"), "admin:{PLAIN}admin\n").unwrap();
    std::fs::write(
        dir.path().join("strong"),
        format!("admin:{{PLAIN}}{STRONG}\n"),
    )
    .unwrap();
    // OpenSSL 3 refuses an RSA-1024 key at its default security level; a device's old
    // TLS stack does not.
    let openssl_conf = dir.path().join("openssl.cnf");
    std::fs::write(
        &openssl_conf,
        "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = legacy\n[legacy]\nCipherString = DEFAULT:@SECLEVEL=0\nMinProtocol = TLSv1\n",
    )
    .unwrap();
    let d = dir.path().display();
    let config = dir.path().join("nginx.conf");
    std::fs::write(
        &config,
        format!(
            "daemon off;\nmaster_process off;\nuser root;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             server {{\n  listen {address}:18443 ssl;\n  ssl_certificate {cert};\n  ssl_certificate_key {key};\n\
               ssl_protocols TLSv1 TLSv1.2;\n  ssl_ciphers DEFAULT:@SECLEVEL=0;\n  root {root};\n\
               auth_basic \"light\";\n  auth_basic_user_file {d}/weak;\n }}\n\
             server {{\n  listen {address}:18081;\n  root {root};\n  auth_basic \"light\";\n\
               auth_basic_user_file {d}/strong;\n }}\n}}\n",
            cert = cert.display(),
            key = key.display(),
            root = root.display()
        ),
    )
    .unwrap();
    let _daemon = Daemon(
        Command::new("nginx")
            .arg("-c")
            .arg(&config)
            .arg("-p")
            .arg(dir.path())
            .env("OPENSSL_CONF", &openssl_conf)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(address, 18443).await;
    wait_for(address, 18081).await;
    let mut https = common::interface(18443, "https", Authentication::Password);
    https.tls = true;
    let mut profile = common::profile(
        &[address],
        vec![
            common::interface(18081, "http", Authentication::Password),
            https,
        ],
        "",
    );
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.unit_credentials = vec![common::credential("unit-1", "http", "admin", STRONG)];
        })
        .unwrap();
    let results = whole_suite(profile).await;
    let default = common::result(&results, DEFAULT_CREDENTIAL, Some("unit-1"));
    assert_eq!(default.verdict, Verdict::Fail, "{}", default.summary);
    assert!(
        default
            .summary
            .contains("admin/admin on unit-1 127.64.10.20:18443/http+tls"),
        "{}",
        default.summary
    );
}

/// dropbear on `address:port` with the host key at `key`; `passwords: false` is `-s`.
async fn dropbear_with_key(address: &str, key: &std::path::Path, passwords: bool) -> Daemon {
    let mut command = Command::new("dropbear");
    command.args(["-F", "-E", "-p", &format!("{address}:12222"), "-r"]);
    command.arg(key);
    if !passwords {
        command.arg("-s");
    }
    let daemon = Daemon(command.stderr(std::process::Stdio::null()).spawn().unwrap());
    wait_for(address, 12222).await;
    daemon
}

/// Issue 13, observation 7: two units declared key-only share one SSH host key. The
/// declaration is no reason to skip them: the key is read and the sharing fails, and
/// the servers' refusal to offer the password method is what the guessing checks see.
#[tokio::test]
async fn dropbear_key_only_units_sharing_a_host_key_fail() {
    require("dropbear", "dropbear-bin");
    require("dropbearkey", "dropbear-bin");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("host_key");
    let made = Command::new("dropbearkey")
        .args(["-t", "ed25519", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let addresses = ["127.64.10.21", "127.64.10.22"];
    let _first = dropbear_with_key(addresses[0], &key, false).await;
    let _second = dropbear_with_key(addresses[1], &key, false).await;
    let profile = common::profile(
        &addresses,
        vec![common::interface(12222, "ssh", Authentication::Key)],
        "",
    );
    let suite = CredentialsSuite::new();
    for check in suite.descriptor().checks {
        assert_eq!(
            suite.applicability(&check, &profile),
            Applicability::Applicable,
            "{}",
            check.id
        );
    }
    let results = whole_suite(profile).await;
    let shared = common::result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Fail, "{}", shared.summary);
    assert!(
        shared.summary.contains("SSH host key SHA256:")
            && shared
                .summary
                .contains("on unit-1 port 12222 and unit-2 port 12222"),
        "{}",
        shared.summary
    );
    let default = common::result(&results, DEFAULT_CREDENTIAL, Some("unit-1"));
    assert_eq!(default.verdict, Verdict::Pass, "{}", default.summary);
    let proof = default.proof.as_ref().expect("a PASS carries its proof");
    assert!(
        proof
            .as_str()
            .contains("offers no password method (it offers: publickey)"),
        "{}",
        proof.as_str()
    );
}

/// Issue 13, observation 7: SSH declared key-only that takes a password from the Mirai
/// list (support/support) fails.
#[tokio::test]
async fn dropbear_declared_key_only_with_a_mirai_password_fails() {
    require("dropbear", "dropbear-bin");
    require("dropbearkey", "dropbear-bin");
    let _user = ThrowAwayUser::new("support", "support");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("host_key");
    let made = Command::new("dropbearkey")
        .args(["-t", "ed25519", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let address = "127.64.10.23";
    let _daemon = dropbear_with_key(address, &key, true).await;
    let mut profile = common::profile(
        &[address],
        vec![common::interface(12222, "ssh", Authentication::Key)],
        "",
    );
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.max_candidates = 200;
        })
        .unwrap();
    let results = whole_suite(profile).await;
    let default = common::result(&results, DEFAULT_CREDENTIAL, Some("unit-1"));
    assert_eq!(default.verdict, Verdict::Fail, "{}", default.summary);
    assert!(
        default
            .summary
            .contains("support/support on unit-1 127.64.10.23:12222/ssh"),
        "{}",
        default.summary
    );
}

/// Issue 13, observation 8: two snmpd units answer both `public` and `private`. Every
/// community is tried, so both are reported on both units, run after run, and both are
/// shared across the units.
#[tokio::test]
async fn snmpd_every_community_is_reported_on_every_unit() {
    require("snmpd", "snmpd");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("snmpd.conf");
    std::fs::write(
        &config,
        "rocommunity public default\nrwcommunity private default\n",
    )
    .unwrap();
    let addresses = ["127.64.10.24", "127.64.10.25"];
    let mut daemons = Vec::new();
    for (index, address) in addresses.iter().enumerate() {
        daemons.push(Daemon(
            Command::new("snmpd")
                .args(["-f", "-Ln", "-C", "-c"])
                .arg(&config)
                .args(["-p"])
                .arg(dir.path().join(format!("snmpd-{index}.pid")))
                .arg(format!("udp:{address}:11161"))
                .spawn()
                .unwrap(),
        ));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut profile = common::profile(
        &addresses,
        vec![common::interface(11161, "snmp", Authentication::Password)],
        "",
    );
    // An agent is silent towards a community it does not know: each refusal waits out
    // both protocol versions.
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.attempt_timeout_ms = 5000;
        })
        .unwrap();
    let results = whole_suite(profile).await;
    for unit in ["unit-1", "unit-2"] {
        let default = common::result(&results, DEFAULT_CREDENTIAL, Some(unit));
        assert_eq!(default.verdict, Verdict::Fail, "{}", default.summary);
        for community in ["(anonymous)/public", "(anonymous)/private"] {
            assert!(default.summary.contains(community), "{}", default.summary);
        }
    }
    let shared = common::result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Fail, "{}", shared.summary);
    for community in ["(anonymous)/public", "(anonymous)/private"] {
        assert!(shared.summary.contains(community), "{}", shared.summary);
    }
}

/// An MQTT broker behind TLS 1.3 that demands a client certificate (`openssl s_server
/// -Verify`), declared `authentication = "certificate"`: tested, not trusted, and seen
/// to offer no password login; nothing else to judge, so nothing passes.
#[tokio::test]
async fn a_server_demanding_a_client_certificate_offers_no_password_login() {
    require("openssl", "openssl");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "30", "-subj", "/CN=broker", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let address = "127.64.10.26";
    let _daemon = Daemon(
        Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                &format!("{address}:18883"),
                "-tls1_3",
            ])
            .args(["-Verify", "1", "-www", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(address, 18883).await;
    let mut mqtts = common::interface(18883, "mqtts", Authentication::Certificate);
    mqtts.tls = true;
    let results = whole_suite(common::profile(&[address], vec![mqtts], "")).await;
    let default = common::result(&results, DEFAULT_CREDENTIAL, Some("unit-1"));
    assert_eq!(
        default.verdict,
        Verdict::Inconclusive,
        "{}",
        default.summary
    );
    assert!(
        default
            .summary
            .contains("18883/mqtt+tls: the TLS server requires a client certificate"),
        "{}",
        default.summary
    );
}
