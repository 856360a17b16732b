//! The suite against hostile HTTP servers written here, each built to fool a check into
//! a PASS it has not earned: nothing listening, a reset on accept, silence, garbage, a
//! server that lets any credential in, one that refuses every credential (the declared
//! one included), one that answers in slow parts or a byte a second, a form login that
//! lets anyone in, a password found on one port that is not the right one on another,
//! and units that stop judging logins after two failures. No check may PASS on any of
//! them; each must FAIL for what it really sees, or be INCONCLUSIVE with the reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;
mod http_fixture;

use base64::Engine as _;
use common::{credential, interface, profile, result, run};
use http_fixture::{read_request, response};
use iotcert_suite::profile::Authentication;
use iotcert_suite::Verdict;
use iotcert_suite_credentials::{
    CredentialsOptions, BRUTE_FORCE, DEFAULT_CREDENTIAL, EMPTY_PASSWORD, SHARED_ACROSS_UNITS,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a hostile server answers every connection.
#[derive(Clone, Debug)]
enum Behaviour {
    /// Resets the connection as soon as it is accepted.
    ResetOnAccept,
    /// Accepts, reads, never answers.
    Silent,
    /// Sends bytes that are no protocol at all.
    Garbage,
    /// Basic authentication that lets any username and password in.
    AcceptAny,
    /// Basic authentication that refuses every credential, the right one included.
    RefuseAll,
    /// Each answer in two parts 0.6 s apart: [`Behaviour::AcceptAny`] when
    /// `accept_any`, else [`Behaviour::RefuseAll`].
    SlowParts { accept_any: bool },
    /// [`Behaviour::RefuseAll`], one byte a second.
    ByteASecond,
    /// Basic authentication with one account; after `fail_limit` failed logins (never
    /// forgotten) it answers 429 to everything.
    Account {
        password: String,
        fail_limit: Option<u32>,
    },
    /// A login form whose every submission gets the same redirect and session cookie;
    /// `/home` opens with that cookie only, or with `home_needs_cookie: false` without
    /// any cookie too.
    FormForAnyone { home_needs_cookie: bool },
}

fn challenge() -> Vec<u8> {
    response(
        "401 Unauthorized",
        &[("WWW-Authenticate", "Basic realm=\"device\"")],
        "authentication required",
    )
}

fn authorization(request: &str) -> Option<String> {
    request.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_owned())
    })
}

const LOGIN_FORM: &str = "<html><form method=\"post\" action=\"/login\"><input name=\"username\"><input type=\"password\" name=\"password\"></form></html>";

