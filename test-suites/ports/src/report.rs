//! From what a unit's scan observed to the four verdicts, with their evidence.
//!
//! Pure: no I/O, so every verdict rule (undeclared versus ignored, declared but closed,
//! incomplete sweeps, unreachable units) is unit-tested without a network.

use crate::checks;
use crate::examine::{Observation, ServiceFinding};
use crate::options::IgnoredPort;
use crate::sweep::SweepReport;
use crate::udp_scan::{UdpResult, UdpState};
use iotcert_suite::profile::{Interface, Transport};
use iotcert_suite::{CheckResult, Evidence, EvidenceKind, Proof, Verdict};
use serde::Serialize;
use std::net::IpAddr;

/// The most transcripts attached to one result; the port table lists every port.
const MAX_TRANSCRIPTS: usize = 16;

/// An open TCP port, and what examining it found (`None`: ignored or not examined).
#[derive(Clone, Debug)]
pub struct OpenTcpPort {
    pub port: u16,
    pub finding: Option<ServiceFinding>,
}

/// Everything observed on one unit.
#[derive(Clone, Debug)]
pub struct UnitScan {
    pub unit_id: String,
    pub address: IpAddr,
    pub sweep: SweepReport,
    pub tcp: Vec<OpenTcpPort>,
    /// `None` when the profile turned UDP probes off.
    pub udp: Option<Vec<UdpResult>>,
    pub declared: Vec<Interface>,
    pub ignored: Vec<IgnoredPort>,
    /// Why some open ports were not examined (too many, deadline), if any were not.
    pub unexamined: Option<String>,
}

/// How a port relates to the profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Declared,
    Undeclared,
    Ignored,
}

/// One row of the port table in the evidence.
#[derive(Clone, Debug, Serialize)]
struct PortRow {
    port: u16,
    transport: Transport,
    state: &'static str,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    declared_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    detail: String,
}

/// The label of a unit's port table evidence, by which the suite's report section
/// (`found`) finds it among the undeclared-port check's evidence.
pub fn port_table_label(unit_id: &str) -> String {
    format!("port table of {unit_id}")
}

/// The port table: the main evidence of the undeclared-port check.
#[derive(Serialize)]
struct PortTable<'a> {
    unit: &'a str,
    address: IpAddr,
    tcp_sweep: &'a SweepReport,
    open_tcp: Vec<PortRow>,
    udp: Vec<PortRow>,
    udp_probes: &'static str,
    declared_not_found: Vec<DeclaredRow>,
    ignored: &'a [IgnoredPort],
}

#[derive(Clone, Debug, Serialize)]
struct DeclaredRow {
    port: u16,
    transport: Transport,
    service: String,
    found: &'static str,
}

impl UnitScan {
    fn declared(&self, port: u16, transport: Transport) -> Option<&Interface> {
        self.declared
            .iter()
            .find(|i| i.port == port && i.transport == transport)
    }

    fn ignored(&self, port: u16, transport: Transport) -> Option<&IgnoredPort> {
        self.ignored
            .iter()
            .find(|i| i.port == port && i.transport == transport)
    }

    fn row(
        &self,
        port: u16,
        transport: Transport,
        state: &'static str,
        finding: Option<&ServiceFinding>,
    ) -> PortRow {
        let declared = self.declared(port, transport);
        let ignored = self.ignored(port, transport);
        let status = match (declared, ignored) {
            (Some(_), _) => Status::Declared,
            (None, Some(_)) => Status::Ignored,
            (None, None) => Status::Undeclared,
        };
        PortRow {
            port,
            transport,
            state,
            status,
            declared_service: declared.map(|i| i.service.clone()),
            ignore_reason: ignored.map(|i| i.reason.clone()),
            service: finding.and_then(|f| f.service).map(|s| s.name().to_owned()),
            detail: finding.map(|f| f.detail.clone()).unwrap_or_default(),
        }
    }

    fn tcp_rows(&self) -> Vec<PortRow> {
        self.tcp
            .iter()
            .map(|open| self.row(open.port, Transport::Tcp, "open", open.finding.as_ref()))
            .collect()
    }

    fn udp_rows(&self) -> Vec<PortRow> {
        self.udp
            .iter()
            .flatten()
            .map(|result| {
                let state = match result.state {
                    UdpState::Open => "open",
                    UdpState::Closed => "closed",
                    UdpState::OpenFiltered => "open|filtered",
                    UdpState::NotProbed => "not probed",
                };
                self.row(
                    result.finding.port,
                    Transport::Udp,
                    state,
                    Some(&result.finding),
                )
            })
            .collect()
    }

