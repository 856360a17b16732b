//! Who may log in to a virtual device, and how the device answers someone guessing.
//!
//! A device has one administrator account, shared by telnet, the web interface and the
//! MQTT broker, as on most consumer devices. The secure device draws a password of its own
//! from the operating system's random number generator when it starts (so two units never
//! share one) and locks every login for a while after repeated failures; the insecure one
//! ships `admin`/`admin` and lets anyone guess for ever.

use crate::config::Flaws;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins in a row, over every service, after which a secure device refuses every
/// login (even a correct one) for [`LOCKOUT_DURATION`].
pub const FAILED_LOGINS_BEFORE_LOCKOUT: u32 = 5;

/// How long a secure device refuses every login once locked.
pub const LOCKOUT_DURATION: Duration = Duration::from_secs(300);

/// The administrator's username on every device.
const ADMIN_USERNAME: &str = "admin";
/// The password every unit of the insecure model ships with.
const DEFAULT_PASSWORD: &str = "admin";
/// Length of a per-unit random password.
const RANDOM_PASSWORD_LENGTH: usize = 20;

/// How a login attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoginOutcome {
    Accepted,
    Refused,
    /// Refused without looking at the credentials: too many failures just before.
    LockedOut,
}

/// Failures counted towards a lockout.
#[derive(Debug, Default)]
struct FailureCount {
    in_a_row: u32,
    locked_until: Option<Instant>,
}

/// The administrator account of one device and its guard against guessing.
#[derive(Debug)]
pub(crate) struct Accounts {
    username: String,
    password: String,
    lockout_enabled: bool,
    failures: Mutex<FailureCount>,
}

impl Accounts {
    /// The account of a new unit: `admin`/`admin` with [`Flaws::default_credentials`],
    /// otherwise `admin` and a fresh random password.
    pub(crate) fn for_new_unit(flaws: &Flaws) -> Result<Accounts, getrandom::Error> {
        let password = if flaws.default_credentials {
            DEFAULT_PASSWORD.to_owned()
        } else {
            random_alphanumeric(RANDOM_PASSWORD_LENGTH)?
        };
        Ok(Accounts {
            username: ADMIN_USERNAME.to_owned(),
            password,
            lockout_enabled: !flaws.no_login_lockout,
            failures: Mutex::new(FailureCount::default()),
        })
    }

    /// Username and password of the administrator.
    pub(crate) fn credentials(&self) -> (String, String) {
        (self.username.clone(), self.password.clone())
    }

    /// Checks one login attempt and counts it towards the lockout.
    pub(crate) fn login(&self, username: &[u8], password: &[u8]) -> LoginOutcome {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = failures.locked_until {
            if now < until {
                return LoginOutcome::LockedOut;
            }
            *failures = FailureCount::default();
        }
        // Both comparisons always run, so the time taken does not tell which one failed.
        let username_matches = constant_time_eq(username, self.username.as_bytes());
        let password_matches = constant_time_eq(password, self.password.as_bytes());
        if username_matches & password_matches {
            *failures = FailureCount::default();
            return LoginOutcome::Accepted;
        }
        if self.lockout_enabled {
            failures.in_a_row = failures.in_a_row.saturating_add(1);
            if failures.in_a_row >= FAILED_LOGINS_BEFORE_LOCKOUT {
                failures.locked_until = Some(now + LOCKOUT_DURATION);
            }
        }
        LoginOutcome::Refused
    }

    /// Seconds until the lockout ends, when the account is locked now.
    pub(crate) fn locked_for(&self) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures
            .locked_until
            .and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }
}

/// Compares two byte strings in a time that depends only on their lengths.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// `length` letters and digits from the operating system's random number generator,
/// uniformly distributed (bytes that would bias the choice are drawn again).
pub(crate) fn random_alphanumeric(length: usize) -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // The largest multiple of the alphabet's size that fits in a byte.
    let unbiased_limit = 256 - 256 % ALPHABET.len();
    let mut text = String::with_capacity(length);
    while text.len() < length {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        for byte in bytes {
            let value = usize::from(byte);
            if value < unbiased_limit && text.len() < length {
                if let Some(&letter) = ALPHABET.get(value % ALPHABET.len()) {
                    text.push(char::from(letter));
                }
            }
        }
    }
    Ok(text)
}

/// `bytes` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(hex::encode(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secure_accounts() -> Accounts {
        Accounts::for_new_unit(&Flaws::none()).unwrap()
    }

    #[test]
    fn secure_units_get_distinct_random_passwords() {
        let (user_a, password_a) = secure_accounts().credentials();
        let (_, password_b) = secure_accounts().credentials();
        assert_eq!(user_a, "admin");
        assert_eq!(password_a.len(), RANDOM_PASSWORD_LENGTH);
        assert!(password_a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(password_a, password_b);
    }

    #[test]
    fn insecure_units_share_admin_admin() {
        let accounts = Accounts::for_new_unit(&Flaws::all()).unwrap();
        assert_eq!(accounts.credentials(), ("admin".into(), "admin".into()));
    }

    #[test]
    fn lockout_after_failures_refuses_even_the_right_password() {
        let accounts = secure_accounts();
        let (user, password) = accounts.credentials();
        for _ in 0..FAILED_LOGINS_BEFORE_LOCKOUT {
            assert_eq!(accounts.login(b"admin", b"guess"), LoginOutcome::Refused);
        }
        assert!(accounts.locked_for().is_some());
        assert_eq!(
            accounts.login(user.as_bytes(), password.as_bytes()),
            LoginOutcome::LockedOut
        );
    }

    #[test]
    fn success_resets_the_failure_count() {
        let accounts = secure_accounts();
        let (user, password) = accounts.credentials();
        for _ in 0..FAILED_LOGINS_BEFORE_LOCKOUT - 1 {
            accounts.login(b"admin", b"guess");
        }
        assert_eq!(
            accounts.login(user.as_bytes(), password.as_bytes()),
            LoginOutcome::Accepted
        );
        accounts.login(b"admin", b"guess");
        assert_eq!(
            accounts.login(user.as_bytes(), password.as_bytes()),
            LoginOutcome::Accepted
        );
    }

    #[test]
    fn without_lockout_guessing_never_locks() {
        let accounts = Accounts::for_new_unit(&Flaws::all()).unwrap();
        for _ in 0..50 {
            assert_eq!(accounts.login(b"admin", b"guess"), LoginOutcome::Refused);
        }
        assert_eq!(accounts.login(b"admin", b"admin"), LoginOutcome::Accepted);
    }
}