async fn serve(mut stream: TcpStream, behaviour: Behaviour, failures: Arc<AtomicU32>) {
    match behaviour {
        Behaviour::ResetOnAccept => {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Behaviour::Silent => {
            let mut sink = [0u8; 1024];
            while let Ok(Ok(count)) =
                tokio::time::timeout(Duration::from_secs(30), stream.read(&mut sink)).await
            {
                if count == 0 {
                    break;
                }
            }
        }
        Behaviour::Garbage => {
            let mut state: u32 = 0x2545_f491;
            let garbage: Vec<u8> = (0..4096)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state.to_le_bytes()[0]
                })
                .collect();
            let _ = read_request(&mut stream).await;
            let _ = stream.write_all(&garbage).await;
        }
        Behaviour::AcceptAny => {
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            let answer = match authorization(&request) {
                Some(_) => response("200 OK", &[], "welcome"),
                None => challenge(),
            };
            let _ = stream.write_all(&answer).await;
        }
        Behaviour::RefuseAll => {
            if read_request(&mut stream).await.is_some() {
                let _ = stream.write_all(&challenge()).await;
            }
        }
        Behaviour::SlowParts { accept_any } => {
            if let Some(request) = read_request(&mut stream).await {
                let answer = match authorization(&request) {
                    Some(_) if accept_any => response("200 OK", &[], "welcome"),
                    _ => challenge(),
                };
                let (first, second) = answer.split_at(answer.len() / 2);
                let _ = stream.write_all(first).await;
                tokio::time::sleep(Duration::from_millis(600)).await;
                let _ = stream.write_all(second).await;
            }
        }
        Behaviour::ByteASecond => {
            if read_request(&mut stream).await.is_some() {
                for byte in challenge().into_iter().take(60) {
                    if stream.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        Behaviour::Account {
            password,
            fail_limit,
        } => {
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            let right = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"))
            );
            let answer = if fail_limit.is_some_and(|limit| failures.load(Ordering::SeqCst) >= limit)
            {
                response(
                    "429 Too Many Requests",
                    &[("Retry-After", "600")],
                    "slow down",
                )
            } else {
                match authorization(&request) {
                    Some(value) if value == right => response("200 OK", &[], "welcome"),
                    Some(_) => {
                        failures.fetch_add(1, Ordering::SeqCst);
                        challenge()
                    }
                    None => challenge(),
                }
            };
            let _ = stream.write_all(&answer).await;
        }
        Behaviour::FormForAnyone { home_needs_cookie } => {
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            let answer = if request.starts_with("POST /login") {
                response(
                    "302 Found",
                    &[
                        ("Location", "/home"),
                        ("Set-Cookie", "sid=0123456789abcdef; HttpOnly"),
                    ],
                    "",
                )
            } else if request.starts_with("GET /home") {
                if !home_needs_cookie || request.contains("sid=0123456789abcdef") {
                    response("200 OK", &[], "<html>welcome home</html>")
                } else {
                    response("302 Found", &[("Location", "/")], "")
                }
            } else {
                response("200 OK", &[], LOGIN_FORM)
            };
            let _ = stream.write_all(&answer).await;
        }
    }
}

/// Serve `behaviour` on `address:port` until the test's runtime ends.
async fn hostile(address: &str, port: u16, behaviour: Behaviour) {
    let listener = TcpListener::bind((address, port)).await.expect("bind");
    let failures = Arc::new(AtomicU32::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, behaviour.clone(), Arc::clone(&failures)));
        }
    });
}

fn http() -> iotcert_suite::profile::Interface {
    interface(18080, "http", Authentication::Password)
}

/// Issue 13, observation 1: a unit with nothing listening on its login port was
/// "throttling" because its second connection was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_no_resistance_to_guessing() {
    let results = run(profile(&["127.71.13.1"], vec![http()], "")).await;
    let brute = result(&results, BRUTE_FORCE, Some("unit-1"));
    assert_eq!(brute.verdict, Verdict::Inconclusive, "{}", brute.summary);
    assert!(brute.summary.contains("18080/http"), "{}", brute.summary);
}

/// Issue 13, observation 2: a form that answers every login with the same redirect and
/// cookie was "refusing" every default. The random login opening a session is the
/// finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_that_lets_anyone_in_fails() {
    hostile(
        "127.71.13.2",
        18080,
        Behaviour::FormForAnyone {
            home_needs_cookie: true,
        },
    )
    .await;
    let results = run(profile(&["127.71.13.2"], vec![http()], "")).await;
    for check in [DEFAULT_CREDENTIAL, EMPTY_PASSWORD] {
        let found = result(&results, check, Some("unit-1"));
        assert_eq!(found.verdict, Verdict::Fail, "{}", found.summary);
        assert!(
            found.summary.contains("lets anyone in"),
            "{}",
            found.summary
        );
    }
}

/// The same form whose landing page opens without any cookie: nothing tells a good login
/// from a bad one there, so nothing is decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_the_probe_cannot_judge_is_inconclusive() {
    hostile(
        "127.71.13.3",
        18080,
        Behaviour::FormForAnyone {
            home_needs_cookie: false,
        },
    )
    .await;
    let results = run(profile(&["127.71.13.3"], vec![http()], "")).await;
    for check in [DEFAULT_CREDENTIAL, EMPTY_PASSWORD] {
        let found = result(&results, check, Some("unit-1"));
        assert_eq!(found.verdict, Verdict::Inconclusive, "{}", found.summary);
        assert!(
            found
                .summary
                .contains("cannot tell a good login from a bad one"),
            "{}",
            found.summary
        );
    }
}

