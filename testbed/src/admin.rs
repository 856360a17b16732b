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

use crate::accounts::LoginOutcome;
use crate::http::{Answer, HttpConnection, RequestHead, Response, Site};
use crate::state::DeviceState;
use base64::Engine;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest login form body accepted.
const MAX_FORM_SIZE: u64 = 8 * 1024;
/// Name of the session cookie.
const SESSION_COOKIE: &str = "session";
/// Realm of the Basic authentication challenge.
const REALM: &str = "device administration";
/// The admin web site of a device (login form, Basic authentication, admin page).
pub(crate) struct AdminSite;

impl Site for AdminSite {
    fn answer<'a, S>(
        &'a self,
        head: &'a RequestHead,
        connection: &'a mut HttpConnection<S>,
        state: &'a DeviceState,
        over_tls: bool,
    ) -> Answer<'a>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'a,
    {
        Box::pin(handle(head, connection, state, over_tls))
    }
}

/// Answers one request to the admin site.
async fn handle<S>(
    head: &RequestHead,
    connection: &mut HttpConnection<S>,
    state: &DeviceState,
    over_tls: bool,
) -> io::Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
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
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
    }
}
