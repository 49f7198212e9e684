//! A contact given by its canonical field names, placed into a record where a source's
//! mapping reads each field: the mapping read backwards.

use serde_json::{Map, Value};

use super::OutboundError;
use crate::crm::mapping::{FieldMapping, Pointer};
use crate::crm::sources::Source;

/// The contact fields a [`ContactFields`] takes, as the mapping names them (`company_id`, not
/// `company.id`). Custom attributes are `custom.<name>` ([`CUSTOM_PREFIX`]).
pub const CONTACT_FIELDS: &[&str] = &[
    "external_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "language",
    "time_zone",
    "dob",
    "company_id",
    "company_name",
    "company_plan",
    "signed_up_at",
];

/// The prefix of a custom attribute's field name: `custom.plan` is the mapping's
/// `custom.plan` pointer.
pub const CUSTOM_PREFIX: &str = "custom.";

/// The largest array index a pointer may place a value at (`/emails/0/value`); larger ones
/// would pad the record with nulls for nothing.
const MAX_INDEX: usize = 99;

/// One contact: canonical field names and their values (text, as a CRM form sends them), in
/// the order given. Values are not validated here: a contact the relay will refuse can be
/// sent on purpose, to see the refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    fields: Vec<(String, String)>,
}

impl ContactFields {
    /// No fields yet.
    pub fn new() -> ContactFields {
        ContactFields::default()
    }

    /// Reads `field=value` pairs (the value may contain `=`); errors name the pair's position
    /// or the field, never a value.
    pub fn from_pairs<I, S>(pairs: I) -> Result<ContactFields, OutboundError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut fields = ContactFields::new();
        for (index, pair) in pairs.into_iter().enumerate() {
            let (field, value) = pair
                .as_ref()
                .split_once('=')
                .ok_or(OutboundError::NotAPair {
                    position: index + 1,
                })?;
            fields = fields.with(field.trim(), value)?;
        }
        Ok(fields)
    }

    /// Adds `field` (a [`CONTACT_FIELDS`] name or `custom.<name>`) with `value`.
    pub fn with(mut self, field: &str, value: &str) -> Result<ContactFields, OutboundError> {
        let known = CONTACT_FIELDS.contains(&field)
            || field
                .strip_prefix(CUSTOM_PREFIX)
                .is_some_and(|name| !name.is_empty());
        if !known {
            return Err(OutboundError::UnknownField {
                field: field.to_owned(),
            });
        }
        if self.fields.iter().any(|(given, _)| given == field) {
            return Err(OutboundError::RepeatedField {
                field: field.to_owned(),
            });
        }
        self.fields.push((field.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The fields, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.fields
            .iter()
            .map(|(field, value)| (field.as_str(), value.as_str()))
    }

    /// The record `source`'s mapping reads these fields from: each value at its field's
    /// pointer, objects and arrays created on the way (`/emails/0/value` makes
    /// `{"emails": [{"value": ..}]}`). `check` refuses pointers the scheme's payload cannot
    /// hold.
    pub(super) fn record(
        &self,
        source: &Source,
        check: fn(&str, &Pointer) -> Result<(), OutboundError>,
    ) -> Result<Value, OutboundError> {
        let mut record = Value::Object(Map::new());
        for (field, value) in self.iter() {
            let pointer =
                pointer_of(&source.mapping, field).ok_or_else(|| OutboundError::NotMapped {
                    source_name: source.name.clone(),
                    field: field.to_owned(),
                })?;
            check(field, pointer)?;
            place(&mut record, field, pointer, Value::String(value.to_owned()))?;
        }
        Ok(record)
    }
}

/// Where `mapping` reads `field` from.
fn pointer_of<'m>(mapping: &'m FieldMapping, field: &str) -> Option<&'m Pointer> {
    if let Some(name) = field.strip_prefix(CUSTOM_PREFIX) {
        return mapping.custom.get(name);
    }
    match field {
        "external_id" => Some(&mapping.external_id),
        "email" => mapping.email.as_ref(),
        "first_name" => mapping.first_name.as_ref(),
        "last_name" => mapping.last_name.as_ref(),
        "phone" => mapping.phone.as_ref(),
        "country" => mapping.country.as_ref(),
        "language" => mapping.language.as_ref(),
        "time_zone" => mapping.time_zone.as_ref(),
        "dob" => mapping.dob.as_ref(),
        "company_id" => mapping.company_id.as_ref(),
        "company_name" => mapping.company_name.as_ref(),
        "company_plan" => mapping.company_plan.as_ref(),
        "signed_up_at" => mapping.signed_up_at.as_ref(),
        _ => None,
    }
}

