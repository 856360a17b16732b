//! MQTT login: a CONNECT with username and password, judged by the CONNACK.
//!
//! The probe speaks 3.1.1 first and MQTT 5 when the broker refuses that version.

use super::link::{Link, ReadStop};
use super::{network_outcome, random_token, Login, Outcome, ProbeResult, Target};
use crate::parse::mqtt::{
    connect_packet, parse_connack, ConnackError, ConnackVerdict, MqttVersion,
};
use iotcert_suite::{RunContext, Transcript};
use std::time::Duration;

const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// A CONNACK is at most a few hundred bytes, even with MQTT 5 properties.
const CONNACK_CAP: usize = 4096;

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
) -> ProbeResult {
    let first = connect_once(ctx, target, login, MqttVersion::V311, transcript).await;
    if first == Err(ConnackVerdict::UnsupportedVersion) {
        let second = connect_once(ctx, target, login, MqttVersion::V5, transcript).await;
        return (into_outcome(second), None);
    }
    (into_outcome(first), None)
}

fn into_outcome(result: Result<Outcome, ConnackVerdict>) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Undecided("the broker speaks neither MQTT 3.1.1 nor 5".to_owned()),
    }
}

/// One CONNECT; `Err(UnsupportedVersion)` asks the caller to try the other version.
async fn connect_once(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    version: MqttVersion,
    transcript: &mut Transcript,
) -> Result<Outcome, ConnackVerdict> {
    let mut link = match Link::open(ctx, target, STEP_TIMEOUT).await {
        Ok(link) => link,
        Err(error) => return Ok(network_outcome(&error, "connecting")),
    };
    let client_id = format!("iotcert-{}", random_token(4));
    let password = login.username.as_ref().map(|_| login.password.as_str());
    let packet = connect_packet(version, &client_id, login.username.as_deref(), password);
    if let Err(error) = link.send(&packet, STEP_TIMEOUT, transcript).await {
        return Ok(network_outcome(&error, "sending CONNECT"));
    }
    let stop = link
        .read_until(CONNACK_CAP, STEP_TIMEOUT, transcript, |bytes| {
            parse_connack(bytes, version) != Err(ConnackError::Incomplete)
        })
        .await;
    match parse_connack(&link.pending, version) {
        Ok(connack) => match connack.verdict {
            ConnackVerdict::Accepted => Ok(Outcome::Accepted),
            ConnackVerdict::Refused => Ok(Outcome::Refused),
            ConnackVerdict::Throttled => Ok(Outcome::Throttled(format!(
                "CONNACK code {:#04x} (server busy, quota or rate exceeded)",
                connack.code
            ))),
            ConnackVerdict::UnsupportedVersion => Err(ConnackVerdict::UnsupportedVersion),
            ConnackVerdict::Other => Ok(Outcome::Undecided(format!(
                "CONNACK code {:#04x}",
                connack.code
            ))),
        },
        Err(ConnackError::NotConnack) => Ok(Outcome::Undecided(
            "the broker answered with something other than a CONNACK".to_owned(),
        )),
        Err(ConnackError::Incomplete) => Ok(Outcome::Undecided(match stop {
            // Some brokers drop the connection instead of answering a bad login.
            ReadStop::Closed => "the broker closed the connection without a CONNACK".to_owned(),
            ReadStop::Timeout => "no CONNACK in time".to_owned(),
            ReadStop::Failed(error) => error.to_string(),
            _ => "incomplete CONNACK".to_owned(),
        })),
    }
}
