//! The lean decoder: one pass over a line with serde visitors that keep only the fields the
//! mapping needs and skip everything else with [`IgnoredAny`] (no allocation for skipped
//! values: apps, devices, custom events, purchases, push tokens, aliases in either shape).
//!
//! The visitors run over sonic-rs's `Deserializer`, on a line checked as UTF-8 up front
//! (sonic-rs itself checks only the strings it reads); it skips a value with SIMD, which in
//! the release build (LTO) walks Braze's 1.3 KB user lines about a quarter faster than
//! serde_json (`make bench` keeps both floors).
//!
//! Strings are borrowed from the line when they hold no escape; numbers are kept as
//! [`serde_json::Number`]; custom attributes are materialised as [`Value`] only for the
//! wanted names. Semantic checks (id rules, email type, dates) happen after the pass, in
//! `mod.rs`, so a syntax error anywhere in the line always wins.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde_json::{Number, Value};

use super::error::LineError;
use super::mapping::{BRAZE_ID_KEY, CUSTOM_ATTRIBUTES_KEY, EXTERNAL_ID_KEY, ExportField, Needs};

/// One top-level value as far as an id or standard field needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) enum Scalar<'a> {
    /// Missing or `null`: not exported.
    #[default]
    Null,
    /// A string, borrowed from the line when it holds no escape.
    Text(Cow<'a, str>),
    /// A number, as parsed.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// An object or an array (skipped, only its shape kept).
    Compound(&'static str),
}

impl<'a> Scalar<'a> {
    /// The value's shape, for messages that must not quote it.
    pub fn shape(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Text(_) => "a string",
            Scalar::Number(_) => "a number",
            Scalar::Bool(_) => "a boolean",
            Scalar::Compound(shape) => shape,
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Number::from_f64(v)
            .map(Scalar::Number)
            .ok_or_else(|| E::invalid_value(Unexpected::Float(v), &self))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Compound("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Compound("an array"))
    }
}

/// What the pass kept of one line.
#[derive(Debug, Default)]
pub(super) struct LeanUser<'a> {
    /// `external_id`.
    pub external_id: Scalar<'a>,
    /// `braze_id`.
    pub braze_id: Scalar<'a>,
    /// The wanted standard fields, by [`ExportField::index`] (unwanted ones stay `Null`).
    pub fields: [Scalar<'a>; ExportField::COUNT],
    /// The wanted custom attributes, by position in [`Needs::custom`] (`None`: missing or
    /// `null`).
    pub custom: Vec<Option<Value>>,
}

/// Decodes `line` as far as `needs` asks. Trailing whitespace (a `\r`) is accepted,
/// anything else after the object is not.
pub(super) fn decode<'a>(line: &'a [u8], needs: &Needs) -> Result<LeanUser<'a>, LineError> {
    let invalid = |source: sonic_rs::Error| LineError::InvalidJson {
        column: source.column(),
        source,
    };
    // sonic-rs's `Deserializer` checks UTF-8 only in the strings it reads: invalid bytes in
    // a skipped value would pass. So the whole line is checked first (std's check has an
    // ASCII fast path), and sonic-rs reads it as the `str` it now is.
    let Ok(text) = std::str::from_utf8(line) else {
        // The top-level `from_slice` does check everything: its error locates the bytes.
        let source = sonic_rs::from_slice::<IgnoredAny>(line)
            .err()
            .unwrap_or_else(|| de::Error::custom("invalid UTF-8"));
        return Err(invalid(source));
    };
    let mut deserializer = sonic_rs::Deserializer::from_str(text);
    let top = LineSeed { needs }
        .deserialize(&mut deserializer)
        .map_err(invalid)?;
    deserializer.end().map_err(invalid)?;
    top.map_err(|shape| LineError::NotAnObject { shape })
}

/// The line's top level: a user object, or (`Err`) the shape of whatever else it is. A
/// `Result` rather than an enum of the two: the user is returned by value, unboxed.
type Top<'a> = Result<LeanUser<'a>, &'static str>;

