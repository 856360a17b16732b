//! The suites' own sections of a profile.
//!
//! A suite declares the type of its section ([`ProfileSection`]: its name, its fields
//! with `deny_unknown_fields`, the rules serde cannot express) and reads it with
//! [`Profile::section`]. The SDK keeps every section it does not read itself as written,
//! with the profile's text, so that a suite's section is read with the same machinery as
//! the SDK's: an error names the field and the line and column of the offending value.
//! The harness lists the sections of its suites ([`SectionSpec`]) and has them checked,
//! and a section no suite reads refused, when the profile is loaded
//! ([`Profile::check_sections`]), before anything is sent.

use super::rules::{FieldPath, Refusal};
use super::{place, Profile, ProfileError, SDK_SECTIONS};
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// The type of a suite's section of the profile, such as `[ports]`.
///
/// Derive `Deserialize` with `#[serde(deny_unknown_fields)]`, so that a misspelt field
/// is refused rather than silently left to its default.
pub trait ProfileSection: DeserializeOwned {
    /// The section's name: `"ports"` for `[ports]`.
    const NAME: &'static str;

    /// The rules serde cannot express (bounds, well-formed values, agreement with the
    /// rest of `profile`), checked whenever the section is read. A refusal names its
    /// field from the profile's root: `FieldPath::of(&[Self::NAME]).key("retries")`.
    fn validate(&self, profile: &Profile) -> Result<(), Refusal> {
        let _ = profile;
        Ok(())
    }
}

/// The sections of a profile the SDK does not read itself, each as written.
#[derive(Clone, Debug, Default)]
pub struct Sections {
    /// Each section and its value, in the order of the text.
    tables: Vec<(String, toml::Value)>,
    /// The profile's TOML text, while it still says what `tables` hold: errors are
    /// then placed at their line and column.
    source: Option<Arc<str>>,
}

impl PartialEq for Sections {
    /// Equal when they hold the same sections, whatever text they were read from.
    fn eq(&self, other: &Self) -> bool {
        self.tables == other.tables
    }
}

impl Sections {
    /// Each section's name and value, in the order of the text.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &toml::Value)> {
        self.tables
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// The section `name` as written, if the profile has it.
    pub fn get(&self, name: &str) -> Option<&toml::Value> {
        self.tables
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value)
    }

    /// Add the section `name`; false (and nothing changed) when it is there already.
    pub(crate) fn insert(&mut self, name: &str, value: toml::Value) -> bool {
        if self.get(name).is_some() {
            return false;
        }
        self.tables.push((name.to_owned(), value));
        true
    }

    /// Remember the text the sections were read from.
    pub(crate) fn read_from(&mut self, text: Arc<str>) {
        self.source = Some(text);
    }
}

/// A section some suite reads: its name, and how it is checked.
#[derive(Clone, Debug)]
pub struct SectionSpec {
    name: String,
    check: fn(&Profile) -> Result<(), ProfileError>,
}

impl SectionSpec {
    /// The section of type `T`, checked by reading it.
    pub fn of<T: ProfileSection>() -> Self {
        SectionSpec {
            name: T::NAME.to_owned(),
            check: read_to_check::<T>,
        }
    }

    /// A section read by a program outside this one (an external suite), which checks
    /// it itself: accepted as written.
    pub fn read_elsewhere(name: &str) -> Self {
        SectionSpec {
            name: name.to_owned(),
            check: |_| Ok(()),
        }
    }

    /// The section's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Check the section of `profile` (nothing to check when the profile lacks it).
    pub fn check(&self, profile: &Profile) -> Result<(), ProfileError> {
        (self.check)(profile)
    }
}

fn read_to_check<T: ProfileSection>(profile: &Profile) -> Result<(), ProfileError> {
    profile.section::<T>().map(|_| ())
}

