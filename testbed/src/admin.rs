//! The admin web interface of a virtual device: a login form, and a page behind it.
//!
//! Credential suites log in the way people and scripts do: through an HTML form (`GET /`
//! shows it, `POST /login` checks it, sets a session cookie and redirects to `/admin`),
//! or with HTTP Basic authentication on `/admin`. Both go through the device's accounts,
//! so failures count towards its lockout. A failed form login answers 200 with the form
//! and an error message, like most devices; a locked account answers the form with a
//! lockout message, or 429 with `Retry-After` to Basic authentication.
//!
//! Like most devices that keep no session table, the session cookie is signed rather than
//! stored: `EXPIRY.NONCE.MAC`, an HMAC-SHA256 under a signing secret. The secure unit draws
//! that secret at random; with [`crate::Flaws::shared_session_secret`] it is one secret baked
//! into the firmware, so a cookie from one unit opens a session on every unit of the model.

use crate::accounts::{random_hex, LoginOutcome};
use crate::device::DeviceState;
use crate::http::{HttpConnection, RequestHead, Response};
use base64::Engine;
use ring::hmac;
use std::io;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest login form body accepted.
const MAX_FORM_SIZE: u64 = 8 * 1024;
/// How long a session cookie stays valid.
const SESSION_LIFETIME: Duration = Duration::from_secs(3600);
/// Name of the session cookie.
const SESSION_COOKIE: &str = "session";
/// Longest session cookie value looked at; longer ones are refused unread.
const MAX_SESSION_TOKEN: usize = 256;
/// Random bytes in the nonce of a session cookie.
const SESSION_NONCE_BYTES: usize = 16;
/// Realm of the Basic authentication challenge.
const REALM: &str = "device administration";
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
    fn open(&self, shared: bool) -> Result<String, getrandom::Error> {
        let key = self.signing_key(shared)?;
        let expires = unix_seconds(SystemTime::now() + SESSION_LIFETIME);
        let signed = format!("{expires}.{}", random_hex(SESSION_NONCE_BYTES)?);
        let mac = hmac::sign(&key, signed.as_bytes());
        Ok(format!("{signed}.{}", hex::encode(mac.as_ref())))
    }

    /// Whether `token` is a cookie this unit signed and that has not expired.
    fn is_open(&self, token: &str, shared: bool) -> bool {
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

/// Answers one request to the admin site.
pub(crate) async fn handle<S>(
    head: &RequestHead,
    connection: &mut HttpConnection<S>,
    state: &DeviceState,
    over_tls: bool,
) -> io::Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let response = match (head.method.as_str(), head.path()) {
        ("GET" | "HEAD", "/") => Response::html(200, login_page(state, None)),
        ("POST", "/login") => match connection.read_body(MAX_FORM_SIZE).await? {
            None => Response::text(413, "login form too large").closing(),
            Some(body) => form_login(&body, state, over_tls),
        },
        ("GET" | "HEAD", "/admin") => admin_page(head, state),
        (_, "/" | "/admin") => {
            Response::text(405, "method not allowed").with_header("Allow", "GET, HEAD")
        }
        (_, "/login") => Response::text(405, "method not allowed").with_header("Allow", "POST"),
        _ => Response::text(404, "not found"),
    };
    Ok(response)
}

fn form_login(body: &[u8], state: &DeviceState, over_tls: bool) -> Response {
    let fields = parse_urlencoded(body);
    let field = |name: &[u8]| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
            .unwrap_or_default()
    };
    match state.accounts.login(field(b"username"), field(b"password")) {
        LoginOutcome::Accepted => {
            match state.sessions.open(state.flaws.shared_session_secret) {
                Ok(token) => {
                    let secure = if over_tls { "; Secure" } else { "" };
                    Response::html(303, String::from("<a href=\"/admin\">Continue</a>\n"))
                    .with_header("Location", "/admin")
                    .with_header(
                        "Set-Cookie",
                        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"),
                    )
                }
                Err(_) => Response::text(500, "cannot open a session"),
            }
        }
        LoginOutcome::Refused => Response::html(
            200,
            login_page(state, Some("Invalid username or password.")),
        ),
        LoginOutcome::LockedOut => {
            Response::html(200, login_page(state, Some(&lockout_message(state))))
        }
    }
}

