//! JUnit XML rendering of a report, for CI dashboards.
//!
//! One test suite per iotcert suite, one test case per check and unit. FAIL is a
//! failure and ERROR an error; INCONCLUSIVE and NOT_APPLICABLE are skipped, with the
//! verdict as the type and the reason as the message, so no verdict is lost and the
//! counts per verdict can be read back.
//!
//! The document keeps to the JUnit schema CI servers check it against (Jenkins'
//! `junit-10.xsd`): `<testsuites>` carries no `skipped` count (each `<testsuite>` does),
//! which is why it is written here rather than by a general JUnit library. Text a device
//! or a profile chose has its control characters shown as escapes (`\u{1b}`): most of
//! them cannot be carried by XML 1.0 at all.
//!
//! Durations: the store records when each result was decided, not when its check
//! started, so a test case's `time` is the time its suite took since its previous
//! result (since the campaign started, for its first): the suite's wall-clock time
//! shared out between its results in the order they were decided. A suite's test cases
//! add up to its time in the report's `timings`.

use crate::output::printable;
use crate::report::{Report, ReportResult};
use iotcert_suite::Verdict;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::collections::BTreeMap;
use std::io;
use time::OffsetDateTime;

/// The JUnit XML document of `report`.
pub fn render(report: &Report) -> io::Result<String> {
    let seconds = durations(report);
    let mut suites: BTreeMap<&str, Vec<(&ReportResult, f64)>> = BTreeMap::new();
    for (result, seconds) in report.results.iter().zip(seconds) {
        suites
            .entry(result.suite.as_str())
            .or_default()
            .push((result, seconds));
    }
    let class = format!("{}.{}", report.device.manufacturer, report.device.model).replace(' ', "_");
    let count = |results: &[(&ReportResult, f64)], verdict: Verdict| {
        results.iter().filter(|(r, _)| r.verdict == verdict).count()
    };

    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 4);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut totals = vec![
        ("name", text(&format!("iotcert {}", report.campaign.id))),
        ("tests", report.results.len().to_string()),
        ("failures", report.summary.fail.to_string()),
        ("errors", report.summary.error.to_string()),
    ];
    // The campaign's wall-clock time: its suites run side by side.
    if let Some(finished) = report.campaign.finished_at {
        let campaign_seconds = (finished - report.campaign.started_at).as_seconds_f64();
        totals.push(("time", format!("{:.3}", campaign_seconds.max(0.0))));
    }
    writer
        .create_element("testsuites")
        .with_attributes(totals.iter().map(|(k, v)| (*k, v.as_str())))
        .write_inner_content(|writer| {
            for (suite, results) in &suites {
                let suite_seconds: f64 = results.iter().map(|(_, seconds)| seconds).sum();
                let skipped =
                    count(results, Verdict::Inconclusive) + count(results, Verdict::NotApplicable);
                writer
                    .create_element("testsuite")
                    .with_attribute(("name", text(suite).as_str()))
                    .with_attribute(("tests", results.len().to_string().as_str()))
                    .with_attribute((
                        "failures",
                        count(results, Verdict::Fail).to_string().as_str(),
                    ))
                    .with_attribute((
                        "errors",
                        count(results, Verdict::Error).to_string().as_str(),
                    ))
                    .with_attribute(("skipped", skipped.to_string().as_str()))
                    .with_attribute(("time", format!("{suite_seconds:.3}").as_str()))
                    .write_inner_content(|writer| {
                        writer
                            .create_element("properties")
                            .write_inner_content(|writer| {
                                property(writer, "campaign", &report.campaign.id)?;
                                property(
                                    writer,
                                    "firmware_version",
                                    &report.device.firmware_version,
                                )
                            })?;
                        for (result, seconds) in results {
                            test_case(writer, result, &class, *seconds)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut xml = String::from_utf8(writer.into_inner())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    xml.push('\n');
    Ok(xml)
}

fn property(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element("property")
        .with_attribute(("name", name))
        .with_attribute(("value", text(value).as_str()))
        .write_empty()?;
    Ok(())
}

fn test_case(
    writer: &mut Writer<Vec<u8>>,
    result: &ReportResult,
    class: &str,
    seconds: f64,
) -> io::Result<()> {
    let name = format!(
        "{} [{}]",
        result.check,
        result.unit.as_deref().unwrap_or("all units")
    );
    let message = text(&format!("{}: {}", result.verdict, result.summary));
    let status = match result.verdict {
        Verdict::Pass => None,
        Verdict::Fail => Some("failure"),
        Verdict::Error => Some("error"),
        Verdict::Inconclusive | Verdict::NotApplicable => Some("skipped"),
    };
    let mut detail = vec![
        format!(
            "provisions: EN 303 645 {}",
            result.standards.en_303_645.join(", ")
        ),
        format!("TS 103 701 {}", result.standards.ts_103_701.join(", ")),
    ];
    if let Some(remediation) = &result.remediation {
        detail.push(format!("remediation: {remediation}"));
    }
    for evidence in &result.evidence {
        detail.push(format!(
            "evidence: {} sha256 {}",
            evidence.label, evidence.sha256
        ));
    }
    let detail = text(&detail.join("\n"));
    writer
        .create_element("testcase")
        .with_attribute(("name", text(&name).as_str()))
        .with_attribute((
            "classname",
            text(&format!("{class}.{}", result.suite)).as_str(),
        ))
        .with_attribute(("time", format!("{seconds:.3}").as_str()))
        .write_inner_content(|writer| {
            if let Some(status) = status {
                writer
                    .create_element(status)
                    .with_attribute(("type", result.verdict.as_str()))
                    .with_attribute(("message", message.as_str()))
                    .write_empty()?;
            }
            writer
                .create_element("system-out")
                .write_text_content(BytesText::new(&detail))?;
            Ok(())
        })?;
    Ok(())
}

/// Text for the document: control characters shown, never raw.
fn text(value: &str) -> String {
    printable(value)
}

/// Seconds per result, in the order of `report.results`: from the previous result of
/// the same suite (or the campaign's start) to this one.
fn durations(report: &Report) -> Vec<f64> {
    let mut order: Vec<usize> = (0..report.results.len()).collect();
    order.sort_by_key(|&i| {
        report
            .results
            .get(i)
            .map(|r| (r.suite.as_str(), r.recorded_at))
    });
    let mut seconds = vec![0.0; report.results.len()];
    let mut previous: Option<(&str, OffsetDateTime)> = None;
    for i in order {
        let Some(result) = report.results.get(i) else {
            continue;
        };
        let since = match previous {
            Some((suite, at)) if suite == result.suite => at,
            _ => report.campaign.started_at,
        };
        if let Some(slot) = seconds.get_mut(i) {
            *slot = (result.recorded_at - since).as_seconds_f64().max(0.0);
        }
        previous = Some((result.suite.as_str(), result.recorded_at.max(since)));
    }
    seconds
}