/// The reference tokens of a pointer, unescaped (`~1` is `/`, `~0` is `~`).
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// An array index token: digits only, no leading zero (RFC 6901).
fn index_of(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    let canonical = token == "0" || !token.starts_with('0');
    (digits && canonical).then(|| token.parse().ok()).flatten()
}

/// Puts `value` at `pointer` in `record`, creating what lies on the way.
fn place(
    record: &mut Value,
    field: &str,
    pointer: &Pointer,
    value: Value,
) -> Result<(), OutboundError> {
    let overlap = || OutboundError::Overlap {
        field: field.to_owned(),
        pointer: pointer.as_str().to_owned(),
    };
    let unplaceable = |reason| OutboundError::Unplaceable {
        field: field.to_owned(),
        pointer: pointer.as_str().to_owned(),
        reason,
    };
    let tokens = tokens(pointer.as_str());
    if tokens.is_empty() {
        return Err(unplaceable("the mapping reads it from the whole record"));
    }
    let mut at = record;
    for (i, token) in tokens.iter().enumerate() {
        // What the next token needs here: an array for an index, else an object.
        let empty = || match tokens.get(i + 1) {
            Some(next) if index_of(next).is_some() => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        let last = i + 1 == tokens.len();
        let slot = match at {
            Value::Object(object) => object.entry(token.clone()).or_insert(Value::Null),
            Value::Array(items) => {
                let index = index_of(token).ok_or_else(overlap)?;
                if index > MAX_INDEX {
                    return Err(unplaceable("its array index is over 99"));
                }
                if items.len() <= index {
                    items.resize(index + 1, Value::Null);
                }
                &mut items[index]
            }
            _ => return Err(overlap()),
        };
        if last {
            if !slot.is_null() {
                return Err(overlap());
            }
            *slot = value;
            return Ok(());
        }
        if slot.is_null() {
            *slot = empty();
        }
        at = slot;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(pairs: &[(&str, &str)]) -> Result<Value, OutboundError> {
        let mut record = Value::Object(Map::new());
        for (pointer, value) in pairs {
            let pointer = Pointer::parse(*pointer).unwrap();
            place(&mut record, "f", &pointer, Value::String((*value).into()))?;
        }
        Ok(record)
    }

    #[test]
    fn when_pointers_nest_and_index_then_objects_and_arrays_are_created() {
        assert_eq!(
            placed(&[
                ("/emails/0/value", "a"),
                ("/company/id", "c"),
                ("/company/name", "n"),
                ("/a~1b", "s"),
                ("/list/1", "x"),
            ])
            .unwrap(),
            serde_json::json!({
                "emails": [{"value": "a"}],
                "company": {"id": "c", "name": "n"},
                "a/b": "s",
                "list": [null, "x"],
            })
        );
    }

    #[test]
    fn when_pointers_overlap_then_the_second_field_is_refused() {
        for pairs in [
            &[("/company", "x"), ("/company/id", "y")][..],
            &[("/company/id", "y"), ("/company", "x")],
            &[("/email", "x"), ("/email", "y")],
            &[("/list/0", "x"), ("/list/name", "y")],
        ] {
            let error = placed(pairs).unwrap_err();
            assert!(
                matches!(error, OutboundError::Overlap { .. }),
                "{pairs:?}: {error:?}"
            );
        }
    }

    #[test]
    fn when_a_pointer_is_the_whole_record_or_a_huge_index_then_it_cannot_be_placed() {
        for pointer in ["", "/list/100"] {
            let error = placed(&[(pointer, "x")]).unwrap_err();
            assert!(
                matches!(error, OutboundError::Unplaceable { .. }),
                "{pointer}: {error:?}"
            );
        }
    }

    #[test]
    fn when_pairs_are_read_then_values_keep_their_equals_and_mistakes_are_named() {
        let fields = ContactFields::from_pairs(["external_id=u1", "custom.query=a=b"]).unwrap();
        assert_eq!(
            fields.iter().collect::<Vec<_>>(),
            vec![("external_id", "u1"), ("custom.query", "a=b")]
        );
        assert_eq!(
            ContactFields::from_pairs(["external_id=u1", "ada@example.com"]),
            Err(OutboundError::NotAPair { position: 2 })
        );
        let unknown = ContactFields::from_pairs(["mail=x"]).unwrap_err();
        assert_eq!(
            unknown,
            OutboundError::UnknownField {
                field: "mail".into()
            }
        );
        assert!(
            unknown.to_string().contains("external_id, email"),
            "{unknown}"
        );
        assert!(matches!(
            ContactFields::from_pairs(["custom.=x"]),
            Err(OutboundError::UnknownField { .. })
        ));
        assert_eq!(
            ContactFields::from_pairs(["email=a", "email=b"]),
            Err(OutboundError::RepeatedField {
                field: "email".into()
            })
        );
    }
}
