//! What a virtual device is made of: its name, address, firmware version and flaws.
//!
//! Each flaw is one switch so that a test, a demo or a benchmark can build exactly the
//! device it needs, and so that every FAIL a suite reports against the testbed can be
//! traced to the one switch that causes it.

use std::net::IpAddr;

/// The ports of the testbed's services. All are above 1023 so no privilege is needed.
pub mod port {
    /// Telnet management shell (flaw [`super::Flaws::telnet`]).
    pub const TELNET: u16 = 2323;
    /// Admin web interface over cleartext HTTP (flaw [`super::Flaws::cleartext_http_admin`]).
    pub const HTTP_ADMIN: u16 = 8080;
    /// Admin web interface over HTTPS.
    pub const HTTPS_ADMIN: u16 = 8443;
    /// MQTT broker without TLS (flaw [`super::Flaws::cleartext_mqtt`]).
    pub const MQTT: u16 = 1883;
    /// MQTT broker over TLS.
    pub const MQTTS: u16 = 8883;
    /// Firmware update endpoint over cleartext HTTP (flaw [`super::Flaws::cleartext_update`]).
    pub const HTTP_UPDATE: u16 = 8081;
    /// Firmware update endpoint over HTTPS.
    pub const HTTPS_UPDATE: u16 = 8444;
    /// CoAP over UDP, on every device.
    pub const COAP: u16 = 5683;
    /// ADB-like debug service, never declared (flaw [`super::Flaws::debug_service`]).
    pub const ADB: u16 = 5555;
    /// SSH with password login, on every device (host key: [`super::Flaws::shared_host_key`]).
    pub const SSH: u16 = 2222;
    /// Legacy maintenance web over TLS 1.0 (flaw [`super::Flaws::legacy_tls`]).
    pub const LEGACY_HTTPS: u16 = 4433;
}

/// The weaknesses of a device, one switch each. `Flaws::default()` is a device without any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flaws {
    /// Every unit ships with `admin`/`admin` instead of a password of its own, drawn at
    /// random when the unit starts (EN 303 645 5.1-1).
    pub default_credentials: bool,
    /// Failed logins are never counted. Without this flaw, after
    /// [`crate::FAILED_LOGINS_BEFORE_LOCKOUT`] failures in a row on any of telnet, HTTP or
    /// MQTT, every login is refused for [`crate::LOCKOUT_DURATION`] (EN 303 645 5.1-5).
    pub no_login_lockout: bool,
    /// A telnet management shell listens on [`port::TELNET`]: administration in cleartext.
    pub telnet: bool,
    /// The admin web interface is also served over cleartext HTTP on [`port::HTTP_ADMIN`],
    /// next to HTTPS on [`port::HTTPS_ADMIN`].
    pub cleartext_http_admin: bool,
    /// The MQTT broker also listens without TLS on [`port::MQTT`], next to [`port::MQTTS`].
    pub cleartext_mqtt: bool,
    /// The MQTT broker accepts a CONNECT that carries no username. Without this flaw it
    /// answers CONNACK 5 (not authorised).
    pub anonymous_mqtt: bool,
    /// The update endpoint is also served over cleartext HTTP on [`port::HTTP_UPDATE`],
    /// next to HTTPS on [`port::HTTPS_UPDATE`].
    pub cleartext_update: bool,
    /// `POST /update` installs whatever it is sent, signed or not. Without this flaw the
    /// device refuses, with 403, every image it cannot verify.
    pub unsigned_updates: bool,
    /// An image the device refuses (one whose `size=` does not match its payload) crashes
    /// its update agent: `GET /version` answers 500 from then on, until the device restarts.
    pub fragile_update_agent: bool,
    /// Unauthenticated banners carry version numbers: the telnet pre-login banner (BusyBox,
    /// Linux kernel and firmware versions), the HTTP `Server: lighttpd/1.4.45` header and
    /// login page footer, and the CoAP `/status` resource.
    pub version_banners: bool,
    /// An ADB-like debug service listens on [`port::ADB`], answers `CNXN` without any
    /// authentication, and is missing from the declared interfaces.
    pub debug_service: bool,
    /// TLS services present a self-signed certificate rather than one issued by the
    /// device's own CA, so no client can verify it without trusting it blindly.
    pub self_signed_certificate: bool,
    /// Every unit of the model derives its TLS server key from one seed baked into the
    /// firmware, so all units present the same public key. Without this flaw each unit
    /// draws its own key at random when it starts (EN 303 645 5.1-2, TS 103 701 5.5-1-2).
    pub shared_tls_key: bool,
    /// Every unit of the model derives its SSH host key from one seed baked into the
    /// firmware, so all units show the same key. Without this flaw each unit draws its own
    /// at random when it starts (EN 303 645 5.1-1, 5.1-2).
    pub shared_host_key: bool,
    /// Every unit of the model signs its admin web session cookies with one secret baked
    /// into the firmware, so a session opened on one unit is accepted by every other unit.
    /// Without this flaw each unit draws its own signing secret at random (EN 303 645
    /// 5.1-1, 5.1-2).
    pub shared_session_secret: bool,
    /// A legacy maintenance web server on [`port::LEGACY_HTTPS`] (`openssl s_server`): TLS
    /// 1.0 only, a NULL-cipher suite, an expired self-signed RSA-1024 certificate signed with SHA-1.
    pub legacy_tls: bool,
    /// The cloud client ([`DeviceConfig::cloud`]) accepts any server certificate.
    pub cloud_client_accepts_any_certificate: bool,
    /// Planted parser bugs for the protocol-fuzzing suite: a PUBLISH whose topic is longer
    /// than [`crate::mqtt::PLANTED_TOPIC_LIMIT`] bytes crashes the MQTT broker, and a CoAP
    /// option with the reserved delta nibble 15 hangs the CoAP service; each comes back
    /// after [`crate::mqtt::WATCHDOG_RESTART`], as a watchdog would restart it (EN 303 645 5.13-1).
    pub planted_parser_bugs: bool,
}

