//! The scope guard: the one place that decides whether an address may receive traffic.
//!
//! Every connection a suite opens through [`crate::RunContext`] passes here first, and
//! the engine checks every sample unit before the first packet of a campaign, so an
//! address the profile's scope does not list never sees a byte from the harness. Some
//! addresses are refused whatever the scope lists, because they are no single device:
//! the unspecified address (a socket sends to this host instead: `0.0.0.0` reaches
//! 127.0.0.1, `::` reaches ::1), multicast groups and broadcast addresses.

use ipnet::{IpNet, Ipv4Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// Why an address can never be a device under test, whatever the scope allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsendable {
    /// `0.0.0.0/8` ("this network", RFC 1122) or `::`: the system delivers what is
    /// sent there to this host, not to a device.
    Unspecified,
    /// `224.0.0.0/4` or `ff00::/8`: every member of the group receives it.
    Multicast,
    /// `255.255.255.255`, the limited broadcast: every host of the link receives it.
    LimitedBroadcast,
    /// The broadcast address of this allowed IPv4 network (prefix of at most 30 bits;
    /// a /31 or /32 has none): every host of that network receives it.
    DirectedBroadcast(Ipv4Net),
}

impl fmt::Display for Unsendable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsendable::Unspecified => f.write_str(
                "the unspecified address (what is sent there reaches this host, not a device)",
            ),
            Unsendable::Multicast => f.write_str("a multicast address (a group, not a device)"),
            Unsendable::LimitedBroadcast => {
                f.write_str("the limited broadcast address (every host of the link)")
            }
            Unsendable::DirectedBroadcast(net) => {
                write!(f, "the broadcast address of {net} (every host of it)")
            }
        }
    }
}

/// The address a socket really sends to: an IPv4-mapped IPv6 address is its IPv4
/// address, so `::ffff:10.0.0.1` cannot slip past as something else.
pub fn unmapped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Why `address` is no single device, if it is none: judged on the address a socket
/// would really send to, with the broadcast addresses of the `allowed` networks.
pub fn unsendable(address: IpAddr, allowed: &[IpNet]) -> Option<Unsendable> {
    match unmapped(address) {
        IpAddr::V4(v4) => {
            if v4.octets()[0] == 0 {
                Some(Unsendable::Unspecified)
            } else if v4.is_multicast() {
                Some(Unsendable::Multicast)
            } else if v4 == Ipv4Addr::BROADCAST {
                Some(Unsendable::LimitedBroadcast)
            } else {
                allowed
                    .iter()
                    .filter_map(|net| match net {
                        IpNet::V4(net) if net.prefix_len() <= 30 => Some(*net),
                        _ => None,
                    })
                    .find(|net| net.broadcast() == v4)
                    .map(|net| Unsendable::DirectedBroadcast(net.trunc()))
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_unspecified() {
                Some(Unsendable::Unspecified)
            } else if v6.is_multicast() {
                Some(Unsendable::Multicast)
            } else {
                None
            }
        }
    }
}

/// An address the harness refused to send to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutOfScope {
    pub address: IpAddr,
    pub allowed: Vec<IpNet>,
    /// Set when the address is refused whatever the scope allows; `None` when it is
    /// only outside the allowed networks.
    pub unsendable: Option<Unsendable>,
}

impl fmt::Display for OutOfScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.unsendable {
            return write!(
                f,
                "address {} is {why}, never a device under test; nothing was sent to it",
                self.address
            );
        }
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

    /// Ok when `address` lies in an allowed network and is a single device's address
    /// (see [`unsendable`]). IPv4-mapped IPv6 addresses are judged as the IPv4 address
    /// they carry, so `::ffff:10.0.0.1` cannot slip past.
    pub fn check(&self, address: IpAddr) -> Result<(), OutOfScope> {
        let address = unmapped(address);
        let refused = |unsendable| OutOfScope {
            address,
            allowed: self.allowed.clone(),
            unsendable,
        };
        if let Some(why) = unsendable(address, &self.allowed) {
            return Err(refused(Some(why)));
        }
        if self.allowed.iter().any(|net| net.contains(&address)) {
            Ok(())
        } else {
            Err(refused(None))
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

    #[test]
    fn the_broadcast_of_the_loopback_network_is_refused() {
        let guard = ScopeGuard::new(Scope::loopback());
        let error = guard.check("127.255.255.255".parse().unwrap()).unwrap_err();
        assert_eq!(
            error.unsendable,
            Some(Unsendable::DirectedBroadcast(
                "127.0.0.0/8".parse().unwrap()
            ))
        );
    }
}
