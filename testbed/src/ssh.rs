//! The SSH server of every virtual device: password logins to the administrator account.
//!
//! EN 303 645 5.1-1/5.1-2 ask that secrets be unique per unit, and an SSH host key is the
//! secret a scanner can compare without logging in. The secure device draws an Ed25519
//! host key from the operating system's random number generator when it starts; with
//! [`crate::Flaws::shared_host_key`] every unit derives its key from one seed baked into
//! the "firmware", so two units show the same fingerprint, as on devices whose image
//! ships `/etc/dropbear/dropbear_ed25519_host_key`.
//!
//! Logins go through the device's one administrator account, so the lockout counts SSH
//! failures together with telnet, web and MQTT ones; a locked device hangs up at once.
//! Without [`crate::Flaws::no_login_lockout`] every refusal is also delayed, as dropbear
//! and OpenSSH do. After a login the client may run `id`, `uname [-a]`, `help` as an exec
//! request or at a `# ` shell prompt; nothing else.
//!
//! The russh session runs in its own task; this module feeds it through an in-memory pipe
//! so the connection task of the device keeps the socket: ending that task (device
//! shutdown, session time limit) closes the pipe and with it the session.

use crate::accounts::LoginOutcome;
use crate::limits;
use crate::state::DeviceState;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet, SshId};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// The seed every unit of a model with [`crate::Flaws::shared_host_key`] derives its
/// host key from: one key for the whole model, as if baked into the firmware image.
const SHARED_HOST_KEY_SEED: &[u8] = b"iotcert-testbed: AcmeCam firmware 1.0.3 dropbear host key";
/// Password attempts allowed on one connection.
const MAX_AUTH_ATTEMPTS: usize = 3;
/// Delay of every refused login on a device that guards against guessing.
const REJECTION_DELAY: Duration = Duration::from_millis(300);
/// Delay of a refused login on a device without that guard (small, but constant).
const NO_DELAY: Duration = Duration::from_millis(1);
/// Idle time after which a session is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Time one connection may last in all.
const SESSION_LIMIT: Duration = Duration::from_secs(600);
/// Bytes buffered between the socket and the SSH session.
const PIPE_BUFFER: usize = 64 * 1024;
/// Longest shell input line kept; the rest of the line is ignored.
const MAX_LINE: usize = 256;
/// Commands run in one shell session before it is closed.
const MAX_COMMANDS: usize = 1000;

/// The host key of a new unit: from the model's shared seed, or freshly random.
pub(crate) fn host_key(shared: bool) -> Result<PrivateKey, getrandom::Error> {
    let mut seed = [0u8; 32];
    if shared {
        seed.copy_from_slice(&Sha256::digest(SHARED_HOST_KEY_SEED));
    } else {
        getrandom::fill(&mut seed)?;
    }
    Ok(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
}

/// `SHA256:...` fingerprint of a host key, as `ssh-keygen -l` prints it.
pub(crate) fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// The one login method offered.
fn password_only() -> MethodSet {
    MethodSet::from(&[MethodKind::Password][..])
}

/// The server configuration of one unit.
pub(crate) fn config(
    key: PrivateKey,
    guarded: bool,
    version_banner: bool,
) -> Arc<russh::server::Config> {
    let id = if version_banner {
        "SSH-2.0-dropbear_2019.78"
    } else {
        "SSH-2.0-dropbear"
    };
    Arc::new(russh::server::Config {
        server_id: SshId::Standard(Cow::Borrowed(id)),
        methods: password_only(),
        auth_rejection_time: if guarded { REJECTION_DELAY } else { NO_DELAY },
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        max_auth_attempts: MAX_AUTH_ATTEMPTS,
        inactivity_timeout: Some(IDLE_TIMEOUT),
        nodelay: true,
        ..russh::server::Config::default()
    })
}

/// Serves one SSH connection until the client leaves, the session idles out or
/// [`SESSION_LIMIT`] passes.
pub(crate) async fn serve<S>(mut stream: S, state: Arc<DeviceState>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut ours, theirs) = tokio::io::duplex(PIPE_BUFFER);
    let handler = Connection {
        state: Arc::clone(&state),
        line: Vec::new(),
        echo: false,
        after_carriage_return: false,
        commands: 0,
    };
    let config = Arc::clone(&state.ssh_config);
    let session = async move {
        let running = tokio::time::timeout(
            limits::HANDSHAKE_TIMEOUT,
            russh::server::run_stream(config, theirs, handler),
        )
        .await;
        if let Ok(Ok(running)) = running {
            // How the session ended changes nothing for the device.
            let _ = running.await;
        }
    };
    let work = async {
        let pump = tokio::io::copy_bidirectional(&mut stream, &mut ours);
        tokio::pin!(pump);
        tokio::select! {
            // The client left: dropping our end of the pipe ends the session.
            _ = &mut pump => {}
            // The session ended: let its last packets (disconnect, close) reach the client.
            () = session => {
                let _ = tokio::time::timeout(limits::CLOSE_TIMEOUT, &mut pump).await;
            }
        }
    };
    let _ = tokio::time::timeout(SESSION_LIMIT, work).await;
    drop(ours);
    limits::close(&mut stream).await;
}