impl Flaws {
    /// A device without any flaw: what [`DeviceConfig::secure`] uses.
    pub fn none() -> Flaws {
        Flaws::default()
    }

    /// A device with every flaw: what [`DeviceConfig::insecure`] uses.
    pub fn all() -> Flaws {
        Flaws {
            default_credentials: true,
            no_login_lockout: true,
            telnet: true,
            cleartext_http_admin: true,
            cleartext_mqtt: true,
            anonymous_mqtt: true,
            cleartext_update: true,
            unsigned_updates: true,
            fragile_update_agent: true,
            version_banners: true,
            debug_service: true,
            self_signed_certificate: true,
            shared_tls_key: true,
            shared_host_key: true,
            shared_session_secret: true,
            legacy_tls: true,
            cloud_client_accepts_any_certificate: true,
            planted_parser_bugs: true,
        }
    }
}

/// Everything needed to start one virtual device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Name of the unit, used in certificates, pages and reports.
    pub name: String,
    /// The only address the device binds: a loopback address such as `127.77.0.1` or `::1`.
    pub address: IpAddr,
    pub flaws: Flaws,
    /// The firmware version the device reports until an update installs another.
    pub firmware_version: String,
    /// Where the device's TLS client phones home; `None` runs no client.
    pub cloud: Option<crate::CloudClient>,
}

impl DeviceConfig {
    /// Firmware version of a device built with [`DeviceConfig::secure`].
    pub const SECURE_FIRMWARE_VERSION: &'static str = "1.1.0";
    /// Firmware version of a device built with [`DeviceConfig::insecure`].
    pub const INSECURE_FIRMWARE_VERSION: &'static str = "1.0.3";

    /// A device that passes every check of every suite.
    pub fn secure(name: &str, address: IpAddr) -> DeviceConfig {
        DeviceConfig {
            name: name.to_owned(),
            address,
            flaws: Flaws::none(),
            firmware_version: Self::SECURE_FIRMWARE_VERSION.to_owned(),
            cloud: None,
        }
    }

    /// A device that fails every check of every suite, each for a known flaw.
    pub fn insecure(name: &str, address: IpAddr) -> DeviceConfig {
        DeviceConfig {
            name: name.to_owned(),
            address,
            flaws: Flaws::all(),
            firmware_version: Self::INSECURE_FIRMWARE_VERSION.to_owned(),
            cloud: None,
        }
    }
}