    /// Declared interfaces the scan did not find open, and what it found instead.
    fn declared_not_found(&self) -> Vec<DeclaredRow> {
        self.declared
            .iter()
            .filter_map(|interface| {
                let found = match interface.transport {
                    Transport::Tcp => {
                        if self.tcp.iter().any(|open| open.port == interface.port) {
                            return None;
                        }
                        if self.sweep.filtered.contains(&interface.port) {
                            "filtered (no answer)"
                        } else if self.sweep.complete() {
                            "closed"
                        } else {
                            "not decided (incomplete sweep)"
                        }
                    }
                    Transport::Udp => match self
                        .udp
                        .iter()
                        .flatten()
                        .find(|r| r.finding.port == interface.port)
                        .map(|r| r.state)
                    {
                        Some(UdpState::Open) => return None,
                        Some(UdpState::Closed) => "closed (ICMP port unreachable)",
                        Some(UdpState::OpenFiltered) => "open|filtered (no answer)",
                        Some(UdpState::NotProbed) | None => "not probed",
                    },
                };
                Some(DeclaredRow {
                    port: interface.port,
                    transport: interface.transport,
                    service: interface.service.clone(),
                    found,
                })
            })
            .collect()
    }

    fn port_table(&self) -> Evidence {
        let table = PortTable {
            unit: &self.unit_id,
            address: self.address,
            tcp_sweep: &self.sweep,
            open_tcp: self.tcp_rows(),
            udp: self.udp_rows(),
            udp_probes: if self.udp.is_some() {
                "sent to the well-known IoT UDP services and every declared UDP port"
            } else {
                "turned off by the profile (ports.udp = false)"
            },
            declared_not_found: self.declared_not_found(),
            ignored: &self.ignored,
        };
        Evidence::json(port_table_label(&self.unit_id), &table)
    }

    /// Every examined service, TCP and UDP.
    fn findings(&self) -> impl Iterator<Item = &ServiceFinding> {
        let tcp = self.tcp.iter().filter_map(|open| open.finding.as_ref());
        let udp = self
            .udp
            .iter()
            .flatten()
            .filter(|r| r.state == UdpState::Open)
            .map(|r| &r.finding);
        tcp.chain(udp)
    }

    /// Why the unit counts as unreachable: connects failed with "unreachable", or not
    /// one port answered anything (every TCP attempt timed out and no UDP probe got an
    /// answer or an ICMP error), which is what a unit that is off or unplugged looks
    /// like and must never pass as "no open port".
    fn unreachable(&self) -> Option<String> {
        if let Some(reason) = &self.sweep.unreachable {
            return Some(reason.clone());
        }
        let tcp_answered = !self.sweep.open.is_empty() || self.sweep.closed > 0;
        let udp_answered = self
            .udp
            .iter()
            .flatten()
            .any(|r| matches!(r.state, UdpState::Open | UdpState::Closed));
        let nothing_answered = !tcp_answered && !udp_answered && !self.sweep.filtered.is_empty();
        nothing_answered.then(|| {
            format!(
                "{} ({}) answered nothing: all {} TCP connects timed out and no UDP probe drew an answer or an ICMP error; the unit seems off, unplugged or entirely firewalled",
                self.unit_id,
                self.address,
                self.sweep.filtered.len()
            )
        })
    }

