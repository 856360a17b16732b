//! The suite's section of the profile, `[ports]`: which ports the sweep tries, how
//! patiently, and which open ports are not the device's. The suite owns it (the SDK
//! keeps only what every suite shares) and checks its rules when the harness loads the
//! profile.

use iotcert_suite::profile::rules::{device_port, within, Bound, FieldPath, Refusal, MILLISECONDS};
use iotcert_suite::profile::Transport;
use iotcert_suite::{Profile, ProfileSection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Extra attempts per port (`ports.retries`): 100.
pub const MAX_PORT_RETRIES: u8 = 100;

const PORT_RETRIES: Bound = Bound {
    min: 0,
    max: MAX_PORT_RETRIES as u64,
    what: "extra attempts per port",
};

/// Options of the listening-ports suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortsOptions {
    /// TCP ports to scan, as ranges such as `"1-1024"`; default all 65,535.
    #[serde(default = "PortsOptions::all_ports")]
    pub tcp: Vec<String>,
    /// Send the UDP service probes.
    #[serde(default = "PortsOptions::default_udp")]
    pub udp: bool,
    /// Timeout of one TCP connect attempt, in milliseconds: at most
    /// [`iotcert_suite::profile::limits::MAX_DURATION_MS`] (7 days).
    #[serde(default = "PortsOptions::default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// Extra attempts for a port whose first attempt timed out or was refused for lack
    /// of local resources, so that nothing is missed under load: at most
    /// [`MAX_PORT_RETRIES`] (100).
    #[serde(default = "PortsOptions::default_retries")]
    pub retries: u8,
    /// Ports that are open but do not belong to the device (for example a listener of
    /// the test host on a shared loopback); reported as ignored, with the reason.
    #[serde(default)]
    pub ignore: Vec<IgnoredPort>,
}

impl PortsOptions {
    fn all_ports() -> Vec<String> {
        vec!["1-65535".to_owned()]
    }
    fn default_udp() -> bool {
        true
    }
    fn default_connect_timeout() -> u64 {
        1500
    }
    fn default_retries() -> u8 {
        2
    }

    /// Every TCP port the section asks to scan, sorted and without repeats.
    pub fn tcp_ports(&self) -> Vec<u16> {
        let mut ports = BTreeSet::new();
        for range in &self.tcp {
            if let Ok((low, high)) = parse_port_range(range) {
                ports.extend(low..=high);
            }
        }
        ports.into_iter().collect()
    }

    /// Whether the profile ignores `port` on `transport`.
    pub fn ignores(&self, port: u16, transport: Transport) -> bool {
        self.ignore
            .iter()
            .any(|ignored| ignored.port == port && ignored.transport == transport)
    }
}

impl Default for PortsOptions {
    fn default() -> Self {
        PortsOptions {
            tcp: Self::all_ports(),
            udp: Self::default_udp(),
            connect_timeout_ms: Self::default_connect_timeout(),
            retries: Self::default_retries(),
            ignore: Vec::new(),
        }
    }
}

impl ProfileSection for PortsOptions {
    const NAME: &'static str = "ports";

    /// Well-formed port ranges, the connect timeout and the retries within their
    /// bounds, no ignored port 0.
    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        let ports = FieldPath::of(&[Self::NAME]);
        for (index, range) in self.tcp.iter().enumerate() {
            parse_port_range(range)
                .map_err(|message| Refusal::new(ports.key("tcp").index(index), message))?;
        }
        within(
            ports.key("connect_timeout_ms"),
            self.connect_timeout_ms,
            &MILLISECONDS,
        )?;
        within(ports.key("retries"), u64::from(self.retries), &PORT_RETRIES)?;
        for (index, ignored) in self.ignore.iter().enumerate() {
            device_port(&ports.key("ignore").index(index).key("port"), ignored.port)?;
        }
        Ok(())
    }
}

/// A port excluded from the findings, with the reason it does not belong to the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoredPort {
    /// Port 1 to 65535.
    pub port: u16,
    pub transport: Transport,
    pub reason: String,
}

/// `"22"` or `"1-1024"` to an inclusive range of non-zero ports.
pub fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let port = |part: &str| -> Result<u16, String> {
        match part.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("{part:?} is not a port number from 1 to 65535")),
            Ok(port) => Ok(port),
        }
    };
    match text.split_once('-') {
        None => port(text).map(|p| (p, p)),
        Some((low, high)) => {
            let (low, high) = (port(low)?, port(high)?);
            if low > high {
                return Err(format!("range {text:?} runs backwards"));
            }
            Ok((low, high))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_without_the_section_sweeps_every_port() {
        let profile = Profile::from_toml_str(
            "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
             [[units]]\nid = \"unit-1\"\naddress = \"127.0.0.1\"\n",
        )
        .unwrap();
        let options = profile.section_or_default::<PortsOptions>().unwrap();
        assert_eq!(options.tcp_ports().len(), 65_535);
    }

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("1-1024"), Ok((1, 1024)));
        assert_eq!(parse_port_range("443"), Ok((443, 443)));
        assert!(parse_port_range("0").is_err());
        assert!(parse_port_range("90-80").is_err());
        assert!(parse_port_range("70000").is_err());
    }
}
