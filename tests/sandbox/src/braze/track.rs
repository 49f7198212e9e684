//! `POST /users/track`: attributes, events and purchases with Braze's upsert semantics.
//!
//! Item error types (in `errors[].type`):
//! - `'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required`
//! - `only one of 'external_id', 'braze_id' or 'user_alias' may be given`
//! - `'external_id' is too large: at most 987 bytes (EXTERNAL_USER_ID_TOO_LARGE)`
//! - `'external_id' must be a non-empty string`, `'braze_id' must be a string`
//! - `'user_alias' must have string 'alias_name' and 'alias_label'`
//! - `'<field>' must be ...` for invalid standard fields and flags, event and purchase fields.
//! - `custom attribute '<key>': ...` for a name starting with `$` or a string value over 255
//!   characters or an array over 500 items.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::attributes::{updated_maps, validate_attributes};
use super::profiles::{Profiles, StoredEvent, StoredPurchase, UserAlias};
use super::routes::{Answer, bad};
use crate::common::state::App;

const MAX_EXTERNAL_ID_BYTES: usize = 987;
const NO_VALID_DATA: &str =
    "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.";
const IDENTIFIER_REQUIRED: &str =
    "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required";

/// Handles one `/users/track` body.
pub(crate) fn track(app: &App, mut body: Map<String, Value>) -> Answer {
    let mut arrays: Vec<(&'static str, Option<Vec<Value>>)> = Vec::new();
    for key in ["attributes", "events", "purchases"] {
        match body.remove(key) {
            None | Some(Value::Null) => arrays.push((key, None)),
            Some(Value::Array(items)) => arrays.push((key, Some(items))),
            Some(_) => return bad(&format!("'{key}' must be an array")),
        }
    }
    let total: usize = arrays
        .iter()
        .map(|(_, a)| a.as_ref().map_or(0, Vec::len))
        .sum();
    let max = app.settings().track_max_objects;
    if total > max {
        return (
            StatusCode::BAD_REQUEST,
            json!({
                "message": "Max Input Length Exceeded",
                "errors": [format!(
                    "at most {max} attributes, events and purchases objects combined per request, got {total}"
                )],
            }),
        );
    }
    if total == 0 {
        return bad(NO_VALID_DATA);
    }

    let now = Utc::now();
    let mut store = app.braze();
    let mut errors = Vec::new();
    let mut answer = Map::new();
    answer.insert("message".into(), json!("success"));
    let mut processed_total = 0;
    for (array, items) in arrays {
        let Some(items) = items else { continue };
        let mut processed = 0u64;
        for (index, item) in items.into_iter().enumerate() {
            let outcome = match item {
                Value::Object(obj) => match array {
                    "attributes" => apply_attributes(&mut store, obj, now),
                    "events" => apply_event(&mut store, obj, now),
                    _ => apply_purchase(&mut store, obj, now),
                },
                _ => Err(format!("each '{array}' item must be an object")),
            };
            match outcome {
                Ok(()) => processed += 1,
                Err(kind) => {
                    errors.push(json!({ "type": kind, "input_array": array, "index": index }))
                }
            }
        }
        processed_total += processed;
        answer.insert(format!("{array}_processed"), json!(processed));
    }
    if processed_total == 0 {
        return (
            StatusCode::BAD_REQUEST,
            json!({ "message": NO_VALID_DATA, "errors": errors }),
        );
    }
    if !errors.is_empty() {
        answer.insert("errors".into(), Value::Array(errors));
    }
    (StatusCode::CREATED, Value::Object(answer))
}

/// The profile an object names.
enum Ident {
    External(String),
    Alias(UserAlias),
    BrazeId(String),
    Email(String),
    Phone(String),
}

fn present(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).is_some_and(|v| !v.is_null())
}

fn identify(obj: &Map<String, Value>) -> Result<Ident, String> {
    let primaries = ["external_id", "user_alias", "braze_id"]
        .iter()
        .filter(|k| present(obj, k))
        .count();
    if primaries > 1 {
        return Err("only one of 'external_id', 'braze_id' or 'user_alias' may be given".into());
    }
    if present(obj, "external_id") {
        return match &obj["external_id"] {
            Value::String(s) if s.len() > MAX_EXTERNAL_ID_BYTES => Err(format!(
                "'external_id' is too large: at most {MAX_EXTERNAL_ID_BYTES} bytes (EXTERNAL_USER_ID_TOO_LARGE)"
            )),
            Value::String(s) if !s.is_empty() => Ok(Ident::External(s.clone())),
            _ => Err("'external_id' must be a non-empty string".into()),
        };
    }
    if present(obj, "user_alias") {
        return parse_alias(&obj["user_alias"])
            .map(Ident::Alias)
            .ok_or_else(|| "'user_alias' must have string 'alias_name' and 'alias_label'".into());
    }
    if present(obj, "braze_id") {
        return match &obj["braze_id"] {
            Value::String(s) => Ok(Ident::BrazeId(s.clone())),
            _ => Err("'braze_id' must be a string".into()),
        };
    }
    match (obj.get("email"), obj.get("phone")) {
        (Some(Value::String(e)), _) if !e.trim().is_empty() => Ok(Ident::Email(e.clone())),
        (_, Some(Value::String(p))) if !p.trim().is_empty() => Ok(Ident::Phone(p.clone())),
        _ => Err(IDENTIFIER_REQUIRED.into()),
    }
}