impl Profile {
    /// The section `T::NAME`, read as `T` and its rules checked; `None` when the profile
    /// has no such section. An error names the field and, for a profile read from text,
    /// the line and column of the offending value.
    pub fn section<T: ProfileSection>(&self) -> Result<Option<T>, ProfileError> {
        let Some(value) = self.sections.get(T::NAME) else {
            return Ok(None);
        };
        let section = match &self.sections.source {
            Some(text) => {
                let picked: Picked<T> =
                    serde_path_to_error::deserialize(toml::Deserializer::new(text))
                        .map_err(|error| place::deserialize_error(text, error))?;
                let Some(section) = picked.0 else {
                    return Ok(None);
                };
                section
                    .validate(self)
                    .map_err(|refusal| refusal.into_error(text))?;
                section
            }
            None => {
                let mut alone = toml::Table::new();
                alone.insert(T::NAME.to_owned(), value.clone());
                let picked: Picked<T> = serde_path_to_error::deserialize(toml::Value::Table(alone))
                    .map_err(|error| {
                        let field = error.path().to_string();
                        ProfileError {
                            line: None,
                            column: None,
                            field: Some(field),
                            message: error.into_inner().message().to_owned(),
                        }
                    })?;
                let Some(section) = picked.0 else {
                    return Ok(None);
                };
                section
                    .validate(self)
                    .map_err(Refusal::into_error_without_text)?;
                section
            }
        };
        Ok(Some(section))
    }

    /// The section `T::NAME` as [`Profile::section`] reads it, or `T`'s defaults when
    /// the profile has no such section.
    pub fn section_or_default<T: ProfileSection + Default>(&self) -> Result<T, ProfileError> {
        Ok(self.section::<T>()?.unwrap_or_default())
    }

    /// Write `section` as the profile's section `T::NAME`, replacing what was there. The
    /// profile's text no longer says what it holds: errors after this have no place.
    pub fn set_section<T: ProfileSection + Serialize>(
        &mut self,
        section: &T,
    ) -> Result<(), ProfileError> {
        let value = toml::Value::try_from(section).map_err(|error| {
            ProfileError::whole(format!(
                "section `{}` cannot be written as TOML: {error}",
                T::NAME
            ))
        })?;
        self.sections.tables.retain(|(name, _)| name != T::NAME);
        self.sections.tables.push((T::NAME.to_owned(), value));
        self.sections.source = None;
        Ok(())
    }

    /// Change the section `T::NAME` (its defaults when the profile has none) with
    /// `edit` and write it back ([`Profile::set_section`]).
    pub fn edit_section<T: ProfileSection + Serialize + Default>(
        &mut self,
        edit: impl FnOnce(&mut T),
    ) -> Result<(), ProfileError> {
        let mut section = self.section_or_default::<T>()?;
        edit(&mut section);
        self.set_section(&section)
    }

    /// Check every section of the profile the SDK does not read, in the order of the
    /// text: each must be read by one of `owners`, and pass each owner's check. A
    /// section nobody reads is refused, naming it, as an unknown field is: a misspelt
    /// section must never silently leave a suite to its defaults.
    pub fn check_sections(&self, owners: &[SectionSpec]) -> Result<(), ProfileError> {
        for (name, _) in self.sections.iter() {
            let readers: Vec<&SectionSpec> =
                owners.iter().filter(|owner| owner.name == name).collect();
            if readers.is_empty() {
                return Err(self.unknown_section(name, owners));
            }
            for reader in readers {
                reader.check(self)?;
            }
        }
        Ok(())
    }

    fn unknown_section(&self, name: &str, owners: &[SectionSpec]) -> ProfileError {
        let mut known: Vec<&str> = SDK_SECTIONS.to_vec();
        for owner in owners {
            if !known.contains(&owner.name()) {
                known.push(owner.name());
            }
        }
        let expected = known
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let message =
            format!("unknown section `{name}`: no suite reads it; the sections are {expected}");
        let at = FieldPath::of(&[name]);
        match &self.sections.source {
            Some(text) => Refusal::new(at, message).into_error(text),
            None => Refusal::new(at, message).into_error_without_text(),
        }
    }
}

/// The one section `T::NAME` of a whole profile, every other section skipped: read from
/// the profile's text, so that errors keep the parser's spans and the field's path from
/// the root.
struct Picked<T>(Option<T>);

impl<'de, T: ProfileSection> Deserialize<'de> for Picked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PickVisitor(PhantomData))
    }
}

struct PickVisitor<T>(PhantomData<T>);

impl<'de, T: ProfileSection> Visitor<'de> for PickVisitor<T> {
    type Value = Picked<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a profile with a section `{}`", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Picked<T>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == T::NAME {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Picked(found))
    }
}
