//! Scheme policies: what a device must pass to earn each level, and for how long.
//!
//! A scheme (DESIGN.md section 8) is a TOML file in `schemes/`: its levels, the suites
//! each level needs, minimum budgets (protocol fuzzing at level 3), and the label
//! lifetime in calendar months, which issuing caps at the signer certificate's
//! `notAfter`. [`evaluate`] decides whether a campaign meets a level and, when it does
//! not, names every check that blocks it; issuing a label calls it, so no label
//! escapes the policy.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::num::NonZeroU32;

use iotcert_suite::{Modal, Verdict};
use serde::{Deserialize, Serialize};

use crate::statement::Sha256Hex;

/// The default scheme, `schemes/iotcert-default.toml`, built in.
pub const DEFAULT_SCHEME_TOML: &str = include_str!("../../schemes/iotcert-default.toml");

/// A scheme policy as read from its TOML file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemePolicy {
    pub scheme: SchemeInfo,
    /// The levels, lowest first (TOML `[[level]]`).
    #[serde(rename = "level")]
    pub levels: Vec<LevelPolicy>,
    /// SHA-256 of the file text, bound into every label issued under it.
    #[serde(skip)]
    pub source_sha256: Option<Sha256Hex>,
}

/// Who runs the scheme and how long its labels last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeInfo {
    /// Stable id, such as `iotcert-default`.
    pub id: String,
    pub name: String,
    pub version: NonZeroU32,
    /// Label lifetime in calendar months; never past the signer certificate.
    #[serde(default = "default_lifetime_months")]
    pub label_lifetime_months: NonZeroU32,
    /// Where a buyer finds a label by id, `{label_id}` replaced; goes into the QR code.
    #[serde(default)]
    pub label_url: Option<String>,
}

/// Twelve months (DESIGN.md section 8).
const DEFAULT_LIFETIME_MONTHS: NonZeroU32 = NonZeroU32::MIN.saturating_add(11);

fn default_lifetime_months() -> NonZeroU32 {
    DEFAULT_LIFETIME_MONTHS
}

/// One level of a scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelPolicy {
    pub number: u8,
    pub name: String,
    /// Suites whose every check the level needs (ids such as `tls`).
    pub suites: Vec<String>,
    /// Minimum effort a suite must have spent, by suite id.
    #[serde(default)]
    pub min_budget: BTreeMap<String, BudgetRequirement>,
}

/// A minimum budget; each bound given must be met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRequirement {
    /// Test cases (for a fuzzer: inputs sent).
    #[serde(default)]
    pub cases: Option<u64>,
    /// Wall-clock seconds spent.
    #[serde(default)]
    pub seconds: Option<u64>,
}

/// What a suite spent in a campaign, for [`BudgetRequirement`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteBudget {
    pub suite: String,
    pub cases: u64,
    pub seconds: u64,
}

/// One verdict of a campaign, as the policy needs to see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// Suite id, such as `tls`.
    pub suite: String,
    /// Check id, such as `tls.legacy-protocol`.
    pub check: String,
    /// Sample unit, or none for a check decided across units.
    pub unit: Option<String>,
    pub verdict: Verdict,
    pub modal: Modal,
    /// ETSI EN 303 645 provisions the check serves.
    pub en_303_645: Vec<String>,
    /// True when the result carries the proof of its check's positive control; a PASS
    /// without it blocks every level (it is not a PASS).
    pub proven: bool,
}

/// Why a policy file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// TOML syntax or an unknown/missing field; the message carries line and column.
    #[error("scheme policy: {0}")]
    Syntax(String),
    #[error("scheme policy: {0}")]
    Invalid(String),
}

/// Why a campaign does not earn a level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BlockReason {
    /// A check failed (any check, required by the level or not).
    Failed,
    /// The harness failed on a check.
    Errored,
    /// A `shall` check of a required suite could not be decided.
    InconclusiveShall,
    /// A PASS that does not carry the proof of its positive control.
    PassWithoutProof,
    /// A suite the level needs produced no result.
    NoResults,
    /// A suite spent less than the level's minimum budget.
    BudgetTooSmall {
        required: BudgetRequirement,
        spent: Option<SuiteBudget>,
    },
    /// The scheme has no such level.
    UnknownLevel { available: Vec<u8> },
}

/// One reason a label cannot be issued, naming the check (or suite) to blame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub suite: String,
    pub check: Option<String>,
    pub unit: Option<String>,
    pub reason: BlockReason,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = match (&self.check, &self.unit) {
            (Some(check), Some(unit)) => format!("{check} on {unit}"),
            (Some(check), None) => check.clone(),
            _ => format!("suite {}", self.suite),
        };
        match &self.reason {
            BlockReason::Failed => write!(f, "{subject}: FAIL"),
            BlockReason::Errored => write!(f, "{subject}: ERROR (the harness failed)"),
            BlockReason::InconclusiveShall => {
                write!(f, "{subject}: INCONCLUSIVE on a shall check of the level")
            }
            BlockReason::NoResults => write!(f, "{subject}: required by the level, no results"),
            BlockReason::PassWithoutProof => write!(
                f,
                "{subject}: PASS without proof of its positive control (not a PASS)"
            ),
            BlockReason::BudgetTooSmall { required, spent } => {
                write!(f, "{subject}: needs at least")?;
                if let Some(cases) = required.cases {
                    write!(f, " {cases} cases")?;
                }
                if let Some(seconds) = required.seconds {
                    write!(f, " {seconds} s")?;
                }
                match spent {
                    Some(spent) => {
                        write!(f, ", spent {} cases in {} s", spent.cases, spent.seconds)
                    }
                    None => write!(f, ", no budget recorded"),
                }
            }
            BlockReason::UnknownLevel { available } => {
                write!(f, "the scheme has no such level (levels: {available:?})")
            }
        }
    }
}

