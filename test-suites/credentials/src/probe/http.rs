//! HTTP login: basic and digest challenges, and HTML login forms.
//!
//! The probe first fetches the target path without credentials. A 401 with a
//! `WWW-Authenticate` challenge makes it answer that challenge (basic or digest); a page
//! with a password field makes it submit the form. A basic challenge is remembered per
//! target, so later attempts send their credentials at once (one request per attempt,
//! not two); a login accepted that way is confirmed by the full exchange, so a resource
//! that stopped asking for credentials can never pass for a login. A form login counts as accepted only
//! when the answer no longer shows a password field, after following one redirect with
//! the cookies it was given, and either differs from the known-bad baseline (a login
//! with a random username and password) or, when the baseline landed on the same page,
//! the session it set opens a page that the bare request does not (then the form lets
//! anyone in; a session that opens nothing is a refusal, one that cannot be checked is
//! undecided). An error page, a lockout notice or the login page again are never a
//! success; whether the probe can tell a good login at all is the suite's positive
//! control (a known-right credential must open the interface). A path that asks for no password at all is [`Outcome::NoPasswordLogin`].
//!
//! A form login that succeeds yields the [`WebSession`] it opened; [`replay_session`]
//! presents that cookie to another unit, for the per-unit uniqueness of session secrets.

use super::link::{Link, ReadStop};
use super::{
    network_outcome, random_token, Identity, Login, Outcome, ProbeResult, Target, REPLY_CAP,
};
use crate::parse::http::{
    digest_authorization, find_login_form, has_password_field, parse_challenges, parse_head,
    Challenge, DigestInput, LoginForm,
};
use base64::Engine as _;
use iotcert_suite::{RunContext, Transcript};
use iotcert_wire::http::{read_body, Framing, Head};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Targets whose basic challenge is remembered, at most; the cache starts afresh beyond.
const CHALLENGE_CACHE_CAP: usize = 1024;

/// Basic challenges seen, by target (address, port, TLS, path).
fn challenge_cache() -> &'static Mutex<HashMap<String, Vec<Challenge>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<Challenge>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cache_key(target: &Target) -> String {
    format!(
        "{} {} {} {}",
        target.unit.address, target.port, target.tls, target.path
    )
}

fn cached_challenges(target: &Target) -> Option<Vec<Challenge>> {
    let cache = challenge_cache().lock().unwrap_or_else(|p| p.into_inner());
    cache.get(&cache_key(target)).cloned()
}

/// Remember a target's challenges when they are basic only (a digest nonce goes stale),
/// or forget them.
fn remember_challenges(target: &Target, challenges: Option<&[Challenge]>) {
    let mut cache = challenge_cache().lock().unwrap_or_else(|p| p.into_inner());
    let key = cache_key(target);
    match challenges {
        Some(list)
            if list.iter().any(|c| c.scheme == "basic")
                && list.iter().all(|c| c.scheme != "digest") =>
        {
            if cache.len() >= CHALLENGE_CACHE_CAP && !cache.contains_key(&key) {
                cache.clear();
            }
            cache.insert(key, list.to_vec());
        }
        _ => {
            cache.remove(&key);
        }
    }
}

/// Time allowed for each request and its response.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// Words of a lockout or rate-limit notice in a response body.
const THROTTLE_WORDS: [&str; 5] = [
    "too many",
    "locked",
    "try again later",
    "try again in",
    "temporarily blocked",
];

/// One response: head and (capped) body.
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

/// Send one request on a fresh connection and read the whole response.
pub(crate) async fn exchange(
    ctx: &RunContext,
    target: &Target,
    request: &[u8],
    transcript: &mut Transcript,
) -> Result<Response, Outcome> {
    let mut link = Link::open(ctx, target, STEP_TIMEOUT)
        .await
        .map_err(|error| network_outcome(&error, "connecting"))?;
    link.send(request, STEP_TIMEOUT, transcript)
        .await
        .map_err(|error| network_outcome(&error, "sending the request"))?;
    read_response(&mut link, transcript).await
}

