//! The scope guard: the one place that decides whether an address may receive traffic.
//!
//! Every connection a suite opens through [`crate::RunContext`] passes here first, and
//! the engine checks every sample unit before the first packet of a campaign, so an
//! address the profile's scope does not list never sees a byte from the harness.

use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// An address the harness refused to send to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutOfScope {
    pub address: IpAddr,
    pub allowed: Vec<IpNet>,
}

impl fmt::Display for OutOfScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
        write!(
            f,
            "address {} is outside the campaign's scope (allowed: {}); nothing was sent to it",
            self.address,
            allowed.join(", ")
        )
    }
}

impl std::error::Error for OutOfScope {}

/// The networks a campaign may send to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeGuard {
    allowed: Vec<IpNet>,
}

impl ScopeGuard {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        ScopeGuard { allowed }
    }

    /// Ok when `address` lies in an allowed network. IPv4-mapped IPv6 addresses are
    /// judged as the IPv4 address they carry, so `::ffff:10.0.0.1` cannot slip past.
    pub fn check(&self, address: IpAddr) -> Result<(), OutOfScope> {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        if self.allowed.iter().any(|net| net.contains(&address)) {
            Ok(())
        } else {
            Err(OutOfScope {
                address,
                allowed: self.allowed.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Scope;

    #[test]
    fn loopback_default() {
        let guard = ScopeGuard::new(Scope::loopback());
        assert!(guard.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(guard.check("127.200.3.4".parse().unwrap()).is_ok());
        assert!(guard.check("::1".parse().unwrap()).is_ok());
        assert!(guard.check("10.0.0.1".parse().unwrap()).is_err());
        assert!(guard.check("192.168.1.1".parse().unwrap()).is_err());
        assert!(guard.check("::ffff:10.0.0.1".parse().unwrap()).is_err());
        assert!(guard.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(guard.check("fe80::1".parse().unwrap()).is_err());
    }
}
