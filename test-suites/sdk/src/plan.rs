//! The plan of a suite against a profile, in one place: which decisions a campaign must
//! make (each check once per unit, or once across units), each with the suite's
//! applicability verdict, and the pacer each unit gets.
//!
//! The harness's engine and [`crate::run_alone`] both plan with these functions, so a
//! suite's own tests run exactly the plan a campaign runs.

use crate::profile::Transport;
use crate::{Applicability, CheckScope, Pacer, PlanKey, Profile, ScopeGuard, Suite};
use std::collections::BTreeMap;
use std::net::SocketAddr;

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
/// An adaptive pacer watches the unit's first declared TCP port (when the scope allows
/// the unit at all).
pub fn unit_pacers(profile: &Profile) -> BTreeMap<String, Pacer> {
    let pacing = &profile.pacing;
    let scope = ScopeGuard::new(profile.scope.allow.clone());
    let liveness_port = profile
        .interfaces
        .iter()
        .find(|interface| interface.transport == Transport::Tcp && interface.port != 0)
        .map(|interface| interface.port);
    profile
        .units
        .iter()
        .map(|unit| {
            let liveness = liveness_port
                .filter(|_| scope.check(unit.address).is_ok())
                .map(|port| SocketAddr::new(unit.address, port));
            let pacer = Pacer::with_mode(
                pacing.mode,
                pacing.max_connections,
                pacing.connections_per_second,
                liveness,
            );
            (unit.id.clone(), pacer)
        })
        .collect()
}
