//! Evidence: what a suite saw that justifies a verdict.
//!
//! Every item is capped at [`MAX_EVIDENCE_BYTES`] when it is made, so a hostile device
//! that sends megabytes cannot inflate the store or a report. The harness stores each
//! item content-addressed by the sha256 of its bytes.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt::Write as _;
use std::time::Instant;

/// The most bytes one evidence item keeps; the rest is dropped and `truncated` is set.
pub const MAX_EVIDENCE_BYTES: usize = 64 * 1024;

/// What kind of thing an evidence item is, so reports can present it well.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Bytes sent and received, in order.
    Transcript,
    /// A certificate or chain (DER or PEM).
    Certificate,
    /// Measured durations.
    Timing,
    /// Bytes that reproduce a finding.
    Reproducer,
    /// Structured data the suite computed (port lists, tables), usually JSON.
    Data,
    /// Free text written by the suite.
    Note,
}

/// One item of evidence attached to a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// Short human label, such as `banner 23/tcp`.
    pub label: String,
    /// IANA media type of `data`, such as `text/plain` or `application/json`.
    pub media_type: String,
    /// The bytes, base64 on the wire.
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub data: Vec<u8>,
    /// True when `data` was cut at [`MAX_EVIDENCE_BYTES`].
    #[serde(default)]
    pub truncated: bool,
}

impl Evidence {
    /// Evidence from raw bytes, capped.
    pub fn bytes(
        kind: EvidenceKind,
        label: impl Into<String>,
        media_type: impl Into<String>,
        data: &[u8],
    ) -> Self {
        let truncated = data.len() > MAX_EVIDENCE_BYTES;
        let kept = data.get(..MAX_EVIDENCE_BYTES).unwrap_or(data);
        Evidence {
            kind,
            label: label.into(),
            media_type: media_type.into(),
            data: kept.to_vec(),
            truncated,
        }
    }

    /// Plain text evidence, capped.
    pub fn text(kind: EvidenceKind, label: impl Into<String>, text: &str) -> Self {
        Self::bytes(kind, label, "text/plain; charset=utf-8", text.as_bytes())
    }

    /// A value serialized as pretty JSON, capped.
    pub fn json<T: Serialize>(label: impl Into<String>, value: &T) -> Self {
        let data = serde_json::to_vec_pretty(value)
            .unwrap_or_else(|e| format!("evidence could not be serialized: {e}").into_bytes());
        Self::bytes(EvidenceKind::Data, label, "application/json", &data)
    }
}

fn to_base64<S: Serializer>(data: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
}

fn from_base64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)
}

/// Which way a transcript chunk travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// A capped record of an exchange with a device, rendered as readable text.
///
/// Each chunk becomes one line: `+12ms > ` for bytes sent and `+12ms < ` for bytes
/// received, printable ASCII as is and everything else as `\xNN`, so binary protocols
/// stay legible and nothing a device sends can inject markup into a report.
#[derive(Debug)]
pub struct Transcript {
    started: Instant,
    text: String,
    limit: usize,
    truncated: bool,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

impl Transcript {
    pub fn new() -> Self {
        Transcript {
            started: Instant::now(),
            text: String::new(),
            limit: MAX_EVIDENCE_BYTES,
            truncated: false,
        }
    }

    /// Record bytes sent to the device.
    pub fn sent(&mut self, bytes: &[u8]) {
        self.record(Direction::Sent, bytes);
    }

    /// Record bytes received from the device.
    pub fn received(&mut self, bytes: &[u8]) {
        self.record(Direction::Received, bytes);
    }

    /// Record a remark of the harness (a timeout, a reset) in the flow of the exchange.
    pub fn remark(&mut self, remark: &str) {
        let line = format!("+{}ms # {}\n", self.started.elapsed().as_millis(), remark);
        self.push(&line);
    }

    fn record(&mut self, direction: Direction, bytes: &[u8]) {
        let arrow = match direction {
            Direction::Sent => '>',
            Direction::Received => '<',
        };
        let mut line = format!("+{}ms {} ", self.started.elapsed().as_millis(), arrow);
        line.push_str(&escape_bytes(bytes));
        line.push('\n');
        self.push(&line);
    }

    fn push(&mut self, line: &str) {
        if self.truncated {
            return;
        }
        if self.text.len() + line.len() > self.limit {
            self.truncated = true;
            self.text.push_str("# transcript truncated\n");
            return;
        }
        self.text.push_str(line);
    }

    /// The transcript as one evidence item.
    pub fn into_evidence(self, label: impl Into<String>) -> Evidence {
        let mut evidence = Evidence::text(EvidenceKind::Transcript, label, &self.text);
        evidence.truncated |= self.truncated;
        evidence
    }
}

/// Printable ASCII kept, `\r`, `\n`, `\t` and every other byte escaped.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_capped() {
        let big = vec![b'a'; MAX_EVIDENCE_BYTES + 10];
        let evidence = Evidence::bytes(EvidenceKind::Data, "big", "text/plain", &big);
        assert_eq!(evidence.data.len(), MAX_EVIDENCE_BYTES);
        assert!(evidence.truncated);
    }

    #[test]
    fn transcript_escapes_and_caps() {
        let mut transcript = Transcript::new();
        transcript.sent(b"GET / HTTP/1.1\r\n");
        transcript.received(&[0xff, 0xfb, 0x01, b'<']);
        for _ in 0..10_000 {
            transcript.received(&[0u8; 64]);
        }
        let evidence = transcript.into_evidence("t");
        let text = String::from_utf8(evidence.data.clone()).unwrap();
        assert!(text.contains("> GET / HTTP/1.1\\r\\n"));
        assert!(text.contains("< \\xff\\xfb\\x01<"));
        assert!(evidence.truncated);
        assert!(evidence.data.len() <= MAX_EVIDENCE_BYTES);
    }

    #[test]
    fn evidence_round_trips_as_base64() {
        let evidence = Evidence::bytes(
            EvidenceKind::Reproducer,
            "r",
            "application/octet-stream",
            &[0, 1, 255],
        );
        let json = serde_json::to_string(&evidence).unwrap();
        assert!(json.contains("\"AAH/\""));
        let back: Evidence = serde_json::from_str(&json).unwrap();
        assert_eq!(back, evidence);
    }
}
