//! The comparison across units (`credentials.shared-across-units`) against small web
//! devices written here, each with a login form, a password of its own and a session
//! cookie of its own, that note every password and every session cookie presented to
//! them. Issue 16, item 4: the login attempts and session replays across units grow with
//! the number of units (secrets compared by digest, then each tried live on one
//! neighbouring unit), not with the number of pairs of units; two units declared with one
//! password, or issuing one session cookie, are found by digest alone (a cookie only when
//! it opens its own unit's page: a constant cookie that opens nothing is no session); a
//! unit that lets any password in is still caught by the live try.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;
mod http_fixture;

use common::{credential, interface, profile, result, run};
use http_fixture::{read_request, response};
use iotcert_suite::profile::Authentication;
use iotcert_suite::{CheckResult, Verdict};
use iotcert_suite_credentials::{CredentialsOptions, DeclaredCredential, SHARED_ACROSS_UNITS};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The port of every device's web login.
const PORT: u16 = 18090;

/// One unit's web login.
#[derive(Clone)]
struct Device {
    /// The password of `admin`, declared for the unit.
    password: String,
    /// Another password `admin` logs in with, one a guesser can find.
    guessable: Option<String>,
    /// The value of the `sid` cookie a login opens, the only one `/home` opens with.
    cookie: String,
    /// Whether any username and password logs in.
    accepts_any: bool,
    /// Whether `/home` opens without any cookie (the cookie is no session).
    home_is_open: bool,
}

impl Device {
    /// Unit `index` (from 0): its own password and cookie.
    fn own(index: usize) -> Device {
        Device {
            password: password(index),
            guessable: None,
            cookie: format!("c{index}Qx7Lm2Zp9"),
            accepts_any: false,
            home_is_open: false,
        }
    }
}

/// The password declared for unit `index` (from 0), letters and digits only so that the
/// form's encoding leaves it as it is.
fn password(index: usize) -> String {
    format!("Unit{index}Vq7Lx2Rp")
}

/// What every device was presented: (unit index, password) on each login, (unit index,
/// cookie) on each request carrying a session cookie.
#[derive(Default)]
struct Ledger {
    passwords: Mutex<Vec<(usize, String)>>,
    cookies: Mutex<Vec<(usize, String)>>,
}

const LOGIN_FORM: &str = "<html><form method=\"post\" action=\"/login\"><input name=\"username\"><input type=\"password\" name=\"password\"></form></html>";

/// The value of `name` in a form body (`username=admin&password=...`).
fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The `sid` cookie of a request, if it carries one.
fn session_cookie(request: &str) -> Option<String> {
    request.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.eq_ignore_ascii_case("cookie") {
            return None;
        }
        value
            .split(';')
            .find_map(|c| c.trim().strip_prefix("sid=").map(str::to_owned))
    })
}

async fn serve(mut stream: TcpStream, index: usize, device: Device, ledger: Arc<Ledger>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let answer = if request.starts_with("POST /login") {
        let body = request.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let username = field(body, "username").unwrap_or_default();
        let password = field(body, "password").unwrap_or_default();
        ledger
            .passwords
            .lock()
            .unwrap()
            .push((index, password.to_owned()));
        let right = username == "admin"
            && (password == device.password || device.guessable.as_deref() == Some(password));
        if right || device.accepts_any {
            let cookie = format!("sid={}; HttpOnly", device.cookie);
            response(
                "302 Found",
                &[("Location", "/home"), ("Set-Cookie", &cookie)],
                "",
            )
        } else {
            response("200 OK", &[], LOGIN_FORM)
        }
    } else if request.starts_with("GET /home") {
        let cookie = session_cookie(&request);
        if let Some(cookie) = &cookie {
            ledger.cookies.lock().unwrap().push((index, cookie.clone()));
        }
        if device.home_is_open || cookie.as_deref() == Some(device.cookie.as_str()) {
            response("200 OK", &[], "<html>welcome home</html>")
        } else {
            response("302 Found", &[("Location", "/")], "")
        }
    } else {
        response("200 OK", &[], LOGIN_FORM)
    };
    let _ = stream.write_all(&answer).await;
}

/// Serve `devices` at `addresses` (one each) until the test's runtime ends, noting what
/// each was presented in the ledger returned.
async fn start(addresses: &[&str], devices: &[Device]) -> Arc<Ledger> {
    let ledger = Arc::new(Ledger::default());
    for (index, (address, device)) in addresses.iter().zip(devices).enumerate() {
        let listener = TcpListener::bind((*address, PORT)).await.expect("bind");
        let device = device.clone();
        let ledger = Arc::clone(&ledger);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, index, device.clone(), Arc::clone(&ledger)));
            }
        });
    }
    ledger
}

