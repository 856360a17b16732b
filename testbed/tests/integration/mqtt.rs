//! mosquitto_pub and mosquitto_sub against the broker, and raw MQTT exchanges.

use crate::support::{address, authority, bounded, insecure, run, secure, text, tool, write_ca};
use iotcert_testbed::mqtt::{self, Connect, Packet, Publish, QoS};
use iotcert_testbed::port;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

fn mosquitto_pub() -> PathBuf {
    tool(&["mosquitto_pub"], "mosquitto-clients")
}

fn mosquitto_sub() -> PathBuf {
    tool(&["mosquitto_sub"], "mosquitto-clients")
}

/// Topic the subscriber also listens to, so the test knows when it is subscribed.
const SYNC_TOPIC: &str = "iotcert-test/sync";

/// Subscribes with mosquitto_sub, waits until it receives a message on [`SYNC_TOPIC`]
/// (so the subscription is in place), publishes with mosquitto_pub, and returns the other
/// messages the subscriber printed, as `topic payload` lines.
async fn round_trip(
    host: IpAddr,
    port: u16,
    connection: &[&str],
    filter: &str,
    publications: &[(&str, &str)],
) -> String {
    let host = host.to_string();
    let port = port.to_string();
    let mut subscriber = Command::new(mosquitto_sub())
        .args([
            "-h", &host, "-p", &port, "-t", filter, "-t", SYNC_TOPIC, "-v", "-W", "30",
        ])
        .args(connection)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mosquitto_sub");
    let stdout = subscriber.stdout.take().expect("mosquitto_sub stdout");
    let mut lines = BufReader::new(stdout).lines();
    let publish = |topic: String, message: String| {
        let mut args: Vec<String> = ["-h", &host, "-p", &port, "-t", &topic, "-m", &message]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
        args.extend(
            ["-q", "1"]
                .iter()
                .chain(connection)
                .map(|arg| arg.to_string()),
        );
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = run(&mosquitto_pub(), &args).await;
            assert!(
                output.status.success(),
                "mosquitto_pub: {:?}",
                text(&output)
            );
        }
    };
    let mut synchronised = false;
    for _ in 0..40 {
        publish(SYNC_TOPIC.into(), "ready".into()).await;
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(500), lines.next_line()).await
        {
            let line = line.expect("read mosquitto_sub output");
            assert!(
                line.is_some(),
                "mosquitto_sub ended early: {:?}",
                subscriber.wait().await
            );
            synchronised = true;
            break;
        }
    }
    assert!(
        synchronised,
        "mosquitto_sub never received the sync message"
    );
    for (topic, message) in publications {
        publish(topic.to_string(), message.to_string()).await;
    }
    let mut messages = String::new();
    let mut received = 0;
    while received < publications.len() {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("mosquitto_sub got only {messages:?} in 20 s"))
            .expect("read mosquitto_sub output")
            .unwrap_or_else(|| panic!("mosquitto_sub ended after {messages:?}"));
        // Late copies of the sync message may still arrive.
        if !line.starts_with(SYNC_TOPIC) {
            messages.push_str(&line);
            messages.push('\n');
            received += 1;
        }
    }
    messages
}

