//! Network access for suites: scope-checked, paced, and bounded in time and bytes.
//!
//! Suites open connections only through [`crate::RunContext::connect_tcp`],
//! [`crate::RunContext::probe_tcp`] and [`crate::RunContext::udp_exchange`], which land
//! here. Every operation has a timeout
//! and every read a byte cap, because a device may never answer, answer forever, or
//! answer garbage.

use crate::pacer::ConnectionPermit;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Why a network operation did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The scope guard refused the address; nothing was sent.
    OutOfScope(String),
    /// No answer within the time allowed.
    Timeout,
    /// The port is closed (TCP RST, or ICMP port unreachable for UDP).
    Refused,
    /// The peer reset an established connection.
    Reset,
    /// No route to the address.
    Unreachable,
    /// The local machine ran out of a resource (file descriptors, ephemeral ports).
    LocalResources(String),
    /// The campaign was cancelled.
    Cancelled,
    /// Any other I/O error.
    Io(String),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::OutOfScope(why) => write!(f, "refused by scope guard: {why}"),
            NetError::Timeout => f.write_str("timed out"),
            NetError::Refused => f.write_str("connection refused"),
            NetError::Reset => f.write_str("connection reset by peer"),
            NetError::Unreachable => f.write_str("network or host unreachable"),
            NetError::LocalResources(why) => write!(f, "local resources exhausted: {why}"),
            NetError::Cancelled => f.write_str("cancelled"),
            NetError::Io(why) => write!(f, "i/o error: {why}"),
        }
    }
}

impl std::error::Error for NetError {}

impl From<io::Error> for NetError {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => NetError::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => NetError::Reset,
            io::ErrorKind::TimedOut => NetError::Timeout,
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                NetError::Unreachable
            }
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::OutOfMemory => {
                NetError::LocalResources(error.to_string())
            }
            _ => match error.raw_os_error() {
                // EMFILE, ENFILE, ENOBUFS: too many open files or no buffer space.
                Some(24) | Some(23) | Some(105) => NetError::LocalResources(error.to_string()),
                _ => NetError::Io(error.to_string()),
            },
        }
    }
}

/// A TCP connection opened through the scope guard and the device's pacer.
///
/// The pacer slot is held until this value is dropped.
#[derive(Debug)]
pub struct GuardedTcp {
    stream: TcpStream,
    peer: SocketAddr,
    permit: ConnectionPermit,
}

impl GuardedTcp {
    pub(crate) async fn connect(
        peer: SocketAddr,
        permit: ConnectionPermit,
        timeout: Duration,
    ) -> Result<Self, NetError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(peer)).await {
            Err(_) => return Err(NetError::Timeout),
            Ok(Err(error)) => return Err(error.into()),
            Ok(Ok(stream)) => stream,
        };
        if stream.local_addr().ok() == Some(peer) {
            return Err(NetError::Refused);
        }
        let _ = stream.set_nodelay(true);
        Ok(GuardedTcp {
            stream,
            peer,
            permit,
        })
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Write all of `bytes` within `timeout`.
    pub async fn send(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), NetError> {
        match tokio::time::timeout(timeout, self.stream.write_all(bytes)).await {
            Err(_) => Err(NetError::Timeout),
            Ok(result) => result.map_err(NetError::from),
        }
    }

    /// Read whatever arrives within `timeout`, at most `cap` bytes. Returns an empty
    /// vector when the peer closed the connection. A timeout with nothing read is
    /// [`NetError::Timeout`].
    pub async fn recv_some(&mut self, cap: usize, timeout: Duration) -> Result<Vec<u8>, NetError> {
        let mut buffer = vec![0u8; cap.clamp(1, 64 * 1024)];
        match tokio::time::timeout(timeout, self.stream.read(&mut buffer)).await {
            Err(_) => Err(NetError::Timeout),
            Ok(Err(error)) => Err(error.into()),
            Ok(Ok(read)) => {
                buffer.truncate(read);
                Ok(buffer)
            }
        }
    }

    /// Read until `done` says the bytes so far are complete, the peer closes, `cap`
    /// bytes arrived, or `timeout` passes in total; returns what arrived (possibly
    /// nothing) and why reading stopped.
    pub async fn recv_until(
        &mut self,
        cap: usize,
        timeout: Duration,
        mut done: impl FnMut(&[u8]) -> bool,
    ) -> (Vec<u8>, ReadEnd) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut received = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            if received.len() >= cap {
                received.truncate(cap);
                return (received, ReadEnd::Cap);
            }
            let want = chunk.len().min(cap - received.len());
            let Some(window) = chunk.get_mut(..want) else {
                return (received, ReadEnd::Cap);
            };
            match tokio::time::timeout_at(deadline, self.stream.read(window)).await {
                Err(_) => return (received, ReadEnd::Timeout),
                Ok(Err(error)) => return (received, ReadEnd::Error(error.into())),
                Ok(Ok(0)) => return (received, ReadEnd::Closed),
                Ok(Ok(read)) => {
                    received.extend_from_slice(window.get(..read).unwrap_or_default());
                    if done(&received) {
                        return (received, ReadEnd::Complete);
                    }
                }
            }
        }
    }

    /// The raw stream and the pacer permit, for protocols layered on top (TLS).
    /// Keep the permit alive as long as the stream.
    pub fn into_parts(self) -> (TcpStream, ConnectionPermit) {
        (self.stream, self.permit)
    }
}

