//! The suite's TCP sweep on its own, for `bench/ports-sweep.sh`: sweeps every port of
//! one address with generous pacing and prints the open ports, so the benchmark can
//! compare speed and results with nmap while the `iotcert` CLI is being written.
//!
//! Usage: `sweep ADDRESS [PORTS] [MAX_CONNECTIONS]` (PORTS like `1-65535`). Prints
//! `open: 22,80,1883` on stdout and the sweep figures on stderr.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{EventSink, Pacer, Profile, RunContext};
use iotcert_suite_ports::fdlimit::raise_open_file_limit;
use iotcert_suite_ports::sweep::{sweep_tcp, SweepSettings};
use iotcert_suite_ports::PortsOptions;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(address) = args.next() else {
        eprintln!("usage: sweep ADDRESS [PORTS] [MAX_CONNECTIONS]");
        return ExitCode::from(2);
    };
    let ports = args.next().unwrap_or_else(|| "1-65535".to_owned());
    let max_connections = args.next().unwrap_or_else(|| "128".to_owned());
    let text = format!(
        r#"
[device]
manufacturer = "bench"
model = "loopback"
firmware_version = "0"

[[units]]
id = "target"
address = "{address}"

[pacing]
max_connections = {max_connections}
connections_per_second = 4000000000

[ports]
tcp = ["{ports}"]
connect_timeout_ms = 1500
retries = 2
"#
    );
    let read = Profile::from_toml_str(&text)
        .and_then(|profile| Ok((profile.section_or_default::<PortsOptions>()?, profile)));
    let (options, profile) = match read {
        Ok((options, profile)) => (options, Arc::new(profile)),
        Err(error) => {
            eprintln!("bad arguments: {error}");
            return ExitCode::from(2);
        }
    };
    let pacers = Arc::new(BTreeMap::from([(
        "target".to_owned(),
        Pacer::new(
            profile.pacing.max_connections,
            profile.pacing.connections_per_second,
        ),
    )]));
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let ctx = RunContext::new(
        Arc::clone(&profile),
        pacers,
        tokio::time::Instant::now() + Duration::from_secs(600),
        CancellationToken::new(),
        BTreeSet::new(),
        EventSink::new("ports", sender),
    );
    let Some(unit) = ctx.units.first().cloned() else {
        return ExitCode::from(2);
    };
    let budget = raise_open_file_limit();
    let window = (ctx.pacer(&unit).max_connections() as usize).min(budget.connections_per_share(1));
    let settings = SweepSettings {
        connect_timeout: Duration::from_millis(options.connect_timeout_ms),
        retries: options.retries,
        window,
        shards: SweepSettings::shards_for(window),
    };
    let report = sweep_tcp(&ctx, &unit, &options.tcp_ports(), &settings).await;
    drop(ctx);
    let _ = drain.await;
    let open: Vec<String> = report.open.iter().map(u16::to_string).collect();
    println!("open: {}", open.join(","));
    eprintln!(
        "swept {} ports in {} ms: {} open, {} closed, {} filtered, {} untried, window {} in {} shards, {} retries",
        report.ports_requested,
        report.duration_ms,
        report.open.len(),
        report.closed,
        report.filtered.len(),
        report.untried.len(),
        report.window,
        report.shards,
        report.retried_attempts
    );
    if report.complete() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "incomplete: {:?} {:?}",
            report.interrupted, report.unreachable
        );
        ExitCode::from(1)
    }
}