#[tokio::test]
async fn insecure_broker_round_trip_with_default_credentials_and_wildcards() {
    bounded(async {
        let device = insecure(address(2, 1)).await;
        let credentials = ["-u", "admin", "-P", "admin"];
        let received = round_trip(
            device.address(),
            port::MQTT,
            &credentials,
            "cam/+/temperature",
            &[("cam/1/temperature", "21.5"), ("cam/2/temperature", "19.0")],
        )
        .await;
        assert_eq!(received, "cam/1/temperature 21.5\ncam/2/temperature 19.0\n");
        // Anonymous clients are let in too (flaw anonymous_mqtt).
        let received = round_trip(device.address(), port::MQTT, &[], "#", &[("a/b", "anon")]).await;
        assert_eq!(received, "a/b anon\n");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn bad_credentials_are_refused_with_connack_4() {
    bounded(async {
        let device = insecure(address(2, 2)).await;
        let host = device.address().to_string();
        let port = port::MQTT.to_string();
        let output = run(
            &mosquitto_pub(),
            &[
                "-h", &host, "-p", &port, "-u", "admin", "-P", "nope", "-t", "x", "-m", "y",
            ],
        )
        .await;
        let (_, stderr) = text(&output);
        assert!(!output.status.success());
        assert!(stderr.contains("bad user name or password"), "{stderr}");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_broker_over_tls_with_per_unit_credentials() {
    bounded(async {
        let device = secure(address(2, 3)).await;
        let directory = tempfile::tempdir().unwrap();
        let ca = write_ca(&device, directory.path());
        let ca = ca.to_str().unwrap();
        let (user, password) = device.admin_credentials();
        let connection = ["--cafile", ca, "-u", &user, "-P", &password];
        let received = round_trip(
            device.address(),
            port::MQTTS,
            &connection,
            "telemetry/#",
            &[("telemetry", "up"), ("telemetry/a/b", "deep")],
        )
        .await;
        assert_eq!(received, "telemetry up\ntelemetry/a/b deep\n");

        let host = device.address().to_string();
        let tls_port = port::MQTTS.to_string();
        let anonymous = run(
            &mosquitto_pub(),
            &[
                "-h", &host, "-p", &tls_port, "--cafile", ca, "-t", "x", "-m", "y",
            ],
        )
        .await;
        let (_, stderr) = text(&anonymous);
        assert!(stderr.contains("not authorised"), "{stderr}");
        let default = run(
            &mosquitto_pub(),
            &[
                "-h", &host, "-p", &tls_port, "--cafile", ca, "-u", "admin", "-P", "admin", "-t",
                "x", "-m", "y",
            ],
        )
        .await;
        let (_, stderr) = text(&default);
        assert!(stderr.contains("bad user name or password"), "{stderr}");

        // No cleartext broker.
        assert!(TcpStream::connect((device.address(), port::MQTT))
            .await
            .is_err());
        device.shutdown().await;
    })
    .await;
}

/// A raw MQTT client: writes packets and reads whole packets back.
struct RawClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawClient {
    async fn connect(
        address: IpAddr,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> RawClient {
        let stream = TcpStream::connect(authority(address, port::MQTT))
            .await
            .expect("connect to the broker");
        let mut client = RawClient {
            stream,
            buffer: Vec::new(),
        };
        client
            .send(&Packet::Connect(Connect {
                protocol_name: mqtt::PROTOCOL_NAME.into(),
                protocol_level: mqtt::PROTOCOL_LEVEL,
                clean_session: true,
                keep_alive: 30,
                client_id: "raw".into(),
                will: None,
                username: username.map(str::to_owned),
                password: password.map(<[u8]>::to_vec),
            }))
            .await;
        client
    }

    async fn send(&mut self, packet: &Packet) {
        self.stream.write_all(&mqtt::encode(packet)).await.unwrap();
    }

    /// The next packet, or `None` when the broker closed the connection.
    async fn receive(&mut self) -> Option<Packet> {
        loop {
            if let Some((packet, used)) =
                mqtt::decode(&self.buffer).expect("broker sends valid MQTT")
            {
                self.buffer.drain(..used);
                return Some(packet);
            }
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("broker answers within 10 s");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(count) => self.buffer.extend_from_slice(&chunk[..count]),
            }
        }
    }
}

#[tokio::test]
async fn raw_session_covers_qos_2_unsubscribe_and_ping() {
    bounded(async {
        let device = insecure(address(2, 4)).await;
        let mut client = RawClient::connect(device.address(), Some("admin"), Some(b"admin")).await;
        assert_eq!(
            client.receive().await,
            Some(Packet::ConnAck {
                session_present: false,
                return_code: 0
            })
        );
        client
            .send(&Packet::Subscribe {
                packet_id: 1,
                filters: vec![
                    ("s/#".into(), QoS::ExactlyOnce),
                    ("bad/#/filter".into(), QoS::AtMostOnce),
                ],
            })
            .await;
        assert_eq!(
            client.receive().await,
            Some(Packet::SubAck {
                packet_id: 1,
                return_codes: vec![1, mqtt::SUBSCRIPTION_FAILURE]
            })
        );
        client
            .send(&Packet::Publish(Publish {
                dup: false,
                qos: QoS::ExactlyOnce,
                retain: false,
                topic: "s/x".into(),
                packet_id: Some(9),
                payload: b"two".to_vec(),
            }))
            .await;
        let mut saw_pubrec = false;
        let mut delivered = None;
        for _ in 0..2 {
            match client.receive().await {
                Some(Packet::PubRec { packet_id: 9 }) => saw_pubrec = true,
                Some(Packet::Publish(publish)) => delivered = Some(publish),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(saw_pubrec);
        let delivered = delivered.expect("own subscription gets the message");
        assert_eq!(delivered.qos, QoS::AtLeastOnce);
        assert_eq!(delivered.payload, b"two");
        client.send(&Packet::PubRel { packet_id: 9 }).await;
        assert_eq!(
            client.receive().await,
            Some(Packet::PubComp { packet_id: 9 })
        );

        client
            .send(&Packet::Unsubscribe {
                packet_id: 2,
                filters: vec!["s/#".into()],
            })
            .await;
        assert_eq!(
            client.receive().await,
            Some(Packet::UnsubAck { packet_id: 2 })
        );
        client
            .send(&Packet::Publish(Publish {
                dup: false,
                qos: QoS::AtMostOnce,
                retain: false,
                topic: "s/x".into(),
                packet_id: None,
                payload: b"unheard".to_vec(),
            }))
            .await;
        client.send(&Packet::PingReq).await;
        assert_eq!(client.receive().await, Some(Packet::PingResp));
        client.send(&Packet::Disconnect).await;
        assert_eq!(client.receive().await, None);
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn protocol_violations_close_the_connection() {
    bounded(async {
        let device = insecure(address(2, 5)).await;
        let cases: [&[u8]; 4] = [
            // A PUBLISH before CONNECT.
            &[0x30, 0x03, 0x00, 0x01, b'a'],
            // A CONNECT announcing 268 MB.
            &[0x10, 0xff, 0xff, 0xff, 0x7f],
            // A remaining length of five bytes.
            &[0x10, 0xff, 0xff, 0xff, 0xff, 0x01],
            // Reserved packet type 15.
            &[0xf0, 0x00],
        ];
        for bytes in cases {
            let mut stream = TcpStream::connect(authority(device.address(), port::MQTT))
                .await
                .unwrap();
            stream.write_all(bytes).await.unwrap();
            let mut reply = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
                .await
                .expect("the broker closes at once");
            assert!(read.is_err() || reply.is_empty(), "{bytes:?} got {reply:?}");
        }
        // A CONNECT with an unsupported protocol level gets CONNACK 1.
        let mut stream = TcpStream::connect(authority(device.address(), port::MQTT))
            .await
            .unwrap();
        let connect = mqtt::encode(&Packet::Connect(Connect {
            protocol_name: "MQTT".into(),
            protocol_level: 5,
            clean_session: true,
            keep_alive: 0,
            client_id: "v5".into(),
            will: None,
            username: None,
            password: None,
        }));
        stream.write_all(&connect).await.unwrap();
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [0x20, 0x02, 0x00, 0x01]);
        device.shutdown().await;
    })
    .await;
}
