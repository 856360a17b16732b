//! The credential database: defaults known to ship on devices, as data.
//!
//! The built-in lists live in `data/*.tsv` (documented in `data/README.md`) and are
//! compiled in; a lab adds its own file in the same format through the profile, and the
//! profile adds the manufacturer's declared defaults, which are tried first.
//!
//! One entry per line, six tab-separated columns:
//!
//! ```text
//! protocols  username  password  vendor  product  source
//! ```
//!
//! `protocols` is a comma-separated list of `telnet`, `ssh`, `http`, `mqtt`, `ftp`,
//! `rtsp`, `snmp`, or `*` for all; `<empty>` is an empty password and `<none>` as the
//! username an anonymous login (an SNMP community, an MQTT CONNECT without username).
//! Lines starting with `#` and blank lines are ignored.

use crate::probe::{Login, Protocol};
use serde::Serialize;

/// The compiled-in lists, each with the file name it came from.
const BUILT_IN: [(&str, &str); 2] = [
    ("mirai.tsv", include_str!("../data/mirai.tsv")),
    ("vendors.tsv", include_str!("../data/vendors.tsv")),
];

/// One known default credential and where it is known from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Protocols it applies to; empty means every protocol.
    pub protocols: Vec<Protocol>,
    pub login: Login,
    pub vendor: String,
    pub product: String,
    pub source: String,
}

impl Entry {
    pub fn applies_to(&self, protocol: Protocol) -> bool {
        self.protocols.is_empty() || self.protocols.contains(&protocol)
    }
}

/// A line that could not be read, with its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.message)
    }
}

/// Parse one database file. Every malformed line is an error: a typo must not drop a
/// credential silently.
pub fn parse(file: &str, text: &str) -> Result<Vec<Entry>, LineError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| LineError {
            file: file.to_owned(),
            line: index + 1,
            message,
        };
        let columns: Vec<&str> = line.split('\t').collect();
        let [protocols, username, password, vendor, product, source] = columns.as_slice() else {
            return Err(error(format!(
                "expected 6 tab-separated columns, found {}",
                columns.len()
            )));
        };
        let protocols = if *protocols == "*" {
            Vec::new()
        } else {
            protocols
                .split(',')
                .map(|name| {
                    Protocol::ALL
                        .into_iter()
                        .find(|p| p.name() == name.trim())
                        .ok_or_else(|| error(format!("unknown protocol {name:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let username = match *username {
            "<none>" => None,
            "<empty>" => Some(String::new()),
            name => Some(name.to_owned()),
        };
        let password = match *password {
            "<empty>" => String::new(),
            text => text.to_owned(),
        };
        entries.push(Entry {
            protocols,
            login: Login { username, password },
            vendor: (*vendor).to_owned(),
            product: (*product).to_owned(),
            source: (*source).to_owned(),
        });
    }
    Ok(entries)
}

/// The built-in database.
pub fn built_in() -> Vec<Entry> {
    BUILT_IN
        .iter()
        .flat_map(|(file, text)| parse(file, text).unwrap_or_default())
        .collect()
}

/// The logins to try on `protocol`: `first` (declared defaults) in order, then the
/// database entries for it, without repeats.
pub fn candidates(protocol: Protocol, first: &[Entry], database: &[Entry]) -> Vec<Entry> {
    let mut seen = std::collections::BTreeSet::new();
    first
        .iter()
        .chain(database)
        .filter(|entry| entry.applies_to(protocol))
        .filter(|entry| protocol != Protocol::Snmp || entry.login.username.is_none())
        .filter(|entry| {
            protocol == Protocol::Snmp
                || entry.login.username.is_some()
                || protocol == Protocol::Mqtt
        })
        .filter(|entry| seen.insert(entry.login.clone()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lists_parse() {
        for (file, text) in BUILT_IN {
            let entries = parse(file, text).unwrap();
            assert!(!entries.is_empty(), "{file}");
        }
        let all = built_in();
        assert!(all.iter().any(|e| e.login == Login::new("root", "xc3511")));
        assert!(all.iter().any(|e| e.login == Login::new("root", "")));
    }

    #[test]
    fn errors_name_the_line() {
        let error = parse("lab.tsv", "# c\n\nssh\tadmin\tadmin\tx\ty\n").unwrap_err();
        assert_eq!(error.line, 3);
        let error = parse("lab.tsv", "gopher\ta\tb\tv\tp\ts\n").unwrap_err();
        assert!(error.message.contains("gopher"));
    }

    #[test]
    fn candidates_filter_by_protocol() {
        let database = parse(
            "t",
            "ssh\troot\troot\tv\tp\ts\nsnmp\t<none>\tpublic\tv\tp\ts\n*\tadmin\tadmin\tv\tp\ts\n",
        )
        .unwrap();
        let ssh = candidates(Protocol::Ssh, &[], &database);
        assert_eq!(ssh.len(), 2);
        let snmp = candidates(Protocol::Snmp, &[], &database);
        assert_eq!(snmp.len(), 1);
    }
}
