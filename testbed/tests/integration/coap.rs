//! coap-client (libcoap) against both devices, and raw datagrams a client would not send.

use crate::support::{address, bounded, insecure, run, secure, text, tool};
use iotcert_testbed::coap::{self, MessageType};
use iotcert_testbed::port;
use std::net::IpAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Runs `coap-client -m METHOD` on a path of the device; returns stdout and stderr.
async fn coap_client(address: IpAddr, method: &str, path: &str, extra: &[&str]) -> String {
    let client = tool(
        &[
            "coap-client",
            "coap-client-notls",
            "coap-client-openssl",
            "coap-client-gnutls",
        ],
        "libcoap3-bin",
    );
    let uri = format!("coap://{address}{path}");
    let mut args = vec!["-m", method, "-B", "10"];
    args.extend_from_slice(extra);
    args.push(&uri);
    let output = run(&client, &args).await;
    let (stdout, stderr) = text(&output);
    format!("{stdout}{stderr}")
}

#[tokio::test]
async fn coap_client_discovers_and_reads_resources() {
    bounded(async {
        let device = insecure(address(5, 1)).await;
        let links = coap_client(device.address(), "get", "/.well-known/core", &[]).await;
        assert!(links.contains("</status>;ct=50"), "{links}");
        let status = coap_client(device.address(), "get", "/status", &[]).await;
        assert!(status.contains("\"status\":\"ok\""), "{status}");
        assert!(
            status.contains("\"firmware_version\":\"1.0.3\""),
            "{status}"
        );
        // Block-wise transfer in 16-byte blocks, and a non-confirmable request.
        let blocks = coap_client(device.address(), "get", "/.well-known/core", &["-b", "16"]).await;
        assert!(
            blocks.contains("</status>;ct=50;title=\"Device status\""),
            "{blocks}"
        );
        let non = coap_client(device.address(), "get", "/status", &["-N"]).await;
        assert!(non.contains("\"status\":\"ok\""), "{non}");
        let missing = coap_client(device.address(), "get", "/nothing", &[]).await;
        assert!(missing.contains("4.04"), "{missing}");
        let post = coap_client(device.address(), "post", "/status", &[]).await;
        assert!(post.contains("4.05"), "{post}");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_status_carries_no_version() {
    bounded(async {
        let device = secure(address(5, 2)).await;
        let status = coap_client(device.address(), "get", "/status", &[]).await;
        assert!(status.contains("\"status\":\"ok\""), "{status}");
        assert!(!status.contains("version"), "{status}");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn ping_and_malformed_confirmables_are_reset() {
    bounded(async {
        let device = insecure(address(5, 3)).await;
        let socket = UdpSocket::bind((device.address(), 0)).await.unwrap();
        socket
            .connect((device.address(), port::COAP))
            .await
            .unwrap();
        let exchange = |datagram: &'static [u8]| {
            let socket = &socket;
            async move {
                socket.send(datagram).await.unwrap();
                let mut reply = [0u8; 1500];
                let count = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut reply))
                    .await
                    .expect("a reply within 5 s")
                    .unwrap();
                coap::parse(&reply[..count]).expect("the device sends valid CoAP")
            }
        };
        // CoAP ping: confirmable empty message.
        let reset = exchange(&[0x40, 0x00, 0x12, 0x34]).await;
        assert_eq!(reset.message_type, MessageType::Reset);
        assert_eq!(reset.message_id, 0x1234);
        // Confirmable GET with an option running past the end.
        let reset = exchange(&[0x40, 0x01, 0x00, 0x07, 0xbf]).await;
        assert_eq!(reset.message_type, MessageType::Reset);
        // Garbage that is not even version 1 is ignored; the device still answers after.
        socket.send(&[0xff; 40]).await.unwrap();
        let ack = exchange(&[
            0x40, 0x01, 0x00, 0x08, 0xb6, b's', b't', b'a', b't', b'u', b's',
        ])
        .await;
        assert_eq!(ack.message_type, MessageType::Acknowledgement);
        assert_eq!(ack.code, coap::code::CONTENT);
        device.shutdown().await;
    })
    .await;
}
