//! Starting and stopping devices: what they bind, what they declare, what a scanner sees,
//! and that shutdown leaves nothing behind.

use crate::support::{address, authority, bounded, insecure, run, secure, text, tool, write_ca};
use iotcert_suite::profile::Transport;
use iotcert_testbed::{port, start, DeviceConfig, TestbedError};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

fn tcp_ports(services: impl IntoIterator<Item = (u16, Transport)>) -> BTreeSet<u16> {
    services
        .into_iter()
        .filter(|(_, transport)| *transport == Transport::Tcp)
        .map(|(port, _)| port)
        .collect()
}

#[tokio::test]
async fn declared_interfaces_are_the_listening_services_less_the_hidden_ones() {
    bounded(async {
        let device = insecure(address(7, 1)).await;
        let listening = tcp_ports(device.listening().iter().map(|s| (s.port, s.transport)));
        let declared = tcp_ports(
            device
                .declared_interfaces()
                .iter()
                .map(|i| (i.port, i.transport)),
        );
        assert_eq!(
            listening,
            BTreeSet::from([
                port::MQTT,
                port::SSH,
                port::TELNET,
                port::ADB,
                port::HTTP_ADMIN,
                port::HTTP_UPDATE,
                port::HTTPS_ADMIN,
                port::HTTPS_UPDATE,
                port::MQTTS,
                port::LEGACY_HTTPS
            ])
        );
        assert_eq!(
            listening.difference(&declared).copied().collect::<Vec<_>>(),
            [port::ADB]
        );
        assert!(device
            .declared_interfaces()
            .iter()
            .any(|i| i.port == port::COAP && i.transport == Transport::Udp));
        device.shutdown().await;

        let device = secure(address(7, 2)).await;
        let listening: Vec<_> = device
            .listening()
            .iter()
            .map(|s| (s.port, s.transport, s.tls))
            .collect();
        let declared: Vec<_> = device
            .declared_interfaces()
            .iter()
            .map(|i| (i.port, i.transport, i.tls))
            .collect();
        assert_eq!(listening, declared);
        // Every TCP service is encrypted: TLS, or SSH's own.
        assert!(listening.iter().all(|(port, transport, tls)| *tls
            || *transport == Transport::Udp
            || *port == port::SSH));
        device.shutdown().await;
    })
    .await;
}

/// The open TCP ports nmap finds on an address.
async fn nmap_open_ports(address: IpAddr) -> BTreeSet<u16> {
    let nmap = tool(&["nmap"], "nmap");
    let target = address.to_string();
    let output = run(
        &nmap,
        &[
            "-sT", "-Pn", "-n", "-p", "1-65535", "-T5", "-oG", "-", &target,
        ],
    )
    .await;
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "nmap failed: {stderr}");
    stdout
        .lines()
        .filter_map(|line| line.split_once("Ports: ").map(|(_, ports)| ports))
        .flat_map(|ports| ports.split(", "))
        .filter_map(|entry| {
            let mut fields = entry.split('/');
            let port = fields.next()?.trim().parse().ok()?;
            (fields.next()? == "open").then_some(port)
        })
        .collect()
}

#[tokio::test]
async fn a_reference_scanner_finds_exactly_the_listening_services() {
    bounded(async {
        let device = insecure(address(7, 3)).await;
        // Listeners of the test host on the wildcard address answer on every loopback
        // address: scanning an address without a device tells them apart.
        let host_listeners = nmap_open_ports(address(7, 99)).await;
        let found = nmap_open_ports(device.address()).await;
        let device_ports: BTreeSet<u16> = found.difference(&host_listeners).copied().collect();
        let listening = tcp_ports(device.listening().iter().map(|s| (s.port, s.transport)));
        assert_eq!(device_ports, listening);
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_listeners_and_open_connections() {
    bounded(async {
        let device = insecure(address(7, 4)).await;
        let mut idle = TcpStream::connect((device.address(), port::HTTP_ADMIN))
            .await
            .unwrap();
        let mut telnet = TcpStream::connect((device.address(), port::TELNET))
            .await
            .unwrap();
        let mut opening = [0u8; 9];
        telnet.read_exact(&mut opening).await.unwrap();
        let address = device.address();
        tokio::time::timeout(Duration::from_secs(5), device.shutdown())
            .await
            .expect("shutdown is prompt");
        for port in [port::HTTP_ADMIN, port::TELNET, port::MQTT, port::ADB] {
            assert!(
                TcpStream::connect((address, port)).await.is_err(),
                "port {port} still open"
            );
        }
        for stream in [&mut idle, &mut telnet] {
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest))
                .await
                .expect("connections are closed by shutdown");
            assert!(read.is_err() || !rest.contains(&b'#'));
        }
        // The address is free again at once.
        insecure(address).await.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn dropping_a_device_stops_it() {
    bounded(async {
        let device = secure(address(7, 5)).await;
        let address = device.address();
        drop(device);
        let mut closed = false;
        for _ in 0..50 {
            if TcpStream::connect((address, port::HTTPS_ADMIN))
                .await
                .is_err()
            {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(closed, "listener still open 5 s after drop");
    })
    .await;
}

#[tokio::test]
async fn a_device_binds_only_its_own_address() {
    bounded(async {
        let device = insecure(address(7, 6)).await;
        assert!(TcpStream::connect((address(7, 7), port::HTTP_ADMIN))
            .await
            .is_err());
        let wildcard = start(DeviceConfig::insecure("x", "0.0.0.0".parse().unwrap())).await;
        assert!(matches!(wildcard, Err(TestbedError::NotADeviceAddress(_))));
        // A second device on a taken address fails and names what it could not bind.
        let second = start(DeviceConfig::insecure("y", device.address())).await;
        match second {
            Err(TestbedError::Bind { port, .. }) => assert!(port > 1000),
            other => panic!("expected a bind error, got {other:?}"),
        }
        // The first device still serves.
        assert!(TcpStream::connect((device.address(), port::HTTP_ADMIN))
            .await
            .is_ok());
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_units_have_their_own_password_and_ca() {
    bounded(async {
        let one = secure(address(7, 8)).await;
        let two = secure(address(7, 9)).await;
        assert_ne!(one.admin_credentials().1, two.admin_credentials().1);
        assert_ne!(one.ca_pem(), two.ca_pem());
        assert!(one.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let same = insecure(address(7, 10)).await;
        assert_eq!(same.admin_credentials(), ("admin".into(), "admin".into()));
        one.shutdown().await;
        two.shutdown().await;
        same.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_device_runs_on_ipv6_loopback() {
    bounded(async {
        let device = secure(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
        let directory = tempfile::tempdir().unwrap();
        let ca = write_ca(&device, directory.path());
        let url = format!(
            "https://{}/",
            authority(device.address(), port::HTTPS_ADMIN)
        );
        let curl = tool(&["curl"], "curl");
        let output = run(
            &curl,
            &[
                "-s",
                "-S",
                "--max-time",
                "10",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                ca.to_str().unwrap(),
                &url,
            ],
        )
        .await;
        let (stdout, stderr) = text(&output);
        assert_eq!(stdout, "200", "{stderr}");
        device.shutdown().await;
    })
    .await;
}
