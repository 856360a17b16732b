//! HTTP-shaped replies (HTTP, RTSP, SIP, SSDP) and the signs of an administration
//! interface in them.
//!
//! Devices answer with whatever their embedded server writes, truncated at our byte cap,
//! so the parser is lenient about the body and strict only about the status line that
//! makes a reply HTTP-shaped in the first place.

use super::Service;
use iotcert_wire::http::{parse_head, Head, Limits};

/// An HTTP-shaped response: status line, headers and whatever body arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status line and headers; `head.protocol` is `HTTP/1.1`, `RTSP/1.0` or `SIP/2.0`.
    pub head: Head,
    /// What followed the head's blank line (empty while the head is cut).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    /// Which protocol the status line names.
    pub fn service(&self) -> Service {
        if self.head.protocol.starts_with("RTSP/") {
            Service::Rtsp
        } else if self.head.protocol.starts_with("SIP/") {
            Service::Sip
        } else {
            Service::Http
        }
    }

    /// The status line and header lines, as the device sent them (for evidence and for
    /// the banner-disclosure check).
    pub fn head_text(&self) -> String {
        let head = &self.head;
        let mut text = format!("{} {} {}", head.protocol, head.status, head.reason);
        for (name, value) in &head.headers {
            text.push('\n');
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
        }
        text
    }
}

/// Parse a response; `None` unless it opens with a valid HTTP, RTSP or SIP status line.
/// A head cut off by the read cap still gives its status and the headers so far.
pub fn parse_response(bytes: &[u8]) -> Option<Response> {
    let head = parse_head(bytes, &Limits::DEFAULT)?;
    let protocol = head.protocol.split('/').next().unwrap_or_default();
    if !matches!(protocol, "HTTP" | "RTSP" | "SIP") {
        return None;
    }
    let body = head
        .length
        .and_then(|end| bytes.get(end..))
        .unwrap_or_default()
        .to_vec();
    Some(Response { head, body })
}

/// Why a response looks like the door to an administration interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminSign {
    /// `401` with a `WWW-Authenticate` challenge (Basic sends the password in clear).
    AuthChallenge { challenge: String },
    /// A page with a password field.
    PasswordForm,
}

impl AdminSign {
    pub fn describe(&self) -> String {
        match self {
            AdminSign::AuthChallenge { challenge } => {
                format!("asks for credentials (401, WWW-Authenticate: {challenge})")
            }
            AdminSign::PasswordForm => "serves a login form with a password field".to_owned(),
        }
    }
}

/// An administration interface's door, if the response is one.
pub fn admin_sign(response: &Response) -> Option<AdminSign> {
    if response.head.status == 401 {
        if let Some(challenge) = response.header("WWW-Authenticate") {
            let challenge: String = challenge.chars().take(120).collect();
            return Some(AdminSign::AuthChallenge { challenge });
        }
    }
    has_password_input(&response.body).then_some(AdminSign::PasswordForm)
}

/// True when an HTML body has `<input ... type=password ...>`, however quoted.
pub fn has_password_input(body: &[u8]) -> bool {
    let lower = body.to_ascii_lowercase();
    let mut rest = lower.as_slice();
    while let Some(at) = find(rest, b"<input") {
        let tag = rest.get(at..).unwrap_or_default();
        let end = tag
            .iter()
            .position(|&b| b == b'>')
            .unwrap_or(tag.len())
            .min(2048);
        let compact: Vec<u8> = tag
            .get(..end)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace() && *b != b'"' && *b != b'\'')
            .collect();
        if find(&compact, b"type=password").is_some() {
            return true;
        }
        rest = tag.get(6..).unwrap_or_default();
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Where a response sends the client next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// To `https://`: the server moves its clients to TLS.
    ToTls,
    /// To a path on a server named by `authority` (`None`: this same server).
    Page {
        authority: Option<String>,
        path: String,
    },
}

/// A `3xx` `Location` or an HTML `<meta http-equiv="refresh" content="0; url=...">`.
pub fn redirect(response: &Response) -> Option<Redirect> {
    let target = if (300..400).contains(&response.head.status) {
        response.header("Location").map(str::to_owned)
    } else {
        None
    }
    .or_else(|| meta_refresh(&response.body))?;
    classify_target(target.trim())
}

