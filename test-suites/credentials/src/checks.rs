//! The four checks of the suite: stable ids, titles, modal verbs and the standards
//! each one provides evidence for.

use iotcert_suite::check::standards;
use iotcert_suite::{CheckScope, CheckSpec, Modal};

pub const DEFAULT_CREDENTIAL: &str = "credentials.default-credential";
pub const EMPTY_PASSWORD: &str = "credentials.empty-password";
pub const SHARED_ACROSS_UNITS: &str = "credentials.shared-across-units";
pub const BRUTE_FORCE: &str = "credentials.brute-force-resistance";

/// Every check id, in report order.
pub const ALL: [&str; 4] = [
    DEFAULT_CREDENTIAL,
    EMPTY_PASSWORD,
    SHARED_ACROSS_UNITS,
    BRUTE_FORCE,
];

pub const DEFAULT_REMEDIATION: &str = "Ship every unit with a password of its own (random, printed on the unit or set at first use), never a password common to the model, and refuse to operate until a default is changed.";
pub const EMPTY_REMEDIATION: &str = "Require a password on every login (telnet, SSH, web, MQTT, FTP); disable anonymous MQTT and FTP and SNMPv1/v2c community access.";
pub const SHARED_REMEDIATION: &str = "Generate passwords, SSH host keys and web session secrets on each unit (at manufacture or first boot) from a good random source; never bake them into the firmware image.";
pub const BRUTE_FORCE_REMEDIATION: &str = "Make guessing impracticable: delay each failed login (growing with the failures), lock the account or source for a while after a few failures, or limit the rate of login attempts and connections.";

/// The checks as the engine and reports see them.
pub fn specs() -> Vec<CheckSpec> {
    vec![
        CheckSpec {
            id: DEFAULT_CREDENTIAL.to_owned(),
            title: "No default or well-known credential is accepted".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Tries the credential database (vendor and generic defaults, the Mirai botnet's list) and the profile's declared known defaults against every declared telnet, SSH, HTTP(S), MQTT(S), FTP, RTSP and SNMP interface, paced by the device's pacer, stopping at the first success per account. A login counts only on the protocol's explicit sign of success (a shell that evaluates a command, a 2xx behind a challenge, CONNACK 0, FTP 230, an SNMP response echoing the request). A device that locks logins during the attempt passes, with the number of candidates it let through.".to_owned(),
            remediation: DEFAULT_REMEDIATION.to_owned(),
            positive_control: "On every login interface, the probe told a good login from a bad one (a declared or found credential opened it, or a random wrong password was refused), and every candidate was judged.".to_owned(),
            standards: standards(&["5.1-1"], &["5.1-1-2"], &["2.1.8", "2.1.9"], &["I1"]),
        },
        CheckSpec {
            id: EMPTY_PASSWORD.to_owned(),
            title: "No login is accepted with an empty password or none".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Tries common administrator usernames with an empty password on every declared login interface, an MQTT CONNECT without a username, anonymous FTP, and telnet logins that give a shell without asking a password.".to_owned(),
            remediation: EMPTY_REMEDIATION.to_owned(),
            positive_control: "On every login interface, the probe told a good login from a bad one, and every empty-password attempt was judged refused.".to_owned(),
            standards: standards(&["5.1-1"], &["5.1-1-2"], &["2.1.8"], &["I1"]),
        },
        CheckSpec {
            id: SHARED_ACROSS_UNITS.to_owned(),
            title: "Credentials, SSH host keys and web session secrets are unique per unit".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::AcrossUnits,
            description: "Compares the sample units: a credential accepted by two units (found by guessing, or one unit's declared credential tried on another), one SSH host key on two units, or a web session cookie from one unit accepted by another fails. Needs at least two units in the profile.".to_owned(),
            remediation: SHARED_REMEDIATION.to_owned(),
            positive_control: "At least two units were compared on each secret: a credential that opened one unit was tried on another, host keys were read from both, a session cookie opened its own unit.".to_owned(),
            standards: standards(&["5.1-1", "5.1-2"], &["5.1-2-2"], &["2.1.9"], &["I1"]),
        },
        CheckSpec {
            id: BRUTE_FORCE.to_owned(),
            title: "Guessing passwords is slowed, locked or rate-limited".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Sends N wrong passwords (profile, default 20) to one login interface and measures each answer. Passes when the device delays failures (median at least 250 ms or growing), locks the account (lockout notice, or the right password refused afterwards when it is known), or limits the rate (429, CONNACK busy, refused or dropped connections). Fails when every guess is answered promptly to the end; the timings are the evidence.".to_owned(),
            remediation: BRUTE_FORCE_REMEDIATION.to_owned(),
            positive_control: "Every wrong password was answered and judged, and the slow-down, lock or limit was seen on a reachable service (the right password, where known, opened it before the guessing).".to_owned(),
            standards: standards(&["5.1-5"], &["5.1-5-2"], &["2.1.10"], &["I1"]),
        },
    ]
}
