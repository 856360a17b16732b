//! The pacer: how hard all suites together may press one device.
//!
//! One pacer exists per sample unit and every suite shares it, so two suites running
//! side by side cannot together exceed the device's limits. It bounds connections open
//! at once (a semaphore) and new connections per second (a GCRA rate limiter with a
//! small burst allowance).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Shared limits for one device; cheap to clone.
#[derive(Clone, Debug)]
pub struct Pacer {
    slots: Arc<Semaphore>,
    max_connections: NonZeroU32,
    interval: Duration,
    burst: Duration,
    next_emission: Arc<Mutex<Instant>>,
}

/// Held for as long as a connection is open; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionPermit {
    _slot: OwnedSemaphorePermit,
}

impl Pacer {
    pub fn new(max_connections: NonZeroU32, per_second: NonZeroU32) -> Self {
        let interval = Duration::from_secs(1) / per_second.get();
        // Allow a burst of a twentieth of a second's worth of connections.
        let burst = interval * (per_second.get() / 20).max(1);
        Pacer {
            slots: Arc::new(Semaphore::new(max_connections.get() as usize)),
            max_connections,
            interval,
            burst,
            next_emission: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Connections that may be open at once.
    pub fn max_connections(&self) -> u32 {
        self.max_connections.get()
    }

    /// Wait for a free connection slot and a rate token.
    pub async fn connection(&self) -> ConnectionPermit {
        // The semaphore is never closed, so acquire cannot fail; if it ever were,
        // pacing by rate alone still holds.
        let slot = loop {
            if let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await {
                break slot;
            }
            tokio::task::yield_now().await;
        };
        self.rate_token().await;
        ConnectionPermit { _slot: slot }
    }

    /// Wait until the rate allows one more new connection.
    pub async fn rate_token(&self) {
        let wait_until = {
            let now = Instant::now();
            let mut next = match self.next_emission.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let emission = (*next).max(now);
            *next = emission + self.interval;
            emission.checked_sub(self.burst).unwrap_or(emission)
        };
        if wait_until > Instant::now() {
            tokio::time::sleep_until(wait_until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limits_concurrency() {
        let pacer = Pacer::new(
            NonZeroU32::new(2).unwrap(),
            NonZeroU32::new(10_000).unwrap(),
        );
        let a = pacer.connection().await;
        let _b = pacer.connection().await;
        let third = tokio::time::timeout(Duration::from_millis(50), pacer.connection()).await;
        assert!(third.is_err(), "a third connection must wait");
        drop(a);
        let third = tokio::time::timeout(Duration::from_millis(500), pacer.connection()).await;
        assert!(third.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn limits_rate() {
        let pacer = Pacer::new(
            NonZeroU32::new(1000).unwrap(),
            NonZeroU32::new(100).unwrap(),
        );
        let start = Instant::now();
        for _ in 0..205 {
            pacer.rate_token().await;
        }
        let elapsed = start.elapsed();
        // 205 tokens at 100/s with a 5-token burst: at least ~2 s of virtual time.
        assert!(elapsed >= Duration::from_millis(1990), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2100), "{elapsed:?}");
    }
}
