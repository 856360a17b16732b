//! What every integration test of the testbed needs: devices on their own addresses,
//! real client programs found (or a failure that says what to install), and bounds on
//! time so that no test can hang.

use iotcert_testbed::{start, DeviceConfig, RunningDevice};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

/// Longest a whole test may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest one client program may run.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The loopback address `127.201.group.host`; each test uses its own so tests run in
/// parallel without fighting over ports.
pub fn address(group: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 201, group, host))
}

/// Runs a test body within [`TEST_TIMEOUT`].
pub async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test exceeded its time bound");
}

pub async fn secure(address: IpAddr) -> RunningDevice {
    start(DeviceConfig::secure("unit-1", address))
        .await
        .expect("start the secure device")
}

pub async fn insecure(address: IpAddr) -> RunningDevice {
    start(DeviceConfig::insecure("unit-1", address))
        .await
        .expect("start the insecure device")
}

/// The path of a client program, or a failure saying which Debian package provides it.
pub fn tool(names: &[&str], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for directory in std::env::split_paths(&path) {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "client program {} not found on PATH: install it with `apt-get install -y {package}`",
        names.join(" or ")
    );
}

/// Runs a client program to completion within [`CLIENT_TIMEOUT`], killing it after.
pub async fn run(program: &Path, args: &[&str]) -> Output {
    let child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(CLIENT_TIMEOUT, child).await {
        Ok(output) => output.unwrap_or_else(|error| panic!("cannot run {program:?}: {error}")),
        Err(_) => panic!("{program:?} {args:?} did not finish within {CLIENT_TIMEOUT:?}"),
    }
}

/// Standard output and error of a finished program, as text, for assertions.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes the device's trust anchor to a file a client can be pointed at.
pub fn write_ca(device: &RunningDevice, directory: &Path) -> PathBuf {
    let path = directory.join("ca.pem");
    std::fs::write(&path, device.ca_pem()).expect("write the CA file");
    path
}

/// `host:port` for a URL or a command line (IPv6 in brackets).
pub fn authority(address: IpAddr, port: u16) -> String {
    match address {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}
