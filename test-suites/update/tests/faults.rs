//! The update suite against hostile update endpoints written here: nothing listening, a
//! reset on accept, silence, garbage, a byte a second, answers in slow parts, an endpoint
//! that refuses every image (the genuine one included), one that installs anything, and
//! a version query that never worked. None of them may get a PASS; each gets the verdict
//! its behaviour really shows. Also the channels that cannot run, cannot tell two units
//! apart, and the firmware left on a unit after the suite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use base64::Engine as _;
use iotcert_suite::Verdict;
use iotcert_suite_update::checks;
use iotcert_testbed::update::{write_update_artifacts, GENUINE_UPDATE_VERSION};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The version every hostile endpoint runs before the suite.
const RUNNING: &str = "1.1.0";

/// How a hostile endpoint behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Nothing listens on the port.
    NothingListening,
    /// Every connection is reset as soon as it is accepted.
    ResetOnAccept,
    /// Connections are accepted and read, never answered.
    Silent,
    /// Every request is answered with bytes that are not HTTP.
    Garbage,
    /// Every image is refused with 403, the genuine one too; the version query works.
    RefuseAll,
    /// Every image is installed: the version query then reports its `version=` line.
    AcceptAny,
    /// As `RefuseAll`, each answer sent one byte a second.
    ByteASecond,
    /// As `RefuseAll`, each answer sent in two parts 0.6 s apart.
    SlowParts,
    /// Uploads refused with 403; the version query answers 404 from the first request.
    VersionNotFound,
    /// Uploads refused with 403; the version query answers another version every time.
    DriftingVersion,
    /// Uploads answered 200; a WebSocket is opened properly, then carries junk and a
    /// frame announcing more bytes than exist, never an install result.
    WebSocketBabble,
}

/// Reads one HTTP request (head and Content-Length body, capped); `None` on EOF.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if received.len() > 64 * 1024 {
            return None;
        }
        let count = stream.read(&mut chunk).await.ok()?;
        if count == 0 {
            return None;
        }
        received.extend_from_slice(&chunk[..count]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = received[head_end..].to_vec();
    while body.len() < length.min(8 << 20) {
        let count = stream.read(&mut chunk).await.ok()?;
        if count == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..count]);
    }
    Some((head, body))
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn answer(stream: &mut TcpStream, fault: Fault, bytes: &[u8]) {
    match fault {
        Fault::ByteASecond => {
            for byte in bytes {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Fault::SlowParts => {
            let (first, second) = bytes.split_at(bytes.len() / 2);
            let _ = stream.write_all(first).await;
            tokio::time::sleep(Duration::from_millis(600)).await;
            let _ = stream.write_all(second).await;
        }
        _ => {
            let _ = stream.write_all(bytes).await;
        }
    }
    let _ = stream.shutdown().await;
}

async fn serve_connection(mut stream: TcpStream, fault: Fault, version: Arc<Mutex<String>>) {
    match fault {
        Fault::NothingListening => {}
        Fault::ResetOnAccept => {
            let _ = stream.set_zero_linger();
        }
        Fault::Silent => {
            let mut sink = [0u8; 8192];
            let started = tokio::time::Instant::now();
            while started.elapsed() < Duration::from_secs(120) {
                match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut sink)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    _ => {}
                }
            }
        }
        Fault::WebSocketBabble => {
            let Some((head, _)) = read_request(&mut stream).await else {
                return;
            };
            let key = head
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .map(str::to_owned);
            let Some(key) = key else {
                answer(&mut stream, fault, &response("200 OK", "Ok")).await;
                return;
            };
            let digest = ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
            );
            let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
            let mut babble = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").into_bytes();
            babble.extend_from_slice(&[0x81, 5]);
            babble.extend_from_slice(b"{\"typ");
            babble.extend_from_slice(&[0x82, 3, 1, 2, 3]);
            babble.extend_from_slice(&[0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
            let _ = stream.write_all(&babble).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Fault::Garbage => {
            let _ = read_request(&mut stream).await;
            let garbage: Vec<u8> = (0..200u32).map(|i| (i * 97 % 251) as u8).collect();
            let _ = stream.write_all(&garbage).await;
        }
        _ => {
            let Some((head, body)) = read_request(&mut stream).await else {
                return;
            };
            let bytes = if head.starts_with("GET /version") {
                if fault == Fault::VersionNotFound {
                    response("404 Not Found", "")
                } else if fault == Fault::DriftingVersion {
                    let mut running = version.lock().unwrap();
                    *running = format!("{running}+");
                    response("200 OK", &format!("{{\"firmware_version\":\"{running}\"}}"))
                } else {
                    let running = version.lock().unwrap().clone();
                    response("200 OK", &format!("{{\"firmware_version\":\"{running}\"}}"))
                }
            } else if fault == Fault::AcceptAny {
                let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
                if let Some(installed) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("version="))
                    .map(str::to_owned)
                {
                    *version.lock().unwrap() = installed;
                }
                response("200 OK", "{\"installed\":true}")
            } else {
                response("403 Forbidden", "{\"installed\":false}")
            };
            answer(&mut stream, fault, &bytes).await;
        }
    }
}

/// Starts the endpoint on `address` (an ephemeral port); returns the port.
async fn start_endpoint(address: IpAddr, fault: Fault) -> u16 {
    let listener = TcpListener::bind(SocketAddr::new(address, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    if fault == Fault::NothingListening {
        return port;
    }
    let version = Arc::new(Mutex::new(RUNNING.to_owned()));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_connection(stream, fault, Arc::clone(&version)));
        }
    });
    port
}

