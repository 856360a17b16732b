//! Real Debian daemons configured like a cheap street-light controller, one set per
//! sample unit: mosquitto, lighttpd, dropbear, nginx and snmpd on the unit's own
//! loopback address, and an update command (a shell script that installs anything, or
//! one that has Debian's SWUpdate verify the image first).
//!
//! Every daemon is started by the test, in the foreground, and killed by its pid when
//! the test ends. A missing program fails the test with the package that provides it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const MQTT: u16 = 1883;
pub const HTTP: u16 = 8080;
pub const SSH: u16 = 2222;
pub const HTTPS: u16 = 8443;
pub const SNMP: u16 = 1161;

/// Kills the daemon when the test ends, however it ends.
pub struct Daemon(Child);

impl Daemon {
    /// Fails the test when the daemon has already exited (its port was taken, say),
    /// so that nothing else answers in its place.
    fn assert_running(&mut self) {
        let exited = self.0.try_wait().ok().flatten();
        assert!(exited.is_none(), "a daemon exited at start: {exited:?}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args([
            "-c",
            &format!("command -v {tool} || test -x /usr/sbin/{tool}"),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: apt-get install -y {package}");
}

/// Run a setup program; its failure fails the test with its output.
pub fn run(program: &str, args: &[&str], dir: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} does not run: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn spawn(command: &mut Command) -> Daemon {
    let program = format!("{:?}", command.get_program());
    Daemon(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} does not start: {e}")),
    )
}

/// Waits until `address:port` accepts TCP connections, at most 10 s.
pub async fn wait_tcp(address: IpAddr, port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((address, port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on {address}:{port}");
}

/// How one unit is built: the flawed street light, or its hardened variant.
pub struct UnitSetup<'a> {
    pub address: IpAddr,
    pub dir: &'a Path,
    /// The web and MQTT password of this unit.
    pub password: &'a str,
    /// The SNMP community of this unit.
    pub communities: &'a [&'a str],
    pub hardened: bool,
    /// The SSH host key (shared by every flawed unit).
    pub host_key: &'a Path,
    /// Server certificate and key for nginx (PEM).
    pub certificate: &'a Path,
    pub key: &'a Path,
}

/// Start every daemon of one unit; they stop when the returned guards are dropped.
pub async fn start_unit(unit: &UnitSetup<'_>) -> Vec<Daemon> {
    for (tool, package) in [
        ("mosquitto", "mosquitto"),
        ("mosquitto_passwd", "mosquitto"),
        ("lighttpd", "lighttpd"),
        ("dropbear", "dropbear-bin"),
        ("nginx", "nginx"),
        ("snmpd", "snmpd"),
        ("openssl", "openssl"),
    ] {
        require(tool, package);
    }
    std::fs::create_dir_all(unit.dir).unwrap();
    let mut daemons = vec![
        mosquitto(unit),
        lighttpd(unit),
        dropbear(unit),
        nginx(unit),
        snmpd(unit),
    ];
    for port in [MQTT, HTTP, SSH, HTTPS] {
        wait_tcp(unit.address, port).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    daemons.iter_mut().for_each(Daemon::assert_running);
    daemons
}

fn mosquitto(unit: &UnitSetup<'_>) -> Daemon {
    let passwords = unit.dir.join("mosquitto.passwd");
    run(
        "mosquitto_passwd",
        &[
            "-c",
            "-b",
            passwords.to_str().unwrap(),
            "admin",
            unit.password,
        ],
        unit.dir,
    );
    let config = unit.dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "listener {MQTT} {}\nallow_anonymous {}\npassword_file {}\n",
            unit.address,
            !unit.hardened,
            passwords.display()
        ),
    )
    .unwrap();
    spawn(Command::new("mosquitto").arg("-c").arg(&config))
}

fn lighttpd(unit: &UnitSetup<'_>) -> Daemon {
    let root = unit.dir.join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<html><body>SL-200 lamp control</body></html>",
    )
    .unwrap();
    let users = unit.dir.join("lighttpd.user");
    std::fs::write(&users, format!("admin:{}\n", unit.password)).unwrap();
    let tag = if unit.hardened {
        "server.tag = \"\"\n"
    } else {
        ""
    };
    let config = unit.dir.join("lighttpd.conf");
    std::fs::write(
        &config,
        format!(
            "server.modules = (\"mod_auth\", \"mod_authn_file\")\n\
             server.document-root = \"{root}\"\n\
             server.bind = \"{address}\"\nserver.port = {HTTP}\n\
             index-file.names = (\"index.html\")\n\
             server.pid-file = \"{dir}/lighttpd.pid\"\n\
             server.errorlog = \"{dir}/lighttpd.error.log\"\n{tag}\
             auth.backend = \"plain\"\nauth.backend.plain.userfile = \"{users}\"\n\
             auth.require = (\"/\" => (\"method\" => \"basic\", \"realm\" => \"lamp\", \"require\" => \"valid-user\"))\n",
            root = root.display(),
            address = unit.address,
            dir = unit.dir.display(),
            users = users.display(),
        ),
    )
    .unwrap();
    spawn(Command::new("lighttpd").arg("-D").arg("-f").arg(&config))
}

fn dropbear(unit: &UnitSetup<'_>) -> Daemon {
    // -s: no password logins (the profile declares the port key-only, and it is).
    spawn(
        Command::new("dropbear")
            .args(["-F", "-E", "-s", "-r"])
            .arg(unit.host_key)
            .arg("-P")
            .arg(unit.dir.join("dropbear.pid"))
            .arg("-p")
            .arg(format!("{}:{SSH}", unit.address)),
    )
}

