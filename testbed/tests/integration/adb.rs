//! The undeclared ADB-like debug service of the insecure device.

use crate::support::{address, authority, bounded, insecure, secure};
use iotcert_suite::profile::Transport;
use iotcert_testbed::adb::{self, A_CNXN, DEVICE_BANNER, HEADER_LENGTH};
use iotcert_testbed::port;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn cnxn_is_answered_without_authentication() {
    bounded(async {
        let device = insecure(address(6, 1)).await;
        let mut stream = TcpStream::connect(authority(device.address(), port::ADB))
            .await
            .unwrap();
        // What `adb connect` sends first.
        let hello = adb::encode_message(A_CNXN, 0x0100_0001, 256 * 1024, b"host::\0");
        stream.write_all(&hello).await.unwrap();
        let mut header = [0u8; HEADER_LENGTH];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        let header = adb::parse_header(&header).expect("a valid ADB header");
        assert_eq!(header.command, A_CNXN, "CNXN straight away, no AUTH");
        let mut banner = vec![0u8; header.data_length as usize];
        stream.read_exact(&mut banner).await.unwrap();
        assert_eq!(banner, DEVICE_BANNER.as_bytes());
        assert_eq!(header.data_check, adb::checksum(&banner));
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn debug_service_listens_but_is_not_declared() {
    bounded(async {
        let device = insecure(address(6, 2)).await;
        let is_adb =
            |port: u16, transport: Transport| port == port::ADB && transport == Transport::Tcp;
        assert!(device
            .listening()
            .iter()
            .any(|service| is_adb(service.port, service.transport) && service.name == "adb"));
        assert!(!device
            .declared_interfaces()
            .iter()
            .any(|interface| is_adb(interface.port, interface.transport)));
        device.shutdown().await;

        let device = secure(address(6, 3)).await;
        assert!(TcpStream::connect((device.address(), port::ADB))
            .await
            .is_err());
        device.shutdown().await;
    })
    .await;
}
