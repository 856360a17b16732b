//! Telnet login: negotiation, `login:` and `Password:` prompts, and a confirmed shell.
//!
//! A shell prompt after the password is not yet proof: a hostile or odd device may
//! print `# ` to anyone. The probe sends `id` (or else `echo` of an arithmetic
//! expression) and counts the login as accepted only when the answer (`uid=`, or the
//! computed value) comes back, something no echo of our own typing can fake.

use super::link::{Link, ReadStop};
use super::{network_outcome, Login, Outcome, ProbeResult, Target, REPLY_CAP};
use crate::parse::telnet::{classify, Negotiation, Screen};
use iotcert_suite::{RunContext, Transcript};
use std::time::Duration;

/// Time allowed for each prompt or answer of the device.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// One telnet conversation: the link, the negotiation state and the screen text
/// received since the last input.
struct Conversation<'a> {
    link: Link,
    negotiation: Negotiation,
    screen: Vec<u8>,
    transcript: &'a mut Transcript,
}

impl Conversation<'_> {
    /// Read until `want` says the screen is ready, answering negotiation on the way.
    async fn read_screen(&mut self, want: impl Fn(&[u8]) -> bool) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            if want(&self.screen) {
                return Ok(());
            }
            if self.screen.len() >= REPLY_CAP {
                return Err(format!("more than {REPLY_CAP} bytes without a prompt"));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "no recognisable prompt within {} s",
                    STEP_TIMEOUT.as_secs()
                ));
            }
            self.link.pending.clear();
            let stop = self
                .link
                .read_until(REPLY_CAP, left, self.transcript, |bytes| !bytes.is_empty())
                .await;
            let decoded = self.negotiation.feed(&self.link.pending);
            self.screen.extend_from_slice(&decoded.screen);
            if !decoded.replies.is_empty() {
                self.link
                    .send(&decoded.replies, STEP_TIMEOUT, self.transcript)
                    .await
                    .map_err(|e| format!("answering negotiation: {e}"))?;
            }
            match stop {
                ReadStop::Complete | ReadStop::Cap => {}
                ReadStop::Closed => {
                    return if want(&self.screen) {
                        Ok(())
                    } else {
                        Err("the device closed the connection".to_owned())
                    }
                }
                ReadStop::Timeout => {
                    return Err(format!(
                        "no recognisable prompt within {} s",
                        STEP_TIMEOUT.as_secs()
                    ))
                }
                ReadStop::Failed(error) => return Err(error.to_string()),
            }
        }
    }

    async fn type_line(&mut self, text: &str) -> Result<(), String> {
        self.screen.clear();
        let line = format!("{text}\r\n");
        self.link
            .send(line.as_bytes(), STEP_TIMEOUT, self.transcript)
            .await
            .map_err(|e| format!("sending input: {e}"))
    }
}

fn decided(screen: &[u8]) -> bool {
    classify(screen) != Screen::Undecided
}

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
) -> ProbeResult {
    let link = match Link::open(ctx, target, STEP_TIMEOUT).await {
        Ok(link) => link,
        Err(error) => return (network_outcome(&error, "connecting"), None),
    };
    let mut talk = Conversation {
        link,
        negotiation: Negotiation::default(),
        screen: Vec::new(),
        transcript,
    };
    (converse(&mut talk, login).await, None)
}

async fn converse(talk: &mut Conversation<'_>, login: &Login) -> Outcome {
    if let Err(reason) = talk.read_screen(decided).await {
        return Outcome::Undecided(format!("before login: {reason}"));
    }
    let mut screen = classify(&talk.screen);
    if screen == Screen::LoginPrompt {
        let username = login.username.as_deref().unwrap_or_default();
        if let Err(reason) = talk.type_line(username).await {
            return Outcome::Undecided(reason);
        }
        if let Err(reason) = talk.read_screen(decided).await {
            return Outcome::Undecided(format!("after the username: {reason}"));
        }
        screen = classify(&talk.screen);
    }
    match screen {
        Screen::PasswordPrompt => {
            if let Err(reason) = talk.type_line(&login.password).await {
                return Outcome::Undecided(reason);
            }
            if let Err(reason) = talk.read_screen(decided).await {
                return Outcome::Undecided(format!("after the password: {reason}"));
            }
            judge_after_password(talk).await
        }
        // A shell right after the username: the account has no password at all.
        Screen::ShellPrompt => confirm_shell(talk).await,
        Screen::Throttled => Outcome::Throttled(screen_text(&talk.screen)),
        Screen::Refused => Outcome::Refused,
        // Asked for the username again without a password prompt or a refusal notice:
        // nothing judged our password (an endless prompt, or a broken login program).
        Screen::LoginPrompt => Outcome::Undecided(
            "the device asked for the username again without asking a password".to_owned(),
        ),
        Screen::Undecided => Outcome::Undecided("no login or password prompt".to_owned()),
    }
}

async fn judge_after_password(talk: &mut Conversation<'_>) -> Outcome {
    match classify(&talk.screen) {
        Screen::ShellPrompt => confirm_shell(talk).await,
        Screen::Refused | Screen::LoginPrompt | Screen::PasswordPrompt => Outcome::Refused,
        Screen::Throttled => Outcome::Throttled(screen_text(&talk.screen)),
        Screen::Undecided => Outcome::Undecided("no prompt after the password".to_owned()),
    }
}

/// Ask the shell who we are (`id`, answered with `uid=`), or else to compute something
/// (`echo` of an arithmetic expansion); accepted only when the answer comes back.
async fn confirm_shell(talk: &mut Conversation<'_>) -> Outcome {
    if talk.type_line("id").await.is_ok()
        && talk
            .read_screen(|screen| contains(screen, b"uid="))
            .await
            .is_ok()
    {
        return Outcome::Accepted;
    }
    let (left, right) = (
        3_000 + u32::from(random_byte()),
        700 + u32::from(random_byte()),
    );
    let expected = format!("iotcert{}", left * right);
    if let Err(reason) = talk
        .type_line(&format!("echo iotcert$(({left}*{right}))"))
        .await
    {
        return Outcome::Undecided(reason);
    }
    let expected_bytes = expected.clone().into_bytes();
    let found = talk
        .read_screen(|screen| contains(screen, &expected_bytes))
        .await;
    match found {
        Ok(()) => Outcome::Accepted,
        Err(reason) => Outcome::Undecided(format!(
            "a prompt appeared after the login, but the shell did not evaluate a command ({reason}); not counted as a login"
        )),
    }
}

fn random_byte() -> u8 {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    byte[0]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn screen_text(screen: &[u8]) -> String {
    let text = String::from_utf8_lossy(screen);
    let trimmed: String = text.trim().chars().take(200).collect();
    format!("the device said: {trimmed}")
}
