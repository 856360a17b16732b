//! SARIF 2.1.0 rendering of a report, for code-scanning dashboards.
//!
//! The document is built from the typed structs below, each a SARIF object with only
//! the properties iotcert fills, so that a property the schema does not know, or a
//! `null` where it wants a string, cannot be written by accident. The tests check the
//! output against the OASIS schema and Microsoft's SARIF multitool.
//!
//! Rules are the checks (with their provisions in `properties`), results are every
//! decided check. Only a FAIL is `kind: fail`, with level `error` for shall and
//! `warning` for should; every other kind has level `none`, as SARIF 2.1.0 §3.27.10
//! requires: PASS is `pass`, NOT_APPLICABLE `notApplicable`, INCONCLUSIVE and ERROR
//! `open` (the check could not be decided). An ERROR is the harness's failure, not the
//! device's, so it is also a tool execution notification of level `error` and makes
//! the invocation unsuccessful.
//!
//! Each result is located physically in the profile file (the artifact that describes
//! the device under test; the region is its first line, as dashboards need a region to
//! place a result and nothing finer is known) and logically at the sample unit.

use crate::report::{Report, ReportResult};
use iotcert_suite::{Modal, Standards, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;

/// The schema the document declares: the OASIS standard's, errata 01.
const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// Where a reader of a SARIF dashboard learns about the tool: the project's home, on
/// the same placeholder domain as the default scheme's `label_url`.
const TOOL_INFORMATION_URI: &str = "https://iotcert.example/";
/// The key of the fingerprint that identifies a result across campaigns.
const FINGERPRINT: &str = "iotcertCheckUnit/v1";

/// A SARIF log (§3.13).
#[derive(Debug, Serialize)]
pub struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

/// One campaign (§3.14).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    automation_details: AutomationDetails,
    results: Vec<SarifResult>,
    properties: RunProperties,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

/// The tool component that ran (§3.19).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: String,
    version: String,
    semantic_version: String,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

/// A check, as SARIF's reporting descriptor (§3.49).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Message,
    help: Message,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Debug, Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    modal: Modal,
    #[serde(flatten)]
    standards: Standards,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: Level,
}

#[derive(Debug, Serialize)]
struct Message {
    text: String,
}

/// §3.27.10: `none` for every kind but `fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum Level {
    None,
    Warning,
    Error,
}

/// §3.27.9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum Kind {
    Pass,
    Fail,
    Open,
    NotApplicable,
}

/// §3.20.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    start_time_utc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time_utc: Option<String>,
    tool_execution_notifications: Vec<Notification>,
}

/// §3.58.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    level: Level,
    message: Message,
    associated_rule: RuleReference,
}

/// §3.52.
#[derive(Debug, Serialize)]
struct RuleReference {
    id: String,
    index: usize,
}

/// §3.17.
#[derive(Debug, Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Debug, Serialize)]
struct RunProperties {
    campaign: String,
    profile_digest: String,
    device: iotcert_suite::profile::DeviceIdentity,
    outcome: String,
}

/// One decided check on one unit (§3.27).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    kind: Kind,
    level: Level,
    message: Message,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: ResultProperties,
}

#[derive(Debug, Serialize)]
struct ResultProperties {
    verdict: Verdict,
    unit: Option<String>,
    evidence: Vec<EvidenceProperty>,
}

#[derive(Debug, Serialize)]
struct EvidenceProperty {
    label: String,
    sha256: String,
}

/// §3.28.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    logical_locations: Vec<LogicalLocation>,
}

/// §3.29.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

/// §3.4.
#[derive(Debug, Serialize)]
struct ArtifactLocation {
    uri: String,
}

/// §3.30.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

/// §3.33.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

/// The SARIF document of `report`.
pub fn render(report: &Report) -> SarifLog {
    let mut rule_ids: Vec<&str> = Vec::new();
    let mut rules = Vec::new();
    for result in &report.results {
        if rule_ids.contains(&result.check.as_str()) {
            continue;
        }
        rule_ids.push(&result.check);
        rules.push(rule(result));
    }
    let rule_index = |check: &str| rule_ids.iter().position(|id| *id == check).unwrap_or(0);
    let results = report
        .results
        .iter()
        .map(|result| sarif_result(report, result, rule_index(&result.check)))
        .collect();
    let notifications = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .map(|r| Notification {
            level: Level::Error,
            message: Message {
                text: format!("{} on {}: {}", r.check, unit_name(r), r.summary),
            },
            associated_rule: RuleReference {
                id: r.check.clone(),
                index: rule_index(&r.check),
            },
        })
        .collect();
    SarifLog {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: report.tool.name.clone(),
                    version: report.tool.version.clone(),
                    semantic_version: report.tool.version.clone(),
                    information_uri: TOOL_INFORMATION_URI,
                    rules,
                },
            },
            invocations: vec![Invocation {
                execution_successful: report.summary.error == 0,
                start_time_utc: rfc3339(report.campaign.started_at),
                end_time_utc: report.campaign.finished_at.map(rfc3339),
                tool_execution_notifications: notifications,
            }],
            automation_details: AutomationDetails {
                id: format!("iotcert/{}/", report.campaign.id),
            },
            results,
            properties: RunProperties {
                campaign: report.campaign.id.clone(),
                profile_digest: report.campaign.profile_digest.clone(),
                device: report.device.clone(),
                outcome: report.summary.outcome.clone(),
            },
        }],
    }
}

