//! The iotcert side of `bench/credentials-vs-hydra.sh`: paced guessing of one account on
//! one service, as the suite does it, timed.
//!
//! ```text
//! guess ADDRESS PORT PROTOCOL USERNAME PASSWORD_FILE CONCURRENCY [PATH]
//! ```
//!
//! Tries every password of the file (one a line) for USERNAME, CONCURRENCY at a time,
//! stopping at the first success, and prints one line of JSON: attempts judged,
//! attempts abandoned in flight once the password was found, seconds,
//! attempts per second, the passwords accepted, the throttle seen, and the median time
//! the device took to answer. Then, outside the timed part, it measures brute-force
//! resistance as the suite's 5.1-5 check does (20 wrong passwords) and adds its verdict
//! and summary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{EventSink, Profile, RunContext};
use iotcert_suite_credentials::bruteforce;
use iotcert_suite_credentials::guess::{ad_hoc, guess};
use iotcert_suite_credentials::probe::{Login, Protocol, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Connections the benchmark lets the pacer open at once, and per second.
const MAX_CONNECTIONS: u32 = 256;
const CONNECTIONS_PER_SECOND: u32 = 100_000;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [address, port, protocol, username, file, concurrency, rest @ ..] = arguments.as_slice()
    else {
        eprintln!("usage: guess ADDRESS PORT PROTOCOL USERNAME PASSWORD_FILE CONCURRENCY [PATH]");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("guess: {error}");
            return ExitCode::from(2);
        }
    };
    let path = rest.first().cloned().unwrap_or_else(|| "/".to_owned());
    match runtime.block_on(run(
        address,
        port,
        protocol,
        username,
        file,
        concurrency,
        path,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("guess: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(
    address: &str,
    port: &str,
    protocol: &str,
    username: &str,
    file: &str,
    concurrency: &str,
    path: String,
) -> Result<(), String> {
    let port: u16 = port.parse().map_err(|e| format!("port: {e}"))?;
    let concurrency: usize = concurrency
        .parse()
        .map_err(|e| format!("concurrency: {e}"))?;
    let (protocol, tls) =
        Protocol::from_service(protocol).ok_or_else(|| format!("unknown protocol {protocol}"))?;
    let passwords = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let candidates: Vec<_> = passwords
        .lines()
        .map(|password| ad_hoc(Login::new(username, password), "benchmark list"))
        .collect();
    let text = format!(
        "[device]\nmanufacturer = \"bench\"\nmodel = \"bench\"\nfirmware_version = \"1\"\n\
         [[units]]\nid = \"bench\"\naddress = \"{address}\"\n\
         [pacing]\nmax_connections = {MAX_CONNECTIONS}\nconnections_per_second = {CONNECTIONS_PER_SECOND}\n"
    );
    let profile = Profile::from_toml_str(&text).map_err(|e| e.to_string())?;
    let unit = profile
        .units
        .first()
        .cloned()
        .ok_or("the profile has no unit")?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(BTreeMap::new()),
        tokio::time::Instant::now() + Duration::from_secs(3600),
        CancellationToken::new(),
        BTreeSet::new(),
        EventSink::new("credentials", sender),
    );
    let target = Target {
        unit,
        port,
        protocol,
        tls,
        path,
        attempt_timeout: Duration::from_secs(30),
    };
    let started = Instant::now();
    let report = guess(&ctx, &target, &candidates, concurrency).await;
    let seconds = started.elapsed().as_secs_f64();
    // The password found on this very service is its right one (the measurement's control).
    let right = report
        .accepted
        .iter()
        .find(|f| f.entry.login.username.as_deref() == Some(username))
        .map(|f| f.entry.login.password.clone());
    let measurement =
        bruteforce::measure(&ctx, &target, username, right.as_deref(), 20, concurrency).await;
    let judgement = bruteforce::judge(&measurement, &bruteforce::Earlier::default());
    let mut answers: Vec<u64> = report.tried.iter().map(|t| t.elapsed_ms).collect();
    answers.sort_unstable();
    let summary = serde_json::json!({
        "attempts": report.tried.len(),
        "seconds": seconds,
        "attempts_per_second": report.tried.len() as f64 / seconds.max(0.001),
        "accepted": report.accepted.iter().map(|f| f.entry.login.display()).collect::<Vec<_>>(),
        "refused": report.decided() - report.accepted.len(),
        "undecided": report.tried.len() - report.decided(),
        "throttle": report.throttled(),
        "abandoned": report.abandoned,
        "turned_away": report.turned_away,
        "connection_limit": report.connection_limit,
        "stopped": report.stopped,
        "median_attempt_ms": answers.get(answers.len() / 2),
        "brute_force": {
            "verdict": judgement.verdict.to_string(),
            "summary": judgement.summary,
        },
    });
    println!("{summary}");
    Ok(())
}
