//! SARIF 2.1.0 rendering of a report, for code-scanning dashboards.
//!
//! Rules are the checks (with their provisions in `properties`), results are every
//! decided check: FAIL as `kind: fail` (level `error` for shall, `warning` for should),
//! PASS as `pass`, NOT_APPLICABLE as `notApplicable`, INCONCLUSIVE as `open`, ERROR as
//! `open` with level `error` plus a tool execution notification. Each result is located
//! at the profile file (the artifact under test is described there) and logically at
//! the sample unit.

use crate::report::{Report, ReportResult};
use iotcert_suite::{Modal, Verdict};
use serde_json::{json, Value};

/// The SARIF document of `report`.
pub fn render(report: &Report) -> Value {
    let mut rule_ids: Vec<&str> = Vec::new();
    let mut rules = Vec::new();
    for result in &report.results {
        if rule_ids.contains(&result.check.as_str()) {
            continue;
        }
        rule_ids.push(&result.check);
        rules.push(rule(result));
    }
    let results: Vec<Value> = report
        .results
        .iter()
        .map(|result| {
            let index = rule_ids
                .iter()
                .position(|id| *id == result.check)
                .unwrap_or(0);
            sarif_result(report, result, index)
        })
        .collect();
    let notifications: Vec<Value> = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .map(|r| {
            json!({
                "level": "error",
                "message": {"text": format!("{} on {}: {}", r.check, unit_name(r), r.summary)},
                "associatedRule": {"id": r.check},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.summary.error == 0,
                "startTimeUtc": rfc3339(report.campaign.started_at),
                "endTimeUtc": report.campaign.finished_at.map(rfc3339),
                "toolExecutionNotifications": notifications,
            }],
            "automationDetails": {"id": format!("iotcert/{}/", report.campaign.id)},
            "results": results,
            "properties": {
                "campaign": report.campaign.id,
                "profile_digest": report.campaign.profile_digest,
                "device": report.device,
                "outcome": report.summary.outcome,
            },
        }],
    })
}

fn rule(result: &ReportResult) -> Value {
    let level = match result.modal {
        Modal::Shall => "error",
        Modal::Should => "warning",
    };
    let mut tags: Vec<String> = vec!["security".to_owned(), "iot".to_owned()];
    tags.extend(
        result
            .standards
            .en_303_645
            .iter()
            .map(|p| format!("EN-303-645/{p}")),
    );
    json!({
        "id": result.check,
        "name": rule_name(&result.check),
        "shortDescription": {"text": result.title},
        "help": {"text": result.remediation.clone().unwrap_or_else(|| result.title.clone())},
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": tags,
            "modal": result.modal,
            "en_303_645": result.standards.en_303_645,
            "ts_103_701": result.standards.ts_103_701,
            "owasp_isvs": result.standards.owasp_isvs,
            "owasp_iot_top10": result.standards.owasp_iot_top10,
        },
    })
}

fn sarif_result(report: &Report, result: &ReportResult, rule_index: usize) -> Value {
    let (kind, level) = match (result.verdict, result.modal) {
        (Verdict::Pass, _) => ("pass", "none"),
        (Verdict::Fail, Modal::Shall) => ("fail", "error"),
        (Verdict::Fail, Modal::Should) => ("fail", "warning"),
        (Verdict::Inconclusive, _) => ("open", "warning"),
        (Verdict::NotApplicable, _) => ("notApplicable", "none"),
        (Verdict::Error, _) => ("open", "error"),
    };
    let unit = unit_name(result);
    json!({
        "ruleId": result.check,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": format!("{}: {}", result.verdict, result.summary)},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": report.campaign.profile_path}},
            "logicalLocations": [{
                "name": unit,
                "fullyQualifiedName": format!("{}/{}/{}", report.device.manufacturer, report.device.model, unit),
                "kind": "device",
            }],
        }],
        "partialFingerprints": {"iotcertCheckUnit/v1": format!("{}:{}", result.check, unit)},
        "properties": {
            "verdict": result.verdict,
            "unit": result.unit,
            "evidence": result.evidence.iter().map(|e| json!({"label": e.label, "sha256": e.sha256})).collect::<Vec<_>>(),
        },
    })
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
