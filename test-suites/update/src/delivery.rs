//! Getting an image to the device, and observing what it did with it.
//!
//! Three channels, chosen by the profile: `http-upload` (POST to the device's update
//! endpoint, raw or multipart, over HTTP or HTTPS), `serve` (a loopback HTTP(S) server of
//! ours from which the device pulls, told to by a trigger command or polling on its own),
//! and `command` (a program run with the image's path: a vendor tool, `swupdate -c`,
//! `rauc install`). Each returns the channel's own answer on the image (HTTP status, exit
//! status, or SWUpdate's install status read from its WebSocket), sorted into what the
//! answer can mean: success, refusal, unclear, no answer from the device, or a delivery
//! the harness could not make. The suite weighs that answer against the profile's
//! acceptance signal and the version query. Every socket operation has a timeout, every
//! read a cap, and device traffic goes through [`RunContext::connect_tcp`] (scope guard
//! and pacer). Programs learn which unit they serve through `{unit}` and `{address}`.

// Still reachable here, where the fuzz target and callers outside the crate find it.
pub use crate::device_text::one_line;
use crate::formats::Artifact;
use crate::options::{
    UpdateAcceptance, UpdateDelivery, UpdateFormat, UpdateOptions, UploadEncoding, VersionQuery,
};
use crate::swupdate_websocket::{self, InstallStatus};
use base64::Engine as _;
use iotcert_suite::evidence::escape_bytes;
use iotcert_suite::tls::RecordingVerifier;
use iotcert_suite::{RunContext, SampleUnit};
use iotcert_wire::http::{self, read_body, Framing, Head, Limits};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Most bytes of a response (or of a program's output) kept.
const MAX_RESPONSE: usize = 64 * 1024;
/// Timeout of connecting and of the version query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// File name of the `serve` channel's HTTPS certificate in the working directory.
const SERVER_CERTIFICATE: &str = "update-server.pem";
/// Longest wait for the upload's HTTP answer once SWUpdate has reported its result (and
/// for a result once the upload failed).
const SWUPDATE_ANSWER_GRACE: Duration = Duration::from_secs(2);
/// Longest wait, after SWUpdate's install result, for it to take requests again.
const SWUPDATE_IDLE_WAIT: Duration = Duration::from_secs(10);
/// Requests a `serve` server answers for one attempt, at most.
const MAX_SERVED_REQUESTS: usize = 16;

/// What the channel said about one image, sorted by what it can mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelAnswer {
    /// The channel reported success: an HTTP 2xx, a success exit status, SWUpdate's
    /// SUCCESS, a `serve` image fetched. Whether that means "installed" depends on the
    /// channel and on the profile's acceptance signal.
    Success(String),
    /// The device said no: an HTTP status that refuses, a failure exit status after the
    /// image was handed over, SWUpdate's FAILURE.
    Refusal(String),
    /// An answer that is neither (a redirect, "authentication required", "no such
    /// endpoint", a trigger that succeeded although the image was never fetched).
    Unclear(String),
    /// No answer from the device: nothing listening, a reset, silence, bytes that are not
    /// the protocol, a timeout.
    NoAnswer(String),
    /// The harness could not make the delivery (an artifact it could not write, a program
    /// that cannot run, a server it could not start): never the device's refusal.
    NotDelivered(String),
}

impl ChannelAnswer {
    /// The one-line text of the answer.
    pub fn text(&self) -> &str {
        match self {
            ChannelAnswer::Success(text)
            | ChannelAnswer::Refusal(text)
            | ChannelAnswer::Unclear(text)
            | ChannelAnswer::NoAnswer(text)
            | ChannelAnswer::NotDelivered(text) => text,
        }
    }
}

/// What the channel said about one image, with the exchange.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub answer: ChannelAnswer,
    /// What was sent and received, readable.
    pub transcript: String,
    /// With SWUpdate's status stream: whether SWUpdate said it waits for requests again
    /// after its install result (its health after a refusal).
    pub ready_again: Option<Result<String, String>>,
}

impl Delivered {
    fn not_delivered(why: String) -> Delivered {
        Delivered {
            answer: ChannelAnswer::NotDelivered(why.clone()),
            transcript: why,
            ready_again: None,
        }
    }
}