fn upload_profile(address: IpAddr, port: u16, acceptance: &str) -> String {
    format!(
        r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "{RUNNING}"

[[units]]
id = "unit-1"
address = "{address}"

[update]
format = "plain"
genuine_image = "acmecam-1.2.0.img"
genuine_signature = "acmecam-1.2.0.img.sig"
genuine_version = "1.2.0"
signer_certificate = "acme-update-signer.pem"
older_image = "acmecam-1.0.0.img"
older_signature = "acmecam-1.0.0.img.sig"
older_version = "1.0.0"
settle_seconds = 0

[update.delivery]
kind = "http-upload"
port = {port}
timeout_seconds = 4

[update.version_query]
kind = "http"
port = {port}
{acceptance}"#
    )
}

async fn run_fault(dir: &Path, fault: Fault, address: IpAddr, acceptance: &str) -> common::Run {
    let port = start_endpoint(address, fault).await;
    common::run_suite(
        &upload_profile(address, port, acceptance),
        dir,
        Duration::from_secs(240),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hostile_endpoint_gets_a_pass() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let faults = [
        Fault::NothingListening,
        Fault::ResetOnAccept,
        Fault::Silent,
        Fault::Garbage,
        Fault::RefuseAll,
        Fault::AcceptAny,
        Fault::ByteASecond,
        Fault::SlowParts,
        Fault::VersionNotFound,
        Fault::DriftingVersion,
    ];
    let runs = run_every_fault(directory.path(), &faults, 0, "").await;
    let mut passes = Vec::new();
    for (fault, run) in faults.iter().zip(&runs) {
        eprintln!("--- {fault:?}");
        run.dump();
        for result in &run.results {
            if result.verdict == Verdict::Pass {
                passes.push(format!("{fault:?} {}: {}", result.check, result.summary));
            }
        }
        assert_eq!(
            run.results.len(),
            checks::ALL.len(),
            "{fault:?}: one result per check"
        );
    }
    assert!(
        passes.is_empty(),
        "PASS against a hostile endpoint: {passes:#?}"
    );
    let verdict = |fault: Fault, check: &str| {
        let index = faults.iter().position(|f| *f == fault).unwrap();
        runs[index].verdict(check, "unit-1")
    };
    // Refusing everything, the genuine image too, is no verification.
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::UNHEALTHY_AFTER_REFUSAL,
    ] {
        for fault in [Fault::RefuseAll, Fault::SlowParts] {
            assert_eq!(
                verdict(fault, check),
                Verdict::Inconclusive,
                "{fault:?} {check}"
            );
        }
    }
    assert_eq!(
        verdict(Fault::RefuseAll, checks::GENUINE_IMAGE),
        Verdict::Fail
    );
    let refuse_all = faults.iter().position(|f| *f == Fault::RefuseAll).unwrap();
    assert!(runs[refuse_all]
        .result(checks::TAMPERED_IMAGE, "unit-1")
        .summary
        .contains("not seen to install the genuine image"));
    // Installing anything: the first tampered image shows it.
    assert_eq!(
        verdict(Fault::AcceptAny, checks::TAMPERED_IMAGE),
        Verdict::Fail
    );
    assert_eq!(
        verdict(Fault::AcceptAny, checks::GENUINE_IMAGE),
        Verdict::Inconclusive
    );
    // A version query that never worked is not a unit that stopped answering.
    let not_found = faults
        .iter()
        .position(|f| *f == Fault::VersionNotFound)
        .unwrap();
    let health = runs[not_found].result(checks::UNHEALTHY_AFTER_REFUSAL, "unit-1");
    assert_eq!(health.verdict, Verdict::Inconclusive, "{}", health.summary);
    assert!(
        health
            .summary
            .contains("version query failed before any image"),
        "{}",
        health.summary
    );
    // A version that changes by itself is no acceptance signal: refusals are not installs.
    let drifting = faults
        .iter()
        .position(|f| *f == Fault::DriftingVersion)
        .unwrap();
    let tampered = runs[drifting].result(checks::TAMPERED_IMAGE, "unit-1");
    assert_eq!(
        tampered.verdict,
        Verdict::Inconclusive,
        "{}",
        tampered.summary
    );
    assert!(
        tampered
            .summary
            .contains("does not report a stable version"),
        "{}",
        tampered.summary
    );
    // Silent and unreachable endpoints are given up after three images without answer.
    for fault in [Fault::NothingListening, Fault::Silent, Fault::ResetOnAccept] {
        let index = faults.iter().position(|f| *f == fault).unwrap();
        let genuine = runs[index].result(checks::GENUINE_IMAGE, "unit-1");
        assert_eq!(genuine.verdict, Verdict::Inconclusive, "{fault:?}");
        assert!(
            genuine.summary.contains("got no answer"),
            "{fault:?}: {}",
            genuine.summary
        );
    }
}

