//! The suite's section of the profile, `[tls]`: trust anchors, policy, and the device
//! as a TLS client (`[tls.client]`). The suite owns it (the SDK keeps only what every
//! suite shares) and checks its rules when the harness loads the profile. Paths are
//! relative to the profile file.

use iotcert_suite::profile::rules::{
    device_port, within, Bound, FieldPath, Refusal, MILLISECONDS, SECONDS,
};
use iotcert_suite::profile::CommandSpec;
use iotcert_suite::{Profile, ProfileSection};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Longest acceptable certificate validity (`tls.max_certificate_validity_days`):
/// 3,652,425 days, 10,000 years, beyond the last date X.509 can write (9999-12-31).
pub const MAX_CERTIFICATE_VALIDITY_DAYS: u32 = 3_652_425;

const CERTIFICATE_VALIDITY_DAYS: Bound = Bound {
    min: 0,
    max: MAX_CERTIFICATE_VALIDITY_DAYS as u64,
    what: "days (10,000 years, beyond any X.509 date)",
};

/// Options of the TLS suite. Paths are relative to the profile file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// Certificates (PEM) the units' server certificates must chain to, such as the
    /// manufacturer's device CA. Without any, only self-signed certificates can be judged.
    #[serde(default)]
    pub trust_anchors: Vec<PathBuf>,
    /// TCP ports inspected besides the interfaces declared with `tls = true`; declared
    /// TCP interfaces without TLS are probed too, and inspected when they answer TLS.
    /// Ports 1 to 65535.
    #[serde(default)]
    pub extra_ports: Vec<u16>,
    /// Longest acceptable validity of a server certificate, in days: at most
    /// [`MAX_CERTIFICATE_VALIDITY_DAYS`] (3,652,425: 10,000 years).
    #[serde(default = "TlsOptions::default_max_validity_days")]
    pub max_certificate_validity_days: u32,
    /// Count CBC suites with a SHA-1 MAC as weak (BSI TR-02102 and NIST SP 800-52r2 do).
    #[serde(default)]
    pub forbid_cbc_sha1: bool,
    /// Timeout of one connection or read, in milliseconds: at most
    /// [`iotcert_suite::profile::limits::MAX_DURATION_MS`] (7 days).
    #[serde(default = "TlsOptions::default_timeout_ms")]
    pub timeout_ms: u64,
    /// The device as a TLS client (its cloud or update connection); absent when the
    /// device declares no outgoing TLS connection.
    #[serde(default)]
    pub client: Option<TlsClientOptions>,
}

impl TlsOptions {
    fn default_max_validity_days() -> u32 {
        825
    }
    fn default_timeout_ms() -> u64 {
        3000
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            trust_anchors: Vec::new(),
            extra_ports: Vec::new(),
            max_certificate_validity_days: Self::default_max_validity_days(),
            forbid_cbc_sha1: false,
            timeout_ms: Self::default_timeout_ms(),
            client: None,
        }
    }
}

impl ProfileSection for TlsOptions {
    const NAME: &'static str = "tls";

    /// Ports a device listens on, the validity and the timeouts within their bounds, a
    /// client listener on a port the device can be configured with.
    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        let tls = FieldPath::of(&[Self::NAME]);
        for (index, port) in self.extra_ports.iter().enumerate() {
            device_port(&tls.key("extra_ports").index(index), *port)?;
        }
        within(
            tls.key("max_certificate_validity_days"),
            u64::from(self.max_certificate_validity_days),
            &CERTIFICATE_VALIDITY_DAYS,
        )?;
        within(tls.key("timeout_ms"), self.timeout_ms, &MILLISECONDS)?;
        if let Some(client) = &self.client {
            let at = tls.key("client");
            if client.listen.port() == 0 {
                return Err(Refusal::new(
                    at.key("listen"),
                    format!(
                        "{} has port 0: the device connects to a port it is configured with, from 1 to 65535",
                        client.listen
                    ),
                ));
            }
            within(at.key("wait_seconds"), client.wait_seconds, &SECONDS)?;
        }
        Ok(())
    }
}

/// How the device's TLS client is pointed at the servers of the harness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsClientOptions {
    /// Loopback address and port the harness listens on, where the device's client
    /// connects (its cloud host resolves there, or it is configured with it). The port
    /// is 1 to 65535: the device is configured with it, so the system cannot choose it.
    pub listen: std::net::SocketAddr,
    /// The host name the device expects its server to have.
    pub server_name: String,
    /// A CA (PEM) the device trusts, for the valid control certificate.
    pub trusted_ca_certificate: PathBuf,
    /// Its PKCS#8 private key (PEM).
    pub trusted_ca_key: PathBuf,
    /// Run before each presented certificate to make the device connect; without it
    /// the suite waits for the device's periodic retries.
    #[serde(default)]
    pub trigger: Option<CommandSpec>,
    /// Seconds to wait for the device to connect, for each certificate presented: at
    /// most [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
    #[serde(default = "TlsClientOptions::default_wait_seconds")]
    pub wait_seconds: u64,
}

impl TlsClientOptions {
    fn default_wait_seconds() -> u64 {
        10
    }
}
