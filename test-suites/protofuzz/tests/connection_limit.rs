//! A healthy device that serves only a few connections at once (as ESP-IDF's httpd
//! does when its sockets are full: an extra connection is closed unanswered) is not
//! taken for a dead one: no new case is sent while a probe asks whether it lives, so
//! the cases in flight settle and free it before the probe's second attempt.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // a panic in a test is a failed test

mod http_head;

use iotcert_suite::{run_alone, Profile, Verdict};
use iotcert_suite_protofuzz::{ProtofuzzSuite, HTTP};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Serves at most `limit` connections at once, each after `work`; closes the others at
/// once. It never crashes. Returns its address and how many connections it turned away.
async fn serve_at_most(
    address: &str,
    limit: usize,
    work: Duration,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((address, 0)).await.unwrap();
    let local = listener.local_addr().unwrap();
    let open = Arc::new(AtomicUsize::new(0));
    let turned_away = Arc::new(AtomicUsize::new(0));
    let away = Arc::clone(&turned_away);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            if open.load(Ordering::SeqCst) >= limit {
                away.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            open.fetch_add(1, Ordering::SeqCst);
            let open = Arc::clone(&open);
            tokio::spawn(async move {
                let request = http_head::read_head(&mut stream, Duration::from_millis(300)).await;
                tokio::time::sleep(work).await;
                let status = if request.starts_with(b"GET / HTTP/1.1\r\n") {
                    "200 OK"
                } else {
                    "400 Bad Request"
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
                drop(stream);
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (local, turned_away)
}

fn profile(server: SocketAddr) -> Profile {
    Profile::from_toml_str(&format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\
         [[units]]\nid = \"unit-1\"\naddress = \"{}\"\n\
         [[interfaces]]\nport = {}\ntransport = \"tcp\"\nservice = \"http\"\n\
         [protofuzz]\ncases_per_protocol = 2000\nrecovery_wait_seconds = 5\n",
        server.ip(),
        server.port()
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_device_full_of_cases_is_not_taken_for_a_dead_one() {
    for run in 1..=3u8 {
        let address = format!("127.91.1.{run}");
        let (server, turned_away) = serve_at_most(&address, 8, Duration::from_millis(2)).await;
        let results = run_alone(
            &ProtofuzzSuite::new(),
            profile(server),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
        let result = results.into_iter().find(|r| r.check == HTTP).unwrap();
        let turned_away = turned_away.load(Ordering::SeqCst);
        eprintln!(
            "run {run}: {}: {}; turned away {turned_away}",
            result.verdict, result.summary
        );
        assert!(
            turned_away > 0,
            "the device was never full, so this proves nothing"
        );
        assert_eq!(
            result.verdict,
            Verdict::Pass,
            "run {run}: {}",
            result.summary
        );
    }
}