impl SchemePolicy {
    /// Parse and check a policy file. Unknown fields are errors (a typo fails loudly).
    pub fn from_toml_str(text: &str) -> Result<SchemePolicy, PolicyError> {
        let mut policy: SchemePolicy =
            toml::from_str(text).map_err(|error| PolicyError::Syntax(error.to_string()))?;
        policy.validate()?;
        policy.source_sha256 = Some(Sha256Hex::of(text.as_bytes()));
        Ok(policy)
    }

    /// The built-in default scheme.
    pub fn default_scheme() -> Result<SchemePolicy, PolicyError> {
        SchemePolicy::from_toml_str(DEFAULT_SCHEME_TOML)
    }

    /// The level numbered `number`.
    pub fn level(&self, number: u8) -> Option<&LevelPolicy> {
        self.levels.iter().find(|level| level.number == number)
    }

    /// Where a buyer finds label `label_id`, when the scheme publishes labels.
    pub fn label_url(&self, label_id: &uuid::Uuid) -> Option<String> {
        self.scheme
            .label_url
            .as_ref()
            .map(|template| template.replace("{label_id}", &label_id.to_string()))
    }

    fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |message: String| Err(PolicyError::Invalid(message));
        if self.scheme.id.trim().is_empty() {
            return invalid("scheme.id is empty".into());
        }
        if self.levels.is_empty() {
            return invalid("no [[level]]".into());
        }
        let mut numbers = BTreeSet::new();
        for level in &self.levels {
            if level.number == 0 {
                return invalid("levels are numbered from 1".into());
            }
            if !numbers.insert(level.number) {
                return invalid(format!("level {} is defined twice", level.number));
            }
            if level.suites.is_empty() {
                return invalid(format!("level {} needs no suite", level.number));
            }
            for (suite, requirement) in &level.min_budget {
                if !level.suites.contains(suite) {
                    return invalid(format!(
                        "level {}: min_budget for {suite}, which the level does not need",
                        level.number
                    ));
                }
                if requirement.cases.is_none() && requirement.seconds.is_none() {
                    return invalid(format!(
                        "level {}: min_budget.{suite} sets neither cases nor seconds",
                        level.number
                    ));
                }
            }
        }
        if let Some(url) = &self.scheme.label_url {
            if !url.contains("{label_id}") {
                return invalid("scheme.label_url has no {label_id}".into());
            }
        }
        Ok(())
    }
}

/// Does a campaign earn `level`? Refuses on any FAIL or ERROR, on INCONCLUSIVE for a
/// `shall` check of a suite the level needs, on a needed suite with no result and on a
/// budget below the level's minimum (DESIGN.md section 8), naming each blocker.
pub fn evaluate(
    policy: &SchemePolicy,
    level: u8,
    outcomes: &[CheckOutcome],
    budgets: &[SuiteBudget],
) -> Result<(), Vec<Blocker>> {
    match policy.level(level) {
        Some(level_policy) => evaluate_level(level_policy, outcomes, budgets),
        None => Err(vec![unknown_level(policy)]),
    }
}

/// The blocker for a level the scheme does not define.
pub(crate) fn unknown_level(policy: &SchemePolicy) -> Blocker {
    suite_blocker(
        "",
        BlockReason::UnknownLevel {
            available: policy.levels.iter().map(|level| level.number).collect(),
        },
    )
}

/// [`evaluate`] for a level already looked up.
pub(crate) fn evaluate_level(
    level_policy: &LevelPolicy,
    outcomes: &[CheckOutcome],
    budgets: &[SuiteBudget],
) -> Result<(), Vec<Blocker>> {
    let needed = |suite: &str| level_policy.suites.iter().any(|needed| needed == suite);
    let mut blockers = Vec::new();
    for outcome in outcomes {
        let reason = match (outcome.verdict, outcome.modal) {
            (Verdict::Fail, _) => BlockReason::Failed,
            (Verdict::Error, _) => BlockReason::Errored,
            (Verdict::Inconclusive, Modal::Shall) if needed(&outcome.suite) => {
                BlockReason::InconclusiveShall
            }
            (Verdict::Pass, _) if !outcome.proven => BlockReason::PassWithoutProof,
            _ => continue,
        };
        blockers.push(Blocker {
            suite: outcome.suite.clone(),
            check: Some(outcome.check.clone()),
            unit: outcome.unit.clone(),
            reason,
        });
    }
    for suite in &level_policy.suites {
        if !outcomes.iter().any(|outcome| &outcome.suite == suite) {
            blockers.push(suite_blocker(suite, BlockReason::NoResults));
        }
    }
    for (suite, required) in &level_policy.min_budget {
        let spent = budgets.iter().find(|budget| &budget.suite == suite);
        let enough = spent.is_some_and(|spent| {
            required.cases.is_none_or(|cases| spent.cases >= cases)
                && required
                    .seconds
                    .is_none_or(|seconds| spent.seconds >= seconds)
        });
        if !enough {
            blockers.push(suite_blocker(
                suite,
                BlockReason::BudgetTooSmall {
                    required: *required,
                    spent: spent.cloned(),
                },
            ));
        }
    }
    if blockers.is_empty() {
        Ok(())
    } else {
        Err(blockers)
    }
}

fn suite_blocker(suite: &str, reason: BlockReason) -> Blocker {
    Blocker {
        suite: suite.to_owned(),
        check: None,
        unit: None,
        reason,
    }
}