/// Issue 13, observation 8: admin/admin opens port 18081, port 18080 has another
/// password and neither delays nor locks; the password found on 18081 is not the right
/// one on 18080, and its refusal there is no lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_found_on_one_port_is_not_the_right_one_on_another() {
    let address = "127.71.13.4";
    hostile(
        address,
        18080,
        Behaviour::Account {
            password: "Vq7-strong-9Lx2pQ".to_owned(),
            fail_limit: None,
        },
    )
    .await;
    hostile(
        address,
        18081,
        Behaviour::Account {
            password: "admin".to_owned(),
            fail_limit: None,
        },
    )
    .await;
    let interfaces = vec![
        interface(18080, "http-admin", Authentication::Password),
        interface(18081, "http", Authentication::Password),
    ];
    let results = run(profile(&[address], interfaces, "")).await;
    let default = result(&results, DEFAULT_CREDENTIAL, Some("unit-1"));
    assert_eq!(default.verdict, Verdict::Fail, "{}", default.summary);
    assert!(
        default
            .summary
            .contains("admin/admin on unit-1 127.71.13.4:18081/http"),
        "{}",
        default.summary
    );
    let brute = result(&results, BRUTE_FORCE, Some("unit-1"));
    assert_eq!(brute.verdict, Verdict::Fail, "{}", brute.summary);
    assert!(brute.summary.contains("18080/http"), "{}", brute.summary);
}

/// Issue 13, observation 8: units 2 to 4 stop judging logins after two failures (the
/// neighbour's declared credential and the control's random one); unit 1 takes admin/admin,
/// which guessing finds there. Tried on unit 2, its neighbour, it meets 429: that try was
/// not judged, so the uniqueness check cannot pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_not_judged_are_not_refusals() {
    let addresses = [
        "127.71.13.11",
        "127.71.13.12",
        "127.71.13.13",
        "127.71.13.14",
    ];
    let passwords = ["admin", "second-Pq71", "third-Rw36", "fourth-Tz84"];
    for (index, (address, password)) in addresses.iter().zip(passwords).enumerate() {
        hostile(
            address,
            18080,
            Behaviour::Account {
                password: password.to_owned(),
                fail_limit: (index > 0).then_some(2),
            },
        )
        .await;
    }
    let mut profile = profile(&addresses, vec![http()], "");
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.unit_credentials = passwords
                .iter()
                .enumerate()
                .map(|(index, password)| {
                    credential(&format!("unit-{}", index + 1), "http", "admin", password)
                })
                .collect();
        })
        .unwrap();
    let results = run(profile).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Inconclusive, "{}", shared.summary);
    assert!(
        shared
            .summary
            .contains("admin/admin (found on unit-1 127.71.13.11:18080/http) on unit-2 port 18080")
            && shared.summary.contains("HTTP 429"),
        "{}",
        shared.summary
    );
}

/// Issue 13, observation 6: one login interface judged every default under its control,
/// another could not be driven (silent). The verdict covers both: INCONCLUSIVE naming the
/// silent one, never a PASS that drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_not_driven_is_named_not_dropped() {
    let address = "127.71.13.5";
    hostile(
        address,
        18080,
        Behaviour::Account {
            password: "Vq7-strong-9Lx2pQ".to_owned(),
            fail_limit: None,
        },
    )
    .await;
    hostile(address, 18081, Behaviour::Silent).await;
    let interfaces = vec![
        interface(18080, "http", Authentication::Password),
        interface(18081, "http-admin", Authentication::Password),
    ];
    let mut profile = profile(&[address], interfaces, "");
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.unit_credentials =
                vec![credential("unit-1", "http", "admin", "Vq7-strong-9Lx2pQ")];
        })
        .unwrap();
    let results = run(profile).await;
    let default = result(&results, DEFAULT_CREDENTIAL, Some("unit-1"));
    assert_eq!(
        default.verdict,
        Verdict::Inconclusive,
        "{}",
        default.summary
    );
    assert!(
        default
            .summary
            .contains("1 could not be judged: unit-1 127.71.13.5:18081/http"),
        "{}",
        default.summary
    );
}

