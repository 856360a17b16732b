//! Exact software versions in unauthenticated banners (EN 303 645 5.6-2).
//!
//! A banner such as `SSH-2.0-dropbear_2022.83` or `Server: lighttpd/1.4.69` tells an
//! attacker which published vulnerabilities to try. The detector looks for a version
//! number (at least `major.minor`) tied to a name: attached to it (`lighttpd/1.4.69`,
//! `OpenSSH_9.2p1`), after a version word (`firmware 1.0.3`, `BusyBox v1.31.1`), after
//! a known product or OS (`Linux 4.14.98`, `Linux cam 4.14.98`), or, for any other name,
//! when the number has three parts. Protocol versions (`HTTP/1.1`, `SSH-2.0`,
//! `UPnP/1.0`) and addresses (`192.168.1.1`) are not software versions.

use serde::Serialize;

/// The most disclosures reported for one banner.
const MAX_PER_BANNER: usize = 16;

/// A product and the exact version a banner gives away.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Disclosure {
    pub product: String,
    pub version: String,
}

/// Names of protocols, whose versions say nothing about the software.
const PROTOCOLS: &[&str] = &[
    "http", "https", "rtsp", "sip", "upnp", "dlnadoc", "ssh", "mqtt", "coap", "tls", "tlsv", "ssl",
    "sslv", "dtls", "smtp", "esmtp", "ftp", "imap", "pop", "pop3", "soap", "xml", "ws", "mozilla",
    "ipp", "rtp", "avp", "udp", "tcp", "snmp", "snmpv",
];

/// Words after which a number is a version.
const VERSION_WORDS: &[&str] = &[
    "version", "ver", "v", "firmware", "fw", "release", "build", "kernel", "rev", "revision",
    "software", "sw",
];

/// Products and systems commonly found in device banners.
const PRODUCTS: &[&str] = &[
    "linux",
    "busybox",
    "openssh",
    "dropbear",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "lighttpd",
    "nginx",
    "apache",
    "boa",
    "goahead",
    "thttpd",
    "uhttpd",
    "mini_httpd",
    "micro_httpd",
    "mosquitto",
    "openwrt",
    "lede",
    "debian",
    "ubuntu",
    "raspbian",
    "freertos",
    "zephyr",
    "vxworks",
    "android",
    "u-boot",
    "openocd",
    "rompager",
    "allegro",
    "live555",
    "gstreamer",
    "node",
    "python",
    "php",
    "jetty",
    "tomcat",
    "iis",
    "lwip",
    "mbed",
    "contiki",
    "riot",
    "windows",
    "darwin",
    "freebsd",
    "netbsd",
    "openbsd",
    "qnx",
    "sunos",
    "dnsmasq",
    "bind",
    "unbound",
    "miniupnpd",
    "avahi",
    "samba",
    "cherokee",
    "mongoose",
    "civetweb",
    "hydra",
    "appweb",
    "openssl",
    "wolfssl",
    "mbedtls",
    "yocto",
    "poky",
    "buildroot",
    "net-snmp",
];

/// Systems whose banners put a host name between the name and the version
/// (`uname -a`, SNMP sysDescr: `Linux cam 4.14.98 #1 SMP`).
const SYSTEMS_WITH_HOSTNAME: &[&str] = &[
    "linux", "freebsd", "netbsd", "openbsd", "darwin", "sunos", "qnx", "vxworks",
];

/// Words that precede numbers which are not versions.
const NOT_NAMES: &[&str] = &[
    "on", "at", "from", "to", "for", "is", "of", "in", "by", "with", "and", "welcome", "address",
    "ip", "host", "port", "size", "bytes", "uptime", "load", "average", "time",
];

/// Every version the text discloses, without repeats, at most [`MAX_PER_BANNER`].
pub fn versions_in(text: &str) -> Vec<Disclosure> {
    let bytes = text.as_bytes();
    let mut found: Vec<Disclosure> = Vec::new();
    let mut at = 0;
    while at < bytes.len() && found.len() < MAX_PER_BANNER {
        if !starts_number(bytes, at) {
            at += 1;
            continue;
        }
        match version_at(bytes, at) {
            Some(candidate) => {
                if let Some(disclosure) = judge(text, bytes, at, &candidate) {
                    if !found.contains(&disclosure) {
                        found.push(disclosure);
                    }
                    at = candidate.end;
                } else {
                    at = candidate.numeric_end;
                }
            }
            None => at = digits_end(bytes, at),
        }
    }
    found
}

