//! The device as a TLS client (EN 303 645 5.5-1, OWASP ISVS 4.1.3): does it verify the
//! servers it connects to?
//!
//! The suite listens on the loopback address the profile names (where the device's
//! cloud or update host resolves), and presents, one connection each, a self-signed
//! certificate, an expired one, one for another host name, one from an untrusted CA, and
//! finally a valid one issued by a CA the device trusts (the control). For each it
//! records whether the device completed the handshake and sent application data. Only
//! connections from the unit's own address count; every wait is bounded.

use crate::options::TlsClientOptions;
use iotcert_suite::profile::CommandSpec;
use iotcert_suite::{CheckResult, Evidence, Proof, RunContext, SampleUnit, Transcript, Verdict};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use serde::Serialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::checks::CLIENT_VALIDATION;

/// Time allowed for one handshake and for the application data that follows it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Application data read from the device, at most.
const APPLICATION_DATA_CAP: usize = 4096;
/// Connections from other addresses skipped while waiting for the unit, at most.
const MAX_FOREIGN_CONNECTIONS: usize = 64;

/// One certificate presented to the device.
struct Scenario {
    name: &'static str,
    /// Whether a correct client accepts it.
    acceptable: bool,
    config: Arc<ServerConfig>,
}

/// What the device did with one scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Reaction {
    /// Handshake completed and application data arrived.
    Accepted { application_bytes: usize },
    /// Handshake completed but nothing was sent before the timeout, a close or an error.
    HandshakeOnly,
    /// The device aborted the handshake.
    Rejected { reason: String },
    /// The device did not connect in time.
    NoConnection,
}

#[derive(Serialize)]
struct ScenarioRecord {
    certificate: &'static str,
    acceptable: bool,
    reaction: Reaction,
}

fn read_file(base: &Path, path: &Path) -> Result<String, String> {
    let full: PathBuf = if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    };
    std::fs::read_to_string(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn leaf_params(
    san: &str,
    valid_from: OffsetDateTime,
    valid_to: OffsetDateTime,
) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(san);
    params.subject_alt_names = vec![match san.parse::<IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(san.try_into()?),
    }];
    params.not_before = valid_from;
    params.not_after = valid_to;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// The five certificates, worst first, the valid control last.
fn scenarios(options: &TlsClientOptions, base: &Path) -> Result<Vec<Scenario>, String> {
    let error = |e: rcgen::Error| e.to_string();
    let ca_pem = read_file(base, &options.trusted_ca_certificate)?;
    let ca_key = KeyPair::from_pem(&read_file(base, &options.trusted_ca_key)?).map_err(error)?;
    let ca = CertificateParams::from_ca_cert_pem(&ca_pem)
        .map_err(error)?
        .self_signed(&ca_key)
        .map_err(error)?;
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let host = options.server_name.as_str();
    let mut out = Vec::new();

    let key = KeyPair::generate().map_err(error)?;
    let certificate = leaf_params(host, now - day, now + 30 * day)
        .map_err(error)?
        .self_signed(&key)
        .map_err(error)?;
    out.push(Scenario {
        name: "self-signed",
        acceptable: false,
        config: server_config(vec![certificate.der().clone()], &key)?,
    });

    let key = KeyPair::generate().map_err(error)?;
    let certificate = leaf_params(host, now - 400 * day, now - 30 * day)
        .map_err(error)?
        .signed_by(&key, &ca, &ca_key)
        .map_err(error)?;
    out.push(Scenario {
        name: "expired (trusted CA)",
        acceptable: false,
        config: server_config(vec![certificate.der().clone()], &key)?,
    });

    let key = KeyPair::generate().map_err(error)?;
    let certificate = leaf_params("wrong-host.invalid", now - day, now + 30 * day)
        .map_err(error)?
        .signed_by(&key, &ca, &ca_key)
        .map_err(error)?;
    out.push(Scenario {
        name: "wrong host name (trusted CA)",
        acceptable: false,
        config: server_config(vec![certificate.der().clone()], &key)?,
    });

    let rogue_key = KeyPair::generate().map_err(error)?;
    let mut rogue = CertificateParams::default();
    rogue.distinguished_name = name("iotcert untrusted root");
    rogue.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    rogue.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    rogue.not_before = now - day;
    rogue.not_after = now + 30 * day;
    let rogue = rogue.self_signed(&rogue_key).map_err(error)?;
    let key = KeyPair::generate().map_err(error)?;
    let certificate = leaf_params(host, now - day, now + 30 * day)
        .map_err(error)?
        .signed_by(&key, &rogue, &rogue_key)
        .map_err(error)?;
    out.push(Scenario {
        name: "untrusted root",
        acceptable: false,
        config: server_config(vec![certificate.der().clone(), rogue.der().clone()], &key)?,
    });

    let key = KeyPair::generate().map_err(error)?;
    let certificate = leaf_params(host, now - day, now + 30 * day)
        .map_err(error)?
        .signed_by(&key, &ca, &ca_key)
        .map_err(error)?;
    out.push(Scenario {
        name: "valid (control)",
        acceptable: true,
        config: server_config(vec![certificate.der().clone()], &key)?,
    });
    Ok(out)
}

