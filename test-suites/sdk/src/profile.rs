//! The device profile: what the manufacturer declares about the device under test.
//!
//! It plays the part of the ICS/IXIT of TS 103 701: identity, sample units, declared
//! interfaces, pacing and scope, and the options of each suite. Unknown fields are
//! refused, and every error names the line, the column and the field, because a typo in
//! a profile must never silently widen or narrow what gets tested. The place is the
//! offending value's own, taken from the parser's spans. Every number has a bound
//! ([`limits`]) and a unit's address must be one device's, so that nothing a profile
//! says can overflow a deadline later or send to this host, a group or a broadcast.
//!
//! The SDK reads the sections every suite shares: identity, units, interfaces, pacing,
//! scope, campaign and external suites. Every other section belongs to a suite, which
//! declares its type ([`ProfileSection`]) and reads it with [`Profile::section`]; the
//! harness asks each suite to check its sections when the profile is loaded, and refuses
//! a section no suite reads ([`Profile::check_sections`]).

mod place;
pub mod rules;
mod section;

pub use section::{ProfileSection, SectionSpec, Sections};

use crate::scope::{unmapped, unsendable};
use ipnet::IpNet;
use rules::{device_port, within, Bound, FieldPath, Refusal, CONNECTIONS, SECONDS};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest profile accepted, in bytes (1 MiB). A profile is a page of settings; a
/// path that names something huge, or endless such as `/dev/zero`, costs no more.
pub const MAX_PROFILE_BYTES: usize = 1024 * 1024;

/// The bounds of the profile's numbers. Every duration and every count a profile holds
/// has one, checked when the profile is loaded, so that no value it accepts overflows
/// where the engine and the suites add it to the clock, multiply it, or allocate by it.
/// Each field's documentation names its bound.
pub mod limits {
    /// The longest duration any field may ask for, in seconds: 7 days. A suite deadline
    /// or a timeout longer than a week is no test plan, and a week from now is far from
    /// the end of any clock, so deadlines built from it cannot overflow.
    pub const MAX_DURATION_SECONDS: u64 = 7 * 24 * 60 * 60;
    /// [`MAX_DURATION_SECONDS`] in milliseconds, for the fields counted in milliseconds.
    pub const MAX_DURATION_MS: u64 = MAX_DURATION_SECONDS * 1000;
    /// Connections open at once to one unit (`pacing.max_connections`, and
    /// `credentials.concurrency`): 1,048,576. Each holds a file descriptor, and Linux
    /// gives a process at most that many (`fs.nr_open`).
    pub const MAX_CONNECTIONS: u32 = 1 << 20;
    /// Largest exit status (`update.delivery.success_exit_codes`): 255.
    pub const MAX_EXIT_CODE: i32 = 255;
}

/// The sections the SDK reads itself. Every other section of a profile belongs to a
/// suite (see [`ProfileSection`]).
pub const SDK_SECTIONS: [&str; 7] = [
    "device",
    "units",
    "interfaces",
    "pacing",
    "scope",
    "campaign",
    "external_suites",
];

/// A parsed device profile: the sections the SDK reads, validated, and every other
/// section as written, for the suite that owns it ([`Profile::section`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub device: DeviceIdentity,
    /// One or more units of the same model; two let suites prove per-device uniqueness.
    pub units: Vec<SampleUnit>,
    /// Every network interface the manufacturer declares; anything else open is a finding.
    pub interfaces: Vec<Interface>,
    pub pacing: Pacing,
    pub scope: Scope,
    pub campaign: CampaignOptions,
    /// Executables that speak the external-suite protocol (see [`crate::event`]).
    pub external_suites: Vec<ExternalSuite>,
    /// The suites' sections (`[ports]`, `[tls]`...), as written.
    pub sections: Sections,
    /// How the device takes firmware updates; absent when it declares no update mechanism.
    pub update: Option<UpdateOptions>,
}

