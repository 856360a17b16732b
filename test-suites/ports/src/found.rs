//! The suite's part of the campaign report: the ports found open on each unit, as a
//! table (declared, undeclared, ignored by the profile), a chart of one tile per port,
//! and the list for machines. It is read back from the port table the undeclared-port
//! check stores as evidence; this crate writes that table (`report`), so only this crate
//! reads it, and the harness draws the section without knowing its format.

use crate::checks::UNDECLARED_OPEN_PORT;
use crate::report::port_table_label;
use iotcert_suite::report_section::{SectionTable, Tile, TileChart, TileGroup, TileStatus};
use iotcert_suite::{Recorded, ReportSection};
use serde::{Deserialize, Serialize};

/// The port table evidence, as far as the section reads it.
#[derive(Deserialize)]
struct PortTableView {
    unit: String,
    #[serde(default)]
    open_tcp: Vec<PortRowView>,
    #[serde(default)]
    udp: Vec<PortRowView>,
}

#[derive(Deserialize)]
struct PortRowView {
    port: u16,
    transport: String,
    state: String,
    status: String,
    #[serde(default)]
    service: Option<String>,
}

/// The open ports of one unit: the section's data, one entry per unit.
#[derive(Serialize)]
struct UnitPorts {
    unit: String,
    ports: Vec<FoundPort>,
}

/// One open port: `status` is `declared`, `undeclared` or `ignored` (by the profile);
/// `service` is what the suite identified on it.
#[derive(Serialize)]
struct FoundPort {
    port: u16,
    transport: String,
    status: String,
    service: Option<String>,
}

impl FoundPort {
    fn name(&self) -> String {
        format!("{}/{}", self.port, self.transport)
    }
}

/// The section "Ports found open", when the campaign recorded a port table of some
/// unit. A table that does not parse is left out: the section is a view of the
/// evidence, which stays in the report either way.
pub fn section(recorded: &dyn Recorded) -> Option<ReportSection> {
    let units = units_found(recorded);
    if units.is_empty() {
        return None;
    }
    let rows = units
        .iter()
        .map(|unit| {
            let of = |status: &str| {
                unit.ports
                    .iter()
                    .filter(|port| port.status == status)
                    .map(FoundPort::name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                unit.unit.clone(),
                of("declared"),
                of("undeclared"),
                of("ignored"),
            ]
        })
        .collect();
    let groups = units.iter().map(tiles).collect();
    Some(ReportSection {
        title: "Ports found open".to_owned(),
        table: SectionTable {
            columns: ["Unit", "Declared", "Undeclared", "Ignored by the profile"]
                .map(str::to_owned)
                .to_vec(),
            rows,
        },
        chart: Some(TileChart {
            caption: "Ports found open per unit (green declared, red undeclared, grey ignored by the profile)".to_owned(),
            groups,
        }),
        data: serde_json::to_value(&units).unwrap_or_default(),
    })
}

/// Each unit's open ports, from the port table stored with its undeclared-port result.
fn units_found(recorded: &dyn Recorded) -> Vec<UnitPorts> {
    let mut found = Vec::new();
    for result in recorded.results() {
        let Some(unit) = result.unit.as_deref() else {
            continue;
        };
        if result.check != UNDECLARED_OPEN_PORT {
            continue;
        }
        let label = port_table_label(unit);
        let Some(evidence) = result.evidence.iter().find(|e| e.label == label) else {
            continue;
        };
        let Some(bytes) = recorded.evidence(&evidence.sha256) else {
            continue;
        };
        let Ok(table) = serde_json::from_slice::<PortTableView>(&bytes) else {
            continue;
        };
        let ports = table
            .open_tcp
            .into_iter()
            .chain(table.udp)
            .filter(|row| row.state == "open")
            .map(|row| FoundPort {
                port: row.port,
                transport: row.transport,
                status: row.status,
                service: row.service,
            })
            .collect();
        found.push(UnitPorts {
            unit: table.unit,
            ports,
        });
    }
    found
}

/// A unit's row of the chart: one tile per open port, coloured by its status.
fn tiles(unit: &UnitPorts) -> TileGroup {
    let undeclared = unit
        .ports
        .iter()
        .filter(|port| port.status == "undeclared")
        .count();
    TileGroup {
        label: format!(
            "{}: {undeclared} undeclared of {} open",
            unit.unit,
            unit.ports.len()
        ),
        tiles: unit
            .ports
            .iter()
            .map(|port| Tile {
                label: port.name(),
                status: match port.status.as_str() {
                    "declared" => TileStatus::Good,
                    "undeclared" => TileStatus::Bad,
                    _ => TileStatus::Neutral,
                },
                detail: match &port.service {
                    Some(service) => format!("{} {} ({service})", port.name(), port.status),
                    None => format!("{} {}", port.name(), port.status),
                },
            })
            .collect(),
    }
}
