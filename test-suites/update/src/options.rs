//! The suite's section of the profile, `[update]`: the device's update mechanism as the
//! manufacturer declares it (format, genuine image, signers, delivery, version query,
//! acceptance signal), and what the lab may do to exercise it. The suite owns it (the
//! SDK keeps only what every suite shares) and checks its rules when the harness loads
//! the profile. Paths are relative to the profile file.

use iotcert_suite::profile::rules::{device_port, within, FieldPath, Refusal, SECONDS};
use iotcert_suite::profile::CommandSpec;
use iotcert_suite::{Profile, ProfileSection};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

/// Largest exit status (`update.delivery.success_exit_codes`): 255.
pub const MAX_EXIT_CODE: i32 = 255;

/// Options of the update-signature suite: the device's update mechanism as declared by
/// the manufacturer, and what the lab may do to exercise it. Paths are relative to the
/// profile file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateOptions {
    /// Format of the update images.
    pub format: UpdateFormat,
    /// The manufacturer's genuine image: every attack is made from it, and it is sent
    /// last and must be accepted.
    pub genuine_image: PathBuf,
    /// Detached signature of the genuine image (format `plain` only).
    #[serde(default)]
    pub genuine_signature: Option<PathBuf>,
    /// The version the genuine image installs, as the version query reports it.
    pub genuine_version: String,
    /// The certificate the device trusts for updates (PEM or DER): the signer itself, or
    /// the CA that issued the signer's certificate.
    pub signer_certificate: PathBuf,
    /// A genuine image of an older version, for the rollback attack.
    #[serde(default)]
    pub older_image: Option<PathBuf>,
    /// Detached signature of the older image (format `plain` only).
    #[serde(default)]
    pub older_signature: Option<PathBuf>,
    /// The version the older image installs.
    #[serde(default)]
    pub older_version: Option<String>,
    /// A test key the device trusts, which the lab is allowed to sign with: it makes the
    /// rollback image (when no older genuine image is given) and, with a CA key, the
    /// certificates that are expired or issued for another purpose.
    #[serde(default)]
    pub trusted_test_signer: Option<TrustedTestSigner>,
    /// Keys the device must not trust (a development key, a revoked or a previous
    /// manufacturer key): the suite signs an attack image with each.
    #[serde(default)]
    pub untrusted_signers: Vec<UntrustedSigner>,
    /// How images reach the device.
    pub delivery: UpdateDelivery,
    /// How the running firmware version is read after each attempt.
    #[serde(default)]
    pub version_query: Option<VersionQuery>,
    /// What tells an installed image from a refused one. Without it: the exit status for
    /// `command` and a `serve` trigger, the version query for `http-upload` and a `serve`
    /// without trigger (an upload's 2xx only says the bytes arrived).
    #[serde(default)]
    pub acceptance: Option<UpdateAcceptance>,
    /// Seconds to wait after an attempt before querying the version (a device may
    /// reboot): at most [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
    #[serde(default = "UpdateOptions::default_settle_seconds")]
    pub settle_seconds: u64,
}

impl UpdateOptions {
    fn default_settle_seconds() -> u64 {
        1
    }
}

/// The signal that says a device installed an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum UpdateAcceptance {
    /// The version query reports the image's version after the attempt (needs
    /// `version_query`; it cannot see an image of the version the unit already runs).
    Version,
    /// The channel's own answer: the exit status of `command` or of the `serve` trigger,
    /// or, for `http-upload`, a 2xx — only for endpoints that answer after installing.
    Channel,
    /// SWUpdate's web server (`swupdate -w`): the `status` messages (SUCCESS, FAILURE) it
    /// sends on its WebSocket while it installs what was uploaded.
    SwupdateWebsocket {
        /// Port of the web server, 1 to 65535; the upload's port when absent.
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        tls: bool,
        #[serde(default = "default_swupdate_websocket_path")]
        path: String,
    },
}

/// The update image formats the suite reads and re-signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateFormat {
    /// SWUpdate: newc cpio, `sw-description` first, its CMS signature `sw-description.sig`.
    Swu,
    /// RAUC bundle: squashfs followed by a detached CMS signature and its size.
    Rauc,
    /// A raw image with a detached ECDSA P-256 or RSA PKCS#1 v1.5 (SHA-256) signature.
    Plain,
}

/// A key the device under test trusts, handed to the lab for re-signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedTestSigner {
    /// PKCS#8 private key (PEM), ECDSA P-256 or RSA.
    pub key: PathBuf,
    /// Its certificate (PEM), trusted by the device directly or through its CA.
    pub certificate: PathBuf,
    /// The trusted CA's PKCS#8 private key (PEM), to issue expired and wrong-purpose certificates.
    #[serde(default)]
    pub ca_key: Option<PathBuf>,
    /// The trusted CA's certificate (PEM).
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
}

/// A key the device must not trust, with its certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntrustedSigner {
    /// PKCS#8 private key (PEM), ECDSA P-256 or RSA.
    pub key: PathBuf,
    /// Its certificate (PEM), shipped inside CMS signatures.
    pub certificate: PathBuf,
    /// What the key is, for the report: "development key", "key revoked in 2024".
    pub description: String,
}

