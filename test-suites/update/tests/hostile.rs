//! Hostile images: a compression bomb inside a RAUC squashfs, cpio archives with absurd
//! lengths, CMS garbage. Every reader refuses cleanly (or, for the bomb, never inflates
//! it), without a panic or a large allocation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use iotcert_suite_update::cms;
use iotcert_suite_update::formats::cpio::{self, Archive, Entry, Magic};
use iotcert_suite_update::formats::rauc::Rauc;
use iotcert_suite_update::formats::swu::Swu;
use iotcert_suite_update::keys;
use proptest::prelude::*;
use std::time::{Duration, Instant};

#[test]
fn squashfs_compression_bomb_is_never_inflated() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    // 1 GiB of zeros (sparse on disk) that squashfs compresses to a few kilobytes.
    let file = std::fs::File::create(content.join("zeros.img")).unwrap();
    file.set_len(1 << 30).unwrap();
    common::run(
        "mksquashfs",
        &[
            content.to_str().unwrap(),
            "bomb.squashfs",
            "-noappend",
            "-quiet",
        ],
        dir,
    );
    let squashfs = std::fs::read(dir.join("bomb.squashfs")).unwrap();
    assert!(
        squashfs.len() < 1 << 20,
        "the bomb is small: {} bytes",
        squashfs.len()
    );
    let signer = keys::foreign_signer().unwrap();
    let signature = cms::sign_detached(&signer, &squashfs).unwrap();
    let bundle = Rauc {
        squashfs: squashfs.clone(),
        signature,
    }
    .bytes();
    let started = Instant::now();
    let read = Rauc::read(&bundle).expect("a well-formed bundle is read");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(read.squashfs.len(), squashfs.len());
    assert!(read
        .verify(std::slice::from_ref(&signer.certificate))
        .is_ok());
    // The same squashfs claiming more bytes than precede the signature is refused.
    let mut lying = squashfs;
    lying.splice(40..48, (u64::MAX / 2).to_le_bytes());
    let signature = cms::sign_detached(&signer, &lying).unwrap();
    assert!(Rauc::read(
        &Rauc {
            squashfs: lying,
            signature
        }
        .bytes()
    )
    .is_err());
}

#[test]
fn cpio_with_absurd_lengths_is_refused() {
    let good = cpio::write(&Archive {
        magic: Magic::Newc,
        entries: vec![Entry {
            name: "sw-description".into(),
            mode: 0o100644,
            mtime: 0,
            data: b"software = {};".to_vec(),
        }],
    });
    // filesize (field 6) and namesize (field 11) set to 0xffffffff, one at a time.
    for field in [6usize, 11] {
        let mut bad = good.clone();
        bad.splice(6 + field * 8..6 + (field + 1) * 8, *b"ffffffff");
        assert!(Swu::read(&bad).is_err(), "field {field}");
    }
    let mut not_hex = good.clone();
    not_hex.splice(6 + 6 * 8..6 + 7 * 8, *b"zzzzzzzz");
    assert!(Swu::read(&not_hex).is_err());
    // More entries than the cap.
    let many = Archive {
        magic: Magic::Newc,
        entries: (0..=cpio::MAX_ENTRIES)
            .map(|i| Entry {
                name: format!("f{i}"),
                mode: 0,
                mtime: 0,
                data: Vec::new(),
            })
            .collect(),
    };
    assert!(cpio::read(&cpio::write(&many)).is_err());
    // No trailer, or sw-description not first.
    assert!(Swu::read(good.get(..good.len() / 2).unwrap()).is_err());
    let wrong_first = cpio::write(&Archive {
        magic: Magic::Newc,
        entries: vec![Entry {
            name: "rootfs.img".into(),
            mode: 0,
            mtime: 0,
            data: vec![1],
        }],
    });
    assert!(Swu::read(&wrong_first).is_err());
}

#[test]
fn cms_garbage_is_refused() {
    let mut nested = Vec::new();
    for _ in 0..10_000 {
        nested.extend_from_slice(&[0x30, 0x80]);
    }
    let huge_length = [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06];
    let oversized = vec![0x30u8; cms::MAX_CMS_SIZE + 1];
    for garbage in [
        &b""[..],
        b"not a signature",
        &nested,
        &huge_length,
        &oversized,
    ] {
        assert!(cms::parse(garbage).is_err());
        assert!(cms::verify(garbage, b"content", &[]).is_err());
    }
    // A .swu whose signature is garbage reads, and does not verify.
    let swu = cpio::write(&Archive {
        magic: Magic::NewcCrc,
        entries: vec![
            Entry {
                name: "sw-description".into(),
                mode: 0,
                mtime: 0,
                data: b"software = { version = \"1\"; };".to_vec(),
            },
            Entry {
                name: "sw-description.sig".into(),
                mode: 0,
                mtime: 0,
                data: b"\x30\x03\x02\x01\x01".to_vec(),
            },
        ],
    });
    let image = Swu::read(&swu).unwrap();
    assert!(image.verify(&[]).is_err());
}

proptest! {
    #[test]
    fn readers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(image) = Swu::read(&bytes) {
            let _ = image.verify(&[]);
        }
        if let Ok(bundle) = Rauc::read(&bytes) {
            let _ = bundle.verify(&[]);
        }
        let _ = cms::verify(&bytes, b"x", &[]);
    }
}