/// The fault matrix of this suite: two units with the same fault, each unit's declared
/// credential given; no check may PASS on any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_check_passes_on_a_hostile_server() {
    let faults: [(&str, Option<Behaviour>); 9] = [
        ("nothing listening", None),
        ("reset on accept", Some(Behaviour::ResetOnAccept)),
        ("silent", Some(Behaviour::Silent)),
        ("accept any credential", Some(Behaviour::AcceptAny)),
        ("refuse every credential", Some(Behaviour::RefuseAll)),
        (
            "slow parts, refusing",
            Some(Behaviour::SlowParts { accept_any: false }),
        ),
        (
            "slow parts, accepting any",
            Some(Behaviour::SlowParts { accept_any: true }),
        ),
        ("a byte a second", Some(Behaviour::ByteASecond)),
        ("garbage", Some(Behaviour::Garbage)),
    ];
    let mut runs = Vec::new();
    for (index, (name, behaviour)) in faults.iter().enumerate() {
        let addresses = [
            format!("127.71.14.{}", 2 * index + 1),
            format!("127.71.14.{}", 2 * index + 2),
        ];
        if let Some(behaviour) = behaviour {
            for address in &addresses {
                hostile(address, 18080, behaviour.clone()).await;
            }
        }
        let mut profile = profile(&[&addresses[0], &addresses[1]], vec![http()], "");
        profile
            .edit_section(|options: &mut CredentialsOptions| {
                options.unit_credentials = vec![
                    credential("unit-1", "http", "admin", "unit-1-Rk38s"),
                    credential("unit-2", "http", "admin", "unit-2-Wp61x"),
                ];
            })
            .unwrap();
        runs.push(async move { (*name, run(profile).await) });
    }
    let mut passes = Vec::new();
    for (fault, results) in futures::future::join_all(runs).await {
        for found in &results {
            eprintln!(
                "| {fault} | {} | {} | {} |",
                found.check,
                found.unit.as_deref().unwrap_or("-"),
                found.verdict
            );
            if found.verdict == Verdict::Pass {
                passes.push(format!(
                    "{fault}: {} {:?}: {}",
                    found.check, found.unit, found.summary
                ));
            }
        }
        assert_eq!(results.len(), 7, "{fault}: every check decided");
    }
    assert!(passes.is_empty(), "{passes:#?}");
}

/// How a hostile telnet or MQTT server judges every login.
#[derive(Clone, Copy, Debug)]
enum Judging {
    AcceptAny,
    RefuseAll,
}

/// Write `bytes`, in two parts 0.6 s apart when `slow`.
async fn write_paced(stream: &mut TcpStream, bytes: &[u8], slow: bool) -> std::io::Result<()> {
    if !slow {
        return stream.write_all(bytes).await;
    }
    let (first, second) = bytes.split_at(bytes.len() / 2);
    stream.write_all(first).await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    stream.write_all(second).await
}

/// One line typed by the client (up to CR or LF), or `None` when it leaves or stalls.
async fn typed_line(stream: &mut TcpStream) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        loop {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => return None,
                Ok(_) if matches!(byte[0], b'\r' | b'\n') && !line.is_empty() => {
                    return Some(String::from_utf8_lossy(&line).to_string())
                }
                Ok(_) if matches!(byte[0], b'\r' | b'\n' | 0) => {}
                Ok(_) if line.len() < 256 => line.push(byte[0]),
                Ok(_) => return None,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}

async fn telnet(mut stream: TcpStream, judging: Judging, slow: bool) {
    for _ in 0..3 {
        if write_paced(&mut stream, b"light login: ", slow)
            .await
            .is_err()
            || typed_line(&mut stream).await.is_none()
            || write_paced(&mut stream, b"Password: ", slow).await.is_err()
            || typed_line(&mut stream).await.is_none()
        {
            return;
        }
        if let Judging::AcceptAny = judging {
            if write_paced(&mut stream, b"\r\n# ", slow).await.is_err() {
                return;
            }
            while let Some(command) = typed_line(&mut stream).await {
                let answer: &[u8] = if command.trim() == "id" {
                    b"uid=0(root) gid=0(root)\r\n# "
                } else {
                    b"\r\n# "
                };
                if write_paced(&mut stream, answer, slow).await.is_err() {
                    return;
                }
            }
            return;
        }
        if write_paced(&mut stream, b"\r\nLogin incorrect\r\n", slow)
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn mqtt(mut stream: TcpStream, judging: Judging, slow: bool) {
    let mut connect = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut connect)).await;
    if !matches!(read, Ok(Ok(count)) if count > 0) {
        return;
    }
    let code = match judging {
        Judging::AcceptAny => 0x00,
        Judging::RefuseAll => 0x05,
    };
    if write_paced(&mut stream, &[0x20, 0x02, 0x00, code], slow)
        .await
        .is_ok()
    {
        let mut sink = [0u8; 256];
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut sink)).await;
    }
}

