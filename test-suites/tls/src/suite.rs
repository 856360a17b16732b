//! `TlsSuite`: the `Suite` implementation. It chooses the ports to inspect from the
//! profile, scans them, merges the per-port findings into one verdict per check and
//! unit, compares keys across units, and runs the client-side test.

use crate::certificate::{self, ExpectedName, Policy};
use crate::checks::{self, *};
use crate::ciphers;
use crate::client;
use crate::judge::{judge, PortFindings, PortVerdict};
use crate::options::TlsOptions;
use crate::probe::Target;
use crate::scan::{self, EndpointScan};
use crate::wire;
use futures::stream::{FuturesUnordered, StreamExt};
use iotcert_suite::profile::Transport;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, Evidence, EvidenceKind, Profile, Proof, RunContext,
    SampleUnit, SectionSpec, Suite, SuiteDescriptor, SuiteError, Verdict,
};
use rustls::pki_types::CertificateDer;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The suite's version: bumped whenever a verdict rule changes.
pub const SUITE_VERSION: &str = "0.2.0";

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
fn ports(profile: &Profile, options: &TlsOptions) -> BTreeMap<u16, bool> {
    let mut ports = BTreeMap::new();
    for interface in profile
        .interfaces
        .iter()
        .filter(|i| i.transport == Transport::Tcp)
    {
        let declared = ports.entry(interface.port).or_insert(false);
        *declared |= interface.tls;
    }
    for port in &options.extra_ports {
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

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<TlsOptions>()]
    }

    fn applicability(&self, check: &CheckSpec, profile: &Profile) -> Applicability {
        // A [tls] section that cannot be read never reaches a campaign (the harness
        // refuses the profile when it loads it); elsewhere `run` reports the error as
        // the ERROR of every check, so it is not hidden behind NOT_APPLICABLE here.
        let Ok(options) = profile.section_or_default::<TlsOptions>() else {
            return Applicability::Applicable;
        };
        let id = check.id.as_str();
        if id == CLIENT_VALIDATION {
            return match options.client {
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
        // Declared DTLS is not ruled out by the profile: this suite version does not
        // cover it, which is INCONCLUSIVE (decided in `merge`), never NOT_APPLICABLE.
        if ports(profile, &options).is_empty() && dtls_ports(profile).is_empty() {
            return Applicability::NotApplicable {
                reason: "the profile declares no TCP interface, no DTLS interface and no tls.extra_ports: there is no TLS port to inspect".to_owned(),
            };
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
        let options: TlsOptions = profile.section_or_default()?;
        let anchors = load_anchors(&self.profile_dir, &options.trust_anchors)?;
        let timeout = Duration::from_millis(options.timeout_ms.max(1));
        let ports = ports(&profile, &options);
        let mut fingerprints: Vec<(String, u16, String, String)> = Vec::new();
        let mut units_scanned = 0usize;
        let wants_server = |unit: &SampleUnit| {
            SERVER_CHECKS
                .iter()
                .any(|c| ctx.is_pending(c, Some(&unit.id)))
                || ctx.is_pending(KEY_REUSE, None)
        };
        let wants_client = |unit: &SampleUnit| {
            options.client.is_some() && ctx.is_pending(CLIENT_VALIDATION, Some(&unit.id))
        };
        // Probes planned: one scan per port of each unit, one client test per unit.
        let mut probes = Probes {
            done: 0,
            total: ctx
                .units
                .iter()
                .map(|unit| {
                    u64::from(wants_server(unit)) * ports.len() as u64
                        + u64::from(wants_client(unit))
                })
                .sum(),
        };
        for unit in &ctx.units {
            if ctx.should_stop() {
                break;
            }
            if wants_server(unit) {
                let scans = scan_ports(&ctx, unit, &ports, timeout, &mut probes).await;
                let policy = unit_policy(unit, &anchors, &options);
                let (inspected, unreached) = inspect_scans(scans, &ports, &policy);
                fingerprints.extend(leaf_fingerprints(unit, &inspected));
                units_scanned += 1;
                for check in SERVER_CHECKS {
                    if ctx.is_pending(check, Some(&unit.id)) {
                        let merged = merge(check, unit, &inspected, &unreached, &profile, &options);
                        ctx.emit(merged).await;
                    }
                }
            }
            if let Some(client_options) = &options.client {
                if ctx.is_pending(CLIENT_VALIDATION, Some(&unit.id)) {
                    ctx.started(CLIENT_VALIDATION, Some(&unit.id)).await;
                    probes
                        .report(&ctx, format!("{}: the device as a TLS client", unit.id))
                        .await;
                    let result =
                        client::validate_client(&ctx, unit, client_options, &self.profile_dir)
                            .await;
                    probes.done += 1;
                    ctx.emit(result).await;
                }
            }
        }
        if ctx.is_pending(KEY_REUSE, None) && units_scanned == ctx.units.len() {
            ctx.emit(key_reuse(&ctx.units, &fingerprints)).await;
        }
        Ok(())
    }
}

/// Scans every port of `ports` on `unit` at once, counting each finished scan as a
/// probe of the suite's progress; the scans in port order.
async fn scan_ports(
    ctx: &RunContext,
    unit: &SampleUnit,
    ports: &BTreeMap<u16, bool>,
    timeout: Duration,
    probes: &mut Probes,
) -> Vec<EndpointScan> {
    probes
        .report(ctx, format!("{}: scanning {} ports", unit.id, ports.len()))
        .await;
    let mut scanning: FuturesUnordered<_> = ports
        .keys()
        .map(|port| {
            scan::scan_endpoint(Target {
                ctx,
                unit,
                port: *port,
                timeout,
            })
        })
        .collect();
    let mut scans = Vec::with_capacity(ports.len());
    while let Some(scan) = scanning.next().await {
        probes.done += 1;
        probes
            .report(ctx, format!("{}: {}/tcp scanned", unit.id, scan.port))
            .await;
        scans.push(scan);
    }
    scans.sort_by_key(|scan| scan.port);
    scans
}

/// What `unit`'s certificates are judged against: the declared anchors, the lifetime
/// bound and the unit's own name (its hostname, else its address).
fn unit_policy(
    unit: &SampleUnit,
    anchors: &[CertificateDer<'static>],
    options: &TlsOptions,
) -> Policy {
    Policy {
        anchors: anchors.to_vec(),
        max_validity_days: options.max_certificate_validity_days,
        expected: unit
            .hostname
            .clone()
            .map_or(ExpectedName::Ip(unit.address), ExpectedName::Dns),
    }
}

/// The ports that are judged (declared as TLS, or found speaking it) with their chains
/// inspected under `policy`, and the other ports that could not be reached at all.
fn inspect_scans(
    scans: Vec<EndpointScan>,
    ports: &BTreeMap<u16, bool>,
    policy: &Policy,
) -> (Vec<PortFindings>, Vec<u16>) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (kept, left_out): (Vec<EndpointScan>, Vec<EndpointScan>) = scans
        .into_iter()
        .partition(|scan| ports.get(&scan.port).copied().unwrap_or(false) || scan.speaks_tls());
    let unreached: Vec<u16> = left_out
        .iter()
        .filter(|scan| !scan.reached)
        .map(|scan| scan.port)
        .collect();
    let inspected: Vec<PortFindings> = kept
        .into_iter()
        .map(|scan| {
            let chain = scan
                .chain
                .as_ref()
                .filter(|c| !c.certificates.is_empty())
                .map(|c| certificate::inspect(&c.certificates, policy, now));
            PortFindings {
                declared_tls: ports.get(&scan.port).copied().unwrap_or(false),
                scan,
                chain,
            }
        })
        .collect();
    (inspected, unreached)
}

/// (unit, port, leaf certificate sha256, leaf key sha256) of every port of `unit` whose
/// leaf certificate was read: what key reuse compares across units.
fn leaf_fingerprints(
    unit: &SampleUnit,
    inspected: &[PortFindings],
) -> Vec<(String, u16, String, String)> {
    inspected
        .iter()
        .filter_map(|findings| {
            let chain = findings.chain.as_ref()?;
            (!chain.leaf_sha256.is_empty()).then(|| {
                (
                    unit.id.clone(),
                    findings.scan.port,
                    chain.leaf_sha256.clone(),
                    chain.leaf_key_sha256.clone(),
                )
            })
        })
        .collect()
}

/// The suite's progress: the probes planned for every unit, and those finished.
struct Probes {
    done: u64,
    total: u64,
}

impl Probes {
    async fn report(&self, ctx: &RunContext, message: String) {
        if self.total > 0 {
            ctx.progress(self.done, self.total, message).await;
        }
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

/// Merges the port verdicts of one check on one unit.
fn merge(
    check: &str,
    unit: &SampleUnit,
    ports: &[PortFindings],
    unreached: &[u16],
    profile: &Profile,
    options: &TlsOptions,
) -> CheckResult {
    let dtls = dtls_ports(profile);
    let dtls_note = dtls_note(&dtls);
    if ports.is_empty() {
        return no_tls_port(check, unit, unreached, &dtls, &dtls_note);
    }
    let verdicts: Vec<(u16, PortVerdict)> = ports
        .iter()
        .map(|p| (p.scan.port, judge(check, p, options)))
        .collect();
    let overall = overall_verdict(&verdicts, !dtls.is_empty());
    // The ports that decided the verdict; all of them when none did on its own (every
    // TCP port passed, and DTLS left the check undecided).
    let deciding = |v: &PortVerdict| overall == Verdict::Pass || v.verdict == overall;
    let any_deciding = verdicts.iter().any(|(_, v)| deciding(v));
    let shown: Vec<String> = verdicts
        .iter()
        .filter(|(_, v)| !any_deciding || deciding(v))
        .map(|(port, v)| format!("{port}/tcp: {}", v.line))
        .collect();
    let mut result = CheckResult::new(
        check,
        Some(&unit.id),
        overall,
        format!("{}.{dtls_note}", shown.join("; ")),
    );
    if overall == Verdict::Pass {
        let proofs: Vec<String> = verdicts
            .iter()
            .map(|(port, v)| format!("{port}/tcp: {}", v.proof))
            .collect();
        result = result.with_proof(Proof::observed(proofs.join("; ")));
    }
    result = result.with_evidence(Evidence::json(
        format!("{check} per port"),
        &per_port_table(ports, &verdicts),
    ));
    if overall == Verdict::Fail {
        for evidence in failure_evidence(check, ports, &verdicts) {
            result = result.with_evidence(evidence);
        }
    }
    result
}

/// The sentence that ends every summary when DTLS is declared: this version does not
/// cover it. Empty when no DTLS port is declared.
fn dtls_note(dtls: &[u16]) -> String {
    if dtls.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = dtls.iter().map(|p| format!("{p}/udp")).collect();
        format!(
            " DTLS on {} is declared and not covered by this suite version.",
            list.join(", ")
        )
    }
}

/// The result of a check on a unit none of whose TCP ports speaks TLS: INCONCLUSIVE when
/// DTLS is declared or a port could not be reached, NOT_APPLICABLE otherwise.
fn no_tls_port(
    check: &str,
    unit: &SampleUnit,
    unreached: &[u16],
    dtls: &[u16],
    dtls_note: &str,
) -> CheckResult {
    if !dtls.is_empty() {
        return CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Inconclusive,
            format!("no TCP port of the unit speaks TLS.{dtls_note}"),
        );
    }
    if !unreached.is_empty() {
        return CheckResult::new(
            check,
            Some(&unit.id),
            Verdict::Inconclusive,
            format!(
                "no port of the unit answered TLS, and {} could not be reached: whether they speak TLS is unknown.{dtls_note}",
                unreached.iter().map(|p| format!("{p}/tcp")).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    CheckResult::new(
        check,
        Some(&unit.id),
        Verdict::NotApplicable,
        format!("the profile declares no TLS interface, and none of its TCP ports answered TLS.{dtls_note}"),
    )
}

/// A FAIL on any port fails the check. A PASS must cover every declared interface:
/// with DTLS declared and not covered, passing TCP ports leave the check INCONCLUSIVE.
fn overall_verdict(verdicts: &[(u16, PortVerdict)], dtls_declared: bool) -> Verdict {
    if verdicts.iter().any(|(_, v)| v.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if dtls_declared
        || verdicts
            .iter()
            .any(|(_, v)| v.verdict == Verdict::Inconclusive)
    {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    }
}

/// The evidence table of one check: each port's verdict, finding and proof beside what
/// its scan saw (versions, suites, preference, certificates).
fn per_port_table(
    ports: &[PortFindings],
    verdicts: &[(u16, PortVerdict)],
) -> Vec<serde_json::Value> {
    ports
        .iter()
        .zip(verdicts)
        .map(|(p, (_, v))| serde_json::json!({
            "port": p.scan.port,
            "verdict": v.verdict,
            "finding": v.line,
            "proof": (v.verdict == Verdict::Pass).then_some(&v.proof),
            "handshake": &p.scan.handshake,
            "versions": p.scan.accepted_versions().iter().map(|v| wire::version_name(*v)).collect::<Vec<_>>(),
            "suites": p.scan.accepted_suites().map(|(v, s)| format!("{} {}", wire::version_name(v), ciphers::name(s))).collect::<Vec<_>>(),
            "server_preference": p.scan.versions.iter().map(|(v, s)| (wire::version_name(*v), s.server_preference)).collect::<BTreeMap<_, _>>(),
            "scan": &p.scan,
            "certificates": p.chain.as_ref().map(|c| &c.certificates),
        }))
        .collect()
}

/// What proves a FAIL on each failing port: the transcripts its verdict names and, for
/// a certificate check, the leaf certificate as read.
fn failure_evidence(
    check: &str,
    ports: &[PortFindings],
    verdicts: &[(u16, PortVerdict)],
) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    for (port, (_, verdict)) in ports
        .iter()
        .zip(verdicts)
        .filter(|(_, (_, v))| v.verdict == Verdict::Fail)
    {
        for label in &verdict.transcripts {
            if let Some(transcript) = port.scan.transcript(label) {
                evidence
                    .push(transcript.into_evidence(format!("{label} on {}/tcp", port.scan.port)));
            }
        }
        if check.starts_with("tls.certificate") {
            if let Some(leaf) = port
                .scan
                .chain
                .as_ref()
                .and_then(|c| c.certificates.first())
            {
                evidence.push(Evidence::bytes(
                    EvidenceKind::Certificate,
                    format!("leaf certificate {}/tcp (DER)", port.scan.port),
                    "application/pkix-cert",
                    leaf,
                ));
            }
        }
    }
    evidence
}

/// Across units: the same leaf certificate or public key on two units. No sharing is a
/// PASS only when every unit's keys were read: a comparison with fewer than two units,
/// or without one of them, proves nothing.
fn key_reuse(units: &[SampleUnit], fingerprints: &[(String, u16, String, String)]) -> CheckResult {
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
    let without_keys: Vec<&str> = units
        .iter()
        .map(|u| u.id.as_str())
        .filter(|id| !fingerprints.iter().any(|(unit, ..)| unit == id))
        .collect();
    let evidence = Evidence::json("leaf certificate and key fingerprints", &fingerprints.iter().map(|(u, p, c, k)| serde_json::json!({"unit": u, "port": p, "certificate_sha256": c, "key_sha256": k})).collect::<Vec<_>>());
    if shared.is_empty() && (!without_keys.is_empty() || units.len() < 2) {
        return CheckResult::new(
            KEY_REUSE,
            None,
            Verdict::Inconclusive,
            format!(
                "no certificate was captured on {}: keys of fewer than every unit cannot show that no two units share one",
                if without_keys.is_empty() { "a second unit".to_owned() } else { without_keys.join(", ") }
            ),
        )
        .with_evidence(evidence);
    }
    if shared.is_empty() {
        let distinct_keys = by_key.len();
        CheckResult::pass(
            KEY_REUSE,
            None,
            format!(
                "{} certificates compared, every unit has keys of its own",
                fingerprints.len()
            ),
            Proof::observed(format!(
                "the leaf certificates of {} units were read ({} certificates, {distinct_keys} distinct public keys) and compared",
                units.len(),
                fingerprints.len()
            )),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, last: u8) -> SampleUnit {
        SampleUnit {
            id: id.to_owned(),
            address: std::net::IpAddr::from([127, 0, 0, last]),
            hostname: None,
        }
    }

    fn key(unit: &str, port: u16, key: &str) -> (String, u16, String, String) {
        (unit.to_owned(), port, format!("cert-{key}"), key.to_owned())
    }

    #[test]
    fn key_reuse_over_one_units_keys_is_not_a_pass() {
        let units = [unit("unit-1", 1), unit("unit-2", 2)];
        let one_unit = [key("unit-1", 443, "aa"), key("unit-1", 8883, "bb")];
        let result = key_reuse(&units, &one_unit);
        assert_eq!(result.verdict, Verdict::Inconclusive, "{}", result.summary);
        assert!(result.summary.contains("unit-2"), "{}", result.summary);
    }

    #[test]
    fn key_reuse_passes_with_proof_only_over_every_units_keys() {
        let units = [unit("unit-1", 1), unit("unit-2", 2)];
        let distinct = [key("unit-1", 443, "aa"), key("unit-2", 443, "bb")];
        let result = key_reuse(&units, &distinct);
        assert_eq!(result.verdict, Verdict::Pass, "{}", result.summary);
        assert!(result
            .proof
            .as_ref()
            .is_some_and(|p| p.as_str().contains("2 units")));
        let shared = [key("unit-1", 443, "aa"), key("unit-2", 443, "aa")];
        assert_eq!(key_reuse(&units, &shared).verdict, Verdict::Fail);
        // A key shared by two of three units is a finding even with the third unread.
        let three = [unit("unit-1", 1), unit("unit-2", 2), unit("unit-3", 3)];
        assert_eq!(key_reuse(&three, &shared).verdict, Verdict::Fail);
        assert_eq!(key_reuse(&three, &distinct).verdict, Verdict::Inconclusive);
    }

    #[tokio::test]
    async fn progress_counts_the_planned_scans_to_their_end() {
        // Nothing listens there: each scan ends at once, unreached.
        let profile = Profile::from_toml_str(
            "[device]\nmanufacturer = \"T\"\nmodel = \"M\"\nfirmware_version = \"1\"\n\
             [[units]]\nid = \"unit-1\"\naddress = \"127.93.201.1\"\n\
             [[interfaces]]\nport = 443\ntransport = \"tcp\"\nservice = \"https\"\ntls = true\n\
             [[interfaces]]\nport = 8883\ntransport = \"tcp\"\nservice = \"mqtts\"\ntls = true\n",
        )
        .unwrap();
        let pending = SERVER_CHECKS
            .iter()
            .map(|check| iotcert_suite::PlanKey::new(check, Some("unit-1")))
            .collect();
        let progress = iotcert_suite_testkit::run_pending(
            &TlsSuite::new("."),
            profile,
            pending,
            Duration::from_secs(120),
        )
        .await
        .progress();
        assert_eq!(progress, [(0, 2), (1, 2), (2, 2)], "two ports, two scans");
    }
}
