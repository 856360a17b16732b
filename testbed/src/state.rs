//! What the services of one virtual device share: its identity, flaws, accounts,
//! session secrets, broker subscriptions and the firmware it runs.
//!
//! Every service (`http`, `admin`, `update`, `broker`, `telnet`, `ssh`, `coap`) reads it;
//! it depends on none of them, and `device.rs` builds it and starts the services.

use crate::accounts::Accounts;
use crate::config::Flaws;
use crate::sessions::Sessions;
use crate::subscriptions::Broker;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the services of one device share: identity, flaws, accounts and live state.
pub(crate) struct DeviceState {
    pub(crate) name: String,
    pub(crate) flaws: Flaws,
    pub(crate) accounts: Accounts,
    pub(crate) sessions: Sessions,
    pub(crate) broker: Broker,
    /// The SSH server's configuration, with the unit's host key.
    pub(crate) ssh_config: Arc<russh::server::Config>,
    pub(crate) ssh_fingerprint: String,
    pub(crate) firmware_version: Mutex<String>,
    /// Set when a refused image crashed the update agent ([`Flaws::fragile_update_agent`]).
    pub(crate) update_agent_crashed: std::sync::atomic::AtomicBool,
    pub(crate) started: Instant,
}

impl DeviceState {
    /// The firmware version running now.
    pub(crate) fn firmware_version(&self) -> String {
        self.firmware_version
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records that an update installed `version`.
    pub(crate) fn install_firmware(&self, version: String) {
        *self
            .firmware_version
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = version;
    }

    /// Time since the device started.
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}
