//! The iotcert demo (`cargo run --release -p iotcert-demo`, or `iotcert demo` when this
//! binary is installed beside `iotcert`): the whole path in one command, against two
//! virtual devices.
//!
//! It is a program of its own so that the product binary never links the deliberately
//! vulnerable testbed; it drives the harness through the same use cases
//! (`iotcert::app`) the command line calls.
//!
//! It starts two units of a `secure` and two of an `insecure` testbed model on their own
//! loopback addresses, writes a profile for each model (kept in the output folder, so a
//! reader can see exactly what was declared), runs every suite against each, prints the
//! summary table and writes every report format. It exits 0 only when the secure device
//! earned a label with no FAIL or ERROR and the insecure one showed findings and was
//! refused one: anything else is worth a look. (The secure device's services that only
//! speak TLS are INCONCLUSIVE for fuzzing, "not covered by this suite version", which
//! the labels of levels 1 and 2 do not need.)

use anyhow::{Context, Result};
use iotcert::app::campaign;
use iotcert::app::labels;
use iotcert::exit::{self, FailOn};
use iotcert::hostports;
use iotcert::output::{self, ColorChoice};
use iotcert::report::Report;
use iotcert::store::Store;
use iotcert::terminal::{self, TerminalObserver, Verbosity};
use iotcert_suite::profile::{Authentication, Interface};
use iotcert_testbed::{DeviceConfig, RunningDevice};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// How many units of each model the demo puts on the bench: two, so the checks that
/// compare units (shared passwords and keys, EN 303 645 5.1-1/5.1-2) apply.
const UNITS_PER_MODEL: u8 = 2;

/// The default loopback block of the demo: its units sit in 127.77.0.0/16.
pub const DEFAULT_BLOCK: u8 = 77;

/// Unit `n` (from 1) of the model numbered `model` sits at 127.`block`.`model`.`n`.
fn unit_address(block: u8, model: u8, unit: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, block, model, unit))
}

