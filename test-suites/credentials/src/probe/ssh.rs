//! SSH login: password, then keyboard-interactive when the server prefers it.
//!
//! The probe also records the server's host key fingerprint (SHA-256), which the
//! uniqueness check compares across units: one key on two units means every unit of
//! the model carries the same private key.

use super::link::Link;
use super::{network_outcome, Login, Outcome, ProbeResult, Target};
use iotcert_suite::{RunContext, Transcript};
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use russh::MethodKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STEP_TIMEOUT: Duration = Duration::from_secs(8);
/// Rounds of keyboard-interactive questions answered before giving up.
const MAX_INTERACTIVE_ROUNDS: usize = 4;

/// Records the host key and accepts it: the probe judges logins, not host keys.
struct KeyRecorder {
    fingerprint: Arc<Mutex<Option<String>>>,
}

impl client::Handler for KeyRecorder {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            PublicKeyOrCertificate::Certificate(certificate) => {
                certificate.public_key().fingerprint(HashAlg::Sha256)
            }
        }
        .to_string();
        if let Ok(mut slot) = self.fingerprint.lock() {
            *slot = Some(fingerprint);
        }
        Ok(true)
    }
}

/// Connect, say hello and return the host key fingerprint; used by the uniqueness check
/// when no login is tried.
pub async fn host_key(
    ctx: &RunContext,
    target: &Target,
    transcript: &mut Transcript,
) -> Result<String, Outcome> {
    let (handle, fingerprint) = handshake(ctx, target, transcript).await?;
    drop(handle);
    fingerprint.ok_or_else(|| Outcome::Undecided("the server showed no host key".to_owned()))
}

async fn handshake(
    ctx: &RunContext,
    target: &Target,
    transcript: &mut Transcript,
) -> Result<(client::Handle<KeyRecorder>, Option<String>), Outcome> {
    let link = Link::open(ctx, target, STEP_TIMEOUT)
        .await
        .map_err(|error| network_outcome(&error, "connecting"))?;
    let Some((stream, _permit)) = link.into_plain() else {
        return Err(Outcome::Undecided("SSH over TLS is not a thing".to_owned()));
    };
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(STEP_TIMEOUT),
        ..client::Config::default()
    });
    let fingerprint = Arc::new(Mutex::new(None));
    let recorder = KeyRecorder {
        fingerprint: Arc::clone(&fingerprint),
    };
    let connected = tokio::time::timeout(
        STEP_TIMEOUT,
        client::connect_stream(config, stream, recorder),
    )
    .await;
    let handle = match connected {
        Err(_) => return Err(Outcome::Undecided("no SSH handshake in time".to_owned())),
        Ok(Err(error)) => {
            transcript.remark(&format!("SSH handshake failed: {error}"));
            return Err(Outcome::Undecided(format!("SSH handshake failed: {error}")));
        }
        Ok(Ok(handle)) => handle,
    };
    let fingerprint = fingerprint.lock().ok().and_then(|slot| slot.clone());
    if let Some(key) = &fingerprint {
        transcript.remark(&format!("SSH handshake done, host key {key}"));
    }
    Ok((handle, fingerprint))
}

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
) -> ProbeResult {
    let (mut handle, fingerprint) = match handshake(ctx, target, transcript).await {
        Ok(connected) => connected,
        Err(outcome) => return (outcome, None),
    };
    let username = login.username.clone().unwrap_or_default();
    transcript.remark(&format!("password authentication as {username:?}"));
    let result = tokio::time::timeout(
        STEP_TIMEOUT,
        handle.authenticate_password(username.clone(), login.password.clone()),
    )
    .await;
    let outcome = match result {
        Err(_) => Outcome::Undecided("no answer to password authentication in time".to_owned()),
        Ok(Err(error)) => disconnected(&error),
        Ok(Ok(AuthResult::Success)) => Outcome::Accepted,
        Ok(Ok(AuthResult::Failure {
            remaining_methods, ..
        })) => {
            if remaining_methods.contains(&MethodKind::KeyboardInteractive) {
                keyboard_interactive(&mut handle, &username, &login.password, transcript).await
            } else {
                Outcome::Refused
            }
        }
    };
    transcript.remark(&format!("outcome: {}", outcome.word()));
    let _ = tokio::time::timeout(
        Duration::from_millis(500),
        handle.disconnect(russh::Disconnect::ByApplication, "", "en"),
    )
    .await;
    (outcome, fingerprint)
}

/// Answer every hidden prompt with the password, every visible one with the username.
async fn keyboard_interactive(
    handle: &mut client::Handle<KeyRecorder>,
    username: &str,
    password: &str,
    transcript: &mut Transcript,
) -> Outcome {
    transcript.remark("keyboard-interactive authentication");
    let mut response = match tokio::time::timeout(
        STEP_TIMEOUT,
        handle.authenticate_keyboard_interactive_start(username.to_owned(), None),
    )
    .await
    {
        Err(_) => {
            return Outcome::Undecided("no answer to keyboard-interactive in time".to_owned())
        }
        Ok(Err(error)) => return disconnected(&error),
        Ok(Ok(response)) => response,
    };
    for _ in 0..MAX_INTERACTIVE_ROUNDS {
        match response {
            KeyboardInteractiveAuthResponse::Success => return Outcome::Accepted,
            KeyboardInteractiveAuthResponse::Failure { .. } => return Outcome::Refused,
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|prompt| {
                        if prompt.echo {
                            username.to_owned()
                        } else {
                            password.to_owned()
                        }
                    })
                    .collect();
                response = match tokio::time::timeout(
                    STEP_TIMEOUT,
                    handle.authenticate_keyboard_interactive_respond(answers),
                )
                .await
                {
                    Err(_) => {
                        return Outcome::Undecided(
                            "no answer to keyboard-interactive in time".to_owned(),
                        )
                    }
                    Ok(Err(error)) => return disconnected(&error),
                    Ok(Ok(response)) => response,
                };
            }
        }
    }
    Outcome::Undecided("keyboard-interactive asked more questions than a login needs".to_owned())
}

/// A server that hangs up during authentication refuses to judge more guesses.
fn disconnected(error: &russh::Error) -> Outcome {
    match error {
        russh::Error::Disconnect | russh::Error::HUP => Outcome::Throttled(format!(
            "the server hung up during authentication ({error})"
        )),
        other => Outcome::Undecided(format!("SSH error: {other}")),
    }
}
