//! Hostile TLS servers: the fault matrix of issue 13 (nothing listening, RST on accept,
//! accept and stay silent, accept every hello, refuse every hello, slow parts, a byte a
//! second, garbage) and truncated records, absurd lengths, a 16 MB certificate, wrong
//! record types and endless bytes. Pointed at a declared TLS port, none may give any
//! check PASS (or ERROR): only INCONCLUSIVE with a reason, or FAIL where what the server
//! said really is the finding. The suite must stay bounded in time and never panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{endpoint_profile, run_suite};
use iotcert_suite::Verdict;
use iotcert_suite_tls::checks;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a hostile server sends after reading the ClientHello.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Truncated,
    AbsurdLength,
    HugeCertificate,
    WrongRecordType,
    AlertAlways,
    Silence,
    EndlessBytes,
    /// The fault matrix's "nothing listening": no listener at all.
    NothingListening,
    ResetOnAccept,
    /// Accepts, reads nothing, says nothing.
    SilentOnAccept,
    /// A ServerHello for every hello: its version (up to TLS 1.2), its first suite.
    AcceptEveryHello,
    /// A good-looking ServerHello and ServerHelloDone in two parts 0.6 s apart, no certificate.
    SlowParts,
    /// The same, one byte a second.
    ByteASecond,
    /// Plain text, not TLS.
    Garbage,
}

impl Behaviour {
    /// The checks a server behaving so may FAIL, because what it said is the finding.
    fn may_fail(self) -> &'static [&'static str] {
        match self {
            // Not TLS on a port declared as TLS.
            Behaviour::WrongRecordType | Behaviour::EndlessBytes | Behaviour::Garbage => {
                &[checks::MODERN_PROTOCOL]
            }
            // It does accept SSL 3.0, NULL suites, static RSA, a marked fallback, and
            // leaves out renegotiation_info.
            Behaviour::AcceptEveryHello => &[
                checks::LEGACY_PROTOCOL,
                checks::WEAK_CIPHER_SUITE,
                checks::FORWARD_SECRECY,
                checks::RENEGOTIATION,
                checks::FALLBACK_SCSV,
            ],
            // The same ServerHello, without renegotiation_info, in two parts.
            Behaviour::SlowParts => &[checks::RENEGOTIATION],
            _ => &[],
        }
    }
}

/// The version (capped at TLS 1.2) and first cipher suite of a ClientHello record.
fn hello_version_and_first_suite(hello: &[u8]) -> Option<([u8; 2], [u8; 2])> {
    let version = [*hello.get(9)?, *hello.get(10)?];
    let session_length = usize::from(*hello.get(43)?);
    let suites = 44 + session_length + 2;
    let first = [*hello.get(suites)?, *hello.get(suites + 1)?];
    Some((if version > [3, 3] { [3, 3] } else { version }, first))
}

/// A ServerHello (no extensions) and a ServerHelloDone, in one record.
fn hello_and_done(version: [u8; 2], suite: [u8; 2]) -> Vec<u8> {
    let mut body = version.to_vec();
    body.extend_from_slice(&[1u8; 32]);
    body.extend_from_slice(&[0, suite[0], suite[1], 0]);
    let mut messages = vec![2, 0, 0, u8::try_from(body.len()).unwrap_or(0)];
    messages.extend_from_slice(&body);
    messages.extend_from_slice(&[14, 0, 0, 0]);
    let mut record = vec![
        22,
        version[0],
        version[1],
        0,
        u8::try_from(messages.len()).unwrap_or(0),
    ];
    record.extend_from_slice(&messages);
    record
}

fn server_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[1u8; 32]);
    body.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let mut message = vec![2, 0, 0, u8::try_from(body.len()).unwrap()];
    message.extend_from_slice(&body);
    message
}