/// Resolves a profile path against the profile's directory.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Whether the profile's channel and version query can address each unit on their own:
/// with more than one unit, a program must be told which (`{unit}` or `{address}`), and a
/// device polling our server cannot be told apart from another. `None` when they can.
pub fn cannot_tell_units_apart(options: &UpdateOptions, unit_count: usize) -> Option<String> {
    if unit_count < 2 {
        return None;
    }
    let names_unit = |args: &[String]| {
        args.iter()
            .any(|a| a.contains("{unit}") || a.contains("{address}"))
    };
    let mut problems = Vec::new();
    match &options.delivery {
        UpdateDelivery::HttpUpload { .. } => {}
        UpdateDelivery::Command { args, .. } if !names_unit(args) => problems.push(
            "the `command` delivery's arguments name no unit ({unit} or {address})".to_owned(),
        ),
        UpdateDelivery::Command { .. } => {}
        UpdateDelivery::Serve { trigger: None, .. } => problems.push(
            "the `serve` delivery has no trigger, so which unit fetched an image cannot be known"
                .to_owned(),
        ),
        UpdateDelivery::Serve {
            trigger: Some(trigger),
            ..
        } if !names_unit(&trigger.args) => problems
            .push("the `serve` trigger's arguments name no unit ({unit} or {address})".to_owned()),
        UpdateDelivery::Serve { .. } => {}
    }
    if let Some(VersionQuery::Command { args, .. }) = &options.version_query {
        if !names_unit(args) {
            problems.push(
                "the `command` version query's arguments name no unit ({unit} or {address})"
                    .to_owned(),
            );
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "the profile has {unit_count} units but {}: every image would go to the same device and each unit's verdicts would be built from another's results",
            problems.join(", and ")
        )
    })
}

/// Sends one artifact to `unit` through the profile's channel.
pub async fn deliver(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
    workdir: &Path,
    artifact: &Artifact,
) -> Delivered {
    match &options.delivery {
        UpdateDelivery::HttpUpload { .. } => upload(ctx, unit, options, base, artifact).await,
        UpdateDelivery::Command {
            program,
            args,
            success_exit_codes,
            timeout_seconds,
        } => {
            let paths = match write_artifact(workdir, artifact, options.format) {
                Ok(paths) => paths,
                Err(why) => return Delivered::not_delivered(why),
            };
            let args: Vec<String> = args
                .iter()
                .map(|a| substitute(a, Some(&paths), None, unit))
                .collect();
            let run = run_program(
                &resolve_program(base, program),
                &args,
                Duration::from_secs((*timeout_seconds).max(1)),
            )
            .await;
            let answer = match (&run.failure, run.code) {
                (Some(RunFailure::CannotRun(why)), _) => ChannelAnswer::NotDelivered(why.clone()),
                (Some(RunFailure::Device(why)), _) => ChannelAnswer::NoAnswer(why.clone()),
                (None, None) => ChannelAnswer::NoAnswer(
                    "the program was killed by a signal before it answered".to_owned(),
                ),
                (None, Some(code)) if success_exit_codes.contains(&code) => {
                    ChannelAnswer::Success(format!("exit status {code}"))
                }
                (None, Some(code)) => ChannelAnswer::Refusal(format!("exit status {code}")),
            };
            Delivered {
                answer,
                transcript: run.transcript,
                ready_again: None,
            }
        }
        UpdateDelivery::Serve {
            bind,
            port,
            tls,
            trigger,
            timeout_seconds,
        } => {
            serve(
                ServeSetup {
                    format: options.format,
                    bind: *bind,
                    port: *port,
                    tls: *tls,
                    trigger: trigger.as_ref(),
                    base,
                    workdir,
                    unit,
                },
                artifact,
                Duration::from_secs((*timeout_seconds).max(1)),
            )
            .await
        }
    }
}

/// What an HTTP status says about an uploaded image.
fn classify_status(status: u16) -> ChannelAnswer {
    let text = format!("HTTP {status}");
    match status {
        200..=299 => ChannelAnswer::Success(text),
        401 | 407 => ChannelAnswer::Unclear(format!(
            "{text}: the endpoint asks for credentials the profile does not give"
        )),
        404 | 405 => ChannelAnswer::Unclear(format!(
            "{text}: the endpoint does not take uploads there (check the profile's path)"
        )),
        408 | 429 => ChannelAnswer::Unclear(format!(
            "{text}: the endpoint was busy or timed out, it did not judge the image"
        )),
        400..=499 => ChannelAnswer::Refusal(text),
        500..=599 => ChannelAnswer::Unclear(format!(
            "{text}: the endpoint failed (or was busy); a server error is not a verdict on the image"
        )),
        _ => ChannelAnswer::Unclear(format!("{text}: neither an acceptance nor a refusal")),
    }
}

