//! `tls-assess`: the TLS suite against one endpoint, from the command line, for the
//! agreement and benchmark scripts in `bench/`.
//!
//! Usage: `tls-assess ADDRESS PORT [TRUST_ANCHOR_PEM] [HOSTNAME]`. Prints one JSON line
//! per check result (verdict, summary and, for a PASS, its proof) and exits 0.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{PlanKey, Profile, RunContext, Suite, SuiteEvent};
use iotcert_suite_tls::TlsSuite;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let (Some(address), Some(port)) = (arguments.first(), arguments.get(1)) else {
        eprintln!("usage: tls-assess ADDRESS PORT [TRUST_ANCHOR_PEM] [HOSTNAME]");
        return std::process::ExitCode::from(2);
    };
    let anchors = arguments
        .get(2)
        .filter(|a| !a.is_empty())
        .map_or(String::new(), |a| format!("trust_anchors = [{a:?}]\n"));
    let hostname = arguments
        .get(3)
        .map_or(String::new(), |h| format!("hostname = {h:?}\n"));
    let text = format!(
        "[device]\nmanufacturer = \"lab\"\nmodel = \"endpoint\"\nfirmware_version = \"0\"\n\
         [[units]]\nid = \"unit-1\"\naddress = {address:?}\n{hostname}\
         [[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"tls\"\ntls = true\n\
         [pacing]\nmax_connections = 64\nconnections_per_second = 5000\n[tls]\n{anchors}"
    );
    let profile = match Profile::from_toml_str(&text) {
        Ok(profile) => profile,
        Err(error) => {
            eprintln!("tls-assess: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tls-assess: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let suite = TlsSuite::new(".");
        let descriptor = suite.descriptor();
        let pending = descriptor
            .checks
            .iter()
            .filter(|c| suite.applicability(c, &profile) == iotcert_suite::Applicability::Applicable)
            .map(|c| PlanKey::new(&c.id, (c.scope == iotcert_suite::CheckScope::PerUnit).then_some("unit-1")))
            .collect();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(256);
        let ctx = RunContext::new(
            Arc::new(profile),
            Arc::new(BTreeMap::new()),
            tokio::time::Instant::now() + Duration::from_secs(120),
            tokio_util::sync::CancellationToken::new(),
            pending,
            iotcert_suite::EventSink::new("tls", sender),
        );
        let printer = tokio::spawn(async move {
            while let Some((_, event)) = receiver.recv().await {
                if let SuiteEvent::Result(result) = event {
                    // As the harness records it: a PASS without proof is an ERROR.
                    let result = result.admitted("tls");
                    println!("{}", serde_json::json!({"check": result.check, "verdict": result.verdict, "summary": result.summary, "proof": result.proof}));
                    if std::env::var_os("TLS_ASSESS_EVIDENCE").is_some() {
                        for evidence in &result.evidence {
                            eprintln!("{}", String::from_utf8_lossy(&evidence.data));
                        }
                    }
                }
            }
        });
        if let Err(error) = suite.run(ctx).await {
            eprintln!("tls-assess: {error}");
        }
        let _ = printer.await;
    });
    std::process::ExitCode::SUCCESS
}
