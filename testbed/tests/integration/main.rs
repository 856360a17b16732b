//! Integration tests of the testbed: real clients (curl, mosquitto_pub and mosquitto_sub,
//! openssl s_client, ssh with sshpass, dbclient, telnet, coap-client, nmap) and raw protocol exchanges against
//! running devices, each test on its own loopback address and bounded in time.
//!
//! A missing client program fails its test with the Debian package to install; the test
//! entry point (`scripts/`) installs them all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

mod adb;
mod coap;
mod examples;
mod http;
mod lifecycle;
mod mqtt;
mod robustness;
mod ssh;
mod support;
mod telnet;
mod tls;