async fn run_trigger(trigger: &CommandSpec, base: &Path, timeout: Duration) -> Result<(), String> {
    let program = if trigger.program.components().count() > 1 {
        base.join(&trigger.program)
    } else {
        trigger.program.clone()
    };
    let mut child = tokio::process::Command::new(&program)
        .args(&trigger.args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run trigger {}: {e}", program.display()))?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("trigger failed: {e}")),
        Err(_) => Err("trigger timed out".to_owned()),
    }
}

/// Presents one scenario to the next connection from `unit`.
async fn present(
    listener: &TcpListener,
    unit: &SampleUnit,
    scenario: &Scenario,
    wait: Duration,
    transcript: &mut Transcript,
) -> Reaction {
    let deadline = tokio::time::Instant::now() + wait;
    for _ in 0..MAX_FOREIGN_CONNECTIONS {
        let accepted = match tokio::time::timeout_at(deadline, listener.accept()).await {
            Err(_) => return Reaction::NoConnection,
            Ok(Err(_)) => continue,
            Ok(Ok(accepted)) => accepted,
        };
        let (stream, peer) = accepted;
        if peer.ip() != unit.address {
            transcript.remark(&format!("connection from {peer} ignored: not the unit"));
            continue;
        }
        transcript.remark(&format!(
            "{peer} connected; presenting the {} certificate",
            scenario.name
        ));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&scenario.config));
        let mut tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Err(_) => {
                return Reaction::Rejected {
                    reason: "the handshake stalled".to_owned(),
                }
            }
            Ok(Err(error)) => {
                return Reaction::Rejected {
                    reason: error.to_string(),
                }
            }
            Ok(Ok(tls)) => tls,
        };
        transcript.remark("handshake completed");
        let mut buffer = vec![0u8; APPLICATION_DATA_CAP];
        return match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.read(&mut buffer)).await {
            Ok(Ok(read)) if read > 0 => {
                transcript.received(buffer.get(..read).unwrap_or_default());
                Reaction::Accepted {
                    application_bytes: read,
                }
            }
            // The handshake completed: the device accepted the certificate, whatever it
            // does next (closing without close_notify is not a refusal of it).
            _ => Reaction::HandshakeOnly,
        };
    }
    Reaction::NoConnection
}