/// A digit not glued to a preceding word or number (`v` alone is allowed: `v1.2`).
fn starts_number(bytes: &[u8], at: usize) -> bool {
    if !bytes.get(at).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let Some(previous) = at.checked_sub(1).and_then(|i| bytes.get(i)) else {
        return true;
    };
    if previous.is_ascii_digit() || *previous == b'.' {
        return false;
    }
    if previous.is_ascii_alphabetic() {
        let is_v = matches!(previous, b'v' | b'V');
        let before_v = at.checked_sub(2).and_then(|i| bytes.get(i));
        return is_v && !before_v.is_some_and(u8::is_ascii_alphanumeric);
    }
    true
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

struct Candidate {
    /// Numeric groups (`4.14.98` has three).
    groups: usize,
    /// Each group fits in a byte and there is no suffix: could be an IPv4 address.
    address_like: bool,
    numeric_end: usize,
    end: usize,
}

/// `digits(.digits)+` with an optional suffix such as `p1`, `-yocto`, `+deb11u1`.
fn version_at(bytes: &[u8], start: usize) -> Option<Candidate> {
    let mut end = digits_end(bytes, start);
    let mut groups = 1;
    let mut small_groups = end - start <= 3;
    while bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        let group_end = digits_end(bytes, end + 1);
        small_groups &= group_end - end - 1 <= 3;
        end = group_end;
        groups += 1;
    }
    if groups < 2 {
        return None;
    }
    let numeric_end = end;
    loop {
        match bytes.get(end) {
            Some(c) if c.is_ascii_alphanumeric() => end += 1,
            Some(b'-' | b'+' | b'~' | b'.')
                if bytes.get(end + 1).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                end += 1
            }
            _ => break,
        }
    }
    Some(Candidate {
        groups,
        address_like: groups == 4 && small_groups && end == numeric_end,
        numeric_end,
        end,
    })
}

fn has_letter(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_alphabetic())
}

fn listed(list: &[&str], word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    list.contains(&lower.as_str())
}

/// The alphanumeric run ending just before `end`.
fn word_before(text: &str, end: usize) -> Option<(usize, &str)> {
    let head = text.get(..end)?;
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric())
        .last()
        .map(|(i, _)| i)?;
    Some((start, head.get(start..)?))
}

/// The product token glued by `/`, `_` or `-` to a version: `Microsoft-IIS/10.0`.
fn attached_product(text: &str, separator_at: usize) -> Option<String> {
    let (start, word) = word_before(text, separator_at)?;
    let joiner = start.checked_sub(1).and_then(|i| text.as_bytes().get(i));
    if matches!(joiner, Some(b'-' | b'_')) {
        if let Some((earlier_start, earlier)) = word_before(text, start - 1) {
            if has_letter(earlier) && !listed(PROTOCOLS, earlier) {
                return text.get(earlier_start..separator_at).map(str::to_owned);
            }
        }
    }
    Some(word.to_owned())
}

/// The two words before `end`, skipping spaces and `:`, `=`, `(`.
fn words_before(text: &str, end: usize) -> (Option<String>, Option<String>) {
    let is_gap = |c: char| matches!(c, ' ' | '\t' | ':' | '=' | '(');
    let word_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let take = |end: usize| -> Option<(String, usize)> {
        let head = text.get(..end)?.trim_end_matches(is_gap);
        let start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| word_chars(*c))
            .last()
            .map(|(i, _)| i)?;
        Some((head.get(start..)?.to_owned(), start))
    };
    match take(end) {
        None => (None, None),
        Some((first, start)) => (Some(first), take(start).map(|(word, _)| word)),
    }
}

