//! Every example profile in `examples/` parses and stays in scope, and the example
//! report is a report of the current type, field for field: the README and `report.rs`
//! point readers at them, so a broken example is a broken promise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use iotcert::report::Report;
use iotcert_suite::Profile;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_example_profile_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let profile =
                Profile::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            iotcert::registry::check_sections(&profile, &dir)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            iotcert::engine::check_scope(&profile)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example profiles found in {}", dir.display());
}

/// The example report documented in `report.rs`: a real campaign's report (the secure
/// device of `iotcert demo`, with its label; regenerate it with `iotcert demo --out DIR`
/// and copy `DIR/secure/report.json`).
fn example_report() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/example-report.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Issue 14, item 20: the example report reads into the report type and writes back
/// as the same JSON value, field for field: a field the type has and the example lacks
/// (hidden by `serde(default)` on reading) is written back and differs, and so is one
/// the example has and the type dropped.
#[test]
fn example_report_round_trips_field_for_field() {
    let example = example_report();
    let report: Report = serde_json::from_value(example.clone()).unwrap();
    assert_eq!(report.schema, iotcert::report::REPORT_SCHEMA);
    assert!(!report.results.is_empty());
    let written = serde_json::to_value(&report).unwrap();
    let mut differences = Vec::new();
    differing_paths(&example, &written, "", &mut differences);
    assert!(
        differences.is_empty(),
        "the example and the report type differ at {differences:#?}"
    );
}

/// Issue 14, item 20: the example shows every field a fresh report has, those a report
/// leaves out when empty (a PASS's proof, a fuzzer's effort) included.
#[test]
fn example_report_shows_every_field_of_a_fresh_report() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        common::profile_text("127.0.0.1", &["--mixed", "--effort", "3"]),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = common::iotcert(&dir.path().join("data"))
        .arg("run")
        .arg(&profile)
        .arg("--out")
        .arg(&out)
        .args(["--fail-on", "never"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let (mut in_fresh, mut in_example) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&fresh, "", &mut in_fresh);
    key_paths(&example_report(), "", &mut in_example);
    assert!(in_fresh.contains("results[].effort.cases"), "{in_fresh:#?}");
    let missing: Vec<&String> = in_fresh.difference(&in_example).collect();
    assert!(
        missing.is_empty(),
        "fields of a fresh report the example lacks: {missing:#?}"
    );
}

/// Every object key under `value`, as `a.b[].c`.
fn key_paths(value: &Value, at: &str, paths: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                paths.insert(path.clone());
                key_paths(inner, &path, paths);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{at}[]"), paths);
            }
        }
        _ => {}
    }
}

/// The paths at which `left` and `right` differ, as `a.b[2].c`.
fn differing_paths(left: &Value, right: &Value, at: &str, differences: &mut Vec<String>) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for key in keys {
                let path = format!("{at}.{key}");
                match (l.get(key), r.get(key)) {
                    (Some(a), Some(b)) => differing_paths(a, b, &path, differences),
                    (Some(_), None) => differences.push(format!("{path}: only in the example")),
                    (None, _) => differences.push(format!("{path}: missing from the example")),
                }
            }
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => {
            for (i, (a, b)) in l.iter().zip(r).enumerate() {
                differing_paths(a, b, &format!("{at}[{i}]"), differences);
            }
        }
        _ if left == right => {}
        _ => differences.push(format!("{at}: {left} written back as {right}")),
    }
}
