//! Pure parsers of the bytes devices send back during a login attempt.
//!
//! Everything a device says is untrusted: these functions take byte slices, never
//! index them, never panic, and are the entry points of the `credentials_*` fuzz
//! targets. The probes in [`crate::probe`] do the I/O and ask these modules what the
//! bytes mean.

pub mod ftp;
pub mod http;
pub mod mqtt;
pub mod snmp;
pub mod telnet;
