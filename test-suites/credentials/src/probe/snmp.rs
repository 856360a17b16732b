//! SNMP v1/v2c community strings: a `sysDescr.0` GetRequest per community.
//!
//! An agent is silent towards a community it does not know, so silence is read as a
//! refusal and only a GetResponse echoing our request id and community is a login.

use super::{network_outcome, Login, Outcome, ProbeResult, Target};
use crate::parse::snmp::{get_request, parse_response, SnmpVersion};
use iotcert_suite::{RunContext, Transcript};
use std::time::Duration;

/// How long to wait for an agent's answer to one request.
const ANSWER_WAIT: Duration = Duration::from_millis(1500);
const DATAGRAM_CAP: usize = 65_535;

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
) -> ProbeResult {
    let community = login.password.as_bytes();
    let mut refused = Outcome::Refused;
    for version in [SnmpVersion::V2c, SnmpVersion::V1] {
        let mut id_bytes = [0u8; 4];
        let _ = getrandom::fill(&mut id_bytes);
        let request_id = u32::from_be_bytes(id_bytes) & 0x7fff_ffff;
        let request = get_request(version, community, request_id);
        transcript.sent(&request);
        match ctx
            .udp_exchange(
                &target.unit,
                target.port,
                &request,
                ANSWER_WAIT,
                DATAGRAM_CAP,
            )
            .await
        {
            Ok(Some(answer)) => {
                transcript.received(&answer);
                match parse_response(&answer) {
                    Some(response)
                        if response.request_id == request_id && response.community == community =>
                    {
                        return (Outcome::Accepted, None)
                    }
                    _ => refused = Outcome::Undecided(
                        "the agent answered with something that is not a response to our request"
                            .to_owned(),
                    ),
                }
            }
            Ok(None) => transcript.remark(&format!(
                "{version:?}: no answer within {} ms",
                ANSWER_WAIT.as_millis()
            )),
            Err(error) => return (network_outcome(&error, "sending the request"), None),
        }
    }
    (refused, None)
}
