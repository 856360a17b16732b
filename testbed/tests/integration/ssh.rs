//! The SSH server with real clients (OpenSSH `ssh` driven by `sshpass`, dropbear's
//! `dbclient`): password login and a command, refusals, per-unit or shared host keys, and
//! the lockout shared with the other services.

use crate::support::{address, bounded, insecure, run, secure, text, tool};
use iotcert_testbed::{port, FAILED_LOGINS_BEFORE_LOCKOUT};
use std::net::IpAddr;
use std::process::Output;

/// `ssh` through `sshpass` with `password`, running `command` on the device.
async fn ssh(address: IpAddr, username: &str, password: &str, command: &str) -> Output {
    let sshpass = tool(&["sshpass"], "sshpass");
    tool(&["ssh"], "openssh-client");
    let destination = format!("{username}@{address}");
    let port = port::SSH.to_string();
    run(
        &sshpass,
        &[
            "-p",
            password,
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=10",
            "-p",
            &port,
            &destination,
            command,
        ],
    )
    .await
}

/// The host key fingerprint `ssh-keyscan | ssh-keygen -l` shows for `address`.
async fn scanned_fingerprint(address: IpAddr) -> String {
    let keyscan = tool(&["ssh-keyscan"], "openssh-client");
    let output = run(
        &keyscan,
        &[
            "-T",
            "10",
            "-p",
            &port::SSH.to_string(),
            &address.to_string(),
        ],
    )
    .await;
    let (keys, _) = text(&output);
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = directory.path().join("keys");
    std::fs::write(&file, &keys).expect("write the scanned keys");
    let keygen = tool(&["ssh-keygen"], "openssh-client");
    let listed = run(&keygen, &["-l", "-f", &file.to_string_lossy()]).await;
    let (listing, errors) = text(&listed);
    listing
        .split_whitespace()
        .find(|word| word.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("no fingerprint in {listing:?} {errors:?} (keys {keys:?})"))
        .to_owned()
}

#[tokio::test]
async fn openssh_logs_in_with_the_admin_password_and_runs_a_command() {
    bounded(async {
        let device = insecure(address(9, 1)).await;
        let output = ssh(device.address(), "admin", "admin", "id").await;
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stdout} {stderr}");
        assert_eq!(stdout, "uid=0(root) gid=0(root)\n");
        let refused = ssh(device.address(), "admin", "wrong", "id").await;
        let (stdout, stderr) = text(&refused);
        assert!(!refused.status.success(), "{stdout}");
        assert!(stderr.contains("Permission denied"), "{stderr}");
    })
    .await;
}

#[tokio::test]
async fn dropbear_client_logs_in_to_a_secure_unit() {
    bounded(async {
        let device = secure(address(9, 2)).await;
        let (username, password) = device.admin_credentials();
        let dbclient = tool(&["dbclient"], "dropbear-bin");
        let destination = format!("{username}@{}", device.address());
        let child = tokio::process::Command::new(&dbclient)
            .args([
                "-y",
                "-y",
                "-p",
                &port::SSH.to_string(),
                &destination,
                "uname -a",
            ])
            .env("DROPBEAR_PASSWORD", &password)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(std::time::Duration::from_secs(30), child)
            .await
            .expect("dbclient finishes")
            .expect("dbclient runs");
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stdout} {stderr}");
        assert!(stdout.starts_with("Linux acmecam"), "{stdout}");
    })
    .await;
}

#[tokio::test]
async fn insecure_units_share_one_host_key_and_secure_units_do_not() {
    bounded(async {
        let insecure_units = [insecure(address(9, 3)).await, insecure(address(9, 4)).await];
        let secure_units = [secure(address(9, 5)).await, secure(address(9, 6)).await];
        let mut seen = Vec::new();
        for unit in insecure_units.iter().chain(&secure_units) {
            let scanned = scanned_fingerprint(unit.address()).await;
            assert_eq!(scanned, unit.ssh_host_key_fingerprint());
            seen.push(scanned);
        }
        assert_eq!(seen[0], seen[1], "insecure units share the model's key");
        assert_ne!(seen[2], seen[3], "secure units have keys of their own");
        assert_ne!(seen[0], seen[2]);
    })
    .await;
}

#[tokio::test]
async fn secure_unit_locks_ssh_after_repeated_failures() {
    bounded(async {
        let device = secure(address(9, 7)).await;
        let (username, password) = device.admin_credentials();
        for _ in 0..FAILED_LOGINS_BEFORE_LOCKOUT {
            let output = ssh(device.address(), &username, "wrong-password", "id").await;
            assert!(!output.status.success());
        }
        let locked = ssh(device.address(), &username, &password, "id").await;
        let (stdout, stderr) = text(&locked);
        assert!(!locked.status.success(), "{stdout}");
        assert!(stderr.contains("Too many failed logins"), "{stderr}");
    })
    .await;
}
