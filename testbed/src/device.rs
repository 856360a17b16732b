//! Starting, describing and stopping one virtual device.
//!
//! [`start`] decides from the flaws which services the device runs, binds every one of
//! them to the device's own address before returning (so a caller can scan it at once),
//! and spawns one accept loop per listener. All tasks of a device are tracked, so
//! [`RunningDevice::shutdown`] returns only when every listener is closed and every
//! connection has ended; dropping a [`RunningDevice`] cancels them the same way without
//! waiting.

use crate::accounts::Accounts;
use crate::config::{port, DeviceConfig, Flaws};
use crate::limits::{self, MAX_CONNECTIONS_PER_DEVICE};
use crate::sessions::Sessions;
use crate::state::DeviceState;
use crate::subscriptions::Broker;
use crate::{adb, admin, broker, coap, http, ssh, telnet, tls, update};
use iotcert_suite::profile::{Authentication, Interface, Transport};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Pause after a failed accept (for example when out of file descriptors), so the loop
/// waits for resources instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Why a device could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// The address is a wildcard (`0.0.0.0`, `::`) or multicast: a device binds only an
    /// address of its own.
    #[error("refusing to bind {0}: a virtual device binds only its own unicast address")]
    NotADeviceAddress(IpAddr),
    /// A port was taken, or the address does not exist on this machine.
    #[error("cannot bind {service} to {address} port {port}/{transport}: {source}")]
    Bind {
        service: String,
        address: IpAddr,
        port: u16,
        transport: Transport,
        #[source]
        source: io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("cannot draw random credentials: {0}")]
    Randomness(String),
    /// Certificates or the TLS configuration could not be made.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// One service listening on a device, declared or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub port: u16,
    pub transport: Transport,
    /// Protocol spoken, as a port scanner would name it: `telnet`, `ssh`, `http`, `https`,
    /// `mqtt`, `mqtts`, `coap`, `adb`.
    pub name: String,
    /// Whether the service is wrapped in TLS.
    pub tls: bool,
}

/// What a TCP service does with a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TcpRole {
    Telnet,
    Ssh,
    AdminWeb,
    Update,
    Mqtt,
    Debug,
}

/// What a service of the device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Tcp(TcpRole),
    Coap,
    /// Served by `openssl s_server`, a child process ([`Flaws::legacy_tls`]).
    LegacyTls,
}

/// One service the device runs, with what the manufacturer says about it.
#[derive(Clone, Debug)]
struct PlannedService {
    role: Role,
    port: u16,
    name: &'static str,
    tls: bool,
    /// Whether the manufacturer declares it; the debug service is the one it hides.
    declared: bool,
    authentication: Authentication,
    description: &'static str,
}

impl PlannedService {
    fn transport(&self) -> Transport {
        match self.role {
            Role::Tcp(_) | Role::LegacyTls => Transport::Tcp,
            Role::Coap => Transport::Udp,
        }
    }
}

/// The services a device with these flaws runs, ordered by port.
fn plan(flaws: &Flaws) -> Vec<PlannedService> {
    let service = |role, port, name, tls, authentication, description| PlannedService {
        role,
        port,
        name,
        tls,
        declared: true,
        authentication,
        description,
    };
    let mut services = vec![
        service(
            Role::Tcp(TcpRole::AdminWeb),
            port::HTTPS_ADMIN,
            "https",
            true,
            Authentication::Password,
            "admin web interface",
        ),
        service(
            Role::Tcp(TcpRole::Mqtt),
            port::MQTTS,
            "mqtts",
            true,
            Authentication::Password,
            "MQTT broker",
        ),
        service(
            Role::Tcp(TcpRole::Update),
            port::HTTPS_UPDATE,
            "https",
            true,
            Authentication::None,
            "firmware update endpoint",
        ),
        service(
            Role::Tcp(TcpRole::Ssh),
            port::SSH,
            "ssh",
            false,
            Authentication::Password,
            "SSH administration",
        ),
        service(
            Role::Coap,
            port::COAP,
            "coap",
            false,
            Authentication::None,
            "CoAP status resources",
        ),
    ];
    if flaws.telnet {
        services.push(service(
            Role::Tcp(TcpRole::Telnet),
            port::TELNET,
            "telnet",
            false,
            Authentication::Password,
            "management shell",
        ));
    }
    if flaws.cleartext_http_admin {
        services.push(service(
            Role::Tcp(TcpRole::AdminWeb),
            port::HTTP_ADMIN,
            "http",
            false,
            Authentication::Password,
            "admin web interface",
        ));
    }
    if flaws.cleartext_mqtt {
        services.push(service(
            Role::Tcp(TcpRole::Mqtt),
            port::MQTT,
            "mqtt",
            false,
            Authentication::Password,
            "MQTT broker",
        ));
    }
    if flaws.cleartext_update {
        services.push(service(
            Role::Tcp(TcpRole::Update),
            port::HTTP_UPDATE,
            "http",
            false,
            Authentication::None,
            "firmware update endpoint",
        ));
    }
    if flaws.debug_service {
        services.push(PlannedService {
            declared: false,
            ..service(
                Role::Tcp(TcpRole::Debug),
                port::ADB,
                "adb",
                false,
                Authentication::None,
                "ADB debug service",
            )
        });
    }
    if flaws.legacy_tls {
        services.push(service(
            Role::LegacyTls,
            port::LEGACY_HTTPS,
            "https",
            true,
            Authentication::None,
            "legacy maintenance web (TLS 1.0)",
        ));
    }
    services.sort_by_key(|s| (s.port, s.transport()));
    services
}

