//! The six checks of the suite: stable ids, titles, modal verbs and the standards each
//! one provides evidence for.

use iotcert_suite::check::standards;
use iotcert_suite::{CheckScope, CheckSpec, Modal};

pub const TAMPERED_IMAGE: &str = "update.tampered-image-accepted";
pub const UNSIGNED_IMAGE: &str = "update.unsigned-image-accepted";
pub const UNTRUSTED_SIGNER: &str = "update.untrusted-signer-accepted";
pub const ROLLBACK: &str = "update.rollback-accepted";
pub const GENUINE_IMAGE: &str = "update.genuine-image-refused";
pub const UNHEALTHY_AFTER_REFUSAL: &str = "update.unhealthy-after-refused-image";

/// Every check id, in report order.
pub const ALL: [&str; 6] = [
    TAMPERED_IMAGE,
    UNSIGNED_IMAGE,
    UNTRUSTED_SIGNER,
    ROLLBACK,
    GENUINE_IMAGE,
    UNHEALTHY_AFTER_REFUSAL,
];

const VERIFY_REMEDIATION: &str = "Verify every update before installing it: a signature (CMS or raw) made with the manufacturer's key over everything that gets installed, checked against a certificate stored on the device, with the hash of every payload file covered by that signature. Refuse images without a signature, never accept a signature that merely verifies with a certificate carried in the image, and check the signer certificate's validity period and purpose (code signing).";

fn spec(
    id: &str,
    title: &str,
    modal: Modal,
    description: &str,
    remediation: &str,
    standards: iotcert_suite::Standards,
) -> CheckSpec {
    CheckSpec {
        id: id.to_owned(),
        title: title.to_owned(),
        modal,
        scope: CheckScope::PerUnit,
        description: description.to_owned(),
        remediation: remediation.to_owned(),
        positive_control: positive_control(id).to_owned(),
        standards,
    }
}

/// What each check must observe before its PASS means anything.
fn positive_control(id: &str) -> &'static str {
    match id {
        GENUINE_IMAGE => "The profile's acceptance signal (the version query showing the image's version, a success exit status, SWUpdate's SUCCESS on its status WebSocket, or a 2xx the profile declares final) reported the genuine image installed on this unit, and the same signal refused at least one altered image on that unit, so it can say no; an upload's 2xx alone is not an install.",
        UNHEALTHY_AFTER_REFUSAL => "The health probe (the version query, else a connection to the upload port, or SWUpdate saying on its status stream that it waits for requests again) answered on this unit before the first image and after every refused image, and the unit then installed the genuine image.",
        _ => "Every altered image was refused on this unit by the profile's acceptance signal, and the genuine image, sent after them, was then installed on the same unit by that signal: refusals by a unit that also refuses the genuine image, or answers that cannot tell installed from refused, give no PASS.",
    }
}

/// The checks as the engine and reports see them.
pub fn specs() -> Vec<CheckSpec> {
    let authenticity = || standards(&["5.3-10", "5.3-9"], &["5.3-10-1"], &["3.4.3"], &["I4"]);
    vec![
        spec(
            TAMPERED_IMAGE,
            "The device refuses a tampered update image",
            Modal::Shall,
            "Sends images made from the genuine one with one byte of the payload flipped, one byte of the signed manifest flipped, a payload replaced while the manifest's hash is left stale, and the image truncated. Each must be refused, as the profile's acceptance signal tells it (the channel's answer, SWUpdate's install status, or a running version that does not change), and the genuine image sent after them must be installed.",
            VERIFY_REMEDIATION,
            authenticity(),
        ),
        spec(
            UNSIGNED_IMAGE,
            "The device refuses an unsigned update image",
            Modal::Shall,
            "Sends the genuine image with its signature removed, and (where the format has a manifest) with a manifest that declares no signature and no hashes. Each must be refused.",
            VERIFY_REMEDIATION,
            authenticity(),
        ),
        spec(
            UNTRUSTED_SIGNER,
            "The device refuses an image signed by a key it should not trust",
            Modal::Shall,
            "Re-signs the genuine image with a fresh key and a self-signed certificate shipped inside the signature; with the trusted CA's key, also with a certificate that has expired and one issued for TLS servers only. Each must be refused.",
            VERIFY_REMEDIATION,
            authenticity(),
        ),
        spec(
            ROLLBACK,
            "The device refuses a validly signed older version",
            Modal::Should,
            "Sends a genuine older image (or, with the profile's permission, the genuine image re-signed with a trusted test key after lowering its version). It must be refused: a device that installs it can be rolled back to firmware with known vulnerabilities.",
            "Keep a monotonic record of the installed version (or a security version counter) and refuse any image whose version is lower, whatever its signature.",
            standards(&["5.3-2"], &["5.3-2-2"], &["3.4.6"], &["I4"]),
        ),
        spec(
            GENUINE_IMAGE,
            "The device installs the manufacturer's genuine image",
            Modal::Shall,
            "First verifies the genuine image against the declared signer certificate, then sends it last, after every attack (which also puts a unit that took an attack image back on genuine firmware). It must be installed, as the profile's acceptance signal tells it, and where a version query is given the device must then report the genuine version: a mechanism that refuses everything does not update securely, it does not update at all. The firmware version before and after the suite is recorded, and the original version restored where the profile has an image of it.",
            "Make the update mechanism install images signed by the manufacturer's key; check that the signer certificate declared in the profile is the one the device trusts.",
            standards(&["5.3-2"], &["5.3-2-2"], &["3.4.1"], &["I4"]),
        ),
        spec(
            UNHEALTHY_AFTER_REFUSAL,
            "The device keeps working after refusing an image",
            Modal::Should,
            "After every refused image, queries the running version (or connects to the update endpoint, or reads SWUpdate's status stream). The device must answer, with the version it had before, and still install the genuine image afterwards: a bad image must not leave it bricked, rebooting in a loop, or unreachable.",
            "Verify an image completely before writing any of it, keep the running firmware untouched until the new one is verified (A/B slots), and recover from an interrupted or refused update without operator action.",
            standards(&["5.3-2", "5.9-2"], &["5.3-2-2"], &[], &["I4"]),
        ),
    ]
}