/// `{alias_name, alias_label}` with non-empty strings.
pub(crate) fn parse_alias(v: &Value) -> Option<UserAlias> {
    let name = v.get("alias_name")?.as_str()?;
    let label = v.get("alias_label")?.as_str()?;
    (!name.is_empty() && !label.is_empty()).then(|| UserAlias {
        alias_name: name.into(),
        alias_label: label.into(),
    })
}

/// The profile an object names and its `_update_existing_only` flag.
fn target(obj: &Map<String, Value>) -> Result<(Ident, Option<bool>), String> {
    Ok((identify(obj)?, flag(obj, "_update_existing_only")?))
}

fn flag(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("'{key}' must be a boolean")),
    }
}

/// The existing profile an identifier names (most recently updated one for email/phone).
fn lookup(store: &Profiles, ident: &Ident) -> Option<String> {
    match ident {
        Ident::External(ext) => store.by_external_id(ext),
        Ident::Alias(alias) => store.by_alias(alias),
        Ident::BrazeId(id) => store.get(id).map(|p| p.braze_id.clone()),
        Ident::Email(email) => store.most_recent(&store.by_email(email)),
        Ident::Phone(phone) => store.most_recent(&store.by_phone(phone)),
    }
}

/// Creates the profile an identifier names unless the object is update-only
/// (`_update_existing_only`, true by default for aliases; a braze_id never creates).
fn create(
    store: &mut Profiles,
    ident: &Ident,
    update_only: Option<bool>,
    now: DateTime<Utc>,
) -> Option<String> {
    let default_update_only = matches!(ident, Ident::Alias(_) | Ident::BrazeId(_));
    if update_only.unwrap_or(default_update_only) || matches!(ident, Ident::BrazeId(_)) {
        return None;
    }
    let id = store.create(now);
    store.update(&id, now, |p| match ident {
        Ident::External(ext) => p.external_id = Some(ext.clone()),
        Ident::Alias(alias) => p.user_aliases.push(alias.clone()),
        Ident::Email(email) => {
            p.attributes.insert("email".into(), json!(email));
        }
        Ident::Phone(phone) => {
            p.attributes.insert("phone".into(), json!(phone));
        }
        Ident::BrazeId(_) => {}
    });
    Some(id)
}

fn resolve(
    store: &mut Profiles,
    ident: &Ident,
    update_only: Option<bool>,
    now: DateTime<Utc>,
) -> Option<String> {
    lookup(store, ident).or_else(|| create(store, ident, update_only, now))
}

fn apply_attributes(
    store: &mut Profiles,
    obj: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let (ident, update_only) = target(&obj)?;
    let merge_objects = flag(&obj, "_merge_objects")?.unwrap_or(false);
    validate_attributes(&obj)?;
    // Compute every change before creating anything, so an invalid value changes nothing.
    let found = lookup(store, &ident);
    let (attributes, custom) = found
        .as_ref()
        .and_then(|id| store.get(id))
        .map(|p| (p.attributes.clone(), p.custom_attributes.clone()))
        .unwrap_or_default();
    let (attributes, custom) = updated_maps(attributes, custom, &obj, merge_objects)?;
    let Some(id) = found.or_else(|| create(store, &ident, update_only, now)) else {
        return Ok(());
    };
    store.update(&id, now, move |p| {
        p.attributes = attributes;
        p.custom_attributes = custom;
    });
    Ok(())
}

fn required_string(obj: &Map<String, Value>, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!(
            "'{key}' is required and must be a non-empty string"
        )),
    }
}

fn required_time(obj: &Map<String, Value>) -> Result<Value, String> {
    match obj.get("time") {
        Some(v @ Value::String(s)) if !s.is_empty() => Ok(v.clone()),
        Some(v @ Value::Number(_)) => Ok(v.clone()),
        _ => Err("'time' is required (ISO 8601 string)".into()),
    }
}

fn apply_event(
    store: &mut Profiles,
    obj: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let (ident, update_only) = target(&obj)?;
    let event = StoredEvent {
        name: required_string(&obj, "name")?,
        time: required_time(&obj)?,
        properties: obj.get("properties").filter(|p| !p.is_null()).cloned(),
    };
    if let Some(id) = resolve(store, &ident, update_only, now) {
        store.update(&id, now, |p| p.events.push(event));
    }
    Ok(())
}

fn apply_purchase(
    store: &mut Profiles,
    obj: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let (ident, update_only) = target(&obj)?;
    let currency = required_string(&obj, "currency")?;
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("'currency' must be an ISO 4217 code".into());
    }
    let price = match obj.get("price") {
        Some(v @ Value::Number(_)) => v.clone(),
        _ => return Err("'price' is required and must be a number".into()),
    };
    let purchase = StoredPurchase {
        product_id: required_string(&obj, "product_id")?,
        currency,
        price,
        quantity: obj.get("quantity").filter(|q| !q.is_null()).cloned(),
        time: required_time(&obj)?,
        properties: obj.get("properties").filter(|p| !p.is_null()).cloned(),
    };
    if let Some(id) = resolve(store, &ident, update_only, now) {
        store.update(&id, now, |p| p.purchases.push(purchase));
    }
    Ok(())
}
