//! The rules a profile's values must follow that serde cannot express, in the words
//! every section states them: the path of a field, a refusal naming it, bounds on
//! numbers and ports a device listens on. The SDK's own sections use them, and so does
//! every suite's section ([`super::ProfileSection::validate`]), so that all errors read
//! alike and point at the offending value's own line and column.

use super::{limits, place, ProfileError};
use std::fmt;

/// One step of a field's path: a key of a table, or an index of an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// The path of a field, written as serde writes it: `units[1].address`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath(pub(crate) Vec<Step>);

impl FieldPath {
    /// The path of nested keys, such as `["tls", "client"]` for `tls.client`.
    pub fn of(keys: &[&str]) -> Self {
        FieldPath(
            keys.iter()
                .map(|key| Step::Key((*key).to_owned()))
                .collect(),
        )
    }

    /// The field `key` of this table.
    pub fn key(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_owned()));
        FieldPath(steps)
    }

    /// The item at `index` of this array.
    pub fn index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        FieldPath(steps)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if position == 0 => f.write_str(key)?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A broken rule: the field and the problem. Its place in the text is found from the
/// parser's spans when the error is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    at: FieldPath,
    message: String,
}

impl Refusal {
    /// `field` breaks a rule, which `message` states.
    pub fn new(at: FieldPath, message: impl Into<String>) -> Self {
        Refusal {
            at,
            message: message.into(),
        }
    }

    /// The error, at the start of the field's own value in `text` (or of its nearest
    /// ancestor written in the text, for a field left to its default).
    pub(crate) fn into_error(self, text: &str) -> ProfileError {
        let offset = place::offset_of(text, &self.at);
        ProfileError::at(text, offset, Some(self.at.to_string()), self.message)
    }

    /// The error of a profile that has no text (one built or sent as JSON): the field,
    /// without a place.
    pub(crate) fn into_error_without_text(self) -> ProfileError {
        ProfileError {
            line: None,
            column: None,
            field: Some(self.at.to_string()),
            message: self.message,
        }
    }
}

/// The range a number of the profile must lie in, and what it counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub min: u64,
    pub max: u64,
    /// The unit, with why the maximum is what it is: the end of the error message.
    pub what: &'static str,
}

/// A duration in seconds: 0 to [`limits::MAX_DURATION_SECONDS`] (7 days).
pub const SECONDS: Bound = Bound {
    min: 0,
    max: limits::MAX_DURATION_SECONDS,
    what: "seconds (7 days at most)",
};

/// A duration in milliseconds: 0 to [`limits::MAX_DURATION_MS`] (7 days).
pub const MILLISECONDS: Bound = Bound {
    min: 0,
    max: limits::MAX_DURATION_MS,
    what: "milliseconds (7 days at most)",
};

/// Connections open at once: 1 to [`limits::MAX_CONNECTIONS`].
pub const CONNECTIONS: Bound = Bound {
    min: 1,
    max: limits::MAX_CONNECTIONS as u64,
    what: "connections (each holds a file descriptor, and Linux gives a process at most 1,048,576)",
};

/// Refused unless `bound.min <= value <= bound.max`.
pub fn within(at: FieldPath, value: u64, bound: &Bound) -> Result<(), Refusal> {
    if (bound.min..=bound.max).contains(&value) {
        return Ok(());
    }
    Err(Refusal::new(
        at,
        format!(
            "{value} is out of range: from {} to {} {}",
            bound.min, bound.max, bound.what
        ),
    ))
}

/// Refused when `port` is 0, which no device listens on.
pub fn device_port(at: &FieldPath, port: u16) -> Result<(), Refusal> {
    if port == 0 {
        return Err(Refusal::new(
            at.clone(),
            "port 0 is no port a device listens on: ports run from 1 to 65535",
        ));
    }
    Ok(())
}
