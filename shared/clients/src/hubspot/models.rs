//! HubSpot contact shapes: the contacts a read returns, and the batch-read request and
//! response bodies on the wire.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::client::API_NAME;

/// The property HubSpot always returns with a contact's internal id.
pub const OBJECT_ID_PROPERTY: &str = "hs_object_id";

/// A HubSpot contact as read: its id and the properties HubSpot returned.
///
/// Property values are HubSpot's strings (numbers and dates come as text); properties HubSpot
/// returned as `null` (requested but unset) are left out. `Debug` shows property names, never
/// values.
#[derive(Clone, PartialEq, Eq)]
pub struct HubspotContact {
    /// HubSpot's object id (`hs_object_id`).
    pub id: String,
    /// The returned properties, by internal name (`email`, `firstname`, ...).
    pub properties: Map<String, Value>,
}

impl HubspotContact {
    /// The record the field mapping reads: the properties object, with `hs_object_id` set to
    /// the contact's id when HubSpot did not return it.
    pub fn to_record(&self) -> Value {
        let mut record = self.properties.clone();
        record
            .entry(OBJECT_ID_PROPERTY)
            .or_insert_with(|| Value::String(self.id.clone()));
        Value::Object(record)
    }
}

impl fmt::Debug for HubspotContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubspotContact")
            .field("id", &self.id)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What a batch read found. `Debug` shows the contacts' ids and property names and how many
/// ids are missing, never values (a lookup by `email` lists emails as missing).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ContactsRead {
    /// The contacts found, in the order their ids were first requested.
    pub found: Vec<HubspotContact>,
    /// Requested ids (or `idProperty` values) no result answered for, in request order:
    /// deleted, merged away, never existed, or empty.
    pub missing: Vec<String>,
}

impl fmt::Debug for ContactsRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactsRead")
            .field("found", &self.found)
            .field("missing", &format_args!("<{} ids>", self.missing.len()))
            .finish()
    }
}

/// A property value as text: HubSpot sends strings, but numbers are accepted.
pub(super) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BatchReadBody<'a> {
    pub(super) properties: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id_property: Option<&'a str>,
    pub(super) inputs: Vec<Input<'a>>,
}

#[derive(Serialize)]
pub(super) struct Input<'a> {
    pub(super) id: &'a str,
}

/// `{"status","results":[..],"errors":[..],"numErrors",..}`; only what the client uses.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct BatchReadResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) results: Vec<RawContact>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) errors: Vec<BatchError>,
}

#[derive(Deserialize, Default)]
pub(super) struct BatchError {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) category: Option<String>,
}

/// One result: `{"id","properties":{..},"createdAt","updatedAt","archived"}`.
#[derive(Deserialize, Default)]
pub(super) struct RawContact {
    #[serde(default, deserialize_with = "null_as_default")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    properties: Map<String, Value>,
}

impl RawContact {
    /// The contact, with null properties dropped; `None` when no id can be found (neither
    /// `id` nor `hs_object_id`).
    pub(super) fn into_contact(self) -> Option<HubspotContact> {
        let mut properties = self.properties;
        properties.retain(|_, value| !value.is_null());
        let id = self
            .id
            .as_ref()
            .and_then(text_of)
            .or_else(|| properties.get(OBJECT_ID_PROPERTY).and_then(text_of))
            .filter(|id| !id.is_empty());
        if id.is_none() {
            tracing::warn!(api = API_NAME, "batch read result without an id; ignored");
        }
        Some(HubspotContact {
            id: id?,
            properties,
        })
    }
}

/// `null` reads as the type's default (an empty list or map, `None`).
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::decode_json;

    #[test]
    fn when_a_contact_has_no_hs_object_id_then_the_record_gets_its_id() {
        let mut properties = Map::new();
        properties.insert("email".into(), "a@example.com".into());
        let contact = HubspotContact {
            id: "101".into(),
            properties,
        };
        assert_eq!(
            contact.to_record(),
            serde_json::json!({"email": "a@example.com", "hs_object_id": "101"})
        );
        let printed = format!("{contact:?}");
        assert!(!printed.contains("a@example.com"), "{printed}");
        assert!(printed.contains("email"), "{printed}");
    }

    #[test]
    fn when_a_result_has_nulls_and_a_numeric_id_then_it_still_decodes() {
        let raw: BatchReadResponse = decode_json(
            br#"{"results":[{"id":7,"properties":{"email":null,"firstname":"A"}},
                {"id":null,"properties":null},{"properties":{"hs_object_id":"8"}}],
                "errors":null,"extra":{"x":1}}"#,
        )
        .unwrap();
        let contacts: Vec<HubspotContact> = raw
            .results
            .into_iter()
            .filter_map(RawContact::into_contact)
            .collect();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].id, "7");
        assert!(!contacts[0].properties.contains_key("email"));
        assert_eq!(contacts[1].id, "8");
    }
}
