//! A fragile MQTT broker: the embedded broker a fuzzer must not knock over by its own
//! load.
//!
//! A fuzzer that keeps many cases in flight is fast against a broker that copes, but an
//! embedded one has room for a few sessions: its answers slow down as sessions pile up,
//! and past some number it falls over, which says nothing about its parser. This broker
//! behaves so. It speaks just enough MQTT for a fuzzer's sessions: CONNECT (3.1.1, and
//! MQTT 5 by its protocol level) is answered by CONNACK, SUBSCRIBE by SUBACK, PUBLISH at
//! QoS 1 by PUBACK, PINGREQ by PINGRESP; it closes the connection on a malformed packet,
//! a packet before CONNECT, a second CONNECT or DISCONNECT, like a robust broker.
//!
//! Every packet is handled after a delay of [`FragileBrokerLimits::delay_per_session`]
//! for each session open above [`FragileBrokerLimits::knee`]. When more than
//! [`FragileBrokerLimits::max_sessions`] are open at once, it dies: it stops listening
//! and closes every connection, for good (a device that needs a power cycle), and
//! [`FragileBroker::health`] says how many sessions were open when it died. Tests use it
//! to show that the fuzzing suite's adaptive window of cases in flight stays below what
//! breaks such a broker, where a fixed window of many cases kills it.
//!
//! Bounded like every testbed service: a packet of at most [`MAX_PACKET`] bytes, an idle
//! client dropped after [`IDLE_TIMEOUT`], every write within [`WRITE_TIMEOUT`].

use crate::device::TestbedError;
use crate::limits;
use crate::mqtt::{self, Packet, QoS};
use iotcert_suite::profile::{Authentication, Interface, Transport};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The largest packet the broker takes (header included); a larger one closes the
/// connection.
pub const MAX_PACKET: usize = 64 * 1024;
/// A client that sends nothing this long is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one answer to be taken by the client.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// How much the broker takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragileBrokerLimits {
    /// Sessions open at once that the broker serves without delay.
    pub knee: u32,
    /// Added to the handling of every packet for each session open above the knee.
    pub delay_per_session: Duration,
    /// More sessions open at once than this kill the broker.
    pub max_sessions: u32,
}

/// What happened to a fragile broker so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragileBrokerHealth {
    /// Whether it died (stopped listening for good).
    pub dead: bool,
    /// Sessions open at once when it died.
    pub killed_by: Option<u32>,
    /// The most sessions it had open at once.
    pub peak_sessions: u32,
    /// Connections it accepted in all.
    pub sessions_accepted: u64,
    /// The longest delay it put on a packet, in milliseconds.
    pub longest_delay_ms: u64,
}

/// A running fragile broker; dropping it stops it.
pub struct FragileBroker {
    address: SocketAddr,
    health: Arc<Health>,
    cancel: CancellationToken,
}

#[derive(Debug, Default)]
struct Health {
    dead: AtomicBool,
    killed_by: AtomicU32,
    open: AtomicU32,
    peak_sessions: AtomicU32,
    sessions_accepted: AtomicU64,
    longest_delay_ms: AtomicU64,
}