/// A device whose services are all listening.
pub struct RunningDevice {
    address: IpAddr,
    services: Vec<PlannedService>,
    state: Arc<DeviceState>,
    trust_anchor_pem: String,
    tls_key_sha256: String,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// Starts a device: binds every service to `config.address` and returns once all are
/// listening. Needs a Tokio runtime (with I/O and timers enabled).
pub async fn start(config: DeviceConfig) -> Result<RunningDevice, TestbedError> {
    let address = config.address;
    if address.is_unspecified() || address.is_multicast() {
        return Err(TestbedError::NotADeviceAddress(address));
    }
    let accounts = Accounts::for_new_unit(&config.flaws)
        .map_err(|error| TestbedError::Randomness(error.to_string()))?;
    let identity =
        tls::identity_for(&config).map_err(|error| TestbedError::Tls(error.to_string()))?;
    let acceptor = TlsAcceptor::from(Arc::clone(&identity.server_config));
    let host_key = ssh::host_key(config.flaws.shared_host_key)
        .map_err(|error| TestbedError::Randomness(error.to_string()))?;
    let ssh_fingerprint = ssh::fingerprint(&host_key);
    let ssh_config = ssh::config(
        host_key,
        !config.flaws.no_login_lockout,
        config.flaws.version_banners,
    );
    let services = plan(&config.flaws);

    let mut tcp_listeners = Vec::new();
    let mut udp_sockets = Vec::new();
    let mut legacy_servers = Vec::new();
    for service in &services {
        let socket_address = SocketAddr::new(address, service.port);
        let bind_error = |source| TestbedError::Bind {
            service: service.name.to_owned(),
            address,
            port: service.port,
            transport: service.transport(),
            source,
        };
        match service.role {
            Role::Tcp(role) => {
                let listener = TcpListener::bind(socket_address)
                    .await
                    .map_err(bind_error)?;
                let tls = service.tls.then(|| acceptor.clone());
                tcp_listeners.push((listener, role, tls));
            }
            Role::Coap => {
                let socket = UdpSocket::bind(socket_address).await.map_err(bind_error)?;
                udp_sockets.push(socket);
            }
            Role::LegacyTls => {
                let server = crate::legacy_tls::LegacyTlsServer::start(address, service.port)
                    .await
                    .map_err(bind_error)?;
                legacy_servers.push(server);
            }
        }
    }

    let state = Arc::new(DeviceState {
        name: config.name,
        flaws: config.flaws,
        accounts,
        sessions: Sessions::default(),
        broker: Broker::default(),
        ssh_config,
        ssh_fingerprint,
        firmware_version: Mutex::new(config.firmware_version),
        update_agent_crashed: std::sync::atomic::AtomicBool::new(false),
        started: Instant::now(),
    });
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let connection_slots = Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_DEVICE));
    for (listener, role, tls) in tcp_listeners {
        let acceptor = AcceptLoop {
            role,
            tls,
            state: Arc::clone(&state),
            connection_slots: Arc::clone(&connection_slots),
            cancel: cancel.clone(),
            tracker: tracker.clone(),
        };
        tracker.spawn(acceptor.run(listener));
    }
    for socket in udp_sockets {
        tracker.spawn(coap::serve(socket, Arc::clone(&state), cancel.clone()));
    }
    for mut server in legacy_servers {
        let cancel = cancel.clone();
        tracker.spawn(async move {
            cancel.cancelled().await;
            server.stop().await;
        });
    }
    if let Some(cloud) = config.cloud {
        let accepts_any = state.flaws.cloud_client_accepts_any_certificate;
        tracker.spawn(crate::cloud::run(
            cloud,
            address,
            accepts_any,
            cancel.clone(),
        ));
    }
    Ok(RunningDevice {
        address,
        services,
        state,
        trust_anchor_pem: identity.trust_anchor_pem,
        tls_key_sha256: identity.key_sha256,
        cancel,
        tracker,
    })
}

/// Accepts the connections of one TCP listener and serves each in its own task.
struct AcceptLoop {
    role: TcpRole,
    tls: Option<TlsAcceptor>,
    state: Arc<DeviceState>,
    connection_slots: Arc<Semaphore>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl AcceptLoop {
    async fn run(self, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                _ = self.cancel.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(_) => {
                    tokio::select! {
                        _ = self.cancel.cancelled() => return,
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                    continue;
                }
            };
            // Over the cap, the connection is closed at once (dropping it sends FIN).
            let Ok(slot) = Arc::clone(&self.connection_slots).try_acquire_owned() else {
                continue;
            };
            // Latency matters more than throughput for prompts and small replies.
            let _ = stream.set_nodelay(true);
            let role = self.role;
            let tls = self.tls.clone();
            let state = Arc::clone(&self.state);
            let cancel = self.cancel.clone();
            self.tracker.spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = serve_connection(role, stream, tls, state) => {}
                }
                drop(slot);
            });
        }
    }
}