impl Serialize for Profile {
    /// A table of the SDK's sections and then each suite's section as written: what an
    /// external suite receives (see [`crate::event::ExternalRunRequest`]).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("device", &self.device)?;
        map.serialize_entry("units", &self.units)?;
        map.serialize_entry("interfaces", &self.interfaces)?;
        map.serialize_entry("pacing", &self.pacing)?;
        map.serialize_entry("scope", &self.scope)?;
        map.serialize_entry("campaign", &self.campaign)?;
        map.serialize_entry("external_suites", &self.external_suites)?;
        if let Some(update) = &self.update {
            map.serialize_entry("update", update)?;
        }
        for (name, value) in self.sections.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Profile {
    /// The SDK's sections strictly (unknown fields refused), every other section kept as
    /// written for its suite.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ProfileVisitor)
    }
}

struct ProfileVisitor;

impl<'de> Visitor<'de> for ProfileVisitor {
    type Value = Profile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a device profile: a table of sections")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Profile, A::Error> {
        let mut device = None;
        let mut units = None;
        let mut interfaces = None;
        let mut pacing = None;
        let mut scope = None;
        let mut campaign = None;
        let mut external_suites = None;
        let mut update = None;
        let mut sections = Sections::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "device" => once(&mut device, "device", map.next_value()?)?,
                "units" => once(&mut units, "units", map.next_value()?)?,
                "interfaces" => once(&mut interfaces, "interfaces", map.next_value()?)?,
                "pacing" => once(&mut pacing, "pacing", map.next_value()?)?,
                "scope" => once(&mut scope, "scope", map.next_value()?)?,
                "campaign" => once(&mut campaign, "campaign", map.next_value()?)?,
                "external_suites" => {
                    once(&mut external_suites, "external_suites", map.next_value()?)?
                }
                "update" => once(&mut update, "update", map.next_value()?)?,
                _ => {
                    let value = map.next_value::<toml::Value>()?;
                    if !sections.insert(&key, value) {
                        return Err(de::Error::custom(format!("duplicate section `{key}`")));
                    }
                }
            }
        }
        Ok(Profile {
            device: device.ok_or_else(|| de::Error::missing_field("device"))?,
            units: units.ok_or_else(|| de::Error::missing_field("units"))?,
            interfaces: interfaces.unwrap_or_default(),
            pacing: pacing.unwrap_or_default(),
            scope: scope.unwrap_or_default(),
            campaign: campaign.unwrap_or_default(),
            external_suites: external_suites.unwrap_or_default(),
            sections,
            update,
        })
    }
}

/// Fill `slot` with the value of section `name`, refused when it was filled already.
fn once<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// Who made the device and which firmware it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceIdentity {
    pub manufacturer: String,
    pub model: String,
    #[serde(default)]
    pub hardware_version: Option<String>,
    pub firmware_version: String,
    /// Path of the firmware image, relative to the profile file.
    #[serde(default)]
    pub firmware_image: Option<PathBuf>,
    /// Declared sha256 of the firmware image, lowercase hex.
    #[serde(default)]
    pub firmware_sha256: Option<String>,
}

/// One physical unit of the model on the bench.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleUnit {
    /// Short stable name, used in reports and result keys.
    pub id: String,
    /// One device's address, given to no other unit: never unspecified (`0.0.0.0/8`,
    /// `::`), multicast (`224.0.0.0/4`, `ff00::/8`), the limited broadcast
    /// `255.255.255.255` or the broadcast address of a network of `scope.allow` (see
    /// [`crate::scope::unsendable`]).
    pub address: IpAddr,
    /// The name the unit's certificates should carry, when it has one.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// Transport of a declared interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        })
    }
}

/// How a declared interface authenticates its users.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Authentication {
    #[default]
    None,
    Password,
    Key,
    Certificate,
    Token,
}

/// A network interface the manufacturer declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// Port 1 to 65535; one interface per port and transport.
    pub port: u16,
    pub transport: Transport,
    /// Service name as the manufacturer calls it: `https`, `mqtt`, `coap`, `telnet`...
    pub service: String,
    #[serde(default)]
    pub authentication: Authentication,
    /// Whether the service is wrapped in TLS (or DTLS).
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// How hard the harness may press one device (one sample unit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pacing {
    /// Connections (or outstanding datagrams) open at once, over all suites: 1 to
    /// [`limits::MAX_CONNECTIONS`] (1,048,576).
    #[serde(default = "Pacing::default_max_connections")]
    pub max_connections: NonZeroU32,
    /// New connections (or datagrams) per second, over all suites: 1 to 4,294,967,295
    /// (the type's range). From 1,000,000,000 on, the pacer no longer spaces them at all
    /// (it counts in nanoseconds).
    #[serde(default = "Pacing::default_connections_per_second")]
    pub connections_per_second: NonZeroU32,
}

