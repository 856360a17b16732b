//! A fragile virtual device: the embedded TCP stack a lab must not knock over.
//!
//! It counts every new connection sent to its address, open port or closed, the way its
//! stack would see them: every SYN, read with a raw socket (so it needs root, or
//! CAP_NET_RAW). It takes `new_connections_per_second`, with a backlog for bursts of a
//! tenth of a second's worth (a token bucket, judged every hundredth of a second).
//! Beyond that the stack is overloaded: it stops listening, so every connection is
//! reset, until a hundredth of a second passes within its limit. When the connections
//! beyond its limit in one such overload add up to more than `tolerated_excess`, it
//! dies: it never listens again, as a device that needs a power
//! cycle. Tests use it to show that the harness's adaptive pace stays below what breaks
//! such a stack, where scanners that do not adapt knock it over.
//!
//! IPv4 only: a raw IPv4 socket sees the SYNs to one address without capturing a whole
//! interface.

use crate::device::TestbedError;
use iotcert_suite::profile::{Authentication, Interface, Transport};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The stack's judgement window: its limit is counted per hundredth of a second.
const WINDOW: Duration = Duration::from_millis(10);
const WINDOWS_PER_SECOND: u64 = 100;
/// What each service writes before closing the connection.
const BANNER: &[u8] = b"fragile-device 1.0\r\n";

/// How much a fragile device takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragileLimits {
    /// New connections per second (SYNs to any port) the stack handles.
    pub new_connections_per_second: u32,
    /// Connections beyond the limit that one overload may bring before the device dies.
    pub tolerated_excess: u64,
}

/// What happened to a fragile device so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragileHealth {
    /// Whether it died (stopped listening for good).
    pub dead: bool,
    /// Windows of a hundredth of a second in which it was overloaded.
    pub overloaded_windows: u64,
    /// The most new connections it saw in one window, as a rate per second.
    pub peak_per_second: u64,
    /// New connections it saw in all.
    pub connections_seen: u64,
}

/// A running fragile device; dropping it stops it.
pub struct FragileDevice {
    address: Ipv4Addr,
    ports: Vec<u16>,
    health: Arc<Health>,
    cancel: CancellationToken,
}

#[derive(Debug, Default)]
struct Health {
    dead: AtomicBool,
    overloaded_windows: AtomicU64,
    peak_per_second: AtomicU64,
    connections_seen: AtomicU64,
}

/// Start a fragile device on `address` with a banner service on each of `ports`.
/// Needs a Tokio runtime, and root (or CAP_NET_RAW) for the raw socket.
pub async fn start_fragile(
    address: Ipv4Addr,
    ports: &[u16],
    limits: FragileLimits,
) -> Result<FragileDevice, TestbedError> {
    let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP)).map_err(|source| {
        TestbedError::Bind {
            service: "raw socket (needs root or CAP_NET_RAW)".to_owned(),
            address: IpAddr::V4(address),
            port: 0,
            transport: Transport::Tcp,
            source,
        }
    })?;
    let _ = raw.set_read_timeout(Some(Duration::from_millis(20)));
    let cancel = CancellationToken::new();
    let health = Arc::new(Health::default());
    let syns = Arc::new(AtomicU64::new(0));
    let counting = Arc::clone(&syns);
    let stop_counting = cancel.clone();
    std::thread::spawn(move || count_syns(&raw, address, &counting, &stop_counting));

    let first = listen_all(address, ports, cancel.child_token()).await?;
    tokio::spawn(run_stack(
        address,
        ports.to_vec(),
        limits,
        syns,
        Arc::clone(&health),
        cancel.clone(),
        first,
    ));
    Ok(FragileDevice {
        address,
        ports: ports.to_vec(),
        health,
        cancel,
    })
}

impl FragileDevice {
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The device's services, as a profile declares them.
    pub fn declared_interfaces(&self) -> Vec<Interface> {
        self.ports
            .iter()
            .map(|&port| Interface {
                port,
                transport: Transport::Tcp,
                service: "banner".to_owned(),
                authentication: Authentication::None,
                tls: false,
                description: Some("a banner, then close".to_owned()),
            })
            .collect()
    }

