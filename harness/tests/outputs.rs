//! Every output format comes from the same stored campaign with the same verdict
//! counts, and each is read back by an independent model or a real consumer: SARIF
//! through serde-sarif's typed SARIF 2.1.0 model and Microsoft's sarif-tools, JUnit
//! through quick-junit's reader and junitparser. SARIF validates against the OASIS
//! schema and Microsoft's SARIF multitool, JUnit against Jenkins' `junit-10.xsd` (both
//! vendored in `tests/fixtures/schemas/`). Text a device or a profile chose stays text in
//! Markdown and shows its control characters in every report. Also `--fail-on` and
//! `diff`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{campaign_id, iotcert, profile_text};
use iotcert::render::{render, Format};
use serde_json::Value;
use serde_sarif::sarif::{ResultKind, ResultLevel, Sarif};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

/// Run python3 `code` with `files` as its arguments; its standard output.
fn python(code: &str, files: &[&Path]) -> String {
    let output = Command::new("python3")
        .args(["-c", code])
        .args(files)
        .output()
        .expect("python3 runs (scripts/test installs it)");
    assert!(
        output.status.success(),
        "python consumer failed (pip install sarif-tools junitparser jsonschema; scripts/test does): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
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
            // SARIF 2.1.0 §3.27.10: only `kind: fail` has a severity.
            "inconclusive" | "error" => assert!(matches!(
                (kind, level),
                (ResultKind::Open, ResultLevel::None)
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
    let junit_seen = python(
        "import sys, junitparser\nx = junitparser.JUnitXml.fromfile(sys.argv[1])\nprint(sum(s.tests for s in x), sum(s.failures for s in x), sum(s.errors for s in x), sum(s.skipped for s in x))",
        &[&out.join("report.junit.xml")],
    );
    assert_eq!(
        junit_seen.trim(),
        "5 1 1 2",
        "junitparser: tests failures errors skipped"
    );
    let sarif_seen = python(
        "import sys\nfrom sarif import loader\nf = loader.load_sarif_file(sys.argv[1])\nprint(len(f.get_results()), sorted(f.get_distinct_tool_names()))",
        &[&out.join("report.sarif")],
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

/// The vendored schemas the outputs are checked against (see the folder's README).
fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validates argv[1] against the JSON schema argv[2], one line per violation; and checks
/// the validator is live: a copy with a level SARIF does not define must be refused.
const JSON_SCHEMA_CHECK: &str = r#"
import copy, json, sys, jsonschema
document = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
for error in validator.iter_errors(document):
    print(error.json_path, error.message[:300])
broken = copy.deepcopy(document)
broken["runs"][0]["results"][0]["level"] = "severe"
if validator.is_valid(broken):
    print("the validator accepted a level SARIF does not define")
"#;

/// The findings of Microsoft's SARIF multitool on `sarif` (errors and warnings, its
/// default), as `RULE: where` lines.
fn multitool_findings(sarif: &Path, dir: &Path) -> Vec<String> {
    let log = dir.join("multitool.sarif");
    let output = Command::new("sarif-multitool")
        .arg("validate")
        .arg(sarif)
        .arg("--output")
        .arg(&log)
        .args(["--log", "ForceOverwrite"])
        .output()
        .expect(
            "sarif-multitool runs (npm install -g @microsoft/sarif-multitool; scripts/test does)",
        );
    assert!(
        output.status.success(),
        "sarif-multitool: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    read_json(&log)["runs"][0]["results"]
        .as_array()
        .expect("the multitool's log has results")
        .iter()
        .map(|r| format!("{}: {}", r["ruleId"], r["message"]["arguments"]))
        .collect()
}

/// Issue 14, item 16: the SARIF is SARIF 2.1.0 as the standard has it. The OASIS schema
/// accepts it; only `kind: fail` carries a severity (§3.27.10); every result has a
/// region to be placed at; the tool says where to learn about it; and Microsoft's SARIF
/// multitool finds no error or warning in it.
#[test]
fn sarif_keeps_to_the_standard() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    mixed_campaign(&dir.path().join("data"), dir.path(), &out, "shall", true);
    let sarif_path = out.join("report.sarif");
    let schema = schemas().join("sarif-schema-2.1.0.json");
    let violations = python(JSON_SCHEMA_CHECK, &[&sarif_path, &schema]);
    assert_eq!(violations, "", "OASIS SARIF 2.1.0 schema");

    let sarif = read_json(&sarif_path);
    let run = &sarif["runs"][0];
    let information = run["tool"]["driver"]["informationUri"].as_str();
    assert!(
        information.is_some_and(|uri| uri.starts_with("https://")),
        "informationUri: {information:?}"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for result in results {
        let kind = result["kind"].as_str().unwrap_or("fail");
        let level = result["level"].as_str().unwrap_or("none");
        assert!(
            kind == "fail" || level == "none",
            "§3.27.10: kind {kind} with level {level}"
        );
        let location = &result["locations"][0]["physicalLocation"];
        assert!(
            location["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l >= 1),
            "no region: {location}"
        );
        assert!(
            location["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with("file:///") && uri.ends_with("/profile.toml")),
            "an absolute path is a file URI: {location}"
        );
    }

    let findings = multitool_findings(&sarif_path, dir.path());
    assert!(findings.is_empty(), "SARIF multitool: {findings:#?}");
    // The multitool is live: a driver without informationUri is a warning to it.
    let mut without_uri = sarif.clone();
    if let Some(driver) = without_uri["runs"][0]["tool"]["driver"].as_object_mut() {
        driver.remove("informationUri");
    }
    let control = dir.path().join("control.sarif");
    std::fs::write(&control, without_uri.to_string()).unwrap();
    let findings = multitool_findings(&control, dir.path());
    assert!(
        findings.iter().any(|f| f.contains("SARIF2005")),
        "{findings:#?}"
    );
}

/// `xmllint --schema XSD FILE`: its verdict and what it said.
fn xmllint(xsd: &Path, file: &Path) -> (bool, String) {
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(file)
        .output()
        .expect("xmllint runs (apt-get install libxml2-utils; scripts/test does)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Issue 14, item 17: the JUnit XML validates against Jenkins' `junit-10.xsd`, and its
/// test cases carry real durations: each suite's cases add up to the suite's time in the
/// report (from the campaign's start to its last result), which is more than nothing.
#[test]
fn junit_keeps_to_the_jenkins_schema_with_real_durations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    mixed_campaign(&dir.path().join("data"), dir.path(), &out, "shall", true);
    let xml_path = out.join("report.junit.xml");
    let xsd = schemas().join("junit-10.xsd");
    let (valid, said) = xmllint(&xsd, &xml_path);
    assert!(valid, "junit-10.xsd: {said}");
    // xmllint is live: the attribute the schema refuses on <testsuites> is refused.
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let control = dir.path().join("control.xml");
    std::fs::write(
        &control,
        xml.replacen("<testsuites ", "<testsuites skipped=\"1\" ", 1),
    )
    .unwrap();
    assert!(
        !xmllint(&xsd, &control).0,
        "xmllint accepted a refused attribute"
    );

    let report = read_json(&out.join("report.json"));
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert!(!junit.test_suites.is_empty());
    for suite in &junit.test_suites {
        let cases: f64 = suite
            .test_cases
            .iter()
            .map(|case| case.time.expect("every test case has a time").as_secs_f64())
            .sum();
        let timing = report["timings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["suite"] == suite.name.as_str())
            .and_then(|t| t["seconds"].as_f64())
            .unwrap();
        assert!(timing > 0.0, "{timing}");
        let rounding = 0.001 * (suite.test_cases.len() as f64 + 1.0);
        assert!(
            (cases - timing).abs() <= rounding,
            "suite {:?}: test cases add up to {cases} s, the suite took {timing} s",
            suite.name
        );
    }
}

/// Keys whose values are typed (enums, timestamps) or our own markup, which a hostile
/// string cannot stand in for.
const TYPED_KEYS: &[&str] = &[
    "status",
    "verdict",
    "modal",
    "overall",
    "kind",
    "fail_on",
    "started_at",
    "finished_at",
    "recorded_at",
    "issued_at",
    "expires_at",
    "address",
    "svg",
    "mode",
    "cause",
];

/// `value` with `payload` appended to every string a device or profile could have
/// chosen.
fn poison(value: &mut Value, payload: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if !TYPED_KEYS.contains(&key.as_str()) {
                    poison(inner, payload);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| poison(item, payload)),
        Value::String(text) => text.push_str(payload),
        _ => {}
    }
}

/// The example report with `payload` in every string a device or profile chose, its
/// first result a FAIL with a text evidence item (so its preview is shown).
fn hostile_report(payload: &str) -> iotcert::report::Report {
    let mut report =
        read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/example-report.json"));
    let first = &mut report["results"][0];
    first["verdict"] = "FAIL".into();
    first["evidence"] = serde_json::json!([{
        "kind": "transcript",
        "label": "exchanges with 80/tcp",
        "media_type": "text/plain; charset=utf-8",
        "sha256": "0".repeat(64),
        "size": 1,
        "truncated": false,
        "preview": "HTTP/1.1 200 OK\nServer: ",
    }]);
    poison(&mut report, payload);
    serde_json::from_value(report).unwrap()
}

/// The text a Markdown reader sees, and every link, image and piece of raw HTML in it.
fn read_markdown(markdown: &str) -> (String, Vec<String>) {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut text = String::new();
    let mut markup = Vec::new();
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::Start(Tag::Link { dest_url, .. }) => markup.push(format!("link {dest_url}")),
            Event::Start(Tag::Image { dest_url, .. }) => markup.push(format!("image {dest_url}")),
            Event::Html(html) | Event::InlineHtml(html) if html.as_ref() != "<br>" => {
                markup.push(format!("html {html}"))
            }
            _ => {}
        }
    }
    (text, markup)
}

/// Issue 14, item 11: a device's text that is Markdown (a link, an image, raw HTML,
/// emphasis, a code fence, a table pipe, a heading after a newline) stays text in
/// report.md, shown as the device sent it, in every field of the report.
#[test]
fn markdown_shows_device_text_as_text() {
    let payload = " [click](http://evil.example/) ![img](http://evil.example/i.png) \
        <img src=x onerror=alert(1)> <http://evil.example/auto> **bold** `tick` | pipe \\[esc]\n\
        # heading\n```\n[fenced](http://evil.example/f)";
    let report = hostile_report(payload);
    let markdown = render(&report, Format::Md, None).unwrap();
    let (text, markup) = read_markdown(&markdown);
    assert!(markup.is_empty(), "device text became markup: {markup:#?}");
    for shown in [
        "[click](http://evil.example/) ![img](http://evil.example/i.png)",
        "<img src=x onerror=alert(1)> <http://evil.example/auto> **bold** `tick` | pipe \\[esc]",
        "# heading",
        "[fenced](http://evil.example/f)",
    ] {
        assert!(text.contains(shown), "{shown:?} not shown as text");
    }
}

/// Issue 14, item 10 (reports): control characters in a profile's manufacturer (an
/// OSC title-set, BEL, a clear-screen CSI, a C1 CSI) reach no report raw: Markdown,
/// HTML and JUnit show them as escapes, SARIF and JSON escape them as JSON does.
#[test]
fn control_characters_are_shown_not_sent() {
    let payload = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\r";
    let report = hostile_report(payload);
    let shown = "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{9b}31m\\u{d}";
    for format in [
        Format::Md,
        Format::Html,
        Format::Junit,
        Format::Sarif,
        Format::Json,
    ] {
        let rendered = render(&report, format, None).unwrap();
        let raw: Vec<char> = rendered
            .chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .collect();
        assert!(raw.is_empty(), "{format:?} carries {raw:?}");
        let visible = match format {
            Format::Md => read_markdown(&rendered).0,
            Format::Html | Format::Junit => rendered,
            Format::Sarif | Format::Json => {
                // Escaped, not altered: the value read back is the profile's.
                let value: Value = serde_json::from_str(&rendered).unwrap();
                let device = match format {
                    Format::Json => &value["device"],
                    _ => &value["runs"][0]["properties"]["device"],
                };
                let manufacturer = device["manufacturer"].as_str().unwrap();
                assert!(manufacturer.ends_with(payload), "{format:?}");
                continue;
            }
        };
        assert!(visible.contains(shown), "{format:?} does not show {shown}");
    }
    let (valid, said) = {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.junit.xml");
        std::fs::write(&file, render(&report, Format::Junit, None).unwrap()).unwrap();
        xmllint(&schemas().join("junit-10.xsd"), &file)
    };
    assert!(valid, "{said}");
}

/// A campaign whose checks serve no EN 303 645 provision has an empty conformance
/// matrix: every format still renders (the HTML template indexed its first row).
#[test]
fn a_report_with_an_empty_conformance_matrix_renders_in_every_format() {
    let mut report =
        read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/example-report.json"));
    report["conformance"] = serde_json::json!([]);
    let report: iotcert::report::Report = serde_json::from_value(report).unwrap();
    for format in [
        Format::Json,
        Format::Md,
        Format::Html,
        Format::Sarif,
        Format::Junit,
    ] {
        let rendered = render(&report, format, None);
        assert!(rendered.is_ok(), "{format:?}: {:?}", rendered.err());
    }
}