/// Whether `peer` completes a TCP handshake, the connection closed at once: `Ok(())`
/// for an open port, [`NetError::Refused`] for a closed one.
///
/// A port sweep makes tens of thousands of these, so the common case costs no event
/// loop work: the connect is issued non-blocking and its outcome read back at once
/// (`SO_ERROR`, then `getpeername`), which on loopback and fast links is usually
/// already decided. Only an undecided connect is handed to the runtime to wait for,
/// bounded by `timeout`.
///
/// Connecting to an ephemeral-range port of the harness's own address can pick that
/// very port as source and connect the socket to itself (TCP simultaneous open);
/// nothing listens there, so that is reported as a closed port.
pub(crate) async fn probe_tcp(peer: SocketAddr, timeout: Duration) -> Result<(), NetError> {
    match connect_only(peer, timeout).await {
        // A refused SYN is ECONNREFUSED; a reset comes after the handshake completed, so
        // something listens there, whether the reset lands before or after we look.
        Err(NetError::Reset) => Ok(()),
        outcome => outcome,
    }
}

/// The connect of [`probe_tcp`], its outcome as the socket reports it.
async fn connect_only(peer: SocketAddr, timeout: Duration) -> Result<(), NetError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(peer),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    match socket.connect(&peer.into()) {
        Ok(()) => return handshake_outcome(&socket, peer),
        Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(error) => return Err(error.into()),
    }
    if let Some(error) = socket.take_error()? {
        return Err(error.into());
    }
    if socket.peer_addr().is_ok() {
        return handshake_outcome(&socket, peer);
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
    match tokio::time::timeout(timeout, stream.writable()).await {
        Err(_) => Err(NetError::Timeout),
        Ok(Err(error)) => Err(error.into()),
        Ok(Ok(())) => {
            if let Some(error) = stream.take_error()? {
                return Err(error.into());
            }
            match (stream.peer_addr(), stream.local_addr()) {
                (Ok(_), Ok(local)) if local == peer => Err(NetError::Refused),
                (Ok(_), _) => Ok(()),
                (Err(error), _) => Err(error.into()),
            }
        }
    }
}

/// The outcome of a connect that completed: open, unless the socket met itself.
fn handshake_outcome(socket: &socket2::Socket, peer: SocketAddr) -> Result<(), NetError> {
    let local = socket.local_addr()?.as_socket();
    if local == Some(peer) {
        Err(NetError::Refused)
    } else {
        Ok(())
    }
}

/// Why [`GuardedTcp::recv_until`] stopped reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// The predicate was satisfied.
    Complete,
    /// The peer closed the connection.
    Closed,
    /// The byte cap was reached.
    Cap,
    /// The time allowed ran out.
    Timeout,
    /// The connection failed.
    Error(NetError),
}

/// Send one datagram and wait for one answer of at most `cap` bytes.
///
/// `Ok(Some(bytes))` is an answer, `Ok(None)` silence until `wait` passed, and
/// `Err(NetError::Refused)` an ICMP port unreachable (closed port).
pub(crate) async fn udp_exchange(
    peer: SocketAddr,
    payload: &[u8],
    wait: Duration,
    cap: usize,
) -> Result<Option<Vec<u8>>, NetError> {
    let local: SocketAddr = if peer.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(peer).await?;
    match tokio::time::timeout(wait, socket.send(payload)).await {
        Err(_) => return Err(NetError::Timeout),
        Ok(result) => {
            result?;
        }
    }
    let mut buffer = vec![0u8; cap.clamp(1, 65_535)];
    match tokio::time::timeout(wait, socket.recv(&mut buffer)).await {
        Err(_) => Ok(None),
        Ok(Err(error)) => Err(error.into()),
        Ok(Ok(read)) => {
            buffer.truncate(read);
            Ok(Some(buffer))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};

    const WAIT: Duration = Duration::from_secs(2);

    #[tokio::test]
    async fn probe_reports_a_listening_port_open() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let peer = listener.local_addr().unwrap();
        assert_eq!(probe_tcp(peer, WAIT).await, Ok(()));
    }

    #[tokio::test]
    async fn probe_reports_a_closed_port_refused() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let peer = listener.local_addr().unwrap();
        drop(listener);
        assert_eq!(probe_tcp(peer, WAIT).await, Err(NetError::Refused));
    }

    #[tokio::test]
    async fn probe_of_a_port_that_accepts_then_resets_is_open() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let peer = listener.local_addr().unwrap();
        let resetter = std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let socket = socket2::Socket::from(stream);
                let _ = socket.set_linger(Some(Duration::ZERO));
            }
        });
        assert_eq!(probe_tcp(peer, WAIT).await, Ok(()));
        resetter.join().unwrap();
    }
}
