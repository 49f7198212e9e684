//! HubSpot bodies: arrays of app subscription events (contact ids to fetch) and workflow
//! bodies (legacy `{"vid", "properties"}`, new-style `{"id", "properties"}`, or flat).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Payload, PayloadError, Record, kind, malformed};

/// The HubSpot object type id of contacts.
const CONTACT_TYPE_ID: &str = "0-1";

/// Reads a HubSpot body: an array of subscription events, or one workflow object.
pub(super) fn parse(body: Value) -> Result<Payload, PayloadError> {
    match body {
        Value::Array(events) => parse_events(events),
        Value::Object(object) => Ok(Payload {
            records: vec![workflow_record(object)?],
            ..Payload::default()
        }),
        other => Err(malformed(
            "",
            format!(
                "body must be an array of events or a contact object, found {}",
                kind(&other)
            ),
        )),
    }
}

fn parse_events(events: Vec<Value>) -> Result<Payload, PayloadError> {
    if events.is_empty() {
        return Err(malformed("", "no events"));
    }
    let mut payload = Payload::default();
    let mut seen = HashSet::new();
    let mut created = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        let location = format!("/{i}");
        let Value::Object(event) = event else {
            return Err(malformed(
                location,
                format!("an event must be an object, found {}", kind(event)),
            ));
        };
        let Some(Value::String(subscription)) = event.get("subscriptionType") else {
            return Err(malformed(location, "event has no subscriptionType string"));
        };
        let is_contact = match subscription.as_str() {
            "contact.creation" | "contact.propertyChange" => true,
            "object.creation" | "object.propertyChange" => {
                event.get("objectTypeId").and_then(Value::as_str) == Some(CONTACT_TYPE_ID)
            }
            _ => false,
        };
        if !is_contact {
            // Some event types (association changes) carry no objectId: only the events
            // that are fetched need one.
            payload.ignored += 1;
            continue;
        }
        let id = match event.get("objectId") {
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => {
                return Err(malformed(
                    location,
                    "contact event has no objectId (an integer or a string)",
                ));
            }
        };
        if subscription.ends_with(".creation") {
            created.insert(id.clone());
        }
        if seen.insert(id.clone()) {
            payload.fetch.push(id);
        } else {
            // HubSpot may deliver several events for one contact: one read is enough.
            payload.ignored += 1;
        }
    }
    payload.fetch_updates = payload
        .fetch
        .iter()
        .filter(|id| !created.contains(*id))
        .cloned()
        .collect();
    Ok(payload)
}

/// A workflow body: legacy contact, new-style object or a custom flat body.
fn workflow_record(mut object: Map<String, Value>) -> Result<Record, PayloadError> {
    let legacy_marker = object.contains_key("vid") || object.contains_key("canonical-vid");
    let properties = match object.remove("properties") {
        Some(Value::Object(properties)) => properties,
        other => {
            if let Some(other) = other {
                object.insert("properties".into(), other);
            }
            return Ok(Record {
                value: Value::Object(object),
                location: String::new(),
                dedupe_key: None,
                signup: true,
            });
        }
    };
    let has_value_objects = properties
        .values()
        .any(|v| v.as_object().is_some_and(|o| o.contains_key("value")));
    if legacy_marker || has_value_objects {
        let mut record: Map<String, Value> = properties
            .into_iter()
            .map(|(name, property)| match property {
                Value::Object(mut p) if p.contains_key("value") => {
                    (name, p.remove("value").unwrap_or(Value::Null))
                }
                other => (name, other),
            })
            .collect();
        if !record.contains_key("hs_object_id")
            && let Some(id) = ["vid", "canonical-vid"]
                .iter()
                .find_map(|key| id_text(object.get(*key)))
        {
            record.insert("hs_object_id".into(), Value::String(id));
        }
        return Ok(Record {
            value: Value::Object(record),
            location: String::new(),
            dedupe_key: None,
            signup: true,
        });
    }
    let mut record = properties;
    if !record.contains_key("hs_object_id")
        && let Some(id) = id_text(object.get("id"))
    {
        record.insert("hs_object_id".into(), Value::String(id));
    }
    Ok(Record {
        value: Value::Object(record),
        location: "/properties".into(),
        dedupe_key: None,
        signup: true,
    })
}

/// An id given as an integer or a non-empty string, as text.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_hubspot_properties_is_not_an_object_then_the_body_is_taken_as_it_is() {
        let record = workflow_record(
            serde_json::json!({"email": "x", "properties": "none"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            record.value,
            serde_json::json!({"email": "x", "properties": "none"})
        );
        assert_eq!(record.location, "");
    }
}
