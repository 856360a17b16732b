//! A connection to a device, plain or TLS, with timed and capped reads.
//!
//! Probes of services that may sit behind TLS (https, mqtts, ftps, rtsps) read and write
//! through a [`Link`], so one probe serves both. Certificates are accepted without
//! verification on purpose: whether a certificate is trustworthy is the tls suite's
//! question; this suite only needs the channel to reach the login. That includes keys
//! no verifier of ours would take (RSA-1024, which rustls refuses to check a handshake
//! signature with): [`iotcert_suite::tls::read_any_server`] takes every certificate and
//! every handshake signature, so a weak key never hides a login behind an undecided
//! handshake.

use iotcert_suite::evidence::Transcript;
use iotcert_suite::pacer::ConnectionPermit;
use iotcert_suite::{NetError, RunContext};
use rustls::pki_types::ServerName;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::Target;

/// What a link reports when the TLS server ended the handshake asking for a client
/// certificate (TLS 1.3 alert `certificate_required`): a service no password opens.
pub const CLIENT_CERTIFICATE_REQUIRED: &str =
    "the TLS server requires a client certificate (alert certificate_required) before any login";

/// Whether an I/O error is the server's `certificate_required` alert.
fn asks_for_a_client_certificate(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| {
            *tls == rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired)
        })
}

/// Plain TCP or TLS over it.
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// An open connection to a unit's service; holds the pacer slot while open.
pub struct Link {
    io: Io,
    _permit: ConnectionPermit,
    /// Bytes read beyond what the last reader consumed.
    pub pending: Vec<u8>,
}

/// Why reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadStop {
    /// The predicate accepted the bytes.
    Complete,
    /// The peer closed the connection.
    Closed,
    /// The byte cap was reached.
    Cap,
    /// The time allowed ran out.
    Timeout,
    /// The connection failed.
    Failed(NetError),
}

impl Link {
    /// Connect to `target` through the scope guard and pacer, then TLS when asked.
    pub async fn open(
        ctx: &RunContext,
        target: &Target,
        timeout: Duration,
    ) -> Result<Link, NetError> {
        let guarded = ctx.connect_tcp(&target.unit, target.port, timeout).await?;
        let (stream, permit) = guarded.into_parts();
        let io = if target.tls {
            let name = server_name(target);
            let handshake =
                TlsConnector::from(iotcert_suite::tls::read_any_server()).connect(name, stream);
            match tokio::time::timeout(timeout, handshake).await {
                Err(_) => return Err(NetError::Timeout),
                Ok(Err(error)) if asks_for_a_client_certificate(&error) => {
                    return Err(NetError::Io(CLIENT_CERTIFICATE_REQUIRED.to_owned()))
                }
                Ok(Err(error)) => return Err(NetError::Io(format!("TLS handshake: {error}"))),
                Ok(Ok(stream)) => Io::Tls(Box::new(stream)),
            }
        } else {
            Io::Plain(stream)
        };
        Ok(Link {
            io,
            _permit: permit,
            pending: Vec::new(),
        })
    }

    /// Write all of `bytes` within `timeout`, recording them.
    pub async fn send(
        &mut self,
        bytes: &[u8],
        timeout: Duration,
        transcript: &mut Transcript,
    ) -> Result<(), NetError> {
        transcript.sent(bytes);
        let write = async {
            match &mut self.io {
                Io::Plain(stream) => stream.write_all(bytes).await,
                Io::Tls(stream) => {
                    stream.write_all(bytes).await?;
                    stream.flush().await
                }
            }
        };
        match tokio::time::timeout(timeout, write).await {
            Err(_) => Err(NetError::Timeout),
            Ok(result) => result.map_err(NetError::from),
        }
    }

    /// Read into `self.pending` until `done(&pending)` holds, the peer closes, `cap`
    /// bytes are pending, or `timeout` passes in total. Every chunk is recorded.
    pub async fn read_until(
        &mut self,
        cap: usize,
        timeout: Duration,
        transcript: &mut Transcript,
        mut done: impl FnMut(&[u8]) -> bool,
    ) -> ReadStop {
        if done(&self.pending) {
            return ReadStop::Complete;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut chunk = vec![0u8; 8 * 1024];
        loop {
            if self.pending.len() >= cap {
                return ReadStop::Cap;
            }
            let read = async {
                match &mut self.io {
                    Io::Plain(stream) => stream.read(&mut chunk).await,
                    Io::Tls(stream) => stream.read(&mut chunk).await,
                }
            };
            match tokio::time::timeout_at(deadline, read).await {
                Err(_) => return ReadStop::Timeout,
                Ok(Err(error)) if asks_for_a_client_certificate(&error) => {
                    return ReadStop::Failed(NetError::Io(CLIENT_CERTIFICATE_REQUIRED.to_owned()))
                }
                Ok(Err(error)) => return ReadStop::Failed(error.into()),
                Ok(Ok(0)) => return ReadStop::Closed,
                Ok(Ok(count)) => {
                    let received = chunk.get(..count).unwrap_or_default();
                    transcript.received(received);
                    self.pending.extend_from_slice(received);
                    if done(&self.pending) {
                        return ReadStop::Complete;
                    }
                }
            }
        }
    }

    /// The raw TCP stream (for SSH, which does its own framing), when not TLS.
    pub fn into_plain(self) -> Option<(TcpStream, ConnectionPermit)> {
        match self.io {
            Io::Plain(stream) => Some((stream, self._permit)),
            Io::Tls(_) => None,
        }
    }
}

/// The name sent in SNI: the unit's hostname, or its address.
fn server_name(target: &Target) -> ServerName<'static> {
    if let Some(name) = target
        .unit
        .hostname
        .as_deref()
        .and_then(|host| ServerName::try_from(host.to_owned()).ok())
    {
        return name;
    }
    let address: IpAddr = target.unit.address;
    ServerName::IpAddress(address.into())
}
