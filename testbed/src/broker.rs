//! The MQTT 3.1.1 broker of a virtual device: sessions, subscriptions and delivery.
//!
//! Devices of this kind publish telemetry to a broker they embed, so certification tests
//! need one that stock clients (mosquitto_pub, mosquitto_sub) can log in to, publish to
//! and subscribe at. This one keeps what a test needs and no more: CONNECT with the
//! device's credentials, PUBLISH at QoS 0, 1 and 2 (QoS 2 acknowledged with PUBREC and
//! PUBCOMP, delivered once on arrival), SUBSCRIBE with `+` and `#` wildcards granted at
//! most QoS 1, UNSUBSCRIBE, PINGREQ and DISCONNECT. Sessions are never persisted (every
//! session is clean), retained flags and will messages are accepted but not acted on, and
//! a client id already connected does not take over the older session.
//!
//! Every client is bounded: packets are capped at [`mqtt::MAX_PACKET_SIZE`], each
//! subscriber's undelivered messages at [`OUTBOX_CAPACITY`] (later ones are dropped for
//! that subscriber rather than slowing the publisher), and each connection at
//! [`MAX_FILTERS_PER_CONNECTION`] subscriptions.
//!
//! With [`crate::Flaws::planted_parser_bugs`] the broker carries a planted bug: a PUBLISH
//! whose topic is longer than [`mqtt::PLANTED_TOPIC_LIMIT`] crashes it. Until its watchdog
//! restarts it ([`mqtt::WATCHDOG_RESTART`] later) every connection to either MQTT port is
//! closed at once without an answer, and the crashing connection is dropped. Only this
//! device's broker is affected; the hosting process goes on.

use crate::accounts::LoginOutcome;
use crate::limits;
use crate::mqtt::{self, return_code, Connect, Packet, Publish, QoS};
use crate::state::DeviceState;
use crate::subscriptions::Broker;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Time a client has to send CONNECT after connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time allowed to a client that turned keep-alive off.
const IDLE_WITHOUT_KEEP_ALIVE: Duration = Duration::from_secs(120);
/// Longest idle time allowed whatever the keep-alive asked.
const MAX_IDLE: Duration = Duration::from_secs(600);
/// Bytes buffered from a client: one packet of the maximum size and its header.
const MAX_BUFFERED: usize = mqtt::MAX_PACKET_SIZE + 5;

/// The CONNACK return code for a CONNECT on this device.
fn connect_return_code(connect: &Connect, state: &DeviceState) -> u8 {
    if connect.protocol_name != mqtt::PROTOCOL_NAME
        || connect.protocol_level != mqtt::PROTOCOL_LEVEL
    {
        return return_code::UNACCEPTABLE_PROTOCOL_VERSION;
    }
    if connect.client_id.is_empty() && !connect.clean_session {
        return return_code::IDENTIFIER_REJECTED;
    }
    let Some(username) = &connect.username else {
        return if state.flaws.anonymous_mqtt {
            return_code::ACCEPTED
        } else {
            return_code::NOT_AUTHORIZED
        };
    };
    let password = connect.password.as_deref().unwrap_or_default();
    match state.accounts.login(username.as_bytes(), password) {
        LoginOutcome::Accepted => return_code::ACCEPTED,
        LoginOutcome::Refused => return_code::BAD_USERNAME_OR_PASSWORD,
        LoginOutcome::LockedOut => return_code::NOT_AUTHORIZED,
    }
}

/// Reads until one whole packet is buffered, then decodes and removes it from `buffer`.
/// `Ok(None)` is a clean end of stream between packets.
async fn read_packet<S>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    timeout: Duration,
) -> io::Result<Option<Packet>>
where
    S: AsyncRead + Unpin,
{
    loop {
        if let Some(packet) = take_packet(buffer)? {
            return Ok(Some(packet));
        }
        if limits::read_into(stream, buffer, MAX_BUFFERED, timeout).await? == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    }
}

/// Decodes and removes the first packet of `buffer`, if it is all there.
fn take_packet(buffer: &mut Vec<u8>) -> io::Result<Option<Packet>> {
    match mqtt::decode(buffer) {
        Ok(Some((packet, used))) => {
            buffer.drain(..used.min(buffer.len()));
            Ok(Some(packet))
        }
        Ok(None) => Ok(None),
        Err(error) => Err(io::Error::new(io::ErrorKind::InvalidData, error)),
    }
}

