//! The TLS suite of iotcert (`tls`).
//!
//! EN 303 645 5.5-1 asks for best-practice cryptography on every channel, TS 103 701
//! 5.5-1-2 compares the handshake with the declaration and attempts a downgrade. This
//! crate inspects every TLS port of every unit from the outside, with hand-built
//! ClientHellos for the versions and suites rustls will not speak ([`wire`], [`probe`],
//! [`scan`]), captures and judges the certificate chain ([`certificate`]), compares
//! keys across units, and tests the device as a TLS client by presenting it bad
//! certificates ([`client`]). [`suite`] turns what was found into verdicts. The suite's
//! section of the profile, `[tls]`, is [`TlsOptions`].

pub mod certificate;
pub mod checks;
pub mod ciphers;
pub mod client;
mod judge;
mod options;
pub mod probe;
pub mod scan;
mod suite;
pub mod wire;

pub use options::{TlsClientOptions, TlsOptions, MAX_CERTIFICATE_VALIDITY_DAYS};
pub use suite::{TlsSuite, SUITE_VERSION};
