//! The TLS suite against a panel of real servers (openssl s_server and nginx) that the
//! test starts on loopback addresses of its own, each with a known configuration: every
//! misconfiguration must be found, and nothing else reported.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{endpoint_profile, require, run_suite};
use iotcert_suite::Verdict;
use iotcert_suite_tls::checks::{self, SERVER_CHECKS};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use time::OffsetDateTime;

/// A server process killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts nginx (in the foreground, killed by the returned guard) on `config`.
fn nginx(dir: &Path, config: &str) -> Server {
    std::fs::write(dir.join("nginx.conf"), config).unwrap();
    let nginx = if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    };
    let child = Command::new(nginx)
        .args([
            "-c",
            &dir.join("nginx.conf").display().to_string(),
            "-e",
            &dir.join("error.log").display().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx");
    Server(child)
}

/// An nginx configuration serving `certificate`/`key` with TLS on `address:4433`.
fn nginx_config(dir: &Path, address: &str, certificate: &str, key: &str, tls: &str) -> String {
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\nevents {{ worker_connections 256; }}\n\
         http {{ access_log off; client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir}; uwsgi_temp_path {dir}; scgi_temp_path {dir};\n\
         server {{ listen {address}:4433 ssl; ssl_certificate {dir}/{certificate}; ssl_certificate_key {dir}/{key};\n\
         {tls} return 200 ok; }} }}\n",
        dir = dir.display()
    )
}

fn wait_listening(address: &str, port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect((address, port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server on {address}:{port} did not start");
}

fn s_server(
    directory: &Path,
    address: &str,
    certificate: &str,
    key: &str,
    extra: &[&str],
) -> Server {
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("{address}:4433"),
            "-cert",
            certificate,
            "-key",
            key,
            "-www",
            "-quiet",
        ])
        .args(extra)
        .current_dir(directory)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    wait_listening(address, 4433);
    Server(child)
}