/// How an image reaches the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum UpdateDelivery {
    /// POST the image to the device's update endpoint.
    HttpUpload {
        /// The device's update port, 1 to 65535.
        port: u16,
        #[serde(default)]
        tls: bool,
        /// CA that verifies the device's TLS certificate; without it the certificate is
        /// not verified (the tls suite judges it, not this one).
        #[serde(default)]
        ca_certificate: Option<PathBuf>,
        #[serde(default = "default_update_path")]
        path: String,
        /// `raw` (the image is the body) or `multipart` (form-data).
        #[serde(default)]
        encoding: UploadEncoding,
        /// Form field of the image (multipart).
        #[serde(default = "default_image_field")]
        image_field: String,
        /// Form field of the detached signature (multipart, format `plain`).
        #[serde(default = "default_signature_field")]
        signature_field: String,
        /// Header carrying the detached signature in base64 (raw, format `plain`).
        #[serde(default = "default_signature_header")]
        signature_header: String,
        /// Seconds allowed for the upload and the device's answer: at most
        /// [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
        #[serde(default = "default_update_timeout")]
        timeout_seconds: u64,
    },
    /// iotcert serves the image on a loopback HTTP(S) server and the device pulls it.
    Serve {
        /// Address to bind; must be a loopback address.
        #[serde(default = "default_serve_address")]
        bind: IpAddr,
        /// Port to bind, 0 (the default) to let the system choose a free one.
        #[serde(default)]
        port: u16,
        #[serde(default)]
        tls: bool,
        /// Tells the device to pull: `{url}` is replaced by the image's URL, `{ca}` by
        /// the path of the server's certificate (HTTPS), `{unit}` and `{address}` by the
        /// unit's id and address (required with more than one unit). Without it the suite
        /// waits for the device to poll (one unit only).
        #[serde(default)]
        trigger: Option<CommandSpec>,
        /// Seconds to wait for the device to fetch the image: at most
        /// [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
        #[serde(default = "default_update_timeout")]
        timeout_seconds: u64,
    },
    /// Run a program with the image: `{image}` and `{signature}` in its arguments are
    /// replaced by paths, `{unit}` and `{address}` by the unit's id and address (one of
    /// them is required with more than one unit).
    Command {
        program: PathBuf,
        #[serde(default)]
        args: Vec<String>,
        /// Exit codes that mean "installed", each 0 to [`MAX_EXIT_CODE`] (255).
        #[serde(default = "default_success_codes")]
        success_exit_codes: Vec<i32>,
        /// Seconds the program may run: at most [`iotcert_suite::profile::limits::MAX_DURATION_SECONDS`] (7 days).
        #[serde(default = "default_update_timeout")]
        timeout_seconds: u64,
    },
}

/// How an upload is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UploadEncoding {
    #[default]
    Raw,
    Multipart,
}

/// How the running firmware version is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VersionQuery {
    /// GET a JSON document and read one string field.
    Http {
        /// Port 1 to 65535.
        port: u16,
        #[serde(default)]
        tls: bool,
        #[serde(default)]
        ca_certificate: Option<PathBuf>,
        #[serde(default = "default_version_path")]
        path: String,
        #[serde(default = "default_version_field")]
        json_field: String,
    },
    /// Run a program; its trimmed standard output is the version. `{unit}` and
    /// `{address}` in its arguments are replaced (one is required with more than one unit).
    Command {
        program: PathBuf,
        #[serde(default)]
        args: Vec<String>,
    },
}

fn default_update_path() -> String {
    "/update".to_owned()
}
fn default_version_path() -> String {
    "/version".to_owned()
}
fn default_version_field() -> String {
    "firmware_version".to_owned()
}
fn default_image_field() -> String {
    "image".to_owned()
}
fn default_signature_field() -> String {
    "signature".to_owned()
}
fn default_signature_header() -> String {
    "X-Signature".to_owned()
}
fn default_swupdate_websocket_path() -> String {
    "/ws".to_owned()
}
fn default_update_timeout() -> u64 {
    60
}
fn default_serve_address() -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
}
fn default_success_codes() -> Vec<i32> {
    vec![0]
}

impl ProfileSection for UpdateOptions {
    const NAME: &'static str = "update";

    /// Durations within their bounds, ports a device listens on, exit statuses a
    /// program can have.
    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        let at = FieldPath::of(&[Self::NAME]);
        within(at.key("settle_seconds"), self.settle_seconds, &SECONDS)?;
        let delivery = at.key("delivery");
        match &self.delivery {
            UpdateDelivery::HttpUpload {
                port,
                timeout_seconds,
                ..
            } => {
                device_port(&delivery.key("port"), *port)?;
                within(delivery.key("timeout_seconds"), *timeout_seconds, &SECONDS)?;
            }
            // The update server's own port: 0 lets the system choose a free one.
            UpdateDelivery::Serve {
                timeout_seconds, ..
            } => within(delivery.key("timeout_seconds"), *timeout_seconds, &SECONDS)?,
            UpdateDelivery::Command {
                success_exit_codes,
                timeout_seconds,
                ..
            } => {
                for (index, code) in success_exit_codes.iter().enumerate() {
                    if !(0..=MAX_EXIT_CODE).contains(code) {
                        return Err(Refusal::new(
                            delivery.key("success_exit_codes").index(index),
                            format!(
                                "{code} is no exit status: a program exits with 0 to {}",
                                MAX_EXIT_CODE
                            ),
                        ));
                    }
                }
                within(delivery.key("timeout_seconds"), *timeout_seconds, &SECONDS)?;
            }
        }
        if let Some(VersionQuery::Http { port, .. }) = &self.version_query {
            device_port(&at.key("version_query").key("port"), *port)?;
        }
        if let Some(UpdateAcceptance::SwupdateWebsocket {
            port: Some(port), ..
        }) = &self.acceptance
        {
            device_port(&at.key("acceptance").key("port"), *port)?;
        }
        Ok(())
    }
}
