//! `iotcert-testbed`: runs one virtual device until Ctrl-C.
//!
//! For demos and manual checks with real clients: it starts a secure or insecure device on
//! the given loopback address, prints its services and credentials (and writes the CA a
//! client must trust, with `--ca-out`), and stops every service on Ctrl-C.

use anyhow::Context;
use clap::{Parser, ValueEnum};
use iotcert_testbed::{start, DeviceConfig};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which preset of flaws to start the device with.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    /// No flaw: passes every check of every suite.
    Secure,
    /// Every flaw: fails every check, each for a known reason.
    Insecure,
}

/// Run one virtual IoT device on a loopback address until Ctrl-C.
#[derive(Debug, Parser)]
#[command(version)]
struct Arguments {
    /// Preset of flaws.
    #[arg(long, value_enum)]
    kind: Kind,
    /// Address to bind every service to, such as 127.77.0.1 or ::1.
    #[arg(long)]
    address: IpAddr,
    /// Name of the unit (used in its certificates and pages).
    #[arg(long, default_value = "acmecam-1")]
    name: String,
    /// Write the PEM certificate clients must trust to this file.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("iotcert-testbed: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(serve(arguments))
}

async fn serve(arguments: Arguments) -> anyhow::Result<()> {
    let config = match arguments.kind {
        Kind::Secure => DeviceConfig::secure(&arguments.name, arguments.address),
        Kind::Insecure => DeviceConfig::insecure(&arguments.name, arguments.address),
    };
    let device = start(config).await.context("cannot start the device")?;
    println!(
        "{:?} device {:?} on {}",
        arguments.kind,
        device.name(),
        device.address()
    );
    let declared: Vec<_> = device
        .declared_interfaces()
        .iter()
        .map(|interface| (interface.port, interface.transport))
        .collect();
    for service in device.listening() {
        let declared = if declared.contains(&(service.port, service.transport)) {
            "declared"
        } else {
            "undeclared"
        };
        let security = if service.tls { "tls" } else { "cleartext" };
        println!(
            "  {:>5}/{:<3}  {:<7} {:<9} {}",
            service.port, service.transport, service.name, security, declared
        );
    }
    let (username, password) = device.admin_credentials();
    println!("admin credentials: {username} / {password}");
    println!("firmware version: {}", device.firmware_version());
    if let Some(path) = &arguments.ca_out {
        std::fs::write(path, device.ca_pem())
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("trust anchor written to {}", path.display());
    }
    println!("Ctrl-C (or SIGTERM) stops the device.");
    let interrupted = stop_requested().await;
    device.shutdown().await;
    interrupted.context("cannot wait for Ctrl-C")
}

/// Ctrl-C, or SIGTERM (how `kill` and service managers stop a program), so the device
/// shuts its services down either way.
async fn stop_requested() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = terminate.recv() => Ok(()),
    }
}
