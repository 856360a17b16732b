//! Every output format comes from the same stored campaign with the same verdict
//! counts, and each is read back by an independent model or a real consumer: SARIF
//! through serde-sarif's typed SARIF 2.1.0 model and Microsoft's sarif-tools, JUnit
//! through quick-junit's reader and junitparser. Also `--fail-on` and `diff`.

mod common;

use common::{campaign_id, iotcert, profile_text};
use serde_sarif::sarif::{ResultKind, ResultLevel, Sarif};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Run the mixed-verdict external suite (PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE and,
/// `with_error`, an undecided check that becomes ERROR); returns the campaign id and
/// the exit code.
fn mixed_campaign(
    data: &Path,
    dir: &Path,
    out: &Path,
    fail_on: &str,
    with_error: bool,
) -> (String, Option<i32>) {
    let profile = dir.join("profile.toml");
    let args: &[&str] = if with_error {
        &["--mixed", "--forget-across"]
    } else {
        &["--mixed"]
    };
    std::fs::write(&profile, profile_text("127.0.0.1", args)).unwrap();
    let output = iotcert(data)
        .arg("run")
        .arg(&profile)
        .arg("--out")
        .arg(out)
        .args(["--fail-on", fail_on])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let id = campaign_id(&stderr).unwrap_or_else(|| panic!("no campaign id in {stderr}"));
    (id, output.status.code())
}

fn counts_from_json(out: &Path) -> BTreeMap<String, u64> {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    ["pass", "fail", "inconclusive", "not_applicable", "error"]
        .iter()
        .map(|k| (k.to_string(), report["summary"][k].as_u64().unwrap()))
        .collect()
}

#[test]
fn every_format_carries_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (_, code) = mixed_campaign(&dir.path().join("data"), dir.path(), &out, "shall", true);
    assert_eq!(code, Some(2), "an ERROR verdict is a harness failure");
    let expected = counts_from_json(&out);
    let want: BTreeMap<String, u64> = [
        ("pass", 1),
        ("fail", 1),
        ("inconclusive", 1),
        ("not_applicable", 1),
        ("error", 1),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v))
    .collect();
    assert_eq!(expected, want);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let level_1 = &json["label_readiness"][0];
    assert_eq!(level_1["met"], false);
    assert!(
        level_1["blockers"].to_string().contains("credentials"),
        "{level_1}"
    );
    // Levels are cumulative: the ones above level 1 name its blockers by reference,
    // not once more each.
    let level_1_blockers: Vec<&str> = level_1["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b.as_str())
        .collect();
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for text in [&markdown, &html] {
        let level_2 = text
            .lines()
            .find(|line| line.contains("Level 2"))
            .expect("a level 2 line");
        assert!(level_2.contains("all that blocks level 1"), "{level_2}");
        for blocker in &level_1_blockers {
            assert!(!level_2.contains(blocker), "{blocker} repeated: {level_2}");
        }
    }

    // SARIF, through an independent typed model.
    let sarif: Sarif =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.sarif")).unwrap()).unwrap();
    assert_eq!(sarif.version, serde_json::json!("2.1.0"));
    let run = &sarif.runs[0];
    let rules: Vec<String> = run
        .tool
        .driver
        .rules
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        rules,
        [
            "ext.across",
            "ext.alpha",
            "ext.beta",
            "ext.delta",
            "ext.gamma"
        ]
    );
    let results = run.results.as_ref().unwrap();
    let mut sarif_counts: BTreeMap<String, u64> = BTreeMap::new();
    for result in results {
        let verdict = result.properties.as_ref().unwrap().additional_properties["verdict"]
            .as_str()
            .unwrap()
            .to_lowercase();
        *sarif_counts.entry(verdict.clone()).or_default() += 1;
        let (kind, level) = (
            result.kind.as_ref().unwrap(),
            result.level.as_ref().unwrap(),
        );
        match verdict.as_str() {
            "pass" => assert!(matches!(kind, ResultKind::Pass)),
            "fail" => assert!(matches!(
                (kind, level),
                (ResultKind::Fail, ResultLevel::Error)
            )),
            "not_applicable" => assert!(matches!(kind, ResultKind::NotApplicable)),
            "inconclusive" => assert!(matches!(
                (kind, level),
                (ResultKind::Open, ResultLevel::Warning)
            )),
            "error" => assert!(matches!(
                (kind, level),
                (ResultKind::Open, ResultLevel::Error)
            )),
            other => panic!("unknown verdict {other}"),
        }
        let location = &result.locations.as_ref().unwrap()[0];
        assert!(location
            .physical_location
            .as_ref()
            .unwrap()
            .artifact_location
            .as_ref()
            .unwrap()
            .uri
            .as_ref()
            .unwrap()
            .ends_with("profile.toml"));
        assert!(location.logical_locations.as_ref().unwrap()[0]
            .name
            .is_some());
        let rule = result.rule_id.as_ref().unwrap();
        assert!(rules.contains(rule));
    }
    assert_eq!(sarif_counts, expected, "SARIF verdict counts");
    let props = &run.tool.driver.rules.as_ref().unwrap()[1]
        .properties
        .as_ref()
        .unwrap()
        .additional_properties;
    assert_eq!(props["en_303_645"], serde_json::json!(["5.6-1"]));

    // JUnit, through quick-junit's reader.
    let xml = std::fs::read_to_string(out.join("report.junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let mut junit_counts: BTreeMap<String, u64> = BTreeMap::new();
    for suite in &junit.test_suites {
        for case in &suite.test_cases {
            let verdict = match &case.status {
                quick_junit::TestCaseStatus::Success { .. } => "pass".to_owned(),
                quick_junit::TestCaseStatus::NonSuccess { ty, .. }
                | quick_junit::TestCaseStatus::Skipped { ty, .. } => {
                    ty.as_ref().unwrap().to_string().to_lowercase()
                }
            };
            *junit_counts.entry(verdict).or_default() += 1;
        }
    }
    assert_eq!(junit_counts, expected, "JUnit verdict counts");

    // Markdown and HTML rows.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let results_table = html
        .split("<table id=\"results\">")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    for (key, verdict) in [
        ("pass", "PASS"),
        ("fail", "FAIL"),
        ("inconclusive", "INCONCLUSIVE"),
        ("not_applicable", "NOT_APPLICABLE"),
        ("error", "ERROR"),
    ] {
        let md_rows = md
            .lines()
            .filter(|l| l.starts_with(&format!("| {verdict} |")))
            .count() as u64;
        assert_eq!(md_rows, expected[key], "Markdown rows for {verdict}");
        let html_rows = results_table
            .matches(&format!("class=\"verdict {verdict}\""))
            .count() as u64;
        assert_eq!(html_rows, expected[key], "HTML rows for {verdict}");
    }
    assert!(
        !html.contains("<b>&amp;</b>"),
        "device text must be escaped in HTML"
    );
    assert!(
        html.contains("&lt;b&gt;"),
        "device text must be escaped in HTML"
    );

    // Real consumers.
    let python = |code: &str, file: &Path| {
        let output = Command::new("python3")
            .args(["-c", code])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "python consumer failed (pip install sarif-tools junitparser; scripts/test does): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let junit_seen = python(
        "import sys, junitparser\nx = junitparser.JUnitXml.fromfile(sys.argv[1])\nprint(sum(s.tests for s in x), sum(s.failures for s in x), sum(s.errors for s in x), sum(s.skipped for s in x))",
        &out.join("report.junit.xml"),
    );
    assert_eq!(
        junit_seen.trim(),
        "5 1 1 2",
        "junitparser: tests failures errors skipped"
    );
    let sarif_seen = python(
        "import sys\nfrom sarif import loader\nf = loader.load_sarif_file(sys.argv[1])\nprint(len(f.get_results()), sorted(f.get_distinct_tool_names()))",
        &out.join("report.sarif"),
    );
    assert_eq!(sarif_seen.trim(), "5 ['iotcert']", "sarif-tools");
}

#[test]
fn fail_on_chooses_what_fails_the_job_but_never_hides_a_harness_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = |fail_on: &str, with_error: bool| {
        let data = dir.path().join(format!("data-{fail_on}-{with_error}"));
        mixed_campaign(
            &data,
            dir.path(),
            &dir.path().join("out"),
            fail_on,
            with_error,
        )
        .1
    };
    // FAIL and INCONCLUSIVE on shall checks, no ERROR:
    assert_eq!(run("shall", false), Some(1));
    assert_eq!(run("fail", false), Some(1));
    assert_eq!(run("inconclusive", false), Some(1));
    assert_eq!(run("never", false), Some(0));
    // The external suite is no scheme suite: level 1 (credentials + update) is not met.
    assert_eq!(run("level-1", false), Some(1));
    assert_eq!(
        run("never", true),
        Some(2),
        "ERROR stays exit 2 whatever the policy"
    );
    let profile = dir.path().join("passing.toml");
    std::fs::write(&profile, profile_text("127.0.0.1", &[])).unwrap();
    let passing = iotcert(&dir.path().join("data-pass"))
        .arg("run")
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(passing.status.code(), Some(0));
}

