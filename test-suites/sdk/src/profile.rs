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

use crate::pacer::PacingMode;
use crate::scope::{unmapped, unsendable};
use ipnet::IpNet;
use rules::{device_port, within, Bound, FieldPath, Refusal, CONNECTIONS};
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

/// The bounds of the profile's numbers that every section shares. Every duration and
/// every count a profile holds has one, checked when the profile is loaded, so that no
/// value it accepts overflows where the engine and the suites add it to the clock,
/// multiply it, or allocate by it. Each field's documentation names its bound; a suite's
/// own bounds live with its section.
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
    /// `adaptive` (the default): the two limits above are ceilings, and the pace follows
    /// what the unit answers, backing off at the first sign of distress. `fixed`:
    /// exactly the limits.
    #[serde(default)]
    pub mode: PacingMode,
}

impl Pacing {
    /// Ceilings high enough not to slow a unit that copes: the adaptive pacer, not these,
    /// is what spares a fragile one.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 256;
    pub const DEFAULT_CONNECTIONS_PER_SECOND: u32 = 1_000_000;

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
            mode: PacingMode::default(),
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

const DEADLINE_SECONDS: Bound = Bound {
    min: 1,
    max: limits::MAX_DURATION_SECONDS,
    what: "seconds (7 days at most; zero leaves nothing to test)",
};
/// A program and its arguments, with placeholders: how a suite's section names a
/// command (the TLS client's trigger, an update's delivery trigger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub program: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
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