fn lockout_message(state: &DeviceState) -> String {
    let seconds = state
        .accounts
        .locked_for()
        .map_or(0, |left| left.as_secs() + 1);
    format!("Too many failed logins. Try again in {seconds} seconds.")
}

fn admin_page(head: &RequestHead, state: &DeviceState) -> Response {
    let has_session = head
        .header("cookie")
        .and_then(|cookies| cookie_value(cookies, SESSION_COOKIE))
        .is_some_and(|token| {
            state
                .sessions
                .is_open(token, state.flaws.shared_session_secret)
        });
    let outcome = if has_session {
        LoginOutcome::Accepted
    } else {
        match head
            .header("authorization")
            .and_then(parse_basic_authorization)
        {
            Some((username, password)) => state.accounts.login(&username, &password),
            None => LoginOutcome::Refused,
        }
    };
    match outcome {
        LoginOutcome::Accepted => Response::html(
            200,
            page(
                "Administration",
                &format!(
                    "<h1>Administration</h1>\n<p>Unit: {}</p>\n<p>Firmware version: {}</p>\n",
                    escape_html(&state.name),
                    escape_html(&state.firmware_version())
                ),
            ),
        ),
        LoginOutcome::Refused => Response::text(401, "authentication required").with_header(
            "WWW-Authenticate",
            format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""),
        ),
        LoginOutcome::LockedOut => {
            let seconds = state
                .accounts
                .locked_for()
                .map_or(0, |left| left.as_secs() + 1);
            Response::text(429, &lockout_message(state))
                .with_header("Retry-After", seconds.to_string())
        }
    }
}

fn login_page(state: &DeviceState, error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |message| {
        format!("<p class=\"error\">{}</p>\n", escape_html(message))
    });
    let footer = if state.flaws.version_banners {
        format!(
            "<footer>AcmeCam firmware {}</footer>\n",
            escape_html(&state.firmware_version())
        )
    } else {
        String::new()
    };
    page(
        "Log in",
        &format!(
            "<h1>Log in</h1>\n{error}<form method=\"post\" action=\"/login\">\n\
             <label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\"></label>\n\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label>\n\
             <button type=\"submit\">Log in</button>\n</form>\n{footer}"
        ),
    )
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}</body>\n</html>\n"
    )
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// The username and password of an `Authorization: Basic ...` header value.
fn parse_basic_authorization(value: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let (username, password) = decoded.split_at(colon);
    Some((
        username.to_vec(),
        password.get(1..).unwrap_or_default().to_vec(),
    ))
}

/// Decodes an `application/x-www-form-urlencoded` body into (name, value) byte pairs.
fn parse_urlencoded(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = percent_decode(parts.next().unwrap_or_default());
            let value = percent_decode(parts.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

fn percent_decode(text: &[u8]) -> Vec<u8> {
    let hex = |byte: u8| {
        char::from(byte)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut decoded = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => match (
                rest.first().copied().and_then(hex),
                rest.get(1).copied().and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    decoded.push(high << 4 | low);
                    rest = rest.get(2..).unwrap_or_default();
                }
                _ => decoded.push(b'%'),
            },
            _ => decoded.push(byte),
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        let fields = parse_urlencoded(b"username=admin&password=p%40ss+word%2&x");
        assert_eq!(
            fields,
            [
                (b"username".to_vec(), b"admin".to_vec()),
                (b"password".to_vec(), b"p@ss word%2".to_vec()),
                (b"x".to_vec(), Vec::new()),
            ]
        );
    }

    #[test]
    fn basic_authorization_is_decoded() {
        assert_eq!(
            parse_basic_authorization("Basic YWRtaW46YTpi"),
            Some((b"admin".to_vec(), b"a:b".to_vec()))
        );
        assert_eq!(parse_basic_authorization("Bearer abc"), None);
        assert_eq!(parse_basic_authorization("Basic !!!"), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        assert_eq!(cookie_value("a=1; session=abc", "session"), Some("abc"));
        assert_eq!(cookie_value("sessionx=1", "session"), None);
    }

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

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
    }
}
