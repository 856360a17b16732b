//! `TlsSuite`: the `Suite` implementation. It chooses the ports to inspect from the
//! profile, scans them, merges the per-port findings into one verdict per check and
//! unit, compares keys across units, and runs the client-side test.

use crate::certificate::{self, ChainReport, ExpectedName, Policy};
use crate::checks::{self, *};
use crate::ciphers;
use crate::client;
use crate::probe::Target;
use crate::scan::{self, EndpointScan, Fallback, Heartbleed};
use crate::wire::{self, KeyExchangeParameters};
use iotcert_suite::profile::Transport;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Evidence, EvidenceKind, Profile, RunContext, SampleUnit,
    Suite, SuiteDescriptor, SuiteError, Verdict,
};
use rustls::pki_types::CertificateDer;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.1.0";

/// The TLS suite. Paths in the profile are resolved against `profile_dir`.
#[derive(Clone, Debug)]
pub struct TlsSuite {
    profile_dir: PathBuf,
}

impl TlsSuite {
    pub fn new(profile_dir: impl Into<PathBuf>) -> Self {
        TlsSuite {
            profile_dir: profile_dir.into(),
        }
    }
}

/// The TCP ports inspected on every unit: declared TLS, declared TCP (kept only when they
/// answer TLS) and the profile's extra ports, with whether each was declared as TLS.
fn ports(profile: &Profile) -> BTreeMap<u16, bool> {
    let mut ports = BTreeMap::new();
    for interface in profile
        .interfaces
        .iter()
        .filter(|i| i.transport == Transport::Tcp)
    {
        let declared = ports.entry(interface.port).or_insert(false);
        *declared |= interface.tls;
    }
    for port in &profile.tls.extra_ports {
        ports.entry(*port).or_insert(false);
    }
    ports
}

/// Declared DTLS interfaces, which this suite does not inspect.
fn dtls_ports(profile: &Profile) -> Vec<u16> {
    profile
        .interfaces
        .iter()
        .filter(|i| i.transport == Transport::Udp && i.tls)
        .map(|i| i.port)
        .collect()
}