/// Runs every fault at once, each on its own loopback address in 127.86.`block`.0/24.
async fn run_every_fault(
    dir: &Path,
    faults: &[Fault],
    block: u8,
    acceptance: &'static str,
) -> Vec<common::Run> {
    let mut handles = Vec::new();
    for (index, fault) in faults.iter().enumerate() {
        let dir = dir.to_path_buf();
        let fault = *fault;
        let address: IpAddr = format!("127.86.{block}.{}", index + 1).parse().unwrap();
        handles.push(tokio::spawn(async move {
            run_fault(&dir, fault, address, acceptance).await
        }));
    }
    let mut runs = Vec::new();
    for handle in handles {
        runs.push(handle.await.unwrap());
    }
    runs
}

/// The same endpoints judged by SWUpdate's status WebSocket, which none of them speaks
/// properly: nothing is decided, nothing PASSes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hostile_endpoint_gets_a_pass_through_the_swupdate_status_stream() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let faults = [
        Fault::NothingListening,
        Fault::ResetOnAccept,
        Fault::Silent,
        Fault::Garbage,
        Fault::RefuseAll,
        Fault::AcceptAny,
        Fault::ByteASecond,
        Fault::WebSocketBabble,
    ];
    let acceptance = "\n[update.acceptance]\nkind = \"swupdate-websocket\"\n";
    let runs = run_every_fault(directory.path(), &faults, 2, acceptance).await;
    for (fault, run) in faults.iter().zip(&runs) {
        eprintln!("--- {fault:?}");
        run.dump();
        for check in checks::ALL {
            let result = run.result(check, "unit-1");
            assert_eq!(
                result.verdict,
                Verdict::Inconclusive,
                "{fault:?} {check}: {}",
                result.summary
            );
        }
    }
}

fn command_profile(units: &[(&str, &str)], program: &str, args: &[String]) -> String {
    let mut text = format!(
        r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "1.0.0"

[update]
format = "plain"
genuine_image = "acmecam-1.2.0.img"
genuine_signature = "acmecam-1.2.0.img.sig"
genuine_version = "1.2.0"
signer_certificate = "acme-update-signer.pem"
older_image = "acmecam-1.0.0.img"
older_signature = "acmecam-1.0.0.img.sig"
older_version = "1.0.0"
settle_seconds = 0

[update.delivery]
kind = "command"
program = "{program}"
args = {args:?}
timeout_seconds = 20
"#
    );
    for (id, address) in units {
        text.push_str(&format!(
            "\n[[units]]\nid = \"{id}\"\naddress = \"{address}\"\n"
        ));
    }
    text
}