/// Read one response from `link` (head, then the body by its framing).
pub(crate) async fn read_response(
    link: &mut Link,
    transcript: &mut Transcript,
) -> Result<Response, Outcome> {
    let stop = link
        .read_until(REPLY_CAP, STEP_TIMEOUT, transcript, |bytes| {
            parse_head(bytes).is_some()
        })
        .await;
    let Some(head) = parse_head(&link.pending) else {
        let why = match stop {
            ReadStop::Closed if link.pending.is_empty() => {
                "the device closed the connection without answering".to_owned()
            }
            ReadStop::Timeout => "no complete response head in time".to_owned(),
            ReadStop::Failed(error) => error.to_string(),
            _ => "the answer is not an HTTP response".to_owned(),
        };
        return Err(Outcome::Undecided(why));
    };
    // `parse_head` only gives heads whose blank line arrived.
    let head_length = head.length.unwrap_or(link.pending.len());
    let framing = head.framing();
    let body_done = |bytes: &[u8]| {
        let body = bytes.get(head_length..).unwrap_or_default();
        framing != Framing::UntilClose && read_body(framing, body, REPLY_CAP).is_ok()
    };
    // A missing or cut body still lets the status speak; it only limits form logins.
    let _ = link
        .read_until(REPLY_CAP, STEP_TIMEOUT, transcript, body_done)
        .await;
    let raw = link.pending.get(head_length..).unwrap_or_default();
    let body =
        read_body(framing, raw, REPLY_CAP).map_or_else(|_| raw.to_vec(), |body| body.content);
    Ok(Response { head, body })
}

fn host_header(target: &Target) -> String {
    match target.unit.address {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{}", target.port),
        v4 => format!("{v4}:{}", target.port),
    }
}

