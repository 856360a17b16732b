//! SSH login: password, then keyboard-interactive when the server prefers it.
//!
//! The probe also records the server's host key fingerprint (SHA-256), which the
//! uniqueness check compares across units: one key on two units means every unit of
//! the model carries the same private key.

use super::link::Link;
use super::{network_outcome, Identity, Login, Outcome, ProbeResult, Target};
use iotcert_suite::{RunContext, Transcript};
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use russh::MethodKind;
use std::os::fd::AsFd as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt as _;

const STEP_TIMEOUT: Duration = Duration::from_secs(8);
/// Rounds of keyboard-interactive questions answered before giving up.
const MAX_INTERACTIVE_ROUNDS: usize = 4;

/// How long, after saying goodbye, the probe waits for the server to close its end,
/// and the most bytes it reads meanwhile.
const LINGER_TIMEOUT: Duration = Duration::from_millis(300);
const LINGER_BYTE_CAP: usize = 16 * 1024;

/// Longest authentication banner kept as evidence.
const BANNER_CAP: usize = 512;

/// Records the host key and accepts it: the probe judges logins, not host keys. Also
/// keeps the authentication banner, where a locked server may say why it hangs up, and
/// how the session ended.
struct KeyRecorder {
    fingerprint: Arc<Mutex<Option<String>>>,
    notes: Notes,
}

/// What the server said on the side: its banner, and why the session ended when the
/// server ended it (not when we gave up because no method was left).
#[derive(Default)]
struct SideNotes {
    banner: Option<String>,
    hang_up: Option<String>,
}

type Notes = Arc<Mutex<SideNotes>>;

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

    async fn auth_banner(
        &mut self,
        banner: &str,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        if let Ok(mut notes) = self.notes.lock() {
            notes.banner = Some(banner.trim().chars().take(BANNER_CAP).collect());
        }
        Ok(())
    }

    async fn disconnected(
        &mut self,
        reason: client::DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let hang_up = match &reason {
            client::DisconnectReason::ReceivedDisconnect(info) => Some(format!(
                "the server disconnected ({:?}: {})",
                info.reason_code,
                info.message.chars().take(BANNER_CAP).collect::<String>()
            )),
            // Our own side giving up after a refusal that left no method to try.
            client::DisconnectReason::Error(russh::Error::NoAuthMethod) => None,
            client::DisconnectReason::Error(error) => Some(format!(
                "the server hung up during authentication ({error})"
            )),
        };
        if let (Some(text), Ok(mut notes)) = (hang_up, self.notes.lock()) {
            notes.hang_up = Some(text);
        }
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(error) => Err(error),
        }
    }
}

/// Connect, say hello and return the host key fingerprint; used by the uniqueness check
/// when no login is tried.
pub async fn host_key(
    ctx: &RunContext,
    target: &Target,
    transcript: &mut Transcript,
) -> Result<String, Outcome> {
    let (handle, fingerprint, _notes, _linger) = handshake(ctx, target, transcript).await?;
    drop(handle);
    fingerprint.ok_or_else(|| Outcome::Undecided("the server showed no host key".to_owned()))
}

/// A second handle on the connection's socket, kept after russh is done with it, to
/// see the server close its end.
struct Linger(tokio::net::TcpStream);

impl Linger {
    fn of(stream: &tokio::net::TcpStream) -> Option<Linger> {
        let duplicate = stream.as_fd().try_clone_to_owned().ok()?;
        tokio::net::TcpStream::from_std(std::net::TcpStream::from(duplicate))
            .ok()
            .map(Linger)
    }

    /// Wait, bounded, until the server has closed the connection. A server holding few
    /// connections at once (dropbear: 5 per address) frees the slot only when the
    /// process serving it exits; connecting again before that gets turned away.
    async fn until_closed(self) {
        let mut stream = self.0;
        let mut sink = [0u8; 1024];
        let mut left = LINGER_BYTE_CAP;
        let _ = tokio::time::timeout(LINGER_TIMEOUT, async {
            while left > 0 {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => left = left.saturating_sub(read),
                }
            }
        })
        .await;
    }
}

async fn handshake(
    ctx: &RunContext,
    target: &Target,
    transcript: &mut Transcript,
) -> Result<
    (
        client::Handle<KeyRecorder>,
        Option<String>,
        Notes,
        Option<Linger>,
    ),
    Outcome,