/// A program that cannot run is the harness's failure to deliver, never the device
/// refusing: no PASS, ERROR on what was attempted.
#[tokio::test]
async fn a_program_that_cannot_run_is_not_a_refusal() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let address: IpAddr = "127.86.1.9".parse().unwrap();
    let port = start_endpoint(address, Fault::RefuseAll).await;
    let mut profile = command_profile(
        &[("unit-1", "127.86.1.9")],
        "/nonexistent/iotcert-updater",
        &["{image}".to_owned()],
    );
    profile.push_str(&format!(
        "\n[update.version_query]\nkind = \"http\"\nport = {port}\n"
    ));
    let run = common::run_suite(&profile, directory.path(), Duration::from_secs(60)).await;
    run.dump();
    assert!(run.results.iter().all(|r| r.verdict != Verdict::Pass));
    assert_eq!(
        run.verdict(checks::TAMPERED_IMAGE, "unit-1"),
        Verdict::Error
    );
    assert!(run
        .result(checks::TAMPERED_IMAGE, "unit-1")
        .summary
        .contains("cannot run"));
}

/// Two units behind a `command` channel: without `{unit}` the profile is refused; with it
/// each unit gets its own images and its own verdicts.
#[tokio::test]
async fn a_command_channel_must_name_the_unit() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let units = [("open", "127.86.1.1"), ("strict", "127.86.1.2")];
    // `open` installs anything; `strict` installs only the genuine image.
    let genuine = directory.path().join("acmecam-1.2.0.img");
    let script = format!(
        "if [ \"$0\" = open ]; then exit 0; fi; cmp -s \"$1\" {} || exit 1",
        genuine.display()
    );
    let blind = command_profile(
        &units,
        "sh",
        &["-c".into(), script.clone(), "{image}".into()],
    );
    let run = common::run_suite(&blind, directory.path(), Duration::from_secs(120)).await;
    run.dump();
    for (unit, _) in units {
        let result = run.result(checks::TAMPERED_IMAGE, unit);
        assert_eq!(result.verdict, Verdict::Error, "{unit}");
        assert!(result.summary.contains("{unit}"), "{}", result.summary);
    }
    let named = command_profile(
        &units,
        "sh",
        &["-c".into(), script, "{unit}".into(), "{image}".into()],
    );
    let run = common::run_suite(&named, directory.path(), Duration::from_secs(120)).await;
    run.dump();
    assert_eq!(run.verdict(checks::TAMPERED_IMAGE, "open"), Verdict::Fail);
    assert_eq!(
        run.verdict(checks::GENUINE_IMAGE, "open"),
        Verdict::Inconclusive
    );
    assert_eq!(run.verdict(checks::TAMPERED_IMAGE, "strict"), Verdict::Pass);
    assert_eq!(run.verdict(checks::GENUINE_IMAGE, "strict"), Verdict::Pass);
    let proof = run
        .result(checks::TAMPERED_IMAGE, "strict")
        .proof
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    assert!(proof.contains("genuine image"), "{proof}");
}

/// The firmware before and after the suite is in every summary and in the evidence, and
/// a unit that ends on another version than it started with is put back where the
/// profile has an image of that version and the device takes it.
#[tokio::test]
async fn firmware_is_recorded_and_restored() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    write_update_artifacts(dir).unwrap();
    let state = dir.join("running-version");
    std::fs::write(&state, "1.0.0\n").unwrap();
    // A device that checks images by comparing them with the two genuine ones (so it
    // refuses every attack) and has no rollback protection.
    let script = format!(
        "if cmp -s \"$1\" {g} && cmp -s \"$2\" {g}.sig; then echo 1.2.0 > {s}; elif cmp -s \"$1\" {o} && cmp -s \"$2\" {o}.sig; then echo 1.0.0 > {s}; else exit 1; fi",
        g = dir.join("acmecam-1.2.0.img").display(),
        o = dir.join("acmecam-1.0.0.img").display(),
        s = state.display()
    );
    let mut profile = command_profile(
        &[("unit-1", "127.86.1.5")],
        "sh",
        &[
            "-c".into(),
            script,
            "{unit}".into(),
            "{image}".into(),
            "{signature}".into(),
        ],
    );
    profile.push_str(&format!(
        "\n[update.version_query]\nkind = \"command\"\nprogram = \"cat\"\nargs = [\"{}\"]\n",
        state.display()
    ));
    let run = common::run_suite(&profile, dir, Duration::from_secs(120)).await;
    run.dump();
    assert_eq!(run.verdict(checks::ROLLBACK, "unit-1"), Verdict::Fail);
    let tampered = run.result(checks::TAMPERED_IMAGE, "unit-1");
    assert_eq!(tampered.verdict, Verdict::Pass, "{}", tampered.summary);
    for check in checks::ALL {
        let summary = &run.result(check, "unit-1").summary;
        assert!(
            summary.contains(&format!(
                "1.0.0 before the suite, {GENUINE_UPDATE_VERSION} after it; restored to 1.0.0"
            )),
            "{check}: {summary}"
        );
    }
    let firmware = run
        .result(checks::GENUINE_IMAGE, "unit-1")
        .evidence
        .iter()
        .find(|e| e.label == "unit-firmware")
        .expect("firmware evidence");
    let firmware: serde_json::Value = serde_json::from_slice(&firmware.data).unwrap();
    assert_eq!(firmware["before"]["Ok"], "1.0.0");
    assert_eq!(firmware["after"]["Ok"], GENUINE_UPDATE_VERSION);
    assert_eq!(firmware["restore"]["version_after"]["Ok"], "1.0.0");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "1.0.0");
}

