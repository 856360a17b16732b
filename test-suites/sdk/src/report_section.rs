//! A suite's own part of the campaign report.
//!
//! The harness renders every report (JSON, Markdown, HTML) without knowing what a
//! suite's evidence holds. A suite that has more to show than its verdicts (the ports
//! suite's ports found open on each unit) makes it from what the campaign recorded of
//! it ([`Recorded`]: its results and their evidence, read back from the store), in shapes
//! every rendering draws alike: a table, optionally a chart of tiles, and the same facts
//! for machines ([`ReportSection`]). See [`crate::Suite::report_section`].

use crate::evidence::EvidenceKind;
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// A suite's part of the report: a titled table, optionally drawn as a chart, and the
/// same facts for machines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSection {
    /// The section's heading, such as "Ports found open".
    pub title: String,
    /// The section as a table; Markdown shows it, and HTML when there is no chart.
    pub table: SectionTable,
    /// The section as a chart of tiles; HTML draws it.
    #[serde(default)]
    pub chart: Option<TileChart>,
    /// The same facts for a program reading the JSON report, in the suite's own shape;
    /// the harness passes it through untouched.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// A table: its column headings, and rows of as many cells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A chart of labelled tiles in groups (such as one group per unit), each tile
/// coloured by its status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileChart {
    /// What the chart shows and what its colours mean.
    pub caption: String,
    pub groups: Vec<TileGroup>,
}

/// A row of tiles under a label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileGroup {
    pub label: String,
    pub tiles: Vec<Tile>,
}

/// One tile: a short label drawn on it, its status (its colour), and the line shown
/// when it is pointed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tile {
    pub label: String,
    pub status: TileStatus,
    pub detail: String,
}

/// How a tile is coloured: as a PASS, as a FAIL, or as neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TileStatus {
    Good,
    Bad,
    Neutral,
}

/// One decided check of the suite, as the campaign recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedResult {
    pub check: String,
    /// `None` for a check decided across units.
    pub unit: Option<String>,
    pub verdict: Verdict,
    pub evidence: Vec<RecordedEvidence>,
}

/// An evidence item of a recorded result; its bytes are read with
/// [`Recorded::evidence`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvidence {
    pub kind: EvidenceKind,
    pub label: String,
    pub media_type: String,
    pub sha256: String,
}

/// What a campaign recorded of one suite.
pub trait Recorded {
    /// The suite's decided checks, in the report's order.
    fn results(&self) -> &[RecordedResult];

    /// The bytes of the evidence item `sha256`; `None` when the store lacks them.
    fn evidence(&self, sha256: &str) -> Option<Vec<u8>>;
}