> {
    let link = Link::open(ctx, target, STEP_TIMEOUT)
        .await
        .map_err(|error| network_outcome(&error, "connecting"))?;
    let Some((stream, _permit)) = link.into_plain() else {
        return Err(Outcome::Undecided("SSH over TLS is not a thing".to_owned()));
    };
    // A server at its connection limit (dropbear holds 5 unauthenticated connections
    // per address) closes the others before its identification line.
    let mut first = [0u8; 1];
    match tokio::time::timeout(STEP_TIMEOUT, stream.peek(&mut first)).await {
        Err(_) => {
            return Err(Outcome::Undecided(
                "no SSH identification line in time".to_owned(),
            ))
        }
        Ok(Ok(0)) => {
            return Err(Outcome::TurnedAway(
                "the server closed the connection before its SSH identification line".to_owned(),
            ))
        }
        Ok(Err(error)) => {
            return Err(Outcome::TurnedAway(format!(
                "the connection broke before the SSH identification line: {error}"
            )))
        }
        Ok(Ok(_)) => {}
    }
    let linger = Linger::of(&stream);
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(STEP_TIMEOUT),
        ..client::Config::default()
    });
    let fingerprint = Arc::new(Mutex::new(None));
    let notes = Notes::default();
    let recorder = KeyRecorder {
        fingerprint: Arc::clone(&fingerprint),
        notes: Arc::clone(&notes),
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
    Ok((handle, fingerprint, notes, linger))
}

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
    answer: &mut Option<Duration>,
) -> ProbeResult {
    let (mut handle, fingerprint, notes, linger) = match handshake(ctx, target, transcript).await {
        Ok(connected) => connected,
        Err(outcome) => return (outcome, None),
    };
    let username = login.username.clone().unwrap_or_default();
    transcript.remark(&format!("password authentication as {username:?}"));
    let asked = Instant::now();
    let result = tokio::time::timeout(
        STEP_TIMEOUT,
        handle.authenticate_password(username.clone(), login.password.clone()),
    )
    .await;
    let outcome = match result {
        Err(_) => Outcome::Undecided("no answer to password authentication in time".to_owned()),
        Ok(Err(error)) => disconnected(&error),
        Ok(Ok(AuthResult::Success)) => Outcome::Accepted,
        // russh reports a session the server ended while we waited as a failure with no
        // method left: that is a hang-up, not a judgement of the password.
        Ok(Ok(AuthResult::Failure { .. })) if hung_up(&notes).is_some() => {
            hung_up(&notes).unwrap_or(Outcome::Refused)
        }
        Ok(Ok(AuthResult::Failure {
            remaining_methods, ..
        })) => {
            if remaining_methods.contains(&MethodKind::KeyboardInteractive) {
                keyboard_interactive(&mut handle, &username, &login.password, transcript).await
            } else if remaining_methods.contains(&MethodKind::Password) {
                Outcome::Refused
            } else if remaining_methods.is_empty() {
                Outcome::Undecided(
                    "the server refused password authentication and named no method to go on with"
                        .to_owned(),
                )
            } else {
                let offered: Vec<&str> = remaining_methods.iter().map(<&str>::from).collect();
                Outcome::NoPasswordLogin(format!(
                    "the SSH server offers no password method (it offers: {})",
                    offered.join(", ")
                ))
            }
        }
    };
    *answer = Some(asked.elapsed());
    transcript.remark(&format!(
        "outcome: {} after {} ms",
        outcome.word(),
        asked.elapsed().as_millis()
    ));
    let _ = tokio::time::timeout(
        Duration::from_millis(500),
        handle.disconnect(russh::Disconnect::ByApplication, "", "en"),
    )
    .await;
    let _ = tokio::time::timeout(LINGER_TIMEOUT, &mut handle).await;
    drop(handle);
    if let Some(linger) = linger {
        linger.until_closed().await;
    }
    (outcome, fingerprint.map(Identity::HostKey))
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

/// The outcome when the server ended the session, saying why in its banner when it did.
fn hung_up(notes: &Notes) -> Option<Outcome> {
    let notes = notes.lock().ok()?;
    let hang_up = notes.hang_up.as_deref()?;
    let said = notes
        .banner
        .as_deref()
        .map(|text| format!("; its banner said: {text}"))
        .unwrap_or_default();
    Some(Outcome::Throttled(format!("{hang_up}{said}")))
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
