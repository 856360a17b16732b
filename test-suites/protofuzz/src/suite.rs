//! `ProtofuzzSuite`: applicability from the declared interfaces, and the run over
//! units, protocols and interfaces. Units are separate devices and are fuzzed side by
//! side; the protocols and interfaces of one unit one at a time, because a crash spoils
//! what runs beside it on the same device.

use crate::budget::settings;
use crate::checks::{self, SUITE_VERSION};
use crate::engine::{fuzz_interface, Outcome};
use crate::exec::{AnswerClock, Exec, HealthCheck, Protocol, Watched};
use crate::options::ProtofuzzOptions;
use iotcert_suite::profile::Transport;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Effort, Profile, Proof, RunContext, SampleUnit,
    SectionSpec, Suite, SuiteDescriptor, SuiteError, Verdict,
};

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

#[cfg(test)]
mod tests {
    use super::ProtofuzzSuite;
    use crate::checks;
    use iotcert_suite::{PlanKey, Profile};

    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An HTTP service with a parser of its own: 200 to a well-formed GET, 400 to
    /// anything else.
    async fn http_server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.93.203.1:0")
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    let request = &buffer[..read];
                    let well_formed = request.starts_with(b"GET / HTTP/1.1\r\n")
                        && request.ends_with(b"\r\n\r\n");
                    let reply: &[u8] = if well_formed {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                    } else {
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    };
                    let _ = stream.write_all(reply).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn progress_counts_the_budgeted_cases_from_the_first() {
        let port = http_server().await;
        let cases = 40;
        let profile = Profile::from_toml_str(&format!(
            "[device]\nmanufacturer = \"T\"\nmodel = \"M\"\nfirmware_version = \"1\"\n\
             [[units]]\nid = \"unit-1\"\naddress = \"127.93.203.1\"\n\
             [[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"http\"\n\
             [protofuzz]\ncases_per_protocol = {cases}\nseconds_per_protocol = 30\n\
             probe_every = 50\nrecovery_wait_seconds = 2\ntimeout_ms = 1000\nparallel_cases = 1\n"
        ))
        .unwrap();
        let pending = [PlanKey::new(checks::HTTP, Some("unit-1"))].into();
        let progress = iotcert_suite_testkit::run_pending(
            &ProtofuzzSuite::new(),
            profile,
            pending,
            Duration::from_secs(120),
        )
        .await
        .progress();
        assert_eq!(progress.first(), Some(&(0, cases)), "{progress:?}");
        assert!(
            progress.iter().all(|&(_, total)| total == cases),
            "{progress:?}"
        );
        assert!(
            progress.windows(2).all(|pair| pair[0].0 <= pair[1].0),
            "{progress:?}"
        );
        assert_eq!(progress.last(), Some(&(cases, cases)), "{progress:?}");
    }
}