/// The panel's PKI: a CA and leaves issued for the panel's addresses.
struct Pki {
    directory: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let directory = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "panel CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = params.self_signed(&ca_key).unwrap();
        std::fs::write(directory.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(directory.path().join("ca.key"), ca_key.serialize_pem()).unwrap();
        Pki {
            directory,
            ca,
            ca_key,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    /// An ECDSA P-256 leaf for `san`, valid between the two offsets (days from now).
    fn leaf(&self, name: &str, san: &str, from_days: i64, to_days: i64, self_signed: bool) {
        let now = OffsetDateTime::now_utc();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, san);
        params.subject_alt_names = vec![SanType::IpAddress(san.parse().unwrap())];
        params.not_before = now + time::Duration::days(from_days);
        params.not_after = now + time::Duration::days(to_days);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let certificate = if self_signed {
            params.self_signed(&key).unwrap()
        } else {
            params.signed_by(&key, &self.ca, &self.ca_key).unwrap()
        };
        std::fs::write(self.path(&format!("{name}.pem")), certificate.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    /// Runs openssl in the PKI's directory.
    fn openssl(&self, arguments: &[&str]) {
        let status = Command::new("openssl")
            .args(arguments)
            .current_dir(self.directory.path())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {arguments:?}");
    }

    /// An RSA-1024 leaf signed by the CA with SHA-1 (openssl; rcgen makes neither).
    fn weak_rsa_leaf(&self, name: &str, san: &str) {
        self.rsa_leaf(name, san, 1024, "-sha1");
    }

    /// An RSA leaf of `bits` signed by the CA with `digest` (rcgen cannot make RSA keys).
    fn rsa_leaf(&self, name: &str, san: &str, bits: u32, digest: &str) {
        let run = |arguments: &[&str]| self.openssl(arguments);
        std::fs::write(self.path("ext.cnf"), format!("subjectAltName=IP:{san}\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")).unwrap();
        run(&[
            "req",
            "-new",
            "-newkey",
            &format!("rsa:{bits}"),
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            "weak.csr",
            "-subj",
            &format!("/CN={san}"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "weak.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            digest,
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            &format!("{name}.pem"),
        ]);
    }
}

fn failures(
    results: &std::collections::BTreeMap<(String, Option<String>), iotcert_suite::CheckResult>,
) -> BTreeSet<String> {
    results
        .values()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.check.clone())
        .collect()
}

fn assert_exactly(
    name: &str,
    results: &std::collections::BTreeMap<(String, Option<String>), iotcert_suite::CheckResult>,
    expected: &[&str],
) {
    let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    let found = failures(results);
    let report: Vec<String> = results
        .values()
        .map(|r| format!("{} {} {}", r.check, r.verdict, r.summary))
        .collect();
    assert_eq!(
        found,
        expected,
        "{name}: failures differ\n{}",
        report.join("\n")
    );
    for check in SERVER_CHECKS {
        let result = results
            .get(&(check.to_owned(), Some("unit-1".to_owned())))
            .unwrap_or_else(|| panic!("{name}: no result for {check}"));
        if !expected.contains(check) {
            assert_eq!(
                result.verdict,
                Verdict::Pass,
                "{name}: {check}: {}",
                result.summary
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_panel_every_misconfiguration_found_none_invented() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let anchor = pki.path("ca.pem");
    let dir = pki.directory.path();

    // 1. A good server: TLS 1.2/1.3, ECDHE-ECDSA AEAD, valid chain.
    pki.leaf("good", "127.63.1.1", -1, 30, false);
    let _good = s_server(
        dir,
        "127.63.1.1",
        "good.pem",
        "good.key",
        &["-cipher", "ECDHE+AESGCM", "-chainCAfile", "ca.pem"],
    );
    let results = run_suite(&endpoint_profile("127.63.1.1", 4433, &[&anchor]), dir).await;
    assert_exactly("good", &results, &[]);

    // 2. Legacy versions and weak suites on.
    pki.weak_rsa_leaf("legacy", "127.63.1.2");
    let _legacy = s_server(
        dir,
        "127.63.1.2",
        "legacy.pem",
        "legacy.key",
        &["-cipher", "ALL:@SECLEVEL=0", "-min_protocol", "TLSv1"],
    );
    let results = run_suite(&endpoint_profile("127.63.1.2", 4433, &[&anchor]), dir).await;
    assert_exactly(
        "legacy",
        &results,
        &[
            checks::LEGACY_PROTOCOL,
            checks::WEAK_CIPHER_SUITE,
            checks::FORWARD_SECRECY,
            // At SECLEVEL 0, OpenSSL's automatic DH parameters are 1024 bits.
            checks::KEY_EXCHANGE,
            checks::CERTIFICATE_KEY,
            checks::CERTIFICATE_SIGNATURE,
        ],
    );

    // 3. Expired.
    pki.leaf("expired", "127.63.1.3", -400, -10, false);
    let _expired = s_server(dir, "127.63.1.3", "expired.pem", "expired.key", &[]);
    let results = run_suite(&endpoint_profile("127.63.1.3", 4433, &[&anchor]), dir).await;
    assert_exactly("expired", &results, &[checks::CERTIFICATE_VALIDITY]);

    // 4. Self-signed.
    pki.leaf("selfsigned", "127.63.1.4", -1, 30, true);
    let _self_signed = s_server(dir, "127.63.1.4", "selfsigned.pem", "selfsigned.key", &[]);
    let results = run_suite(&endpoint_profile("127.63.1.4", 4433, &[&anchor]), dir).await;
    assert_exactly("self-signed", &results, &[checks::CERTIFICATE_TRUST]);

    // 5. Wrong name: issued for another address.
    pki.leaf("wrongname", "127.63.9.9", -1, 30, false);
    let _wrong = s_server(dir, "127.63.1.5", "wrongname.pem", "wrongname.key", &[]);
    let results = run_suite(&endpoint_profile("127.63.1.5", 4433, &[&anchor]), dir).await;
    assert_exactly("wrong name", &results, &[checks::CERTIFICATE_NAME]);

    // 6. Untrusted: valid chain, but the profile trusts another CA.
    let other = Pki::new();
    let _untrusted = s_server(dir, "127.63.1.6", "good.pem", "good.key", &[]);
    let mut profile = endpoint_profile("127.63.1.6", 4433, &[&other.path("ca.pem")]);
    profile.push('\n');
    let results = run_suite(&profile, dir).await;
    let mut expected = vec![checks::CERTIFICATE_TRUST];
    // The leaf names 127.63.1.1, not this address.
    expected.push(checks::CERTIFICATE_NAME);
    assert_exactly("untrusted", &results, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_legacy_configuration_is_found() {
    require("openssl", "openssl");
    require("nginx", "nginx-light");
    let pki = Pki::new();
    pki.weak_rsa_leaf("nginx", "127.63.2.1");
    let dir = pki.directory.path();
    let config = nginx_config(
        dir,
        "127.63.2.1",
        "nginx.pem",
        "nginx.key",
        "ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers 'AES128-SHA:NULL-SHA:DES-CBC3-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'; ssl_prefer_server_ciphers off;",
    );
    let _nginx = nginx(dir, &config);
    wait_listening("127.63.2.1", 4433);
    let results = run_suite(
        &endpoint_profile("127.63.2.1", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    // The reference: does OpenSSL's own client get the NULL suite from this nginx?
    let reference = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            "127.63.2.1:4433",
            "-tls1_2",
            "-cipher",
            "NULL-SHA:@SECLEVEL=0",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("openssl s_client");
    let null_offered = String::from_utf8_lossy(&reference.stdout).contains("Cipher is NULL-SHA");
    let mut expected = vec![
        checks::LEGACY_PROTOCOL,
        checks::FORWARD_SECRECY,
        checks::CERTIFICATE_KEY,
        checks::CERTIFICATE_SIGNATURE,
    ];
    if null_offered {
        expected.push(checks::WEAK_CIPHER_SUITE);
    }
    assert_exactly("nginx legacy", &results, &expected);
    let weak = &results[&(
        checks::WEAK_CIPHER_SUITE.to_owned(),
        Some("unit-1".to_owned()),
    )];
    assert_eq!(
        weak.summary.contains("TLS_RSA_WITH_NULL_SHA"),
        null_offered,
        "{}",
        weak.summary
    );
    // OpenSSL 3 no longer negotiates 3DES even when configured: it must not be reported.
    assert!(!weak.summary.contains("3DES"), "{}", weak.summary);
    let forward = &results[&(
        checks::FORWARD_SECRECY.to_owned(),
        Some("unit-1".to_owned()),
    )];
    assert!(
        forward
            .summary
            .contains("TLS 1.2 TLS_RSA_WITH_AES_128_CBC_SHA"),
        "{}",
        forward.summary
    );
}

fn result<'a>(
    results: &'a std::collections::BTreeMap<(String, Option<String>), iotcert_suite::CheckResult>,
    check: &str,
) -> &'a iotcert_suite::CheckResult {
    results
        .get(&(check.to_owned(), Some("unit-1".to_owned())))
        .unwrap_or_else(|| panic!("no result for {check}"))
}

fn report(
    results: &std::collections::BTreeMap<(String, Option<String>), iotcert_suite::CheckResult>,
) -> String {
    results
        .values()
        .map(|r| {
            format!(
                "{} {} {} | proof: {:?}",
                r.check, r.verdict, r.summary, r.proof
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Issue 13, observation 10: nginx serving a self-signed RSA-1024 certificate that is a
/// CA (openssl's default `req -x509`: CA:TRUE, no keyUsage, no extendedKeyUsage), with
/// TLS 1.0 on, as a cheap street-light controller does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_self_signed_ca_certificate_fails_extensions_key_and_legacy() {
    require("openssl", "openssl");
    require("nginx", "nginx-light");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:1024",
        "-nodes",
        "-keyout",
        "streetlight.key",
        "-out",
        "streetlight.pem",
        "-days",
        "365",
        "-subj",
        "/CN=127.63.4.1",
        "-addext",
        "subjectAltName=IP:127.63.4.1",
    ]);
    let config = nginx_config(
        dir,
        "127.63.4.1",
        "streetlight.pem",
        "streetlight.key",
        "ssl_protocols TLSv1 TLSv1.2; ssl_ciphers 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0';",
    );
    let _nginx = nginx(dir, &config);
    wait_listening("127.63.4.1", 4433);
    let results = run_suite(&endpoint_profile("127.63.4.1", 4433, &[]), dir).await;
    let all = report(&results);
    for check in [
        checks::CERTIFICATE_EXTENSIONS,
        checks::CERTIFICATE_KEY,
        checks::LEGACY_PROTOCOL,
    ] {
        assert_eq!(
            result(&results, check).verdict,
            Verdict::Fail,
            "{check}\n{all}"
        );
    }
    let extensions = &result(&results, checks::CERTIFICATE_EXTENSIONS).summary;
    for finding in ["CA:TRUE", "no keyUsage", "no extendedKeyUsage"] {
        assert!(
            extensions.contains(finding),
            "{finding} missing: {extensions}"
        );
    }
    assert!(
        result(&results, checks::LEGACY_PROTOCOL)
            .summary
            .contains("TLS 1.0"),
        "{all}"
    );
    // Nothing here passes without the proof of a completed handshake; rustls refuses
    // the RSA-1024 signature, so it is the TLS 1.2 first flight read to its end.
    for r in results.values().filter(|r| r.verdict == Verdict::Pass) {
        let proof = r.proof.as_ref().map(|p| p.as_str()).unwrap_or_default();
        assert!(
            proof.contains("TLS 1.2 first flight read to ServerHelloDone"),
            "{}: {proof}",
            r.check
        );
    }
}

/// Issue 13, observation 11: a server accepting an anonymous suite outside the old
/// fixed table (ADH-CAMELLIA128-SHA256, 0x00BF) beside one strong suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_camellia_suite_outside_the_old_table_fails_weak_cipher_suite() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.rsa_leaf("rsa", "127.63.4.2", 2048, "-sha256");
    let _server = s_server(
        dir,
        "127.63.4.2",
        "rsa.pem",
        "rsa.key",
        &[
            "-cipher",
            "ADH-CAMELLIA128-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        ],
    );
    let results = run_suite(
        &endpoint_profile("127.63.4.2", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    let weak = result(&results, checks::WEAK_CIPHER_SUITE);
    assert_eq!(weak.verdict, Verdict::Fail, "{}", report(&results));
    assert!(
        weak.summary.contains("0x00BF") && weak.summary.contains("anonymous"),
        "{}",
        weak.summary
    );
    assert!(
        !weak.summary.contains("ECDHE_RSA_WITH_AES_128_GCM"),
        "{}",
        weak.summary
    );
}

/// Issue 13, observation 4: a server with static RSA key exchange only gave
/// `tls.key-exchange-strength` PASS "key exchange on " over an empty set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_key_exchange_only_is_not_a_key_exchange_pass() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.rsa_leaf("rsa", "127.63.4.3", 2048, "-sha256");
    let _server = s_server(
        dir,
        "127.63.4.3",
        "rsa.pem",
        "rsa.key",
        &["-cipher", "AES128-GCM-SHA256", "-no_tls1_3"],
    );
    let results = run_suite(
        &endpoint_profile("127.63.4.3", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    let all = report(&results);
    let exchange = result(&results, checks::KEY_EXCHANGE);
    assert_eq!(exchange.verdict, Verdict::Inconclusive, "{all}");
    assert!(
        exchange.summary.contains("no ephemeral key exchange"),
        "{all}"
    );
    assert_eq!(
        result(&results, checks::FORWARD_SECRECY).verdict,
        Verdict::Fail,
        "{all}"
    );
    // rustls cannot speak static RSA: the checks that pass rest on the first flight.
    let modern = result(&results, checks::MODERN_PROTOCOL);
    assert_eq!(modern.verdict, Verdict::Pass, "{all}");
    let proof = modern
        .proof
        .as_ref()
        .map(|p| p.as_str())
        .unwrap_or_default();
    assert!(proof.contains("ServerHelloDone"), "{proof}");
}

/// Whether a proxy resets a ClientHello offering this many suites and compression methods.
type ResetRule = fn(usize, u8) -> bool;

/// Resets the hand-built hellos that offer a part of the registry (over 100 suites)
/// without DEFLATE: the version probes (which offer DEFLATE) and the rustls handshake get
/// through, the suite enumeration does not.
fn cuts_the_enumeration(suites: usize, compression_methods: u8) -> bool {
    suites > 100 && compression_methods == 1
}

/// Resets a hello offering more than 150 suites, as wolfSSL does (WOLFSSL_MAX_SUITE_SZ).
fn limits_the_suite_list(suites: usize, _: u8) -> bool {
    suites > 150
}

/// A proxy in front of a real server that resets the hellos `reset` names.
async fn resetting_proxy(listen: &str, upstream: &str, reset: ResetRule) {
    let listener = tokio::net::TcpListener::bind((listen, 4433)).await.unwrap();
    let upstream = upstream.to_owned();
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut hello = vec![0u8; 8192];
            let mut read = 0;
            while read < 5 || read < 5 + usize::from(u16::from_be_bytes([hello[3], hello[4]])) {
                match tokio::time::timeout(Duration::from_secs(2), client.read(&mut hello[read..]))
                    .await
                {
                    Ok(Ok(n)) if n > 0 => read += n,
                    _ => return,
                }
                if read >= hello.len() {
                    return;
                }
            }
            let session = usize::from(hello[43]);
            let suites = usize::from(u16::from_be_bytes([
                hello[44 + session],
                hello[45 + session],
            ])) / 2;
            let compression_methods = hello.get(46 + session + 2 * suites).copied().unwrap_or(0);
            if reset(suites, compression_methods) {
                let _ = client.set_zero_linger();
                return;
            }
            let Ok(mut server) = tokio::net::TcpStream::connect((upstream.as_str(), 4433)).await
            else {
                return;
            };
            if server.write_all(&hello[..read]).await.is_err() {
                return;
            }
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::io::copy_bidirectional(&mut client, &mut server),
            )
            .await;
        });
    }
}

/// Issue 13, observation 4: a server that cuts the suite enumeration left the suite-based
/// checks with nothing recorded, and they passed ("0 suites accepted, none weak",
/// "key exchange on ").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_suite_enumeration_is_inconclusive_not_a_pass() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.leaf("behind", "127.63.4.5", -1, 30, false);
    let _server = s_server(
        dir,
        "127.63.4.4",
        "behind.pem",
        "behind.key",
        &["-cipher", "ECDHE+AESGCM"],
    );
    let proxy = tokio::spawn(resetting_proxy(
        "127.63.4.5",
        "127.63.4.4",
        cuts_the_enumeration,
    ));
    let results = run_suite(
        &endpoint_profile("127.63.4.5", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    proxy.abort();
    let all = report(&results);
    for check in [
        checks::WEAK_CIPHER_SUITE,
        checks::FORWARD_SECRECY,
        checks::KEY_EXCHANGE,
    ] {
        let r = result(&results, check);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{check}\n{all}");
        assert!(
            r.summary.contains("not enumerated"),
            "{check}: {}",
            r.summary
        );
    }
    // The handshake itself completed: the checks that do not rest on the suites pass.
    assert_eq!(
        result(&results, checks::MODERN_PROTOCOL).verdict,
        Verdict::Pass,
        "{all}"
    );
}

/// `tls.key-reuse` compared over the keys of one unit (the second answers nothing) said
/// PASS "every unit has keys of its own".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_reuse_with_one_unit_silent_is_inconclusive() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.leaf("first", "127.63.4.6", -1, 30, false);
    let _server = s_server(dir, "127.63.4.6", "first.pem", "first.key", &[]);
    let profile = endpoint_profile("127.63.4.6", 4433, &[&pki.path("ca.pem")]).replace(
        "[[interfaces]]",
        "[[units]]\nid = \"unit-2\"\naddress = \"127.63.4.7\"\n[[interfaces]]",
    );
    let results = run_suite(&profile, dir).await;
    let reuse = &results[&(checks::KEY_REUSE.to_owned(), None)];
    assert_eq!(reuse.verdict, Verdict::Inconclusive, "{}", reuse.summary);
    assert!(reuse.summary.contains("unit-2"), "{}", reuse.summary);
}

/// A server that refuses hellos listing more than 150 suites (wolfSSL's default limit)
/// must still be enumerated: here it accepts the anonymous 0x00BF beside a strong suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_limiting_the_suite_list_is_still_enumerated() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.rsa_leaf("limited", "127.63.4.9", 2048, "-sha256");
    let _server = s_server(
        dir,
        "127.63.4.8",
        "limited.pem",
        "limited.key",
        &[
            "-cipher",
            "ADH-CAMELLIA128-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        ],
    );
    let proxy = tokio::spawn(resetting_proxy(
        "127.63.4.9",
        "127.63.4.8",
        limits_the_suite_list,
    ));
    let results = run_suite(
        &endpoint_profile("127.63.4.9", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    proxy.abort();
    let weak = result(&results, checks::WEAK_CIPHER_SUITE);
    assert_eq!(weak.verdict, Verdict::Fail, "{}", report(&results));
    assert!(weak.summary.contains("0x00BF"), "{}", weak.summary);
    assert_eq!(
        result(&results, checks::MODERN_PROTOCOL).verdict,
        Verdict::Pass,
        "{}",
        report(&results)
    );
}

/// A proxy in front of a real server that answers every SSL 3.0 to TLS 1.1 hello with a
/// TLS 1.0 ServerHello sent one byte a second, and passes everything else through.
async fn slow_legacy_proxy(listen: &str, upstream: &str) {
    let listener = tokio::net::TcpListener::bind((listen, 4433)).await.unwrap();
    let upstream = upstream.to_owned();
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut hello = vec![0u8; 8192];
            let read =
                match tokio::time::timeout(Duration::from_secs(2), client.read(&mut hello)).await {
                    Ok(Ok(n)) if n > 10 => n,
                    _ => return,
                };
            if [hello[9], hello[10]] < [3, 3] {
                let mut body = vec![3, 1];
                body.extend_from_slice(&[7u8; 32]);
                body.extend_from_slice(&[0, 0xc0, 0x13, 0]);
                let mut answer = vec![22, 3, 1, 0, 42, 2, 0, 0, 38];
                answer.extend_from_slice(&body);
                for byte in answer {
                    if client.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                return;
            }
            let Ok(mut server) = tokio::net::TcpStream::connect((upstream.as_str(), 4433)).await
            else {
                return;
            };
            if server.write_all(&hello[..read]).await.is_err() {
                return;
            }
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::io::copy_bidirectional(&mut client, &mut server),
            )
            .await;
        });
    }
}

/// An answer cut by the time limit is not a refusal: a server that accepts TLS 1.0 but
/// answers it a byte a second gave `tls.legacy-protocol` PASS ("refuses TLS 1.0").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_hello_answered_a_byte_a_second_is_not_refused() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.leaf("slow", "127.63.4.11", -1, 30, false);
    let _server = s_server(dir, "127.63.4.10", "slow.pem", "slow.key", &[]);
    let proxy = tokio::spawn(slow_legacy_proxy("127.63.4.11", "127.63.4.10"));
    let results = run_suite(
        &endpoint_profile("127.63.4.11", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    proxy.abort();
    let legacy = result(&results, checks::LEGACY_PROTOCOL);
    assert_eq!(
        legacy.verdict,
        Verdict::Inconclusive,
        "{}",
        report(&results)
    );
    assert!(legacy.summary.contains("TLS 1.0"), "{}", legacy.summary);
}

/// A proxy in front of a real server that, from the moment the enumeration has taken
/// its second suite (a hand-built hello offering 0xC030 without 0xC02F), resets every
/// hand-built hello, as a device with a connection limit would; rustls gets through.
async fn connection_limited_proxy(listen: &str, upstream: &str) {
    let listener = tokio::net::TcpListener::bind((listen, 4433)).await.unwrap();
    let upstream = upstream.to_owned();
    let limited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        let limited = std::sync::Arc::clone(&limited);
        tokio::spawn(async move {
            use std::sync::atomic::Ordering;
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut hello = vec![0u8; 8192];
            let read =
                match tokio::time::timeout(Duration::from_secs(2), client.read(&mut hello)).await {
                    Ok(Ok(n)) if n > 80 => n,
                    _ => return,
                };
            // The suite's hand-built hellos carry a 32-byte session id of 0x11.
            let hand_built = hello[43] == 32 && hello[44..76].iter().all(|b| *b == 0x11);
            if hand_built {
                let length = usize::from(u16::from_be_bytes([hello[76], hello[77]]));
                let suites: Vec<[u8; 2]> = hello[78..(78 + length).min(read)]
                    .chunks(2)
                    .map(|pair| [pair[0], pair.get(1).copied().unwrap_or(0)])
                    .collect();
                if limited.load(Ordering::SeqCst) {
                    let _ = client.set_zero_linger();
                    return;
                }
                if suites.contains(&[0xc0, 0x30]) && !suites.contains(&[0xc0, 0x2f]) {
                    limited.store(true, Ordering::SeqCst);
                }
            }
            let Ok(mut server) = tokio::net::TcpStream::connect((upstream.as_str(), 4433)).await
            else {
                return;
            };
            if server.write_all(&hello[..read]).await.is_err() {
                return;
            }
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::io::copy_bidirectional(&mut client, &mut server),
            )
            .await;
        });
    }
}

/// A refusal that ends the enumeration proves something only if the server still
/// answers: a device that stops answering after a few connections hid its NULL suite
/// and got `tls.weak-cipher-suite` PASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_mid_enumeration_is_not_a_pass() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.rsa_leaf("limited", "127.63.4.13", 2048, "-sha256");
    let _server = s_server(
        dir,
        "127.63.4.12",
        "limited.pem",
        "limited.key",
        &[
            "-tls1_2",
            "-cipher",
            "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:NULL-SHA256:@SECLEVEL=0",
        ],
    );
    let proxy = tokio::spawn(connection_limited_proxy("127.63.4.13", "127.63.4.12"));
    let results = run_suite(
        &endpoint_profile("127.63.4.13", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    proxy.abort();
    let weak = result(&results, checks::WEAK_CIPHER_SUITE);
    assert_eq!(weak.verdict, Verdict::Inconclusive, "{}", report(&results));
    assert!(
        weak.summary.contains("asked again at once"),
        "{}",
        weak.summary
    );
}

/// A proxy that serves one connection at a time and closes any other that arrives
/// meanwhile (no alert, no reset), as a device with a single TLS session slot does.
async fn single_session_proxy(listen: &str, upstream: &str) {
    let listener = tokio::net::TcpListener::bind((listen, 4433)).await.unwrap();
    let upstream = upstream.to_owned();
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        use std::sync::atomic::Ordering;
        if busy.swap(true, Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let upstream = upstream.clone();
        let busy = std::sync::Arc::clone(&busy);
        tokio::spawn(async move {
            if let Ok(mut server) = tokio::net::TcpStream::connect((upstream.as_str(), 4433)).await
            {
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio::io::copy_bidirectional(&mut client, &mut server),
                )
                .await;
            }
            busy.store(false, Ordering::SeqCst);
        });
    }
}

/// Versions probed in parallel and closed by a device that serves one session at a time
/// are not refused: the legacy versions the server accepts must be found, not passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_session_device_is_not_read_as_refusing_versions() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.leaf("single", "127.63.4.15", -1, 30, false);
    let _server = s_server(
        dir,
        "127.63.4.14",
        "single.pem",
        "single.key",
        &[
            "-cipher",
            "ECDHE+AESGCM:ECDHE+AES:@SECLEVEL=0",
            "-min_protocol",
            "TLSv1",
        ],
    );
    let proxy = tokio::spawn(single_session_proxy("127.63.4.15", "127.63.4.14"));
    let results = run_suite(
        &endpoint_profile("127.63.4.15", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    proxy.abort();
    let legacy = result(&results, checks::LEGACY_PROTOCOL);
    assert_eq!(legacy.verdict, Verdict::Fail, "{}", report(&results));
    assert!(legacy.summary.contains("TLS 1."), "{}", legacy.summary);
}

/// A proxy in front of a real server that, from the first hello offering only weak
/// curves (secp160k1 first), closes every hand-built hello: the device's connection
/// limit struck exactly when the weak curves were asked about.
async fn closes_from_the_weak_curve_hello(listen: &str, upstream: &str) {
    let listener = tokio::net::TcpListener::bind((listen, 4433)).await.unwrap();
    let upstream = upstream.to_owned();
    let limited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        let limited = std::sync::Arc::clone(&limited);
        tokio::spawn(async move {
            use std::sync::atomic::Ordering;
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut hello = vec![0u8; 8192];
            let read =
                match tokio::time::timeout(Duration::from_secs(2), client.read(&mut hello)).await {
                    Ok(Ok(n)) if n > 80 => n,
                    _ => return,
                };
            let hand_built = hello[43] == 32 && hello[44..76].iter().all(|b| *b == 0x11);
            let weak_curves_only = hello[..read]
                .windows(6)
                .any(|w| w == [0x00, 0x0f, 0x00, 0x10, 0x00, 0x11]);
            if hand_built && (weak_curves_only || limited.load(Ordering::SeqCst)) {
                limited.store(true, Ordering::SeqCst);
                return;
            }
            let Ok(mut server) = tokio::net::TcpStream::connect((upstream.as_str(), 4433)).await
            else {
                return;
            };
            if server.write_all(&hello[..read]).await.is_err() {
                return;
            }
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::io::copy_bidirectional(&mut client, &mut server),
            )
            .await;
        });
    }
}

/// A refusal of the weak curves proves something only if the server still accepts the
/// same suite with the usual curves. Here the weak-curve hello never reaches the server
/// (the connection limit closes it), and the close was read as "weak curves refused":
/// `tls.key-exchange-strength` PASS on an answer the server never gave. (Debian's
/// OpenSSL refuses curves under 256 bits whatever it is configured with, so the test
/// cannot put a server that accepts one behind the proxy.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_curves_refused_by_a_connection_limit_are_not_a_pass() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.leaf("curves", "127.63.4.17", -1, 30, false);
    let _server = s_server(
        dir,
        "127.63.4.16",
        "curves.pem",
        "curves.key",
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
    );
    let proxy = tokio::spawn(closes_from_the_weak_curve_hello(
        "127.63.4.17",
        "127.63.4.16",
    ));
    let results = run_suite(
        &endpoint_profile("127.63.4.17", 4433, &[&pki.path("ca.pem")]),
        dir,
    )
    .await;
    proxy.abort();
    let exchange = result(&results, checks::KEY_EXCHANGE);
    assert_eq!(
        exchange.verdict,
        Verdict::Inconclusive,
        "{}",
        report(&results)
    );
    assert!(
        exchange.summary.contains("weak-curve"),
        "{}",
        exchange.summary
    );
}

/// A PASS covers every declared interface: with DTLS declared beside a good TLS port,
/// the checks the TLS port passes stay INCONCLUSIVE, naming the DTLS port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_on_tls_does_not_cover_declared_dtls() {
    require("openssl", "openssl");
    let pki = Pki::new();
    let dir = pki.directory.path();
    pki.leaf("dtls", "127.63.4.18", -1, 30, false);
    let _server = s_server(
        dir,
        "127.63.4.18",
        "dtls.pem",
        "dtls.key",
        &["-cipher", "ECDHE+AESGCM"],
    );
    let profile = endpoint_profile("127.63.4.18", 4433, &[&pki.path("ca.pem")]).replace(
        "[pacing]",
        "[[interfaces]]\nport = 5684\ntransport = \"udp\"\nservice = \"coaps\"\ntls = true\n[pacing]",
    );
    let results = run_suite(&profile, dir).await;
    let modern = result(&results, checks::MODERN_PROTOCOL);
    assert_eq!(
        modern.verdict,
        Verdict::Inconclusive,
        "{}",
        report(&results)
    );
    assert!(
        modern.summary.contains("4433/tcp: accepts") && modern.summary.contains("5684/udp"),
        "{}",
        modern.summary
    );
}
