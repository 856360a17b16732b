//! JUnit XML rendering of a report, for CI dashboards.
//!
//! One test suite per iotcert suite, one test case per check and unit. FAIL is a
//! failure and ERROR an error; INCONCLUSIVE and NOT_APPLICABLE are skipped, with the
//! verdict as the type and the reason as the message, so no verdict is lost and the
//! counts per verdict can be read back.

use crate::report::Report;
use iotcert_suite::Verdict;
use quick_junit::{
    NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// The JUnit XML document of `report`.
pub fn render(report: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut junit = JunitReport::new(format!("iotcert {}", report.campaign.id));
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    let class = format!("{}.{}", report.device.manufacturer, report.device.model).replace(' ', "_");
    for result in &report.results {
        let suite = suites.entry(result.suite.as_str()).or_insert_with(|| {
            let mut suite = TestSuite::new(result.suite.clone());
            suite.add_property(Property::new("campaign", report.campaign.id.clone()));
            suite.add_property(Property::new(
                "firmware_version",
                report.device.firmware_version.clone(),
            ));
            suite
        });
        let name = format!(
            "{} [{}]",
            result.check,
            result.unit.as_deref().unwrap_or("all units")
        );
        let message = format!("{}: {}", result.verdict, result.summary);
        let status = match result.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::Fail => non_success(NonSuccessKind::Failure, result.verdict, &message),
            Verdict::Error => non_success(NonSuccessKind::Error, result.verdict, &message),
            Verdict::Inconclusive | Verdict::NotApplicable => {
                let mut status = TestCaseStatus::skipped();
                if let TestCaseStatus::Skipped { message: m, ty, .. } = &mut status {
                    *m = Some(message.clone().into());
                    *ty = Some(result.verdict.as_str().into());
                }
                status
            }
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(format!("{class}.{}", result.suite));
        case.set_time(Duration::ZERO);
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
        case.set_system_out(detail.join("\n"));
        suite.add_test_case(case);
    }
    junit.add_test_suites(suites.into_values());
    junit.to_string()
}

fn non_success(kind: NonSuccessKind, verdict: Verdict, message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    if let TestCaseStatus::NonSuccess { message: m, ty, .. } = &mut status {
        *m = Some(message.into());
        *ty = Some(verdict.as_str().into());
    }
    status
}
