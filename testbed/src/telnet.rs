//! The telnet management shell of the insecure device: cleartext administration.
//!
//! Cheap cameras and routers still ship a BusyBox telnetd, and it is the first thing a
//! botnet tries; the ports, credentials and banner checks need one to find. This one
//! negotiates like telnetd (the server will echo and suppress go-ahead, and asks for the
//! window size), prints the pre-login banner (versions only with
//! [`crate::Flaws::version_banners`]), asks `login:` and `Password:` (three tries per
//! connection, each counted by the device's lockout), and then offers a `# ` prompt with
//! `help`, `uname`, `id` and `exit`.
//!
//! The stream is split into data and commands by the shared incremental decoder of
//! `iotcert-wire` (fuzzed there); what the daemon answers is [`Negotiation`], pure too.

use crate::accounts::LoginOutcome;
use crate::limits;
use crate::state::DeviceState;
use iotcert_wire::telnet::{Command, Decoder};
use std::collections::VecDeque;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// The telnet bytes the daemon negotiates with, re-exported for the tests that speak
/// raw telnet to it.
pub use iotcert_wire::telnet::{
    DO, DONT, IAC, OPTION_ECHO, OPTION_SUPPRESS_GO_AHEAD, OPTION_WINDOW_SIZE, SB, SE, WILL, WONT,
};

/// Longest input line; further characters are ignored until the line ends.
const MAX_LINE: usize = 256;
/// Login attempts per connection.
const LOGIN_ATTEMPTS: usize = 3;
/// Time allowed to type a username or password.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle time allowed at the shell prompt.
const SHELL_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Commands run in one shell session before it is closed.
const MAX_COMMANDS: usize = 1000;

/// The host name the shell and banners show.
const HOSTNAME: &str = "acmecam";
const KERNEL_BANNER: &str = "Linux acmecam 4.14.98 armv7l";
/// What `uname -a` prints, in the order of the real command.
const UNAME_ALL: &str =
    "Linux acmecam 4.14.98 #1 SMP PREEMPT Tue Mar 12 10:02:11 UTC 2019 armv7l GNU/Linux";
const BUSYBOX_BANNER: &str = "BusyBox v1.31.1 (2019-03-12 10:02:11 UTC) built-in shell (ash)";

/// What the server has agreed to, and what it has already refused (so that it never
/// answers the same request twice and two peers cannot loop).
#[derive(Clone, Debug, Default)]
pub struct Negotiation {
    /// Options the server offered with WILL.
    offered: OptionSet,
    /// Options the server has answered WONT or DONT to.
    refused: OptionSet,
    /// Whether the client accepted that the server echoes (DO ECHO).
    echo: bool,
}

/// One flag per telnet option code (0 to 255).
#[derive(Clone, Debug)]
struct OptionSet([bool; 256]);

impl Default for OptionSet {
    fn default() -> Self {
        OptionSet([false; 256])
    }
}

impl OptionSet {
    fn has(&self, option: u8) -> bool {
        self.0.get(usize::from(option)).copied().unwrap_or(false)
    }

    fn set(&mut self, option: u8, value: bool) {
        if let Some(flag) = self.0.get_mut(usize::from(option)) {
            *flag = value;
        }
    }
}

impl Negotiation {
    /// The opening of a session: WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO NAWS.
    pub fn opening(&mut self) -> Vec<u8> {
        self.offered.set(OPTION_ECHO, true);
        self.offered.set(OPTION_SUPPRESS_GO_AHEAD, true);
        vec![
            IAC,
            WILL,
            OPTION_ECHO,
            IAC,
            WILL,
            OPTION_SUPPRESS_GO_AHEAD,
            IAC,
            DO,
            OPTION_WINDOW_SIZE,
        ]
    }

    /// Whether the server is echoing the client's input.
    pub fn echo(&self) -> bool {
        self.echo
    }

    /// The answer to a client's `IAC verb option`, if one is due.
    pub fn answer(&mut self, verb: u8, option: u8) -> Option<[u8; 3]> {
        match verb {
            DO if self.offered.has(option) => {
                if option == OPTION_ECHO {
                    self.echo = true;
                }
                None
            }
            DONT => {
                if option == OPTION_ECHO {
                    self.echo = false;
                }
                self.offered.set(option, false);
                None
            }
            // WILL NAWS answers our DO; WONT needs no answer.
            WILL if option == OPTION_WINDOW_SIZE => None,
            DO | WILL if !self.refused.has(option) => {
                self.refused.set(option, true);
                Some([IAC, if verb == DO { WONT } else { DONT }, option])
            }
            _ => None,
        }
    }
}

/// A telnet session: the stream, the decoder, and decoded data not yet consumed.
struct Session<S> {
    stream: S,
    decoder: Decoder,
    negotiation: Negotiation,
    pending: VecDeque<u8>,
    /// A CR ended the last line: a following LF or NUL belongs to it.
    after_carriage_return: bool,
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    async fn send(&mut self, text: &str) -> io::Result<()> {
        limits::write_all(&mut self.stream, text.as_bytes()).await
    }

    /// Reads more bytes from the client, answering negotiations and queueing data.
    async fn fill(&mut self, timeout: Duration) -> io::Result<()> {
        let mut chunk = [0u8; 512];
        let count = limits::read_some(&mut self.stream, &mut chunk, timeout).await?;
        if count == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let decoded = self.decoder.feed(chunk.get(..count).unwrap_or_default());
        self.pending.extend(decoded.text);
        let mut answers = Vec::new();
        for command in decoded.commands {
            if let Command::Negotiation { verb, option } = command {
                answers.extend(
                    self.negotiation
                        .answer(verb.byte(), option)
                        .unwrap_or_default(),
                );
            }
        }
        if !answers.is_empty() {
            limits::write_all(&mut self.stream, &answers).await?;
        }
        Ok(())
    }