#[async_trait::async_trait]
impl Suite for TlsSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "tls".to_owned(),
            version: SUITE_VERSION.to_owned(),
            title: "TLS: protocols, cipher suites, certificates, and the device as a TLS client"
                .to_owned(),
            checks: checks::specs(),
        }
    }

    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability {
        let id = check.id.as_str();
        if id == CLIENT_VALIDATION {
            return match profile.tls.client {
                Some(_) => Applicability::Applicable,
                None => Applicability::NotApplicable {
                    reason: "the profile declares no outgoing TLS connection of the device ([tls.client])".to_owned(),
                },
            };
        }
        if !SERVER_CHECKS.contains(&id) && id != KEY_REUSE {
            return Applicability::NotApplicable {
                reason: format!("`{id}` is not a check of the tls suite"),
            };
        }
        if ports(profile).is_empty() {
            let dtls = dtls_ports(profile);
            let reason = if dtls.is_empty() {
                "the profile declares no TCP interface and no tls.extra_ports: there is no TLS port to inspect".to_owned()
            } else {
                format!("only DTLS interfaces are declared ({dtls:?}/udp), and this suite does not implement DTLS")
            };
            return Applicability::NotApplicable { reason };
        }
        if id == KEY_REUSE && profile.units.len() < 2 {
            return Applicability::NotApplicable {
                reason: "key reuse needs two sample units and the profile has one".to_owned(),
            };
        }
        Applicability::Applicable
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let profile = ctx.profile.clone();
        let options = &profile.tls;
        let anchors = load_anchors(&self.profile_dir, &options.trust_anchors)?;
        let timeout = Duration::from_millis(options.timeout_ms.max(1));
        let ports = ports(&profile);
        let mut fingerprints: Vec<(String, u16, String, String)> = Vec::new();
        let mut units_scanned = 0usize;
        for unit in &ctx.units {
            if ctx.should_stop() {
                break;
            }
            let wants_server = SERVER_CHECKS
                .iter()
                .any(|c| ctx.is_pending(c, Some(&unit.id)))
                || ctx.is_pending(KEY_REUSE, None);
            if wants_server && !ports.is_empty() {
                let scans = futures::future::join_all(ports.keys().map(|port| {
                    scan::scan_endpoint(Target {
                        ctx: &ctx,
                        unit,
                        port: *port,
                        timeout,
                    })
                }))
                .await;
                let policy = Policy {
                    anchors: anchors.clone(),
                    max_validity_days: options.max_certificate_validity_days,
                    expected: unit
                        .hostname
                        .clone()
                        .map_or(ExpectedName::Ip(unit.address), ExpectedName::Dns),
                };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let inspected: Vec<PortFindings> = scans
                    .into_iter()
                    .filter(|scan| {
                        ports.get(&scan.port).copied().unwrap_or(false) || scan.speaks_tls()
                    })
                    .map(|scan| {
                        let chain = scan
                            .chain
                            .as_ref()
                            .filter(|c| !c.certificates.is_empty())
                            .map(|c| certificate::inspect(&c.certificates, &policy, now));
                        PortFindings {
                            declared_tls: ports.get(&scan.port).copied().unwrap_or(false),
                            scan,
                            chain,
                        }
                    })
                    .collect();
                for findings in &inspected {
                    if let Some(chain) = &findings.chain {
                        if !chain.leaf_sha256.is_empty() {
                            fingerprints.push((
                                unit.id.clone(),
                                findings.scan.port,
                                chain.leaf_sha256.clone(),
                                chain.leaf_key_sha256.clone(),
                            ));
                        }
                    }
                }
                units_scanned += 1;
                for check in SERVER_CHECKS {
                    if ctx.is_pending(check, Some(&unit.id)) {
                        ctx.emit(merge(check, unit, &inspected, &profile)).await;
                    }
                }
            }
            if let Some(client_options) = &options.client {
                if ctx.is_pending(CLIENT_VALIDATION, Some(&unit.id)) {
                    ctx.started(CLIENT_VALIDATION, Some(&unit.id)).await;
                    let result =
                        client::validate_client(&ctx, unit, client_options, &self.profile_dir)
                            .await;
                    ctx.emit(result).await;
                }
            }
        }
        if ctx.is_pending(KEY_REUSE, None) && units_scanned == ctx.units.len() {
            ctx.emit(key_reuse(&fingerprints)).await;
        }
        Ok(())
    }
}

fn load_anchors(
    base: &Path,
    paths: &[PathBuf],
) -> Result<Vec<CertificateDer<'static>>, SuiteError> {
    let mut anchors = Vec::new();
    for path in paths {
        let full = if path.is_absolute() {
            path.clone()
        } else {
            base.join(path)
        };
        let text = std::fs::read(&full)
            .map_err(|e| SuiteError(format!("cannot read trust anchor {}: {e}", full.display())))?;
        let before = anchors.len();
        for item in rustls::pki_types::pem::PemObject::pem_slice_iter(&text) {
            let certificate: CertificateDer<'static> = item.map_err(|e| {
                SuiteError(format!("trust anchor {} is not PEM: {e:?}", full.display()))
            })?;
            anchors.push(certificate);
        }
        if anchors.len() == before {
            return Err(SuiteError(format!(
                "trust anchor {} holds no certificate",
                full.display()
            )));
        }
    }
    Ok(anchors)
}

/// One inspected port and the judgement of its chain.
struct PortFindings {
    declared_tls: bool,
    scan: EndpointScan,
    chain: Option<ChainReport>,
}

/// One port's verdict on one check.
struct PortVerdict {
    verdict: Verdict,
    line: String,
    transcripts: Vec<&'static str>,
}