fn rule(result: &ReportResult) -> Rule {
    let level = match result.modal {
        Modal::Shall => Level::Error,
        Modal::Should => Level::Warning,
    };
    let mut tags: Vec<String> = vec!["security".to_owned(), "iot".to_owned()];
    tags.extend(
        result
            .standards
            .en_303_645
            .iter()
            .map(|p| format!("EN-303-645/{p}")),
    );
    Rule {
        id: result.check.clone(),
        name: rule_name(&result.check),
        short_description: Message {
            text: result.title.clone(),
        },
        help: Message {
            text: result
                .remediation
                .clone()
                .unwrap_or_else(|| result.title.clone()),
        },
        default_configuration: Configuration { level },
        properties: RuleProperties {
            tags,
            modal: result.modal,
            standards: result.standards.clone(),
        },
    }
}

/// The kind and level of a verdict: only a FAIL has a severity (§3.27.10).
fn kind_and_level(verdict: Verdict, modal: Modal) -> (Kind, Level) {
    match (verdict, modal) {
        (Verdict::Fail, Modal::Shall) => (Kind::Fail, Level::Error),
        (Verdict::Fail, Modal::Should) => (Kind::Fail, Level::Warning),
        (Verdict::Pass, _) => (Kind::Pass, Level::None),
        (Verdict::NotApplicable, _) => (Kind::NotApplicable, Level::None),
        (Verdict::Inconclusive | Verdict::Error, _) => (Kind::Open, Level::None),
    }
}

fn sarif_result(report: &Report, result: &ReportResult, rule_index: usize) -> SarifResult {
    let (kind, level) = kind_and_level(result.verdict, result.modal);
    let unit = unit_name(result);
    SarifResult {
        rule_id: result.check.clone(),
        rule_index,
        kind,
        level,
        message: Message {
            text: format!("{}: {}", result.verdict, result.summary),
        },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: file_uri(&report.campaign.profile_path),
                },
                region: Region { start_line: 1 },
            },
            logical_locations: vec![LogicalLocation {
                name: unit.to_owned(),
                fully_qualified_name: format!(
                    "{}/{}/{}",
                    report.device.manufacturer, report.device.model, unit
                ),
                kind: "device",
            }],
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT, format!("{}:{unit}", result.check))]),
        properties: ResultProperties {
            verdict: result.verdict,
            unit: result.unit.clone(),
            evidence: result
                .evidence
                .iter()
                .map(|e| EvidenceProperty {
                    label: e.label.clone(),
                    sha256: e.sha256.clone(),
                })
                .collect(),
        },
    }
}

/// The profile's path as a URI reference (RFC 3986): an absolute path becomes a
/// `file://` URI, a relative one stays relative; bytes outside the unreserved set and
/// `/` are percent-encoded.
fn file_uri(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        encoded.push_str("file://");
    }
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(char::from(byte))
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

fn unit_name(result: &ReportResult) -> &str {
    result.unit.as_deref().unwrap_or("all-units")
}

/// `ports.undeclared-open-port` to `PortsUndeclaredOpenPort`, as SARIF rule names go.
fn rule_name(check: &str) -> String {
    check
        .split(['.', '-'])
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fail_has_a_severity() {
        for verdict in [
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Inconclusive,
            Verdict::NotApplicable,
            Verdict::Error,
        ] {
            for modal in [Modal::Shall, Modal::Should] {
                let (kind, level) = kind_and_level(verdict, modal);
                assert_eq!(
                    kind == Kind::Fail,
                    level != Level::None,
                    "{verdict:?} {modal:?}"
                );
            }
        }
    }

    #[test]
    fn profile_paths_become_uri_references() {
        assert_eq!(
            file_uri("/tmp/a b/p%1.toml"),
            "file:///tmp/a%20b/p%251.toml"
        );
        assert_eq!(
            file_uri("examples/testbed-insecure.toml"),
            "examples/testbed-insecure.toml"
        );
        assert_eq!(file_uri("/d/é#?.toml"), "file:///d/%C3%A9%23%3F.toml");
    }
}
