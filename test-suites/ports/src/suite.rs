//! `PortsSuite`: the `Suite` implementation that ties the sweep, the examination of open
//! ports, the UDP probes and the verdicts together, unit by unit.

use crate::checks;
use crate::examine::examine_tcp_port;
use crate::fdlimit;
use crate::identify::udp::{generic_probe, standard_probes};
use crate::options::PortsOptions;
use crate::report::{self, OpenTcpPort, UnitScan};
use crate::sweep::{sweep_tcp, SweepSettings};
use crate::udp_scan::probe_udp;
use futures::stream::{self, FuturesUnordered, StreamExt};
use iotcert_suite::event::LogLevel;
use iotcert_suite::profile::Transport;
use iotcert_suite::{
    Applicability, CheckSpec, Profile, Recorded, ReportSection, RunContext, SampleUnit,
    SectionSpec, Suite, SuiteDescriptor, SuiteError,
};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.2.0";

/// Open ports examined at once on one unit (each examination opens its own connections,
/// all under the unit's pacer).
const EXAMINED_AT_ONCE: usize = 8;

/// The most open ports examined on one unit; beyond, a unit that accepts everything
/// (a tarpit) would hold the suite for hours, and the port table already tells the story.
const MAX_EXAMINED_PORTS: usize = 256;

/// The listening-ports suite.
#[derive(Clone, Debug, Default)]
pub struct PortsSuite {}

impl PortsSuite {
    pub fn new() -> Self {
        PortsSuite {}
    }
}

#[async_trait::async_trait]
impl Suite for PortsSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "ports".to_owned(),
            version: SUITE_VERSION.to_owned(),
            title: "Listening ports and exposed services".to_owned(),
            checks: checks::specs(),
        }
    }

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<PortsOptions>()]
    }

    fn applicability(&self, check: &CheckSpec, _profile: &Profile) -> Applicability {
        if checks::ALL.contains(&check.id.as_str()) {
            // Every sample unit has a network address (the profile requires one), and
            // every address has ports whose state can be observed: all four checks
            // apply to every device. An empty `interfaces` list means "declares no
            // network service", which makes any open port a finding, not a reason to skip.
            Applicability::Applicable
        } else {
            Applicability::NotApplicable {
                reason: format!("`{}` is not a check of the ports suite", check.id),
            }
        }
    }

    /// The ports found open on each unit, from the port tables of the undeclared-port
    /// check.
    fn report_section(&self, recorded: &dyn Recorded) -> Option<ReportSection> {
        crate::found::section(recorded)
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let units: Vec<SampleUnit> = ctx
            .units
            .iter()
            .filter(|unit| pending_checks(&ctx, unit).next().is_some())
            .cloned()
            .collect();
        if units.is_empty() {
            return Ok(());
        }
        let options: PortsOptions = ctx.profile.section_or_default()?;
        let budget = fdlimit::raise_open_file_limit();
        let file_share = budget.connections_per_share(units.len());
        ctx.log(
            LogLevel::Info,
            format!(
                "open-file limit {} ({} in use): up to {file_share} connects in flight per unit",
                budget.limit, budget.in_use
            ),
        )
        .await;
        futures::future::join_all(
            units
                .iter()
                .map(|unit| scan_unit(&ctx, &options, unit, file_share)),
        )
        .await;
        Ok(())
    }
}

fn pending_checks<'a>(
    ctx: &'a RunContext,
    unit: &'a SampleUnit,
) -> impl Iterator<Item = &'static str> + 'a {
    checks::ALL
        .into_iter()
        .filter(move |check| ctx.is_pending(check, Some(&unit.id)))
}

/// Everything the suite does to one unit, ending with a result for each pending check.
async fn scan_unit(ctx: &RunContext, options: &PortsOptions, unit: &SampleUnit, file_share: usize) {
    let pending: Vec<&str> = pending_checks(ctx, unit).collect();
    for check in &pending {
        ctx.started(check, Some(&unit.id)).await;
    }
    if let Err(out_of_scope) = ctx.scope.check(unit.address) {
        for result in report::undecidable(&unit.id, &pending, &out_of_scope.to_string()) {
            ctx.emit(result).await;
        }
        return;
    }
    let profile = &ctx.profile;
    let connect_timeout = Duration::from_millis(options.connect_timeout_ms.max(1));
    let window = (ctx.pacer(unit).max_connections() as usize)
        .min(file_share)
        .max(1);
    let settings = SweepSettings {
        connect_timeout,
        retries: options.retries,
        window,
        shards: SweepSettings::shards_for(window),
    };
    let mut ports: BTreeSet<u16> = options.tcp_ports().into_iter().collect();
    ports.extend(
        profile
            .interfaces
            .iter()
            .filter(|i| i.transport == Transport::Tcp && i.port != 0)
            .map(|i| i.port),
    );
    let ports: Vec<u16> = ports.into_iter().collect();
    let sweep = sweep_tcp(ctx, unit, &ports, &settings).await;

    let mut scan = UnitScan {
        unit_id: unit.id.clone(),
        address: unit.address,
        tcp: Vec::new(),
        udp: None,
        declared: profile.interfaces.clone(),
        ignored: options.ignore.clone(),
        unexamined: None,
        sweep,
    };
    if scan.sweep.unreachable.is_none() {
        examine_open_ports(ctx, options, unit, &mut scan, connect_timeout).await;
        if options.udp && !ctx.should_stop() {
            scan.udp = Some(probe_unit_udp(ctx, options, unit, connect_timeout).await);
        } else if options.udp {
            scan.unexamined
                .get_or_insert_with(|| "UDP probes were not sent: the deadline passed".to_owned());
        }
    }
    for result in report::decide(&scan, &pending) {
        ctx.emit(result).await;
    }
}

