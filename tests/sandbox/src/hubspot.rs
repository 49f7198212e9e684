//! HubSpot CRM contacts: `POST /crm/v3/objects/contacts/batch/read` and
//! `GET /crm/v3/objects/contacts/{id}`, with HubSpot's statuses and body shapes.
//!
//! Order of checks: fault rules, bearer private app token (401 `INVALID_AUTHENTICATION`),
//! rate limit (429 `RATE_LIMIT` with `Retry-After`), route (404) and method (405), JSON body
//! (400 `VALIDATION_ERROR`), at most 100 inputs (400 `VALIDATION_ERROR`). A batch read answers
//! 200 when every input was found and 207 Multi-Status with an `OBJECT_NOT_FOUND` error
//! listing the others in `context.ids`. Only the requested properties come back (HubSpot's
//! defaults `email`, `firstname`, `lastname` when none are named; unset ones as `null`), plus
//! `hs_object_id`, `createdate` and `lastmodifieddate`, always; every value is a string.
//! Answers on a known route carry `X-HubSpot-RateLimit-Max`, `-Remaining` and
//! `-Interval-Milliseconds` while the `hubspot` bucket has a limit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::admin_types::{
    Api, Bucket, HubspotContactRecord, HubspotContactSeed, HubspotSeedSummary,
};
use crate::http_util;
use crate::limits::Snapshot;
use crate::pipeline;
use crate::state::App;

/// Most inputs one batch read accepts.
pub(crate) const MAX_BATCH_INPUTS: usize = 100;

/// Properties returned when a read names none (besides the three always returned).
const DEFAULT_PROPERTIES: [&str; 3] = ["email", "firstname", "lastname"];

/// Properties every answer carries.
const ALWAYS: [&str; 3] = ["hs_object_id", "createdate", "lastmodifieddate"];

/// Contacts by object id, with an email index for `idProperty=email`.
#[derive(Default)]
pub(crate) struct HubspotStore {
    contacts: BTreeMap<String, HubspotContactRecord>,
    /// Lower-cased email -> object id.
    by_email: HashMap<String, String>,
}

impl HubspotStore {
    /// Creates or replaces contacts. Every seed is checked before any is stored; the error
    /// names the JSON path of the first bad one (never its value).
    pub(crate) fn seed(
        &mut self,
        seeds: Vec<HubspotContactSeed>,
        now: DateTime<Utc>,
    ) -> Result<HubspotSeedSummary, String> {
        let mut prepared = Vec::with_capacity(seeds.len());
        for (index, seed) in seeds.into_iter().enumerate() {
            if seed.id.trim().is_empty() {
                return Err(format!("contacts[{index}].id must not be empty"));
            }
            let mut properties = BTreeMap::new();
            for (name, value) in seed.properties {
                let text = match value {
                    Value::Null => continue,
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(format!(
                            "contacts[{index}].properties.{name}: HubSpot property values are strings, numbers or booleans"
                        ));
                    }
                };
                properties.insert(name, text);
            }
            prepared.push((seed.id, properties));
        }
        let seeded = prepared.len();
        let mut created = HashSet::new();
        for (id, mut properties) in prepared {
            let previous = self.contacts.remove(&id);
            if let Some(old) = &previous {
                self.unindex(old);
            } else {
                created.insert(id.clone());
            }
            let created_at = previous.as_ref().map_or(now, |p| p.created_at);
            let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
            properties.insert("hs_object_id".into(), id.clone());
            properties
                .entry("createdate".into())
                .or_insert_with(|| stamp(created_at));
            properties
                .entry("lastmodifieddate".into())
                .or_insert_with(|| stamp(now));
            let record = HubspotContactRecord {
                id: id.clone(),
                properties,
                created_at,
                updated_at: now,
            };
            if let Some(email) = record.properties.get("email") {
                self.by_email.insert(email.to_lowercase(), id.clone());
            }
            self.contacts.insert(id, record);
        }
        Ok(HubspotSeedSummary {
            seeded,
            created: created.len(),
            total: self.contacts.len(),
        })
    }

    fn unindex(&mut self, record: &HubspotContactRecord) {
        if let Some(email) = record.properties.get("email") {
            let key = email.to_lowercase();
            if self.by_email.get(&key) == Some(&record.id) {
                self.by_email.remove(&key);
            }
        }
    }

    /// Every contact ordered by id, or the one with `id`.
    pub(crate) fn list(&self, id: Option<&str>) -> Vec<HubspotContactRecord> {
        match id {
            Some(id) => self.contacts.get(id).cloned().into_iter().collect(),
            None => self.contacts.values().cloned().collect(),
        }
    }

    /// The contact `key` names: an object id, or a value of `id_property` (emails match
    /// case-insensitively).
    fn find(&self, key: &str, id_property: Option<&str>) -> Option<&HubspotContactRecord> {
        match id_property {
            None | Some("hs_object_id") => self.contacts.get(key),
            Some("email") => self
                .by_email
                .get(&key.to_lowercase())
                .and_then(|id| self.contacts.get(id)),
            Some(name) => self
                .contacts
                .values()
                .find(|c| c.properties.get(name).is_some_and(|v| v == key)),
        }
    }
}

#[derive(Clone)]
enum Route {
    BatchRead,
    Contact(String),
    Unknown,
}

impl Route {
    fn template(&self) -> &'static str {
        match self {
            Route::BatchRead => "/crm/v3/objects/contacts/batch/read",
            Route::Contact(_) => "/crm/v3/objects/contacts/{id}",
            Route::Unknown => "(unmatched)",
        }
    }
}

