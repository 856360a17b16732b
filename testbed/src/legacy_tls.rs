//! The legacy TLS endpoint of an insecure device ([`crate::Flaws::legacy_tls`]).
//!
//! Many devices in the field still run an old maintenance web server: TLS 1.0 only, a
//! NULL-cipher suite (OpenSSL 3 no longer serves 3DES), and an expired, self-signed RSA-1024 certificate signed with SHA-1.
//! rustls refuses to serve any of that, so this endpoint is `openssl s_server`, run as a
//! child process bound to the device's own address and killed when the device stops.
//! Its certificate is made with the `openssl` command too (rcgen cannot make RSA-1024
//! keys or SHA-1 signatures), in a directory of its own that is removed on shutdown.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Time allowed for `openssl s_server` to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for each `openssl` command that makes the certificate.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// The running `openssl s_server` and its files.
pub(crate) struct LegacyTlsServer {
    child: Child,
    directory: PathBuf,
}

/// Have the kernel kill `command`'s process when the thread that starts it ends, so a
/// device whose process is killed (SIGTERM, SIGKILL, a test that ends without dropping
/// it) leaves no `openssl s_server` listening behind.
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec, and calls only
    // prctl, which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

const CA_CONFIG: &str = "[ca]\ndefault_ca = legacy\n[legacy]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\npolicy = anything\ncopy_extensions = none\n[anything]\ncommonName = supplied\n[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = legacy maintenance\n";

async fn openssl(directory: &Path, arguments: &[&str]) -> io::Result<()> {
    let run = Command::new("openssl")
        .args(arguments)
        .current_dir(directory)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(COMMAND_TIMEOUT, run).await {
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("openssl {} timed out", arguments.join(" ")),
        )),
        Ok(Err(error)) => Err(io::Error::new(
            error.kind(),
            format!("cannot run openssl (package openssl): {error}"),
        )),
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(io::Error::other(format!(
            "openssl {} failed: {status}",
            arguments.join(" ")
        ))),
    }
}

impl LegacyTlsServer {
    /// Makes the certificate and starts `openssl s_server` on `address`:`port`; returns
    /// once it accepts connections.
    pub(crate) async fn start(address: IpAddr, port: u16) -> io::Result<LegacyTlsServer> {
        let directory = std::env::temp_dir().join(format!(
            "iotcert-legacy-tls-{}-{}-{port}",
            std::process::id(),
            address.to_string().replace([':', '.'], "_")
        ));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory)?;
        std::fs::write(directory.join("ca.cnf"), CA_CONFIG)?;
        std::fs::write(directory.join("index.txt"), "")?;
        std::fs::write(directory.join("serial"), "01\n")?;
        openssl(
            &directory,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "key.pem",
            ],
        )
        .await?;
        openssl(
            &directory,
            &[
                "req",
                "-new",
                "-key",
                "key.pem",
                "-out",
                "request.csr",
                "-config",
                "ca.cnf",
            ],
        )
        .await?;
        openssl(
            &directory,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-selfsign",
                "-keyfile",
                "key.pem",
                "-in",
                "request.csr",
                "-out",
                "certificate.pem",
                "-startdate",
                "20230101000000Z",
                "-enddate",
                "20240101000000Z",
                "-md",
                "sha1",
                "-notext",
            ],
        )
        .await?;
        let accept = SocketAddr::new(address, port);
        let mut command = Command::new("openssl");
        command
            .args([
                "s_server",
                "-accept",
                &accept.to_string(),
                "-cert",
                "certificate.pem",
                "-key",
                "key.pem",
                "-tls1",
                "-cipher",
                "NULL-SHA:AES128-SHA:@SECLEVEL=0",
                "-www",
                "-quiet",
            ])
            .current_dir(&directory)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot run openssl s_server (package openssl): {error}"),
            )
        })?;
        let mut server = LegacyTlsServer { child, directory };
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            let attempt = tokio::time::timeout(
                Duration::from_millis(200),
                tokio::net::TcpStream::connect(accept),
            )
            .await;
            if let Ok(Ok(_)) = attempt {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(io::Error::other(format!(
                    "openssl s_server exited at once: {status}"
                )));
            }
            if tokio::time::Instant::now() >= deadline {
                server.stop().await;
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "openssl s_server did not start listening",
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server and removes its files.
    pub(crate) async fn stop(&mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
