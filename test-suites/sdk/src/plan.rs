//! The plan of a suite against a profile, in one place: which decisions a campaign must
//! make (each check once per unit, or once across units), each with the suite's
//! applicability verdict, and the pacer each unit gets.
//!
//! The harness's engine and [`crate::run_alone`] both plan with these functions, so a
//! suite's own tests run exactly the plan a campaign runs.

use crate::{Applicability, CheckScope, Pacer, PlanKey, Profile, Suite};
use std::collections::BTreeMap;

/// One decision a campaign must make, and whether the suite can make it on this profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedDecision {
    pub key: PlanKey,
    pub applicability: Applicability,
}

/// Every decision `suite` owes `profile`, in the order of its checks and the profile's
/// units.
pub fn plan_suite(suite: &dyn Suite, profile: &Profile) -> Vec<PlannedDecision> {
    let mut plan = Vec::new();
    for check in &suite.descriptor().checks {
        let applicability = suite.applicability(check, profile);
        let units: Vec<Option<&str>> = match check.scope {
            CheckScope::PerUnit => profile.units.iter().map(|u| Some(u.id.as_str())).collect(),
            CheckScope::AcrossUnits => vec![None],
        };
        plan.extend(units.into_iter().map(|unit| PlannedDecision {
            key: PlanKey::new(&check.id, unit),
            applicability: applicability.clone(),
        }));
    }
    plan
}

/// One pacer per unit, from the profile's pacing: shared by every suite on that unit.
pub fn unit_pacers(profile: &Profile) -> BTreeMap<String, Pacer> {
    let pacing = &profile.pacing;
    profile
        .units
        .iter()
        .map(|unit| {
            let pacer = Pacer::new(pacing.max_connections, pacing.connections_per_second);
            (unit.id.clone(), pacer)
        })
        .collect()
}