/// Top-level keys the pass acts on; everything else is skipped.
enum TopKey {
    ExternalId,
    BrazeId,
    Field(ExportField),
    CustomAttributes,
    Skip,
}

struct LineSeed<'n> {
    needs: &'n Needs,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = Top<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an exported user object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut user = LeanUser {
            custom: vec![None; self.needs.custom.len()],
            ..LeanUser::default()
        };
        while let Some(key) = map.next_key_seed(TopKeySeed { needs: self.needs })? {
            match key {
                TopKey::ExternalId => user.external_id = map.next_value()?,
                TopKey::BrazeId => user.braze_id = map.next_value()?,
                TopKey::Field(field) => user.fields[field.index()] = map.next_value()?,
                TopKey::CustomAttributes => map.next_value_seed(CustomSeed {
                    needs: self.needs,
                    out: &mut user.custom,
                })?,
                TopKey::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Ok(user))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err("an array"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
}

struct TopKeySeed<'n> {
    needs: &'n Needs,
}

impl<'de> DeserializeSeed<'de> for TopKeySeed<'_> {
    type Value = TopKey;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // Bytes, not `str`: only a few known names are ever compared, and a parser that has
        // not checked the line's UTF-8 up front (serde_json) need not check each key.
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for TopKeySeed<'_> {
    type Value = TopKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<TopKey, E> {
        // Most keys of a line have a length no key acted on has.
        Ok(if !self.needs.top_lengths.may_hold(key) {
            TopKey::Skip
        } else if is_key(key, EXTERNAL_ID_KEY) {
            TopKey::ExternalId
        } else if is_key(key, BRAZE_ID_KEY) {
            TopKey::BrazeId
        } else if is_key(key, CUSTOM_ATTRIBUTES_KEY) {
            if self.needs.custom.is_empty() {
                TopKey::Skip
            } else {
                TopKey::CustomAttributes
            }
        } else {
            // Only the mapped fields: most keys of a line are compared with none.
            self.needs
                .wanted
                .iter()
                .find(|field| is_key(key, field.as_str()))
                .map_or(TopKey::Skip, |field| TopKey::Field(*field))
        })
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<TopKey, E> {
        self.visit_bytes(key.as_bytes())
    }
}

/// Whether the key `key` is `name`. Length and first byte first: the decoder asks this for
/// every top-level key of every line, and most keys differ from a name in one or the other,
/// so they cost two integer compares rather than a `memcmp` call (a `match` on byte strings
/// cost about 0.5 µs per 29-key line).
fn is_key(key: &[u8], name: &str) -> bool {
    let name = name.as_bytes();
    name.len() == key.len() && name.first() == key.first() && name == key
}

/// `custom_attributes`: keeps the wanted keys' values, skips the rest. Anything but an
/// object (`null`, a stray scalar or array) counts as no custom attributes.
struct CustomSeed<'n, 'o> {
    needs: &'n Needs,
    out: &'o mut Vec<Option<Value>>,
}

impl<'de> DeserializeSeed<'de> for CustomSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CustomSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a custom attributes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(slot) = map.next_key_seed(CustomKeySeed { needs: self.needs })? {
            match slot {
                Some(index) => {
                    let value: Value = map.next_value()?;
                    self.out[index] = (!value.is_null()).then_some(value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A custom attribute key: its position among the wanted names, or `None` to skip it.
struct CustomKeySeed<'n> {
    needs: &'n Needs,
}

impl<'de> DeserializeSeed<'de> for CustomKeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for CustomKeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a custom attribute name")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Option<usize>, E> {
        if !self.needs.custom_lengths.may_hold(key) {
            return Ok(None);
        }
        // Byte order is `str` order: the names are sorted either way.
        Ok(self
            .needs
            .custom
            .binary_search_by(|name| name.as_bytes().cmp(key))
            .ok())
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        self.visit_bytes(key.as_bytes())
    }
}
