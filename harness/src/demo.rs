//! `iotcert demo`: the whole path in one command, against two virtual devices.
//!
//! It starts two units of a `secure` and two of an `insecure` testbed model on their own
//! loopback addresses, writes a profile for each model (kept in the output folder, so a
//! reader can see exactly what was declared), runs every suite against each, prints the
//! summary table and writes every report format. It exits 0 only when the secure device
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

/// How many units of each model the demo puts on the bench: two, so the checks that
/// compare units (shared passwords and keys, EN 303 645 5.1-1/5.1-2) apply.
const UNITS_PER_MODEL: u8 = 2;

/// Unit `n` (from 1) of the model numbered `model` sits at 127.77.`model`.`n`.
fn unit_address(model: u8, unit: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 77, model, unit))
}

pub async fn run(
    data_dir: &Path,
    out: &Path,
    templates: Option<&Path>,
    verbosity: Verbosity,
) -> Result<u8> {
    type Configure = fn(&str, IpAddr) -> DeviceConfig;
    let models: [(&str, u8, Configure); 2] = [
        ("secure", 1, DeviceConfig::secure),
        ("insecure", 2, DeviceConfig::insecure),
    ];
    let store = Store::open(data_dir)?;
    std::fs::create_dir_all(out.join("profiles"))?;
    let mut reports = Vec::new();
    for (name, model, configure) in models {
        let mut units = Vec::new();
        for unit in 1..=UNITS_PER_MODEL {
            let address = unit_address(model, unit);
            let device = iotcert_testbed::start(configure(&format!("{name}-{unit}"), address))
                .await
                .with_context(|| format!("starting the {name} virtual device at {address}"))?;
            units.push(device);
        }
        let profile_path = out.join("profiles").join(format!("{name}.toml"));
        std::fs::write(&profile_path, demo_profile(name, &units))?;
        let (text, profile) = load_profile(&profile_path)?;
        let suites = registry::suites_for(&profile, Path::new(".")).await?;
        let record = engine::plan_campaign(
            &profile_path.display().to_string(),
            &text,
            &profile,
            &suites,
        );
        if verbosity == Verbosity::Normal {
            let addresses: Vec<String> = units.iter().map(|u| u.address().to_string()).collect();
            eprintln!(
                "{name}: campaign {} against {}",
                record.id,
                addresses.join(", ")
            );
        }
        let report =
            execute_with_terminal(&store, record, &suites, verbosity, name, FailOn::default())
                .await?;
        write_reports(&report, &out.join(name), templates)?;
        reports.push((name, report));
        for unit in units {
            unit.shutdown().await;
        }
    }

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

/// The profile a manufacturer would write for a model of testbed devices, with the
/// per-unit administrator credentials a manufacturer declares to the lab.
fn demo_profile(name: &str, units: &[RunningDevice]) -> String {
    let firmware = units
        .first()
        .map(RunningDevice::firmware_version)
        .unwrap_or_default();
    let mut text = format!(
        "# Profile of the {name} virtual device, written by `iotcert demo`.\n\
         [device]\nmanufacturer = \"iotcert testbed\"\nmodel = \"virtual-{name}\"\nfirmware_version = \"{firmware}\"\n"
    );
    for (index, unit) in units.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[units]]\nid = \"unit-{}\"\naddress = \"{}\"\n",
            index + 1,
            unit.address()
        );
    }
    text.push_str(
        "\n# Virtual devices on loopback can take a fast pace; real devices keep the defaults.\n\
         [pacing]\nmax_connections = 1024\nconnections_per_second = 200000\n\n\
         [campaign]\nsuite_deadline_seconds = 120\n",
    );
    if let Some(first) = units.first() {
        for interface in first.declared_interfaces() {
            push_interface(&mut text, &interface);
        }
    }
    text.push_str("\n[credentials]\n# The administrator password of each unit, as the manufacturer declares it.\nunit_credentials = [\n");
    for (index, unit) in units.iter().enumerate() {
        let (username, password) = unit.admin_credentials();
        let _ = writeln!(
            text,
            "  {{ unit = \"unit-{}\", service = \"https\", username = {username:?}, password = {password:?} }},",
            index + 1
        );
    }
    text.push_str("]\n");
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
