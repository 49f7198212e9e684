//! `POST /crm/v3/objects/contacts/batch/read` and `GET /crm/v3/objects/contacts/{id}`, and a
//! contact as HubSpot returns it.

use std::collections::HashSet;

use chrono::{SecondsFormat, Utc};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::routes::{Failure, validation};
use crate::admin::types::HubspotContactRecord;
use crate::common::http_util;
use crate::common::state::App;

/// Most inputs one batch read accepts.
const MAX_BATCH_INPUTS: usize = 100;

/// Properties returned when a read names none (besides the three always returned).
const DEFAULT_PROPERTIES: [&str; 3] = ["email", "firstname", "lastname"];

/// Properties every answer carries.
const ALWAYS: [&str; 3] = ["hs_object_id", "createdate", "lastmodifieddate"];

/// A value that names an object: a string, or a number written as one.
fn as_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `POST /crm/v3/objects/contacts/batch/read`: 200 when every input was found, else 207 with
/// an `OBJECT_NOT_FOUND` error listing the others.
pub(super) fn batch_read(
    app: &App,
    body: &Map<String, Value>,
) -> Result<(StatusCode, Value), Failure> {
    let inputs = match body.get("inputs") {
        Some(Value::Array(inputs)) => inputs,
        Some(_) => return Err(validation("Invalid input JSON: `inputs` must be an array")),
        None => return Err(validation("Invalid input JSON: `inputs` is required")),
    };
    if inputs.len() > MAX_BATCH_INPUTS {
        return Err(validation(format!(
            "Batch input limit exceeded: at most {MAX_BATCH_INPUTS} inputs are allowed, {} were given",
            inputs.len()
        )));
    }
    let keys = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            input.get("id").and_then(as_key).ok_or_else(|| {
                validation(format!(
                    "Invalid input JSON: `inputs[{i}].id` must be a string"
                ))
            })
        })
        .collect::<Result<Vec<String>, Failure>>()?;
    let properties = string_list(body.get("properties"), "properties")?;
    // Accepted like HubSpot does; histories are not emulated.
    string_list(body.get("propertiesWithHistory"), "propertiesWithHistory")?;
    let id_property = match body.get("idProperty") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if !p.is_empty() => Some(p.as_str()),
        Some(_) => {
            return Err(validation(
                "Invalid input JSON: `idProperty` must be a property name",
            ));
        }
    };

    let started = now_text();
    let store = app.hubspot();
    let mut results = Vec::new();
    let mut returned = HashSet::new();
    let mut missing = Vec::new();
    for key in keys {
        match store.find(&key, id_property) {
            Some(contact) if returned.insert(contact.id.clone()) => {
                results.push(contact_json(contact, &properties));
            }
            Some(_) => {}
            None if !missing.contains(&key) => missing.push(key),
            None => {}
        }
    }
    let mut answer = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": now_text(),
    });
    if missing.is_empty() {
        return Ok((StatusCode::OK, answer));
    }
    answer["numErrors"] = json!(1);
    answer["errors"] = json!([{
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
        "context": { "ids": missing },
        "links": {},
    }]);
    Ok((StatusCode::MULTI_STATUS, answer))
}

/// `GET /crm/v3/objects/contacts/{id}?properties=..&idProperty=..`.
pub(super) fn get_contact(
    app: &App,
    id: &str,
    uri: &http::Uri,
) -> Result<(StatusCode, Value), Failure> {
    let pairs = http_util::query_pairs(uri);
    let properties: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "properties")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let id_property = http_util::query_get(&pairs, "idProperty").filter(|p| !p.is_empty());
    let store = app.hubspot();
    match store.find(id, id_property) {
        Some(contact) => Ok((StatusCode::OK, contact_json(contact, &properties))),
        None => Err((
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found".to_owned(),
        )),
    }
}

/// `null` or absent: empty; else an array of strings.
fn string_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    validation(format!(
                        "Invalid input JSON: `{field}` must be an array of strings"
                    ))
                })
            })
            .collect(),
        Some(_) => Err(validation(format!(
            "Invalid input JSON: `{field}` must be an array of strings"
        ))),
    }
}

/// A contact as HubSpot returns it: the requested properties (defaults when none; unset
/// ones `null`) plus the three it always returns.
fn contact_json(contact: &HubspotContactRecord, requested: &[String]) -> Value {
    let names: Vec<&str> = if requested.is_empty() {
        DEFAULT_PROPERTIES.to_vec()
    } else {
        requested.iter().map(String::as_str).collect()
    };
    let mut properties = Map::new();
    for name in names.into_iter().chain(ALWAYS) {
        let value = contact
            .properties
            .get(name)
            .map_or(Value::Null, |v| Value::String(v.clone()));
        properties.insert(name.to_owned(), value);
    }
    json!({
        "id": contact.id,
        "properties": properties,
        "createdAt": contact.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "updatedAt": contact.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "archived": false,
    })
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}