    /// Why the observation is partial, if it is.
    fn incomplete(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(why) = &self.sweep.interrupted {
            reasons.push(format!(
                "the TCP sweep stopped after {} of {} ports: {why}",
                self.sweep.decided(),
                self.sweep.ports_requested
            ));
        }
        if !self.sweep.untried.is_empty() {
            let first = self.sweep.untried.iter().next();
            reasons.push(format!(
                "{} ports could not be tried{}",
                self.sweep.untried.len(),
                first
                    .map(|(port, why)| format!(" (port {port}: {why})"))
                    .unwrap_or_default()
            ));
        }
        if let Some(why) = &self.unexamined {
            reasons.push(why.clone());
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// The positive control every check of the unit rests on: each declared TCP
    /// interface was seen open by this sweep and answered as a live service when
    /// examined; no declared UDP interface was refuted (closed, or answering bytes of
    /// no protocol) when UDP probes ran; and, when interfaces are declared, at least one
    /// of them answered. `Ok` lists what was seen; `Err` names every declared port that was not
    /// (closed, filtered, resetting, silent, not examined), because then an empty
    /// finding may only mean the scan could not see the services at all.
    fn declared_control(&self) -> Result<Vec<String>, Vec<String>> {
        let mut seen = Vec::new();
        let mut missing = Vec::new();
        for interface in self
            .declared
            .iter()
            .filter(|i| i.transport == Transport::Tcp && i.port != 0)
        {
            let label = format!("declared {}/tcp ({})", interface.port, interface.service);
            if !self.sweep.open.contains(&interface.port) {
                let state = if self.sweep.filtered.contains(&interface.port) {
                    "filtered (no answer to the connect)"
                } else if self.sweep.complete() {
                    "closed"
                } else {
                    "not decided"
                };
                missing.push(format!("{label} was {state} in the sweep"));
                continue;
            }
            let finding = self
                .tcp
                .iter()
                .find(|open| open.port == interface.port)
                .and_then(|open| open.finding.as_ref());
            match finding.map(|f| &f.service_seen) {
                None => missing.push(format!("{label} was open but not examined")),
                Some(Observation::Unfinished(why)) => {
                    missing.push(format!("{label} was open but {why}"))
                }
                Some(Observation::Complete(what)) => seen.push(format!("{label}: {what}")),
            }
        }
        // Declared UDP services, when the profile had them probed. One that answered
        // with bytes of no protocol, or that the unit said is closed (ICMP port
        // unreachable), is not there as declared. A silent one (open|filtered) is
        // neither seen nor refuted: SNMP drops a community it does not know without a
        // word, so silence alone leaves the control to the other declared interfaces.
        let mut silent = Vec::new();
        for interface in self
            .declared
            .iter()
            .filter(|i| i.transport == Transport::Udp && i.port != 0)
        {
            let Some(results) = &self.udp else {
                break;
            };
            let label = format!("declared {}/udp ({})", interface.port, interface.service);
            match results.iter().find(|r| r.finding.port == interface.port) {
                Some(result) if result.state == UdpState::Open => {
                    match &result.finding.service_seen {
                        Observation::Complete(what) => seen.push(format!("{label}: {what}")),
                        Observation::Unfinished(why) => {
                            missing.push(format!("{label} answered, but {why}"))
                        }
                    }
                }
                Some(result) if result.state == UdpState::OpenFiltered => silent.push(label),
                Some(result) => missing.push(format!(
                    "{label} did not answer its probe: {}",
                    result.finding.detail
                )),
                None => missing.push(format!("{label} was not probed")),
            }
        }
        if seen.is_empty() && missing.is_empty() && !silent.is_empty() {
            missing.push(format!(
                "no declared interface answered ({} silent to its probe)",
                silent.join(", ")
            ));
        } else if !silent.is_empty() {
            seen.push(format!(
                "{} silent to its probe (open|filtered), not counted",
                silent.join(", ")
            ));
        }
        if missing.is_empty() {
            Ok(seen)
        } else {
            Err(missing)
        }
    }

    /// What the sweep decided, for proofs: `65535 ports, 3 open, 65532 closed`.
    fn sweep_tally(&self) -> String {
        format!(
            "{} TCP ports swept, every one decided ({} open, {} closed, {} filtered)",
            self.sweep.ports_requested,
            self.sweep.open.len(),
            self.sweep.closed,
            self.sweep.filtered.len()
        )
    }

    /// The proof shared by the checks: the sweep's tally and the declared interfaces
    /// seen answering.
    fn sweep_proof(&self, seen: &[String]) -> String {
        if seen.is_empty() {
            format!(
                "{}; the profile declares no interface to see answering",
                self.sweep_tally()
            )
        } else {
            format!(
                "{}; in the same scan every declared interface was open and answered: {}",
                self.sweep_tally(),
                list(seen)
            )
        }
    }
}

/// The verdicts of the `pending` checks for one unit.
pub fn decide(scan: &UnitScan, pending: &[&str]) -> Vec<CheckResult> {
    pending
        .iter()
        .map(|&check| {
            if let Some(reason) = scan.unreachable() {
                return CheckResult::new(
                    check,
                    Some(&scan.unit_id),
                    Verdict::Inconclusive,
                    format!(
                        "The unit could not be reached, so nothing could be decided: {reason}."
                    ),
                )
                .with_evidence(scan.port_table());
            }
            match check {
                checks::UNDECLARED_OPEN_PORT => undeclared(scan),
                checks::CLEARTEXT_MANAGEMENT => per_finding(scan, &CLEARTEXT),
                checks::DEBUG_INTERFACE => per_finding(scan, &DEBUG),
                _ => per_finding(scan, &DISCLOSURE),
            }
        })
        .collect()
}

/// A result for every pending check when the unit could not be scanned at all.
pub fn undecidable(unit_id: &str, pending: &[&str], reason: &str) -> Vec<CheckResult> {
    pending
        .iter()
        .map(|&check| {
            CheckResult::new(
                check,
                Some(unit_id),
                Verdict::Inconclusive,
                reason.to_owned(),
            )
            .with_evidence(Evidence::text(
                EvidenceKind::Note,
                "why nothing was decided",
                reason,
            ))
        })
        .collect()
}

fn list(labels: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut text = labels
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if labels.len() > SHOWN {
        text.push_str(&format!(" and {} more", labels.len() - SHOWN));
    }
    text
}

fn undeclared(scan: &UnitScan) -> CheckResult {
    let unit = Some(scan.unit_id.as_str());
    let tcp_rows = scan.tcp_rows();
    let udp_rows = scan.udp_rows();
    let offending: Vec<&PortRow> = tcp_rows
        .iter()
        .chain(udp_rows.iter().filter(|row| row.state == "open"))
        .filter(|row| row.status == Status::Undeclared)
        .collect();
    let notes = side_notes(scan, &tcp_rows, &udp_rows);
    let incomplete = scan.incomplete();
    let scope = format!(
        "{} TCP ports swept{}",
        scan.sweep.ports_requested,
        if scan.udp.is_some() {
            " and the common IoT UDP services probed"
        } else {
            ", UDP probes off"
        }
    );
    let mut result = if !offending.is_empty() {
        let labels: Vec<String> = offending.iter().map(|row| port_label(row)).collect();
        let partial = incomplete
            .map(|why| format!(" (observation partial: {why})"))
            .unwrap_or_default();
        CheckResult::new(
            checks::UNDECLARED_OPEN_PORT,
            unit,
            Verdict::Fail,
            format!(
                "{} service(s) answer that the profile does not declare: {}{partial}.{notes}",
                offending.len(),
                list(&labels)
            ),
        )
        .with_remediation(format!(
            "Close {} or declare them. {}",
            list(&labels),
            checks::UNDECLARED_REMEDIATION
        ))
    } else if let Some(why) = incomplete {
        CheckResult::new(
            checks::UNDECLARED_OPEN_PORT,
            unit,
            Verdict::Inconclusive,
            format!(
                "No undeclared service found so far, but the observation is partial: {why}.{notes}"
            ),
        )
    } else {
        match scan.declared_control() {
            Err(missing) => CheckResult::new(
                checks::UNDECLARED_OPEN_PORT,
                unit,
                Verdict::Inconclusive,
                format!(
                    "No undeclared service found ({scope}), but that proves nothing: {}; a declared service not seen open and answering means the scan cannot show it would see an open port on this unit.{notes}",
                    list(&missing)
                ),
            ),
            Ok(seen) => {
                let open: Vec<String> = tcp_rows
                    .iter()
                    .chain(udp_rows.iter().filter(|row| row.state == "open"))
                    .filter(|row| row.status == Status::Declared)
                    .map(port_label)
                    .collect();
                let open = if open.is_empty() {
                    "none".to_owned()
                } else {
                    list(&open)
                };
                CheckResult::pass(
                    checks::UNDECLARED_OPEN_PORT,
                    unit,
                    format!(
                        "Every open service is declared ({scope}); open and declared: {open}.{notes}"
                    ),
                    Proof::observed(scan.sweep_proof(&seen)),
                )
            }
        }
    };
    result = result.with_evidence(scan.port_table());
    let offending_ports: Vec<(u16, Transport)> = offending
        .iter()
        .map(|row| (row.port, row.transport))
        .collect();
    for finding in scan
        .tcp
        .iter()
        .filter_map(|open| open.finding.as_ref())
        .chain(scan.udp.iter().flatten().map(|r| &r.finding))
        .filter(|f| offending_ports.contains(&(f.port, f.transport)))
        .take(MAX_TRANSCRIPTS)
    {
        if let Some(transcript) = &finding.transcript {
            result = result.with_evidence(transcript.clone());
        }
    }
    result
}

/// `80/tcp (http)`, or `80/tcp` when the service was not identified.
fn port_label(row: &PortRow) -> String {
    match &row.service {
        Some(service) => format!("{}/{} ({service})", row.port, row.transport),
        None => format!("{}/{}", row.port, row.transport),
    }
}

/// What the verdict's summary adds whatever the verdict: declared services not found
/// open, and open ports ignored as the profile asks.
fn side_notes(scan: &UnitScan, tcp_rows: &[PortRow], udp_rows: &[PortRow]) -> String {
    let missing: Vec<String> = scan
        .declared_not_found()
        .iter()
        .map(|row| {
            format!(
                "{}/{} ({}) {}",
                row.port, row.transport, row.service, row.found
            )
        })
        .collect();
    let mut notes = String::new();
    if !missing.is_empty() {
        notes.push_str(&format!(
            " Declared but not found open: {}.",
            list(&missing)
        ));
    }
    let ignored: Vec<String> = tcp_rows
        .iter()
        .chain(udp_rows.iter().filter(|row| row.state == "open"))
        .filter(|row| row.status == Status::Ignored)
        .map(|row| {
            format!(
                "{} ({})",
                port_label(row),
                row.ignore_reason.clone().unwrap_or_default()
            )
        })
        .collect();
    if !ignored.is_empty() {
        notes.push_str(&format!(
            " Ignored as the profile asks: {}.",
            list(&ignored)
        ));
    }
    notes
}

/// How one of the per-service checks reads a finding.
struct FindingCheck {
    id: &'static str,
    /// What is wrong with this finding, if anything.
    problem: fn(&ServiceFinding) -> Option<String>,
    /// What the check's verdict on this finding rests on: a whole exchange, or why
    /// there was none.
    observed: fn(&ServiceFinding) -> &Observation,
    /// What passing means, completed with the number of services examined.
    clean: &'static str,
    /// What failing means, before the list of findings.
    found: &'static str,
    remediation: &'static str,
}

const CLEARTEXT: FindingCheck = FindingCheck {
    id: checks::CLEARTEXT_MANAGEMENT,
    problem: |f| f.cleartext_management.clone(),
    observed: |f| &f.service_seen,
    clean: "No management interface answers without TLS",
    found: "Management reachable without TLS",
    remediation: checks::CLEARTEXT_REMEDIATION,
};

const DEBUG: FindingCheck = FindingCheck {
    id: checks::DEBUG_INTERFACE,
    problem: |f| f.debug_interface.clone(),
    observed: |f| &f.service_seen,
    clean: "No debug interface answers",
    found: "Debug interface reachable over the network",
    remediation: checks::DEBUG_REMEDIATION,
};

const DISCLOSURE: FindingCheck = FindingCheck {
    id: checks::BANNER_DISCLOSURE,
    problem: |f| {
        let quotes: Vec<String> = f
            .disclosures
            .iter()
            .map(|d| format!("{} {} in \"{}\"", d.product, d.version, d.banner))
            .collect();
        (!quotes.is_empty()).then(|| quotes.join("; "))
    },
    observed: |f| &f.banner_seen,
    clean: "No unauthenticated banner names an exact software version",
    found: "Unauthenticated banners disclose exact versions",
    remediation: checks::DISCLOSURE_REMEDIATION,
};

/// One row of a per-service check's evidence.
#[derive(Serialize)]
struct FindingRow<'a> {
    port: u16,
    transport: Transport,
    service: Option<&'static str>,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    observed: &'a Observation,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    disclosures: &'a [crate::examine::DisclosedVersion],
}

fn per_finding(scan: &UnitScan, check: &FindingCheck) -> CheckResult {
    let unit = Some(scan.unit_id.as_str());
    let examined: Vec<&ServiceFinding> = scan.findings().collect();
    let rows: Vec<FindingRow> = examined
        .iter()
        .map(|f| FindingRow {
            port: f.port,
            transport: f.transport,
            service: f.service.map(|s| s.name()),
            detail: &f.detail,
            problem: (check.problem)(f),
            observed: (check.observed)(f),
            disclosures: &f.disclosures,
        })
        .collect();
    let problems: Vec<(&ServiceFinding, String)> = examined
        .iter()
        .filter_map(|f| (check.problem)(f).map(|problem| (*f, problem)))
        .collect();
    let mut result = if !problems.is_empty() {
        let described: Vec<String> = problems
            .iter()
            .map(|(f, problem)| format!("{}: {problem}", f.label()))
            .collect();
        let ports: Vec<String> = problems.iter().map(|(f, _)| f.label()).collect();
        CheckResult::new(
            check.id,
            unit,
            Verdict::Fail,
            format!("{}: {}.", check.found, described.join(" | ")),
        )
        .with_remediation(format!("Fix {}. {}", list(&ports), check.remediation))
    } else if let Some(why) = scan.incomplete() {
        CheckResult::new(
            check.id,
            unit,
            Verdict::Inconclusive,
            format!(
                "Nothing found among {} examined services, but the observation is partial: {why}.",
                examined.len()
            ),
        )
    } else {
        let unfinished: Vec<String> = examined
            .iter()
            .filter_map(|f| {
                (check.observed)(f)
                    .unfinished()
                    .map(|why| format!("{}: {why}", f.label()))
            })
            .collect();
        let seen: Vec<String> = examined
            .iter()
            .filter_map(|f| match (check.observed)(f) {
                Observation::Complete(what) => Some(format!("{}: {what}", f.label())),
                Observation::Unfinished(_) => None,
            })
            .collect();
        match scan.declared_control() {
            Err(missing) => CheckResult::new(
                check.id,
                unit,
                Verdict::Inconclusive,
                format!(
                    "Nothing found among {} examined services, but that proves nothing: {}.",
                    examined.len(),
                    list(&missing)
                ),
            ),
            Ok(_) if !unfinished.is_empty() => CheckResult::new(
                check.id,
                unit,
                Verdict::Inconclusive,
                format!(
                    "Nothing found, but {} of {} open services could not be observed whole, and an exchange cut short is not a safe one: {}.",
                    unfinished.len(),
                    examined.len(),
                    list(&unfinished)
                ),
            ),
            Ok(declared) => {
                let services: Vec<String> = examined.iter().map(|f| f.label()).collect();
                let services = if services.is_empty() {
                    "none".to_owned()
                } else {
                    list(&services)
                };
                let observed = if seen.is_empty() {
                    "no open service to examine".to_owned()
                } else {
                    format!("every open service observed whole: {}", list(&seen))
                };
                CheckResult::pass(
                    check.id,
                    unit,
                    format!(
                        "{} ({} services examined: {services}).",
                        check.clean,
                        examined.len()
                    ),
                    Proof::observed(format!("{observed}; {}", scan.sweep_proof(&declared))),
                )
            }
        }
    };
    result = result.with_evidence(Evidence::json(
        format!("services examined on {}", scan.unit_id),
        &rows,
    ));
    if check.id == checks::BANNER_DISCLOSURE && !problems.is_empty() {
        let quotes: Vec<String> = problems
            .iter()
            .flat_map(|(f, _)| {
                f.disclosures
                    .iter()
                    .map(move |d| format!("{}: {}", f.label(), d.banner))
            })
            .collect();
        result = result.with_evidence(Evidence::text(
            EvidenceKind::Note,
            "offending banners (escaped)",
            &quotes.join("\n"),
        ));
    }
    for (finding, _) in problems.iter().take(MAX_TRANSCRIPTS) {
        if let Some(transcript) = &finding.transcript {
            result = result.with_evidence(transcript.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identify::Service;
    use std::collections::BTreeSet;

    fn interface(port: u16, transport: Transport, service: &str) -> Interface {
        Interface {
            port,
            transport,
            service: service.to_owned(),
            authentication: Default::default(),
            tls: false,
            description: None,
        }
    }

    fn finding(port: u16, transport: Transport, service: Option<Service>) -> ServiceFinding {
        let mut finding = ServiceFinding::new(port, transport);
        finding.service = service;
        finding.service_seen = Observation::Complete("told by its banner".to_owned());
        finding.banner_seen = Observation::Complete("banner read to its line end".to_owned());
        finding
    }

    /// The fixture without its closed declared interface and with its CoAP service
    /// answering: everything declared answers.
    fn answering() -> UnitScan {
        let mut scan = scan();
        scan.declared.retain(|i| i.port != 443);
        scan.udp = Some(vec![UdpResult {
            state: UdpState::Open,
            finding: finding(5683, Transport::Udp, Some(Service::Coap)),
        }]);
        scan
    }

    fn scan() -> UnitScan {
        UnitScan {
            unit_id: "unit-1".to_owned(),
            address: "127.0.0.1".parse().unwrap(),
            sweep: SweepReport {
                ports_requested: 100,
                open: BTreeSet::from([22, 2024]),
                closed: 98,
                window: 32,
                ..SweepReport::default()
            },
            tcp: vec![
                OpenTcpPort {
                    port: 22,
                    finding: Some(finding(22, Transport::Tcp, Some(Service::Ssh))),
                },
                OpenTcpPort {
                    port: 2024,
                    finding: None,
                },
            ],
            udp: Some(vec![UdpResult {
                state: UdpState::Closed,
                finding: finding(5683, Transport::Udp, None),
            }]),
            declared: vec![
                interface(22, Transport::Tcp, "ssh"),
                interface(443, Transport::Tcp, "https"),
                interface(5683, Transport::Udp, "coap"),
            ],
            ignored: vec![IgnoredPort {
                port: 2024,
                transport: Transport::Tcp,
                reason: "host listener".to_owned(),
            }],
            unexamined: None,
        }
    }

    fn verdicts(scan: &UnitScan) -> Vec<Verdict> {
        decide(scan, &checks::ALL)
            .iter()
            .map(|r| r.verdict)
            .collect()
    }

    #[test]
    fn ignored_and_declared_pass_with_proof_and_closed_udp_is_reported() {
        let results = decide(&answering(), &[checks::UNDECLARED_OPEN_PORT]);
        let result = &results[0];
        assert_eq!(result.verdict, Verdict::Pass, "{}", result.summary);
        assert!(
            result.summary.contains("22/tcp (ssh)"),
            "{}",
            result.summary
        );
        assert!(
            result
                .summary
                .contains("open and declared: 22/tcp (ssh), 5683/udp (coap)"),
            "{}",
            result.summary
        );
        assert!(
            result.summary.contains("2024/tcp (host listener)"),
            "{}",
            result.summary
        );
        let proof = result.proof.as_ref().expect("a PASS carries its proof");
        assert!(
            proof
                .as_str()
                .contains("declared 22/tcp (ssh): told by its banner"),
            "{}",
            proof.as_str()
        );
        assert!(
            proof.as_str().contains("100 TCP ports swept"),
            "{}",
            proof.as_str()
        );
        let table: serde_json::Value = serde_json::from_slice(&result.evidence[0].data).unwrap();
        assert_eq!(table["open_tcp"][1]["status"], "ignored");
        assert_eq!(table["open_tcp"][1]["ignore_reason"], "host listener");
    }

    #[test]
    fn a_declared_interface_found_closed_leaves_every_check_inconclusive() {
        let results = decide(&scan(), &checks::ALL);
        for result in &results {
            assert_eq!(result.verdict, Verdict::Inconclusive, "{}", result.summary);
            assert!(
                result
                    .summary
                    .contains("declared 443/tcp (https) was closed"),
                "{}",
                result.summary
            );
        }
    }

    #[test]
    fn a_declared_udp_service_that_did_not_answer_proves_nothing() {
        let mut closed = answering();
        closed.udp = Some(vec![UdpResult {
            state: UdpState::Closed,
            finding: finding(5683, Transport::Udp, None),
        }]);
        for result in decide(&closed, &checks::ALL) {
            assert_eq!(result.verdict, Verdict::Inconclusive, "{}", result.summary);
            assert!(
                result
                    .summary
                    .contains("declared 5683/udp (coap) did not answer"),
                "{}",
                result.summary
            );
        }
        // Silent (open|filtered) is tolerated beside a TCP interface seen answering,
        // and is not enough alone.
        closed.udp = Some(vec![UdpResult {
            state: UdpState::OpenFiltered,
            finding: finding(5683, Transport::Udp, None),
        }]);
        let beside = &decide(&closed, &[checks::UNDECLARED_OPEN_PORT])[0];
        assert_eq!(beside.verdict, Verdict::Pass, "{}", beside.summary);
        let mut alone = closed.clone();
        alone.declared.retain(|i| i.transport == Transport::Udp);
        alone.tcp.clear();
        alone.sweep.open.clear();
        alone.sweep.closed = 100;
        let result = &decide(&alone, &[checks::UNDECLARED_OPEN_PORT])[0];
        assert_eq!(result.verdict, Verdict::Inconclusive, "{}", result.summary);
        assert!(
            result.summary.contains("no declared interface answered"),
            "{}",
            result.summary
        );
        // With UDP probes turned off by the profile, only TCP is in question.
        closed.udp = None;
        assert_eq!(
            decide(&closed, &[checks::UNDECLARED_OPEN_PORT])[0].verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn a_declared_port_that_never_answered_whole_proves_nothing() {
        let mut silent = answering();
        if let Some(finding) = silent.tcp.first_mut().and_then(|o| o.finding.as_mut()) {
            finding.service = None;
            finding.service_seen =
                Observation::Unfinished("accepts connections, then resets them at once".into());
            finding.banner_seen = finding.service_seen.clone();
        }
        let results = decide(&silent, &checks::ALL);
        for result in &results {
            assert_eq!(result.verdict, Verdict::Inconclusive, "{}", result.summary);
            assert!(result.summary.contains("resets them"), "{}", result.summary);
        }
    }

    #[test]
    fn a_banner_read_in_part_leaves_only_disclosure_inconclusive() {
        let mut cut = answering();
        if let Some(finding) = cut.tcp.first_mut().and_then(|o| o.finding.as_mut()) {
            finding.banner_seen =
                Observation::Unfinished("the ssh banner was not whole after 5 s".into());
        }
        assert_eq!(
            verdicts(&cut),
            vec![
                Verdict::Pass,
                Verdict::Pass,
                Verdict::Pass,
                Verdict::Inconclusive
            ]
        );
        let disclosure = &decide(&cut, &[checks::BANNER_DISCLOSURE])[0];
        assert!(
            disclosure
                .summary
                .contains("22/tcp (ssh): the ssh banner was not whole"),
            "{}",
            disclosure.summary
        );
        for result in decide(&cut, &checks::ALL) {
            if result.verdict == Verdict::Pass {
                let proof = result.proof.expect("proof");
                assert!(
                    proof.as_str().contains("22/tcp (ssh)"),
                    "{}",
                    proof.as_str()
                );
            }
        }
    }

    #[test]
    fn an_undeclared_port_fails_even_when_the_sweep_is_partial() {
        let mut partial = scan();
        partial.ignored.clear();
        partial.sweep.interrupted = Some("the suite deadline passed".to_owned());
        let result = &decide(&partial, &[checks::UNDECLARED_OPEN_PORT])[0];
        assert_eq!(result.verdict, Verdict::Fail);
        assert!(result.summary.contains("2024/tcp"), "{}", result.summary);
        assert!(result.summary.contains("partial"), "{}", result.summary);
        assert!(result
            .remediation
            .as_deref()
            .unwrap_or("")
            .contains("2024/tcp"));
    }

    #[test]
    fn a_partial_sweep_without_findings_is_inconclusive() {
        let mut partial = scan();
        partial
            .sweep
            .untried
            .insert(80, "too many open files".to_owned());
        assert_eq!(verdicts(&partial), vec![Verdict::Inconclusive; 4]);
    }

    #[test]
    fn unreachable_and_silent_units_are_inconclusive() {
        let mut unreachable = scan();
        unreachable.sweep.unreachable = Some("no route to host".to_owned());
        assert_eq!(verdicts(&unreachable), vec![Verdict::Inconclusive; 4]);

        let mut silent = scan();
        silent.tcp.clear();
        silent.sweep.open.clear();
        silent.sweep.closed = 0;
        silent.sweep.filtered = (1..=100).collect();
        silent.udp = Some(Vec::new());
        let results = decide(&silent, &checks::ALL);
        assert!(results.iter().all(|r| r.verdict == Verdict::Inconclusive));
        assert!(
            results[0].summary.contains("answered nothing"),
            "{}",
            results[0].summary
        );
    }

    #[test]
    fn findings_fail_their_own_check_only() {
        let mut flawed = answering();
        if let Some(open) = flawed.tcp.first_mut() {
            let finding = open.finding.as_mut().unwrap();
            finding.debug_interface = Some("a shell".to_owned());
        }
        assert_eq!(
            verdicts(&flawed),
            vec![Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::Pass]
        );
    }

    /// The campaign's record of a run, evidence keyed by label.
    struct Recording {
        results: Vec<iotcert_suite::RecordedResult>,
        evidence: Vec<(String, Vec<u8>)>,
    }

    impl iotcert_suite::Recorded for Recording {
        fn results(&self) -> &[iotcert_suite::RecordedResult] {
            &self.results
        }
        fn evidence(&self, sha256: &str) -> Option<Vec<u8>> {
            self.evidence
                .iter()
                .find(|(key, _)| key == sha256)
                .map(|(_, bytes)| bytes.clone())
        }
    }

    fn recorded(results: Vec<CheckResult>) -> Recording {
        let mut recording = Recording {
            results: Vec::new(),
            evidence: Vec::new(),
        };
        for result in results {
            let evidence = result
                .evidence
                .iter()
                .map(|item| {
                    recording
                        .evidence
                        .push((item.label.clone(), item.data.clone()));
                    iotcert_suite::RecordedEvidence {
                        kind: item.kind,
                        label: item.label.clone(),
                        media_type: item.media_type.clone(),
                        sha256: item.label.clone(),
                    }
                })
                .collect();
            recording.results.push(iotcert_suite::RecordedResult {
                check: result.check,
                unit: result.unit,
                verdict: result.verdict,
                evidence,
            });
        }
        recording
    }

    /// Issue 15, item 3: the report's "ports found open" is the suite's own section,
    /// read back from the port table it stores: a table per unit, a tile per open port
    /// coloured by its status, and the list for machines.
    #[test]
    fn the_port_table_becomes_the_suites_report_section() {
        let mut scan = answering();
        scan.tcp.push(OpenTcpPort {
            port: 5555,
            finding: Some(finding(5555, Transport::Tcp, Some(Service::Adb))),
        });
        scan.sweep.open.insert(5555);
        let section = crate::found::section(&recorded(decide(&scan, &checks::ALL)))
            .expect("a section from the port table");
        assert_eq!(section.title, "Ports found open");
        assert_eq!(
            section.table.columns,
            ["Unit", "Declared", "Undeclared", "Ignored by the profile"]
        );
        assert_eq!(
            section.table.rows,
            [["unit-1", "22/tcp, 5683/udp", "5555/tcp", "2024/tcp"]]
        );
        let chart = section.chart.expect("a chart");
        assert_eq!(chart.groups.len(), 1);
        assert_eq!(chart.groups[0].label, "unit-1: 1 undeclared of 4 open");
        let adb = &chart.groups[0].tiles[2];
        assert_eq!(adb.label, "5555/tcp");
        assert_eq!(adb.detail, "5555/tcp undeclared (adb)");
        assert_eq!(adb.status, iotcert_suite::report_section::TileStatus::Bad);
        assert_eq!(section.data[0]["unit"], "unit-1");
        assert_eq!(section.data[0]["ports"][2]["port"], 5555);
        assert_eq!(section.data[0]["ports"][2]["status"], "undeclared");
        assert_eq!(section.data[0]["ports"][2]["service"], "adb");
    }

    #[test]
    fn no_port_table_no_section() {
        let results = decide(&answering(), &[checks::BANNER_DISCLOSURE]);
        assert!(crate::found::section(&recorded(results)).is_none());
    }
}
