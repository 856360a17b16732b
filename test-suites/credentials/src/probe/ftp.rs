//! FTP login: greeting, `USER`, `PASS`, judged by reply codes (RFC 959).

use super::link::{Link, ReadStop};
use super::{network_outcome, Login, Outcome, ProbeResult, Target};
use crate::parse::ftp::{parse_reply, Reply};
use iotcert_suite::{RunContext, Transcript};
use std::time::Duration;

const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Greetings and replies are short; a longer one is not FTP.
const REPLY_CAP: usize = 16 * 1024;

async fn read_reply(link: &mut Link, transcript: &mut Transcript) -> Result<Reply, Outcome> {
    let stop = link
        .read_until(REPLY_CAP, STEP_TIMEOUT, transcript, |bytes| {
            parse_reply(bytes).is_some()
        })
        .await;
    match parse_reply(&link.pending) {
        Some(reply) => {
            link.pending.drain(..reply.length.min(link.pending.len()));
            Ok(reply)
        }
        None => Err(Outcome::Undecided(match stop {
            ReadStop::Closed => "the server closed the connection".to_owned(),
            ReadStop::Timeout => "no FTP reply in time".to_owned(),
            ReadStop::Failed(error) => error.to_string(),
            _ => "the answer is not an FTP reply".to_owned(),
        })),
    }
}

fn throttle_or_undecided(reply: &Reply, during: &str) -> Outcome {
    match reply.code {
        421 => Outcome::Throttled(format!("{during}: {}", reply.text)),
        530 => Outcome::Refused,
        _ => Outcome::Undecided(format!("{during}: unexpected reply {}", reply.text)),
    }
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
    (converse(&mut link, login, transcript).await, None)
}

async fn converse(link: &mut Link, login: &Login, transcript: &mut Transcript) -> Outcome {
    let greeting = match read_reply(link, transcript).await {
        Ok(reply) => reply,
        Err(outcome) => return outcome,
    };
    if greeting.code != 220 {
        return throttle_or_undecided(&greeting, "greeting");
    }
    let user = format!(
        "USER {}\r\n",
        login.username.as_deref().unwrap_or("anonymous")
    );
    if let Err(error) = link.send(user.as_bytes(), STEP_TIMEOUT, transcript).await {
        return network_outcome(&error, "sending USER");
    }
    let reply = match read_reply(link, transcript).await {
        Ok(reply) => reply,
        Err(outcome) => return outcome,
    };
    match reply.code {
        // Logged in with no password at all.
        230 => return Outcome::Accepted,
        331 | 332 => {}
        _ => return throttle_or_undecided(&reply, "after USER"),
    }
    let pass = format!("PASS {}\r\n", login.password);
    if let Err(error) = link.send(pass.as_bytes(), STEP_TIMEOUT, transcript).await {
        return network_outcome(&error, "sending PASS");
    }
    let reply = match read_reply(link, transcript).await {
        Ok(reply) => reply,
        Err(outcome) => return outcome,
    };
    let outcome = match reply.code {
        230 | 202 => Outcome::Accepted,
        _ => throttle_or_undecided(&reply, "after PASS"),
    };
    // A polite goodbye; the answer does not matter.
    let _ = link.send(b"QUIT\r\n", STEP_TIMEOUT, transcript).await;
    outcome
}