/// POSTs the image to the unit; with SWUpdate's WebSocket as the acceptance signal, the
/// install status it reports decides instead of the upload's 2xx.
async fn upload(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
    artifact: &Artifact,
) -> Delivered {
    let UpdateDelivery::HttpUpload {
        port,
        tls,
        ca_certificate,
        path,
        encoding,
        image_field,
        signature_field,
        signature_header,
        timeout_seconds,
    } = &options.delivery
    else {
        return Delivered::not_delivered("not an upload channel".to_owned());
    };
    let (content_type, body, extra) = match encoding {
        UploadEncoding::Raw => raw_upload(artifact, signature_header),
        UploadEncoding::Multipart => {
            let (content_type, body) = multipart(artifact, image_field, signature_field);
            (content_type, body, String::new())
        }
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: iotcert-update\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        host_header(unit.address, *port),
        body.len()
    );
    let upload_tls = tls.then(|| ca_certificate.as_ref().map(|p| resolve(base, p)));
    let timeout = Duration::from_secs((*timeout_seconds).max(1));
    let deadline = Instant::now() + timeout;
    let mut transcript = format!("> {}", escape_bytes(head.as_bytes()));
    transcript.push_str(&format!(
        "\n> <{} bytes of body, sha256 {}>\n",
        body.len(),
        crate::sha256_hex(&body)
    ));
    let status_stream = match &options.acceptance {
        Some(UpdateAcceptance::SwupdateWebsocket {
            port: status_port,
            tls: status_tls,
            path: status_path,
        }) => {
            let endpoint = StatusEndpoint {
                port: status_port.unwrap_or(*port),
                tls: status_tls.then(|| ca_certificate.as_ref().map(|p| resolve(base, p))),
                path: status_path,
            };
            match open_status_stream(ctx, unit, &endpoint, timeout, deadline, &mut transcript).await
            {
                Ok(stream) => Some(stream),
                Err(not_sent) => return not_sent,
            }
        }
        _ => None,
    };
    let exchange = http_exchange(
        ctx,
        unit,
        *port,
        upload_tls.as_ref(),
        head.as_bytes(),
        &body,
        timeout,
    );
    let Some(stream) = status_stream else {
        return judged_by_status(exchange, transcript).await;
    };
    judged_by_swupdate(exchange, stream, deadline, transcript).await
}