/// Run the suite on units at `addresses`, each declared with `admin` and the password of
/// `passwords` at its index; `known_defaults` tried first when guessing, one at a time.
async fn run_units(
    addresses: &[&str],
    passwords: &[String],
    known_defaults: &[String],
) -> Vec<CheckResult> {
    let mut profile = profile(
        addresses,
        vec![interface(PORT, "http", Authentication::Password)],
        "",
    );
    profile
        .edit_section(|options: &mut CredentialsOptions| {
            options.unit_credentials = passwords
                .iter()
                .enumerate()
                .map(|(index, password)| {
                    credential(&format!("unit-{}", index + 1), "http", "admin", password)
                })
                .collect();
            options.known_defaults = known_defaults
                .iter()
                .map(|password| DeclaredCredential {
                    service: None,
                    username: Some("admin".to_owned()),
                    password: password.clone(),
                })
                .collect();
            options.max_candidates = options.max_candidates.max(known_defaults.len() as u32);
            options.concurrency = 1;
        })
        .unwrap();
    run(profile).await
}

/// Issue 16, item 4: six units with a password and a session cookie each. Each declared
/// credential is tried live on one other unit and each session cookie replayed on one
/// other unit: at most 2N presentations of another unit's secret, where every unit's on
/// every other was N(N-1) = 30 of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_across_units_grow_linearly() {
    let addresses = [
        "127.71.16.1",
        "127.71.16.2",
        "127.71.16.3",
        "127.71.16.4",
        "127.71.16.5",
        "127.71.16.6",
    ];
    let devices: Vec<Device> = (0..addresses.len()).map(Device::own).collect();
    let ledger = start(&addresses, &devices).await;
    let passwords: Vec<String> = devices.iter().map(|d| d.password.clone()).collect();
    let results = run_units(&addresses, &passwords, &[]).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);

    let owner_of_password = |password: &str| devices.iter().position(|d| d.password == password);
    let foreign_logins: Vec<(usize, String)> = ledger
        .passwords
        .lock()
        .unwrap()
        .iter()
        .filter(|(unit, password)| owner_of_password(password).is_some_and(|o| o != *unit))
        .cloned()
        .collect();
    let owner_of_cookie = |cookie: &str| devices.iter().position(|d| d.cookie == cookie);
    let foreign_replays: Vec<(usize, String)> = ledger
        .cookies
        .lock()
        .unwrap()
        .iter()
        .filter(|(unit, cookie)| owner_of_cookie(cookie).is_some_and(|o| o != *unit))
        .cloned()
        .collect();
    let units = addresses.len();
    assert!(
        foreign_logins.len() <= 2 * units,
        "{} logins with another unit's password: {foreign_logins:?}",
        foreign_logins.len()
    );
    assert!(
        foreign_replays.len() <= 2 * units,
        "{} replays of another unit's session cookie: {foreign_replays:?}",
        foreign_replays.len()
    );
    // Every unit's password and cookie was still presented live to another unit.
    for (index, device) in devices.iter().enumerate() {
        assert!(
            foreign_logins.iter().any(|(_, p)| *p == device.password),
            "unit-{}'s password was tried on no other unit: {foreign_logins:?}",
            index + 1
        );
        assert!(
            foreign_replays.iter().any(|(_, c)| *c == device.cookie),
            "unit-{}'s cookie was replayed on no other unit: {foreign_replays:?}",
            index + 1
        );
    }
    assert_eq!(shared.verdict, Verdict::Pass, "{}", shared.summary);
    assert!(
        shared.summary.contains(
            "6 declared credentials compared by digest (none identical), 6 tried live on a neighbouring unit and refused"
        ),
        "{}",
        shared.summary
    );
    assert!(
        shared.summary.contains(
            "6 web session cookies compared by digest (none identical), 6 replayed on a neighbouring unit and refused"
        ),
        "{}",
        shared.summary
    );
}

