//! Makes a sample label for the documentation and the benchmark: a throw-away PKI, a
//! level-2 campaign of 25 verdicts, the label file, its statement and its SVG.
//!
//! `cargo run -p iotcert-label --example label_demo -- DIR` writes `DIR/label.json`,
//! `DIR/statement.json`, `DIR/label.svg` and `DIR/scheme-root.pem`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use std::path::PathBuf;

mod common;

use iotcert_label::{issue, svg, SchemePolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "label-demo".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let sample = common::SamplePki::new()?;
    let signer = &sample.signer;
    let policy = SchemePolicy::default_scheme()?;
    let label = issue(
        &policy,
        2,
        &common::sample_facts(),
        signer,
        common::ISSUED_AT,
    )?;
    let statement_json = serde_json::to_string_pretty(
        &serde_json::from_slice::<serde_json::Value>(&label.statement.to_payload()?)?,
    )?;
    let label_url = policy.label_url(&label.statement.predicate.label_id);
    std::fs::write(dir.join("label.json"), &label.file)?;
    std::fs::write(dir.join("statement.json"), statement_json + "\n")?;
    std::fs::write(
        dir.join("label.svg"),
        svg::render_svg(&label.statement, label_url.as_deref())?,
    )?;
    std::fs::write(dir.join("scheme-root.pem"), sample.root.certificate_pem())?;
    println!(
        "{}: label {} bytes, chain of {} certificates",
        dir.display(),
        label.file.len(),
        signer.chain().len()
    );
    Ok(())
}
