//! When a fuzzing PASS means something: the budget the profile asked for was spent,
//! and the service answered a well-formed request before and after. Against small
//! servers of the test's own:
//!
//! - a run the suite deadline cuts after a few hundred of 100,000 cases is
//!   INCONCLUSIVE ("the budget was not spent: N of 100000 cases, cut by the suite
//!   deadline"), with its effort recorded; a run whose own time budget is used up has
//!   spent it and passes, with the proof;
//! - an interface the suite cannot fuzz (inside TLS) is INCONCLUSIVE "not covered by
//!   this suite version", alone or beside a cleartext one, never NOT_APPLICABLE; only a
//!   profile without any interface of the protocol is NOT_APPLICABLE;
//! - a service that never answers a well-formed request (silent, resetting, garbage,
//!   one byte a second, nothing listening) is INCONCLUSIVE, never PASS;
//! - a broker that refuses every CONNECT (so no case after one reaches its parser) is
//!   INCONCLUSIVE, never PASS; so are a UDP echo and a UDP garbage source declared as
//!   CoAP (bytes that start like CoAP are no answer to the probe), and servers that
//!   answer every message as they answer a well-formed one (HTTP 200, MQTT CONNACK),
//!   which no case can show parsed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::{run_alone, CheckResult, Profile, Verdict};
use iotcert_suite_protofuzz::{ProtofuzzSuite, COAP, HTTP, MQTT};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a test server treats each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Reads the request head, answers 200 to a well-formed GET and 400 to anything
    /// else, closes.
    Robust,
    /// Accepts and never says a word.
    Silent,
    /// Resets every connection at once.
    Reset,
    /// Answers every request with bytes of no protocol.
    Garbage,
    /// Answers 200, one byte a second.
    ByteASecond,
    /// Answers 200 to anything at once, without reading it.
    AcceptAnything,
}

async fn serve_one(mut stream: TcpStream, behaviour: Behaviour) {
    if let Behaviour::Reset = behaviour {
        let _ = stream.set_zero_linger();
        return;
    }
    if let Behaviour::Silent = behaviour {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return;
    }
    let answer: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
    if let Behaviour::AcceptAnything = behaviour {
        let _ = stream.write_all(answer).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    }
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while request.len() < 64 * 1024 && !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await;
    match behaviour {
        Behaviour::Robust => {
            // A parser of its own: a well-formed GET gets 200, anything else 400.
            let well_formed =
                request.starts_with(b"GET / HTTP/1.1\r\n") && request.ends_with(b"\r\n\r\n");
            let reply: &[u8] = if well_formed {
                answer
            } else {
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            };
            let _ = stream.write_all(reply).await;
        }
        Behaviour::Garbage => {
            let noise: Vec<u8> = (0u32..300)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8 | 0x80)
                .collect();
            let _ = stream.write_all(&noise).await;
        }
        Behaviour::ByteASecond => {
            for byte in answer {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Behaviour::Silent | Behaviour::Reset | Behaviour::AcceptAnything => {}
    }
    let _ = stream.shutdown().await;
}

/// Serve `behaviour` on `address`, any port, until the test ends.
async fn serve(address: &str, behaviour: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind((address, 0)).await.expect("bind");
    let local = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream, behaviour));
        }
    });
    local
}

/// A one-unit profile at `address` with `interfaces` (TOML tables) and a budget.
fn profile(address: &str, interfaces: &str, cases: u32, seconds: u64) -> Profile {
    let text = format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Lamp\"\nfirmware_version = \"1.0\"\n\
         [[units]]\nid = \"unit-1\"\naddress = \"{address}\"\n{interfaces}\n\
         [pacing]\nmax_connections = 64\nconnections_per_second = 5000\n\
         [protofuzz]\ncases_per_protocol = {cases}\nseconds_per_protocol = {seconds}\n\
         probe_every = 50\nrecovery_wait_seconds = 2\ntimeout_ms = 1000\nparallel_cases = 4\n"
    );
    Profile::from_toml_str(&text).expect("test profile parses")
}

fn http_interface(port: u16, service: &str, tls: bool) -> String {
    format!(
        "[[interfaces]]\nport = {port}\ntransport = \"tcp\"\nservice = \"{service}\"\ntls = {tls}\n"
    )
}

async fn results(profile: Profile, deadline: Duration) -> Vec<CheckResult> {
    let results = run_alone(&ProtofuzzSuite::new(), profile, deadline)
        .await
        .expect("suite runs");
    for result in &results {
        eprintln!(
            "{} {}: {} [proof: {:?}]",
            result.check,
            result.verdict,
            result.summary,
            result.proof.as_ref().map(|p| p.as_str())
        );
    }
    results
}

