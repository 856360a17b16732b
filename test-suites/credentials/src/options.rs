//! The suite's section of the profile, `[credentials]`: the defaults and per-unit
//! credentials the lab was given, and how hard the suite may guess. The suite owns it
//! (the SDK keeps only what every suite shares) and checks its rules when the harness
//! loads the profile.

use iotcert_suite::profile::rules::{within, Bound, FieldPath, Refusal, CONNECTIONS, MILLISECONDS};
use iotcert_suite::{Profile, ProfileSection};
use serde::{Deserialize, Serialize};

/// Wrong passwords of the brute-force measurement (`credentials.brute_force_attempts`):
/// 100,000, a rate measured to a fraction of a percent; the suite plans them all at once.
pub const MAX_BRUTE_FORCE_ATTEMPTS: u32 = 100_000;
/// Database candidates per service and unit (`credentials.max_candidates`): 1,000,000.
pub const MAX_CREDENTIAL_CANDIDATES: u32 = 1_000_000;

const BRUTE_FORCE_ATTEMPTS: Bound = Bound {
    min: 0,
    max: MAX_BRUTE_FORCE_ATTEMPTS as u64,
    what: "wrong passwords",
};
const CREDENTIAL_CANDIDATES: Bound = Bound {
    min: 0,
    max: MAX_CREDENTIAL_CANDIDATES as u64,
    what: "candidates per service and unit",
};

/// Options of the default-credentials suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsOptions {
    /// Defaults the manufacturer declares (or the lab knows) for this model, tried
    /// before the built-in database.
    #[serde(default)]
    pub known_defaults: Vec<DeclaredCredential>,
    /// The credential each unit was delivered with, when the lab was given it: tried on
    /// the other units to prove that passwords are unique per unit.
    #[serde(default)]
    pub unit_credentials: Vec<UnitCredential>,
    /// Wrong passwords sent to measure brute-force resistance (EN 303 645 5.1-5): at
    /// most [`MAX_BRUTE_FORCE_ATTEMPTS`] (100,000).
    #[serde(default = "CredentialsOptions::default_brute_force_attempts")]
    pub brute_force_attempts: u32,
    /// Service (as in `interfaces`, such as `ssh`) whose brute-force resistance is
    /// measured; default the first declared login service, SSH and telnet first.
    #[serde(default)]
    pub brute_force_service: Option<String>,
    /// Most database candidates tried per service and unit: at most
    /// [`MAX_CREDENTIAL_CANDIDATES`] (1,000,000).
    #[serde(default = "CredentialsOptions::default_max_candidates")]
    pub max_candidates: u32,
    /// Login attempts in flight at once per unit, 16 by default as hydra's tasks (always
    /// also bounded by the pacer, whose adaptive window backs off on distress, and by
    /// the connections the device is seen to hold): 1 to
    /// [`iotcert_suite::profile::limits::MAX_CONNECTIONS`] (1,048,576).
    #[serde(default = "CredentialsOptions::default_concurrency")]
    pub concurrency: u32,
    /// Time allowed for one login attempt, in milliseconds: at most
    /// [`iotcert_suite::profile::limits::MAX_DURATION_MS`] (7 days).
    #[serde(default = "CredentialsOptions::default_attempt_timeout")]
    pub attempt_timeout_ms: u64,
    /// HTTP path of the login page or protected resource.
    #[serde(default = "CredentialsOptions::default_http_path")]
    pub http_path: String,
    /// RTSP path of the stream to DESCRIBE.
    #[serde(default = "CredentialsOptions::default_rtsp_path")]
    pub rtsp_path: String,
}

impl CredentialsOptions {
    fn default_brute_force_attempts() -> u32 {
        20
    }
    fn default_max_candidates() -> u32 {
        200
    }
    fn default_concurrency() -> u32 {
        16
    }
    fn default_attempt_timeout() -> u64 {
        15_000
    }
    fn default_http_path() -> String {
        "/".to_owned()
    }
    fn default_rtsp_path() -> String {
        "/".to_owned()
    }
}

impl Default for CredentialsOptions {
    fn default() -> Self {
        CredentialsOptions {
            known_defaults: Vec::new(),
            unit_credentials: Vec::new(),
            brute_force_attempts: Self::default_brute_force_attempts(),
            brute_force_service: None,
            max_candidates: Self::default_max_candidates(),
            concurrency: Self::default_concurrency(),
            attempt_timeout_ms: Self::default_attempt_timeout(),
            http_path: Self::default_http_path(),
            rtsp_path: Self::default_rtsp_path(),
        }
    }
}

/// A default credential of the model, for one service or all (`service` omitted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredCredential {
    #[serde(default)]
    pub service: Option<String>,
    /// Omitted for an anonymous login or an SNMP community.
    #[serde(default)]
    pub username: Option<String>,
    pub password: String,
}

/// The credential one unit was delivered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitCredential {
    /// The unit's id, as in `units`.
    pub unit: String,
    /// The service it logs in to, as in `interfaces` (`ssh`, `http`...).
    pub service: String,
    pub username: String,
    pub password: String,
}

impl ProfileSection for CredentialsOptions {
    const NAME: &'static str = "credentials";

    /// The attempts, candidates, concurrency and timeout within their bounds.
    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        let credentials = FieldPath::of(&[Self::NAME]);
        within(
            credentials.key("brute_force_attempts"),
            u64::from(self.brute_force_attempts),
            &BRUTE_FORCE_ATTEMPTS,
        )?;
        within(
            credentials.key("max_candidates"),
            u64::from(self.max_candidates),
            &CREDENTIAL_CANDIDATES,
        )?;
        within(
            credentials.key("concurrency"),
            u64::from(self.concurrency),
            &CONNECTIONS,
        )?;
        within(
            credentials.key("attempt_timeout_ms"),
            self.attempt_timeout_ms,
            &MILLISECONDS,
        )
    }
}