/// Serves one MQTT client until it disconnects, breaks the protocol or goes idle.
pub(crate) async fn serve<S>(mut stream: S, state: Arc<DeviceState>) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if state.broker.is_down() {
        // Crashed: the connection is closed without a byte, as by a dead daemon.
        return Ok(());
    }
    let mut buffer = Vec::new();
    let Some(Packet::Connect(connect)) =
        read_packet(&mut stream, &mut buffer, CONNECT_TIMEOUT).await?
    else {
        // The first packet must be CONNECT (MQTT 3.1.1 section 3.1): anything else closes.
        return Ok(());
    };
    let code = connect_return_code(&connect, &state);
    let connack = Packet::ConnAck {
        session_present: false,
        return_code: code,
    };
    limits::write_all(&mut stream, &mqtt::encode(&connack)).await?;
    if code != return_code::ACCEPTED {
        limits::close(&mut stream).await;
        return Ok(());
    }
    let idle_timeout = match connect.keep_alive {
        0 => IDLE_WITHOUT_KEEP_ALIVE,
        // The server allows one and a half keep-alive periods (section 3.1.2.10).
        seconds => Duration::from_millis(u64::from(seconds) * 1500).min(MAX_IDLE),
    };
    let (session, mut inbox) = state.broker.open_session();
    let mut next_packet_id: u16 = 0;
    loop {
        while let Some(packet) = take_packet(&mut buffer)? {
            if state.flaws.planted_parser_bugs && crashes_planted_parser(&packet) {
                state.broker.crash();
                return Ok(());
            }
            if state.broker.is_down() {
                return Ok(());
            }
            match handle_packet(packet, &state.broker, session.id) {
                Reply::Send(reply) => limits::write_all(&mut stream, &mqtt::encode(&reply)).await?,
                Reply::Nothing => {}
                Reply::Close => {
                    limits::close(&mut stream).await;
                    return Ok(());
                }
            }
        }
        tokio::select! {
            read = limits::read_into(&mut stream, &mut buffer, MAX_BUFFERED, idle_timeout) => {
                if read? == 0 {
                    return Ok(());
                }
            }
            Some(delivery) = inbox.recv() => {
                let packet_id = (delivery.qos != QoS::AtMostOnce).then(|| {
                    next_packet_id = next_packet_id.checked_add(1).unwrap_or(1);
                    next_packet_id
                });
                let publish = Packet::Publish(Publish {
                    dup: false,
                    qos: delivery.qos,
                    retain: false,
                    topic: delivery.topic.to_string(),
                    packet_id,
                    payload: delivery.payload.to_vec(),
                });
                limits::write_all(&mut stream, &mqtt::encode(&publish)).await?;
            }
        }
    }
}

/// The planted bug of [`crate::Flaws::planted_parser_bugs`]: an over-long PUBLISH topic.
fn crashes_planted_parser(packet: &Packet) -> bool {
    matches!(packet, Packet::Publish(publish) if publish.topic.len() > mqtt::PLANTED_TOPIC_LIMIT)
}

/// What the broker answers to one packet of a connected client.
enum Reply {
    Send(Packet),
    Nothing,
    Close,
}

fn handle_packet(packet: Packet, broker: &Broker, session: u64) -> Reply {
    match packet {
        Packet::Publish(publish) => {
            if !mqtt::valid_topic_name(&publish.topic) {
                return Reply::Close;
            }
            broker.publish(&publish.topic, &publish.payload, publish.qos);
            match (publish.qos, publish.packet_id) {
                (QoS::AtLeastOnce, Some(packet_id)) => Reply::Send(Packet::PubAck { packet_id }),
                (QoS::ExactlyOnce, Some(packet_id)) => Reply::Send(Packet::PubRec { packet_id }),
                _ => Reply::Nothing,
            }
        }
        Packet::PubRel { packet_id } => Reply::Send(Packet::PubComp { packet_id }),
        Packet::PubAck { .. } | Packet::PubRec { .. } | Packet::PubComp { .. } => Reply::Nothing,
        Packet::Subscribe { packet_id, filters } => {
            let return_codes = filters
                .iter()
                .map(|(filter, requested)| {
                    let granted = (*requested).min(QoS::AtLeastOnce);
                    if mqtt::valid_topic_filter(filter)
                        && broker.subscribe(session, filter, granted)
                    {
                        granted as u8
                    } else {
                        mqtt::SUBSCRIPTION_FAILURE
                    }
                })
                .collect();
            Reply::Send(Packet::SubAck {
                packet_id,
                return_codes,
            })
        }
        Packet::Unsubscribe { packet_id, filters } => {
            for filter in &filters {
                broker.unsubscribe(session, filter);
            }
            Reply::Send(Packet::UnsubAck { packet_id })
        }
        Packet::PingReq => Reply::Send(Packet::PingResp),
        // DISCONNECT ends the session; a second CONNECT or a packet only a server sends
        // is a protocol violation, which also closes the connection.
        Packet::Disconnect
        | Packet::Connect(_)
        | Packet::ConnAck { .. }
        | Packet::SubAck { .. }
        | Packet::UnsubAck { .. }
        | Packet::PingResp => Reply::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::Broker;

    #[test]
    fn crash_lasts_until_the_watchdog_restart() {
        let broker = Broker::default();
        assert!(!broker.is_down());
        broker.crash();
        assert!(broker.is_down());
        let long = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "t".repeat(mqtt::PLANTED_TOPIC_LIMIT + 1),
            packet_id: None,
            payload: Vec::new(),
        });
        assert!(crashes_planted_parser(&long));
    }
}
