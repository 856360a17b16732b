//! One suite run outside the harness, its results collected in memory.
//!
//! The harness plans a campaign, stores every result and writes reports. A suite's own
//! tests and examples want none of that: only what one suite decides about one profile.
//! [`run_alone`] plans with the harness's own planner ([`crate::plan`]: every check once
//! per unit, or once across units; a check the suite finds not applicable to the
//! profile is decided NOT_APPLICABLE with its reason and not run), gives each unit its
//! pacer, runs the suite under a deadline and returns every result as the harness would record it
//! ([`CheckResult::admitted`]: a PASS without proof is an ERROR here too). The suite's
//! own profile sections are checked first, as the harness checks them when it loads a
//! profile: a section the suite refuses is an error, and nothing is sent.

use crate::plan::{plan_suite, unit_pacers};
use crate::{
    Applicability, CheckResult, EventSink, PlanKey, Profile, RunContext, Suite, SuiteError,
    SuiteEvent, Verdict,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Run `suite` against `profile` with `time` to finish; every result it emitted.
pub async fn run_alone(
    suite: &dyn Suite,
    profile: Profile,
    time: Duration,
) -> Result<Vec<CheckResult>, SuiteError> {
    for section in suite.profile_sections() {
        section.check(&profile)?;
    }
    let descriptor = suite.descriptor();
    let mut pending = BTreeSet::new();
    let mut not_applicable = Vec::new();
    for decision in plan_suite(suite, &profile) {
        match decision.applicability {
            Applicability::Applicable => {
                pending.insert(decision.key);
            }
            Applicability::NotApplicable { reason } => {
                let PlanKey { check, unit } = decision.key;
                not_applicable.push(CheckResult::new(
                    &check,
                    unit.as_deref(),
                    Verdict::NotApplicable,
                    &reason,
                ));
            }
        }
    }
    let pacers = unit_pacers(&profile);
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
