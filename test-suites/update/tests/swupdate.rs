//! The update suite against Debian's real SWUpdate in check mode (`swupdate -c`) and as
//! a web server (`swupdate -w`, judged by the install status on its WebSocket), with
//! images made by openssl and GNU cpio as a manufacturer would: every insecure setup is
//! found, the secure one passes, one that refuses everything passes nothing. Needs
//! `swupdate`, `openssl` and `cpio` (scripts/test installs them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{make_pki, run, run_suite};
use iotcert_suite::Verdict;
use iotcert_suite_update::checks;
use std::path::Path;
use std::time::Duration;

/// SWUpdate instances share fixed IPC sockets in /tmp: one test runs it at a time.
static ONE_SWUPDATE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Makes `NAME.swu` installing `version`, signed by `acme` (CMS, as SWUpdate documents).
fn make_swu(dir: &Path, name: &str, version: &str) {
    let work = dir.join(name);
    std::fs::create_dir_all(&work).unwrap();
    let payload: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(work.join("rootfs.img"), &payload).unwrap();
    let sha256 = iotcert_suite_update::sha256_hex(&payload);
    let description = format!(
        "software =\n{{\n\tversion = \"{version}\";\n\tdescription = \"Acme camera\";\n\thardware-compatibility: [ \"1.0\" ];\n\timages: (\n\t\t{{\n\t\t\tfilename = \"rootfs.img\";\n\t\t\tdevice = \"/dev/null\";\n\t\t\ttype = \"raw\";\n\t\t\tsha256 = \"{sha256}\";\n\t\t}}\n\t);\n}}\n"
    );
    std::fs::write(work.join("sw-description"), description).unwrap();
    let signer = dir.join("acme.pem");
    let key = dir.join("acme.key");
    run(
        "openssl",
        &[
            "cms",
            "-sign",
            "-in",
            "sw-description",
            "-out",
            "sw-description.sig",
            "-signer",
            signer.to_str().unwrap(),
            "-inkey",
            key.to_str().unwrap(),
            "-outform",
            "DER",
            "-nosmimecap",
            "-binary",
        ],
        &work,
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &format!("printf 'sw-description\\nsw-description.sig\\nrootfs.img\\n' | cpio -o -H crc > ../{name}.swu")])
        .current_dir(&work)
        .output()
        .expect("cpio runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The command channel runs `swupdate -c` through `sh`: Debian's 2022.12 build sometimes
/// exits 1 after a successful check (about one run in eight here, with "SWUPDATE
/// successful" printed), so its success line is the oracle; a refused image never prints it.
fn profile(trust_file: &str, downgrade_protection: bool) -> String {
    let no_downgrade = if downgrade_protection {
        r#""-N", "2.0.0","#
    } else {
        ""
    };
    format!(
        r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "2.0.0"

[[units]]
id = "swupdate"
address = "127.0.0.1"

[update]
format = "swu"
genuine_image = "genuine.swu"
genuine_version = "2.0.0"
signer_certificate = "acme-ca.pem"
older_image = "older.swu"
older_version = "1.0.0"
settle_seconds = 0
untrusted_signers = [{{ key = "dev.key", certificate = "dev.pem", description = "the development key" }}]

[update.trusted_test_signer]
key = "acme.key"
certificate = "acme.pem"
ca_key = "acme-ca.key"
ca_certificate = "acme-ca.pem"

[update.delivery]
kind = "command"
program = "sh"
args = ["-c", "swupdate \"$@\" > \"$0.log\" 2>&1; status=$?; grep -q 'SWUPDATE successful' \"$0.log\" || exit $status", "{{image}}", "-c", "-H", "acme:1.0", "-k", "{trust_file}", {no_downgrade} "-i", "{{image}}"]
timeout_seconds = 60
"#
    )
}

#[tokio::test]
async fn swupdate_secure_passes_and_every_insecure_setup_is_found() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    make_pki(dir, "acme");
    make_pki(dir, "dev");
    make_swu(dir, "genuine", "2.0.0");
    make_swu(dir, "older", "1.0.0");
    let both = [
        std::fs::read(dir.join("acme-ca.pem")).unwrap(),
        std::fs::read(dir.join("dev-ca.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("acme-and-dev-ca.pem"), both).unwrap();
    let acme_ca = dir.join("acme-ca.pem");
    let acme_and_dev = dir.join("acme-and-dev-ca.pem");
    let limit = Duration::from_secs(300);

    // Secure: the manufacturer's CA only, no downgrade below the installed 2.0.0.
    let secure = run_suite(&profile(acme_ca.to_str().unwrap(), true), dir, limit).await;
    secure.dump();
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::GENUINE_IMAGE,
    ] {
        assert_eq!(
            secure.verdict(check, "swupdate"),
            Verdict::Pass,
            "secure setup, {check}"
        );
    }
    let untrusted = secure.attempts(checks::UNTRUSTED_SIGNER, "swupdate");
    let names: Vec<&str> = untrusted
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attack"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "foreign-signer",
            "expired-signer",
            "wrong-purpose-signer",
            "declared-untrusted-key"
        ]
    );

    // Insecure: the development CA is trusted too.
    let extra_key = run_suite(&profile(acme_and_dev.to_str().unwrap(), true), dir, limit).await;
    extra_key.dump();
    assert_eq!(
        extra_key.verdict(checks::UNTRUSTED_SIGNER, "swupdate"),
        Verdict::Fail
    );
    assert!(extra_key
        .result(checks::UNTRUSTED_SIGNER, "swupdate")
        .summary
        .contains("declared-untrusted-key"));
    assert_eq!(
        extra_key.verdict(checks::TAMPERED_IMAGE, "swupdate"),
        Verdict::Pass
    );

    // Insecure: no downgrade protection.
    let no_downgrade = run_suite(&profile(acme_ca.to_str().unwrap(), false), dir, limit).await;
    no_downgrade.dump();
    assert_eq!(
        no_downgrade.verdict(checks::ROLLBACK, "swupdate"),
        Verdict::Fail
    );
    assert_eq!(
        no_downgrade.verdict(checks::UNSIGNED_IMAGE, "swupdate"),
        Verdict::Pass
    );
}