    /// Reads one line, echoing it when asked to and the client lets the server echo.
    /// Ctrl-C or Ctrl-D end the session (an `UnexpectedEof` error).
    async fn read_line(&mut self, echo: bool, timeout: Duration) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            let Some(byte) = self.pending.pop_front() else {
                self.fill(timeout).await?;
                continue;
            };
            if std::mem::take(&mut self.after_carriage_return) && (byte == b'\n' || byte == 0) {
                continue;
            }
            let echo = echo && self.negotiation.echo();
            match byte {
                b'\r' | b'\n' => {
                    self.after_carriage_return = byte == b'\r';
                    if echo {
                        self.send("\r\n").await?;
                    }
                    return Ok(line);
                }
                0x03 | 0x04 => return Err(io::ErrorKind::UnexpectedEof.into()),
                0x08 | 0x7f => {
                    let erased = line.pop().is_some();
                    if erased && echo {
                        self.send("\x08 \x08").await?;
                    }
                }
                0x20..=0x7e if line.len() < MAX_LINE => {
                    line.push(byte);
                    if echo {
                        limits::write_all(&mut self.stream, &[byte]).await?;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The banner shown before the login prompt.
fn banner(state: &DeviceState) -> String {
    if state.flaws.version_banners {
        format!(
            "\r\nAcmeCam firmware {}\r\n{KERNEL_BANNER}\r\n{BUSYBOX_BANNER}\r\n\r\n",
            state.firmware_version()
        )
    } else {
        "\r\n".to_owned()
    }
}

/// The output of one shell command, or `None` for a command that ends the session.
fn run_command(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let output = match words.as_slice() {
        [] => String::new(),
        ["exit" | "logout"] => return None,
        ["help"] => "Built-in commands: help uname id exit\r\n".to_owned(),
        ["uname"] => "Linux\r\n".to_owned(),
        ["uname", "-a"] => format!("{UNAME_ALL}\r\n"),
        ["id"] => "uid=0(root) gid=0(root)\r\n".to_owned(),
        [command, ..] => format!("-sh: {command}: not found\r\n"),
    };
    Some(output)
}

/// Serves one telnet connection: negotiation, login, then the shell.
pub(crate) async fn serve<S>(stream: S, state: &DeviceState) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session {
        stream,
        decoder: Decoder::new(),
        negotiation: Negotiation::default(),
        pending: VecDeque::new(),
        after_carriage_return: false,
    };
    let opening = session.negotiation.opening();
    limits::write_all(&mut session.stream, &opening).await?;
    session.send(&banner(state)).await?;
    let mut logged_in = false;
    for _ in 0..LOGIN_ATTEMPTS {
        session.send(&format!("{HOSTNAME} login: ")).await?;
        let username = session.read_line(true, LOGIN_TIMEOUT).await?;
        session.send("Password: ").await?;
        let password = session.read_line(false, LOGIN_TIMEOUT).await?;
        if session.negotiation.echo() {
            // The Enter that ended the password was not echoed either.
            session.send("\r\n").await?;
        }
        match state.accounts.login(&username, &password) {
            LoginOutcome::Accepted => {
                logged_in = true;
                break;
            }
            LoginOutcome::Refused => session.send("Login incorrect\r\n").await?,
            LoginOutcome::LockedOut => {
                session
                    .send("Too many failed logins; try again later\r\n")
                    .await?;
                break;
            }
        }
    }
    if logged_in {
        for _ in 0..MAX_COMMANDS {
            session.send("# ").await?;
            let line = session.read_line(true, SHELL_IDLE_TIMEOUT).await?;
            match run_command(&String::from_utf8_lossy(&line)) {
                Some(output) => session.send(&output).await?,
                None => break,
            }
        }
    }
    limits::close(&mut session.stream).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn negotiation_acknowledges_offers_and_refuses_others_once() {
        let mut negotiation = Negotiation::default();
        negotiation.opening();
        assert_eq!(negotiation.answer(DO, OPTION_ECHO), None);
        assert!(negotiation.echo());
        assert_eq!(negotiation.answer(WILL, OPTION_WINDOW_SIZE), None);
        assert_eq!(negotiation.answer(DO, 24), Some([IAC, WONT, 24]));
        assert_eq!(negotiation.answer(DO, 24), None);
        assert_eq!(negotiation.answer(WILL, 39), Some([IAC, DONT, 39]));
        assert_eq!(negotiation.answer(DONT, OPTION_ECHO), None);
        assert!(!negotiation.echo());
    }

    #[test]
    fn shell_commands() {
        assert_eq!(run_command("exit"), None);
        assert_eq!(run_command("uname -a").unwrap(), format!("{UNAME_ALL}\r\n"));
        assert_eq!(run_command("rm -rf /").unwrap(), "-sh: rm: not found\r\n");
        assert_eq!(run_command("   ").unwrap(), "");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut negotiation = Negotiation::default();
            for command in Decoder::new().feed(&bytes).commands {
                if let Command::Negotiation { verb, option } = command {
                    let _ = negotiation.answer(verb.byte(), option);
                }
            }
        }
    }
}