fn judge(text: &str, bytes: &[u8], start: usize, candidate: &Candidate) -> Option<Disclosure> {
    let version = text.get(start..candidate.end)?.to_owned();
    let v_prefixed = start
        .checked_sub(1)
        .and_then(|i| bytes.get(i))
        .is_some_and(|b| matches!(b, b'v' | b'V'));
    let name_end = if v_prefixed { start - 1 } else { start };
    let separator = name_end.checked_sub(1).and_then(|i| bytes.get(i)).copied();
    let disclosure = |product: String| {
        Some(Disclosure {
            product,
            version: version.clone(),
        })
    };

    if !v_prefixed && matches!(separator, Some(b'/' | b'_' | b'-')) {
        let product = attached_product(text, name_end - 1)?;
        if !has_letter(&product) || listed(PROTOCOLS, &product) {
            return None;
        }
        return disclosure(product);
    }
    if !matches!(separator, None | Some(b' ' | b'\t' | b':' | b'=' | b'(')) {
        return None;
    }
    let (first, second) = words_before(text, name_end);
    let named =
        |word: &Option<String>| word.as_deref().filter(|w| has_letter(w)).map(str::to_owned);
    if v_prefixed {
        return disclosure(named(&first).unwrap_or_else(|| "version".to_owned()));
    }
    let first_word = named(&first)?;
    if listed(VERSION_WORDS, &first_word) {
        let product = named(&second)
            .filter(|w| !listed(NOT_NAMES, w))
            .unwrap_or(first_word);
        return disclosure(product);
    }
    if candidate.address_like {
        return None;
    }
    if listed(PRODUCTS, &first_word) {
        return disclosure(first_word);
    }
    if separator == Some(b' ') {
        if let Some(system) = named(&second).filter(|w| listed(SYSTEMS_WITH_HOSTNAME, w)) {
            return disclosure(system);
        }
    }
    let generic =
        candidate.groups >= 3 && !listed(PROTOCOLS, &first_word) && !listed(NOT_NAMES, &first_word);
    if generic {
        return disclosure(first_word);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        versions_in(text)
            .into_iter()
            .map(|d| (d.product, d.version))
            .collect()
    }

    fn one(product: &str, version: &str) -> Vec<(String, String)> {
        vec![(product.to_owned(), version.to_owned())]
    }

    #[test]
    fn finds_versions_the_brief_lists() {
        assert_eq!(
            names("SSH-2.0-dropbear_2022.83"),
            one("dropbear", "2022.83")
        );
        assert_eq!(names("Server: lighttpd/1.4.69"), one("lighttpd", "1.4.69"));
        assert_eq!(
            names("BusyBox v1.31.1 (2020-01-01 10:00:00 UTC) built-in shell (ash)"),
            one("BusyBox", "1.31.1")
        );
        assert_eq!(names("Linux 4.14.98"), one("Linux", "4.14.98"));
        assert_eq!(
            names("SSH-2.0-OpenSSH_9.2p1 Debian-2"),
            one("OpenSSH", "9.2p1")
        );
        assert_eq!(names("firmware 1.0.3"), one("firmware", "1.0.3"));
        assert_eq!(names("Firmware Version: 1.0.3"), one("Firmware", "1.0.3"));
        assert_eq!(
            names("Linux cam 4.14.98-yocto-standard #1 SMP PREEMPT"),
            one("Linux", "4.14.98-yocto-standard")
        );
        assert_eq!(
            names("Server: Microsoft-IIS/10.0"),
            one("Microsoft-IIS", "10.0")
        );
        assert_eq!(names("220 (vsFTPd 3.0.3)"), one("vsFTPd", "3.0.3"));
        assert_eq!(
            names("Linux/4.14 UPnP/1.0 MiniUPnPd/2.1"),
            vec![
                ("Linux".to_owned(), "4.14".to_owned()),
                ("MiniUPnPd".to_owned(), "2.1".to_owned())
            ]
        );
    }

    #[test]
    fn version_less_banners_pass() {
        for text in [
            "SSH-2.0-device",
            "Server: device",
            "SSH-2.0-dropbear",
            "HTTP/1.1 200 OK",
            "RTSP/1.0 200 OK",
            "Welcome from 192.168.1.1",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
            "Date: Sat, 21 Nov 2026 20:29:31 GMT",
            "Uptime: 12.5 days",
            "Content-Length: 1024",
            "x86.64",
        ] {
            assert_eq!(names(text), vec![], "{text}");
        }
    }
}
