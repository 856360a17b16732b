//! `ProtofuzzSuite`: applicability from the declared interfaces, and the run over
//! units, protocols and interfaces. Units are separate devices and are fuzzed side by
//! side; the protocols and interfaces of one unit one at a time, because a crash spoils
//! what runs beside it on the same device.

use crate::checks;
use crate::engine::{fuzz_interface, Budget, Outcome};
use crate::exec::{AnswerClock, Exec, HealthCheck, Protocol, Settings, Watched};
use crate::options::ProtofuzzOptions;
use iotcert_suite::profile::Transport;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Effort, Profile, Proof, RunContext, SampleUnit,
    SectionSpec, Suite, SuiteDescriptor, SuiteError, Verdict,
};
use std::time::Duration;

/// The suite's version: bumped whenever generators or verdict rules change (a seed
/// replays the same cases only within one version).
pub const SUITE_VERSION: &str = "0.4.0";

/// The protocol-fuzzing suite.
#[derive(Clone, Debug, Default)]
pub struct ProtofuzzSuite {}

impl ProtofuzzSuite {
    pub fn new() -> Self {
        ProtofuzzSuite {}
    }
}

/// The declared cleartext interfaces of `protocol`, as watched services.
pub fn fuzzable(profile: &Profile, protocol: Protocol) -> Vec<Watched> {
    profile
        .interfaces
        .iter()
        .filter(|i| !i.tls && Protocol::of_service(&i.service, i.transport) == Some(protocol))
        .map(|i| Watched {
            port: i.port,
            transport: i.transport,
            protocol: Some(protocol),
            service: i.service.clone(),
            health: None,
        })
        .collect()
}

/// Every declared interface, probed the best way the suite knows, and the device's
/// health endpoint when the profile declares one.
fn watched(profile: &Profile, options: &ProtofuzzOptions) -> Vec<Watched> {
    let health = options.health.as_ref().map(|health| Watched {
        port: health.port,
        transport: Transport::Tcp,
        protocol: Some(Protocol::Http),
        service: "health".to_owned(),
        health: Some(HealthCheck {
            path: health.path.clone(),
            expect: health.expect.clone(),
        }),
    });
    profile
        .interfaces
        .iter()
        .filter_map(|i| {
            let protocol = (!i.tls)
                .then(|| Protocol::of_service(&i.service, i.transport))
                .flatten();
            // A UDP service other than CoAP has no answer the suite knows to ask for.
            (i.transport == Transport::Tcp || protocol.is_some()).then(|| Watched {
                port: i.port,
                transport: i.transport,
                protocol,
                service: i.service.clone(),
                health: None,
            })
        })
        .chain(health)
        .collect()
}

/// The declared interfaces of `protocol` this version of the suite cannot fuzz: those
/// inside TLS (`tls = true`, or a service name such as `https`, `mqtts`, `coaps`) and
/// those over another transport (CoAP over TCP), as `8443/tcp https (TLS)`.
fn uncovered(profile: &Profile, protocol: Protocol) -> Vec<String> {
    let secure_name = format!("{}s", protocol.name());
    profile
        .interfaces
        .iter()
        .filter(|i| {
            let name = i.service.to_ascii_lowercase();
            let of_protocol = name == protocol.name() || name == secure_name;
            let fuzzed = !i.tls && Protocol::of_service(&i.service, i.transport) == Some(protocol);
            of_protocol && !fuzzed
        })
        .map(|i| {
            let why = if i.tls || i.service.eq_ignore_ascii_case(&secure_name) {
                "TLS".to_owned()
            } else {
                format!("{protocol} over {}", i.transport)
            };
            format!("{}/{} {} ({why})", i.port, i.transport, i.service)
        })
        .collect()
}

fn wanted(options: &ProtofuzzOptions, protocol: Protocol) -> bool {
    options
        .protocols
        .as_ref()
        .is_none_or(|list| list.iter().any(|p| p.eq_ignore_ascii_case(protocol.name())))
}

#[async_trait::async_trait]
impl Suite for ProtofuzzSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "protofuzz".to_owned(),
            version: SUITE_VERSION.to_owned(),
            title: "Protocol robustness (fuzzing)".to_owned(),
            checks: checks::specs(),
        }
    }

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<ProtofuzzOptions>()]
    }

    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability {
        // A [protofuzz] section that cannot be read never reaches a campaign (the
        // harness refuses the profile when it loads it); elsewhere `run` reports the
        // error as the ERROR of every check, so it is not hidden behind NOT_APPLICABLE.
        let Ok(options) = profile.section_or_default::<ProtofuzzOptions>() else {
            return Applicability::Applicable;
        };
        let Some(protocol) = checks::protocol_of(&check.id) else {
            return Applicability::NotApplicable {
                reason: format!("`{}` is not a check of the protofuzz suite", check.id),
            };
        };
        if !wanted(&options, protocol) {
            return Applicability::NotApplicable {
                reason: format!("the profile's [protofuzz] protocols leave out {protocol}"),
            };
        }
        if !fuzzable(profile, protocol).is_empty() || !uncovered(profile, protocol).is_empty() {
            // A declared interface this version cannot fuzz (inside TLS) is a limit of
            // the harness, not a property of the device: it is run and reported
            // INCONCLUSIVE, never NOT_APPLICABLE.
            return Applicability::Applicable;
        }
        Applicability::NotApplicable {
            reason: format!("the profile declares no {protocol} interface"),
        }
    }

    fn disturbs_device(&self) -> bool {
        true
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let options: ProtofuzzOptions = ctx.profile.section_or_default()?;
        futures::future::join_all(
            ctx.units
                .iter()
                .map(|unit| fuzz_each_protocol(&ctx, &options, unit)),
        )
        .await;
        Ok(())
    }
}

