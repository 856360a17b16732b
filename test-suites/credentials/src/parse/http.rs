//! HTTP and RTSP responses, authentication challenges and login forms.
//!
//! HTTP basic and digest, RTSP basic and digest, and HTTP form logins all read a status
//! line, headers, `WWW-Authenticate` challenges and (for forms) an HTML page from the
//! device. RTSP shares HTTP's message syntax, so one parser serves both.

use iotcert_wire::http::{self, Head, Limits};
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Bounds on a response head: beyond 32 KiB the device is not speaking HTTP to us.
pub const HEAD_LIMITS: Limits = Limits {
    max_head_bytes: 32 * 1024,
    ..Limits::DEFAULT
};

/// Parse a whole HTTP or RTSP response head from the start of `bytes`; `None` until
/// the blank line has arrived or when the bytes are not an HTTP or RTSP response.
pub fn parse_head(bytes: &[u8]) -> Option<Head> {
    let head = http::parse_head(bytes, &HEAD_LIMITS)?;
    let known = head.protocol.starts_with("HTTP/") || head.protocol.starts_with("RTSP/");
    (known && head.length.is_some()).then_some(head)
}

/// One `WWW-Authenticate` challenge: a scheme and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercase: `basic`, `digest`, ...
    pub scheme: String,
    /// Parameter names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Parse the challenges of one `WWW-Authenticate` value (one or several, comma
/// separated, parameters quoted or not).
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        // A token followed by `=` is a parameter of the current challenge; a token
        // followed by a space or the end is a new scheme.
        let token_end = rest.find(['=', ' ', ',', '\t']).unwrap_or(rest.len());
        let token = rest.get(..token_end).unwrap_or_default();
        let after = rest.get(token_end..).unwrap_or_default();
        if token.is_empty() {
            break;
        }
        if let Some(value_text) = after.strip_prefix('=') {
            let (value, remaining) = parse_param_value(value_text);
            if let Some(current) = challenges.last_mut() {
                current.params.push((token.to_ascii_lowercase(), value));
            }
            rest = remaining;
        } else {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
            rest = after;
        }
    }
    challenges
}

/// A quoted-string or token value, and what follows it.
fn parse_param_value(text: &str) -> (String, &str) {
    let text = text.trim_start();
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut escaped = false;
        for (index, c) in quoted.char_indices() {
            if escaped {
                value.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                return (value, quoted.get(index + 1..).unwrap_or_default());
            } else {
                value.push(c);
            }
        }
        (value, "")
    } else {
        let end = text.find([',', ' ', '\t']).unwrap_or(text.len());
        (
            text.get(..end).unwrap_or_default().to_owned(),
            text.get(end..).unwrap_or_default(),
        )
    }
}

/// The values a digest response is computed from (RFC 7616, RFC 2069 without qop).
#[derive(Clone, Debug)]
pub struct DigestInput<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    /// Client nonce, any unpredictable token.
    pub cnonce: &'a str,
    /// Nonce count, 1 for the first use of a server nonce.
    pub nonce_count: u32,
}

/// The `Authorization` value answering a digest challenge; `None` when the
/// challenge lacks a nonce or asks for an algorithm or qop we cannot honour.
pub fn digest_authorization(challenge: &Challenge, input: &DigestInput<'_>) -> Option<String> {
    let realm = challenge.param("realm").unwrap_or_default();
    let nonce = challenge.param("nonce")?;
    let algorithm = challenge.param("algorithm").unwrap_or("MD5");
    let hash: fn(&str) -> String = match algorithm.to_ascii_uppercase().as_str() {
        "MD5" | "MD5-SESS" => |text| hex::encode(Md5::digest(text.as_bytes())),
        "SHA-256" | "SHA-256-SESS" => |text| hex::encode(Sha256::digest(text.as_bytes())),
        _ => return None,
    };
    let session = algorithm.to_ascii_uppercase().ends_with("-SESS");
    let qop = match challenge.param("qop") {
        None => None,
        Some(offered) => {
            if offered
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            {
                Some("auth")
            } else {
                return None;
            }
        }
    };
    let mut ha1 = hash(&format!("{}:{realm}:{}", input.username, input.password));
    if session {
        ha1 = hash(&format!("{ha1}:{nonce}:{}", input.cnonce));
    }
    let ha2 = hash(&format!("{}:{}", input.method, input.uri));
    let nc = format!("{:08x}", input.nonce_count);
    let response = match qop {
        Some(qop) => hash(&format!("{ha1}:{nonce}:{nc}:{}:{qop}:{ha2}", input.cnonce)),
        None => hash(&format!("{ha1}:{nonce}:{ha2}")),
    };
    let mut header = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={algorithm}, response=\"{response}\"",
        quote_escape(input.username),
        quote_escape(realm),
        quote_escape(nonce),
        quote_escape(input.uri)
    );
    if let Some(qop) = qop {
        header.push_str(&format!(
            ", qop={qop}, nc={nc}, cnonce=\"{}\"",
            input.cnonce
        ));
    }
    if let Some(opaque) = challenge.param("opaque") {
        header.push_str(&format!(", opaque=\"{}\"", quote_escape(opaque)));
    }
    Some(header)
}

