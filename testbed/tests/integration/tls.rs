//! openssl s_client against every TLS service: verified chains on the secure device, a
//! self-signed certificate on the insecure one.

use crate::support::{address, authority, bounded, insecure, run, secure, text, tool, write_ca};
use iotcert_testbed::port;
use std::net::IpAddr;

/// Runs `openssl s_client` to the end of the handshake; returns everything it printed.
async fn s_client(address: IpAddr, port: u16, extra: &[&str]) -> String {
    let openssl = tool(&["openssl"], "openssl");
    let connect = authority(address, port);
    let mut args = vec!["s_client", "-connect", &connect];
    args.extend_from_slice(extra);
    let output = run(&openssl, &args).await;
    let (stdout, stderr) = text(&output);
    format!("{stdout}\n{stderr}")
}

#[tokio::test]
async fn secure_device_chains_verify_with_its_ca_on_every_tls_port() {
    bounded(async {
        let device = secure(address(3, 1)).await;
        let directory = tempfile::tempdir().unwrap();
        let ca = write_ca(&device, directory.path());
        let ca = ca.to_str().unwrap();
        let ip = device.address().to_string();
        for tls_port in [port::HTTPS_ADMIN, port::MQTTS, port::HTTPS_UPDATE] {
            for version in ["-tls1_2", "-tls1_3"] {
                let output = s_client(
                    device.address(),
                    tls_port,
                    &[
                        "-CAfile",
                        ca,
                        "-verify_ip",
                        &ip,
                        "-verify_return_error",
                        version,
                    ],
                )
                .await;
                assert!(
                    output.contains("Verify return code: 0 (ok)"),
                    "port {tls_port} {version}: {output}"
                );
                let expected = if version == "-tls1_2" {
                    "TLSv1.2"
                } else {
                    "TLSv1.3"
                };
                assert!(
                    output.contains(&format!("New, {expected}, Cipher is")),
                    "port {tls_port} {version}: {output}"
                );
            }
        }
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_device_is_not_trusted_without_its_ca() {
    bounded(async {
        let device = secure(address(3, 2)).await;
        let other = secure(address(3, 3)).await;
        let directory = tempfile::tempdir().unwrap();
        let other_ca = write_ca(&other, directory.path());
        let output = s_client(
            device.address(),
            port::HTTPS_ADMIN,
            &["-CAfile", other_ca.to_str().unwrap()],
        )
        .await;
        assert!(
            !output.contains("Verify return code: 0 (ok)"),
            "another unit's CA must not verify this unit: {output}"
        );
        device.shutdown().await;
        other.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn insecure_device_presents_a_self_signed_certificate() {
    bounded(async {
        let device = insecure(address(3, 4)).await;
        let output = s_client(device.address(), port::HTTPS_ADMIN, &[]).await;
        assert!(
            output.contains("Verify return code: 18 (self-signed certificate)"),
            "{output}"
        );
        device.shutdown().await;
    })
    .await;
}
