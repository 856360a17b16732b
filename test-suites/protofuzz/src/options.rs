//! The suite's section of the profile, `[protofuzz]`: the budget, the seed, the
//! recovery wait and the device's health endpoint. The suite owns it (the SDK keeps only
//! what every suite shares) and checks its rules when the harness loads the profile.

use iotcert_suite::profile::rules::{device_port, within, Bound, FieldPath, Refusal, SECONDS};
use iotcert_suite::{Profile, ProfileSection};
use serde::{Deserialize, Serialize};

/// Fuzzing cases per interface and unit (`protofuzz.cases_per_protocol`):
/// 1,000,000,000; at a thousand cases a second that is eleven days of fuzzing, more
/// than the longest `seconds_per_protocol` allows.
pub const MAX_PROTOFUZZ_CASES: u32 = 1_000_000_000;
/// Fuzzing cases in flight at once (`protofuzz.parallel_cases`): 64.
pub const MAX_PROTOFUZZ_PARALLEL_CASES: u32 = 64;
/// Fuzzing cases between two liveness probes (`protofuzz.probe_every`): 10,000; the
/// cases sent since the last probe are kept in memory to be replayed.
pub const MAX_PROTOFUZZ_PROBE_EVERY: u32 = 10_000;
/// Shortest wait for one answer while fuzzing (`protofuzz.timeout_ms`): 50 ms.
pub const MIN_PROTOFUZZ_TIMEOUT_MS: u64 = 50;
/// Longest wait for one answer while fuzzing (`protofuzz.timeout_ms`): 60,000 ms.
pub const MAX_PROTOFUZZ_TIMEOUT_MS: u64 = 60_000;

const PROTOFUZZ_CASES: Bound = Bound {
    min: 0,
    max: MAX_PROTOFUZZ_CASES as u64,
    what: "cases per interface and unit",
};
const PROTOFUZZ_PARALLEL_CASES: Bound = Bound {
    min: 1,
    max: MAX_PROTOFUZZ_PARALLEL_CASES as u64,
    what: "cases in flight at once",
};
const PROTOFUZZ_PROBE_EVERY: Bound = Bound {
    min: 1,
    max: MAX_PROTOFUZZ_PROBE_EVERY as u64,
    what:
        "cases between two liveness probes (the cases since the last probe are kept to be replayed)",
};
const PROTOFUZZ_TIMEOUT_MS: Bound = Bound {
    min: MIN_PROTOFUZZ_TIMEOUT_MS,
    max: MAX_PROTOFUZZ_TIMEOUT_MS,
    what: "milliseconds (the range the fuzzing suite uses)",
};

/// Options of the protocol-fuzzing suite. Every declared cleartext MQTT, CoAP and HTTP
/// interface is fuzzed unless `protocols` narrows the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtofuzzOptions {
    /// Seed of the case generators: the same seed sends the same cases, byte for byte.
    /// Any number from 0 to 9,223,372,036,854,775,807 (the largest TOML integer).
    #[serde(default = "ProtofuzzOptions::default_seed")]
    pub seed: u64,
    /// Most test cases sent to each fuzzed interface of each unit: at most
    /// [`MAX_PROTOFUZZ_CASES`] (1,000,000,000).
    #[serde(default = "ProtofuzzOptions::default_cases")]
    pub cases_per_protocol: u32,
    /// Most seconds spent on each fuzzed interface of each unit (shrinking included):
    /// at most [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
    #[serde(default = "ProtofuzzOptions::default_seconds")]
    pub seconds_per_protocol: u64,
    /// Most cases in flight at once, each on its own connection (or datagram): 1 to
    /// [`MAX_PROTOFUZZ_PARALLEL_CASES`] (64, the default), and within the pacer's
    /// limits. A ceiling: the window of cases in flight starts at 4, grows while the
    /// device answers promptly and halves at its first sign of distress
    /// ([`crate::window`]); with `[pacing] mode = "fixed"` exactly this many.
    #[serde(default = "ProtofuzzOptions::default_parallel_cases")]
    pub parallel_cases: u32,
    /// Cases between two liveness probes of every declared service of the unit (the
    /// fuzzed service itself is also probed by the session set-up of every case): 1 to
    /// [`MAX_PROTOFUZZ_PROBE_EVERY`] (10,000).
    #[serde(default = "ProtofuzzOptions::default_probe_every")]
    pub probe_every: u32,
    /// Seconds to wait for a service that stopped answering to come back (a watchdog
    /// restart) before the check ends INCONCLUSIVE: at most
    /// [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
    #[serde(default = "ProtofuzzOptions::default_recovery_wait")]
    pub recovery_wait_seconds: u64,
    /// Time allowed for one answer of the device, in milliseconds:
    /// [`MIN_PROTOFUZZ_TIMEOUT_MS`] (50) to [`MAX_PROTOFUZZ_TIMEOUT_MS`]
    /// (60,000), the range the fuzzing suite works in.
    #[serde(default = "ProtofuzzOptions::default_timeout_ms")]
    pub timeout_ms: u64,
    /// Fuzz only these protocols (`mqtt`, `coap`, `http`); default every declared one.
    #[serde(default)]
    pub protocols: Option<Vec<String>>,
    /// Credentials for the MQTT session set-up (CONNECT) when the broker refuses
    /// anonymous clients; without them cases are sent after a refused CONNECT too.
    #[serde(default)]
    pub mqtt_username: Option<String>,
    #[serde(default)]
    pub mqtt_password: Option<String>,
    /// The device's health or version endpoint, watched like a service: it must keep
    /// answering 2xx (with `expect` in the body, when given) while the device is fuzzed.
    #[serde(default)]
    pub health: Option<HealthEndpoint>,
}

