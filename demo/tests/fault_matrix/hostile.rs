//! Hostile devices for the fault matrix: one loopback address per fault, every declared
//! interface (and one undeclared debug port) misbehaving the same way.
//!
//! The transport faults (nothing listening, RST on accept, silent, garbage) hide every
//! property a check could judge, so no check may PASS against them. The protocol faults
//! speak each protocol: `accept-any` is an insecure device that lets any password and
//! any image in, announces its versions, has an open debug port and a parser that
//! crashes (a watchdog restarts it after a second); `refuse-all` refuses every login and
//! every image, the genuine one included, so no check can tell a good answer from a bad
//! one; `slow-parts` and `byte-a-second` are the insecure device answering each write in
//! two parts 0.6 s apart or one byte a second, its flaws in the later parts. The TLS port
//! never completes a handshake in any fault (it speaks the same plaintext), so no TLS
//! check observes its positive control.

use iotcert_testbed::adb;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};

pub const TELNET: u16 = 2323;
pub const HTTP: u16 = 8080;
pub const HTTPS: u16 = 8443;
pub const MQTT: u16 = 1883;
pub const COAP: u16 = 5683;
/// Not declared in the profile: the ports suite must find it.
pub const ADB: u16 = 5555;

/// The version the device reports before any image is installed.
pub const RUNNING_VERSION: &str = "1.1.0";
/// Longest a hostile connection is kept open.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(45);
/// Most bytes read from one request.
const READ_CAP: usize = 8 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Nothing,
    ResetOnAccept,
    Silent,
    AcceptAny,
    RefuseAll,
    SlowParts,
    ByteASecond,
    Garbage,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::Nothing,
        Fault::ResetOnAccept,
        Fault::Silent,
        Fault::AcceptAny,
        Fault::RefuseAll,
        Fault::SlowParts,
        Fault::ByteASecond,
        Fault::Garbage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Nothing => "nothing listening",
            Fault::ResetOnAccept => "RST on accept",
            Fault::Silent => "accept, silent",
            Fault::AcceptAny => "accept any",
            Fault::RefuseAll => "refuse all",
            Fault::SlowParts => "slow parts",
            Fault::ByteASecond => "byte a second",
            Fault::Garbage => "garbage",
        }
    }

    /// How the device's own answers are written.
    fn pace(self) -> Pace {
        match self {
            Fault::SlowParts => Pace::TwoParts,
            Fault::ByteASecond => Pace::ByteASecond,
            _ => Pace::AtOnce,
        }
    }

    /// Whether the device, when it answers, accepts every login and image.
    fn accepts(self) -> bool {
        matches!(
            self,
            Fault::AcceptAny | Fault::SlowParts | Fault::ByteASecond
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pace {
    AtOnce,
    TwoParts,
    ByteASecond,
}

/// A running hostile device; its services stop when it is dropped.
pub struct HostileDevice {
    tasks: JoinSet<()>,
}

impl Drop for HostileDevice {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// What the device remembers across connections.
struct State {
    fault: Fault,
    version: Mutex<String>,
    /// Until when the crashed parsers stay down (the watchdog's restart).
    crashed_until: Mutex<Option<Instant>>,
}

impl State {
    fn crash(&self) {
        if let Ok(mut until) = self.crashed_until.lock() {
            *until = Some(Instant::now() + Duration::from_secs(1));
        }
    }

    fn is_down(&self) -> bool {
        self.crashed_until
            .lock()
            .map(|until| until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }
}

#[derive(Clone, Copy)]
enum Service {
    Telnet,
    Http,
    Mqtt,
    Adb,
}

pub async fn start(fault: Fault, address: IpAddr) -> io::Result<HostileDevice> {
    let mut tasks = JoinSet::new();
    if fault == Fault::Nothing {
        return Ok(HostileDevice { tasks });
    }
    let state = Arc::new(State {
        fault,
        version: Mutex::new(RUNNING_VERSION.to_owned()),
        crashed_until: Mutex::new(None),
    });
    for (port, service) in [
        (TELNET, Service::Telnet),
        (HTTP, Service::Http),
        (HTTPS, Service::Http),
        (MQTT, Service::Mqtt),
        (ADB, Service::Adb),
    ] {
        let listener = TcpListener::bind(SocketAddr::new(address, port)).await?;
        let state = Arc::clone(&state);
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    let _ = timeout(CONNECTION_LIFETIME, serve(stream, service, &state)).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
    }
    let udp = UdpSocket::bind(SocketAddr::new(address, COAP)).await?;
    tasks.spawn(serve_coap(udp, state));
    Ok(HostileDevice { tasks })
}

async fn serve(mut stream: TcpStream, service: Service, state: &State) -> io::Result<()> {
    match state.fault {
        Fault::Nothing => Ok(()),
        Fault::ResetOnAccept => {
            socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
            Ok(())
        }
        Fault::Silent => {
            drain(&mut stream).await;
            Ok(())
        }
        Fault::Garbage => {
            let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
            let mut buffer = [0u8; 2048];
            for _ in 0..16 {
                stream.write_all(&noise.bytes(512)).await?;
                match timeout(Duration::from_millis(500), stream.read(&mut buffer)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    _ => {}
                }
            }
            Ok(())
        }
        _ => {
            if state.is_down() {
                socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
            let pace = state.fault.pace();
            match service {
                Service::Telnet => telnet(stream, state, pace).await,
                Service::Http => http(stream, state, pace).await,
                Service::Mqtt => mqtt(stream, state, pace).await,
                Service::Adb => adb_service(stream, state, pace).await,
            }
        }
    }
}

/// Read and throw away what a client sends until it closes (capped).
async fn drain(stream: &mut TcpStream) {
    let mut buffer = [0u8; 4096];
    let mut total = 0usize;
    while let Ok(n) = stream.read(&mut buffer).await {
        total += n;
        if n == 0 || total > READ_CAP {
            break;
        }
    }
}

/// Write as the fault paces it.
async fn send<W: AsyncWrite + Unpin>(stream: &mut W, bytes: &[u8], pace: Pace) -> io::Result<()> {
    match pace {
        Pace::AtOnce => stream.write_all(bytes).await?,
        Pace::TwoParts => {
            let (first, second) = bytes.split_at(bytes.len() / 2);
            stream.write_all(first).await?;
            stream.flush().await?;
            sleep(Duration::from_millis(600)).await;
            stream.write_all(second).await?;
        }
        Pace::ByteASecond => {
            for byte in bytes {
                stream.write_all(&[*byte]).await?;
                stream.flush().await?;
                sleep(Duration::from_secs(1)).await;
            }
        }
    }
    stream.flush().await
}

/// One line from a telnet client, option negotiation stripped; `None` at the end.
async fn telnet_line<R: AsyncRead + Unpin>(stream: &mut R) -> Option<String> {
    let mut line = Vec::new();
    let mut skip = 0usize;
    loop {
        let byte = stream.read_u8().await.ok()?;
        if skip > 0 {
            skip -= 1;
            continue;
        }
        match byte {
            0xff => skip = 2,
            b'\n' => break,
            b'\r' | 0 => {}
            other => line.push(other),
        }
        if line.len() > 4096 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

async fn telnet(mut stream: TcpStream, state: &State, pace: Pace) -> io::Result<()> {
    let banner = "Street light controller\r\nfirmware 4.2.1 on BusyBox v1.30.1 (Linux 4.14.98)\r\n\r\nlogin: ";
    send(&mut stream, banner.as_bytes(), pace).await?;
    for _ in 0..64 {
        if telnet_line(&mut stream).await.is_none() {
            return Ok(());
        }
        send(&mut stream, b"Password: ", pace).await?;
        if telnet_line(&mut stream).await.is_none() {
            return Ok(());
        }
        if state.fault.accepts() {
            send(&mut stream, b"\r\n# ", pace).await?;
            for _ in 0..64 {
                let Some(command) = telnet_line(&mut stream).await else {
                    return Ok(());
                };
                let answer = match command.trim().strip_prefix("echo ") {
                    Some(text) => format!("{}\r\n# ", text.trim_matches(['\'', '"'])),
                    None if command.trim() == "exit" => return Ok(()),
                    None => "# ".to_owned(),
                };
                send(&mut stream, answer.as_bytes(), pace).await?;
            }
            return Ok(());
        }
        send(&mut stream, b"\r\nLogin incorrect\r\nlogin: ", pace).await?;
    }
    Ok(())
}

/// One HTTP request: its head (lower-cased header names kept as sent) and body.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if bytes.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(buffer.get(..n)?);
    };
    let head = String::from_utf8_lossy(bytes.get(..head_end)?).into_owned();
    let mut body = bytes.get(head_end..)?.to_vec();
    let request = Request {
        head,
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(READ_CAP);
    while body.len() < length {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(buffer.get(..n)?);
    }
    Some(Request { body, ..request })
}

async fn http(mut stream: TcpStream, state: &State, pace: Pace) -> io::Result<()> {
    let Some(request) = read_request(&mut stream).await else {
        return Ok(());
    };
    let line = request.request_line().to_owned();
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if !line.ends_with("HTTP/1.1") && !line.ends_with("HTTP/1.0") {
        // A malformed request line crashes the parser (the fuzzing suite's finding);
        // what is not HTTP at all (a TLS hello from another suite) is only dropped.
        let looks_like_http = line.bytes().next().is_some_and(|b| b.is_ascii_uppercase());
        if state.fault.accepts() && looks_like_http {
            state.crash();
        }
        return Ok(());
    }
    let accepts = state.fault.accepts();
    let version = state.version.lock().map(|v| v.clone()).unwrap_or_default();
    let (status, extra, body) = match (method, path) {
        ("GET", "/version") => (
            "200 OK",
            "Content-Type: application/json\r\n".to_owned(),
            format!("{{\"firmware_version\":\"{version}\"}}"),
        ),
        ("POST", "/update") if accepts => {
            let installed = iotcert_testbed::update::image_version(&request.body)
                .unwrap_or_else(|_| "9.9.9".to_owned());
            if let Ok(mut running) = state.version.lock() {
                *running = installed.clone();
            }
            (
                "200 OK",
                "Content-Type: application/json\r\n".to_owned(),
                format!("{{\"installed\":true,\"firmware_version\":\"{installed}\"}}"),
            )
        }
        ("POST", "/update") => ("403 Forbidden", String::new(), "image refused".to_owned()),
        _ if accepts && request.header("authorization").is_some() => (
            "200 OK",
            "Set-Cookie: session=0123456789abcdef; Path=/\r\nContent-Type: text/html\r\n"
                .to_owned(),
            "<html><body>Street light administration: welcome, admin</body></html>".to_owned(),
        ),
        _ => (
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"street light\"\r\nContent-Type: text/html\r\n"
                .to_owned(),
            "<html><body>login required</body></html>".to_owned(),
        ),
    };
    let server = if accepts {
        "Server: lighttpd/1.4.45 (firmware 4.2.1)\r\n"
    } else {
        "Server: httpd\r\n"
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{server}{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    send(&mut stream, response.as_bytes(), pace).await
}

/// One MQTT control packet: type, flags and body; `None` at the end or on a framing
/// error (which crashes the accepting device's parser).
async fn mqtt_packet(stream: &mut TcpStream) -> Result<Option<(u8, Vec<u8>)>, ()> {
    let Ok(first) = stream.read_u8().await else {
        return Ok(None);
    };
    let mut length = 0usize;
    for shift in [0u32, 7, 14, 21] {
        let byte = stream.read_u8().await.map_err(|_| ())?;
        length |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let mut body = vec![0u8; length.min(READ_CAP)];
            stream.read_exact(&mut body).await.map_err(|_| ())?;
            return Ok(Some((first, body)));
        }
    }
    Err(())
}

async fn mqtt(mut stream: TcpStream, state: &State, pace: Pace) -> io::Result<()> {
    let mut connected = false;
    for _ in 0..4096 {
        if !connected {
            // What does not start like a CONNECT is not MQTT at all (a TLS hello, a
            // banner probe): dropped, no crash.
            let mut first = [0u8; 1];
            match stream.peek(&mut first).await {
                Ok(1) if first == [0x10] => {}
                _ => return Ok(()),
            }
        }
        let (first, body) = match mqtt_packet(&mut stream).await {
            Ok(Some(packet)) => packet,
            Ok(None) => return Ok(()),
            Err(()) => {
                if state.fault.accepts() {
                    state.crash();
                }
                return Ok(());
            }
        };
        let kind = first >> 4;
        let well_formed = match kind {
            1 => body.get(2..6) == Some(b"MQTT".as_slice()),
            3 => body.len() >= 2,
            8 | 10 => first & 0x0f == 2 && body.len() >= 4,
            12 | 14 => body.is_empty() || kind == 14,
            _ => false,
        };
        if !well_formed || (kind != 1 && !connected) {
            if state.fault.accepts() {
                state.crash();
            }
            return Ok(());
        }
        let reply: Vec<u8> = match kind {
            1 => {
                let level5 = body.get(6) == Some(&5);
                connected = state.fault.accepts();
                match (level5, connected) {
                    (false, true) => vec![0x20, 2, 0, 0],
                    (false, false) => vec![0x20, 2, 0, 5],
                    (true, true) => vec![0x20, 3, 0, 0, 0],
                    (true, false) => vec![0x20, 3, 0, 0x87, 0],
                }
            }
            8 => {
                let id = body.get(..2).unwrap_or(&[0, 1]).to_vec();
                [vec![0x90, 3], id, vec![0]].concat()
            }
            10 => {
                let id = body.get(..2).unwrap_or(&[0, 1]).to_vec();
                [vec![0xb0, 2], id].concat()
            }
            12 => vec![0xd0, 0],
            14 => return Ok(()),
            _ => Vec::new(),
        };
        if !reply.is_empty() {
            send(&mut stream, &reply, pace).await?;
        }
        if kind == 1 && !connected {
            return Ok(());
        }
    }
    Ok(())
}

async fn adb_service(mut stream: TcpStream, state: &State, pace: Pace) -> io::Result<()> {
    let mut header = [0u8; adb::HEADER_LENGTH];
    if stream.read_exact(&mut header).await.is_err() {
        return Ok(());
    }
    let Ok(parsed) = adb::parse_header(&header) else {
        return Ok(());
    };
    let mut data = vec![0u8; usize::try_from(parsed.data_length).unwrap_or(0)];
    if stream.read_exact(&mut data).await.is_err() {
        return Ok(());
    }
    if parsed.command == adb::A_CNXN && state.fault.accepts() {
        let reply = adb::encode_message(
            adb::A_CNXN,
            adb::A_VERSION,
            adb::MAX_DATA,
            b"device::ro.product.name=streetlight;",
        );
        send(&mut stream, &reply, pace).await?;
        drain(&mut stream).await;
    }
    Ok(())
}

async fn serve_coap(socket: UdpSocket, state: Arc<State>) {
    let mut buffer = vec![0u8; 2048];
    for _ in 0..200_000 {
        let Ok((n, peer)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        let Some(message) = buffer.get(..n) else {
            continue;
        };
        match state.fault {
            Fault::ResetOnAccept | Fault::Silent | Fault::Nothing => continue,
            Fault::Garbage => {
                let _ = socket.send_to(&Noise(n as u64 + 1).bytes(64), peer).await;
                continue;
            }
            _ => {}
        }
        if state.is_down() {
            continue;
        }
        let (Some(&first), Some(&code)) = (message.first(), message.get(1)) else {
            continue;
        };
        let token_length = usize::from(first & 0x0f);
        if first >> 6 != 1 || token_length > 8 || message.len() < 4 + token_length {
            if state.fault.accepts() {
                state.crash();
            }
            continue;
        }
        if code != 1 {
            continue;
        }
        let (response_code, payload): (u8, &[u8]) = if state.fault.accepts() {
            (0x45, b"street light firmware 4.2.1")
        } else {
            (0x81, b"")
        };
        let mut reply = vec![0x60 | (first & 0x0f), response_code];
        reply.extend_from_slice(message.get(2..4 + token_length).unwrap_or_default());
        if !payload.is_empty() {
            reply.push(0xff);
            reply.extend_from_slice(payload);
        }
        let delay = match state.fault.pace() {
            Pace::AtOnce => Duration::ZERO,
            Pace::TwoParts => Duration::from_millis(600),
            Pace::ByteASecond => Duration::from_secs(5),
        };
        sleep(delay).await;
        let _ = socket.send_to(&reply, peer).await;
    }
}

/// Deterministic pseudo-random bytes (xorshift), so a failing matrix run can be replayed.
struct Noise(u64);

impl Noise {
    fn bytes(&mut self, count: usize) -> Vec<u8> {
        (0..count)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0.to_le_bytes()[0]
            })
            .collect()
    }
}
