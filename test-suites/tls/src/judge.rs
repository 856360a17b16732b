//! One check judged on one port from what the scan observed, before the suite merges
//! the ports of a unit into one verdict. It lives apart from `suite` because the rules
//! of the server-side checks (which versions, suites, groups and certificate findings
//! pass, fail or stay undecided) are the part a reviewer reads and changes most, and
//! they depend only on a port's scan and chain report, never on the run around them.

use crate::certificate::ChainReport;
use crate::checks::*;
use crate::ciphers;
use crate::options::TlsOptions;
use crate::scan::{EndpointScan, Fallback, Heartbleed};
use crate::wire::{self, KeyExchangeParameters};
use iotcert_suite::Verdict;
use std::collections::BTreeSet;

/// One inspected port and the judgement of its chain.
pub(crate) struct PortFindings {
    pub declared_tls: bool,
    pub scan: EndpointScan,
    pub chain: Option<ChainReport>,
}

/// One port's verdict on one check; a PASS names what was observed (`proof`).
pub(crate) struct PortVerdict {
    pub verdict: Verdict,
    pub line: String,
    pub proof: String,
    pub transcripts: Vec<&'static str>,
}

fn pass(line: impl Into<String>, proof: impl Into<String>) -> PortVerdict {
    PortVerdict {
        verdict: Verdict::Pass,
        line: line.into(),
        proof: proof.into(),
        transcripts: Vec::new(),
    }
}
fn fail(line: impl Into<String>) -> PortVerdict {
    PortVerdict {
        verdict: Verdict::Fail,
        line: line.into(),
        proof: String::new(),
        transcripts: Vec::new(),
    }
}
fn undecided(line: impl Into<String>) -> PortVerdict {
    PortVerdict {
        verdict: Verdict::Inconclusive,
        line: line.into(),
        proof: String::new(),
        transcripts: Vec::new(),
    }
}