/// nginx in one process (`master_process off`), so that killing its pid ends it: a
/// master killed alone leaves its workers serving the port.
fn nginx(unit: &UnitSetup<'_>) -> Daemon {
    let users = unit.dir.join("nginx.users");
    std::fs::write(&users, format!("admin:{{PLAIN}}{}\n", unit.password)).unwrap();
    let (protocols, tokens) = if unit.hardened {
        ("TLSv1.2 TLSv1.3", "off")
    } else {
        ("TLSv1 TLSv1.1 TLSv1.2", "on")
    };
    let config = unit.dir.join("nginx.conf");
    std::fs::write(
        &config,
        format!(
            "user root;\nmaster_process off;\npid {dir}/nginx.pid;\nerror_log {dir}/nginx.error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  server_tokens {tokens};\n\
               client_body_temp_path {dir}/nginx-body;\n  proxy_temp_path {dir}/nginx-proxy;\n\
               fastcgi_temp_path {dir}/nginx-fastcgi;\n  uwsgi_temp_path {dir}/nginx-uwsgi;\n\
               scgi_temp_path {dir}/nginx-scgi;\n\
               server {{\n    listen {address}:{HTTPS} ssl;\n\
                 ssl_certificate {certificate};\n    ssl_certificate_key {key};\n\
                 ssl_protocols {protocols};\n\
                 root {root};\n\
                 location / {{ auth_basic \"lamp\"; auth_basic_user_file {users}; }}\n\
               }}\n}}\n",
            dir = unit.dir.display(),
            address = unit.address,
            certificate = unit.certificate.display(),
            key = unit.key.display(),
            users = users.display(),
            root = unit.dir.join("www").display(),
        ),
    )
    .unwrap();
    let mut command = Command::new("nginx");
    command
        .arg("-p")
        .arg(unit.dir)
        .arg("-c")
        .arg(&config)
        .args(["-g", "daemon off;"]);
    if !unit.hardened {
        // A street light of 2014: TLS 1.0 and a 1024-bit key, which OpenSSL 3 only
        // serves at security level 0.
        let openssl = unit.dir.join("openssl-legacy.cnf");
        std::fs::write(
            &openssl,
            "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n\
             [ssl_sect]\nsystem_default = system_default_sect\n\
             [system_default_sect]\nMinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0\n",
        )
        .unwrap();
        command.env("OPENSSL_CONF", openssl);
    }
    spawn(&mut command)
}

fn snmpd(unit: &UnitSetup<'_>) -> Daemon {
    let config = unit.dir.join("snmpd.conf");
    let mut text = String::new();
    for (index, community) in unit.communities.iter().enumerate() {
        let access = if index == 0 {
            "rocommunity"
        } else {
            "rwcommunity"
        };
        text.push_str(&format!("{access} {community} 127.0.0.0/8\n"));
    }
    text.push_str("sysDescr SL-200 street light controller\n");
    std::fs::write(&config, text).unwrap();
    let persistent = unit.dir.join("snmp-state");
    std::fs::create_dir_all(&persistent).unwrap();
    spawn(
        Command::new("snmpd")
            .args(["-f", "-Lf", "/dev/null", "-I", "-smux", "-C", "-c"])
            .arg(&config)
            .arg("-p")
            .arg(unit.dir.join("snmpd.pid"))
            .env("SNMP_PERSISTENT_DIR", &persistent)
            .arg(format!("udp:{}:{SNMP}", unit.address)),
    )
}

/// An ed25519 host key for dropbear.
pub fn host_key(dir: &Path, name: &str) -> PathBuf {
    require("dropbearkey", "dropbear-bin");
    let path = dir.join(name);
    run(
        "dropbearkey",
        &["-t", "ed25519", "-f", path.to_str().unwrap()],
        dir,
    );
    path
}

/// The flawed certificate: self-signed RSA-1024, CA:TRUE, no key usage.
pub fn legacy_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (certificate, key) = (dir.join("legacy.pem"), dir.join("legacy.key"));
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:1024",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=streetlight",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            certificate.to_str().unwrap(),
        ],
        dir,
    );
    (certificate, key)
}

/// A device CA and, for one unit, a server certificate it issued (RSA-2048, its address
/// in subjectAltName, serverAuth).
pub fn device_ca(dir: &Path) -> (PathBuf, PathBuf) {
    let (certificate, key) = (dir.join("device-ca.pem"), dir.join("device-ca.key"));
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "365",
            "-subj",
            "/CN=Lumen device CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            certificate.to_str().unwrap(),
        ],
        dir,
    );
    (certificate, key)
}

pub fn unit_certificate(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    address: IpAddr,
    name: &str,
) -> (PathBuf, PathBuf) {
    let (certificate, key, request) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.csr")),
    );
    let extensions = dir.join(format!("{name}.ext"));
    std::fs::write(
        &extensions,
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:{address}\n"
        ),
    )
    .unwrap();
    run(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={address}"),
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            request.to_str().unwrap(),
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            request.to_str().unwrap(),
            "-CA",
            ca.0.to_str().unwrap(),
            "-CAkey",
            ca.1.to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            extensions.to_str().unwrap(),
            "-out",
            certificate.to_str().unwrap(),
        ],
        dir,
    );
    (certificate, key)
}