impl Pacing {
    /// Gentle enough for a fragile embedded TCP stack.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 32;
    pub const DEFAULT_CONNECTIONS_PER_SECOND: u32 = 500;

    fn default_max_connections() -> NonZeroU32 {
        NonZeroU32::new(Self::DEFAULT_MAX_CONNECTIONS).unwrap_or(NonZeroU32::MIN)
    }
    fn default_connections_per_second() -> NonZeroU32 {
        NonZeroU32::new(Self::DEFAULT_CONNECTIONS_PER_SECOND).unwrap_or(NonZeroU32::MIN)
    }
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            max_connections: Self::default_max_connections(),
            connections_per_second: Self::default_connections_per_second(),
        }
    }
}

/// The networks the harness may send to. Default: loopback only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default = "Scope::loopback")]
    pub allow: Vec<IpNet>,
}

impl Scope {
    /// 127.0.0.0/8 and ::1/128.
    pub fn loopback() -> Vec<IpNet> {
        ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|net| net.parse().ok())
            .collect()
    }
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            allow: Self::loopback(),
        }
    }
}

/// Which suites run, and for how long each may.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignOptions {
    /// Run only these suite ids; default every suite.
    #[serde(default)]
    pub suites: Option<Vec<String>>,
    /// Wall-clock budget of each suite; undecided checks then become INCONCLUSIVE.
    /// 1 to [`limits::MAX_DURATION_SECONDS`] (604,800: 7 days).
    #[serde(default = "CampaignOptions::default_deadline")]
    pub suite_deadline_seconds: u64,
}

impl CampaignOptions {
    fn default_deadline() -> u64 {
        900
    }
}

impl Default for CampaignOptions {
    fn default() -> Self {
        CampaignOptions {
            suites: None,
            suite_deadline_seconds: Self::default_deadline(),
        }
    }
}

/// An executable suite speaking the JSON Lines protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSuite {
    /// Program to run, relative to the profile file or on `PATH`.
    pub program: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    /// The profile sections the program reads (`[vendor-x]`), which it checks itself:
    /// the harness refuses a section no suite reads.
    #[serde(default)]
    pub sections: Vec<String>,
}

/// Why a profile was refused: the place in the file, the field, and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    /// 1-based line, when the error has a place in the file.
    pub line: Option<usize>,
    /// 1-based column, when the error has a place in the file.
    pub column: Option<usize>,
    /// Dotted path of the field, such as `interfaces[2].port`.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProfileError {}