/// The content type, body and extra header lines of a raw upload: the image as the body,
/// its detached signature (if any) in base64 in `signature_header`.
fn raw_upload(artifact: &Artifact, signature_header: &str) -> (String, Vec<u8>, String) {
    let extra = artifact
        .signature
        .as_ref()
        .map(|s| {
            format!(
                "{signature_header}: {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        })
        .unwrap_or_default();
    (
        "application/octet-stream".to_owned(),
        artifact.image.clone(),
        extra,
    )
}

/// Where SWUpdate's status WebSocket listens, as the profile declares it.
struct StatusEndpoint<'a> {
    port: u16,
    /// `Some` over TLS, with the CA certificate to verify the server by, if declared.
    tls: Option<Option<PathBuf>>,
    path: &'a str,
}

/// Opens SWUpdate's status WebSocket before the upload, so that no status is missed.
/// `Err` holds what the delivery then is: the image is not sent.
async fn open_status_stream(
    ctx: &RunContext,
    unit: &SampleUnit,
    endpoint: &StatusEndpoint<'_>,
    timeout: Duration,
    deadline: Instant,
    transcript: &mut String,
) -> Result<swupdate_websocket::StatusStream, Delivered> {
    let StatusEndpoint { port, path, .. } = *endpoint;
    let why = match open_connection(ctx, unit, port, endpoint.tls.as_ref(), timeout).await {
        Ok(connection) => {
            let host = host_header(unit.address, port);
            match swupdate_websocket::open(connection, &host, path, deadline).await {
                Ok(stream) => {
                    transcript.push_str(&format!(
                        "# SWUpdate status WebSocket open on {port}/tcp {path}\n"
                    ));
                    return Ok(stream);
                }
                Err(why) => format!(
                    "SWUpdate's status WebSocket on {port}/tcp {path}: {why}; the image was not sent"
                ),
            }
        }
        Err(ExchangeError::Harness(why)) => return Err(Delivered::not_delivered(why)),
        Err(ExchangeError::Device(why)) => {
            format!("SWUpdate's status WebSocket on {port}/tcp: {why}; the image was not sent")
        }
    };
    transcript.push_str(&format!("# {why}\n"));
    Err(Delivered {
        answer: ChannelAnswer::NoAnswer(why),
        transcript: std::mem::take(transcript),
        ready_again: None,
    })
}

/// An upload judged by its HTTP status alone (no status stream declared).
async fn judged_by_status(
    exchange: impl std::future::Future<Output = Result<HttpResponse, ExchangeError>>,
    mut transcript: String,
) -> Delivered {
    let (answer, received) = match exchange.await {
        Ok(response) => (
            classify_status(response.status),
            escape_bytes(&response.raw),
        ),
        Err(ExchangeError::Harness(why)) => return Delivered::not_delivered(why),
        Err(ExchangeError::Device(why)) => (ChannelAnswer::NoAnswer(why.clone()), why),
    };
    transcript.push_str(&format!("< {received}\n"));
    Delivered {
        answer,
        transcript,
        ready_again: None,
    }
}

/// The upload's outcome as SWUpdate's status stream tells it. The stream is read while
/// the upload runs: SWUpdate may refuse an image (a bad signature) before it has read all
/// of it, and Debian's 2022.12 then stops reading the upload, which never gets its HTTP
/// answer; the status stream is the acceptance signal, the HTTP answer is not waited for
/// more than [`SWUPDATE_ANSWER_GRACE`] after the install result.
async fn judged_by_swupdate(
    exchange: impl std::future::Future<Output = Result<HttpResponse, ExchangeError>>,
    mut stream: swupdate_websocket::StatusStream,
    deadline: Instant,
    mut transcript: String,
) -> Delivered {
    tokio::pin!(exchange);
    let mut response = None;
    let mut grace: Option<Instant> = None;
    loop {
        let reading = stream.terminal().is_none() && stream.ended().is_none();
        let waiting_for_answer = response.is_none();
        if !reading && !waiting_for_answer {
            break;
        }
        if stream.terminal().is_some() && grace.is_none() {
            grace = Some(Instant::now() + SWUPDATE_ANSWER_GRACE);
        }
        tokio::select! {
            answer = &mut exchange, if waiting_for_answer => {
                let taken = match &answer {
                    Ok(r) => Some(matches!(classify_status(r.status), ChannelAnswer::Success(_))),
                    Err(_) => None,
                };
                response = Some(answer);
                match taken {
                    // An upload the web server did not take gets no install result.
                    Some(false) if stream.terminal().is_none() => break,
                    // The upload failed: a result may still be on its way, briefly.
                    None if grace.is_none() => grace = Some(Instant::now() + SWUPDATE_ANSWER_GRACE),
                    _ => {}
                }
            }
            _ = stream.read_some(), if reading => {}
            _ = tokio::time::sleep_until(grace.unwrap_or(deadline)), if grace.is_some() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    let http = match &response {
        Some(Ok(r)) => {
            transcript.push_str(&format!("< {}\n", escape_bytes(&r.raw)));
            format!("HTTP {}", r.status)
        }
        Some(Err(ExchangeError::Harness(why))) => return Delivered::not_delivered(why.clone()),
        Some(Err(ExchangeError::Device(why))) => {
            transcript.push_str(&format!("# {why}\n"));
            format!("no HTTP answer ({why})")
        }
        None => {
            transcript.push_str("# no HTTP answer: SWUpdate stopped reading the upload\n");
            "no HTTP answer (SWUpdate stopped reading the upload)".to_owned()
        }
    };
    if stream.terminal().is_some() {
        stream
            .wait_idle(deadline.min(Instant::now() + SWUPDATE_IDLE_WAIT))
            .await;
    }
    transcript.push_str(&stream.transcript);
    let ready_again = stream.terminal().map(|_| {
        if stream.idle_again() {
            Ok("SWUpdate said it waits for requests again".to_owned())
        } else {
            Err(format!(
                "SWUpdate did not say it waits for requests again within {}s of its install result{}",
                SWUPDATE_IDLE_WAIT.as_secs(),
                stream.ended().map(|why| format!(" ({why})")).unwrap_or_default()
            ))
        }
    });
    let errors = if stream.errors.is_empty() {
        String::new()
    } else {
        format!(": {}", stream.errors.join("; "))
    };
    let answer = match (stream.terminal(), &response) {
        (Some(InstallStatus::Success), _) => {
            ChannelAnswer::Success(format!("{http}, and SWUpdate reported SUCCESS"))
        }
        (Some(InstallStatus::Failure), _) => {
            ChannelAnswer::Refusal(format!("{http}, and SWUpdate reported FAILURE{errors}"))
        }
        (None, Some(Ok(r))) if !matches!(classify_status(r.status), ChannelAnswer::Success(_)) => {
            classify_status(r.status)
        }
        (None, _) => ChannelAnswer::NoAnswer(format!(
            "{http}, and SWUpdate reported no install result{}",
            stream
                .ended()
                .map(|why| format!(" ({why})"))
                .unwrap_or_default()
        )),
    };
    Delivered {
        answer,
        transcript,
        ready_again,
    }
}

fn host_header(address: IpAddr, port: u16) -> String {
    match address {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn multipart(artifact: &Artifact, image_field: &str, signature_field: &str) -> (String, Vec<u8>) {
    let boundary = format!(
        "iotcert-{}",
        crate::sha256_hex(&artifact.image)
            .get(..24)
            .unwrap_or("boundary")
    );
    let mut body = Vec::new();
    let mut part = |field: &str, file: &str, data: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    part(image_field, "update.img", &artifact.image);
    if let Some(signature) = &artifact.signature {
        part(signature_field, "update.img.sig", signature);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Paths of an artifact written to disk for a program or a server.
struct ArtifactPaths {
    image: PathBuf,
    signature: PathBuf,
    /// Certificate of the `serve` channel's HTTPS server (`{ca}` in a trigger).
    server_certificate: PathBuf,
}

fn write_artifact(
    workdir: &Path,
    artifact: &Artifact,
    format: UpdateFormat,
) -> Result<ArtifactPaths, String> {
    // Update tools look at the extension: `rauc` and `swupdate` users name bundles so.
    let name = match format {
        UpdateFormat::Swu => "update.swu",
        UpdateFormat::Rauc => "update.raucb",
        UpdateFormat::Plain => "update.img",
    };
    let image = workdir.join(name);
    let signature = workdir.join(format!("{name}.sig"));
    std::fs::write(&image, &artifact.image)
        .map_err(|e| format!("cannot write {}: {e}", image.display()))?;
    std::fs::write(
        &signature,
        artifact.signature.as_deref().unwrap_or_default(),
    )
    .map_err(|e| format!("cannot write {}: {e}", signature.display()))?;
    Ok(ArtifactPaths {
        image,
        signature,
        server_certificate: workdir.join(SERVER_CERTIFICATE),
    })
}

/// Replaces the placeholders of a program argument: the unit's id and address always,
/// the artifact's paths and the served URL where there are some.
fn substitute(
    argument: &str,
    paths: Option<&ArtifactPaths>,
    url: Option<&str>,
    unit: &SampleUnit,
) -> String {
    let mut out = argument
        .replace("{unit}", &unit.id)
        .replace("{address}", &unit.address.to_string());
    if let Some(paths) = paths {
        out = out
            .replace("{image}", &paths.image.to_string_lossy())
            .replace("{signature}", &paths.signature.to_string_lossy());
    }
    if let (Some(url), Some(paths)) = (url, paths) {
        out = out
            .replace("{url}", url)
            .replace("{ca}", &paths.server_certificate.to_string_lossy());
    }
    out
}

fn resolve_program(base: &Path, program: &Path) -> PathBuf {
    if program.components().count() > 1 {
        resolve(base, program)
    } else {
        program.to_path_buf()
    }
}

/// Why a program gave no exit status.
enum RunFailure {
    /// It could not be started: the harness's (or the profile's) fault.
    CannotRun(String),
    /// It ran but did not finish in time, or could not be waited for.
    Device(String),
}

impl RunFailure {
    fn text(&self) -> &str {
        match self {
            RunFailure::CannotRun(why) | RunFailure::Device(why) => why,
        }
    }
}

/// What a program did.
struct ProgramRun {
    code: Option<i32>,
    /// Standard output, capped.
    stdout: Vec<u8>,
    transcript: String,
    failure: Option<RunFailure>,
}

impl ProgramRun {
    fn summary(&self) -> String {
        match (&self.failure, self.code) {
            (Some(why), _) => why.text().to_owned(),
            (None, Some(code)) => format!("exit status {code}"),
            (None, None) => "killed by a signal".to_owned(),
        }
    }
}

/// Runs a program with a timeout, keeping at most [`MAX_RESPONSE`] bytes of each output.
async fn run_program(program: &Path, args: &[String], timeout: Duration) -> ProgramRun {
    let mut transcript = format!("$ {} {}\n", program.display(), args.join(" "));
    let spawned = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let why = format!("cannot run {}: {error}", program.display());
            transcript.push_str(&why);
            return ProgramRun {
                code: None,
                stdout: Vec::new(),
                transcript,
                failure: Some(RunFailure::CannotRun(why)),
            };
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let (out, err, status) =
            tokio::join!(read_capped(stdout), read_capped(stderr), child.wait());
        (out, err, status)
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => {
            let _ = child.kill().await;
            let why = format!("timed out after {}s and was killed", timeout.as_secs());
            transcript.push_str(&why);
            ProgramRun {
                code: None,
                stdout: Vec::new(),
                transcript,
                failure: Some(RunFailure::Device(why)),
            }
        }
        Ok((out, err, status)) => {
            transcript.push_str(&format!(
                "stdout: {}\nstderr: {}\n",
                escape_bytes(&out),
                escape_bytes(&err)
            ));
            match status {
                Ok(status) => ProgramRun {
                    code: status.code(),
                    stdout: out,
                    transcript,
                    failure: None,
                },
                Err(error) => ProgramRun {
                    code: None,
                    stdout: out,
                    transcript,
                    failure: Some(RunFailure::Device(format!("wait failed: {error}"))),
                },
            }
        }
    }
}

async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>) -> Vec<u8> {
    let Some(mut reader) = reader else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    // Read to the end so the program never blocks on a full pipe; keep only the cap.
    while let Ok(count) = reader.read(&mut chunk).await {
        if count == 0 {
            break;
        }
        let room = MAX_RESPONSE.saturating_sub(kept.len()).min(count);
        kept.extend_from_slice(chunk.get(..room).unwrap_or_default());
    }
    kept
}

/// An HTTP response, as read.
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// Head and body as received, capped.
    pub raw: Vec<u8>,
}

/// Why an HTTP exchange gave no response.
pub enum ExchangeError {
    /// The harness could not make the request (an unreadable CA file, a TLS setup error,
    /// an address outside the profile's scope).
    Harness(String),
    /// The device did not answer: refused, reset, silent, not HTTP.
    Device(String),
}

impl ExchangeError {
    pub fn text(&self) -> &str {
        match self {
            ExchangeError::Harness(why) | ExchangeError::Device(why) => why,
        }
    }
}

/// A connection to a unit's port, TLS when `tls` is `Some` (verified against the CA file
/// when it holds one).
async fn open_connection(
    ctx: &RunContext,
    unit: &SampleUnit,
    port: u16,
    tls: Option<&Option<PathBuf>>,
    timeout: Duration,
) -> Result<Box<dyn swupdate_websocket::Connection>, ExchangeError> {
    let config = match tls {
        Some(ca) => Some(client_config(ca.as_deref()).map_err(ExchangeError::Harness)?),
        None => None,
    };
    let connection = ctx
        .connect_tcp(unit, port, QUERY_TIMEOUT.min(timeout))
        .await
        .map_err(|e| match e {
            iotcert_suite::NetError::OutOfScope(why)
            | iotcert_suite::NetError::LocalResources(why) => ExchangeError::Harness(why),
            other => ExchangeError::Device(format!(
                "cannot connect to {}:{port}: {other}",
                unit.address
            )),
        })?;
    let (stream, _permit) = connection.into_parts();
    match config {
        None => Ok(Box::new(stream)),
        Some(config) => {
            let name = rustls::pki_types::ServerName::IpAddress(unit.address.into());
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let stream = tokio::time::timeout(QUERY_TIMEOUT, connector.connect(name, stream))
                .await
                .map_err(|_| ExchangeError::Device("TLS handshake timed out".to_owned()))?
                .map_err(|e| ExchangeError::Device(format!("TLS handshake failed: {e}")))?;
            Ok(Box::new(stream))
        }
    }
}

/// One request over a fresh connection (TLS when `tls` is `Some`, verified against the CA
/// file when it holds one), the response read until close or its Content-Length.
async fn http_exchange(
    ctx: &RunContext,
    unit: &SampleUnit,
    port: u16,
    tls: Option<&Option<PathBuf>>,
    head: &[u8],
    body: &[u8],
    timeout: Duration,
) -> Result<HttpResponse, ExchangeError> {
    let stream = open_connection(ctx, unit, port, tls, timeout).await?;
    exchange_on(stream, head, body, timeout)
        .await
        .map_err(ExchangeError::Device)
}

async fn exchange_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    head: &[u8],
    body: &[u8],
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let deadline = Instant::now() + timeout;
    let send = async {
        stream.write_all(head).await?;
        stream.write_all(body).await?;
        stream.flush().await
    };
    // A device may answer (413, 403) before reading the whole body and close: read anyway.
    let send_error = match tokio::time::timeout_at(deadline, send).await {
        Err(_) => return Err("sending timed out".to_owned()),
        Ok(result) => result.err(),
    };
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if received.len() >= MAX_RESPONSE || response_complete(&received) {
            break;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => break,
            Ok(Err(_)) | Ok(Ok(0)) => break,
            Ok(Ok(count)) => {
                let room = MAX_RESPONSE.saturating_sub(received.len()).min(count);
                received.extend_from_slice(chunk.get(..room).unwrap_or_default());
            }
        }
    }
    let (status, body) = parse_response(&received).ok_or_else(|| match &send_error {
        Some(error) => {
            format!("the connection failed while sending ({error}) and no response came")
        }
        None if received.is_empty() => "no response before the timeout".to_owned(),
        None => "the response is not HTTP".to_owned(),
    })?;
    Ok(HttpResponse {
        status,
        body,
        raw: received,
    })
}

/// The head of an HTTP/1.x response at the start of `bytes`, once its blank line arrived.
fn response_head(bytes: &[u8]) -> Option<Head> {
    http::parse_head(bytes, &Limits::DEFAULT)
        .filter(|head| head.protocol.starts_with("HTTP/1.") && head.length.is_some())
}

/// Whether the whole response has arrived: its head, and the body its framing declares
/// (a body that ends with the connection ends when the device closes).
fn response_complete(bytes: &[u8]) -> bool {
    let Some(head) = response_head(bytes) else {
        return false;
    };
    let body = head
        .length
        .and_then(|end| bytes.get(end..))
        .unwrap_or_default();
    let framing = head.framing();
    framing != Framing::UntilClose && read_body(framing, body, MAX_RESPONSE).is_ok()
}

/// Status and body of a response (the body cut to its Content-Length, or its chunks
/// decoded, once whole; what arrived otherwise).
pub fn parse_response(bytes: &[u8]) -> Option<(u16, Vec<u8>)> {
    let head = response_head(bytes)?;
    let rest = bytes.get(head.length?..)?;
    let body = read_body(head.framing(), rest, MAX_RESPONSE)
        .map_or_else(|_| rest.to_vec(), |body| body.content);
    Some((head.status, body))
}

fn client_config(ca: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match ca {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            for der in
                crate::keys::certificates_from_file_bytes(&bytes).map_err(|e| e.to_string())?
            {
                roots.add(der.into()).map_err(|e| e.to_string())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        // Any server certificate: the update endpoint's TLS is the tls suite's to judge,
        // not this one's (handshake signatures are still checked).
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RecordingVerifier::new(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Reads the running version through the profile's query.
pub async fn query_version(
    ctx: &RunContext,
    unit: &SampleUnit,
    query: &VersionQuery,
    base: &Path,
) -> Result<String, String> {
    match query {
        VersionQuery::Http {
            port,
            tls,
            ca_certificate,
            path,
            json_field,
        } => {
            let head = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: iotcert-update\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
                host_header(unit.address, *port)
            );
            let tls = tls.then(|| ca_certificate.as_ref().map(|p| resolve(base, p)));
            let response = http_exchange(
                ctx,
                unit,
                *port,
                tls.as_ref(),
                head.as_bytes(),
                &[],
                QUERY_TIMEOUT,
            )
            .await
            .map_err(|e| e.text().to_owned())?;
            if response.status != 200 {
                return Err(format!("version query answered HTTP {}", response.status));
            }
            let document: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|e| format!("version query answered no JSON: {e}"))?;
            document
                .get(json_field)
                .and_then(serde_json::Value::as_str)
                .map(one_line)
                .ok_or_else(|| format!("version query has no string field {json_field:?}"))
        }
        VersionQuery::Command { program, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| substitute(a, None, None, unit))
                .collect();
            let run = run_program(&resolve_program(base, program), &args, QUERY_TIMEOUT).await;
            match (run.code, run.failure) {
                (_, Some(why)) => Err(why.text().to_owned()),
                (Some(0), None) => Ok(one_line(String::from_utf8_lossy(&run.stdout).trim())),
                (code, None) => Err(format!("version command failed with {code:?}")),
            }
        }
    }
}

/// How the suite asks whether a unit still works after it refused an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthProbe {
    /// The version query (it answered before the first image).
    VersionQuery,
    /// A TCP connection to the upload port.
    UploadPort(u16),
}

impl HealthProbe {
    /// What the probe is, for a report.
    pub fn describe(self) -> String {
        match self {
            HealthProbe::VersionQuery => "the version query".to_owned(),
            HealthProbe::UploadPort(port) => format!("a connection to the upload port {port}/tcp"),
        }
    }
}

/// Whether the device still answers the probe.
pub async fn probe_health(
    ctx: &RunContext,
    unit: &SampleUnit,
    options: &UpdateOptions,
    base: &Path,
    probe: HealthProbe,
) -> Result<String, String> {
    match (probe, &options.version_query) {
        (HealthProbe::VersionQuery, Some(query)) => query_version(ctx, unit, query, base)
            .await
            .map(|v| format!("answers, version {v}")),
        (HealthProbe::VersionQuery, None) => Err("no version query in the profile".to_owned()),
        (HealthProbe::UploadPort(port), _) => ctx
            .connect_tcp(unit, port, QUERY_TIMEOUT)
            .await
            .map(|_| format!("accepts connections on {port}/tcp"))
            .map_err(|e| format!("port {port}/tcp: {e}")),
    }
}

/// Where and how the `serve` channel serves, and for which unit.
struct ServeSetup<'a> {
    format: UpdateFormat,
    bind: IpAddr,
    port: u16,
    tls: bool,
    trigger: Option<&'a iotcert_suite::profile::CommandSpec>,
    base: &'a Path,
    workdir: &'a Path,
    unit: &'a SampleUnit,
}

async fn serve(setup: ServeSetup<'_>, artifact: &Artifact, timeout: Duration) -> Delivered {
    let ServeSetup {
        format,
        bind,
        port,
        tls,
        trigger,
        base,
        workdir,
        unit,
    } = setup;
    let (listener, local) = match listen_on_loopback(bind, port).await {
        Ok(bound) => bound,
        Err(why) => return Delivered::not_delivered(why),
    };
    let paths = match write_artifact(workdir, artifact, format) {
        Ok(paths) => paths,
        Err(why) => return Delivered::not_delivered(why),
    };
    let acceptor = if tls {
        match server_tls(bind, workdir) {
            Ok(acceptor) => Some(acceptor),
            Err(why) => return Delivered::not_delivered(why),
        }
    } else {
        None
    };
    let scheme = if tls { "https" } else { "http" };
    let url = format!(
        "{scheme}://{}/update.img",
        host_header(local.ip(), local.port())
    );
    let mut transcript = format!("# serving {} bytes at {url}\n", artifact.image.len());
    let server = serve_requests(listener, acceptor, artifact.clone(), timeout);
    let (fetches, trigger_run) = match trigger {
        Some(command) => {
            let args: Vec<String> = command
                .args
                .iter()
                .map(|a| substitute(a, Some(&paths), Some(&url), unit))
                .collect();
            let program = resolve_program(base, &command.program);
            let run = run_program(&program, &args, timeout);
            let (fetches, run) = tokio::join!(server, run);
            (fetches, Some(run))
        }
        None => (server.await, None),
    };
    for fetch in &fetches {
        transcript.push_str(&format!("< {}\n> {}\n", escape_bytes(&fetch.0), fetch.1));
    }
    let fetched = fetches.iter().any(|f| f.2);
    if let Some(run) = &trigger_run {
        transcript.push_str(&run.transcript);
    }
    Delivered {
        answer: served_answer(fetched, trigger_run.as_ref(), timeout),
        transcript,
        ready_again: None,
    }
}

/// The update server's listener, on a loopback address only, and the address it got.
async fn listen_on_loopback(
    bind: IpAddr,
    port: u16,
) -> Result<(tokio::net::TcpListener, SocketAddr), String> {
    if !bind.is_loopback() {
        return Err(format!(
            "refusing to serve images on {bind}: the update server binds loopback only"
        ));
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(bind, port))
        .await
        .map_err(|e| format!("cannot bind the update server to {bind}:{port}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("update server has no address: {e}"))?;
    Ok((listener, local))
}

/// What serving the image says: without a trigger, only whether the device fetched it
/// (the version query tells whether it was installed); with one, the trigger's exit
/// status weighed against whether the image was fetched.
fn served_answer(
    fetched: bool,
    trigger_run: Option<&ProgramRun>,
    timeout: Duration,
) -> ChannelAnswer {
    let fetch_note = if fetched {
        "image fetched"
    } else {
        "image not fetched"
    };
    let Some(run) = trigger_run else {
        return if fetched {
            ChannelAnswer::Success(format!(
                "{fetch_note}; whether it was installed is for the version query to tell"
            ))
        } else {
            ChannelAnswer::NoAnswer(format!("{fetch_note} within {}s", timeout.as_secs()))
        };
    };
    let said = format!("{}; {fetch_note}", run.summary());
    match (&run.failure, run.code, fetched) {
        (Some(RunFailure::CannotRun(_)), _, _) => ChannelAnswer::NotDelivered(said),
        (Some(RunFailure::Device(_)), _, _) | (None, None, _) => ChannelAnswer::NoAnswer(said),
        (None, Some(0), true) => ChannelAnswer::Success(said),
        (None, Some(_), true) => ChannelAnswer::Refusal(said),
        (None, Some(0), false) => ChannelAnswer::Unclear(format!(
            "{said}: the trigger reported success for an image the device never fetched"
        )),
        (None, Some(_), false) => ChannelAnswer::NoAnswer(format!(
            "{said}: the device never fetched the image, so it did not judge it"
        )),
    }
}

fn server_tls(bind: IpAddr, workdir: &Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![rcgen::SanType::IpAddress(bind)];
    let certificate = params.self_signed(&key).map_err(|e| e.to_string())?;
    let ca_path = workdir.join(SERVER_CERTIFICATE);
    std::fs::write(&ca_path, certificate.pem())
        .map_err(|e| format!("cannot write {}: {e}", ca_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .map_err(|e| e.to_string())?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Serves `/update.img` and `/update.img.sig` until `timeout` or [`MAX_SERVED_REQUESTS`];
/// returns each request head, the answer, and whether the whole image was sent.
async fn serve_requests(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    artifact: Artifact,
    timeout: Duration,
) -> Vec<(Vec<u8>, String, bool)> {
    let deadline = Instant::now() + timeout;
    let mut served = Vec::new();
    while served.len() < MAX_SERVED_REQUESTS {
        let Ok(Ok((stream, _))) = tokio::time::timeout_at(deadline, listener.accept()).await else {
            break;
        };
        let outcome = match &tls {
            None => answer_one(stream, &artifact, deadline).await,
            Some(acceptor) => {
                match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => answer_one(stream, &artifact, deadline).await,
                    _ => (Vec::new(), "TLS handshake failed".to_owned(), false),
                }
            }
        };
        let image_sent = outcome.2;
        served.push(outcome);
        if image_sent {
            break;
        }
    }
    served
}

async fn answer_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    artifact: &Artifact,
    deadline: Instant,
) -> (Vec<u8>, String, bool) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while http::head_end(&head).is_none() && head.len() < 16 * 1024 {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(count)) if count > 0 => {
                head.extend_from_slice(chunk.get(..count).unwrap_or_default())
            }
            _ => return (head, "no complete request".to_owned(), false),
        }
    }
    let request_line = head
        .split(|&b| b == b'\r')
        .next()
        .unwrap_or_default()
        .to_vec();
    let target = request_line
        .split(|&b| b == b' ')
        .nth(1)
        .unwrap_or_default();
    let (status, body, is_image) = match target {
        b"/update.img" => ("200 OK", artifact.image.as_slice(), true),
        b"/update.img.sig" => match &artifact.signature {
            Some(signature) => ("200 OK", signature.as_slice(), false),
            None => ("404 Not Found", &b""[..], false),
        },
        _ => ("404 Not Found", &b""[..], false),
    };
    let response = format!("HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let send = async {
        stream.write_all(response.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.shutdown().await
    };
    let sent = matches!(tokio::time::timeout_at(deadline, send).await, Ok(Ok(())));
    (
        request_line,
        format!(
            "{status}, {} bytes{}",
            body.len(),
            if sent { "" } else { " (not all sent)" }
        ),
        sent && is_image,
    )
}