/// The third insecure setup, "no key", cannot be made with Debian's build: it is compiled
/// for signed images and refuses to start without `-k`.
#[tokio::test]
async fn debian_swupdate_cannot_run_without_a_key() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let output = std::process::Command::new("swupdate")
        .args(["-c", "-i", "/nonexistent.swu"])
        .output()
        .expect("swupdate is installed (scripts/test installs it)");
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&[output.stdout, output.stderr].concat()).into_owned();
    assert!(text.contains("built for signed images"), "{text}");
}

/// The `serve` channel over HTTPS: the device (curl, then SWUpdate) pulls each image
/// from the suite's loopback server, trusting the server's certificate (`{ca}`).
#[tokio::test]
async fn swupdate_pulling_from_the_https_update_server() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    make_pki(dir, "acme");
    make_pki(dir, "dev");
    make_swu(dir, "genuine", "2.0.0");
    make_swu(dir, "older", "1.0.0");
    let pulled = dir.join("pulled.swu");
    let script = format!(
        "rm -f {pulled}.log; curl -sSf --max-time 20 --cacert {{ca}} -o {pulled} {{url}} && swupdate -c -H acme:1.0 -k {ca} -N 2.0.0 -i {pulled} > {pulled}.log 2>&1; grep -q 'SWUPDATE successful' {pulled}.log",
        pulled = pulled.display(),
        ca = dir.join("acme-ca.pem").display()
    );
    let command_profile = profile("unused", true);
    let (head, _) = command_profile.split_once("[update.delivery]").unwrap();
    let serve_profile = format!(
        "{head}[update.delivery]\nkind = \"serve\"\ntls = true\ntimeout_seconds = 60\ntrigger = {{ program = \"sh\", args = [\"-c\", {script:?}] }}\n"
    );
    let run = run_suite(&serve_profile, dir, Duration::from_secs(300)).await;
    run.dump();
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::GENUINE_IMAGE,
    ] {
        assert_eq!(run.verdict(check, "swupdate"), Verdict::Pass, "{check}");
    }
    let genuine = run.attempts(checks::GENUINE_IMAGE, "swupdate");
    assert!(
        genuine[0]["channel_answer"]
            .as_str()
            .unwrap()
            .contains("image fetched"),
        "{genuine:#}"
    );
}

/// SWUpdate's web server (`swupdate -w`) on a private runtime directory, stopped when
/// dropped (by its own process id).
struct SwupdateWeb {
    child: std::process::Child,
    port: u16,
}