impl ProfileError {
    /// An error at byte `offset` of `text` (when known), about `field` (when known).
    pub(crate) fn at(
        text: &str,
        offset: Option<usize>,
        field: Option<String>,
        message: String,
    ) -> Self {
        let (line, column) = match offset {
            Some(offset) => {
                let (line, column) = place::line_and_column(text, offset);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ProfileError {
            line,
            column,
            field,
            message,
        }
    }

    /// An error of the profile as a whole, with no place in it.
    pub(crate) fn whole(message: String) -> Self {
        ProfileError {
            line: None,
            column: None,
            field: None,
            message,
        }
    }

    fn too_large() -> Self {
        ProfileError::whole(format!(
            "profile is larger than {MAX_PROFILE_BYTES} bytes (1 MiB); it was not read further"
        ))
    }
}

impl Profile {
    /// Read, parse and validate the profile file at `path`: its exact text (what a
    /// campaign stores and a label binds) and the profile. At most
    /// [`MAX_PROFILE_BYTES`] are read, so a path naming a huge or endless file costs no
    /// more than that.
    pub fn from_path(path: &Path) -> Result<(String, Profile), ProfileError> {
        let file = File::open(path)
            .map_err(|error| ProfileError::whole(format!("cannot read the profile: {error}")))?;
        let mut bytes = Vec::new();
        file.take(MAX_PROFILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| ProfileError::whole(format!("cannot read the profile: {error}")))?;
        if bytes.len() > MAX_PROFILE_BYTES {
            return Err(ProfileError::too_large());
        }
        let text = String::from_utf8(bytes).map_err(|error| {
            ProfileError::whole(format!(
                "the profile is not UTF-8 text (byte {} is not)",
                error.utf8_error().valid_up_to()
            ))
        })?;
        let profile = Profile::from_toml_str(&text)?;
        Ok((text, profile))
    }

    /// Parse a profile from TOML text of at most [`MAX_PROFILE_BYTES`] and validate the
    /// SDK's sections; the suites' sections are checked by their suites
    /// ([`Profile::check_sections`]).
    pub fn from_toml_str(text: &str) -> Result<Profile, ProfileError> {
        if text.len() > MAX_PROFILE_BYTES {
            return Err(ProfileError::too_large());
        }
        let deserializer = toml::Deserializer::new(text);
        let mut profile: Profile = serde_path_to_error::deserialize(deserializer)
            .map_err(|error| place::deserialize_error(text, error))?;
        profile.sections.read_from(Arc::from(text));
        profile
            .validate()
            .map_err(|refusal| refusal.into_error(text))?;
        Ok(profile)
    }

    /// The sha256 of a profile file's exact bytes, lowercase hex: what a label binds.
    pub fn digest(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    /// Rules serde cannot express: at least one unit, unique unit ids and addresses that
    /// are single devices, unique interfaces, numbers within [`limits`], well-formed paths
    /// and digests. The first broken rule is reported, at its field.
    fn validate(&self) -> Result<(), Refusal> {
        self.validate_units()?;
        self.validate_interfaces()?;
        let pacing = FieldPath::of(&["pacing"]);
        within(
            pacing.key("max_connections"),
            u64::from(self.pacing.max_connections.get()),
            &CONNECTIONS,
        )?;
        within(
            FieldPath::of(&["campaign", "suite_deadline_seconds"]),
            self.campaign.suite_deadline_seconds,
            &DEADLINE_SECONDS,
        )?;
        if let Some(update) = &self.update {
            update.validate(FieldPath::of(&["update"]))?;
        }
        if let Some(digest) = &self.device.firmware_sha256 {
            if digest.len() != 64
                || !digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(Refusal::new(
                    FieldPath::of(&["device", "firmware_sha256"]),
                    "expected 64 lowercase hex digits",
                ));
            }
        }
        Ok(())
    }

    fn validate_units(&self) -> Result<(), Refusal> {
        let units = FieldPath::of(&["units"]);
        if self.units.is_empty() {
            return Err(Refusal::new(units, "at least one sample unit is needed"));
        }
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut addresses: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for (index, unit) in self.units.iter().enumerate() {
            let at = units.index(index);
            if unit.id.is_empty()
                || !unit
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(Refusal::new(
                    at.key("id"),
                    format!(
                        "unit id {:?} must be non-empty ASCII letters, digits, '-', '_' or '.'",
                        unit.id
                    ),
                ));
            }
            if let Some(first) = ids.insert(&unit.id, index) {
                return Err(Refusal::new(
                    at.key("id"),
                    format!(
                        "unit id {:?} appears twice (units[{first}] has it too)",
                        unit.id
                    ),
                ));
            }
            if let Some(why) = unsendable(unit.address, &self.scope.allow) {
                return Err(Refusal::new(
                    at.key("address"),
                    format!(
                        "unit {:?} cannot be at {}: it is {why}, never a device under test",
                        unit.id, unit.address
                    ),
                ));
            }
            if let Some(first) = addresses.insert(unmapped(unit.address), index) {
                return Err(Refusal::new(
                    at.key("address"),
                    format!(
                        "address {} is given to two units (units[{first}] has it too)",
                        unit.address
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_interfaces(&self) -> Result<(), Refusal> {
        let interfaces = FieldPath::of(&["interfaces"]);
        let mut declared: BTreeMap<(u16, Transport), usize> = BTreeMap::new();
        for (index, interface) in self.interfaces.iter().enumerate() {
            let port = interfaces.index(index).key("port");
            device_port(&port, interface.port)?;
            if let Some(first) = declared.insert((interface.port, interface.transport), index) {
                return Err(Refusal::new(
                    port,
                    format!(
                        "interface {}/{} is declared twice: interfaces[{first}] declares it too",
                        interface.transport, interface.port
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The declared interface on this port and transport, if any.
    pub fn interface(&self, port: u16, transport: Transport) -> Option<&Interface> {
        self.interfaces
            .iter()
            .find(|i| i.port == port && i.transport == transport)
    }
}

impl UpdateOptions {
    fn validate(&self, at: FieldPath) -> Result<(), Refusal> {
        within(at.key("settle_seconds"), self.settle_seconds, &SECONDS)?;
        let delivery = at.key("delivery");
        match &self.delivery {
            UpdateDelivery::HttpUpload {
                port,
                timeout_seconds,
                ..
            } => {
                device_port(&delivery.key("port"), *port)?;
                within(delivery.key("timeout_seconds"), *timeout_seconds, &SECONDS)?;
            }
            // The update server's own port: 0 lets the system choose a free one.
            UpdateDelivery::Serve {
                timeout_seconds, ..
            } => within(delivery.key("timeout_seconds"), *timeout_seconds, &SECONDS)?,
            UpdateDelivery::Command {
                success_exit_codes,
                timeout_seconds,
                ..
            } => {
                for (index, code) in success_exit_codes.iter().enumerate() {
                    if !(0..=limits::MAX_EXIT_CODE).contains(code) {
                        return Err(Refusal::new(
                            delivery.key("success_exit_codes").index(index),
                            format!(
                                "{code} is no exit status: a program exits with 0 to {}",
                                limits::MAX_EXIT_CODE
                            ),
                        ));
                    }
                }
                within(delivery.key("timeout_seconds"), *timeout_seconds, &SECONDS)?;
            }
        }
        if let Some(VersionQuery::Http { port, .. }) = &self.version_query {
            device_port(&at.key("version_query").key("port"), *port)?;
        }
        if let Some(UpdateAcceptance::SwupdateWebsocket {
            port: Some(port), ..
        }) = &self.acceptance
        {
            device_port(&at.key("acceptance").key("port"), *port)?;
        }
        Ok(())
    }
}

const DEADLINE_SECONDS: Bound = Bound {
    min: 1,
    max: limits::MAX_DURATION_SECONDS,
    what: "seconds (7 days at most; zero leaves nothing to test)",
};
/// Options of the update-signature suite: the device's update mechanism as declared by
/// the manufacturer, and what the lab may do to exercise it. Paths are relative to the
/// profile file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateOptions {
    /// Format of the update images.
    pub format: UpdateFormat,
    /// The manufacturer's genuine image: every attack is made from it, and it is sent
    /// last and must be accepted.
    pub genuine_image: PathBuf,
    /// Detached signature of the genuine image (format `plain` only).
    #[serde(default)]
    pub genuine_signature: Option<PathBuf>,
    /// The version the genuine image installs, as the version query reports it.
    pub genuine_version: String,
    /// The certificate the device trusts for updates (PEM or DER): the signer itself, or
    /// the CA that issued the signer's certificate.
    pub signer_certificate: PathBuf,
    /// A genuine image of an older version, for the rollback attack.
    #[serde(default)]
    pub older_image: Option<PathBuf>,
    /// Detached signature of the older image (format `plain` only).
    #[serde(default)]
    pub older_signature: Option<PathBuf>,
    /// The version the older image installs.
    #[serde(default)]
    pub older_version: Option<String>,
    /// A test key the device trusts, which the lab is allowed to sign with: it makes the
    /// rollback image (when no older genuine image is given) and, with a CA key, the
    /// certificates that are expired or issued for another purpose.
    #[serde(default)]
    pub trusted_test_signer: Option<TrustedTestSigner>,
    /// Keys the device must not trust (a development key, a revoked or a previous
    /// manufacturer key): the suite signs an attack image with each.
    #[serde(default)]
    pub untrusted_signers: Vec<UntrustedSigner>,
    /// How images reach the device.
    pub delivery: UpdateDelivery,
    /// How the running firmware version is read after each attempt.
    #[serde(default)]
    pub version_query: Option<VersionQuery>,
    /// What tells an installed image from a refused one. Without it: the exit status for
    /// `command` and a `serve` trigger, the version query for `http-upload` and a `serve`
    /// without trigger (an upload's 2xx only says the bytes arrived).
    #[serde(default)]
    pub acceptance: Option<UpdateAcceptance>,
    /// Seconds to wait after an attempt before querying the version (a device may
    /// reboot): at most [`limits::MAX_DURATION_SECONDS`] (7 days).
    #[serde(default = "UpdateOptions::default_settle_seconds")]
    pub settle_seconds: u64,
}

impl UpdateOptions {
    fn default_settle_seconds() -> u64 {
        1
    }
}

/// The signal that says a device installed an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum UpdateAcceptance {
    /// The version query reports the image's version after the attempt (needs
    /// `version_query`; it cannot see an image of the version the unit already runs).
    Version,
    /// The channel's own answer: the exit status of `command` or of the `serve` trigger,
    /// or, for `http-upload`, a 2xx — only for endpoints that answer after installing.
    Channel,
    /// SWUpdate's web server (`swupdate -w`): the `status` messages (SUCCESS, FAILURE) it
    /// sends on its WebSocket while it installs what was uploaded.
    SwupdateWebsocket {
        /// Port of the web server, 1 to 65535; the upload's port when absent.
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        tls: bool,
        #[serde(default = "default_swupdate_websocket_path")]
        path: String,
    },
}

/// The update image formats the suite reads and re-signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateFormat {
    /// SWUpdate: newc cpio, `sw-description` first, its CMS signature `sw-description.sig`.
    Swu,
    /// RAUC bundle: squashfs followed by a detached CMS signature and its size.
    Rauc,
    /// A raw image with a detached ECDSA P-256 or RSA PKCS#1 v1.5 (SHA-256) signature.
    Plain,
}

/// A key the device under test trusts, handed to the lab for re-signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedTestSigner {
    /// PKCS#8 private key (PEM), ECDSA P-256 or RSA.
    pub key: PathBuf,
    /// Its certificate (PEM), trusted by the device directly or through its CA.
    pub certificate: PathBuf,
    /// The trusted CA's PKCS#8 private key (PEM), to issue expired and wrong-purpose certificates.
    #[serde(default)]
    pub ca_key: Option<PathBuf>,
    /// The trusted CA's certificate (PEM).
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
}

/// A key the device must not trust, with its certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntrustedSigner {
    /// PKCS#8 private key (PEM), ECDSA P-256 or RSA.
    pub key: PathBuf,
    /// Its certificate (PEM), shipped inside CMS signatures.
    pub certificate: PathBuf,
    /// What the key is, for the report: "development key", "key revoked in 2024".
    pub description: String,
}

/// How an image reaches the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum UpdateDelivery {
    /// POST the image to the device's update endpoint.
    HttpUpload {
        /// The device's update port, 1 to 65535.
        port: u16,
        #[serde(default)]
        tls: bool,
        /// CA that verifies the device's TLS certificate; without it the certificate is
        /// not verified (the tls suite judges it, not this one).
        #[serde(default)]
        ca_certificate: Option<PathBuf>,
        #[serde(default = "default_update_path")]
        path: String,
        /// `raw` (the image is the body) or `multipart` (form-data).
        #[serde(default)]
        encoding: UploadEncoding,
        /// Form field of the image (multipart).
        #[serde(default = "default_image_field")]
        image_field: String,
        /// Form field of the detached signature (multipart, format `plain`).
        #[serde(default = "default_signature_field")]
        signature_field: String,
        /// Header carrying the detached signature in base64 (raw, format `plain`).
        #[serde(default = "default_signature_header")]
        signature_header: String,
        /// Seconds allowed for the upload and the device's answer: at most
        /// [`limits::MAX_DURATION_SECONDS`] (7 days).
        #[serde(default = "default_update_timeout")]
        timeout_seconds: u64,
    },
    /// iotcert serves the image on a loopback HTTP(S) server and the device pulls it.
    Serve {
        /// Address to bind; must be a loopback address.
        #[serde(default = "default_serve_address")]
        bind: IpAddr,
        /// Port to bind, 0 (the default) to let the system choose a free one.
        #[serde(default)]
        port: u16,
        #[serde(default)]
        tls: bool,
        /// Tells the device to pull: `{url}` is replaced by the image's URL, `{ca}` by
        /// the path of the server's certificate (HTTPS), `{unit}` and `{address}` by the
        /// unit's id and address (required with more than one unit). Without it the suite
        /// waits for the device to poll (one unit only).
        #[serde(default)]
        trigger: Option<CommandSpec>,
        /// Seconds to wait for the device to fetch the image: at most
        /// [`limits::MAX_DURATION_SECONDS`] (7 days).
        #[serde(default = "default_update_timeout")]
        timeout_seconds: u64,
    },
    /// Run a program with the image: `{image}` and `{signature}` in its arguments are
    /// replaced by paths, `{unit}` and `{address}` by the unit's id and address (one of
    /// them is required with more than one unit).
    Command {
        program: PathBuf,
        #[serde(default)]
        args: Vec<String>,
        /// Exit codes that mean "installed", each 0 to [`limits::MAX_EXIT_CODE`] (255).
        #[serde(default = "default_success_codes")]
        success_exit_codes: Vec<i32>,
        /// Seconds the program may run: at most [`limits::MAX_DURATION_SECONDS`] (7 days).
        #[serde(default = "default_update_timeout")]
        timeout_seconds: u64,
    },
}

/// How an upload is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UploadEncoding {
    #[default]
    Raw,
    Multipart,
}

/// A program and its arguments, with placeholders: how a suite's section names a
/// command (the TLS client's trigger, an update's delivery trigger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub program: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
}

/// How the running firmware version is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VersionQuery {
    /// GET a JSON document and read one string field.
    Http {
        /// Port 1 to 65535.
        port: u16,
        #[serde(default)]
        tls: bool,
        #[serde(default)]
        ca_certificate: Option<PathBuf>,
        #[serde(default = "default_version_path")]
        path: String,
        #[serde(default = "default_version_field")]
        json_field: String,
    },
    /// Run a program; its trimmed standard output is the version. `{unit}` and
    /// `{address}` in its arguments are replaced (one is required with more than one unit).
    Command {
        program: PathBuf,
        #[serde(default)]
        args: Vec<String>,
    },
}

fn default_update_path() -> String {
    "/update".to_owned()
}
fn default_version_path() -> String {
    "/version".to_owned()
}
fn default_version_field() -> String {
    "firmware_version".to_owned()
}
fn default_image_field() -> String {
    "image".to_owned()
}
fn default_signature_field() -> String {
    "signature".to_owned()
}
fn default_signature_header() -> String {
    "X-Signature".to_owned()
}
fn default_swupdate_websocket_path() -> String {
    "/ws".to_owned()
}
fn default_update_timeout() -> u64 {
    60
}
fn default_serve_address() -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
}
fn default_success_codes() -> Vec<i32> {
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[device]
manufacturer = "Acme"
model = "Cam"
firmware_version = "1.0"

[[units]]
id = "unit-1"
address = "127.0.0.1"
"#;

    #[test]
    fn minimal_profile_gets_safe_defaults() {
        let profile = Profile::from_toml_str(MINIMAL).unwrap();
        assert_eq!(profile.pacing, Pacing::default());
        assert_eq!(profile.scope, Scope::default());
    }

    #[test]
    fn unknown_field_names_line_column_and_field() {
        let text = format!(
            "{MINIMAL}\n[[interfaces]]\nport = 80\ntransport = \"tcp\"\nservise = \"http\"\n"
        );
        let error = Profile::from_toml_str(&text).unwrap_err();
        assert_eq!(error.line, Some(14), "{error}");
        assert_eq!(error.column, Some(1), "{error}");
        assert!(error.message.contains("servise"), "{error}");
        assert!(
            error
                .field
                .as_deref()
                .unwrap_or("")
                .starts_with("interfaces"),
            "{error}"
        );
    }

    #[test]
    fn wrong_type_names_field() {
        let text = format!("{MINIMAL}\n[[interfaces]]\nport = \"eighty\"\ntransport = \"tcp\"\nservice = \"http\"\n");
        let error = Profile::from_toml_str(&text).unwrap_err();
        assert_eq!(error.line, Some(12), "{error}");
        assert_eq!(
            error.field.as_deref(),
            Some("interfaces[0].port"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_unit_is_refused_with_place() {
        let text = format!("{MINIMAL}\n[[units]]\nid = \"unit-1\"\naddress = \"127.0.0.2\"\n");
        let error = Profile::from_toml_str(&text).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("units[1].id"));
        assert!(error.line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = Profile::from_toml_str(&text);
        }
    }
}