/// Run the demo with its virtual devices in 127.`block`.0.0/16, so that two demos (or
/// a demo and a test run) on one host each use addresses of their own.
pub async fn run(
    data_dir: &Path,
    out: &Path,
    templates: Option<&Path>,
    verbosity: Verbosity,
    colour: ColorChoice,
    block: u8,
) -> Result<u8> {
    type Configure = fn(&str, IpAddr) -> DeviceConfig;
    let models: [(&str, u8, Configure); 2] = [
        ("secure", 1, DeviceConfig::secure),
        ("insecure", 2, DeviceConfig::insecure),
    ];
    let store = Store::open_as(data_dir, "the demo")?;
    std::fs::create_dir_all(out.join("profiles"))?;
    // A throw-away development PKI: the demo's labels mean nothing outside it.
    let pki = iotcert_label::pki::init(&out.join("pki"), iotcert_label::pki::Existing::Replace)?;
    let issuer = labels::Issuer::load(&pki.signer_key, &pki.signer_chain, None)?;
    let mut reports = Vec::new();
    for (name, model, configure) in models {
        let mut units = Vec::new();
        for unit in 1..=UNITS_PER_MODEL {
            let address = unit_address(block, model, unit);
            let device = iotcert_testbed::start(configure(&format!("{name}-{unit}"), address))
                .await
                .with_context(|| format!("starting the {name} virtual device at {address}"))?;
            units.push(device);
        }
        let profile_path = out.join("profiles").join(format!("{name}.toml"));
        let extras = write_profile_files(&out.join("profiles"), name, &units)?;
        std::fs::write(&profile_path, demo_profile(name, &units) + &extras)?;
        let planned = campaign::plan(&profile_path).await?;
        if verbosity == Verbosity::Normal {
            let addresses: Vec<String> = units.iter().map(|u| u.address().to_string()).collect();
            eprintln!(
                "{name}: campaign {} against {}",
                planned.record.id,
                addresses.join(", ")
            );
        }
        let mut observer = TerminalObserver::new(verbosity, name).with_color(colour);
        let report = campaign::execute(
            &store,
            planned,
            &mut observer,
            CancellationToken::new(),
            FailOn::default(),
        )
        .await?;
        let report = label_and_verify(&store, &report, &out.join(name), &issuer, &pki, verbosity)?;
        campaign::write_reports(&report, &out.join(name), templates)?;
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
        output::write(terminal::summary_table_with(&table, colour))?;
        output::line(format!(
            "reports: {}/{{secure,insecure}}/report.{{json,md,html,sarif,junit.xml}}, labels in the same folders",
            out.display()
        ))?;
    }
    let secure_labelled = reports.iter().any(|(n, r)| {
        *n == "secure" && r.label.is_some() && r.summary.fail == 0 && r.summary.error == 0
    });
    let insecure_refused = reports.iter().any(|(n, r)| {
        *n == "insecure" && r.summary.exit_code == exit::FINDINGS && r.label.is_none()
    });
    if secure_labelled && insecure_refused {
        Ok(exit::SUCCESS)
    } else {
        eprintln!("demo: expected the secure device to earn a label and the insecure one to show findings and be refused; see the reports");
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
         [device]\nmanufacturer = \"iotcert testbed\"\nmodel = \"virtual-{name}\"\nfirmware_version = \"{firmware}\"\nfirmware_image = \"{}\"\n",
        firmware_image(name, &firmware)
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
    text.push_str(
        "\n# A short fuzzing budget keeps the demo quick; a lab campaign uses the scheme's minimum.\n\
         [protofuzz]\nseconds_per_protocol = 6\ncases_per_protocol = 500\n\
         # The virtual device's watchdog restarts a crashed service within 1.2 s.\nrecovery_wait_seconds = 3\n",
    );
    text.push_str("\n[credentials]\n# The administrator password of each unit, as the manufacturer declares it.\nunit_credentials = [\n");
    // One administrator account serves every login interface of a virtual unit; it is
    // each interface's positive control (it must open it before a refusal counts).
    for (index, unit) in units.iter().enumerate() {
        let (username, password) = unit.admin_credentials();
        for service in ["https", "ssh", "mqtts", "http", "telnet", "mqtt"] {
            let _ = writeln!(
                text,
                "  {{ unit = \"unit-{}\", service = \"{service}\", username = {username:?}, password = {password:?} }},",
                index + 1
            );
        }
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

/// Files the profile of a model points to, written next to it: a stand-in firmware
/// image (what a label binds), the manufacturer's signed update images and signer
/// certificate (for the update suite), and each unit's device CA (TLS trust anchors).
/// Returns the profile sections that name them.
fn write_profile_files(dir: &Path, name: &str, units: &[RunningDevice]) -> Result<String> {
    let files = dir.join(name);
    std::fs::create_dir_all(&files)?;
    let version = units
        .first()
        .map(RunningDevice::firmware_version)
        .unwrap_or_default();
    std::fs::write(
        dir.join(firmware_image(name, &version)),
        format!("iotcert testbed virtual firmware {name} {version}: a stand-in image, the virtual device runs inside iotcert\n"),
    )?;
    let artifacts = iotcert_testbed::update::write_update_artifacts(&files)?;
    let relative = |path: &Path| {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{name}/{file}")
    };
    let mut anchors = Vec::new();
    for (index, unit) in units.iter().enumerate() {
        let file = format!("unit-{}-ca.pem", index + 1);
        std::fs::write(files.join(&file), unit.ca_pem())?;
        anchors.push(format!("\"{name}/{file}\""));
    }
    let secure = units.first().is_some_and(|u| !u.flaws().cleartext_update);
    let (port, tls) = if secure {
        (iotcert_testbed::port::HTTPS_UPDATE, true)
    } else {
        (iotcert_testbed::port::HTTP_UPDATE, false)
    };
    Ok(format!(
        "\n[tls]\n# The manufacturer's device CAs: server certificates must chain to one.\ntrust_anchors = [{}]\n\n\
         [update]\nformat = \"plain\"\ngenuine_image = \"{}\"\ngenuine_signature = \"{}\"\ngenuine_version = \"{}\"\n\
         signer_certificate = \"{}\"\nolder_image = \"{}\"\nolder_signature = \"{}\"\nolder_version = \"{}\"\nsettle_seconds = 0\n\n\
         [update.delivery]\nkind = \"http-upload\"\nport = {port}\ntls = {tls}\n\n\
         [update.version_query]\nkind = \"http\"\nport = {port}\ntls = {tls}\n\n\
         # The virtual update endpoint answers 200 only once it has installed an image.\n\
         [update.acceptance]\nkind = \"channel\"\n",
        anchors.join(", "),
        relative(&artifacts.genuine_image),
        relative(&artifacts.genuine_signature),
        iotcert_testbed::update::GENUINE_UPDATE_VERSION,
        relative(&artifacts.signer_certificate),
        relative(&artifacts.older_image),
        relative(&artifacts.older_signature),
        iotcert_testbed::update::OLDER_UPDATE_VERSION,
    ))
}

/// The stand-in firmware image of a model, relative to its profile: what a label binds.
fn firmware_image(name: &str, version: &str) -> String {
    format!("{name}/virtual-{name}-{version}.bin")
}

/// Issue a label for the campaign (or show why none), verify an issued one offline as a
/// buyer would, and return the report again so it shows the label.
fn label_and_verify(
    store: &Store,
    report: &Report,
    out: &Path,
    issuer: &labels::Issuer,
    pki: &iotcert_label::pki::PkiFiles,
    verbosity: Verbosity,
) -> Result<Report> {
    let campaign = store.campaign(&report.campaign.id)?;
    let say = |line: String| {
        if verbosity == Verbosity::Normal {
            eprintln!("{line}");
        }
    };
    match labels::issue_for_campaign(
        store,
        &campaign,
        issuer,
        None,
        None,
        time::OffsetDateTime::now_utc(),
    )? {
        labels::Issued::Label(issued) => {
            let (record, _) = *issued;
            let json = labels::write_label(&record, out)?.label;
            let verifier =
                iotcert_label::Verifier::new(&std::fs::read(&pki.root_certificate)?, &[], &[])?;
            let verdict = match verifier.verify(
                &std::fs::read(&json)?,
                time::OffsetDateTime::now_utc(),
                None,
            ) {
                Ok(_) => "verifies offline against the scheme root".to_owned(),
                Err(rejection) => format!(
                    "DOES NOT VERIFY: {} {}",
                    rejection.code.as_str(),
                    rejection.detail
                ),
            };
            say(format!(
                "{}: label {} issued, level {} ({}), until {}; {verdict}",
                report.device.model,
                record.id,
                record.level,
                record.level_name,
                record.expires_at.date()
            ));
        }
        labels::Issued::Refused(refusal) => {
            say(format!(
                "{}: no label; level {} is blocked by:",
                report.device.model, refusal.level
            ));
            for blocker in refusal.blockers {
                say(format!("  - {blocker}"));
            }
        }
    }
    Ok(Report::build(store, &campaign, FailOn::default())?)
}
