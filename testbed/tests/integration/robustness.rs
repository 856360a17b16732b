//! Hostile clients: garbage, floods and silence must not break or exhaust a device.

use crate::support::{address, authority, bounded, insecure};
use iotcert_testbed::{port, MAX_CONNECTIONS_PER_DEVICE};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether the admin interface still answers a plain request.
async fn admin_answers(device: &iotcert_testbed::RunningDevice) -> bool {
    let Ok(mut stream) = TcpStream::connect((device.address(), port::HTTP_ADMIN)).await else {
        return false;
    };
    let request = b"GET / HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    matches!(read, Ok(Ok(_))) && response.starts_with(b"HTTP/1.1 200 OK")
}

#[tokio::test]
async fn garbage_on_every_tcp_service_leaves_the_device_serving() {
    bounded(async {
        let device = insecure(address(8, 1)).await;
        let mut garbage: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        garbage.extend_from_slice(b"\r\n\r\n\xff\xfa\xff");
        for service in device.listening() {
            if service.transport != iotcert_suite::profile::Transport::Tcp {
                continue;
            }
            let mut stream = TcpStream::connect(authority(device.address(), service.port))
                .await
                .unwrap();
            // The device may close before taking it all; that is its right.
            let _ = stream.write_all(&garbage).await;
            let mut sink = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut sink)).await;
        }
        assert!(admin_answers(&device).await);
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_request_head_is_refused() {
    bounded(async {
        let device = insecure(address(8, 2)).await;
        let mut stream = TcpStream::connect((device.address(), port::HTTP_ADMIN))
            .await
            .unwrap();
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        while head.len() < 20_000 {
            head.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let _ = stream.write_all(&head).await;
        let mut response = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
        assert!(
            response.starts_with(b"HTTP/1.1 431"),
            "{}",
            String::from_utf8_lossy(&response)
        );
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn silent_clients_are_disconnected() {
    bounded(async {
        let device = insecure(address(8, 3)).await;
        let address = device.address();
        let silent = [port::HTTP_ADMIN, port::MQTT, port::ADB].map(|port| async move {
            let mut stream = TcpStream::connect((address, port)).await.unwrap();
            let mut sink = Vec::new();
            let closed =
                tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut sink)).await;
            assert!(closed.is_ok(), "port {port} kept a silent client over 20 s");
        });
        futures::future::join_all(silent).await;
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_connection_flood_is_capped_and_the_device_recovers() {
    bounded(async {
        let device = insecure(address(8, 4)).await;
        let flood = MAX_CONNECTIONS_PER_DEVICE + 64;
        let mut streams = Vec::with_capacity(flood);
        for _ in 0..flood {
            streams.push(
                TcpStream::connect((device.address(), port::TELNET))
                    .await
                    .expect("the listener keeps accepting"),
            );
        }
        // A served connection receives the telnet opening; one over the cap is closed.
        let mut served = 0;
        let mut refused = 0;
        for stream in &mut streams {
            let mut first = [0u8; 1];
            match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first)).await {
                Ok(Ok(1)) => served += 1,
                Ok(_) => refused += 1,
                Err(_) => panic!("a flooded connection got neither service nor close"),
            }
        }
        assert_eq!(served, MAX_CONNECTIONS_PER_DEVICE);
        assert_eq!(refused, flood - MAX_CONNECTIONS_PER_DEVICE);
        drop(streams);
        // Slots come back once the flood is gone.
        let mut recovered = false;
        for _ in 0..50 {
            if admin_answers(&device).await {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(recovered, "the device did not recover after the flood");
        device.shutdown().await;
    })
    .await;
}