impl Drop for SwupdateWeb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `swupdate -w` trusting `trust` (signatures required, downgrades below 2.0.0
/// refused), installing raw images to /dev/null, listening on 127.0.0.1.
fn start_swupdate_web(dir: &Path, setup: &str, trust: &Path) -> SwupdateWeb {
    let root = dir.join(setup);
    let www = root.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let log = std::fs::File::create(root.join("swupdate.log")).unwrap();
    let child = std::process::Command::new("swupdate")
        .args([
            "-v",
            "-k",
            trust.to_str().unwrap(),
            "-H",
            "acme:1.0",
            "-N",
            "2.0.0",
            "-m",
            "-M",
            "-w",
            &format!("-p 127.0.0.1:{port} -r {}", www.display()),
        ])
        // SWUpdate puts its IPC sockets in TMPDIR: each instance gets its own.
        .env("TMPDIR", &root)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("swupdate runs (scripts/test installs it)");
    let web = SwupdateWeb { child, port };
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "swupdate -w did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    web
}

/// The profile of a device running SWUpdate's web server: images uploaded as a form, the
/// install result read from its WebSocket when `websocket` is true.
fn web_profile(port: u16, websocket: bool) -> String {
    let command = profile("unused", true);
    let (head, _) = command.split_once("[update.delivery]").unwrap();
    let acceptance = if websocket {
        "\n[update.acceptance]\nkind = \"swupdate-websocket\"\n"
    } else {
        ""
    };
    format!("{head}[update.delivery]\nkind = \"http-upload\"\nport = {port}\npath = \"/upload\"\nencoding = \"multipart\"\nimage_field = \"file\"\ntimeout_seconds = 30\n{acceptance}")
}

/// SWUpdate's web server answers 200 to every complete upload and only then refuses a bad
/// image: judged by its install status, a correctly configured one passes every refusal
/// check with the genuine image installed as proof; an updater that installs anything
/// fails them; a server that refuses everything (it trusts another CA) gets no PASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swupdate_web_server_is_judged_by_its_install_status() {
    let _alone = ONE_SWUPDATE_AT_A_TIME.lock().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    make_pki(dir, "acme");
    make_pki(dir, "dev");
    make_pki(dir, "other");
    make_swu(dir, "genuine", "2.0.0");
    make_swu(dir, "older", "1.0.0");
    let limit = Duration::from_secs(300);
    let refusal_checks = [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
    ];

    let secure = start_swupdate_web(dir, "secure", &dir.join("acme-ca.pem"));
    // Without its status stream, a 200 says only that the upload arrived: never FAIL.
    let blind = run_suite(&web_profile(secure.port, false), dir, limit).await;
    blind.dump();
    for check in refusal_checks {
        assert_eq!(
            blind.verdict(check, "swupdate"),
            Verdict::Inconclusive,
            "no acceptance signal, {check}"
        );
    }
    let judged = run_suite(&web_profile(secure.port, true), dir, limit).await;
    drop(secure);
    judged.dump();
    for check in refusal_checks
        .into_iter()
        .chain([checks::GENUINE_IMAGE, checks::UNHEALTHY_AFTER_REFUSAL])
    {
        let result = judged.result(check, "swupdate");
        assert_eq!(result.verdict, Verdict::Pass, "{check}: {}", result.summary);
        let proof = result.proof.as_ref().expect("a PASS carries its proof");
        assert!(
            proof.as_str().contains("genuine image") && proof.as_str().contains("SUCCESS"),
            "{check}: {}",
            proof.as_str()
        );
    }
    let tampered = judged.attempts(checks::TAMPERED_IMAGE, "swupdate");
    let flipped = tampered
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attack"] == "payload-byte-flipped")
        .unwrap();
    let answer = flipped["channel_answer"].as_str().unwrap();
    // The upload's 200 (when it came) did not decide: SWUpdate's FAILURE did.
    assert!(
        answer.contains("FAILURE") && answer.contains("HASH mismatch"),
        "{answer}"
    );

    // Trusting another CA, SWUpdate refuses the genuine image too.
    let refusing = start_swupdate_web(dir, "refusing", &dir.join("other-ca.pem"));
    let run = run_suite(&web_profile(refusing.port, true), dir, limit).await;
    drop(refusing);
    run.dump();
    for check in refusal_checks {
        assert_eq!(
            run.verdict(check, "swupdate"),
            Verdict::Inconclusive,
            "refuses everything, {check}"
        );
    }
    assert_eq!(
        run.verdict(checks::GENUINE_IMAGE, "swupdate"),
        Verdict::Fail
    );
    assert_eq!(
        run.verdict(checks::UNHEALTHY_AFTER_REFUSAL, "swupdate"),
        Verdict::Inconclusive
    );

    // An updater that installs anything, speaking SWUpdate's web protocol.
    let port = installs_anything::start().await;
    let run = run_suite(&web_profile(port, true), dir, limit).await;
    run.dump();
    for check in refusal_checks {
        assert_eq!(run.verdict(check, "swupdate"), Verdict::Fail, "{check}");
    }
    assert_eq!(
        run.verdict(checks::GENUINE_IMAGE, "swupdate"),
        Verdict::Inconclusive
    );
}

/// A fake SWUpdate web server that installs every upload: 200, then SUCCESS on every
/// WebSocket open at the time.
mod installs_anything {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::broadcast;

    pub async fn start() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (statuses, _) = broadcast::channel::<String>(64);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, statuses.clone()));
            }
        });
        port
    }

    fn text_frame(text: &str) -> Vec<u8> {
        let mut frame = vec![0x81u8, 126];
        frame.extend_from_slice(&(text.len() as u16).to_be_bytes());
        frame.extend_from_slice(text.as_bytes());
        frame
    }

    async fn connection(mut stream: TcpStream, statuses: broadcast::Sender<String>) {
        let mut received = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(count) => received.extend_from_slice(&chunk[..count]),
            }
        };
        let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        if let Some(key) = header("sec-websocket-key") {
            let digest = ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
            );
            let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
            let mut updates = statuses.subscribe();
            let answer = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            while let Ok(message) = updates.recv().await {
                if stream.write_all(&text_frame(&message)).await.is_err() {
                    return;
                }
            }
            return;
        }
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = received.len() - head_end;
        while body < length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(count) => body += count,
            }
        }
        let _ = stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nOk.\r\n",
            )
            .await;
        let _ = stream.shutdown().await;
        for status in ["START", "RUN", "SUCCESS", "DONE"] {
            let _ = statuses.send(format!(
                "{{\r\n\t\"type\": \"status\",\r\n\t\"status\": \"{status}\"\r\n}}\r\n"
            ));
        }
    }
}
