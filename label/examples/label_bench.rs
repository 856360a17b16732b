//! Label verification throughput on one thread, and label size (issue "Trust label").
//!
//! Prints `key value` lines: the size of a level-2 label with a two-certificate chain,
//! verifications per second with a warm [`Verifier`] (one lab's chain validated once,
//! then one signature check per label: a buyer or store checking many labels) and with
//! a cold one (a new verifier per label: full chain validation every time), and, as the
//! ceiling, bare ECDSA P-256 verifications of a PAE of the same size (ring). Each rate
//! is given per wall-clock second and per second of the thread's own CPU time, which
//! stays meaningful on a machine shared with other work.
//! `bench/label-verify.sh` runs it several times and prints the medians.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod common;

use std::time::{Duration, Instant};

use iotcert_label::{issue, FirmwareCheck, SchemePolicy, Verifier};

/// Distinct labels verified round-robin, so no label is verified twice in a row.
const LABELS: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(2.0);
    let sample = common::SamplePki::new()?;
    let policy = SchemePolicy::default_scheme()?;
    let facts = common::sample_facts();
    let labels = (0..LABELS)
        .map(|index| {
            let issued_at = common::ISSUED_AT + time::Duration::minutes(index as i64);
            issue(&policy, 2, &facts, &sample.signer, issued_at).map(|label| label.file)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let roots = sample.root.certificate_pem();
    let at = common::ISSUED_AT + time::Duration::days(30);
    let firmware_sha256 = facts.firmware.sha256.to_string();
    let firmware = Some(FirmwareCheck::Sha256(&firmware_sha256));

    let warm = Verifier::new(roots.as_bytes(), &[], &[])?;
    let warm_rates = rate(seconds, |index| {
        warm.verify(&labels[index % LABELS], at, firmware).is_ok()
    })?;
    let cold_rates = rate(seconds, |index| {
        Verifier::new(roots.as_bytes(), &[], &[])
            .is_ok_and(|cold| cold.verify(&labels[index % LABELS], at, firmware).is_ok())
    })?;
    let ceiling_rates = signature_only_rate(seconds, labels[0].len())?;
    println!("label_bytes {}", labels[0].len());
    println!("chain_certificates {}", sample.signer.chain().len());
    for (name, rates) in [
        ("warm_verifications", warm_rates),
        ("cold_verifications", cold_rates),
        ("ecdsa_p256_verifications", ceiling_rates),
    ] {
        println!("{name}_per_second {:.0}", rates.wall);
        println!("{name}_per_cpu_second {:.0}", rates.cpu);
    }
    Ok(())
}

/// One ECDSA P-256 / SHA-256 verification over a PAE of `length` bytes, repeated.
fn signature_only_rate(seconds: f64, length: usize) -> Result<Rates, Box<dyn std::error::Error>> {
    use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};
    let random = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random)
        .map_err(|_| "key generation")?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &random)
        .map_err(|_| "key")?;
    let body = vec![b'x'; length];
    let signature = key
        .sign(
            &random,
            &iotcert_label::dsse::pae("application/vnd.in-toto+json", &body),
        )
        .map_err(|_| "sign")?;
    let point = key.public_key().as_ref().to_vec();
    Ok(rate(seconds, |_| {
        iotcert_label::dsse::verify_pae(
            &point,
            "application/vnd.in-toto+json",
            &body,
            signature.as_ref(),
        )
    })?)
}

/// Calls per second of wall-clock time and of the thread's CPU time.
struct Rates {
    wall: f64,
    cpu: f64,
}

/// Calls of `verify` per second over about `seconds`; fails if one is rejected.
fn rate(seconds: f64, mut verify: impl FnMut(usize) -> bool) -> Result<Rates, String> {
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let cpu_start = thread_cpu_time();
    let mut count = 0usize;
    while start.elapsed() < budget {
        for _ in 0..64 {
            if !verify(count) {
                return Err(format!("verification {count} failed"));
            }
            count += 1;
        }
    }
    let wall = start.elapsed();
    let cpu = thread_cpu_time().saturating_sub(cpu_start);
    Ok(Rates {
        wall: count as f64 / wall.as_secs_f64(),
        cpu: count as f64 / cpu.max(Duration::from_nanos(1)).as_secs_f64(),
    })
}

/// CPU time this thread has used (POSIX `CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if status != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or_default(),
        u32::try_from(now.tv_nsec).unwrap_or_default(),
    )
}
