//! What a check is: a stable id, a title, a modal verb and the standards it serves.
//!
//! The standards mapping lives next to the check so that every verdict in a report can
//! be traced to an EN 303 645 provision and a TS 103 701 test unit without a side table.

use serde::{Deserialize, Serialize};

/// Whether the provision a check serves is mandatory (`shall`) or recommended (`should`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modal {
    Shall,
    Should,
}

/// Whether a check is decided once per sample unit or once across all units of the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckScope {
    /// One verdict per sample unit (most checks).
    #[default]
    PerUnit,
    /// One verdict for the model, comparing units (uniqueness of keys and passwords).
    AcrossUnits,
}

/// The requirements of each standard that a check provides evidence for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standards {
    /// ETSI EN 303 645 provisions, such as `5.6-1`.
    #[serde(default)]
    pub en_303_645: Vec<String>,
    /// ETSI TS 103 701 test units, such as `5.6-1-2`.
    #[serde(default)]
    pub ts_103_701: Vec<String>,
    /// OWASP IoT Security Verification Standard requirements, such as `3.2.3`.
    #[serde(default)]
    pub owasp_isvs: Vec<String>,
    /// OWASP IoT Top 10 (2018) items, such as `I2`.
    #[serde(default)]
    pub owasp_iot_top10: Vec<String>,
}

/// The static description of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Stable id, `suite.name`, such as `ports.undeclared-open-port`. Never reused.
    pub id: String,
    /// One line a customer understands.
    pub title: String,
    /// Mandatory or recommended, as the provision it serves.
    pub modal: Modal,
    /// Per unit, or across the units of the model.
    #[serde(default)]
    pub scope: CheckScope,
    /// What the check does to the device, for the report.
    pub description: String,
    /// What a manufacturer should change when the check fails.
    pub remediation: String,
    /// In one line, what the check must observe before a PASS means anything: the
    /// probe told a good login from a bad one, the genuine image was accepted, the
    /// banner was read to its end, the budget was spent. A PASS result carries a
    /// [`crate::Proof`] that this control was observed; without it the harness records
    /// ERROR (see [`crate::CheckResult::admitted`]).
    pub positive_control: String,
    /// The requirements this check provides evidence for.
    pub standards: Standards,
}

/// Shorthand for suites declaring their standards mapping in code.
pub fn standards(en: &[&str], ts: &[&str], isvs: &[&str], top10: &[&str]) -> Standards {
    let own = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
    Standards {
        en_303_645: own(en),
        ts_103_701: own(ts),
        owasp_isvs: own(isvs),
        owasp_iot_top10: own(top10),
    }
}
