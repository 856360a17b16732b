//! Hostile TLS servers: truncated records, absurd lengths, a 16 MB certificate, wrong
//! record types, alerts at every step, silence and endless bytes. The suite must stay
//! bounded in time, answer INCONCLUSIVE with a reason, and never panic.

mod common;

use common::{endpoint_profile, run_suite};
use iotcert_suite::Verdict;
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
            let mut hello = vec![0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut hello)).await;
            let _ = match behaviour {
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
    ];
    for (index, behaviour) in behaviours.into_iter().enumerate() {
        let address = format!("127.63.7.{}", index + 1);
        let listener = TcpListener::bind((address.as_str(), 4433)).await.unwrap();
        let server = tokio::spawn(serve(listener, behaviour));
        let started = Instant::now();
        let directory = tempfile::tempdir().unwrap();
        let results = run_suite(&endpoint_profile(&address, 4433, &[]), directory.path()).await;
        server.abort();
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
            assert!(!result.summary.is_empty());
            if result.verdict == Verdict::Fail {
                // Only "declared TLS but not TLS" may fail, for garbage that is not TLS.
                assert_eq!(
                    result.check,
                    iotcert_suite_tls::checks::MODERN_PROTOCOL,
                    "{behaviour:?}: {}",
                    result.summary
                );
            }
        }
    }
}