/// Decides the client-side check for one unit.
pub async fn validate_client(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &TlsClientOptions,
    base: &Path,
) -> CheckResult {
    let result = |verdict, summary: String| {
        CheckResult::new(CLIENT_VALIDATION, Some(&unit.id), verdict, summary)
    };
    if !options.listen.ip().is_loopback() {
        return result(Verdict::Error, format!("tls.client.listen {} is not a loopback address; the harness serves only on loopback", options.listen));
    }
    let scenarios = match scenarios(options, base) {
        Ok(scenarios) => scenarios,
        Err(error) => {
            return result(
                Verdict::Error,
                format!("cannot make the test certificates: {error}"),
            )
        }
    };
    let listener = match TcpListener::bind(options.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            return result(
                Verdict::Error,
                format!("cannot listen on {}: {error}", options.listen),
            )
        }
    };
    let wait = Duration::from_secs(options.wait_seconds.max(1)).min(ctx.time_left());
    let mut transcript = Transcript::new();
    let mut records = Vec::new();
    for scenario in &scenarios {
        if ctx.should_stop() {
            return result(
                Verdict::Inconclusive,
                "the suite deadline passed before every certificate was presented".to_owned(),
            );
        }
        if let Some(trigger) = &options.trigger {
            if let Err(error) = run_trigger(trigger, base, wait).await {
                transcript.remark(&error);
            }
        }
        let reaction = present(&listener, unit, scenario, wait, &mut transcript).await;
        transcript.remark(&format!("{}: {reaction:?}", scenario.name));
        records.push(ScenarioRecord {
            certificate: scenario.name,
            acceptable: scenario.acceptable,
            reaction,
        });
    }
    let control = records.iter().find_map(|r| match r.reaction {
        Reaction::Accepted { application_bytes } if r.acceptable => Some(application_bytes),
        _ => None,
    });
    let (verdict, summary) = decide(&records, control, options, wait);
    let proof = control.map(|bytes| proof_of_refusals(&records, bytes));
    let mut outcome = result(verdict, summary);
    if verdict == Verdict::Pass {
        if let Some(proof) = proof {
            outcome = outcome.with_proof(proof);
        }
    }
    outcome
        .with_evidence(Evidence::json(
            "certificates presented and the device's reactions",
            &records,
        ))
        .with_evidence(transcript.into_evidence(format!("TLS server on {}", options.listen)))
}

/// The verdict over every scenario: a bad certificate accepted fails; a scenario the
/// device never connected to, or a control it did not complete, leaves it undecided.
/// `control` is the application data the device sent over the valid certificate.
fn decide(
    records: &[ScenarioRecord],
    control: Option<usize>,
    options: &TlsClientOptions,
    wait: Duration,
) -> (Verdict, String) {
    let accepted_bad: Vec<&str> = records
        .iter()
        .filter(|r| {
            !r.acceptable
                && matches!(
                    r.reaction,
                    Reaction::Accepted { .. } | Reaction::HandshakeOnly
                )
        })
        .map(|r| r.certificate)
        .collect();
    let silent: Vec<&str> = records
        .iter()
        .filter(|r| r.reaction == Reaction::NoConnection)
        .map(|r| r.certificate)
        .collect();
    if !accepted_bad.is_empty() {
        (
            Verdict::Fail,
            format!(
                "the device completed the TLS handshake with a server presenting: {}",
                accepted_bad.join(", ")
            ),
        )
    } else if !silent.is_empty() {
        (
            Verdict::Inconclusive,
            format!(
                "the device did not connect to {} within {} s while the harness presented: {}",
                options.listen,
                wait.as_secs(),
                silent.join(", ")
            ),
        )
    } else if control.is_none() {
        (Verdict::Inconclusive, "the device did not complete the handshake and send data with the valid control certificate: its refusals cannot be told from a broken client or a CA it does not trust".to_owned())
    } else {
        (Verdict::Pass, "the device refused the self-signed, expired, wrong-name and untrusted-root certificates and accepted the valid one".to_owned())
    }
}

/// The positive control of a PASS: the valid certificate carried `bytes` of application
/// data, and each bad one was refused with the reason the handshake gave.
fn proof_of_refusals(records: &[ScenarioRecord], bytes: usize) -> Proof {
    let refusals: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.reaction {
            Reaction::Rejected { reason } if !r.acceptable => {
                Some(format!("{}: {reason}", r.certificate))
            }
            _ => None,
        })
        .collect();
    Proof::observed(format!(
        "the device completed the handshake with the valid certificate and sent {bytes} bytes of application data; it aborted the handshake with {}",
        refusals.join("; ")
    ))
}