/// Serve telnet on 2323 and MQTT on 1883 of `address`, judging every login alike.
async fn telnet_and_mqtt(address: &str, judging: Judging, slow: bool) {
    let telnet_listener = TcpListener::bind((address, 2323)).await.expect("bind");
    let mqtt_listener = TcpListener::bind((address, 1883)).await.expect("bind");
    tokio::spawn(async move {
        while let Ok((stream, _)) = telnet_listener.accept().await {
            tokio::spawn(telnet(stream, judging, slow));
        }
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = mqtt_listener.accept().await {
            tokio::spawn(mqtt(stream, judging, slow));
        }
    });
}

/// The protocol faults on telnet and MQTT: a device that lets anyone in fails, one that
/// refuses everything (the declared credentials included) passes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnet_and_mqtt_that_accept_or_refuse_everything_pass_nothing() {
    let cases = [
        ("accept any", Judging::AcceptAny, false, Some(Verdict::Fail)),
        ("refuse every credential", Judging::RefuseAll, false, None),
        ("slow parts, accepting any", Judging::AcceptAny, true, None),
        ("slow parts, refusing", Judging::RefuseAll, true, None),
    ];
    let mut runs = Vec::new();
    for (index, (name, judging, slow, expected)) in cases.into_iter().enumerate() {
        let addresses = [
            format!("127.71.15.{}", 2 * index + 1),
            format!("127.71.15.{}", 2 * index + 2),
        ];
        for address in &addresses {
            telnet_and_mqtt(address, judging, slow).await;
        }
        let interfaces = vec![
            interface(2323, "telnet", Authentication::Password),
            interface(1883, "mqtt", Authentication::Password),
        ];
        let mut profile = profile(&[&addresses[0], &addresses[1]], interfaces, "");
        // Slow parts need time for four exchanges of 0.6 s each.
        profile
            .edit_section(|options: &mut CredentialsOptions| {
                options.attempt_timeout_ms = 6000;
            })
            .unwrap();
        profile
            .edit_section(|options: &mut CredentialsOptions| {
                options.unit_credentials = ["telnet", "mqtt"]
                    .iter()
                    .flat_map(|service| {
                        [
                            credential("unit-1", service, "admin", "unit-1-Rk38s"),
                            credential("unit-2", service, "admin", "unit-2-Wp61x"),
                        ]
                    })
                    .collect();
            })
            .unwrap();
        runs.push(async move { (name, expected, run(profile).await) });
    }
    let mut wrong = Vec::new();
    for (fault, expected, results) in futures::future::join_all(runs).await {
        for found in &results {
            eprintln!(
                "| {fault} | {} | {} | {} | {}",
                found.check,
                found.unit.as_deref().unwrap_or("-"),
                found.verdict,
                found.summary
            );
            if found.verdict == Verdict::Pass {
                wrong.push(format!(
                    "{fault}: {} {:?} PASS: {}",
                    found.check, found.unit, found.summary
                ));
            }
            let guessing = found.check == DEFAULT_CREDENTIAL || found.check == EMPTY_PASSWORD;
            if let (true, Some(verdict)) = (guessing, expected) {
                if found.verdict != verdict {
                    wrong.push(format!(
                        "{fault}: {} {:?} is {}, not {verdict}",
                        found.check, found.unit, found.verdict
                    ));
                }
            }
        }
        assert_eq!(results.len(), 7, "{fault}: every check decided");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
