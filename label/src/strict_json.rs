//! Duplicate JSON object keys, refused before any signed JSON is read for meaning.
//!
//! RFC 8259 section 4 leaves an object with two members of one name to each parser:
//! serde_json keeps the last, other parsers keep the first or refuse. A signed label
//! whose `digest` holds `sha256` twice would then say one thing to us and another to a
//! different verifier (a parser differential, and a forgery path). Every label file,
//! statement and revocation list is therefore walked once with [`reject_duplicate_keys`]:
//! keys are compared as the strings they decode to, so `"sha256"` and
//! `"sha\u0032\u0035\u0036"` are one key.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// `Err` names the first duplicate key and where it is (`$.subject[0].digest`), or the
/// JSON syntax error. The check allocates nothing for objects without keys and stops
/// at serde_json's nesting limit (128), like the parse that follows it.
pub(crate) fn reject_duplicate_keys(json: &[u8]) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    UniqueKeys {
        at: &Location::Root,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .map_err(|error| error.to_string())
}

/// Where a value sits in the document, built only along the current path.
enum Location<'a> {
    Root,
    Member(&'a Location<'a>, &'a str),
    Element(&'a Location<'a>, usize),
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Root => formatter.write_str("$"),
            Location::Member(parent, key) => write!(formatter, "{parent}.{key}"),
            Location::Element(parent, index) => write!(formatter, "{parent}[{index}]"),
        }
    }
}

/// Visits any JSON value, failing on the first object that repeats a key.
struct UniqueKeys<'a> {
    at: &'a Location<'a>,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut elements: A) -> Result<(), A::Error> {
        let mut index = 0;
        while elements
            .next_element_seed(UniqueKeys {
                at: &Location::Element(self.at, index),
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = members.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!(
                    "duplicate key {key:?} in the object at {}",
                    self.at
                )));
            }
            members.next_value_seed(UniqueKeys {
                at: &Location::Member(self.at, &key),
            })?;
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_duplicate_and_where_it_is() {
        assert_eq!(reject_duplicate_keys(br#"{"a":1,"b":[{"c":{}}]}"#), Ok(()));
        assert_eq!(
            reject_duplicate_keys(b"[1, \"x\", null, true, -2.5e3]"),
            Ok(())
        );
        let error = reject_duplicate_keys(br#"{"s":[{"d":{"sha256":"1","sha256":"2"}}]}"#)
            .expect_err("duplicate");
        assert!(
            error.starts_with(r#"duplicate key "sha256" in the object at $.s[0].d"#),
            "{error}"
        );
        let escaped = reject_duplicate_keys(br#"{"ab":1,"a\u0062":2}"#).expect_err("same key");
        assert!(
            escaped.starts_with(r#"duplicate key "ab" in the object at $"#),
            "{escaped}"
        );
        // The same key in two different objects is no duplicate.
        assert_eq!(
            reject_duplicate_keys(br#"{"a":{"k":1},"b":{"k":1}}"#),
            Ok(())
        );
    }

    #[test]
    fn refuses_what_is_not_one_json_value() {
        assert!(reject_duplicate_keys(b"{\"a\":1} {}").is_err());
        assert!(reject_duplicate_keys(b"{\"a\":").is_err());
        assert!(reject_duplicate_keys(&[b'['; 200]).is_err());
    }
}
