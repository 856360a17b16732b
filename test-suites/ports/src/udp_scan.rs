//! UDP probes: one protocol-correct datagram per well-known IoT service and per declared
//! UDP port, through `RunContext::udp_exchange` (scope guard and pacer).
//!
//! UDP has no handshake, so a port is open only when it answers; an ICMP port
//! unreachable makes it closed; silence (after the retries) leaves it open|filtered,
//! which is reported but never counted as open.

use crate::examine::{Observation, ServiceFinding};
use crate::identify::end::is_text;
use crate::identify::udp::{self, UdpProbe};
use crate::identify::BANNER_CAP;
use futures::future::join_all;
use iotcert_suite::profile::Transport;
use iotcert_suite::{NetError, RunContext, SampleUnit, Transcript};
use serde::Serialize;
use std::time::Duration;

/// The state of a probed UDP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UdpState {
    /// It answered.
    Open,
    /// ICMP port unreachable.
    Closed,
    /// No answer after every attempt: open but silent, or filtered.
    #[serde(rename = "open|filtered")]
    OpenFiltered,
    /// The probe could not be completed (deadline, local error).
    NotProbed,
}

/// The outcome of probing one UDP port.
#[derive(Clone, Debug, Serialize)]
pub struct UdpResult {
    pub state: UdpState,
    #[serde(flatten)]
    pub finding: ServiceFinding,
}

/// Probe every port in `probes` at once; each waits `wait` per attempt and retries
/// silence `retries` times.
pub async fn probe_udp(
    ctx: &RunContext,
    unit: &SampleUnit,
    probes: &[UdpProbe],
    wait: Duration,
    retries: u8,
) -> Vec<UdpResult> {
    join_all(
        probes
            .iter()
            .map(|probe| probe_one(ctx, unit, probe, wait, retries)),
    )
    .await
}

async fn probe_one(
    ctx: &RunContext,
    unit: &SampleUnit,
    probe: &UdpProbe,
    wait: Duration,
    retries: u8,
) -> UdpResult {
    let mut transcript = Transcript::new();
    let mut finding = ServiceFinding::new(probe.port, Transport::Udp);
    let mut state = UdpState::OpenFiltered;
    for attempt in 0..=retries {
        transcript.sent(&probe.payload);
        match ctx
            .udp_exchange(unit, probe.port, &probe.payload, wait, BANNER_CAP)
            .await
        {
            Ok(Some(reply)) => {
                transcript.received(&reply);
                let answer = udp::judge(probe, &reply);
                finding.service = answer.service;
                finding.detail = answer.detail.clone();
                finding.cleartext_management = answer.cleartext_management.clone();
                if let Some(banner) = &answer.banner {
                    finding.disclose_from(banner);
                }
                // A datagram is whole by nature; one the suite recognises, or that is
                // text, is a service that answered. Other bytes prove nothing.
                let seen = match answer.service {
                    Some(service) => Observation::Complete(format!(
                        "a whole {service} answer to the probe datagram"
                    )),
                    None if is_text(&reply) => Observation::Complete(
                        "a whole text datagram of no protocol the suite knows".to_owned(),
                    ),
                    None => Observation::Unfinished(format!(
                        "answered with {} bytes of no protocol the suite knows, not text",
                        reply.len()
                    )),
                };
                finding.service_seen = seen.clone();
                finding.banner_seen = seen;
                state = UdpState::Open;
                break;
            }
            Ok(None) => {
                transcript.remark(&format!(
                    "no answer within {} ms (attempt {})",
                    wait.as_millis(),
                    attempt + 1
                ));
            }
            Err(NetError::Refused) => {
                transcript.remark("ICMP port unreachable");
                state = UdpState::Closed;
                break;
            }
            Err(error) => {
                transcript.remark(&error.to_string());
                finding.detail = format!("not probed: {error}");
                state = UdpState::NotProbed;
                break;
            }
        }
    }
    if state == UdpState::OpenFiltered {
        finding.detail = "no answer: open|filtered".to_owned();
    }
    if state == UdpState::Closed {
        finding.detail = "closed (ICMP port unreachable)".to_owned();
    }
    finding.transcript =
        Some(transcript.into_evidence(format!("exchanges with {}/udp", probe.port)));
    UdpResult { state, finding }
}
