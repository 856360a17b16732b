//! What the `[protofuzz]` section asks of a run, read once: the settings of cases and
//! probes ([`Settings`]) and the [`Budget`] of each interface. It stands apart from
//! `suite` and `engine` because the suite, the fuzzing engine and `replay` all read it,
//! and none of them should reach into another for it.

use crate::exec::Settings;
use crate::options::{ProtofuzzOptions, MAX_PROTOFUZZ_PARALLEL_CASES};
use std::time::Duration;

/// The budget of one interface.
#[derive(Clone, Debug)]
pub struct Budget {
    pub cases: u32,
    /// Most cases in flight at once, each on its own connection (or datagram): the
    /// ceiling of the adaptive window, or the window itself in fixed pacing.
    pub parallel_cases: u32,
    pub time: Duration,
    pub probe_every: u32,
    pub recovery_wait: Duration,
}

/// The section's settings for cases and probes.
pub fn settings(options: &ProtofuzzOptions) -> (Settings, Budget) {
    let timeout = Duration::from_millis(options.timeout_ms.clamp(50, 60_000));
    let settings = Settings {
        seed: options.seed,
        timeout,
        case_wait: (timeout / 4).clamp(Duration::from_millis(50), Duration::from_millis(500)),
        mqtt_username: options.mqtt_username.clone(),
        mqtt_password: options.mqtt_password.clone(),
    };
    let budget = Budget {
        cases: options.cases_per_protocol,
        parallel_cases: options
            .parallel_cases
            .clamp(1, MAX_PROTOFUZZ_PARALLEL_CASES),
        time: Duration::from_secs(options.seconds_per_protocol.max(1)),
        probe_every: options.probe_every.max(1),
        recovery_wait: Duration::from_secs(options.recovery_wait_seconds),
    };
    (settings, budget)
}
