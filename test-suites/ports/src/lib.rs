//! The listening-ports suite of iotcert (`ports`).
//!
//! EN 303 645 5.6-1 asks that unused network interfaces be disabled, 5.5-1 that
//! management be encrypted, 5.6-4 that debug interfaces not be reachable, 5.6-2 that the
//! attack surface be minimised (no version-revealing banners). This crate decides those
//! four provisions for each sample unit from what the unit's ports actually do:
//!
//! 1. [`sweep`]: a TCP connect sweep of the profile's ports through the scope guard and
//!    the device's pacer, with a sliding window sized from the open-file limit
//!    ([`fdlimit`]);
//! 2. `examine`: banners and protocol probes on every open port, judged by the pure
//!    [`identify`] module (the fuzz target's entry point);
//! 3. `udp_scan`: protocol-correct probes to the common IoT UDP services;
//! 4. `report`: the four verdicts with their evidence (port tables, transcripts).
//!
//! The suite's section of the profile, `[ports]`, is [`PortsOptions`]; its part of the
//! report, the ports found open on each unit, is made by `found` from the port tables.

mod checks;
mod examine;
pub mod fdlimit;
mod found;
pub mod identify;
mod options;
mod report;
mod suite;
pub mod sweep;
mod udp_scan;

pub use checks::{BANNER_DISCLOSURE, CLEARTEXT_MANAGEMENT, DEBUG_INTERFACE, UNDECLARED_OPEN_PORT};
pub use options::{parse_port_range, IgnoredPort, PortsOptions, MAX_PORT_RETRIES};
pub use suite::{PortsSuite, SUITE_VERSION};
