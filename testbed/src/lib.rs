//! Virtual IoT devices on loopback, each flaw a switch.
//!
//! iotcert needs devices to certify that behave the same on every machine: for the demo,
//! for the tests of every suite, and for benchmarks against peer tools. A device here is a
//! set of real network services (SSH, telnet, an HTTP(S) admin interface, an MQTT broker, an
//! update endpoint, CoAP, and an ADB-like debug port) bound to one loopback address, each
//! speaking its protocol well enough that stock clients (curl, mosquitto_pub, openssl
//! s_client, ssh, telnet, coap-client) work against it.
//!
//! Every weakness is a field of [`Flaws`]: [`DeviceConfig::secure`] switches them all off
//! and passes every check of every suite; [`DeviceConfig::insecure`] switches them all on
//! and fails each check for a known reason.
//!
//! | port | service | secure | insecure | switch |
//! | --- | --- | --- | --- | --- |
//! | 2222/tcp | SSH, password login | declared | declared, one host key for all units | [`Flaws::shared_host_key`] |
//! | 2323/tcp | telnet shell | - | declared | [`Flaws::telnet`] |
//! | 8080/tcp | admin web, HTTP | - | declared | [`Flaws::cleartext_http_admin`] |
//! | 8443/tcp | admin web, HTTPS | declared | declared | |
//! | 1883/tcp | MQTT | - | declared | [`Flaws::cleartext_mqtt`] |
//! | 8883/tcp | MQTT over TLS | declared | declared | |
//! | 8081/tcp | update endpoint, HTTP | - | declared | [`Flaws::cleartext_update`] |
//! | 8444/tcp | update endpoint, HTTPS | declared | declared | |
//! | 5683/udp | CoAP | declared | declared | |
//! | 5555/tcp | ADB-like debug | - | listening, undeclared | [`Flaws::debug_service`] |
//! | 4433/tcp | legacy web, TLS 1.0 (`openssl s_server`) | - | declared | [`Flaws::legacy_tls`] |
//!
//! The other switches change behaviour rather than ports: default credentials, no login
//! lockout, anonymous MQTT, unsigned updates installed, version banners, a self-signed
//! TLS certificate, one TLS key for all units ([`Flaws::shared_tls_key`]), one
//! admin-session signing secret for all units ([`Flaws::shared_session_secret`]), and
//! planted parser bugs in MQTT and CoAP. The port numbers are in [`port`].
//!
//! Beside these, [`fragile::start_fragile`] starts a device whose TCP stack breaks under
//! too many new connections a second, to show what pace a scanner may use, and
//! [`fragile_broker`] an MQTT broker that slows down with its sessions and dies above a
//! number of them, to show how many cases a fuzzer may keep in flight.
//!
//! The devices are hosted inside test and harness processes that fuzz and brute-force
//! them, so every read is bounded in bytes and time, concurrent connections are capped per
//! device, and [`RunningDevice::shutdown`] (or dropping the device) ends every task.
//!
//! ```no_run
//! # async fn demo() -> Result<(), iotcert_testbed::TestbedError> {
//! use iotcert_testbed::{start, DeviceConfig};
//! let device = start(DeviceConfig::insecure("acmecam-1", "127.77.0.1".parse().unwrap())).await?;
//! for service in device.listening() {
//!     println!("{}/{} {}", service.port, service.transport, service.name);
//! }
//! device.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod accounts;
pub mod adb;
mod admin;
mod broker;
mod cloud;
pub mod coap;
mod config;
mod device;
pub mod fragile;
pub mod fragile_broker;
pub mod http;
mod legacy_tls;
mod limits;
pub mod mqtt;
mod sessions;
mod ssh;
mod state;
mod subscriptions;
pub mod telnet;
mod tls;
pub mod update;

pub use accounts::{FAILED_LOGINS_BEFORE_LOCKOUT, LOCKOUT_DURATION};
pub use cloud::CloudClient;
pub use config::{port, DeviceConfig, Flaws};
pub use device::{start, RunningDevice, Service, TestbedError};
pub use limits::MAX_CONNECTIONS_PER_DEVICE;