/// The output of one command, or `None` for a command that ends the session.
fn run_command(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let output = match words.as_slice() {
        [] => String::new(),
        ["exit" | "logout"] => return None,
        ["help"] => "Built-in commands: help uname id exit\r\n".to_owned(),
        ["uname"] => "Linux\r\n".to_owned(),
        ["uname", "-a"] => {
            "Linux acmecam 4.14.98 #1 SMP PREEMPT Tue Mar 12 10:02:11 UTC 2019 armv7l GNU/Linux\r\n"
                .to_owned()
        }
        ["id"] => "uid=0(root) gid=0(root)\r\n".to_owned(),
        [command, ..] => format!("-sh: {command}: not found\r\n"),
    };
    Some(output)
}

/// One client connection, as russh's handler.
struct Connection {
    state: Arc<DeviceState>,
    /// Shell input not yet ended by Enter.
    line: Vec<u8>,
    /// Whether a terminal was asked for (then the shell echoes what is typed).
    echo: bool,
    /// The last byte was a carriage return (so a `\n` after it ends no second line).
    after_carriage_return: bool,
    commands: usize,
}

impl Connection {
    fn end_channel(session: &mut Session, channel: ChannelId) -> Result<(), russh::Error> {
        session.exit_status_request(channel, 0)?;
        session.eof(channel)?;
        session.close(channel)
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        Ok(self.state.accounts.locked_for().map(|left| {
            format!(
                "Too many failed logins; try again in {} s\r\n",
                left.as_secs()
            )
        }))
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        match self
            .state
            .accounts
            .login(user.as_bytes(), password.as_bytes())
        {
            LoginOutcome::Accepted => Ok(Auth::Accept),
            // Password stays on offer, as with dropbear and OpenSSH.
            LoginOutcome::Refused => Ok(Auth::Reject {
                proceed_with_methods: Some(password_only()),
                partial_success: false,
            }),
            // A locked device does not judge the password at all: it hangs up.
            LoginOutcome::LockedOut => Err(russh::Error::Disconnect),
        }
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.echo = true;
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        session.data(channel, &b"# "[..])
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let command = String::from_utf8_lossy(data.get(..MAX_LINE).unwrap_or(data));
        let output = run_command(&command).unwrap_or_default();
        session.data(channel, output.replace("\r\n", "\n").into_bytes())?;
        Self::end_channel(session, channel)
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        for &byte in data {
            let after_carriage_return =
                std::mem::replace(&mut self.after_carriage_return, byte == b'\r');
            if byte == b'\n' && after_carriage_return {
                continue;
            }
            if self.echo {
                let echoed: &[u8] = if byte == b'\r' { b"\r\n" } else { &[byte] };
                session.data(channel, echoed.to_vec())?;
            }
            if byte != b'\r' && byte != b'\n' {
                if self.line.len() < MAX_LINE {
                    self.line.push(byte);
                }
                continue;
            }
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
            self.commands += 1;
            match run_command(&line) {
                Some(output) if self.commands < MAX_COMMANDS => {
                    session.data(channel, format!("{output}# ").into_bytes())?;
                }
                _ => return Self::end_channel(session, channel),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_seed_gives_one_key_and_random_seeds_distinct_keys() {
        let shared = [host_key(true).unwrap(), host_key(true).unwrap()];
        assert_eq!(fingerprint(&shared[0]), fingerprint(&shared[1]));
        let own = [host_key(false).unwrap(), host_key(false).unwrap()];
        assert_ne!(fingerprint(&own[0]), fingerprint(&own[1]));
        assert_ne!(fingerprint(&own[0]), fingerprint(&shared[0]));
    }

    #[test]
    fn commands() {
        assert_eq!(
            run_command("id").as_deref(),
            Some("uid=0(root) gid=0(root)\r\n")
        );
        assert_eq!(run_command("exit"), None);
        assert!(run_command("reboot").unwrap().contains("not found"));
    }
}