fn names(versions: &[u16]) -> String {
    versions
        .iter()
        .map(|v| wire::version_name(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Versions older than TLS 1.3 whose probe could not be decided.
fn undecided_legacy(scan: &EndpointScan) -> Vec<u16> {
    scan.undecided_versions
        .iter()
        .copied()
        .filter(|v| *v < wire::TLS13)
        .collect()
}

/// Judges one check on one port. A PASS needs the port's positive control (a handshake
/// seen to complete) on top of what the check itself observed; without it the PASS
/// becomes INCONCLUSIVE, because a refusal of everything proves nothing.
pub(crate) fn judge(check: &str, port: &PortFindings, options: &TlsOptions) -> PortVerdict {
    let verdict = judge_observed(check, port, options);
    if verdict.verdict != Verdict::Pass {
        return verdict;
    }
    match &port.scan.handshake {
        Some(control) => PortVerdict {
            proof: format!("{control}; {}", verdict.proof),
            ..verdict
        },
        None => undecided(format!(
            "{}, but no handshake completed on the port ({}), so this proves nothing",
            verdict.line,
            port.scan
                .chain
                .as_ref()
                .and_then(|c| c.problem.clone())
                .unwrap_or_else(|| "no certificate flight was read".to_owned())
        )),
    }
}

/// The suites of the accepted versions were enumerated to the server's refusal, and
/// some were recorded: what the suite-based checks rest on. `Err` says why not.
fn suites_enumerated(scan: &EndpointScan) -> Result<String, String> {
    let cut = scan.unenumerated_versions();
    if !cut.is_empty() {
        return Err(format!(
            "the suites of {} were not enumerated to the end: {}",
            names(&cut),
            scan.problems.join("; ")
        ));
    }
    let accepted = scan.accepted_suites().count();
    if accepted == 0 {
        return Err("no accepted suite was recorded".to_owned());
    }
    let per_version: Vec<String> = scan
        .versions
        .iter()
        .map(|(version, v)| format!("{}: {}", wire::version_name(*version), v.suites.len()))
        .collect();
    Ok(format!(
        "all {} registry code points offered in each accepted version (in hellos of at most {}), each until the server refused the rest; accepted {}",
        ciphers::REGISTRY.len(),
        ciphers::HELLO_CHUNK,
        per_version.join(", ")
    ))
}

/// What a check observed on one port, before the port's control is required.
fn judge_observed(check: &str, port: &PortFindings, options: &TlsOptions) -> PortVerdict {
    let scan = &port.scan;
    if let Some(verdict) = judge_not_speaking_tls(check, port) {
        return verdict;
    }
    let versions = scan.accepted_versions();
    match check {
        MODERN_PROTOCOL => judge_modern_protocol(&versions),
        LEGACY_PROTOCOL => judge_legacy_protocol(scan, &versions),
        WEAK_CIPHER_SUITE => judge_weak_cipher_suites(scan, options),
        FORWARD_SECRECY => judge_forward_secrecy(scan),
        KEY_EXCHANGE => judge_key_exchange(scan),
        RENEGOTIATION => judge_renegotiation(scan, &versions),
        COMPRESSION => judge_compression(scan),
        FALLBACK_SCSV => judge_fallback_scsv(scan, &versions),
        HEARTBLEED => judge_heartbleed(scan, &versions),
        _ => judge_certificate(check, port),
    }
}

/// The verdict of a port that was not reached or accepted no TLS version, which no
/// check can judge further (a port declared as TLS that does not speak it fails the
/// modern-protocol check); `None` when the port speaks TLS.
fn judge_not_speaking_tls(check: &str, port: &PortFindings) -> Option<PortVerdict> {
    let scan = &port.scan;
    if let Some(why) = &scan.unreachable {
        if check == MODERN_PROTOCOL && port.declared_tls && why.contains("does not speak TLS") {
            return Some(fail(format!("declared as TLS, but {why}")));
        }
        return Some(undecided(why.clone()));
    }
    if !scan.speaks_tls() {
        return Some(undecided(format!(
            "no TLS version was accepted: every hello was refused{}",
            if scan.problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", scan.problems.join("; "))
            }
        )));
    }
    None
}

/// TLS 1.2 or newer among the accepted versions.
fn judge_modern_protocol(versions: &[u16]) -> PortVerdict {
    let modern: Vec<u16> = versions
        .iter()
        .copied()
        .filter(|v| *v >= wire::TLS12)
        .collect();
    if modern.is_empty() {
        fail(format!("accepts only {}", names(versions)))
    } else {
        pass(
            format!("accepts {}", names(&modern)),
            format!("ServerHello of {} read", names(&modern)),
        )
    }
}

/// SSL 3.0, TLS 1.0 and TLS 1.1 all refused, none undecided.
fn judge_legacy_protocol(scan: &EndpointScan, versions: &[u16]) -> PortVerdict {
    let legacy: Vec<u16> = versions
        .iter()
        .copied()
        .filter(|v| *v < wire::TLS12)
        .collect();
    let unknown: Vec<u16> = scan
        .undecided_versions
        .iter()
        .copied()
        .filter(|v| *v < wire::TLS12)
        .collect();
    if !legacy.is_empty() {
        let mut verdict = fail(format!("accepts {}", names(&legacy)));
        verdict.transcripts = vec!["SSL 3.0 hello", "TLS 1.0 hello", "TLS 1.1 hello"];
        verdict
    } else if !unknown.is_empty() {
        undecided(format!(
            "could not decide {}: {}",
            names(&unknown),
            scan.problems.join("; ")
        ))
    } else {
        pass(
            "refuses SSL 3.0, TLS 1.0 and TLS 1.1",
            format!(
                "SSL 3.0, TLS 1.0 and TLS 1.1 hellos offering all {} registry code points (in hellos of at most {}) were refused",
                ciphers::REGISTRY.len(),
                ciphers::HELLO_CHUNK
            ),
        )
    }
}

/// No accepted suite weak (CBC with SHA-1 too when the profile forbids it), over suites
/// enumerated to the end.
fn judge_weak_cipher_suites(scan: &EndpointScan, options: &TlsOptions) -> PortVerdict {
    let weak: Vec<String> = scan
        .accepted_suites()
        .filter_map(|(version, suite)| {
            ciphers::weakness(suite, options.forbid_cbc_sha1).map(|why| {
                format!(
                    "{} {} ({why})",
                    wire::version_name(version),
                    ciphers::label(suite)
                )
            })
        })
        .collect();
    let preference = scan
        .versions
        .values()
        .any(|v| v.server_preference == Some(false));
    if !weak.is_empty() {
        let order = if preference {
            "; the server follows the client's order, so a client offering these first gets them"
        } else {
            ""
        };
        return fail(format!("accepts {}{order}", weak.join(", ")));
    }
    match suites_enumerated(scan) {
        Ok(proof) => pass(
            format!(
                "{} suites accepted, none weak",
                scan.accepted_suites().count()
            ),
            proof,
        ),
        Err(why) => undecided(why),
    }
}

/// Every accepted suite with an ephemeral key exchange, over suites enumerated to the end.
fn judge_forward_secrecy(scan: &EndpointScan) -> PortVerdict {
    let static_suites: Vec<String> = scan
        .accepted_suites()
        .filter(|(_, suite)| !ciphers::properties(*suite).forward_secrecy)
        .map(|(version, suite)| format!("{} {}", wire::version_name(version), ciphers::name(suite)))
        .collect();
    if !static_suites.is_empty() {
        return fail(format!(
            "accepts suites without forward secrecy: {}",
            static_suites.join(", ")
        ));
    }
    match suites_enumerated(scan) {
        Ok(proof) => pass(
            format!(
                "every one of the {} accepted suites uses an ephemeral key exchange",
                scan.accepted_suites().count()
            ),
            proof,
        ),
        Err(why) => undecided(why),
    }
}

/// Secure renegotiation (RFC 5746) answered by every TLS 1.2-or-older ServerHello.
fn judge_renegotiation(scan: &EndpointScan, versions: &[u16]) -> PortVerdict {
    match scan.secure_renegotiation {
        Some(false) => fail("a TLS 1.2-or-older ServerHello lacks renegotiation_info (RFC 5746)"),
        Some(true) if !undecided_legacy(scan).is_empty() => undecided(format!(
            "{} could not be decided: {}",
            names(&undecided_legacy(scan)),
            scan.problems.join("; ")
        )),
        Some(true) => pass(
            "answers renegotiation_info",
            format!(
                "the ServerHello of {} carried renegotiation_info",
                names(
                    &versions
                        .iter()
                        .copied()
                        .filter(|v| *v < wire::TLS13)
                        .collect::<Vec<_>>()
                )
            ),
        ),
        None => only_tls13(scan, "offers only TLS 1.3, which has no renegotiation"),
    }
}

/// Null compression chosen by every TLS 1.2-or-older ServerHello with DEFLATE offered.
fn judge_compression(scan: &EndpointScan) -> PortVerdict {
    match scan.compression {
        Some(method) if method != 0 => fail(format!(
            "chose compression method {method} when DEFLATE was offered (CRIME)"
        )),
        Some(_) if !undecided_legacy(scan).is_empty() => undecided(format!(
            "{} could not be decided: {}",
            names(&undecided_legacy(scan)),
            scan.problems.join("; ")
        )),
        Some(_) => pass(
            "no compression",
            "every TLS 1.2-or-older ServerHello chose null compression with DEFLATE offered",
        ),
        None => only_tls13(scan, "offers only TLS 1.3, which has no compression"),
    }
}

/// A hello marked with TLS_FALLBACK_SCSV below the best version refused, or a single
/// version offered with every other one decided.
fn judge_fallback_scsv(scan: &EndpointScan, versions: &[u16]) -> PortVerdict {
    match &scan.fallback {
        Some(Fallback::Accepted { from, to }) => {
            let mut verdict = fail(format!(
                "accepts {} marked with TLS_FALLBACK_SCSV although it supports {}: a downgrade is possible",
                wire::version_name(*to),
                wire::version_name(*from)
            ));
            verdict.transcripts = vec!["fallback"];
            verdict
        }
        Some(Fallback::Protected { from, to }) => pass(
            format!(
                "refuses a fallback from {} to {}",
                wire::version_name(*from),
                wire::version_name(*to)
            ),
            format!(
                "{} accepted, and a {} hello marked with TLS_FALLBACK_SCSV met inappropriate_fallback or the downgrade sentinel",
                wire::version_name(*from),
                wire::version_name(*to)
            ),
        ),
        Some(Fallback::SingleVersion) if scan.undecided_versions.is_empty() => pass(
            "offers a single version: nothing to downgrade to",
            format!(
                "only {} accepted; every other version's hello was refused",
                names(versions)
            ),
        ),
        Some(Fallback::SingleVersion) => undecided(format!(
            "only {} accepted, but {} could not be decided: {}",
            names(versions),
            names(&scan.undecided_versions),
            scan.problems.join("; ")
        )),
        Some(Fallback::Undecided { reason }) => undecided(reason.clone()),
        None => undecided("not probed"),
    }
}

/// An over-long heartbeat request answered with memory fails; heartbeats refused, or
/// agreed to and the over-long request ignored, pass.
fn judge_heartbleed(scan: &EndpointScan, versions: &[u16]) -> PortVerdict {
    match &scan.heartbleed {
        Some(Heartbleed::Vulnerable { leaked_bytes }) => {
            let mut verdict = fail(format!("answered an over-long heartbeat request with {leaked_bytes} bytes of its memory (Heartbleed)"));
            verdict.transcripts = vec!["heartbleed"];
            verdict
        }
        Some(Heartbleed::NoHeartbeat) => judge_no_heartbeat(scan, versions),
        Some(Heartbleed::NotVulnerable) => pass(
            "ignores an over-long heartbeat request",
            "the server agreed to heartbeats and finished its first flight; an over-long heartbeat request then got no heartbeat response",
        ),
        Some(Heartbleed::Undecided { reason }) => undecided(reason.clone()),
        None => undecided("not probed"),
    }
}

/// A server that never agreed to heartbeats: a PASS when every version older than
/// TLS 1.3 was decided.
fn judge_no_heartbeat(scan: &EndpointScan, versions: &[u16]) -> PortVerdict {
    let legacy: Vec<u16> = versions
        .iter()
        .copied()
        .filter(|v| *v < wire::TLS13)
        .collect();
    let unknown = undecided_legacy(scan);
    if !unknown.is_empty() {
        undecided(format!(
            "whether {} agrees to heartbeats could not be decided: {}",
            names(&unknown),
            scan.problems.join("; ")
        ))
    } else if legacy.is_empty() {
        pass(
            "offers only TLS 1.3, where heartbeats were never deployed",
            "every SSL 3.0 to TLS 1.2 hello offering heartbeats was refused",
        )
    } else {
        pass(
            "does not agree to heartbeats",
            format!(
                "the ServerHello of {} left out the heartbeat extension that was offered",
                names(&legacy)
            ),
        )
    }
}

/// A PASS for a property that only TLS 1.2 and older can lack: it needs every one of
/// their hellos refused, not undecided.
fn only_tls13(scan: &EndpointScan, line: &str) -> PortVerdict {
    let unknown = undecided_legacy(scan);
    if unknown.is_empty() {
        pass(line, "every SSL 3.0 to TLS 1.2 hello was refused")
    } else {
        undecided(format!(
            "{} could not be decided: {}",
            names(&unknown),
            scan.problems.join("; ")
        ))
    }
}

/// Key exchange strength: FAIL on a weak group or prime seen; PASS only when every
/// ephemeral exchange accepted was read (none missing, none cut) and the weak-curve
/// probe was decided. An empty set is not a PASS: with static key exchange only, there
/// is nothing to measure.
fn judge_key_exchange(scan: &EndpointScan) -> PortVerdict {
    let mut weak = Vec::new();
    for (suite, parameters) in &scan.key_exchanges {
        match parameters {
            KeyExchangeParameters::Dhe { prime_bits } if *prime_bits < 2048 => weak.push(format!(
                "{} with a {prime_bits}-bit DH prime",
                ciphers::name(*suite)
            )),
            KeyExchangeParameters::Ecdhe { group } if wire::group_bits(*group) < 256 => weak.push(
                format!("{} on {}", ciphers::name(*suite), wire::group_name(*group)),
            ),
            _ => {}
        }
    }
    for group in &scan.weak_groups_accepted {
        weak.push(format!(
            "the curve {} when offered alone",
            wire::group_name(*group)
        ));
    }
    weak.sort();
    weak.dedup();
    if !weak.is_empty() {
        return fail(format!("accepts {}", weak.join(", ")));
    }
    if let Err(why) = suites_enumerated(scan) {
        return undecided(why);
    }
    if let Some(why) = &scan.weak_groups_undecided {
        return undecided(why.clone());
    }
    let unread: Vec<String> = scan
        .accepted_suites()
        .filter(|(version, suite)| {
            let p = ciphers::properties(*suite);
            *version < wire::TLS13
                && (p.ephemeral_ec || p.ephemeral_dh)
                && !scan.key_exchanges.iter().any(|(s, _)| s == suite)
        })
        .map(|(version, suite)| format!("{} {}", wire::version_name(version), ciphers::name(suite)))
        .collect();
    if !unread.is_empty() {
        return undecided(format!(
            "the key exchange of {} could not be read",
            unread.join(", ")
        ));
    }
    if scan.versions.contains_key(&wire::TLS13) && scan.tls13_groups.is_empty() {
        return undecided("TLS 1.3 was accepted but no key share group was recorded");
    }
    let mut seen: BTreeSet<String> = scan
        .key_exchanges
        .iter()
        .map(|(_, p)| match p {
            KeyExchangeParameters::Dhe { prime_bits } => format!("DH {prime_bits} bits"),
            KeyExchangeParameters::Ecdhe { group } => wire::group_name(*group),
        })
        .collect();
    seen.extend(scan.tls13_groups.iter().map(|g| wire::group_name(*g)));
    if seen.is_empty() {
        return undecided(
            "no ephemeral key exchange was accepted (static key exchange only: see tls.forward-secrecy), so there is no group or prime to measure",
        );
    }
    let seen = seen.into_iter().collect::<Vec<_>>().join(", ");
    let curves = if scan
        .accepted_suites()
        .any(|(v, s)| v < wire::TLS13 && ciphers::properties(s).ephemeral_ec)
    {
        "; curves under 256 bits offered alone were refused"
    } else {
        ""
    };
    pass(
        format!("key exchange on {seen}"),
        format!(
            "the key exchange of every accepted ephemeral suite was read ({} key exchanges): {seen}{curves}",
            scan.key_exchanges.len() + scan.tls13_groups.len()
        ),
    )
}

fn judge_certificate(check: &str, port: &PortFindings) -> PortVerdict {
    let Some(report) = &port.chain else {
        let why = port
            .scan
            .chain
            .as_ref()
            .and_then(|c| c.problem.clone())
            .unwrap_or_else(|| "no certificate captured".to_owned());
        return undecided(format!("no certificate chain: {why}"));
    };
    if let Some(why) = &report.unreadable {
        return undecided(why.clone());
    }
    let (problems, fine) = match check {
        CERTIFICATE_VALIDITY => (
            &report.validity,
            "within its validity and the policy's lifetime",
        ),
        CERTIFICATE_TRUST => {
            if report.trust.is_empty() {
                if let Some(why) = &report.trust_undecided {
                    return undecided(why.clone());
                }
            }
            (&report.trust, "chains to a declared trust anchor")
        }
        CERTIFICATE_NAME => (&report.name, "names the unit in subjectAltName"),
        CERTIFICATE_KEY => (&report.key, "keys of sufficient size"),
        CERTIFICATE_SIGNATURE => (&report.signature, "no SHA-1 or MD5 signature"),
        _ => (&report.extensions, "basic constraints and key usage fit"),
    };
    if problems.is_empty() {
        let leaf = report.certificates.first();
        pass(
            fine,
            format!(
                "a chain of {} certificate(s) was read and parsed, leaf {} ({})",
                report.certificates.len(),
                leaf.map_or("?", |c| c.subject.as_str()),
                leaf.map_or("?", |c| c.key.as_str()),
            ),
        )
    } else {
        fail(problems.join("; "))
    }
}
