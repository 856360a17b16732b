//! The default-credentials suite of iotcert (`credentials`).
//!
//! EN 303 645 5.1-1 forbids universal default passwords, 5.1-2 asks that per-device
//! passwords be unique and not guessable, 5.1-5 that brute force be made impracticable.
//! This crate decides those provisions for the services a profile declares:
//!
//! 1. [`probe`]: one login attempt over telnet, SSH, HTTP (basic, digest, form), MQTT,
//!    FTP, RTSP or SNMP, telling success from failure by each protocol's explicit sign;
//! 2. [`parse`]: the pure parsers of device bytes behind the probes (fuzzed);
//! 3. [`database`]: the credential database (`data/*.tsv`) and the profile's additions;
//! 4. [`guess`]: paced guessing that stops at the first success per account and backs
//!    off when the device refuses connections, through [`window`], which narrows to
//!    the connections the device holds at once;
//! 5. `bruteforce`: the measurement of delay, lockout or rate limiting after N bad attempts;
//! 6. `sessions`: web session cookies of one unit compared by digest with the others'
//!    and replayed on a neighbouring unit, on the targets `interfaces` derives from the
//!    profile's login interfaces; `across` holds the digest and the ring of neighbours
//!    that keep every comparison across units linear in the number of units;
//! 7. `suite`: the four checks and their evidence, each PASS with the proof of its
//!    positive control: on every login interface the unit's declared credential opened
//!    it and a random one was refused before any guessing (a random one that opens it
//!    is itself a finding), every comparison across units was judged, and a brute-force
//!    limit came after wrong passwords the service had judged.
//!
//! The suite's section of the profile, `[credentials]`, is [`CredentialsOptions`].

mod across;
pub mod bruteforce;
mod checks;
pub mod database;
pub mod guess;
mod interfaces;
mod options;
pub mod parse;
pub mod probe;
mod sessions;
mod suite;
pub mod window;

pub use checks::{BRUTE_FORCE, DEFAULT_CREDENTIAL, EMPTY_PASSWORD, SHARED_ACROSS_UNITS};
pub use options::{
    CredentialsOptions, DeclaredCredential, UnitCredential, MAX_BRUTE_FORCE_ATTEMPTS,
    MAX_CREDENTIAL_CANDIDATES,
};
pub use suite::{CredentialsSuite, SUITE_VERSION};