/// Issue 16, item 4: a login found by guessing on one unit is tried live on one
/// neighbouring unit at most, never on every unit that had not met it while guessing.
/// Unit k also accepts the k-th known default, and guessing stops at a unit's first
/// success, so unit j never met the defaults of the units after it: trying each on every
/// other unit took N(N-1)/2 = 15 live attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_found_by_guessing_are_tried_on_one_neighbour() {
    let addresses = [
        "127.71.16.11",
        "127.71.16.12",
        "127.71.16.13",
        "127.71.16.14",
        "127.71.16.15",
        "127.71.16.16",
    ];
    let defaults: Vec<String> = (0..addresses.len())
        .map(|index| format!("Default{index}Kw3"))
        .collect();
    let devices: Vec<Device> = (0..addresses.len())
        .map(|index| Device {
            guessable: Some(defaults[index].clone()),
            ..Device::own(index)
        })
        .collect();
    let ledger = start(&addresses, &devices).await;
    let passwords: Vec<String> = devices.iter().map(|d| d.password.clone()).collect();
    let results = run_units(&addresses, &passwords, &defaults).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);
    // A default of unit k presented to a unit before it in the profile: never while
    // guessing (that unit stopped at its own), so a live try across units.
    let live: Vec<(usize, String)> = ledger
        .passwords
        .lock()
        .unwrap()
        .iter()
        .filter(|(unit, password)| {
            defaults
                .iter()
                .position(|d| d == password)
                .is_some_and(|owner| owner > *unit)
        })
        .cloned()
        .collect();
    assert!(
        !live.is_empty() && live.len() <= addresses.len(),
        "{} live tries of a login found by guessing: {live:?}",
        live.len()
    );
    // Every login found was refused by the neighbour it was compared on.
    assert_eq!(shared.verdict, Verdict::Pass, "{}", shared.summary);
    assert!(
        shared
            .summary
            .contains("6 credentials found by guessing were refused by a neighbouring unit"),
        "{}",
        shared.summary
    );
}

/// Units 2 and 4 of four are declared with one password. Their neighbours in the ring
/// (units 3 and 1) refuse it, so no live try meets it: the digests find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_declared_passwords_are_found_by_digest() {
    let addresses = [
        "127.71.16.21",
        "127.71.16.22",
        "127.71.16.23",
        "127.71.16.24",
    ];
    let mut devices: Vec<Device> = (0..addresses.len()).map(Device::own).collect();
    devices[3].password = devices[1].password.clone();
    start(&addresses, &devices).await;
    let passwords: Vec<String> = devices.iter().map(|d| d.password.clone()).collect();
    let results = run_units(&addresses, &passwords, &[]).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Fail, "{}", shared.summary);
    assert!(
        shared.summary.contains(&format!(
            "admin on port {PORT}/http is declared identical for unit-2 and unit-4"
        )),
        "{}",
        shared.summary
    );
    assert!(
        !shared.summary.contains("unit-1 and") && !shared.summary.contains("unit-3 and"),
        "only units 2 and 4 share a password: {}",
        shared.summary
    );
}

/// Units 2 and 4 of four issue one session cookie (and accept only it). Their
/// neighbours refuse it: the digests find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_session_cookies_are_found_by_digest() {
    let addresses = [
        "127.71.16.31",
        "127.71.16.32",
        "127.71.16.33",
        "127.71.16.34",
    ];
    let mut devices: Vec<Device> = (0..addresses.len()).map(Device::own).collect();
    devices[3].cookie = devices[1].cookie.clone();
    start(&addresses, &devices).await;
    let passwords: Vec<String> = devices.iter().map(|d| d.password.clone()).collect();
    let results = run_units(&addresses, &passwords, &[]).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Fail, "{}", shared.summary);
    assert!(
        shared.summary.contains(&format!(
            "unit-2 and unit-4 issued an identical web session cookie on port {PORT}"
        )),
        "{}",
        shared.summary
    );
}

/// Unit 3 of three lets any password in. Its declared credential is the only one it
/// ever shows, and its digest matches no other: only the live try of unit 2's credential
/// on it, its neighbour in the ring, catches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_accepting_any_password_is_caught_by_the_live_try() {
    let addresses = ["127.71.16.41", "127.71.16.42", "127.71.16.43"];
    let mut devices: Vec<Device> = (0..addresses.len()).map(Device::own).collect();
    devices[2].accepts_any = true;
    start(&addresses, &devices).await;
    let passwords: Vec<String> = devices.iter().map(|d| d.password.clone()).collect();
    let results = run_units(&addresses, &passwords, &[]).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Fail, "{}", shared.summary);
    assert!(
        shared
            .summary
            .contains("the credential declared for unit-2 (admin) is accepted by unit-3"),
        "{}",
        shared.summary
    );
}

/// Units 1 and 2 set one constant cookie at login, but their landing page opens without
/// any cookie: the cookie is no session secret, and its digest proves nothing shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_cookie_that_opens_nothing_is_no_shared_session() {
    let addresses = ["127.71.16.51", "127.71.16.52"];
    let mut devices: Vec<Device> = (0..addresses.len()).map(Device::own).collect();
    for device in &mut devices {
        device.cookie = "lang1en".to_owned();
        device.home_is_open = true;
    }
    start(&addresses, &devices).await;
    let passwords: Vec<String> = devices.iter().map(|d| d.password.clone()).collect();
    let results = run_units(&addresses, &passwords, &[]).await;
    let shared = result(&results, SHARED_ACROSS_UNITS, None);
    assert_eq!(shared.verdict, Verdict::Inconclusive, "{}", shared.summary);
    assert!(
        !shared.summary.contains("identical web session cookie")
            && shared.summary.contains("no session is needed to open it"),
        "{}",
        shared.summary
    );
}
