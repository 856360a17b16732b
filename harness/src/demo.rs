//! `iotcert demo`: the whole path in one command, against two virtual devices.
//!
//! It starts a `secure` and an `insecure` testbed device on their own loopback
//! addresses, writes a profile for each (kept in the output folder, so a reader can see
//! exactly what was declared), runs every suite against each, prints the summary table
//! and writes JSON, Markdown and HTML reports. It exits 0 only when the secure device
//! passed and the insecure one showed findings: anything else is worth a look.

use crate::cli::{execute_with_terminal, load_profile, write_reports};
use crate::engine;
use crate::exit::{self, FailOn};
use crate::hostports;
use crate::registry;
use crate::report::Report;
use crate::store::Store;
use crate::terminal::{self, Verbosity};
use anyhow::{Context, Result};
use iotcert_suite::profile::{Authentication, Interface};
use iotcert_testbed::{DeviceConfig, RunningDevice};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// Loopback addresses of the two demo devices.
const SECURE_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 77, 1, 1));
const INSECURE_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 77, 2, 1));

pub async fn run(
    data_dir: &Path,
    out: &Path,
    templates: Option<&Path>,
    verbosity: Verbosity,
) -> Result<u8> {
    let secure = iotcert_testbed::start(DeviceConfig::secure("secure", SECURE_ADDRESS))
        .await
        .context("starting the secure virtual device")?;
    let insecure = iotcert_testbed::start(DeviceConfig::insecure("insecure", INSECURE_ADDRESS))
        .await
        .context("starting the insecure virtual device")?;
    let store = Store::open(data_dir)?;
    let mut reports = Vec::new();
    for (name, device) in [("secure", &secure), ("insecure", &insecure)] {
        let profile_path = out.join("profiles").join(format!("{name}.toml"));
        std::fs::create_dir_all(out.join("profiles"))?;
        std::fs::write(&profile_path, demo_profile(name, device))?;
        let (text, profile) = load_profile(&profile_path)?;
        let suites = registry::suites_for(&profile, Path::new(".")).await?;
        let record = engine::plan_campaign(
            &profile_path.display().to_string(),
            &text,
            &profile,
            &suites,
        );
        if verbosity == Verbosity::Normal {
            eprintln!(
                "{name}: campaign {} against {}",
                record.id,
                device.address()
            );
        }
        let report =
            execute_with_terminal(&store, record, &suites, verbosity, name, FailOn::default())
                .await?;
        write_reports(&report, &out.join(name), templates)?;
        reports.push((name, report));
    }
    secure.shutdown().await;
    insecure.shutdown().await;

    let table: Vec<(&str, &Report)> = reports
        .iter()
        .map(|(name, report)| (*name, report))
        .collect();
    if verbosity == Verbosity::Normal {
        print!("{}", terminal::summary_table(&table));
        println!(
            "reports: {}/{{secure,insecure}}/report.{{json,md,html}}",
            out.display()
        );
    }
    let secure_passed = reports
        .iter()
        .any(|(n, r)| *n == "secure" && r.summary.exit_code == exit::SUCCESS);
    let insecure_flagged = reports
        .iter()
        .any(|(n, r)| *n == "insecure" && r.summary.exit_code == exit::FINDINGS);
    if secure_passed && insecure_flagged {
        Ok(exit::SUCCESS)
    } else {
        eprintln!("demo: expected the secure device to pass and the insecure one to show findings; see the reports");
        Ok(exit::FINDINGS)
    }
}

/// The profile a manufacturer would write for a testbed device.
fn demo_profile(name: &str, device: &RunningDevice) -> String {
    let mut text = format!(
        "# Profile of the {name} virtual device, written by `iotcert demo`.\n\
         [device]\nmanufacturer = \"iotcert testbed\"\nmodel = \"virtual-{name}\"\nfirmware_version = \"{}\"\n\n\
         [[units]]\nid = \"unit-1\"\naddress = \"{}\"\n\n\
         # Virtual devices on loopback can take a fast pace; real devices keep the defaults.\n\
         [pacing]\nmax_connections = 1024\nconnections_per_second = 200000\n\n\
         [campaign]\nsuite_deadline_seconds = 60\n",
        device.firmware_version(),
        device.address()
    );
    for interface in device.declared_interfaces() {
        push_interface(&mut text, &interface);
    }
    let host = hostports::wildcard_listeners();
    if !host.is_empty() {
        text.push_str("\n[ports]\n");
        text.push_str(
            "# Listeners of the test host bound to the wildcard address: reachable on every\n",
        );
        text.push_str("# loopback address, so on the device's too, but not part of the device.\n");
        text.push_str("ignore = [\n");
        for (port, transport) in host {
            let _ = writeln!(
                text,
                "  {{ port = {port}, transport = \"{transport}\", reason = \"wildcard listener of the test host, not the virtual device\" }},"
            );
        }
        text.push_str("]\n");
    }
    text
}

fn push_interface(text: &mut String, interface: &Interface) {
    let authentication = match interface.authentication {
        Authentication::None => "none",
        Authentication::Password => "password",
        Authentication::Key => "key",
        Authentication::Certificate => "certificate",
        Authentication::Token => "token",
    };
    let _ = write!(
        text,
        "\n[[interfaces]]\nport = {}\ntransport = \"{}\"\nservice = \"{}\"\nauthentication = \"{authentication}\"\ntls = {}\n",
        interface.port, interface.transport, interface.service, interface.tls
    );
    if let Some(description) = &interface.description {
        let _ = writeln!(text, "description = {description:?}");
    }
}
