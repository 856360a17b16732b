//! The probes and the suite against hostile servers: one that never says anything, one
//! that repeats a prompt for ever, one that sends garbage for ever, and one that drips a
//! byte at a time. Every attempt must end within its time bound, read no more than its
//! byte cap, never count as a login, and say why it could not decide; the suite then
//! reports INCONCLUSIVE with that reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::profile::{Authentication, Interface, Transport};
use iotcert_suite::{
    CheckResult, EventSink, PlanKey, Profile, RunContext, Suite, SuiteEvent, Verdict,
};
use iotcert_suite_credentials::probe::{self, Login, Outcome, Protocol, Target};
use iotcert_suite_credentials::{CredentialsSuite, BRUTE_FORCE, DEFAULT_CREDENTIAL};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// How a hostile server treats every connection.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Accepts and never sends a byte.
    Silent,
    /// Sends `login: ` again and again, whatever it is told.
    EndlessPrompt,
    /// Sends pseudo-random bytes as fast as the client reads.
    Garbage,
    /// Sends a plausible greeting one byte every 300 ms.
    SlowDrip,
}

/// The whole attempt may last this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Slack for a loaded machine (2 shared cores, debug build) on top of the bound.
const SLACK: Duration = Duration::from_secs(2);
/// What each server sends at most (so a client that reads for ever still ends).
const SERVER_BYTES: usize = 64 * 1024 * 1024;

async fn serve(mut stream: TcpStream, behaviour: Behaviour) {
    let mut sink = [0u8; 1024];
    let mut sent = 0usize;
    let mut state: u32 = 0x9e37_79b9;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    while sent < SERVER_BYTES {
        let chunk: Vec<u8> = match behaviour {
            Behaviour::Silent => {
                // Read and throw away, never answer, until the client leaves.
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
            Behaviour::EndlessPrompt => b"login: ".repeat(64),
            Behaviour::Garbage => garbage.clone(),
            Behaviour::SlowDrip => {
                let greeting = b"220 HTTP/1.1 200 SSH-2.0-drip login: ";
                tokio::time::sleep(Duration::from_millis(300)).await;
                vec![greeting[sent % greeting.len()]]
            }
        };
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
        sent += chunk.len();
    }
}

/// Starts a hostile server on `address:port`; it runs until the test's runtime ends.
async fn hostile(address: &str, port: u16, behaviour: Behaviour) {
    let listener = TcpListener::bind((address, port)).await.expect("bind");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, behaviour));
        }
    });
}

fn profile(address: &str, interfaces: Vec<Interface>) -> Profile {
    let text = format!(
        "[device]\nmanufacturer = \"Hostile\"\nmodel = \"H\"\nfirmware_version = \"1\"\n\
         [[units]]\nid = \"h\"\naddress = \"{address}\"\n\
         [credentials]\nmax_candidates = 3\nattempt_timeout_ms = 1500\nbrute_force_attempts = 4\n"
    );
    let mut profile = Profile::from_toml_str(&text).expect("profile");
    profile.interfaces = interfaces;
    profile
}

fn context(
    profile: Profile,
    pending: BTreeSet<PlanKey>,
) -> (
    RunContext,
    tokio::sync::mpsc::Receiver<(Arc<str>, SuiteEvent)>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(1024);
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(BTreeMap::new()),
        tokio::time::Instant::now() + Duration::from_secs(120),
        CancellationToken::new(),
        pending,
        EventSink::new("credentials", sender),
    );
    (ctx, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_probe_gives_up_in_time_on_every_hostile_server() {
    let address = "127.64.11.1";
    let behaviours = [
        Behaviour::Silent,
        Behaviour::EndlessPrompt,
        Behaviour::Garbage,
        Behaviour::SlowDrip,
    ];
    for (index, behaviour) in behaviours.iter().enumerate() {
        hostile(address, 21000 + index as u16, *behaviour).await;
    }
    let (ctx, _events) = context(profile(address, Vec::new()), BTreeSet::new());
    let unit = ctx.units[0].clone();
    let protocols = [
        Protocol::Telnet,
        Protocol::Ssh,
        Protocol::Http,
        Protocol::Mqtt,
        Protocol::Ftp,
        Protocol::Rtsp,
    ];
    let mut work = Vec::new();
    for (index, behaviour) in behaviours.iter().enumerate() {
        for protocol in protocols {
            let target = Target {
                unit: unit.clone(),
                port: 21000 + index as u16,
                protocol,
                tls: false,
                path: "/".to_owned(),
                attempt_timeout: ATTEMPT_TIMEOUT,
            };
            let ctx = ctx.clone();
            work.push(async move {
                let started = Instant::now();
                let attempt = probe::attempt(&ctx, &target, &Login::new("admin", "admin")).await;
                (behaviour, protocol, attempt, started.elapsed())
            });
        }
    }
    let results = futures::future::join_all(work).await;
    let mut wrong = Vec::new();
    for (behaviour, protocol, attempt, elapsed) in results {
        let what = format!("{protocol} against {behaviour:?}: {:?}", attempt.outcome);
        eprintln!("{what} in {} ms", elapsed.as_millis());
        if elapsed > ATTEMPT_TIMEOUT + SLACK {
            wrong.push(format!("{what} took {elapsed:?}"));
        }
        match &attempt.outcome {
            Outcome::Undecided(reason) | Outcome::Unreachable(reason) if !reason.is_empty() => {}
            // A hostile server is never a login, nor a refusal of our password.
            other => wrong.push(format!("{what}: {other:?} is not undecided with a reason")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

fn result<'a>(results: &'a [CheckResult], check: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("no result for {check}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_inconclusive_with_the_reason() {
    let address = "127.64.11.2";
    hostile(address, 2323, Behaviour::Silent).await;
    hostile(address, 8080, Behaviour::Garbage).await;
    let interface = |port: u16, service: &str| Interface {
        port,
        transport: Transport::Tcp,
        service: service.to_owned(),
        authentication: Authentication::Password,
        tls: false,
        description: None,
    };
    let profile = profile(
        address,
        vec![interface(2323, "telnet"), interface(8080, "http")],
    );
    let pending: BTreeSet<PlanKey> = [DEFAULT_CREDENTIAL, BRUTE_FORCE]
        .iter()
        .map(|check| PlanKey::new(check, Some("h")))
        .collect();
    let (ctx, mut events) = context(profile, pending);
    let collector = tokio::spawn(async move {
        let mut results = Vec::new();
        while let Some((_, event)) = events.recv().await {
            if let SuiteEvent::Result(result) = event {
                results.push(result);
            }
        }
        results
    });
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(60), CredentialsSuite::new().run(ctx))
        .await
        .expect("the suite ends in time")
        .expect("the suite runs");
    let results = collector.await.expect("collector");
    eprintln!("suite took {} ms", started.elapsed().as_millis());
    for check in [DEFAULT_CREDENTIAL, BRUTE_FORCE] {
        let found = result(&results, check);
        eprintln!("{check}: {} {}", found.verdict, found.summary);
        assert_eq!(found.verdict, Verdict::Inconclusive, "{}", found.summary);
    }
    let default = result(&results, DEFAULT_CREDENTIAL);
    for reason in [
        "2323/telnet: the attempt did not finish within 1500 ms",
        "8080/http: the answer is not an HTTP response",
    ] {
        assert!(default.summary.contains(reason), "{}", default.summary);
    }
}
