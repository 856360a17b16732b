//! The protocol-fuzzing suite of iotcert (`protofuzz`).
//!
//! EN 303 645 5.13-1 asks that a device validate the data it receives through its
//! interfaces, and TS 103 701 5.13-1-2 that a lab check it by sending malformed input.
//! This crate sends seeded, structure-aware malformed messages to every declared
//! cleartext MQTT, CoAP and HTTP interface and watches whether the device's services
//! keep answering:
//!
//! 1. [`node`]: cases as field trees whose length prefixes are computed (or lie on
//!    purpose), so they can be shrunk without breaking framing;
//! 2. [`mqtt`], [`coap`], [`http`]: the generators and the liveness oracles, pure;
//!    [`rng`]: the seeded stream (same seed, same cases, byte for byte);
//! 3. [`exec`]: cases and probes through the run context (scope guard, pacer, timeouts);
//! 4. `budget`: the `[protofuzz]` section read once, as the settings of cases and
//!    probes and each interface's budget; `engine`: the budget, periodic probes of every
//!    declared service, recovery wait, culprit search and shrinking; [`window`]: how
//!    many cases are in flight at once, adapting to how the device copes;
//! 5. [`reproducer`]: the JSON reproducer of a finding and [`replay`], for
//!    `iotcert replay`.
//!
//! The suite's section of the profile, `[protofuzz]`, is [`ProtofuzzOptions`].

mod budget;
mod checks;
pub mod coap;
mod engine;
pub mod exec;
pub mod http;
pub mod mqtt;
pub mod node;
mod options;
pub mod reproducer;
pub mod rng;
mod suite;
pub mod window;

pub use budget::settings;
pub use checks::{COAP, HTTP, MQTT, SUITE_VERSION};
pub use exec::{generate, Case, Protocol, Settings};
pub use options::{
    HealthEndpoint, ProtofuzzOptions, MAX_PROTOFUZZ_CASES, MAX_PROTOFUZZ_PARALLEL_CASES,
    MAX_PROTOFUZZ_PROBE_EVERY, MAX_PROTOFUZZ_TIMEOUT_MS, MIN_PROTOFUZZ_TIMEOUT_MS,
};
pub use reproducer::{replay, ReplayOutcome, Reproducer, REPRODUCER_FORMAT};
pub use suite::{fuzzable, ProtofuzzSuite};