/// Examine the open TCP ports the profile does not ignore: every check needs them,
/// the undeclared-port check too (a declared port answering as a live service is what
/// shows the sweep can tell an open port on this unit).
async fn examine_open_ports(
    ctx: &RunContext,
    options: &PortsOptions,
    unit: &SampleUnit,
    scan: &mut UnitScan,
    connect_timeout: Duration,
) {
    let profile = &ctx.profile;
    let mut wanted: Vec<u16> = scan
        .sweep
        .open
        .iter()
        .copied()
        .filter(|&port| !options.ignores(port, Transport::Tcp))
        .collect();
    // Declared ports first, so a tarpit's flood of open ports cannot push them out.
    wanted.sort_by_key(|&port| profile.interface(port, Transport::Tcp).is_none());
    if wanted.len() > MAX_EXAMINED_PORTS {
        scan.unexamined = Some(format!(
            "{} open ports were found and only the first {MAX_EXAMINED_PORTS} were examined",
            wanted.len()
        ));
    }
    let chosen: Vec<u16> = wanted.into_iter().take(MAX_EXAMINED_PORTS).collect();
    let total = chosen.len() as u64;
    let mut done = 0u64;
    let mut findings = stream::iter(chosen.iter().copied())
        .map(|port| async move {
            if ctx.should_stop() {
                return (port, None);
            }
            let declared = profile.interface(port, Transport::Tcp);
            (
                port,
                Some(examine_tcp_port(ctx, unit, port, declared, connect_timeout).await),
            )
        })
        .buffer_unordered(EXAMINED_AT_ONCE);
    let mut examined = std::collections::BTreeMap::new();
    while let Some((port, finding)) = findings.next().await {
        done += 1;
        ctx.progress(
            done,
            total,
            format!("{}: examined {done}/{total} open ports", unit.id),
        )
        .await;
        examined.insert(port, finding);
    }
    if examined.values().any(Option::is_none) {
        scan.unexamined.get_or_insert_with(|| {
            "some open ports were not examined: the deadline passed".to_owned()
        });
    }
    scan.tcp = scan
        .sweep
        .open
        .iter()
        .map(|&port| OpenTcpPort {
            port,
            finding: examined.remove(&port).flatten(),
        })
        .collect();
}

/// The standard UDP probes plus a generic one for each declared UDP port they miss,
/// minus the ports the profile ignores.
async fn probe_unit_udp(
    ctx: &RunContext,
    options: &PortsOptions,
    unit: &SampleUnit,
    connect_timeout: Duration,
) -> Vec<crate::udp_scan::UdpResult> {
    let profile = &ctx.profile;
    let host = match unit.address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let mut probes = standard_probes(&host, ntp_timestamp());
    for interface in profile
        .interfaces
        .iter()
        .filter(|i| i.transport == Transport::Udp)
    {
        if !probes.iter().any(|p| p.port == interface.port) {
            probes.push(generic_probe(interface.port));
        }
    }
    probes.retain(|probe| !options.ignores(probe.port, Transport::Udp));
    let wait = connect_timeout.clamp(Duration::from_millis(300), Duration::from_secs(3));
    let total = probes.len() as u64;
    ctx.progress(0, total, format!("{}: UDP probes 0/{total}", unit.id))
        .await;
    // All at once, as one batch would be, but counted as each ends so the bar moves.
    let mut probing: FuturesUnordered<_> = probes
        .iter()
        .enumerate()
        .map(|(index, probe)| async move {
            let results = probe_udp(
                ctx,
                unit,
                std::slice::from_ref(probe),
                wait,
                options.retries,
            )
            .await;
            (index, results)
        })
        .collect();
    let mut answered = Vec::with_capacity(probes.len());
    while let Some(answer) = probing.next().await {
        answered.push(answer);
        let done = answered.len() as u64;
        ctx.progress(
            done,
            total,
            format!("{}: UDP probes {done}/{total}", unit.id),
        )
        .await;
    }
    answered.sort_by_key(|(index, _)| *index);
    answered
        .into_iter()
        .flat_map(|(_, results)| results)
        .collect()
}

/// The current time as an NTP timestamp: the NTP probe's nonce, echoed by servers.
fn ntp_timestamp() -> [u8; 8] {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = (now.as_secs() + 2_208_988_800) & 0xffff_ffff;
    let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
    ((seconds << 32) | fraction).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotcert_suite::{EventSink, SuiteEvent};
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn the_udp_bar_advances_as_each_probe_ends() {
        // Nothing listens there: every probe ends closed or silent.
        let profile = Profile::from_toml_str(
            "[device]\nmanufacturer = \"T\"\nmodel = \"M\"\nfirmware_version = \"1\"\n\
             [[units]]\nid = \"unit-1\"\naddress = \"127.93.200.1\"\n",
        )
        .unwrap();
        let unit = profile.units[0].clone();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
        let ctx = RunContext::new(
            Arc::new(profile),
            Arc::new(std::collections::BTreeMap::new()),
            tokio::time::Instant::now() + Duration::from_secs(60),
            CancellationToken::new(),
            BTreeSet::new(),
            EventSink::new("ports", sender),
        );
        let options = PortsOptions::default();
        let results = probe_unit_udp(&ctx, &options, &unit, Duration::from_millis(100)).await;
        drop(ctx);
        let mut progress = Vec::new();
        while let Some((_, event)) = receiver.recv().await {
            if let SuiteEvent::Progress { done, total, .. } = event {
                progress.push((done, total));
            }
        }
        let total = results.len() as u64;
        assert!(total > 0);
        let expected: Vec<(u64, u64)> = (0..=total).map(|done| (done, total)).collect();
        assert_eq!(progress, expected, "one step per probe, from 0 to all");
    }
}