fn resolve(path: &str) -> Route {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["crm", "v3", "objects", "contacts", "batch", "read"] => Route::BatchRead,
        ["crm", "v3", "objects", "contacts", id] if !id.is_empty() => {
            Route::Contact(http_util::percent_decode(id))
        }
        _ => Route::Unknown,
    }
}

/// The router of the HubSpot listener.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(entry).with_state(app)
}

async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let route = resolve(req.uri().path());
    let app2 = app.clone();
    pipeline::run(
        &app,
        Api::Hubspot,
        route.template(),
        Bucket::Hubspot,
        req,
        move |req| serve(app2, route, req),
    )
    .await
}

/// A HubSpot error: `{"status":"error","message","correlationId","category"}`.
pub(crate) fn error(status: StatusCode, category: &str, message: &str) -> Response {
    http_util::json(
        status,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "category": category,
        }),
    )
}

/// The category HubSpot uses for a status (fault answers).
pub(crate) fn category_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "VALIDATION_ERROR",
        401 => "INVALID_AUTHENTICATION",
        403 => "MISSING_SCOPES",
        404 => "OBJECT_NOT_FOUND",
        409 => "CONFLICT",
        429 => "RATE_LIMITS",
        _ => "INTERNAL_ERROR",
    }
}

/// HubSpot's 429: `errorType` `RATE_LIMIT`, `policyName` `TEN_SECONDLY_ROLLING`, a
/// `Retry-After` in seconds and the rate-limit headers with nothing remaining.
pub(crate) fn throttled(retry_after: u64, budget: Option<Snapshot>) -> Response {
    let mut resp = http_util::json(
        StatusCode::TOO_MANY_REQUESTS,
        &json!({
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "policyName": "TEN_SECONDLY_ROLLING",
        }),
    );
    http_util::set_header(&mut resp, "retry-after", &retry_after.max(1).to_string());
    if let Some(mut b) = budget {
        b.remaining = 0;
        b.apply_hubspot(&mut resp);
    }
    resp
}

type Failure = (StatusCode, &'static str, String);

fn validation(message: impl Into<String>) -> Failure {
    (StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message.into())
}

async fn serve(app: Arc<App>, route: Route, req: Request) -> Response {
    if http_util::bearer(req.headers()) != Some(app.hubspot_token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        );
    }
    let budget = match app.admit(Api::Hubspot, Bucket::Hubspot) {
        Ok(budget) => budget,
        Err(throttled) => return *throttled,
    };
    let method = req.method().clone();
    let answer = match (&route, &method) {
        (Route::BatchRead, &Method::POST) => match http_util::json_object(req).await {
            Ok(body) => batch_read(&app, &body),
            Err(e) => Err((e.status(), "VALIDATION_ERROR", e.to_string())),
        },
        (Route::Contact(id), &Method::GET) => get_contact(&app, id, req.uri()),
        (Route::BatchRead | Route::Contact(_), _) => Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{method} is not supported on {}", route.template()),
        )),
        (Route::Unknown, _) => Err((
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("No route for {method} {}", req.uri().path()),
        )),
    };
    let mut resp = match answer {
        Ok((status, body)) => http_util::json(status, &body),
        Err((status, category, message)) => error(status, category, &message),
    };
    if let Some(b) = budget {
        b.apply_hubspot(&mut resp);
    }
    resp
}

/// A value that names an object: a string, or a number written as one.
fn as_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn batch_read(app: &App, body: &Map<String, Value>) -> Result<(StatusCode, Value), Failure> {
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

fn get_contact(app: &App, id: &str, uri: &http::Uri) -> Result<(StatusCode, Value), Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(id: &str, email: &str) -> HubspotContactSeed {
        HubspotContactSeed::new(id).property("email", email)
    }

    #[test]
    fn when_a_contact_is_reseeded_then_the_email_index_follows_it() {
        let mut store = HubspotStore::default();
        let now = Utc::now();
        let summary = store
            .seed(
                vec![seed("1", "A@example.com"), seed("2", "b@example.com")],
                now,
            )
            .unwrap();
        assert_eq!((summary.seeded, summary.created, summary.total), (2, 2, 2));
        assert_eq!(store.find("a@EXAMPLE.com", Some("email")).unwrap().id, "1");

        let summary = store.seed(vec![seed("1", "c@example.com")], now).unwrap();
        assert_eq!((summary.created, summary.total), (0, 2));
        assert!(store.find("a@example.com", Some("email")).is_none());
        assert_eq!(store.find("c@example.com", Some("email")).unwrap().id, "1");
        assert_eq!(
            store.find("2", None).unwrap().properties["hs_object_id"],
            "2"
        );
    }

    #[test]
    fn when_a_seed_has_an_object_value_then_nothing_is_stored_and_the_path_is_named() {
        let mut store = HubspotStore::default();
        let bad = HubspotContactSeed::new("2").property("address", json!({"city": "X"}));
        let error = store
            .seed(vec![seed("1", "a@example.com"), bad], Utc::now())
            .unwrap_err();
        assert!(
            error.starts_with("contacts[1].properties.address"),
            "{error}"
        );
        assert!(store.list(None).is_empty());
    }

    #[test]
    fn when_paths_vary_then_routes_resolve_to_templates() {
        assert!(matches!(
            resolve("/crm/v3/objects/contacts/batch/read"),
            Route::BatchRead
        ));
        assert!(matches!(
            resolve("/crm/v3/objects/contacts/a%2Fb"),
            Route::Contact(id) if id == "a/b"
        ));
        assert!(matches!(
            resolve("/crm/v3/objects/contacts/"),
            Route::Unknown
        ));
        assert!(matches!(resolve("/crm/v3/objects/deals/1"), Route::Unknown));
    }
}
