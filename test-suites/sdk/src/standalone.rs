//! One suite run outside the harness, its results collected in memory.
//!
//! The harness plans a campaign, stores every result and writes reports. A suite's own
//! tests and examples want none of that: only what one suite decides about one profile.
//! [`run_alone`] plans every check as the harness does (once per unit, or once across
//! units; a check the suite finds not applicable to the profile is decided
//! NOT_APPLICABLE with its reason and not run), gives each unit its pacer, runs the
//! suite under a deadline and returns every result as the harness would record it
//! ([`CheckResult::admitted`]: a PASS without proof is an ERROR here too).

use crate::{
    Applicability, CheckResult, CheckScope, EventSink, Pacer, PlanKey, Profile, RunContext, Suite,
    SuiteError, SuiteEvent, Verdict,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Run `suite` against `profile` with `time` to finish; every result it emitted.
pub async fn run_alone(
    suite: &dyn Suite,
    profile: Profile,
    time: Duration,
) -> Result<Vec<CheckResult>, SuiteError> {
    let descriptor = suite.descriptor();
    let mut pending = BTreeSet::new();
    let mut not_applicable = Vec::new();
    for check in &descriptor.checks {
        let units: Vec<Option<&str>> = match check.scope {
            CheckScope::AcrossUnits => vec![None],
            CheckScope::PerUnit => profile.units.iter().map(|u| Some(u.id.as_str())).collect(),
        };
        match suite.applicability(check, &profile) {
            Applicability::Applicable => {
                pending.extend(units.into_iter().map(|unit| PlanKey::new(&check.id, unit)));
            }
            Applicability::NotApplicable { reason } => {
                not_applicable.extend(units.into_iter().map(|unit| {
                    CheckResult::new(&check.id, unit, Verdict::NotApplicable, &reason)
                }));
            }
        }
    }
    let pacing = &profile.pacing;
    let pacers = profile
        .units
        .iter()
        .map(|unit| {
            let pacer = Pacer::new(pacing.max_connections, pacing.connections_per_second);
            (unit.id.clone(), pacer)
        })
        .collect::<BTreeMap<_, _>>();
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
    let suite_id = descriptor.id.clone();
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(pacers),
        tokio::time::Instant::now() + time,
        CancellationToken::new(),
        pending,
        EventSink::new(&descriptor.id, sender),
    );
    let collector = tokio::spawn(async move {
        let mut results = Vec::new();
        while let Some((_, event)) = receiver.recv().await {
            if let SuiteEvent::Result(result) = event {
                results.push(result.admitted(&suite_id));
            }
        }
        results
    });
    let ran = suite.run(ctx).await;
    let mut results = not_applicable;
    results.extend(
        collector
            .await
            .map_err(|error| SuiteError(format!("the result collector failed: {error}")))?,
    );
    ran.map(|()| results)
}