async fn serve(listener: TcpListener, behaviour: Behaviour) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            if let Behaviour::ResetOnAccept = behaviour {
                let _ = stream.set_zero_linger();
                drop(stream);
                return;
            }
            if let Behaviour::SilentOnAccept = behaviour {
                tokio::time::sleep(Duration::from_secs(10)).await;
                return;
            }
            let mut hello = vec![0u8; 4096];
            let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut hello))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let hello = hello.get(..read).unwrap_or_default();
            let (version, suite) =
                hello_version_and_first_suite(hello).unwrap_or(([3, 3], [0xc0, 0x2f]));
            let _ = match behaviour {
                Behaviour::NothingListening
                | Behaviour::ResetOnAccept
                | Behaviour::SilentOnAccept => Ok(()),
                Behaviour::AcceptEveryHello => {
                    stream.write_all(&hello_and_done(version, suite)).await
                }
                Behaviour::SlowParts => {
                    let answer = hello_and_done([3, 3], [0xc0, 0x2f]);
                    let (first, second) = answer.split_at(answer.len() / 2);
                    let _ = stream.write_all(first).await;
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    stream.write_all(second).await
                }
                Behaviour::ByteASecond => {
                    for byte in hello_and_done([3, 3], [0xc0, 0x2f]) {
                        if stream.write_all(&[byte]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Ok(())
                }
                Behaviour::Garbage => {
                    stream
                        .write_all(b"SSH-2.0-dropbear_2022.83\r\n\x00\xff garbage")
                        .await
                }
                Behaviour::Truncated => stream.write_all(&[22, 3, 3, 0, 80, 2, 0, 0]).await,
                Behaviour::AbsurdLength => {
                    stream.write_all(&[22, 3, 3, 0xff, 0xff, 2, 0, 0, 0]).await
                }
                Behaviour::HugeCertificate => {
                    let hello = server_hello();
                    let mut record = vec![22, 3, 3, 0, u8::try_from(hello.len()).unwrap()];
                    record.extend_from_slice(&hello);
                    let _ = stream.write_all(&record).await;
                    // A Certificate message declaring 16 MB, sent as full records.
                    let mut first =
                        vec![22, 3, 3, 0x40, 0x00, 11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc];
                    first.resize(5 + 0x4000, 0x30);
                    let _ = stream.write_all(&first).await;
                    let mut chunk = vec![22, 3, 3, 0x40, 0x00];
                    chunk.resize(5 + 0x4000, 0x41);
                    for _ in 0..1024 {
                        if stream.write_all(&chunk).await.is_err() {
                            break;
                        }
                    }
                    Ok(())
                }
                Behaviour::WrongRecordType => stream.write_all(&[23, 3, 3, 0, 4, 1, 2, 3, 4]).await,
                Behaviour::AlertAlways => stream.write_all(&[21, 3, 3, 0, 2, 2, 40]).await,
                Behaviour::Silence => {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    Ok(())
                }
                Behaviour::EndlessBytes => {
                    let garbage = vec![22u8; 16 * 1024];
                    for _ in 0..4096 {
                        if stream.write_all(&garbage).await.is_err() {
                            break;
                        }
                    }
                    Ok(())
                }
            };
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_are_inconclusive_bounded_never_a_panic() {
    let behaviours = [
        Behaviour::Truncated,
        Behaviour::AbsurdLength,
        Behaviour::HugeCertificate,
        Behaviour::WrongRecordType,
        Behaviour::AlertAlways,
        Behaviour::Silence,
        Behaviour::EndlessBytes,
        Behaviour::NothingListening,
        Behaviour::ResetOnAccept,
        Behaviour::SilentOnAccept,
        Behaviour::AcceptEveryHello,
        Behaviour::SlowParts,
        Behaviour::ByteASecond,
        Behaviour::Garbage,
    ];
    for (index, behaviour) in behaviours.into_iter().enumerate() {
        let address = format!("127.63.7.{}", index + 1);
        let server = match behaviour {
            Behaviour::NothingListening => None,
            _ => {
                let listener = TcpListener::bind((address.as_str(), 4433)).await.unwrap();
                Some(tokio::spawn(serve(listener, behaviour)))
            }
        };
        let started = Instant::now();
        let directory = tempfile::tempdir().unwrap();
        let results = run_suite(&endpoint_profile(&address, 4433, &[]), directory.path()).await;
        if let Some(server) = server {
            server.abort();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{behaviour:?} took {:?}",
            started.elapsed()
        );
        assert!(!results.is_empty(), "{behaviour:?}: no result");
        // Checks of what the profile does not declare (the device as a TLS client) are
        // not applicable; every other one is inconclusive or failed, never passed.
        for result in results
            .values()
            .filter(|r| r.verdict != Verdict::NotApplicable)
        {
            assert!(
                matches!(result.verdict, Verdict::Inconclusive | Verdict::Fail),
                "{behaviour:?}: {} {} {}",
                result.check,
                result.verdict,
                result.summary
            );
            assert!(!result.summary.trim().is_empty());
            if result.verdict == Verdict::Fail {
                assert!(
                    behaviour.may_fail().contains(&result.check.as_str()),
                    "{behaviour:?}: {} FAIL: {}",
                    result.check,
                    result.summary
                );
            }
        }
    }
}

/// A unit whose only declared TCP interface (not declared as TLS) has nothing listening:
/// whether it speaks TLS is unknown, so the checks are INCONCLUSIVE, not NOT_APPLICABLE
/// ("no port of the unit speaks TLS" was said of a port that never answered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_port_is_inconclusive_not_not_applicable() {
    let directory = tempfile::tempdir().unwrap();
    let profile = endpoint_profile("127.63.7.40", 4433, &[]).replace("tls = true", "tls = false");
    let results = run_suite(&profile, directory.path()).await;
    for check in checks::SERVER_CHECKS {
        let result = &results[&(check.to_owned(), Some("unit-1".to_owned()))];
        assert_eq!(
            result.verdict,
            Verdict::Inconclusive,
            "{check}: {}",
            result.summary
        );
        assert!(result.summary.contains("4433/tcp"), "{}", result.summary);
    }
}

/// Declared DTLS is a limit of this suite version, not something the profile rules out:
/// INCONCLUSIVE naming it, never NOT_APPLICABLE ("only DTLS interfaces are declared").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_dtls_is_not_covered_not_not_applicable() {
    let directory = tempfile::tempdir().unwrap();
    let profile = endpoint_profile("127.63.7.41", 5684, &[])
        .replace("transport = \"tcp\"", "transport = \"udp\"")
        .replace("service = \"https\"", "service = \"coaps\"");
    let results = run_suite(&profile, directory.path()).await;
    for check in checks::SERVER_CHECKS {
        let result = &results[&(check.to_owned(), Some("unit-1".to_owned()))];
        assert_eq!(
            result.verdict,
            Verdict::Inconclusive,
            "{check}: {}",
            result.summary
        );
        assert!(
            result.summary.contains("5684/udp") && result.summary.contains("not covered"),
            "{}",
            result.summary
        );
    }
}
