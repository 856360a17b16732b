//! The login interfaces a profile declares, and the targets the probes use on each unit.
//! Both the suite (guessing, brute force, comparisons across units) and the replay of web
//! sessions across units need them; they live here so that `sessions` does not reach
//! back into `suite`, which uses it.

use crate::options::CredentialsOptions;
use crate::probe::{Protocol, Target};
use iotcert_suite::profile::{Authentication, Transport};
use iotcert_suite::{Profile, RunContext, SampleUnit};
use std::time::Duration;

/// A login interface the profile declares, whatever authentication it claims: a key-only
/// claim is tested too (a key-only SSH server does not offer the password method, which
/// the probe observes), never taken on trust.
#[derive(Clone, Debug)]
pub(crate) struct LoginInterface {
    pub port: u16,
    pub protocol: Protocol,
    pub tls: bool,
    /// The service name as declared (`https`, `ssh`...).
    pub service: String,
    pub authentication: Authentication,
}

/// The declared interfaces whose service has a login this suite speaks.
pub(crate) fn login_interfaces(profile: &Profile) -> Vec<LoginInterface> {
    profile
        .interfaces
        .iter()
        .filter_map(|i| {
            let (protocol, tls) = Protocol::from_service(&i.service)?;
            let transport_ok = match protocol {
                Protocol::Snmp => i.transport == Transport::Udp,
                _ => i.transport == Transport::Tcp,
            };
            transport_ok.then(|| LoginInterface {
                port: i.port,
                protocol,
                tls: tls || i.tls,
                service: i.service.clone(),
                authentication: i.authentication,
            })
        })
        .collect()
}

/// A unit's service, the interface behind it and the target the probes use.
pub(crate) fn target_for(
    options: &CredentialsOptions,
    unit: &SampleUnit,
    interface: &LoginInterface,
) -> Target {
    Target {
        unit: unit.clone(),
        port: interface.port,
        protocol: interface.protocol,
        tls: interface.tls,
        path: match interface.protocol {
            Protocol::Rtsp => options.rtsp_path.clone(),
            _ => options.http_path.clone(),
        },
        attempt_timeout: Duration::from_millis(options.attempt_timeout_ms.max(1000)),
    }
}

pub(crate) fn targets(
    ctx: &RunContext,
    options: &CredentialsOptions,
    unit: &SampleUnit,
) -> Vec<Target> {
    login_interfaces(&ctx.profile)
        .iter()
        .map(|interface| target_for(options, unit, interface))
        .collect()
}
