//! RTSP login: `DESCRIBE` answered with a basic or digest challenge (RFC 2326, 7826).

use super::http::basic_authorization;
use super::link::Link;
use super::{network_outcome, random_token, Login, Outcome, ProbeResult, Target};
use crate::parse::http::{digest_authorization, parse_challenges, parse_head, DigestInput};
use iotcert_suite::{RunContext, Transcript};
use iotcert_wire::http::Head;
use std::time::Duration;

const STEP_TIMEOUT: Duration = Duration::from_secs(5);
const HEAD_CAP: usize = 32 * 1024;

fn url(target: &Target) -> String {
    let host = match target.unit.address {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    format!("rtsp://{host}:{}{}", target.port, target.path)
}

async fn describe(
    link: &mut Link,
    target: &Target,
    sequence: u32,
    authorization: Option<&str>,
    transcript: &mut Transcript,
) -> Result<Head, Outcome> {
    let mut text = format!(
        "DESCRIBE {} RTSP/1.0\r\nCSeq: {sequence}\r\nUser-Agent: iotcert-credentials\r\nAccept: application/sdp\r\n",
        url(target)
    );
    if let Some(value) = authorization {
        text.push_str(&format!("Authorization: {value}\r\n"));
    }
    text.push_str("\r\n");
    link.send(text.as_bytes(), STEP_TIMEOUT, transcript)
        .await
        .map_err(|error| network_outcome(&error, "sending DESCRIBE"))?;
    link.pending.clear();
    link.read_until(HEAD_CAP, STEP_TIMEOUT, transcript, |bytes| {
        parse_head(bytes).is_some()
    })
    .await;
    let head = parse_head(&link.pending)
        .filter(|head| head.protocol.starts_with("RTSP/"))
        .ok_or_else(|| Outcome::Undecided("no RTSP response in time".to_owned()))?;
    // Skip the body (an SDP description) so the next response starts clean.
    let skip = head.length.unwrap_or_default().min(link.pending.len());
    link.pending.drain(..skip);
    Ok(head)
}

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
) -> ProbeResult {
    let mut link = match Link::open(ctx, target, STEP_TIMEOUT).await {
        Ok(link) => link,
        Err(error) => return (network_outcome(&error, "connecting"), None),
    };
    let baseline = match describe(&mut link, target, 1, None, transcript).await {
        Ok(head) => head,
        Err(outcome) => return (outcome, None),
    };
    if baseline.status != 401 {
        return (
            Outcome::Undecided(format!(
                "DESCRIBE without credentials answered {}, not 401",
                baseline.status
            )),
            None,
        );
    }
    let challenges: Vec<_> = baseline
        .headers_named("www-authenticate")
        .flat_map(parse_challenges)
        .collect();
    let username = login.username.as_deref().unwrap_or_default();
    let uri = url(target);
    let authorization = if let Some(digest) = challenges.iter().find(|c| c.scheme == "digest") {
        let cnonce = random_token(8);
        let input = DigestInput {
            method: "DESCRIBE",
            uri: &uri,
            username,
            password: &login.password,
            cnonce: &cnonce,
            nonce_count: 1,
        };
        match digest_authorization(digest, &input) {
            Some(value) => value,
            None => {
                return (
                    Outcome::Undecided("unsupported digest challenge".to_owned()),
                    None,
                )
            }
        }
    } else if challenges.iter().any(|c| c.scheme == "basic") {
        basic_authorization(username, &login.password)
    } else {
        return (
            Outcome::Undecided("RTSP 401 without a basic or digest challenge".to_owned()),
            None,
        );
    };
    let answer = match describe(&mut link, target, 2, Some(&authorization), transcript).await {
        Ok(head) => head,
        Err(outcome) => return (outcome, None),
    };
    let outcome = match answer.status {
        200..=299 => Outcome::Accepted,
        401 | 403 => Outcome::Refused,
        429 | 453 | 503 => Outcome::Throttled(format!("RTSP {}", answer.status)),
        status => Outcome::Undecided(format!("RTSP {status} after sending credentials")),
    };
    (outcome, None)
}
