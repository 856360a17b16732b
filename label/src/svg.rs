//! The human label: an SVG a manufacturer prints on the box or shows on a web page.
//!
//! It shows the level, device, lab and validity dates, and a QR code whose text (see
//! [`qr_text`]) tells a buyer which label this is, which firmware it is about, when it
//! expires, where to find it and how to verify it offline. The template is
//! `reports/templates/label.svg.j2`, embedded at build time and overridable; every value
//! is escaped for XML, and characters XML cannot carry are replaced.

use minijinja::{AutoEscape, Environment};
use qrcode::{Color, EcLevel, QrCode};
use serde::Serialize;
use time::OffsetDateTime;

use crate::statement::LabelStatement;

/// The built-in template.
pub const LABEL_SVG_TEMPLATE: &str = include_str!("../../reports/templates/label.svg.j2");

/// The template's name (its extension selects nothing: escaping is always XML's).
pub const LABEL_SVG_TEMPLATE_NAME: &str = "label.svg.j2";

/// First line of the QR text: says what the code is and its version.
pub const QR_HEADER: &str = "IOTCERT-LABEL/1";

/// Longest text shown in one line of the label; longer values end in an ellipsis.
const MAX_LINE_CHARS: usize = 44;

/// Why the SVG could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SvgError {
    #[error("label template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("QR code: {0}")]
    Qr(String),
}

#[derive(Serialize)]
struct SvgContext {
    label_id: String,
    level: SvgLevel,
    scheme: String,
    device: SvgDevice,
    firmware: SvgFirmware,
    lab: String,
    issued: String,
    expires: String,
    qr: SvgQr,
    qr_text: String,
    verify: String,
}

#[derive(Serialize)]
struct SvgLevel {
    number: u8,
    name: String,
}

#[derive(Serialize)]
struct SvgDevice {
    manufacturer: String,
    model: String,
    hardware_version: Option<String>,
    firmware_version: String,
}

#[derive(Serialize)]
struct SvgFirmware {
    name: String,
    sha256: String,
    sha256_short: String,
}

#[derive(Serialize)]
struct SvgQr {
    path: String,
    size: usize,
}

/// What the QR code encodes. When the scheme publishes labels (`label_url`), exactly
/// the label's URL, so a phone's camera opens the published label. Otherwise a text a
/// reader app shows: [`QR_HEADER`], then one `key:value` per line: `id`, `fw-sha256`,
/// `expires` (RFC 3339, exclusive), `level` and `verify` (the offline command).
pub fn qr_text(statement: &LabelStatement, label_url: Option<&str>) -> String {
    if let Some(url) = label_url {
        return url.to_owned();
    }
    let predicate = &statement.predicate;
    format!(
        "{QR_HEADER}\nid:{}\nfw-sha256:{}\nexpires:{}\nlevel:{} {} ({})\nverify:{}",
        predicate.label_id,
        statement.firmware.sha256,
        crate::timefmt::rfc3339(predicate.expires_at),
        predicate.level.number,
        predicate.level.name,
        predicate.scheme.id,
        verify_command(statement)
    )
}

/// Render the label with the built-in template.
pub fn render_svg(statement: &LabelStatement, label_url: Option<&str>) -> Result<String, SvgError> {
    render_svg_with_template(LABEL_SVG_TEMPLATE, statement, label_url)
}

/// Render the label with another template (`--templates DIR`), same context.
pub fn render_svg_with_template(
    template: &str,
    statement: &LabelStatement,
    label_url: Option<&str>,
) -> Result<String, SvgError> {
    let predicate = &statement.predicate;
    let qr_text = qr_text(statement, label_url);
    let qr = qr_geometry(&qr_text)?;
    let device = &predicate.device;
    let context = SvgContext {
        label_id: predicate.label_id.to_string(),
        level: SvgLevel {
            number: predicate.level.number,
            name: shown(&predicate.level.name),
        },
        scheme: shown(&predicate.scheme.id),
        device: SvgDevice {
            manufacturer: shown(&device.manufacturer),
            model: shown(&device.model),
            hardware_version: device.hardware_version.as_deref().map(shown),
            firmware_version: shown(&device.firmware_version),
        },
        firmware: SvgFirmware {
            name: xml_text(&statement.firmware.name),
            sha256: statement.firmware.sha256.to_string(),
            sha256_short: format!(
                "{}…",
                statement
                    .firmware
                    .sha256
                    .as_str()
                    .get(..32)
                    .unwrap_or_default()
            ),
        },
        lab: shown(&predicate.lab.name),
        issued: date_text(predicate.issued_at),
        expires: date_text(predicate.expires_at),
        qr,
        verify: xml_text(&verify_command(statement)),
        qr_text: xml_text(&qr_text),
    };
    let mut environment = Environment::new();
    environment.set_auto_escape_callback(|_| AutoEscape::Html);
    environment.add_template(LABEL_SVG_TEMPLATE_NAME, template)?;
    Ok(environment
        .get_template(LABEL_SVG_TEMPLATE_NAME)?
        .render(&context)?)
}

/// The offline check, with the files `iotcert label issue` writes beside each other
/// (`label.json`, `label-report.json`) and the scheme root under the name
/// `iotcert pki init` gives it.
pub fn verify_command(statement: &LabelStatement) -> String {
    format!(
        "iotcert verify label.json --roots scheme-root.pem --firmware {} --report label-report.json",
        statement.firmware.name
    )
}

/// The dark modules as one SVG path, one subpath per horizontal run, in module units.
fn qr_geometry(text: &str) -> Result<SvgQr, SvgError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|error| SvgError::Qr(error.to_string()))?;
    let size = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(size.max(1)).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row.get(x) == Some(&Color::Dark) {
                let run = row
                    .iter()
                    .skip(x)
                    .take_while(|color| **color == Color::Dark)
                    .count();
                path.push_str(&format!("M{x} {y}h{run}v1h-{run}z"));
                x += run;
            } else {
                x += 1;
            }
        }
    }
    Ok(SvgQr { path, size })
}

/// `YYYY-MM-DD HH:MM UTC`.
fn date_text(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute()
    )
}

/// A value for one line of the label: XML-safe and at most [`MAX_LINE_CHARS`].
fn shown(text: &str) -> String {
    let clean = xml_text(text);
    if clean.chars().count() <= MAX_LINE_CHARS {
        clean
    } else {
        let mut cut: String = clean.chars().take(MAX_LINE_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// Replace characters XML 1.0 cannot carry even escaped (section 2.2, `Char`).
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            _ => c,
        })
        .collect()
}