fn result<'a>(results: &'a [CheckResult], check: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("no result for {check}: {results:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_by_the_suite_deadline_has_not_spent_its_budget() {
    let server = serve("127.65.9.1", Behaviour::Robust).await;
    let profile = profile(
        "127.65.9.1",
        &http_interface(server.port(), "http", false),
        100_000,
        600,
    );
    let found = results(profile, Duration::from_secs(3)).await;
    let http = result(&found, HTTP);
    assert_eq!(http.verdict, Verdict::Inconclusive, "{}", http.summary);
    assert!(
        http.summary.contains("the budget was not spent: ")
            && http
                .summary
                .contains(" of 100000 cases, cut by the suite deadline"),
        "{}",
        http.summary
    );
    let effort = http.effort.as_ref().expect("the effort is recorded");
    assert!(
        effort.cases > 0 && effort.cases < 100_000,
        "effort {effort:?}"
    );
    assert!(http
        .summary
        .contains(&format!("{} cases sent", effort.cases)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_budget_used_up_is_a_budget_spent() {
    let server = serve("127.65.9.2", Behaviour::Robust).await;
    let profile = profile(
        "127.65.9.2",
        &http_interface(server.port(), "http", false),
        100_000,
        2,
    );
    let found = results(profile, Duration::from_secs(60)).await;
    let http = result(&found, HTTP);
    assert_eq!(http.verdict, Verdict::Pass, "{}", http.summary);
    let proof = http.proof.as_ref().expect("a PASS carries its proof");
    assert!(
        proof
            .as_str()
            .contains("the time budget of 2 s was used up after")
            && proof
                .as_str()
                .contains("before the first case and one after the last"),
        "{}",
        proof.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_sent_is_a_budget_spent() {
    let server = serve("127.65.9.3", Behaviour::Robust).await;
    let profile = profile(
        "127.65.9.3",
        &http_interface(server.port(), "http", false),
        120,
        60,
    );
    let found = results(profile, Duration::from_secs(60)).await;
    let http = result(&found, HTTP);
    assert_eq!(http.verdict, Verdict::Pass, "{}", http.summary);
    let proof = http.proof.as_ref().expect("a PASS carries its proof");
    assert!(
        proof
            .as_str()
            .contains("all 120 cases of the budget were sent"),
        "{}",
        proof.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interfaces_inside_tls_are_not_covered_not_not_applicable() {
    let server = serve("127.65.9.4", Behaviour::Robust).await;
    // Only inside TLS: HTTPS and MQTTS.
    let tls_only = format!(
        "{}[[interfaces]]\nport = 8883\ntransport = \"tcp\"\nservice = \"mqtts\"\ntls = true\n",
        http_interface(8443, "https", true)
    );
    let found = results(
        profile("127.65.9.4", &tls_only, 100, 30),
        Duration::from_secs(30),
    )
    .await;
    for (check, interface) in [
        (HTTP, "8443/tcp https (TLS)"),
        (MQTT, "8883/tcp mqtts (TLS)"),
    ] {
        let verdict = result(&found, check);
        assert_eq!(
            verdict.verdict,
            Verdict::Inconclusive,
            "{}",
            verdict.summary
        );
        assert!(
            verdict
                .summary
                .contains(&format!("not covered by this suite version: {interface}")),
            "{}",
            verdict.summary
        );
    }
    // No CoAP interface at all: that, and only that, is not applicable.
    let coap = result(&found, COAP);
    assert_eq!(coap.verdict, Verdict::NotApplicable, "{}", coap.summary);

    // CoAP over TCP (RFC 8323) is a limit of this version too, not of the device.
    let coap_over_tcp = "[[interfaces]]\nport = 5683\ntransport = \"tcp\"\nservice = \"coap\"\n";
    let found = results(
        profile("127.65.9.4", coap_over_tcp, 100, 30),
        Duration::from_secs(30),
    )
    .await;
    let coap = result(&found, COAP);
    assert_eq!(coap.verdict, Verdict::Inconclusive, "{}", coap.summary);
    assert!(
        coap.summary
            .contains("not covered by this suite version: 5683/tcp coap (coap over tcp)"),
        "{}",
        coap.summary
    );

    // A cleartext HTTP interface fuzzed whole beside an HTTPS one is still not a PASS.
    let mixed = format!(
        "{}{}",
        http_interface(server.port(), "http", false),
        http_interface(8443, "https", true)
    );
    let found = results(
        profile("127.65.9.4", &mixed, 100, 30),
        Duration::from_secs(30),
    )
    .await;
    let http = result(&found, HTTP);
    assert_eq!(http.verdict, Verdict::Inconclusive, "{}", http.summary);
    assert!(
        http.summary
            .contains("not covered by this suite version: 8443/tcp https (TLS)"),
        "{}",
        http.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_never_answered_a_well_formed_request_passes_nothing() {
    let address = "127.65.9.5";
    let mut interfaces = String::new();
    let mut names = Vec::new();
    for behaviour in [
        Behaviour::Silent,
        Behaviour::Reset,
        Behaviour::Garbage,
        Behaviour::ByteASecond,
    ] {
        let server = serve(address, behaviour).await;
        interfaces.push_str(&http_interface(server.port(), "http", false));
        names.push(server.port());
    }
    // Nothing listening: a port bound and released at once.
    let absent = TcpListener::bind((address, 0)).await.expect("bind");
    let absent_port = absent.local_addr().expect("address").port();
    drop(absent);
    interfaces.push_str(&http_interface(absent_port, "http", false));
    names.push(absent_port);
    let found = results(
        profile(address, &interfaces, 50, 10),
        Duration::from_secs(120),
    )
    .await;
    let http = result(&found, HTTP);
    assert_eq!(http.verdict, Verdict::Inconclusive, "{}", http.summary);
    assert!(http.proof.is_none());
    for port in names {
        assert!(
            http.summary
                .contains(&format!("INCONCLUSIVE {port}/tcp http: it never answered")),
            "{port}: {}",
            http.summary
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_refuses_every_session_passes_nothing() {
    let listener = TcpListener::bind(("127.65.9.6", 0)).await.expect("bind");
    let broker = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                if let Ok(Ok(read)) =
                    tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await
                {
                    if read > 0 && buffer[0] == 0x10 {
                        // CONNACK, "not authorised", then close: every credential refused.
                        let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x05]).await;
                    }
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    let interface = format!(
        "[[interfaces]]\nport = {}\ntransport = \"tcp\"\nservice = \"mqtt\"\n",
        broker.port()
    );
    let found = results(
        profile("127.65.9.6", &interface, 200, 10),
        Duration::from_secs(60),
    )
    .await;
    let mqtt = result(&found, MQTT);
    assert_eq!(mqtt.verdict, Verdict::Inconclusive, "{}", mqtt.summary);
    assert!(
        mqtt.summary.contains("refused the session") && mqtt.summary.contains("CONNACK code 5"),
        "{}",
        mqtt.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_or_garbage_is_no_coap_service() {
    let address = "127.65.9.7";
    let echo = tokio::net::UdpSocket::bind((address, 0))
        .await
        .expect("bind");
    let echo_port = echo.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut buffer = [0u8; 2048];
        while let Ok((read, from)) = echo.recv_from(&mut buffer).await {
            let _ = echo.send_to(&buffer[..read], from).await;
        }
    });
    let noise = tokio::net::UdpSocket::bind((address, 0))
        .await
        .expect("bind");
    let noise_port = noise.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut buffer = [0u8; 2048];
        let mut state = 7u32;
        while let Ok((_, from)) = noise.recv_from(&mut buffer).await {
            // Random bytes, but always opening like a CoAP version-1 header.
            let reply: Vec<u8> = (0..24)
                .map(|index| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    if index == 0 {
                        0x40 | ((state >> 24) as u8 & 0x3f)
                    } else {
                        (state >> 24) as u8
                    }
                })
                .collect();
            let _ = noise.send_to(&reply, from).await;
        }
    });
    let interfaces = format!(
        "[[interfaces]]\nport = {echo_port}\ntransport = \"udp\"\nservice = \"coap\"\n\
         [[interfaces]]\nport = {noise_port}\ntransport = \"udp\"\nservice = \"coap\"\n"
    );
    let found = results(
        profile(address, &interfaces, 200, 10),
        Duration::from_secs(60),
    )
    .await;
    let coap = result(&found, COAP);
    assert_eq!(coap.verdict, Verdict::Inconclusive, "{}", coap.summary);
    for port in [echo_port, noise_port] {
        assert!(
            coap.summary
                .contains(&format!("INCONCLUSIVE {port}/udp coap: it never answered")),
            "{port}: {}",
            coap.summary
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_answer_everything_alike_pass_nothing() {
    let address = "127.65.9.8";
    let web = serve(address, Behaviour::AcceptAnything).await;
    // A broker that answers every packet with CONNACK "accepted".
    let listener = TcpListener::bind((address, 0)).await.expect("bind");
    let broker = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                while let Ok(Ok(read)) =
                    tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await
                {
                    if read == 0 || stream.write_all(&[0x20, 0x02, 0x00, 0x00]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let interfaces = format!(
        "{}[[interfaces]]\nport = {}\ntransport = \"tcp\"\nservice = \"mqtt\"\n",
        http_interface(web.port(), "http", false),
        broker.port()
    );
    let found = results(
        profile(address, &interfaces, 150, 20),
        Duration::from_secs(90),
    )
    .await;
    for check in [HTTP, MQTT] {
        let verdict = result(&found, check);
        assert_eq!(
            verdict.verdict,
            Verdict::Inconclusive,
            "{}",
            verdict.summary
        );
        assert!(
            verdict
                .summary
                .contains("no malformed case drew an answer other than a well-formed request's"),
            "{check}: {}",
            verdict.summary
        );
    }
}