/// Every wanted protocol of one unit, one after the other.
async fn fuzz_each_protocol(ctx: &RunContext, options: &ProtofuzzOptions, unit: &SampleUnit) {
    for protocol in Protocol::ALL {
        let check = checks::check_for(protocol);
        if !ctx.is_pending(check, Some(&unit.id)) {
            continue;
        }
        let interfaces = fuzzable(&ctx.profile, protocol);
        let not_covered = uncovered(&ctx.profile, protocol);
        if (interfaces.is_empty() && not_covered.is_empty()) || !wanted(options, protocol) {
            continue;
        }
        ctx.started(check, Some(&unit.id)).await;
        let result = if interfaces.is_empty() {
            CheckResult::new(
                check,
                Some(&unit.id),
                Verdict::Inconclusive,
                format!(
                    "not covered by this suite version: {}; no declared {protocol} interface could be fuzzed, so nothing about its robustness is known",
                    not_covered.join(", ")
                ),
            )
        } else {
            fuzz_unit(ctx, options, unit, check, &interfaces, &not_covered).await
        };
        ctx.emit(result).await;
    }
}

/// The section's settings for cases and probes.
pub fn settings(options: &ProtofuzzOptions) -> (Settings, Budget) {
    let timeout = Duration::from_millis(options.timeout_ms.clamp(50, 60_000));
    let settings = Settings {
        seed: options.seed,
        timeout,
        case_wait: (timeout / 4).clamp(Duration::from_millis(50), Duration::from_millis(500)),
        mqtt_username: options.mqtt_username.clone(),
        mqtt_password: options.mqtt_password.clone(),
    };
    let budget = Budget {
        cases: options.cases_per_protocol,
        parallel_cases: options.parallel_cases.clamp(1, 64),
        time: Duration::from_secs(options.seconds_per_protocol.max(1)),
        probe_every: options.probe_every.max(1),
        recovery_wait: Duration::from_secs(options.recovery_wait_seconds),
    };
    (settings, budget)
}

async fn fuzz_unit(
    ctx: &RunContext,
    options: &ProtofuzzOptions,
    unit: &SampleUnit,
    check: &str,
    interfaces: &[Watched],
    not_covered: &[String],
) -> CheckResult {
    if let Err(out) = ctx.scope.check(unit.address) {
        return CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Inconclusive,
            out.to_string(),
        );
    }
    let (settings, budget) = settings(options);
    let exec = Exec {
        ctx,
        unit,
        settings,
        clock: AnswerClock::default(),
    };
    let everything = watched(&ctx.profile, options);
    let started = std::time::Instant::now();
    let mut outcomes: Vec<(Watched, Outcome)> = Vec::new();
    for fuzzed in interfaces {
        let others: Vec<Watched> = everything
            .iter()
            // The health endpoint is watched even on the fuzzed port: the service may
            // keep answering while the device says it is unwell.
            .filter(|w| {
                w.health.is_some() || !(w.port == fuzzed.port && w.transport == fuzzed.transport)
            })
            .cloned()
            .collect();
        let outcome = fuzz_interface(&exec, fuzzed, &others, &budget).await;
        outcomes.push((fuzzed.clone(), outcome));
    }
    // The worst outcome decides: FAIL, then ERROR, then INCONCLUSIVE, then PASS.
    let rank = |v: Verdict| match v {
        Verdict::Fail => 0,
        Verdict::Error => 1,
        Verdict::Inconclusive => 2,
        _ => 3,
    };
    let verdict = outcomes
        .iter()
        .map(|(_, o)| o.verdict)
        .min_by_key(|v| rank(*v))
        .unwrap_or(Verdict::Inconclusive);
    let total: u64 = outcomes.iter().map(|(_, o)| o.cases_sent).sum();
    let mut summary = format!("{total} cases sent. ")
        + &outcomes
            .iter()
            .map(|(w, o)| format!("{} {w}: {}", o.verdict, o.summary))
            .collect::<Vec<_>>()
            .join(" | ");
    // A PASS needs every declared interface of the protocol fuzzed to its budget.
    let verdict = if verdict == Verdict::Pass && !not_covered.is_empty() {
        summary.push_str(&format!(
            " | INCONCLUSIVE not covered by this suite version: {}",
            not_covered.join(", ")
        ));
        Verdict::Inconclusive
    } else {
        verdict
    };
    let proofs: Vec<&str> = outcomes
        .iter()
        .filter_map(|(_, o)| o.proof.as_deref())
        .collect();
    let mut result =
        CheckResult::new(check, Some(&unit.id), verdict, summary).with_effort(Effort {
            cases: total,
            milliseconds: iotcert_suite::event::whole_milliseconds(started.elapsed()),
        });
    if verdict == Verdict::Pass && proofs.len() == outcomes.len() {
        result = result.with_proof(Proof::observed(proofs.join(" | ")));
    }
    for (_, outcome) in outcomes {
        result.evidence.extend(outcome.evidence);
    }
    result
}