/// Serves one accepted connection, after the TLS handshake where the service has TLS.
async fn serve_connection(
    role: TcpRole,
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    state: Arc<DeviceState>,
) {
    match tls {
        None => serve_stream(role, stream, state, false).await,
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(limits::HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            // A failed or stalled handshake ends the connection; rustls has already sent
            // the alert where there was one to send.
            if let Ok(Ok(stream)) = handshake.await {
                serve_stream(role, stream, state, true).await;
            }
        }
    }
}

async fn serve_stream<S>(role: TcpRole, stream: S, state: Arc<DeviceState>, over_tls: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    // How a connection ended (peer left, timed out, broke the protocol) changes nothing
    // for the device: the error has no one to be reported to.
    let _ = match role {
        TcpRole::Telnet => telnet::serve(stream, &state).await,
        TcpRole::Ssh => {
            ssh::serve(stream, state).await;
            Ok(())
        }
        TcpRole::AdminWeb => http::serve(stream, &state, &admin::AdminSite, over_tls).await,
        TcpRole::Update => http::serve(stream, &state, &update::UpdateSite, over_tls).await,
        TcpRole::Mqtt => broker::serve(stream, state).await,
        TcpRole::Debug => adb::serve(stream).await,
    };
}

impl RunningDevice {
    /// The address every service of the device is bound to.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The unit's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The flaws the device was started with.
    pub fn flaws(&self) -> &Flaws {
        &self.state.flaws
    }

    /// What the manufacturer declares: every listening service except the hidden ones
    /// (the debug port of [`Flaws::debug_service`]).
    pub fn declared_interfaces(&self) -> Vec<Interface> {
        self.services
            .iter()
            .filter(|service| service.declared)
            .map(|service| Interface {
                port: service.port,
                transport: service.transport(),
                service: service.name.to_owned(),
                authentication: service.authentication,
                tls: service.tls,
                description: Some(service.description.to_owned()),
            })
            .collect()
    }

    /// Every service actually listening, declared or not, ordered by port.
    pub fn listening(&self) -> Vec<Service> {
        self.services
            .iter()
            .map(|service| Service {
                port: service.port,
                transport: service.transport(),
                name: service.name.to_owned(),
                tls: service.tls,
            })
            .collect()
    }

    /// The administrator's username and password on this unit (telnet, web, MQTT).
    pub fn admin_credentials(&self) -> (String, String) {
        self.state.accounts.credentials()
    }

    /// The `SHA256:...` fingerprint of the unit's SSH host key, as `ssh-keygen -l` shows it.
    pub fn ssh_host_key_fingerprint(&self) -> &str {
        &self.state.ssh_fingerprint
    }

    /// Hex SHA-256 of the SubjectPublicKeyInfo (DER) of the key the unit's rustls TLS
    /// services present: the same on every unit with [`Flaws::shared_tls_key`]. (The legacy
    /// endpoint of [`Flaws::legacy_tls`] has a key of its own.)
    pub fn tls_key_sha256(&self) -> &str {
        &self.tls_key_sha256
    }

    /// PEM of the certificate a client must trust to verify the device's TLS services:
    /// the device CA, or with [`Flaws::self_signed_certificate`] the self-signed leaf.
    pub fn ca_pem(&self) -> &str {
        &self.trust_anchor_pem
    }

    /// The firmware version the device runs now (an accepted update changes it).
    pub fn firmware_version(&self) -> String {
        self.state.firmware_version()
    }

    /// Stops every listener and connection task, and returns when all have ended.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for RunningDevice {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.tracker.close();
    }
}

impl std::fmt::Debug for RunningDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningDevice")
            .field("name", &self.state.name)
            .field("address", &self.address)
            .field("flaws", &self.state.flaws)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_device_runs_only_tls_services_and_coap() {
        let services = plan(&Flaws::none());
        let ports: Vec<u16> = services.iter().map(|s| s.port).collect();
        assert_eq!(
            ports,
            [
                port::SSH,
                port::COAP,
                port::HTTPS_ADMIN,
                port::HTTPS_UPDATE,
                port::MQTTS
            ]
        );
        assert!(services.iter().all(|s| s.declared));
        assert!(services
            .iter()
            .all(|s| s.tls || s.transport() == Transport::Udp || s.name == "ssh"));
    }

    #[test]
    fn insecure_device_hides_only_its_debug_port() {
        let hidden: Vec<u16> = plan(&Flaws::all())
            .iter()
            .filter(|s| !s.declared)
            .map(|s| s.port)
            .collect();
        assert_eq!(hidden, [port::ADB]);
    }
}
