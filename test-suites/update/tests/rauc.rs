//! The update suite against Debian's real RAUC: `rauc service` on a private D-Bus system
//! bus with two file-backed raw slots and the `noop` bootloader, bundles made by
//! `rauc bundle`, images sent with `rauc install`. Downgrade protection is what RAUC
//! documents for it: a pre-install handler that compares the bundle's manifest version
//! with the installed one. Every insecure setup is found, the secure one passes. Needs
//! `rauc`, `squashfs-tools`, `dbus` and `openssl` (scripts/test installs them) and root
//! (loop mounts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use common::{make_pki, run, run_suite};
use iotcert_suite::Verdict;
use iotcert_suite_update::checks;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private system bus and a RAUC service on it, stopped when dropped (by their own ids).
struct RaucService {
    bus: Child,
    service: Child,
    address: String,
}

impl Drop for RaucService {
    fn drop(&mut self) {
        let _ = self.service.kill();
        let _ = self.service.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn start_rauc(
    dir: &Path,
    setup: &str,
    keyring: Option<&Path>,
    downgrade_protection: bool,
) -> RaucService {
    let root = dir.join(setup);
    std::fs::create_dir_all(&root).unwrap();
    let socket = root.join("bus");
    let bus_config = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>"#,
        socket.display()
    );
    std::fs::write(root.join("bus.conf"), bus_config).unwrap();
    let bus = Command::new("dbus-daemon")
        .args([
            "--nofork",
            "--config-file",
            root.join("bus.conf").to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("dbus-daemon runs (scripts/test installs dbus)");
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "dbus-daemon did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let address = format!("unix:path={}", socket.display());
    for slot in ["slot0.img", "slot1.img"] {
        std::fs::write(root.join(slot), vec![0u8; 64 * 1024]).unwrap();
    }
    let installed = root.join("installed-version");
    std::fs::write(&installed, "2.0.0\n").unwrap();
    // Records the version of every installed bundle: the device's version query.
    let post = root.join("post-install.sh");
    std::fs::write(
        &post,
        format!(
            "#!/bin/sh\nsed -n 's/^version=//p' \"$RAUC_BUNDLE_MOUNT_POINT/manifest.raucm\" > {}\n",
            installed.display()
        ),
    )
    .unwrap();
    let pre = root.join("pre-install.sh");
    std::fs::write(&pre, format!(
        "#!/bin/sh\nnew=$(sed -n 's/^version=//p' \"$RAUC_BUNDLE_MOUNT_POINT/manifest.raucm\")\nold=$(cat {})\nlowest=$(printf '%s\\n%s\\n' \"$new\" \"$old\" | sort -V | head -n1)\nif [ \"$new\" != \"$old\" ] && [ \"$lowest\" = \"$new\" ]; then echo \"downgrade from $old to $new refused\" >&2; exit 1; fi\n",
        installed.display()
    )).unwrap();
    for script in [&post, &pre] {
        run("chmod", &["+x", script.to_str().unwrap()], dir);
    }
    let pre_install = if downgrade_protection {
        format!("pre-install={}\n", pre.display())
    } else {
        String::new()
    };
    let system = format!(
        "[system]\ncompatible=acme-cam\nbootloader=noop\ndata-directory={root}/data\n\n{keyring}[handlers]\n{pre_install}post-install={post}\n\n[slot.rootfs.0]\ndevice={root}/slot0.img\ntype=raw\nbootname=A\n\n[slot.rootfs.1]\ndevice={root}/slot1.img\ntype=raw\nbootname=B\n",
        root = root.display(),
        keyring = keyring.map(|k| format!("[keyring]\npath={}\n\n", k.display())).unwrap_or_default(),
        post = post.display(),
    );
    std::fs::write(root.join("system.conf"), system).unwrap();
    let service = Command::new("rauc")
        .args([
            "service",
            "--conf",
            root.join("system.conf").to_str().unwrap(),
            "--override-boot-slot=A",
        ])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rauc runs (scripts/test installs it)");
    let rauc = RaucService {
        bus,
        service,
        address,
    };
    let started = Instant::now();
    loop {
        let status = Command::new("rauc")
            .arg("status")
            .env("DBUS_SYSTEM_BUS_ADDRESS", &rauc.address)
            .output()
            .unwrap();
        if status.status.success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "rauc service did not come up: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    rauc
}

fn make_bundle(dir: &Path, name: &str, version: &str) -> PathBuf {
    let content = dir.join(format!("{name}-content"));
    std::fs::create_dir_all(&content).unwrap();
    let payload: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(content.join("rootfs.img"), payload).unwrap();
    std::fs::write(content.join("manifest.raucm"), format!("[update]\ncompatible=acme-cam\nversion={version}\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.img\n")).unwrap();
    let bundle = dir.join(format!("{name}.raucb"));
    run(
        "rauc",
        &[
            "bundle",
            "--cert=acme.pem",
            "--key=acme.key",
            content.to_str().unwrap(),
            bundle.to_str().unwrap(),
        ],
        dir,
    );
    bundle
}

fn profile(setup: &str, dir: &Path, address: &str) -> String {
    let installed = dir.join(setup).join("installed-version");
    format!(
        r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "2.0.0"

[[units]]
id = "rauc"
address = "127.0.0.1"

[update]
format = "rauc"
genuine_image = "genuine.raucb"
genuine_version = "2.0.0"
signer_certificate = "acme-ca.pem"
older_image = "older.raucb"
older_version = "1.0.0"
settle_seconds = 0
untrusted_signers = [{{ key = "dev.key", certificate = "dev.pem", description = "the development key" }}]

[update.trusted_test_signer]
key = "acme.key"
certificate = "acme.pem"
ca_key = "acme-ca.key"
ca_certificate = "acme-ca.pem"

[update.delivery]
kind = "command"
program = "env"
args = ["DBUS_SYSTEM_BUS_ADDRESS={address}", "rauc", "install", "{{image}}"]
timeout_seconds = 60

[update.version_query]
kind = "command"
program = "cat"
args = ["{installed}"]
"#,
        installed = installed.display()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rauc_secure_passes_and_every_insecure_setup_is_found() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    make_pki(dir, "acme");
    make_pki(dir, "dev");
    make_bundle(dir, "genuine", "2.0.0");
    make_bundle(dir, "older", "1.0.0");
    let both = [
        std::fs::read(dir.join("acme-ca.pem")).unwrap(),
        std::fs::read(dir.join("dev-ca.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("acme-and-dev-ca.pem"), both).unwrap();
    let limit = Duration::from_secs(300);

    let secure = {
        let service = start_rauc(dir, "secure", Some(&dir.join("acme-ca.pem")), true);
        run_suite(&profile("secure", dir, &service.address), dir, limit).await
    };
    secure.dump();
    for check in checks::ALL {
        assert_eq!(
            secure.verdict(check, "rauc"),
            Verdict::Pass,
            "secure setup, {check}"
        );
    }

    let extra_key = {
        let service = start_rauc(
            dir,
            "extra-key",
            Some(&dir.join("acme-and-dev-ca.pem")),
            true,
        );
        run_suite(&profile("extra-key", dir, &service.address), dir, limit).await
    };
    extra_key.dump();
    assert_eq!(
        extra_key.verdict(checks::UNTRUSTED_SIGNER, "rauc"),
        Verdict::Fail
    );
    assert_eq!(
        extra_key.verdict(checks::TAMPERED_IMAGE, "rauc"),
        Verdict::Pass
    );

    let no_downgrade = {
        let service = start_rauc(dir, "no-downgrade", Some(&dir.join("acme-ca.pem")), false);
        run_suite(&profile("no-downgrade", dir, &service.address), dir, limit).await
    };
    no_downgrade.dump();
    assert_eq!(
        no_downgrade.verdict(checks::ROLLBACK, "rauc"),
        Verdict::Fail
    );
    assert_eq!(
        no_downgrade.verdict(checks::UNSIGNED_IMAGE, "rauc"),
        Verdict::Pass
    );

    // "No key" cannot make RAUC insecure: without a keyring it installs nothing, so the
    // suite reports a broken mechanism (the genuine image refused), not an open one, and
    // refusals that the genuine image shares prove nothing: no PASS.
    let no_key = {
        let service = start_rauc(dir, "no-key", None, true);
        run_suite(&profile("no-key", dir, &service.address), dir, limit).await
    };
    no_key.dump();
    assert_eq!(no_key.verdict(checks::GENUINE_IMAGE, "rauc"), Verdict::Fail);
    for check in [
        checks::TAMPERED_IMAGE,
        checks::UNSIGNED_IMAGE,
        checks::UNTRUSTED_SIGNER,
        checks::ROLLBACK,
        checks::UNHEALTHY_AFTER_REFUSAL,
    ] {
        assert_eq!(
            no_key.verdict(check, "rauc"),
            Verdict::Inconclusive,
            "no-key setup, {check}"
        );
    }
}