/// A program that never finishes, and `serve` triggers that never make the device fetch
/// the image (one says success, one says failure): none of them judged an image, so
/// every check is INCONCLUSIVE, neither the refusal's PASS nor the acceptance's FAIL.
#[tokio::test]
async fn channels_that_never_handle_the_image_decide_nothing() {
    let directory = tempfile::tempdir().unwrap();
    write_update_artifacts(directory.path()).unwrap();
    let hangs = command_profile(
        &[("unit-1", "127.86.1.6")],
        "sh",
        &["-c".into(), "sleep 30".into(), "{image}".into()],
    )
    .replace("timeout_seconds = 20", "timeout_seconds = 1");
    let command = command_profile(&[("unit-1", "127.86.1.7")], "true", &[]);
    let (head, _) = command.split_once("[update.delivery]").unwrap();
    let (_, units) = command.split_once("[[units]]").unwrap();
    let serve = |exit: u8| {
        format!(
            "{head}[update.delivery]\nkind = \"serve\"\ntimeout_seconds = 2\ntrigger = {{ program = \"sh\", args = [\"-c\", \"exit {exit}\", \"{{url}}\"] }}\n\n[[units]]{units}"
        )
    };
    for (name, profile) in [
        ("hangs", hangs),
        ("serve, trigger says success", serve(0)),
        ("serve, trigger says failure", serve(1)),
    ] {
        let run = common::run_suite(&profile, directory.path(), Duration::from_secs(120)).await;
        eprintln!("--- {name}");
        run.dump();
        for result in &run.results {
            assert_eq!(
                result.verdict,
                Verdict::Inconclusive,
                "{name} {}: {}",
                result.check,
                result.summary
            );
        }
    }
}

/// A device that takes longer to install than `settle_seconds`: the version query shows
/// an image's version only on its second ask after the delivery. The change seen before
/// the next image is the previous image's install, not a refusal followed by nothing.
#[tokio::test]
async fn an_install_seen_late_is_an_install() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    write_update_artifacts(dir).unwrap();
    let state = dir.join("late-state");
    let pending = dir.join("late-pending");
    let seen = dir.join("late-seen");
    std::fs::write(&state, "1.1.0\n").unwrap();
    // Installs anything: the `version=` line of the image becomes pending.
    let install = format!(
        "sed -n 's/^version=//p' \"$1\" | head -n 1 > {pending}",
        pending = pending.display()
    );
    let query = format!(
        "if [ -f {p} ]; then if [ -f {s} ]; then mv {p} {v}; rm {s}; else touch {s}; fi; fi; cat {v}",
        p = pending.display(),
        s = seen.display(),
        v = state.display()
    );
    let mut profile = command_profile(
        &[("unit-1", "127.86.1.8")],
        "sh",
        &["-c".into(), install, "{unit}".into(), "{image}".into()],
    );
    profile.push_str(&format!(
        "\n[update.version_query]\nkind = \"command\"\nprogram = \"sh\"\nargs = [\"-c\", {query:?}]\n\n[update.acceptance]\nkind = \"version\"\n"
    ));
    let run = common::run_suite(&profile, dir, Duration::from_secs(120)).await;
    run.dump();
    assert!(run.results.iter().all(|r| r.verdict != Verdict::Pass));
    let tampered = run.result(checks::TAMPERED_IMAGE, "unit-1");
    assert_eq!(tampered.verdict, Verdict::Fail, "{}", tampered.summary);
    assert!(
        tampered.summary.contains("installed late"),
        "{}",
        tampered.summary
    );
    assert_ne!(run.verdict(checks::GENUINE_IMAGE, "unit-1"), Verdict::Fail);
}