fn request(
    target: &Target,
    method: &str,
    path: &str,
    extra: &[(String, String)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: iotcert-credentials\r\nAccept: */*\r\nConnection: close\r\n",
        host_header(target)
    );
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        text.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        text.push_str("\r\n");
    }
    text.into_bytes()
}

fn is_throttle(response: &Response) -> Option<String> {
    if matches!(response.head.status, 429 | 503) {
        let retry = response
            .head
            .header("retry-after")
            .map(|value| format!(", Retry-After: {value}"))
            .unwrap_or_default();
        return Some(format!("HTTP {}{retry}", response.head.status));
    }
    let text = String::from_utf8_lossy(&response.body).to_lowercase();
    THROTTLE_WORDS
        .iter()
        .find(|word| text.contains(*word))
        .map(|word| format!("the page says \"{word}\" (HTTP {})", response.head.status))
}

pub(crate) async fn attempt(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    transcript: &mut Transcript,
) -> ProbeResult {
    if let Some(challenges) = cached_challenges(target) {
        transcript.remark("answering the basic challenge this target sent before");
        let outcome = challenge_login(ctx, target, login, &challenges, transcript).await;
        if outcome != Outcome::Accepted {
            return (outcome, None);
        }
        // Confirm with the full exchange: the resource must still ask for credentials.
        remember_challenges(target, None);
    }
    let baseline = match exchange(
        ctx,
        target,
        &request(target, "GET", &target.path, &[], None),
        transcript,
    )
    .await
    {
        Ok(response) => response,
        Err(outcome) => return (outcome, None),
    };
    if baseline.head.status == 401 {
        let challenges: Vec<_> = baseline
            .head
            .headers_named("www-authenticate")
            .flat_map(parse_challenges)
            .collect();
        remember_challenges(target, Some(&challenges));
        let outcome = challenge_login(ctx, target, login, &challenges, transcript).await;
        return (outcome, None);
    }
    remember_challenges(target, None);
    if let Some(reason) = is_throttle(&baseline) {
        return (Outcome::Throttled(reason), None);
    }
    match find_login_form(&baseline.body) {
        Some(form) => form_login(ctx, target, login, &form, transcript).await,
        None if matches!(baseline.head.status, 200..=399 | 404) => (
            Outcome::NoPasswordLogin(format!(
                "{} answered HTTP {} without an authentication challenge or a login form",
                target.path, baseline.head.status
            )),
            None,
        ),
        None => (
            Outcome::Undecided(format!(
                "{} answered HTTP {} without an authentication challenge or a login form",
                target.path, baseline.head.status
            )),
            None,
        ),
    }
}

/// Answer a basic or digest challenge (digest preferred when both are offered).
async fn challenge_login(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    challenges: &[Challenge],
    transcript: &mut Transcript,
) -> Outcome {
    let username = login.username.as_deref().unwrap_or_default();
    let authorization =
        if let Some(digest) = challenges.iter().find(|c| c.scheme == "digest") {
            let cnonce = random_token(8);
            let input = DigestInput {
                method: "GET",
                uri: &target.path,
                username,
                password: &login.password,
                cnonce: &cnonce,
                nonce_count: 1,
            };
            match digest_authorization(digest, &input) {
                Some(value) => value,
                None => return Outcome::Undecided(
                    "the digest challenge asks for an algorithm or qop this probe does not speak"
                        .to_owned(),
                ),
            }
        } else if challenges.iter().any(|c| c.scheme == "basic") {
            basic_authorization(username, &login.password)
        } else if challenges.is_empty() {
            return Outcome::Undecided("HTTP 401 without an authentication challenge".to_owned());
        } else {
            let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
            return Outcome::NoPasswordLogin(format!(
                "HTTP 401 asks for {}, not a password (no basic or digest challenge)",
                schemes.join(", ")
            ));
        };
    let headers = [("Authorization".to_owned(), authorization)];
    let response = match exchange(
        ctx,
        target,
        &request(target, "GET", &target.path, &headers, None),
        transcript,
    )
    .await
    {
        Ok(response) => response,
        Err(outcome) => return outcome,
    };
    judge_status(&response)
}

pub(crate) fn basic_authorization(username: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {token}")
}

/// 2xx and 3xx behind a challenge are a login; 401 and 403 a refusal.
fn judge_status(response: &Response) -> Outcome {
    if let Some(reason) = is_throttle(response) {
        if response.head.status >= 400 {
            return Outcome::Throttled(reason);
        }
    }
    match response.head.status {
        200..=399 => Outcome::Accepted,
        401 | 403 => Outcome::Refused,
        status => Outcome::Undecided(format!("HTTP {status} after sending credentials")),
    }
}

fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The path a form posts to, resolved against the page's path.
fn form_path(page: &str, action: &str) -> String {
    if action.is_empty() {
        return page.to_owned();
    }
    if let Some(rest) = action
        .strip_prefix("http://")
        .or_else(|| action.strip_prefix("https://"))
    {
        return rest
            .find('/')
            .and_then(|at| rest.get(at..))
            .unwrap_or("/")
            .to_owned();
    }
    if action.starts_with('/') {
        return action.to_owned();
    }
    let base = page.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{base}/{action}")
}

/// The cookies a response sets, as a `Cookie` header value.
fn cookies(response: &Response) -> String {
    response
        .head
        .headers_named("set-cookie")
        .filter_map(|value| value.split(';').next())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A session a successful form login opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    /// The cookies the login set, as a `Cookie` header value.
    pub cookie: String,
    /// The page the login led to (the redirect followed, else the login page), which
    /// the cookie opens and a request without it does not.
    pub page: String,
}

/// Whether a response opens a page: 2xx without a login form.
fn opens_page(response: &Response) -> bool {
    (200..=299).contains(&response.head.status) && !has_password_field(&response.body)
}

/// Present `session`, opened on some unit, to `target`: [`Outcome::Accepted`] when the
/// session's page opens with the cookie and not without it (the target trusts the
/// cookie), [`Outcome::Refused`] when the page asks for a login again (401, 403, a
/// redirect or a login form). The request without the cookie comes first: a page that
/// opens without any cookie proves nothing, and is undecided.
pub async fn replay_session(
    ctx: &RunContext,
    target: &Target,
    session: &WebSession,
    transcript: &mut Transcript,
) -> Outcome {
    transcript.remark(&format!(
        "{}: GET {} without a cookie, then with the session cookie",
        target.label(),
        session.page
    ));
    let without = match exchange(
        ctx,
        target,
        &request(target, "GET", &session.page, &[], None),
        transcript,
    )
    .await
    {
        Ok(response) => response,
        Err(outcome) => return outcome,
    };
    if opens_page(&without) {
        return Outcome::Undecided(format!(
            "{} answers HTTP {} without any cookie: no session is needed to open it",
            session.page, without.head.status
        ));
    }
    let headers = [("Cookie".to_owned(), session.cookie.clone())];
    let with = match exchange(
        ctx,
        target,
        &request(target, "GET", &session.page, &headers, None),
        transcript,
    )
    .await
    {
        Ok(response) => response,
        Err(outcome) => return outcome,
    };
    let outcome = if opens_page(&with) {
        Outcome::Accepted
    } else if matches!(with.head.status, 300..=399 | 401 | 403) || has_password_field(&with.body) {
        Outcome::Refused
    } else if let Some(reason) = is_throttle(&with) {
        Outcome::Throttled(reason)
    } else {
        Outcome::Undecided(format!(
            "HTTP {} to the session cookie on {}",
            with.head.status, session.page
        ))
    };
    transcript.remark(&format!("session cookie {}", outcome.word()));
    outcome
}

/// What the form submission led to, compared by the probe.
#[derive(Debug, PartialEq, Eq)]
struct Landing {
    status: u16,
    location: Option<String>,
    shows_password_field: bool,
}

async fn submit_form(
    ctx: &RunContext,
    target: &Target,
    form: &LoginForm,
    login: &Login,
    transcript: &mut Transcript,
) -> Result<(Landing, Response, Option<WebSession>), Outcome> {
    let mut fields: Vec<String> = form
        .hidden
        .iter()
        .map(|(name, value)| format!("{}={}", url_encode(name), url_encode(value)))
        .collect();
    if let Some(user_field) = &form.username_field {
        fields.push(format!(
            "{}={}",
            url_encode(user_field),
            url_encode(login.username.as_deref().unwrap_or_default())
        ));
    }
    fields.push(format!(
        "{}={}",
        url_encode(&form.password_field),
        url_encode(&login.password)
    ));
    let body = fields.join("&");
    let path = form_path(&target.path, &form.action);
    let wire = if form.method == "post" {
        request(target, "POST", &path, &[], Some(&body))
    } else {
        let separator = if path.contains('?') { '&' } else { '?' };
        request(
            target,
            "GET",
            &format!("{path}{separator}{body}"),
            &[],
            None,
        )
    };
    let response = exchange(ctx, target, &wire, transcript).await?;
    let location = response.head.header("location").map(str::to_owned);
    let cookie = cookies(&response);
    let mut shows_password_field = has_password_field(&response.body);
    let mut final_response = None;
    let mut page = target.path.clone();
    if let (300..=399, Some(to)) = (response.head.status, &location) {
        // Follow one redirect on the same server, with the cookies just set.
        let next = form_path(&path, to);
        page.clone_from(&next);
        let headers: Vec<(String, String)> = if cookie.is_empty() {
            Vec::new()
        } else {
            vec![("Cookie".to_owned(), cookie.clone())]
        };
        let followed = exchange(
            ctx,
            target,
            &request(target, "GET", &next, &headers, None),
            transcript,
        )
        .await?;
        shows_password_field =
            has_password_field(&followed.body) || matches!(followed.head.status, 401 | 403);
        final_response = Some(followed);
    }
    let landing = Landing {
        status: response.head.status,
        location,
        shows_password_field,
    };
    let session = (!cookie.is_empty()).then_some(WebSession { cookie, page });
    Ok((landing, final_response.unwrap_or(response), session))
}

async fn form_login(
    ctx: &RunContext,
    target: &Target,
    login: &Login,
    form: &LoginForm,
    transcript: &mut Transcript,
) -> ProbeResult {
    // The known-bad baseline: a random account nobody has.
    let bad = Login::new(&format!("iotcert-{}", random_token(4)), &random_token(12));
    let (bad_landing, bad_response, _) =
        match submit_form(ctx, target, form, &bad, transcript).await {
            Ok(result) => result,
            Err(outcome) => return (outcome, None),
        };
    if let Some(reason) = is_throttle(&bad_response) {
        return (Outcome::Throttled(reason), None);
    }
    let (landing, response, session) = match submit_form(ctx, target, form, login, transcript).await
    {
        Ok(result) => result,
        Err(outcome) => return (outcome, None),
    };
    if let Some(reason) = is_throttle(&response) {
        return (Outcome::Throttled(reason), None);
    }
    let outcome = if landing.shows_password_field {
        Outcome::Refused
    } else if landing.status >= 400 {
        Outcome::Undecided(format!("HTTP {} after the form login", landing.status))
    } else if landing != bad_landing {
        Outcome::Accepted
    } else if bad_landing.shows_password_field {
        Outcome::Refused
    } else {
        // A random username and password landed where this login did, on a page without
        // a login form: either the form opens for anyone (the finding) or its refusal
        // looks like a success. Only a session that opens a page the bare request does
        // not tells the two apart.
        transcript.remark(&format!(
            "a random login ({}) landed where this one did (HTTP {}, no login form): checking whether the session opens a page",
            bad.display(),
            landing.status
        ));
        match &session {
            Some(opened) => match replay_session(ctx, target, opened, transcript).await {
                Outcome::Accepted => {
                    transcript.remark(
                        "the session opens a page that the bare request does not: the form lets anyone in",
                    );
                    Outcome::Accepted
                }
                Outcome::Refused => Outcome::Refused,
                other => Outcome::Undecided(format!(
                    "the form answers a random username and password as it answers this one, with no login form after it, and its session cookie proves nothing ({}): the probe cannot tell a good login from a bad one",
                    other.describe()
                )),
            },
            // The answer of a known-bad login, and no session to open anything with.
            None => Outcome::Refused,
        }
    };
    let identity = session
        .filter(|_| outcome == Outcome::Accepted)
        .map(Identity::Session);
    (outcome, identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_paths() {
        assert_eq!(form_path("/", "/login"), "/login");
        assert_eq!(form_path("/cgi/index.html", "login.cgi"), "/cgi/login.cgi");
        assert_eq!(form_path("/", ""), "/");
        assert_eq!(form_path("/", "http://host:80/x"), "/x");
    }

    #[test]
    fn encoding() {
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
        assert_eq!(
            basic_authorization("admin", "admin"),
            "Basic YWRtaW46YWRtaW4="
        );
    }
}