    pub fn health(&self) -> FragileHealth {
        FragileHealth {
            dead: self.health.dead.load(Ordering::Relaxed),
            overloaded_windows: self.health.overloaded_windows.load(Ordering::Relaxed),
            peak_per_second: self.health.peak_per_second.load(Ordering::Relaxed),
            connections_seen: self.health.connections_seen.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FragileDevice {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The stack: judge each window, stop listening while overloaded, die when overloaded
/// too long.
async fn run_stack(
    address: Ipv4Addr,
    ports: Vec<u16>,
    limits: FragileLimits,
    syns: Arc<AtomicU64>,
    health: Arc<Health>,
    cancel: CancellationToken,
    first: Listening,
) {
    let per_window = u64::from(limits.new_connections_per_second) / WINDOWS_PER_SECOND;
    let backlog = u64::from(limits.new_connections_per_second) / 10;
    let mut tokens = backlog;
    let mut listening = Some(first);
    let mut excess = 0u64;
    let mut ticks = tokio::time::interval(WINDOW);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    syns.store(0, Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let seen = syns.swap(0, Ordering::Relaxed);
        health.connections_seen.fetch_add(seen, Ordering::Relaxed);
        health
            .peak_per_second
            .fetch_max(seen * WINDOWS_PER_SECOND, Ordering::Relaxed);
        if health.dead.load(Ordering::Relaxed) {
            continue;
        }
        tokens = (tokens + per_window).min(backlog);
        if seen > tokens {
            health.overloaded_windows.fetch_add(1, Ordering::Relaxed);
            excess += seen - tokens;
            tokens = 0;
            if let Some(open) = listening.take() {
                open.close().await;
            }
            if excess > limits.tolerated_excess {
                health.dead.store(true, Ordering::Relaxed);
            }
        } else {
            tokens -= seen;
            excess = 0;
            if listening.is_none() {
                // A port still held by a closing socket is tried again next window.
                listening = listen_all(address, &ports, cancel.child_token()).await.ok();
            }
        }
    }
    if let Some(open) = listening {
        open.close().await;
    }
}

/// The services while the stack listens.
struct Listening {
    stop: CancellationToken,
    tasks: JoinSet<()>,
}

impl Listening {
    /// Stop listening: every listener is closed when this returns.
    async fn close(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn listen_all(
    address: Ipv4Addr,
    ports: &[u16],
    stop: CancellationToken,
) -> Result<Listening, TestbedError> {
    let mut tasks = JoinSet::new();
    for &port in ports {
        let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(address), port))
            .await
            .map_err(|source| TestbedError::Bind {
                service: "banner".to_owned(),
                address: IpAddr::V4(address),
                port,
                transport: Transport::Tcp,
                source,
            })?;
        let stop = stop.clone();
        tasks.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                if let Ok((mut stream, _)) = accepted {
                    tokio::spawn(async move {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), stream.write_all(BANNER))
                                .await;
                    });
                } else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
    }
    Ok(Listening { stop, tasks })
}

/// Count the SYNs sent to `address` until `stop` fires (a blocking loop of its own).
fn count_syns(raw: &Socket, address: Ipv4Addr, syns: &AtomicU64, stop: &CancellationToken) {
    let mut buffer = [0u8; 1_600];
    let mut reader = raw;
    while !stop.is_cancelled() {
        let Ok(read) = reader.read(&mut buffer) else {
            continue;
        };
        if is_syn_to(buffer.get(..read).unwrap_or_default(), address) {
            syns.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Whether an IPv4 packet is a TCP SYN (a new connection) to `address`.
pub fn is_syn_to(packet: &[u8], address: Ipv4Addr) -> bool {
    let Some(&first) = packet.first() else {
        return false;
    };
    if first >> 4 != 4 {
        return false;
    }
    let header_length = usize::from(first & 0x0f) * 4;
    let destination = packet.get(16..20);
    let flags = packet.get(header_length + 13);
    match (destination, flags) {
        (Some(destination), Some(&flags)) => {
            destination == address.octets() && flags & 0x02 != 0 && flags & 0x10 == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn syn_packet(destination: [u8; 4], flags: u8) -> Vec<u8> {
        let mut packet = vec![0u8; 40];
        packet[0] = 0x45;
        packet[9] = 6;
        packet[16..20].copy_from_slice(&destination);
        packet[20 + 13] = flags;
        packet
    }

    #[test]
    fn syns_to_the_device_are_counted_and_nothing_else() {
        let device = Ipv4Addr::new(127, 61, 0, 1);
        assert!(is_syn_to(&syn_packet([127, 61, 0, 1], 0x02), device));
        assert!(
            !is_syn_to(&syn_packet([127, 61, 0, 1], 0x12), device),
            "SYN-ACK"
        );
        assert!(
            !is_syn_to(&syn_packet([127, 61, 0, 1], 0x10), device),
            "ACK"
        );
        assert!(
            !is_syn_to(&syn_packet([127, 61, 0, 2], 0x02), device),
            "another address"
        );
        assert!(
            !is_syn_to(&syn_packet([127, 61, 0, 1], 0x02)[..30], device),
            "truncated"
        );
    }

    proptest! {
        #[test]
        fn any_bytes_are_judged_without_panic(packet in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = is_syn_to(&packet, Ipv4Addr::LOCALHOST);
        }
    }
}