fn quote_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A login form found in a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginForm {
    /// Where the form posts to (as written in the page; empty means the page itself).
    pub action: String,
    /// `post` or `get`.
    pub method: String,
    /// Name of the text field that is not the password (the username), if any.
    pub username_field: Option<String>,
    pub password_field: String,
    /// Hidden fields and their values, sent back as they are (CSRF tokens).
    pub hidden: Vec<(String, String)>,
}

/// The first form in `html` that has a password field.
pub fn find_login_form(html: &[u8]) -> Option<LoginForm> {
    let text = String::from_utf8_lossy(html);
    let lower = text.to_ascii_lowercase();
    let mut search_from = 0;
    while let Some(start) = lower
        .get(search_from..)?
        .find("<form")
        .map(|at| at + search_from)
    {
        let end = lower
            .get(start..)?
            .find("</form")
            .map_or(lower.len(), |at| at + start);
        let form_text = text.get(start..end)?;
        let tag_end = form_text.find('>').unwrap_or(form_text.len());
        let form_tag = form_text.get(..tag_end).unwrap_or_default();
        let mut username_field = None;
        let mut password_field = None;
        let mut hidden = Vec::new();
        for input in tags(form_text, "input") {
            let kind = attribute(input, "type").unwrap_or_else(|| "text".to_owned());
            let Some(name) = attribute(input, "name") else {
                continue;
            };
            match kind.to_ascii_lowercase().as_str() {
                "password" if password_field.is_none() => password_field = Some(name),
                "text" | "email" | "tel" if username_field.is_none() => username_field = Some(name),
                "hidden" => hidden.push((name, attribute(input, "value").unwrap_or_default())),
                _ => {}
            }
        }
        if let Some(password_field) = password_field {
            return Some(LoginForm {
                action: attribute(form_tag, "action").unwrap_or_default(),
                method: attribute(form_tag, "method")
                    .unwrap_or_else(|| "get".to_owned())
                    .to_ascii_lowercase(),
                username_field,
                password_field,
                hidden,
            });
        }
        search_from = end.max(start + 1);
    }
    None
}

/// Whether a page carries a password input: a login page, not a logged-in one.
pub fn has_password_field(html: &[u8]) -> bool {
    let text = String::from_utf8_lossy(html);
    let found = tags(&text, "input").any(|input| {
        attribute(input, "type").is_some_and(|kind| kind.eq_ignore_ascii_case("password"))
    });
    found
}

/// The text of every `<name ...>` tag in `html`.
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let lower = html.to_ascii_lowercase();
    let opening = format!("<{name}");
    let starts: Vec<usize> = lower.match_indices(&opening).map(|(at, _)| at).collect();
    starts.into_iter().filter_map(move |start| {
        let rest = html.get(start..)?;
        let end = rest.find('>').unwrap_or(rest.len());
        rest.get(..end)
    })
}

/// The value of attribute `name` in a tag's text, quoted or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower.get(from..)?.find(name).map(|at| at + from) {
        let before_ok = found == 0
            || lower
                .get(..found)
                .and_then(|b| b.chars().last())
                .is_some_and(char::is_whitespace);
        let after = lower.get(found + name.len()..)?.trim_start();
        if before_ok && after.starts_with('=') {
            let value_start = tag.len() - after.len() + 1;
            let raw = tag.get(value_start..)?.trim_start();
            let value = match raw.chars().next() {
                Some(quote @ ('"' | '\'')) => raw
                    .get(1..)?
                    .split(quote)
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                _ => raw
                    .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            };
            return Some(value);
        }
        from = found + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotcert_wire::http::Framing;

    #[test]
    fn head_and_framing() {
        let head = parse_head(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(head.status, 401);
        assert_eq!(head.framing(), Framing::Length(5));
        assert_eq!(head.header("www-authenticate"), Some("Basic realm=\"x\""));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(parse_head(b"SSH-2.0-x\r\n\r\n").is_none());
        let rtsp = parse_head(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n").unwrap();
        assert_eq!(rtsp.framing(), Framing::Empty);
    }

    #[test]
    fn challenges() {
        let list = parse_challenges(
            r#"Digest realm="cam", qop="auth,auth-int", nonce="abc", opaque=xyz, Basic realm="b""#,
        );
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].scheme, "digest");
        assert_eq!(list[0].param("qop"), Some("auth,auth-int"));
        assert_eq!(list[0].param("opaque"), Some("xyz"));
        assert_eq!(list[1].param("realm"), Some("b"));
    }

    #[test]
    fn digest_matches_rfc_2617_example() {
        let challenge = parse_challenges(r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#).remove(0);
        let header = digest_authorization(
            &challenge,
            &DigestInput {
                method: "GET",
                uri: "/dir/index.html",
                username: "Mufasa",
                password: "Circle Of Life",
                cnonce: "0a4f113b",
                nonce_count: 1,
            },
        )
        .unwrap();
        assert!(
            header.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{header}"
        );
    }

    #[test]
    fn login_form() {
        let html = br#"<html><form method="POST" action="/login"><input type=hidden name=csrf value="t1"><input name="user"><input type="password" name="pass"></form>"#;
        let form = find_login_form(html).unwrap();
        assert_eq!(form.action, "/login");
        assert_eq!(form.method, "post");
        assert_eq!(form.username_field.as_deref(), Some("user"));
        assert_eq!(form.password_field, "pass");
        assert_eq!(form.hidden, vec![("csrf".to_owned(), "t1".to_owned())]);
        assert!(has_password_field(html));
        assert!(!has_password_field(b"<h1>Dashboard</h1>"));
    }
}