fn classify_target(target: &str) -> Option<Redirect> {
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Some(Redirect::ToTls);
    }
    let (authority, path) = match lower.strip_prefix("http://") {
        Some(_) => {
            let after = target.get("http://".len()..)?;
            match after.find('/') {
                Some(at) => (
                    Some(after.get(..at)?.to_owned()),
                    after.get(at..)?.to_owned(),
                ),
                None => (Some(after.to_owned()), "/".to_owned()),
            }
        }
        None if target.starts_with('/') => (None, target.to_owned()),
        None if lower.contains("://") || target.is_empty() => return None,
        None => (None, format!("/{target}")),
    };
    let safe = path.len() <= 256 && path.bytes().all(|b| b.is_ascii_graphic());
    safe.then_some(Redirect::Page { authority, path })
}

/// The target of an HTML meta refresh, if the body has one.
fn meta_refresh(body: &[u8]) -> Option<String> {
    let lower = String::from_utf8_lossy(body).to_ascii_lowercase();
    let at = lower.find("http-equiv")?;
    let tag_start = lower.get(..at)?.rfind('<')?;
    let tag_end = lower
        .get(at..)?
        .find('>')
        .map_or(lower.len(), |end| at + end);
    let tag = lower.get(tag_start..tag_end)?;
    if !tag.contains("refresh") {
        return None;
    }
    let url_at = tag.find("url=")? + "url=".len();
    let original = String::from_utf8_lossy(body);
    let value = original.get(tag_start + url_at..tag_end)?;
    let value: String = value
        .trim_start_matches(['\'', '"', ' '])
        .chars()
        .take_while(|c| !matches!(c, '"' | '\'' | ' ' | '>'))
        .collect();
    (!value.is_empty()).then_some(value)
}

/// The minimal request sent to a silent port or to follow a redirect.
pub fn get_request(host: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: iotcert-ports\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// An RTSP `OPTIONS` request.
pub fn rtsp_options_request(host: &str) -> Vec<u8> {
    format!("OPTIONS rtsp://{host}/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: iotcert-ports\r\n\r\n")
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_headers_body() {
        let response = parse_response(
            b"HTTP/1.1 401 Unauthorized\r\nServer: lighttpd/1.4.69\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\nno",
        )
        .unwrap();
        assert_eq!(response.head.status, 401);
        assert_eq!(response.header("server"), Some("lighttpd/1.4.69"));
        assert_eq!(response.body, b"no");
        assert!(matches!(
            admin_sign(&response),
            Some(AdminSign::AuthChallenge { .. })
        ));
        assert!(parse_response(b"HTTP/1.1 20 OK\r\n").is_none());
        assert!(parse_response(b"HTTPS/1.1 200 OK\r\n").is_none());
        assert!(parse_response(b"garbage").is_none());
        assert_eq!(
            parse_response(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")
                .unwrap()
                .service(),
            Service::Rtsp
        );
    }

    #[test]
    fn finds_password_fields() {
        assert!(has_password_input(
            b"<form><INPUT name=p Type = 'Password'></form>"
        ));
        assert!(has_password_input(b"<input type=password>"));
        assert!(!has_password_input(b"<input type=text name=password>"));
        assert!(!has_password_input(b"<input"));
    }

    #[test]
    fn redirects() {
        let to_tls =
            parse_response(b"HTTP/1.1 301 Moved\r\nLocation: https://cam/\r\n\r\n").unwrap();
        assert_eq!(redirect(&to_tls), Some(Redirect::ToTls));
        let local = parse_response(b"HTTP/1.1 302 Found\r\nLocation: /login.html\r\n\r\n").unwrap();
        assert_eq!(
            redirect(&local),
            Some(Redirect::Page {
                authority: None,
                path: "/login.html".into()
            })
        );
        let meta = parse_response(
            b"HTTP/1.0 200 OK\r\n\r\n<html><meta http-equiv=\"refresh\" content=\"0; URL=/cgi-bin/Login.cgi\"></html>",
        )
        .unwrap();
        assert_eq!(
            redirect(&meta),
            Some(Redirect::Page {
                authority: None,
                path: "/cgi-bin/Login.cgi".into()
            })
        );
        let injected = parse_response(b"HTTP/1.1 302 Found\r\nLocation: /a b\r\n\r\n").unwrap();
        assert_eq!(redirect(&injected), None);
    }
}
