//! The subscription table of a virtual device's MQTT broker: who is subscribed to what,
//! each subscriber's bounded outbox, and whether the broker is down after its planted
//! crash.
//!
//! It is shared state of the device (it lives in [`crate::state::DeviceState`]), apart
//! from the protocol code in `broker.rs` that serves connections, so the device's state
//! depends on no service.

use crate::mqtt::{self, QoS};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// Messages waiting for one subscriber before further ones are dropped.
pub(crate) const OUTBOX_CAPACITY: usize = 256;
/// Subscriptions one connection may hold.
pub(crate) const MAX_FILTERS_PER_CONNECTION: usize = 64;
/// A message on its way to one subscriber.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) topic: Arc<str>,
    pub(crate) payload: Arc<[u8]>,
    pub(crate) qos: QoS,
}

/// One connected client's subscriptions and the outbox its messages wait in.
struct Subscriber {
    filters: Vec<(String, QoS)>,
    outbox: mpsc::Sender<Delivery>,
}

/// Subscriptions of every connected client of one device.
#[derive(Default)]
pub(crate) struct Broker {
    next_session: AtomicU64,
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    /// Set by the planted bug: the broker serves nobody until this instant.
    crashed_until: Mutex<Option<Instant>>,
}

impl Broker {
    /// The planted bug fired: the broker is down for [`mqtt::WATCHDOG_RESTART`].
    pub(crate) fn crash(&self) {
        *self.crashed_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + mqtt::WATCHDOG_RESTART);
    }

    /// Whether the broker is down after a crash its watchdog has not yet restarted.
    pub(crate) fn is_down(&self) -> bool {
        self.crashed_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| Instant::now() < until)
    }

    fn subscribers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscriber>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session and returns its id and the receiving end of its outbox. The
    /// returned guard closes the session when dropped.
    pub(crate) fn open_session(&self) -> (SessionGuard<'_>, mpsc::Receiver<Delivery>) {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
        self.subscribers().insert(
            id,
            Subscriber {
                filters: Vec::new(),
                outbox,
            },
        );
        (SessionGuard { broker: self, id }, inbox)
    }

    /// Adds or replaces a subscription; refused (false) past the per-connection cap.
    pub(crate) fn subscribe(&self, session: u64, filter: &str, qos: QoS) -> bool {
        let mut subscribers = self.subscribers();
        let Some(subscriber) = subscribers.get_mut(&session) else {
            return false;
        };
        if let Some(existing) = subscriber.filters.iter_mut().find(|(f, _)| f == filter) {
            existing.1 = qos;
            return true;
        }
        if subscriber.filters.len() >= MAX_FILTERS_PER_CONNECTION {
            return false;
        }
        subscriber.filters.push((filter.to_owned(), qos));
        true
    }

    pub(crate) fn unsubscribe(&self, session: u64, filter: &str) {
        if let Some(subscriber) = self.subscribers().get_mut(&session) {
            subscriber.filters.retain(|(f, _)| f != filter);
        }
    }

    /// Hands a message to every matching subscriber once, at the lower of its QoS and the
    /// highest granted QoS among the subscriber's matching filters.
    pub(crate) fn publish(&self, topic: &str, payload: &[u8], qos: QoS) {
        let topic: Arc<str> = Arc::from(topic);
        let payload: Arc<[u8]> = Arc::from(payload);
        for subscriber in self.subscribers().values() {
            let granted = subscriber
                .filters
                .iter()
                .filter(|(filter, _)| mqtt::topic_matches(filter, &topic))
                .map(|(_, granted)| *granted)
                .max();
            if let Some(granted) = granted {
                // A full outbox means a slow subscriber: it loses this message.
                let _ = subscriber.outbox.try_send(Delivery {
                    topic: Arc::clone(&topic),
                    payload: Arc::clone(&payload),
                    qos: qos.min(granted),
                });
            }
        }
    }
}

/// Removes a session's subscriptions when its connection ends, however it ends.
pub(crate) struct SessionGuard<'a> {
    broker: &'a Broker,
    pub(crate) id: u64,
}

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.broker.subscribers().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_subscriptions_deliver_once_at_the_highest_grant() {
        let broker = Broker::default();
        let (session, mut inbox) = broker.open_session();
        assert!(broker.subscribe(session.id, "a/#", QoS::AtMostOnce));
        assert!(broker.subscribe(session.id, "a/+", QoS::AtLeastOnce));
        broker.publish("a/b", b"x", QoS::ExactlyOnce);
        let delivery = inbox.try_recv().unwrap();
        assert_eq!(delivery.qos, QoS::AtLeastOnce);
        assert!(inbox.try_recv().is_err());
    }

    #[test]
    fn closed_session_leaves_no_subscriber() {
        let broker = Broker::default();
        {
            let (session, _inbox) = broker.open_session();
            broker.subscribe(session.id, "#", QoS::AtMostOnce);
        }
        assert!(broker.subscribers().is_empty());
    }

    #[test]
    fn subscriptions_are_capped() {
        let broker = Broker::default();
        let (session, _inbox) = broker.open_session();
        for index in 0..MAX_FILTERS_PER_CONNECTION {
            assert!(broker.subscribe(session.id, &format!("t/{index}"), QoS::AtMostOnce));
        }
        assert!(!broker.subscribe(session.id, "one/too/many", QoS::AtMostOnce));
    }

    #[test]
    fn slow_subscriber_loses_messages_instead_of_blocking() {
        let broker = Broker::default();
        let (session, mut inbox) = broker.open_session();
        broker.subscribe(session.id, "t", QoS::AtMostOnce);
        for _ in 0..OUTBOX_CAPACITY + 10 {
            broker.publish("t", b"x", QoS::AtMostOnce);
        }
        let mut received = 0;
        while inbox.try_recv().is_ok() {
            received += 1;
        }
        assert_eq!(received, OUTBOX_CAPACITY);
    }
}