/// Start a fragile broker on `address` and `port` (0: any free port). Needs a Tokio
/// runtime.
pub async fn start_fragile_broker(
    address: IpAddr,
    port: u16,
    limits: FragileBrokerLimits,
) -> Result<FragileBroker, TestbedError> {
    let listener = TcpListener::bind(SocketAddr::new(address, port))
        .await
        .map_err(|source| TestbedError::Bind {
            service: "fragile MQTT broker".to_owned(),
            address,
            port,
            transport: Transport::Tcp,
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| TestbedError::Bind {
        service: "fragile MQTT broker".to_owned(),
        address,
        port,
        transport: Transport::Tcp,
        source,
    })?;
    let health = Arc::new(Health::default());
    let cancel = CancellationToken::new();
    tokio::spawn(accept(
        listener,
        limits,
        Arc::clone(&health),
        cancel.clone(),
    ));
    Ok(FragileBroker {
        address: bound,
        health,
        cancel,
    })
}

impl FragileBroker {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The broker, as a profile declares it.
    pub fn declared_interfaces(&self) -> Vec<Interface> {
        vec![Interface {
            port: self.address.port(),
            transport: Transport::Tcp,
            service: "mqtt".to_owned(),
            authentication: Authentication::None,
            tls: false,
            description: Some("a fragile embedded MQTT broker".to_owned()),
        }]
    }

    pub fn health(&self) -> FragileBrokerHealth {
        let health = &self.health;
        let dead = health.dead.load(Ordering::Relaxed);
        FragileBrokerHealth {
            dead,
            killed_by: dead.then(|| health.killed_by.load(Ordering::Relaxed)),
            peak_sessions: health.peak_sessions.load(Ordering::Relaxed),
            sessions_accepted: health.sessions_accepted.load(Ordering::Relaxed),
            longest_delay_ms: health.longest_delay_ms.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FragileBroker {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One open session, counted for as long as it lives.
struct Session {
    health: Arc<Health>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.health.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accept until the broker dies or is dropped; the listener closes with this task.
async fn accept(
    listener: TcpListener,
    limits: FragileBrokerLimits,
    health: Arc<Health>,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let open = health
            .open
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let session = Session {
            health: Arc::clone(&health),
        };
        health.sessions_accepted.fetch_add(1, Ordering::Relaxed);
        health.peak_sessions.fetch_max(open, Ordering::Relaxed);
        if open > limits.max_sessions {
            health.killed_by.store(open, Ordering::Relaxed);
            health.dead.store(true, Ordering::Relaxed);
            // Every session ends at once, and this task with the listener.
            cancel.cancel();
            return;
        }
        let cancel = cancel.clone();
        let health = Arc::clone(&health);
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = serve(stream, limits, &health) => {}
            }
            drop(session);
        });
    }
}

/// One client's session: packets in, answers out, each after the broker's delay.
async fn serve(mut stream: TcpStream, limits: FragileBrokerLimits, health: &Health) {
    let mut buffer = Vec::new();
    let mut connected = false;
    loop {
        loop {
            let (reply, used) = match next_packet(&buffer, connected) {
                Ok(Some(step)) => step,
                Ok(None) => break,
                Err(()) => return,
            };
            buffer.drain(..used.min(buffer.len()));
            let delay = delay(limits, health.open.load(Ordering::Relaxed));
            health.longest_delay_ms.fetch_max(
                u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            tokio::time::sleep(delay).await;
            match reply {
                Reply::Close => return,
                Reply::Nothing => {}
                Reply::Answer(answer) => {
                    connected = true;
                    let write = stream.write_all(&answer);
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))) {
                        return;
                    }
                }
            }
        }
        match limits::read_into(&mut stream, &mut buffer, MAX_PACKET, IDLE_TIMEOUT).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The delay on one packet with `open` sessions.
fn delay(limits: FragileBrokerLimits, open: u32) -> Duration {
    limits.delay_per_session * open.saturating_sub(limits.knee)
}

/// What the broker does with one packet.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Answer(Vec<u8>),
    Nothing,
    Close,
}

/// The first whole packet of `buffer` and what to do with it, with its length; `None`
/// when more bytes are needed; `Err` for a malformed packet (the connection closes).
fn next_packet(buffer: &[u8], connected: bool) -> Result<Option<(Reply, usize)>, ()> {
    // MQTT 5 CONNECT: accepted by its protocol name and level, answered in kind.
    if !connected && buffer.first() == Some(&0x10) {
        let header = iotcert_wire::mqtt::parse_fixed_header(buffer).map_err(|_| ())?;
        let Some(header) = header else {
            return Ok(None);
        };
        let total = header.header_length.saturating_add(header.remaining_length);
        if total > MAX_PACKET {
            return Err(());
        }
        let Some(body) = buffer.get(header.header_length..total) else {
            return Ok(None);
        };
        if body.starts_with(b"\x00\x04MQTT\x05") {
            return Ok(Some((
                Reply::Answer(vec![0x20, 0x03, 0x00, 0x00, 0x00]),
                total,
            )));
        }
    }
    let Some((packet, used)) = mqtt::decode(buffer).map_err(|_| ())? else {
        return Ok(None);
    };
    let reply = match packet {
        Packet::Connect(connect)
            if !connected
                && connect.protocol_name == mqtt::PROTOCOL_NAME
                && connect.protocol_level == mqtt::PROTOCOL_LEVEL =>
        {
            Reply::Answer(vec![0x20, 0x02, 0x00, 0x00])
        }
        _ if !connected => Reply::Close,
        Packet::Connect(_) | Packet::Disconnect => Reply::Close,
        Packet::PingReq => Reply::Answer(vec![0xd0, 0x00]),
        Packet::Subscribe { packet_id, filters } => {
            let granted = filters
                .iter()
                .map(|(_, qos)| (*qos).min(QoS::AtLeastOnce) as u8);
            Reply::Answer(mqtt::encode(&Packet::SubAck {
                packet_id,
                return_codes: granted.collect(),
            }))
        }
        Packet::Publish(publish) => match publish.packet_id {
            Some(packet_id) if publish.qos == QoS::AtLeastOnce => {
                Reply::Answer(mqtt::encode(&Packet::PubAck { packet_id }))
            }
            _ => Reply::Nothing,
        },
        _ => Reply::Nothing,
    };
    Ok(Some((reply, used)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CONNECT: &[u8] = b"\x10\x18\x00\x04MQTT\x04\x02\x00\x1e\x00\x0ciotcert-fuzz";

    #[test]
    fn sessions_are_answered_and_malformed_packets_close() {
        assert_eq!(
            next_packet(CONNECT, false),
            Ok(Some((Reply::Answer(vec![0x20, 2, 0, 0]), CONNECT.len())))
        );
        assert_eq!(next_packet(&CONNECT[..10], false), Ok(None));
        assert_eq!(
            next_packet(CONNECT, true),
            Ok(Some((Reply::Close, CONNECT.len())))
        );
        assert_eq!(next_packet(b"\xc0\x00", false), Ok(Some((Reply::Close, 2))));
        assert_eq!(
            next_packet(b"\xc0\x00", true),
            Ok(Some((Reply::Answer(vec![0xd0, 0]), 2)))
        );
        assert_eq!(next_packet(b"\xc1\x00", true), Err(()), "reserved flags");
        assert_eq!(
            next_packet(b"\x30\x01\x00", true),
            Err(()),
            "truncated topic"
        );
        let v5 = b"\x10\x10\x00\x04MQTT\x05\x02\x00\x1e\x00\x00\x03ab\x00";
        assert_eq!(
            next_packet(v5, false),
            Ok(Some((Reply::Answer(vec![0x20, 3, 0, 0, 0]), v5.len())))
        );
    }

    #[test]
    fn answers_slow_down_above_the_knee() {
        let limits = FragileBrokerLimits {
            knee: 8,
            delay_per_session: Duration::from_millis(2),
            max_sessions: 24,
        };
        assert_eq!(delay(limits, 8), Duration::ZERO);
        assert_eq!(delay(limits, 16), Duration::from_millis(16));
    }

    proptest! {
        #[test]
        fn any_bytes_are_judged_without_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            connected in any::<bool>(),
        ) {
            let _ = next_packet(&bytes, connected);
        }
    }
}
