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
            description: "Tries the credential database (vendor and generic defaults, the Mirai botnet's list) and the profile's declared known defaults against every declared telnet, SSH, HTTP(S), MQTT(S), FTP, RTSP and SNMP interface, whatever authentication it is declared with (a key-only claim is tested, not trusted), paced by the device's pacer, stopping at the first success per account (every SNMP community is tried). A login counts only on the protocol's explicit sign of success (a shell that evaluates a command, a 2xx behind a challenge, CONNACK 0, FTP 230, an SNMP response echoing the request). Before guessing, each interface gets its control: the unit's declared credential for it (`[credentials] unit_credentials`) must open it and a random username and password must be refused; a random one that opens it fails the check (it lets anyone in). The verdict covers every interface: one that could not be driven (no answer, garbage, a handshake the probe cannot do) or whose control was not seen makes the check INCONCLUSIVE, naming it. A device that locks logins during the attempt passes, with the number of candidates it let through.".to_owned(),
            remediation: DEFAULT_REMEDIATION.to_owned(),
            positive_control: "On every login interface of the unit, before guessing: the credential declared for it opened it and a random username and password was refused (or, for SSH, the server offers no password method); then every candidate tried was refused, or refused until the device locked logins.".to_owned(),
            standards: standards(&["5.1-1"], &["5.1-1-2"], &["2.1.8", "2.1.9"], &["I1"]),
        },
        CheckSpec {
            id: EMPTY_PASSWORD.to_owned(),
            title: "No login is accepted with an empty password or none".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Tries common administrator usernames with an empty password on every declared login interface (key-only claims included), an MQTT CONNECT without a username, anonymous FTP, an empty SNMP community, and telnet logins that give a shell without asking a password. Judged under the same per-interface control as the default-credential check.".to_owned(),
            remediation: EMPTY_REMEDIATION.to_owned(),
            positive_control: "On every login interface of the unit, before guessing: the credential declared for it opened it and a random username and password was refused (or, for SSH, the server offers no password method); then every empty-password attempt was refused, or refused until the device locked logins.".to_owned(),
            standards: standards(&["5.1-1"], &["5.1-1-2"], &["2.1.8"], &["I1"]),
        },
        CheckSpec {
            id: SHARED_ACROSS_UNITS.to_owned(),
            title: "Credentials, SSH host keys and web session secrets are unique per unit".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::AcrossUnits,
            description: "Compares the sample units, with attempts that grow with the number of units, not with their pairs: two units declared with the same username and password for an interface (SHA-256 digests compared, no login), a login found by guessing that two units accepted (the sets compared), one SSH host key on two units (every SSH interface, key-only ones included), or two units issuing the same web session cookie (digests compared) fail; then each unit's declared credential, each login found on it and each session cookie it issued is tried live on one other unit, its neighbour in profile order (for credentials, the next unit whose own declared credential opened the same interface), which catches a device that takes any password or signs sessions with a secret common to the model, and an acceptance there fails. A comparison that was not judged (a unit that throttled, did not answer, or whose own credential did not open it) makes the check INCONCLUSIVE, naming it. Needs at least two units in the profile.".to_owned(),
            remediation: SHARED_REMEDIATION.to_owned(),
            positive_control: "Every comparison was judged and at least one was made: every declared credential was compared by digest and a credential that opened its own unit was refused by its neighbouring unit, which its own declared credential opened (required wherever units offer a password login; a digest alone proves no refusal), an SSH host key was read from every SSH interface of every unit, a session cookie that opened its own unit was refused by its neighbouring unit.".to_owned(),
            standards: standards(&["5.1-1", "5.1-2"], &["5.1-2-2"], &["2.1.9"], &["I1"]),
        },
        CheckSpec {
            id: BRUTE_FORCE.to_owned(),
            title: "Guessing passwords is slowed, locked or rate-limited".to_owned(),
            modal: Modal::Shall,
            scope: CheckScope::PerUnit,
            description: "Sends N wrong passwords (profile, default 20) to one login interface that judged a random password, and measures each answer; the right password of that very interface (declared for it, or found on it) is tried before and after. Passes when the device delays failures (median at least 250 ms while the right password is answered faster, or a delay that grows), locks the account (the right password, which opened it before, refused afterwards), or limits the rate (429, a lockout notice, a hang-up, refused connections) once it has answered at least 3 wrong passwords as refused. Fails when the guesses are answered promptly to the end; the timings are the evidence.".to_owned(),
            remediation: BRUTE_FORCE_REMEDIATION.to_owned(),
            positive_control: "The measured interface judged logins: at least 3 wrong passwords answered as refused before a limit (in the measurement, or for a lock still in force from the guessing, during it); for a lock, the right password of that interface opened it before the wrong ones; for a uniform delay, the right password was answered under 250 ms; for a growing delay, every wrong password was judged.".to_owned(),
            standards: standards(&["5.1-5"], &["5.1-5-2"], &["2.1.10"], &["I1"]),
        },
    ]
}