fn pass(line: impl Into<String>) -> PortVerdict {
    PortVerdict {
        verdict: Verdict::Pass,
        line: line.into(),
        transcripts: Vec::new(),
    }
}
fn fail(line: impl Into<String>) -> PortVerdict {
    PortVerdict {
        verdict: Verdict::Fail,
        line: line.into(),
        transcripts: Vec::new(),
    }
}
fn undecided(line: impl Into<String>) -> PortVerdict {
    PortVerdict {
        verdict: Verdict::Inconclusive,
        line: line.into(),
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

/// Judges one check on one port.
fn judge(check: &str, port: &PortFindings, profile: &Profile) -> PortVerdict {
    let scan = &port.scan;
    if let Some(why) = &scan.unreachable {
        if check == MODERN_PROTOCOL && port.declared_tls && why.contains("does not speak TLS") {
            return fail(format!("declared as TLS, but {why}"));
        }
        return undecided(why.clone());
    }
    if !scan.speaks_tls() {
        return undecided("no TLS version was accepted".to_owned());
    }
    let versions = scan.accepted_versions();
    match check {
        MODERN_PROTOCOL => {
            let modern: Vec<u16> = versions
                .iter()
                .copied()
                .filter(|v| *v >= wire::TLS12)
                .collect();
            if modern.is_empty() {
                fail(format!("accepts only {}", names(&versions)))
            } else {
                pass(format!("accepts {}", names(&modern)))
            }
        }
        LEGACY_PROTOCOL => {
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
                pass("refuses SSL 3.0, TLS 1.0 and TLS 1.1")
            }
        }
        WEAK_CIPHER_SUITE => {
            let weak: Vec<String> = scan
                .accepted_suites()
                .filter_map(|(version, suite)| {
                    ciphers::weakness(suite, profile.tls.forbid_cbc_sha1).map(|why| {
                        format!(
                            "{} {} ({why})",
                            wire::version_name(version),
                            ciphers::name(suite)
                        )
                    })
                })
                .collect();
            let preference = scan
                .versions
                .values()
                .any(|v| v.server_preference == Some(false));
            if weak.is_empty() {
                pass(format!(
                    "{} suites accepted, none weak",
                    scan.accepted_suites().count()
                ))
            } else {
                let order = if preference {
                    "; the server follows the client's order, so a client offering these first gets them"
                } else {
                    ""
                };
                fail(format!("accepts {}{order}", weak.join(", ")))
            }
        }
        FORWARD_SECRECY => {
            let static_suites: Vec<String> = scan
                .accepted_suites()
                .filter(|(_, suite)| !ciphers::properties(*suite).forward_secrecy)
                .map(|(version, suite)| {
                    format!("{} {}", wire::version_name(version), ciphers::name(suite))
                })
                .collect();
            if static_suites.is_empty() {
                pass("every accepted suite uses an ephemeral key exchange")
            } else {
                fail(format!(
                    "accepts suites without forward secrecy: {}",
                    static_suites.join(", ")
                ))
            }
        }
        KEY_EXCHANGE => {
            let mut weak = Vec::new();
            for (suite, parameters) in &scan.key_exchanges {
                match parameters {
                    KeyExchangeParameters::Dhe { prime_bits } if *prime_bits < 2048 => weak.push(
                        format!("{} with a {prime_bits}-bit DH prime", ciphers::name(*suite)),
                    ),
                    KeyExchangeParameters::Ecdhe { group } if wire::group_bits(*group) < 256 => {
                        weak.push(format!(
                            "{} on {}",
                            ciphers::name(*suite),
                            wire::group_name(*group)
                        ))
                    }
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
            if weak.is_empty() {
                let mut seen: BTreeSet<String> = scan
                    .key_exchanges
                    .iter()
                    .map(|(_, p)| match p {
                        KeyExchangeParameters::Dhe { prime_bits } => {
                            format!("DH {prime_bits} bits")
                        }
                        KeyExchangeParameters::Ecdhe { group } => wire::group_name(*group),
                    })
                    .collect();
                seen.extend(scan.tls13_groups.iter().map(|g| wire::group_name(*g)));
                pass(format!(
                    "key exchange on {}",
                    seen.into_iter().collect::<Vec<_>>().join(", ")
                ))
            } else {
                fail(format!("accepts {}", weak.join(", ")))
            }
        }
        RENEGOTIATION => match scan.secure_renegotiation {
            Some(false) => {
                fail("a TLS 1.2-or-older ServerHello lacks renegotiation_info (RFC 5746)")
            }
            Some(true) => pass("answers renegotiation_info"),
            None => pass("offers only TLS 1.3, which has no renegotiation"),
        },
        COMPRESSION => match scan.compression {
            Some(method) if method != 0 => fail(format!(
                "chose compression method {method} when DEFLATE was offered (CRIME)"
            )),
            _ => pass("no compression"),
        },
        FALLBACK_SCSV => match &scan.fallback {
            Some(Fallback::Accepted { from, to }) => {
                let mut verdict = fail(format!(
                    "accepts {} marked with TLS_FALLBACK_SCSV although it supports {}: a downgrade is possible",
                    wire::version_name(*to),
                    wire::version_name(*from)
                ));
                verdict.transcripts = vec!["fallback"];
                verdict
            }
            Some(Fallback::Protected { from, to }) => pass(format!(
                "refuses a fallback from {} to {}",
                wire::version_name(*from),
                wire::version_name(*to)
            )),
            Some(Fallback::SingleVersion) => {
                pass("offers a single version: nothing to downgrade to")
            }
            Some(Fallback::Undecided { reason }) => undecided(reason.clone()),
            None => undecided("not probed"),
        },
        HEARTBLEED => match &scan.heartbleed {
            Some(Heartbleed::Vulnerable { leaked_bytes }) => {
                let mut verdict = fail(format!("answered an over-long heartbeat request with {leaked_bytes} bytes of its memory (Heartbleed)"));
                verdict.transcripts = vec!["heartbleed"];
                verdict
            }
            Some(Heartbleed::NoHeartbeat) => pass("does not agree to heartbeats"),
            Some(Heartbleed::NotVulnerable) => pass("ignores an over-long heartbeat request"),
            Some(Heartbleed::Undecided { reason }) => undecided(reason.clone()),
            None => undecided("not probed"),
        },
        _ => judge_certificate(check, port),
    }
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
        pass(fine)
    } else {
        fail(problems.join("; "))
    }
}

/// Merges the port verdicts of one check on one unit.
fn merge(check: &str, unit: &SampleUnit, ports: &[PortFindings], profile: &Profile) -> CheckResult {
    let dtls = dtls_ports(profile);
    let dtls_note = if dtls.is_empty() {
        String::new()
    } else {
        format!(" DTLS on {dtls:?}/udp is not inspected (DTLS is not implemented by this suite).")
    };
    if ports.is_empty() {
        return CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::NotApplicable,
            format!("no port of the unit speaks TLS.{dtls_note}"),
        );
    }
    let verdicts: Vec<(u16, PortVerdict)> = ports
        .iter()
        .map(|p| (p.scan.port, judge(check, p, profile)))
        .collect();
    let overall = if verdicts.iter().any(|(_, v)| v.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if verdicts
        .iter()
        .any(|(_, v)| v.verdict == Verdict::Inconclusive)
    {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    };
    let shown: Vec<String> = verdicts
        .iter()
        .filter(|(_, v)| overall == Verdict::Pass || v.verdict == overall)
        .map(|(port, v)| format!("{port}/tcp: {}", v.line))
        .collect();
    let mut result = CheckResult::new(
        check,
        Some(&unit.id),
        overall,
        format!("{}.{dtls_note}", shown.join("; ")),
    );
    let table: Vec<serde_json::Value> = ports
        .iter()
        .zip(&verdicts)
        .map(|(p, (_, v))| serde_json::json!({
            "port": p.scan.port,
            "verdict": v.verdict,
            "finding": v.line,
            "versions": p.scan.accepted_versions().iter().map(|v| wire::version_name(*v)).collect::<Vec<_>>(),
            "suites": p.scan.accepted_suites().map(|(v, s)| format!("{} {}", wire::version_name(v), ciphers::name(s))).collect::<Vec<_>>(),
            "server_preference": p.scan.versions.iter().map(|(v, s)| (wire::version_name(*v), s.server_preference)).collect::<BTreeMap<_, _>>(),
            "scan": &p.scan,
            "certificates": p.chain.as_ref().map(|c| &c.certificates),
        }))
        .collect();
    result = result.with_evidence(Evidence::json(format!("{check} per port"), &table));
    if overall == Verdict::Fail {
        for (port, (_, verdict)) in ports
            .iter()
            .zip(&verdicts)
            .filter(|(_, (_, v))| v.verdict == Verdict::Fail)
        {
            for label in &verdict.transcripts {
                if let Some(transcript) = port.scan.transcript(label) {
                    result = result.with_evidence(
                        transcript.into_evidence(format!("{label} on {}/tcp", port.scan.port)),
                    );
                }
            }
            if check.starts_with("tls.certificate") {
                if let Some(leaf) = port
                    .scan
                    .chain
                    .as_ref()
                    .and_then(|c| c.certificates.first())
                {
                    result = result.with_evidence(Evidence::bytes(
                        EvidenceKind::Certificate,
                        format!("leaf certificate {}/tcp (DER)", port.scan.port),
                        "application/pkix-cert",
                        leaf,
                    ));
                }
            }
        }
    }
    result
}

/// Across units: the same leaf certificate or public key on two units.
fn key_reuse(fingerprints: &[(String, u16, String, String)]) -> CheckResult {
    let mut by_key: BTreeMap<&str, BTreeSet<(&str, u16)>> = BTreeMap::new();
    for (unit, port, _, key) in fingerprints {
        by_key
            .entry(key.as_str())
            .or_default()
            .insert((unit.as_str(), *port));
    }
    let shared: Vec<(&str, Vec<String>)> = by_key
        .iter()
        .filter(|(_, holders)| {
            holders
                .iter()
                .map(|(u, _)| *u)
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        })
        .map(|(key, holders)| {
            let list = holders.iter().map(|(u, p)| format!("{u}:{p}")).collect();
            (*key, list)
        })
        .collect();
    let evidence = Evidence::json("leaf certificate and key fingerprints", &fingerprints.iter().map(|(u, p, c, k)| serde_json::json!({"unit": u, "port": p, "certificate_sha256": c, "key_sha256": k})).collect::<Vec<_>>());
    if fingerprints.is_empty() {
        return CheckResult::new(
            KEY_REUSE,
            None,
            Verdict::Inconclusive,
            "no certificate was captured on any unit",
        )
        .with_evidence(evidence);
    }
    if shared.is_empty() {
        CheckResult::new(
            KEY_REUSE,
            None,
            Verdict::Pass,
            format!(
                "{} certificates compared, every unit has keys of its own",
                fingerprints.len()
            ),
        )
        .with_evidence(evidence)
    } else {
        let summary: Vec<String> = shared
            .iter()
            .map(|(key, holders)| {
                format!(
                    "public key sha256 {}… on {}",
                    key.get(..16).unwrap_or(key),
                    holders.join(", ")
                )
            })
            .collect();
        let shared_evidence = Evidence::json(
            "public keys shared by units (sha256 of SubjectPublicKeyInfo)",
            &shared
                .iter()
                .map(|(key, holders)| serde_json::json!({"key_sha256": key, "on": holders}))
                .collect::<Vec<_>>(),
        );
        CheckResult::new(
            KEY_REUSE,
            None,
            Verdict::Fail,
            format!("units share TLS keys: {}", summary.join("; ")),
        )
        .with_evidence(shared_evidence)
        .with_evidence(evidence)
    }
}