#[test]
fn diff_reports_regressions_between_two_campaigns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let profile = dir.path().join("good.toml");
    std::fs::write(&profile, profile_text("127.0.0.1", &[])).unwrap();
    let good = iotcert(&data).arg("run").arg(&profile).output().unwrap();
    let good_id = campaign_id(&String::from_utf8_lossy(&good.stderr)).unwrap();
    let (bad_id, _) = mixed_campaign(&data, dir.path(), &dir.path().join("out"), "shall", true);
    let diff = iotcert(&data)
        .args(["diff", &good_id, &bad_id, "--json"])
        .output()
        .unwrap();
    assert_eq!(diff.status.code(), Some(1), "regressions exit 1");
    let diff: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    let regressed: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["regression"] == true)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(regressed, ["ext.across", "ext.beta", "ext.gamma"]);
    let same = iotcert(&data)
        .args(["diff", &good_id, &good_id])
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0));
}

/// A report shows a preview of each evidence item; `iotcert evidence` exports the
/// stored item whole, only for the campaign that recorded it.
#[test]
fn stored_evidence_is_exported_whole_by_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    let (id, _) = mixed_campaign(&data, dir.path(), &out, "never", false);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let alpha = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "ext.alpha")
        .unwrap();
    assert_eq!(alpha["verdict"], "PASS");
    assert_eq!(alpha["proof"], "the fixture observed its positive control");
    assert_eq!(alpha["positive_control"], "the test fixture decided it");
    let sha256 = alpha["evidence"][0]["sha256"].as_str().unwrap();
    let exported = dir.path().join("evidence.bin");
    let status = iotcert(&data)
        .args(["evidence", &id, sha256, "-o"])
        .arg(&exported)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(std::fs::read(&exported).unwrap(), b"decided ext.alpha");
    let unknown = iotcert(&data)
        .args(["evidence", &id, &"0".repeat(64)])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no evidence"));
}
