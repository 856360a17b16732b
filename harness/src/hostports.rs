//! Listeners of the test host that every loopback address exposes.
//!
//! A socket bound to the wildcard address (0.0.0.0 or ::) answers on every 127.x.y.z
//! address, so on a shared host a virtual device at 127.77.1.1 appears to have the
//! host's open ports too. The demo lists them (from the kernel's socket tables) as
//! ignored ports with that reason, in plain sight in the profile and the report, instead
//! of blaming the virtual device for them.

use iotcert_suite::profile::Transport;
use std::collections::BTreeSet;

/// Wildcard-bound TCP listeners and UDP sockets of this host, from `/proc/net`.
/// Empty when the tables cannot be read (not Linux): nothing is then ignored.
pub fn wildcard_listeners() -> BTreeSet<(u16, Transport)> {
    let tables = [
        ("/proc/net/tcp", Transport::Tcp),
        ("/proc/net/tcp6", Transport::Tcp),
        ("/proc/net/udp", Transport::Udp),
        ("/proc/net/udp6", Transport::Udp),
    ];
    let mut found = BTreeSet::new();
    for (path, transport) in tables {
        if let Ok(text) = std::fs::read_to_string(path) {
            found.extend(
                parse_table(&text, transport)
                    .into_iter()
                    .map(|port| (port, transport)),
            );
        }
    }
    found
}

/// Ports of wildcard sockets in one `/proc/net/{tcp,udp}[6]` table: TCP in LISTEN
/// (state 0A), UDP bound (state 07).
fn parse_table(text: &str, transport: Transport) -> Vec<u16> {
    let wanted_state = match transport {
        Transport::Tcp => "0A",
        Transport::Udp => "07",
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let (address, port) = local.split_once(':')?;
            let wildcard = !address.is_empty() && address.bytes().all(|b| b == b'0');
            (wildcard && state == wanted_state)
                .then(|| u16::from_str_radix(port, 16).ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wildcard_listeners_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
   2: 00000000:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n";
        assert_eq!(parse_table(table, Transport::Tcp), vec![2024]);
        let udp6 = "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 0\n";
        assert_eq!(parse_table(udp6, Transport::Udp), vec![5353]);
    }
}