/// A cleartext HTTP endpoint that tells whether the device is well, such as a status
/// page or `/version`. A device can keep every port open while a component behind
/// them is dead; this is where it says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthEndpoint {
    /// Port 1 to 65535.
    pub port: u16,
    /// Path of the GET request.
    #[serde(default = "HealthEndpoint::default_path")]
    pub path: String,
    /// Text the body must contain, such as the firmware version.
    #[serde(default)]
    pub expect: Option<String>,
}

impl HealthEndpoint {
    fn default_path() -> String {
        "/".to_owned()
    }
}

impl ProtofuzzOptions {
    fn default_seed() -> u64 {
        0x1070_ce47
    }
    fn default_cases() -> u32 {
        2000
    }
    fn default_seconds() -> u64 {
        120
    }
    fn default_parallel_cases() -> u32 {
        MAX_PROTOFUZZ_PARALLEL_CASES
    }
    fn default_probe_every() -> u32 {
        25
    }
    fn default_recovery_wait() -> u64 {
        20
    }
    fn default_timeout_ms() -> u64 {
        1000
    }
}

impl Default for ProtofuzzOptions {
    fn default() -> Self {
        ProtofuzzOptions {
            seed: Self::default_seed(),
            cases_per_protocol: Self::default_cases(),
            seconds_per_protocol: Self::default_seconds(),
            parallel_cases: Self::default_parallel_cases(),
            probe_every: Self::default_probe_every(),
            recovery_wait_seconds: Self::default_recovery_wait(),
            timeout_ms: Self::default_timeout_ms(),
            protocols: None,
            mqtt_username: None,
            mqtt_password: None,
            health: None,
        }
    }
}

impl ProfileSection for ProtofuzzOptions {
    const NAME: &'static str = "protofuzz";

    /// The budget, the probes and the timeouts within their bounds, a health endpoint
    /// on a port with a request path.
    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        let protofuzz = FieldPath::of(&[Self::NAME]);
        let options = self;
        within(
            protofuzz.key("cases_per_protocol"),
            u64::from(options.cases_per_protocol),
            &PROTOFUZZ_CASES,
        )?;
        within(
            protofuzz.key("seconds_per_protocol"),
            options.seconds_per_protocol,
            &SECONDS,
        )?;
        within(
            protofuzz.key("parallel_cases"),
            u64::from(options.parallel_cases),
            &PROTOFUZZ_PARALLEL_CASES,
        )?;
        within(
            protofuzz.key("probe_every"),
            u64::from(options.probe_every),
            &PROTOFUZZ_PROBE_EVERY,
        )?;
        within(
            protofuzz.key("recovery_wait_seconds"),
            options.recovery_wait_seconds,
            &SECONDS,
        )?;
        within(
            protofuzz.key("timeout_ms"),
            options.timeout_ms,
            &PROTOFUZZ_TIMEOUT_MS,
        )?;
        if let Some(health) = &options.health {
            let at = protofuzz.key("health");
            device_port(&at.key("port"), health.port)?;
            if !health.path.starts_with('/') || !health.path.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Refusal::new(
                    at.key("path"),
                    format!(
                        "{:?} is not a request path: it starts with '/' and has no spaces or control characters",
                        health.path
                    ),
                ));
            }
        }
        Ok(())
    }
}
