//! The session cookies of a virtual device's admin site: signed with the unit's own
//! secret, or, with [`crate::Flaws::shared_session_secret`], with one secret for the
//! whole model, as if baked into the firmware.
//!
//! Shared state of the device ([`crate::state::DeviceState`]), apart from the admin
//! site's request handling, so the device's state depends on no service.

use crate::accounts::random_hex;
use ring::hmac;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a session cookie stays valid.
const SESSION_LIFETIME: Duration = Duration::from_secs(3600);
/// Longest session cookie value looked at; longer ones are refused unread.
const MAX_SESSION_TOKEN: usize = 256;
/// Random bytes in the nonce of a session cookie.
const SESSION_NONCE_BYTES: usize = 16;
/// The secret every unit of a model with [`crate::Flaws::shared_session_secret`] signs
/// its session cookies with: one secret for the whole model, as if baked into the firmware.
const SHARED_SESSION_SECRET: &[u8] =
    b"iotcert-testbed: AcmeCam firmware 1.0.3 web session signing secret";

/// Signs session cookies for a successful form login, and checks them.
#[derive(Default)]
pub(crate) struct Sessions {
    /// The unit's own signing secret, drawn at its first form login; until then no
    /// cookie can be valid on this unit.
    own_secret: OnceLock<[u8; 32]>,
}

impl Sessions {
    /// The key that signs this unit's cookies: the model's shared secret, or the unit's own
    /// (drawn now if this is the first session).
    fn signing_key(&self, shared: bool) -> Result<hmac::Key, getrandom::Error> {
        if shared {
            return Ok(hmac::Key::new(hmac::HMAC_SHA256, SHARED_SESSION_SECRET));
        }
        let secret = match self.own_secret.get() {
            Some(secret) => secret,
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh)?;
                self.own_secret.get_or_init(|| fresh)
            }
        };
        Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The key that checks cookies, `None` while the unit has signed none.
    fn checking_key(&self, shared: bool) -> Option<hmac::Key> {
        if shared {
            return Some(hmac::Key::new(hmac::HMAC_SHA256, SHARED_SESSION_SECRET));
        }
        self.own_secret
            .get()
            .map(|secret| hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// Opens a session and returns its cookie value.
    pub(crate) fn open(&self, shared: bool) -> Result<String, getrandom::Error> {
        let key = self.signing_key(shared)?;
        let expires = unix_seconds(SystemTime::now() + SESSION_LIFETIME);
        let signed = format!("{expires}.{}", random_hex(SESSION_NONCE_BYTES)?);
        let mac = hmac::sign(&key, signed.as_bytes());
        Ok(format!("{signed}.{}", hex::encode(mac.as_ref())))
    }

    /// Whether `token` is a cookie this unit signed and that has not expired.
    pub(crate) fn is_open(&self, token: &str, shared: bool) -> bool {
        if token.len() > MAX_SESSION_TOKEN {
            return false;
        }
        let Some((signed, mac)) = token.rsplit_once('.') else {
            return false;
        };
        let Some(expires) = signed
            .split_once('.')
            .and_then(|(expires, _)| expires.parse::<u64>().ok())
        else {
            return false;
        };
        let (Some(key), Ok(mac)) = (self.checking_key(shared), hex::decode(mac)) else {
            return false;
        };
        hmac::verify(&key, signed.as_bytes(), &mac).is_ok()
            && expires > unix_seconds(SystemTime::now())
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_checked_by_their_signing_secret() {
        let unit_a = Sessions::default();
        let unit_b = Sessions::default();
        let own = unit_a.open(false).unwrap();
        assert!(unit_a.is_open(&own, false));
        // Unit B has its own secret (or none yet): A's cookie means nothing there.
        assert!(!unit_b.is_open(&own, false));
        unit_b.open(false).unwrap();
        assert!(!unit_b.is_open(&own, false));
        // The firmware's secret is the same on every unit.
        let shared = unit_a.open(true).unwrap();
        assert!(unit_b.is_open(&shared, true));
        assert!(!unit_b.is_open(&shared, false));
        // Tampering with the expiry or the nonce breaks the signature.
        let (expires, rest) = shared.split_once('.').unwrap();
        let later = format!("{}.{rest}", expires.parse::<u64>().unwrap() + 1);
        assert!(!unit_b.is_open(&later, true));
        for garbage in [
            "",
            ".",
            "1.2.3",
            "x.y.zz",
            &"9".repeat(MAX_SESSION_TOKEN + 1),
        ] {
            assert!(!unit_a.is_open(garbage, true), "{garbage}");
        }
    }

    #[test]
    fn expired_session_cookies_are_refused() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, SHARED_SESSION_SECRET);
        let signed = format!("{}.00", unix_seconds(SystemTime::now()) - 1);
        let mac = hex::encode(hmac::sign(&key, signed.as_bytes()).as_ref());
        let expired = format!("{signed}.{mac}");
        assert!(!Sessions::default().is_open(&expired, true));
        let signed = format!("{}.00", unix_seconds(SystemTime::now()) + 60);
        let mac = hex::encode(hmac::sign(&key, signed.as_bytes()).as_ref());
        assert!(Sessions::default().is_open(&format!("{signed}.{mac}"), true));
    }
}
