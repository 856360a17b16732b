//! curl against the admin interface and the update endpoint, cleartext and HTTPS.

use crate::support::{address, bounded, insecure, run, secure, text, tool, write_ca};
use iotcert_testbed::{port, DeviceConfig, FAILED_LOGINS_BEFORE_LOCKOUT};
use std::path::Path;

fn curl() -> std::path::PathBuf {
    tool(&["curl"], "curl")
}

/// Runs curl with `-s -S` and a time bound; returns (status code, headers and body).
async fn curl_status(args: &[&str]) -> (String, String) {
    let mut all = vec!["-s", "-S", "-i", "--max-time", "20", "-w", "\n%{http_code}"];
    all.extend_from_slice(args);
    let output = run(&curl(), &all).await;
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "curl {args:?} failed: {stderr}");
    let (response, status) = stdout.rsplit_once('\n').unwrap_or_default();
    (status.to_owned(), response.to_owned())
}

#[tokio::test]
async fn insecure_admin_over_cleartext_http_with_default_credentials() {
    bounded(async {
        let device = insecure(address(1, 1)).await;
        let base = format!("http://{}:{}", device.address(), port::HTTP_ADMIN);

        let (status, page) = curl_status(&[&format!("{base}/")]).await;
        assert_eq!(status, "200");
        assert!(page.contains("Server: lighttpd/1.4.45"), "{page}");
        assert!(
            page.contains("<form method=\"post\" action=\"/login\">"),
            "{page}"
        );
        assert!(
            page.contains("<input type=\"password\" name=\"password\""),
            "{page}"
        );

        let admin = format!("{base}/admin");
        let (status, page) = curl_status(&["-u", "admin:admin", &admin]).await;
        assert_eq!(status, "200", "{page}");
        assert!(page.contains("Administration"), "{page}");

        let (status, page) = curl_status(&["-u", "admin:wrong", &admin]).await;
        assert_eq!(status, "401");
        assert!(page.contains("WWW-Authenticate: Basic realm="), "{page}");
        let (status, _) = curl_status(&[&admin]).await;
        assert_eq!(status, "401");

        let login = format!("{base}/login");
        let (status, page) = curl_status(&["-d", "username=admin&password=nope", &login]).await;
        assert_eq!(status, "200");
        assert!(page.contains("Invalid username or password"), "{page}");
        assert!(page.contains("name=\"password\""), "{page}");

        let (status, page) = curl_status(&["-d", "username=admin&password=admin", &login]).await;
        assert_eq!(status, "303", "{page}");
        assert!(page.contains("Location: /admin"), "{page}");
        assert!(page.contains("Set-Cookie: session="), "{page}");

        // A browser's path: the form, the cookie, the redirect to /admin.
        let jar = tempfile::tempdir().unwrap();
        let jar = jar.path().join("cookies");
        let jar = jar.to_str().unwrap();
        let (status, page) = curl_status(&[
            "-L",
            "-c",
            jar,
            "-b",
            jar,
            "-d",
            "username=admin&password=admin",
            &login,
        ])
        .await;
        assert_eq!(status, "200", "{page}");
        assert!(page.contains("Firmware version: 1.0.3"), "{page}");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_admin_only_over_https_verified_with_the_device_ca() {
    bounded(async {
        let device = secure(address(1, 2)).await;
        let directory = tempfile::tempdir().unwrap();
        let ca = write_ca(&device, directory.path());
        let ca = ca.to_str().unwrap();
        let base = format!("https://{}:{}", device.address(), port::HTTPS_ADMIN);
        let (user, password) = device.admin_credentials();
        assert_ne!(password, "admin");

        let (status, page) = curl_status(&["--cacert", ca, &format!("{base}/")]).await;
        assert_eq!(status, "200");
        let server = page
            .lines()
            .find(|line| line.starts_with("Server:"))
            .unwrap_or_default();
        assert_eq!(server.trim(), "Server: device");
        assert!(
            !page.contains("firmware"),
            "no version in the secure login page: {page}"
        );

        let admin = format!("{base}/admin");
        let credentials = format!("{user}:{password}");
        let (status, _) = curl_status(&["--cacert", ca, "-u", &credentials, &admin]).await;
        assert_eq!(status, "200");
        let (status, _) = curl_status(&["--cacert", ca, "-u", "admin:admin", &admin]).await;
        assert_eq!(status, "401");

        // No cleartext admin interface: curl exit code 7, connection refused.
        let output = run(
            &curl(),
            &[
                "-s",
                "--max-time",
                "10",
                &format!("http://{}:{}/", device.address(), port::HTTP_ADMIN),
            ],
        )
        .await;
        assert_eq!(output.status.code(), Some(7), "{:?}", text(&output));
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_device_locks_logins_after_repeated_failures() {
    bounded(async {
        let device = secure(address(1, 3)).await;
        let directory = tempfile::tempdir().unwrap();
        let ca = write_ca(&device, directory.path());
        let ca = ca.to_str().unwrap();
        let admin = format!("https://{}:{}/admin", device.address(), port::HTTPS_ADMIN);
        for _ in 0..FAILED_LOGINS_BEFORE_LOCKOUT {
            let (status, _) = curl_status(&["--cacert", ca, "-u", "admin:guess", &admin]).await;
            assert_eq!(status, "401");
        }
        let (user, password) = device.admin_credentials();
        let credentials = format!("{user}:{password}");
        let (status, page) = curl_status(&["--cacert", ca, "-u", &credentials, &admin]).await;
        assert_eq!(
            status, "429",
            "the right password must be refused while locked"
        );
        assert!(page.contains("Retry-After:"), "{page}");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn insecure_device_never_locks_out() {
    bounded(async {
        let device = insecure(address(1, 4)).await;
        let admin = format!("http://{}:{}/admin", device.address(), port::HTTP_ADMIN);
        for _ in 0..FAILED_LOGINS_BEFORE_LOCKOUT * 2 {
            let (status, _) = curl_status(&["-u", "admin:guess", &admin]).await;
            assert_eq!(status, "401");
        }
        let (status, _) = curl_status(&["-u", "admin:admin", &admin]).await;
        assert_eq!(status, "200");
        device.shutdown().await;
    })
    .await;
}

/// Writes an image in the testbed's format: a `version=` header and a payload.
fn write_image(directory: &Path, version: &str, payload_bytes: usize) -> String {
    let path = directory.join("image.bin");
    let mut image = format!("version={version}\nvendor=acme\n\n").into_bytes();
    image.extend((0..payload_bytes).map(|i| (i % 251) as u8));
    std::fs::write(&path, image).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn insecure_update_endpoint_installs_an_unsigned_image() {
    bounded(async {
        let device = insecure(address(1, 5)).await;
        let base = format!("http://{}:{}", device.address(), port::HTTP_UPDATE);
        let (status, body) = curl_status(&[&format!("{base}/version")]).await;
        assert_eq!(status, "200");
        assert!(
            body.ends_with("{\"firmware_version\":\"1.0.3\"}\n"),
            "{body}"
        );

        let directory = tempfile::tempdir().unwrap();
        // Over a megabyte, so curl sends Expect: 100-continue and the body is streamed.
        let image = write_image(directory.path(), "6.6.6-evil", 3 << 20);
        let upload = format!("@{image}");
        let (status, body) =
            curl_status(&["--data-binary", &upload, &format!("{base}/update")]).await;
        assert_eq!(status, "200", "{body}");
        assert!(body.contains("\"installed\":true"), "{body}");
        assert_eq!(device.firmware_version(), "6.6.6-evil");
        let (_, body) = curl_status(&[&format!("{base}/version")]).await;
        assert!(body.contains("6.6.6-evil"), "{body}");

        // An upload without a version header is refused and changes nothing.
        let junk = directory.path().join("junk.bin");
        std::fs::write(&junk, b"\x7fELF not an image").unwrap();
        let upload = format!("@{}", junk.display());
        let (status, _) = curl_status(&["--data-binary", &upload, &format!("{base}/update")]).await;
        assert_eq!(status, "400");
        assert_eq!(device.firmware_version(), "6.6.6-evil");
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn secure_update_endpoint_refuses_what_it_cannot_verify() {
    bounded(async {
        let device = secure(address(1, 6)).await;
        let directory = tempfile::tempdir().unwrap();
        let ca = write_ca(&device, directory.path());
        let ca = ca.to_str().unwrap();
        let base = format!("https://{}:{}", device.address(), port::HTTPS_UPDATE);
        let image = write_image(directory.path(), "9.9.9", 64 << 10);
        let upload = format!("@{image}");
        let (status, body) = curl_status(&[
            "--cacert",
            ca,
            "--data-binary",
            &upload,
            &format!("{base}/update"),
        ])
        .await;
        assert_eq!(status, "403", "{body}");
        assert!(
            body.contains("signature verification is required"),
            "{body}"
        );
        assert_eq!(
            device.firmware_version(),
            DeviceConfig::SECURE_FIRMWARE_VERSION
        );
        let (_, body) = curl_status(&["--cacert", ca, &format!("{base}/version")]).await;
        assert!(
            body.contains(DeviceConfig::SECURE_FIRMWARE_VERSION),
            "{body}"
        );
        device.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_upload_is_refused_before_it_is_read() {
    bounded(async {
        let device = insecure(address(1, 7)).await;
        let url = format!("http://{}:{}/update", device.address(), port::HTTP_UPDATE);
        // Announce 100 GB; the device must answer 413 without waiting for any of it.
        let (status, body) = curl_status(&[
            "-H",
            "Content-Length: 100000000000",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            "x",
            &url,
        ])
        .await;
        assert_eq!(status, "413", "{body}");
        device.shutdown().await;
    })
    .await;
}
