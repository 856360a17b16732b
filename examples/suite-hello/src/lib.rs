//! The smallest iotcert suite: a template for suite authors, and the proof that a suite
//! is added by writing one crate and one registration line.
//!
//! One check, `hello.declared-tcp-answers`: every TCP interface the manufacturer
//! declares accepts a connection. Its own profile section, `[hello]`, sets the connect
//! timeout (read, bounded and placed at its line and column by the SDK). A PASS needs
//! its positive control: a connection completed to every declared TCP interface.

use iotcert_suite::check::standards;
use iotcert_suite::profile::rules::{within, FieldPath, Refusal, MILLISECONDS};
use iotcert_suite::profile::Transport;
use iotcert_suite::{
    Applicability, CheckResult, CheckScope, CheckSpec, Modal, NetError, Profile, ProfileSection,
    Proof, RunContext, SectionSpec, Suite, SuiteDescriptor, SuiteError, Verdict,
};
use serde::Deserialize;
use std::time::Duration;

/// The check's id.
pub const DECLARED_TCP_ANSWERS: &str = "hello.declared-tcp-answers";

/// `[hello]`: this suite's section of the profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloOptions {
    /// Time for one connection, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub connect_timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    2000
}

impl Default for HelloOptions {
    fn default() -> Self {
        HelloOptions {
            connect_timeout_ms: default_timeout_ms(),
        }
    }
}

impl ProfileSection for HelloOptions {
    const NAME: &'static str = "hello";

    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        let at = FieldPath::of(&[Self::NAME]).key("connect_timeout_ms");
        within(at, self.connect_timeout_ms, &MILLISECONDS)
    }
}

/// The suite.
pub struct HelloSuite;

#[async_trait::async_trait]
impl Suite for HelloSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "hello".into(),
            version: "0.1.0".into(),
            title: "Hello: declared TCP interfaces answer".into(),
            checks: vec![CheckSpec {
                id: DECLARED_TCP_ANSWERS.into(),
                title: "Every declared TCP interface accepts a connection".into(),
                modal: Modal::Should,
                scope: CheckScope::PerUnit,
                description: "Connects once to each TCP interface the profile declares.".into(),
                remediation: "Declare only the interfaces the device offers.".into(),
                positive_control: "a connection completed to every declared TCP interface".into(),
                standards: standards(&["5.6-1"], &[], &[], &[]),
            }],
        }
    }

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<HelloOptions>()]
    }

    fn applicability(&self, _check: &CheckSpec, profile: &Profile) -> Applicability {
        if declared_tcp_ports(profile).is_empty() {
            Applicability::NotApplicable {
                reason: "the profile declares no TCP interface".into(),
            }
        } else {
            Applicability::Applicable
        }
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let options = ctx.profile.section::<HelloOptions>()?.unwrap_or_default();
        let timeout = Duration::from_millis(options.connect_timeout_ms);
        let ports = declared_tcp_ports(&ctx.profile);
        for unit in &ctx.profile.units {
            if !ctx.is_pending(DECLARED_TCP_ANSWERS, Some(&unit.id)) {
                continue;
            }
            let (mut answered, mut closed, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
            for &port in &ports {
                match ctx.connect_tcp(unit, port, timeout).await {
                    Ok(_) => answered.push(port),
                    Err(NetError::Refused) => closed.push(port),
                    Err(error) => unknown.push(format!("{port}: {error}")),
                }
            }
            let result = if !closed.is_empty() {
                let summary = format!("declared TCP ports refused a connection: {closed:?}");
                CheckResult::new(DECLARED_TCP_ANSWERS, Some(&unit.id), Verdict::Fail, summary)
            } else if !unknown.is_empty() {
                let summary = format!("no answer could be judged on {}", unknown.join("; "));
                let verdict = Verdict::Inconclusive;
                CheckResult::new(DECLARED_TCP_ANSWERS, Some(&unit.id), verdict, summary)
            } else {
                CheckResult::pass(
                    DECLARED_TCP_ANSWERS,
                    Some(&unit.id),
                    format!("{} declared TCP interfaces answer", answered.len()),
                    Proof::observed(format!("connections completed to ports {answered:?}")),
                )
            };
            ctx.emit(result).await;
        }
        Ok(())
    }
}

/// The ports of the declared TCP interfaces.
fn declared_tcp_ports(profile: &Profile) -> Vec<u16> {
    profile
        .interfaces
        .iter()
        .filter(|interface| interface.transport == Transport::Tcp)
        .map(|interface| interface.port)
        .collect()
}
