//! `/users/delete`, `/users/export/ids`, `/users/merge`, `/users/alias/new`, `/users/identify`.

use chrono::Utc;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::profiles::{BrazeProfile, Profiles, UserAlias};
use super::render::{self, Fields, Style};
use super::routes::{Answer, bad, typed};
use super::track::parse_alias;
use crate::common::state::App;

/// Identifiers per request on these endpoints.
const MAX_IDS: usize = 50;

/// A 400 when `key` lists more than [`MAX_IDS`] items.
fn within_max_ids(key: &str, n: usize) -> Result<(), Answer> {
    if n > MAX_IDS {
        return Err(bad(&format!(
            "Too many '{key}': at most {MAX_IDS} per request, got {n}"
        )));
    }
    Ok(())
}

/// `POST /users/delete`.
pub(crate) fn delete(app: &App, body: Map<String, Value>) -> Answer {
    const TYPES: [&str; 5] = [
        "external_ids",
        "user_aliases",
        "braze_ids",
        "email_addresses",
        "phone_numbers",
    ];
    let given: Vec<(&str, &Value)> = TYPES
        .iter()
        .filter_map(|k| body.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
        .collect();
    let (kind, items) = match given.as_slice() {
        [] => {
            return bad(
                "One of 'external_ids', 'user_aliases', 'braze_ids', 'email_addresses' or 'phone_numbers' is required",
            );
        }
        [(kind, Value::Array(items))] => (*kind, items),
        [(kind, _)] => return bad(&format!("'{kind}' must be an array")),
        _ => return bad("Only one identifier type may be given per request"),
    };
    if let Err(answer) = within_max_ids(kind, items.len()) {
        return answer;
    }
    let mut store = app.braze();
    let mut targets = Vec::new();
    let mut misses = 0u64;
    for item in items {
        let found = match kind {
            "external_ids" => item.as_str().map(|s| store.by_external_id(s)),
            "braze_ids" => item
                .as_str()
                .map(|s| store.get(s).map(|p| p.braze_id.clone())),
            "user_aliases" => parse_alias(item).map(|a| store.by_alias(&a)),
            "email_addresses" => contact(item, "email").map(|(email, prio)| {
                let ids = store.by_email(&email);
                prioritized(&store, &ids, &prio)
            }),
            _ => contact(item, "phone").map(|(phone, prio)| {
                let ids = store.by_phone(&phone);
                prioritized(&store, &ids, &prio)
            }),
        };
        match found {
            Some(Some(id)) => targets.push(id),
            Some(None) => misses += 1,
            None => return bad(&format!("Invalid item in '{kind}'")),
        }
    }
    targets.sort();
    targets.dedup();
    let deleted = targets
        .iter()
        .filter(|id| store.remove(id).is_some())
        .count();
    store.deletions.requests += 1;
    store.deletions.deleted += deleted as u64;
    store.deletions.missed += misses;
    (
        StatusCode::CREATED,
        json!({ "deleted": deleted, "message": "success" }),
    )
}

/// `{email|phone, prioritization?}` or a bare string.
fn contact(item: &Value, key: &str) -> Option<(String, Vec<String>)> {
    match item {
        Value::String(s) => Some((s.clone(), Vec::new())),
        Value::Object(o) => {
            let value = o.get(key)?.as_str()?.to_owned();
            let prio = o
                .get("prioritization")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Some((value, prio))
        }
        _ => None,
    }
}

/// The one profile an email/phone deletion targets: narrowed by `identified` /
/// `unidentified`, then `most_recently_updated` (also the tie-breaker).
fn prioritized(store: &Profiles, ids: &[String], prio: &[String]) -> Option<String> {
    let mut candidates: Vec<String> = ids.to_vec();
    for rule in prio {
        let keep: Vec<String> = candidates
            .iter()
            .filter(|id| {
                let identified = store.get(id).is_some_and(|p| p.external_id.is_some());
                match rule.as_str() {
                    "identified" => identified,
                    "unidentified" => !identified,
                    _ => true,
                }
            })
            .cloned()
            .collect();
        if !keep.is_empty() {
            candidates = keep;
        }
    }
    store.most_recent(&candidates)
}

#[derive(Deserialize)]
struct ExportIdsRequest {
    external_ids: Option<Vec<String>>,
    user_aliases: Option<Vec<UserAlias>>,
    email_address: Option<String>,
    phone: Option<String>,
    braze_id: Option<String>,
    device_id: Option<String>,
    fields_to_export: Option<Vec<String>>,
}

/// `POST /users/export/ids`.
pub(crate) fn export_ids(app: &App, body: Map<String, Value>) -> Answer {
    let req: ExportIdsRequest = match typed(body) {
        Ok(r) => r,
        Err(a) => return a,
    };
    let Some(fields) = req.fields_to_export.filter(|f| !f.is_empty()) else {
        return bad("'fields_to_export' is required");
    };
    let lists = req.external_ids.is_some() || req.user_aliases.is_some();
    let singles = [
        req.email_address.is_some(),
        req.phone.is_some(),
        req.braze_id.is_some(),
        req.device_id.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count();
    if (lists && singles > 0) || singles > 1 {
        return bad(
            "Give 'external_ids' and/or 'user_aliases', or exactly one of 'email_address', 'phone', 'braze_id' or 'device_id'",
        );
    }
    if !lists && singles == 0 {
        return bad(
            "One of 'external_ids', 'user_aliases', 'email_address', 'phone', 'braze_id' or 'device_id' is required",
        );
    }
    let sizes = [
        (
            "external_ids",
            req.external_ids.as_ref().map_or(0, Vec::len),
        ),
        (
            "user_aliases",
            req.user_aliases.as_ref().map_or(0, Vec::len),
        ),
    ];
    if let Err(answer) = sizes
        .iter()
        .try_for_each(|(key, n)| within_max_ids(key, *n))
    {
        return answer;
    }

    let store = app.braze();
    let mut ids: Vec<String> = Vec::new();
    let mut invalid: Vec<Value> = Vec::new();
    for ext in req.external_ids.unwrap_or_default() {
        match store.by_external_id(&ext) {
            Some(id) => ids.push(id),
            None => invalid.push(json!(ext)),
        }
    }
    for alias in req.user_aliases.unwrap_or_default() {
        match store.by_alias(&alias) {
            Some(id) => ids.push(id),
            None => invalid.push(json!(alias.alias_name)),
        }
    }
    if let Some(email) = &req.email_address {
        ids.extend(store.by_email(email));
    }
    if let Some(phone) = &req.phone {
        ids.extend(store.by_phone(phone));
    }
    if let Some(bid) = &req.braze_id {
        match store.get(bid) {
            Some(p) => ids.push(p.braze_id.clone()),
            None => invalid.push(json!(bid)),
        }
    }
    // device_id: the sandbox stores no devices, so nothing matches.
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    let fields = Fields::new(fields, None);
    let users: Vec<Value> = ids
        .iter()
        .filter_map(|id| store.get(id))
        .map(|p| Value::Object(render::user(p, &fields, Style::Ids)))
        .collect();
    let mut answer = Map::new();
    answer.insert("message".into(), json!("success"));
    answer.insert("users".into(), Value::Array(users));
    if !invalid.is_empty() {
        answer.insert("invalid_user_ids".into(), Value::Array(invalid));
    }
    (StatusCode::CREATED, Value::Object(answer))
}

/// An identifier object of merge / identify: external_id, user_alias, braze_id, email, phone.
fn find_one(store: &Profiles, ident: &Value) -> Result<Option<String>, String> {
    let obj = ident.as_object().ok_or("identifiers must be objects")?;
    if let Some(ext) = obj.get("external_id").and_then(Value::as_str) {
        return Ok(store.by_external_id(ext));
    }
    if let Some(alias) = obj.get("user_alias") {
        let alias =
            parse_alias(alias).ok_or("'user_alias' needs 'alias_name' and 'alias_label'")?;
        return Ok(store.by_alias(&alias));
    }
    if let Some(bid) = obj.get("braze_id").and_then(Value::as_str) {
        return Ok(store.get(bid).map(|p| p.braze_id.clone()));
    }
    // An ambiguous email or phone matches nothing (Braze silently skips it).
    let unique = |ids: Vec<String>| (ids.len() == 1).then(|| ids[0].clone());
    if let Some(email) = obj.get("email").and_then(Value::as_str) {
        return Ok(unique(store.by_email(email)));
    }
    if let Some(phone) = obj.get("phone").and_then(Value::as_str) {
        return Ok(unique(store.by_phone(phone)));
    }
    Err("an identifier needs 'external_id', 'user_alias', 'braze_id', 'email' or 'phone'".into())
}

/// Moves `from` into `into`: fields `into` lacks, events, purchases and aliases; `from` is
/// removed.
fn merge_into(store: &mut Profiles, from: &str, into: &str) {
    let Some(merged) = store.remove(from) else {
        return;
    };
    store.update(into, Utc::now(), move |keep: &mut BrazeProfile| {
        for (k, v) in merged.attributes {
            keep.attributes.entry(k).or_insert(v);
        }
        for (k, v) in merged.custom_attributes {
            keep.custom_attributes.entry(k).or_insert(v);
        }
        keep.events.extend(merged.events);
        keep.purchases.extend(merged.purchases);
        for alias in merged.user_aliases {
            if !keep.user_aliases.contains(&alias) {
                keep.user_aliases.push(alias);
            }
        }
    });
}

/// The array under `key`, at most [`MAX_IDS`] long.
fn array_of(mut body: Map<String, Value>, key: &str) -> Result<Vec<Value>, Answer> {
    let Some(Value::Array(items)) = body.remove(key) else {
        return Err(bad(&format!("'{key}' is required and must be an array")));
    };
    within_max_ids(key, items.len())?;
    Ok(items)
}

/// `POST /users/merge`: 202, asynchronous in Braze, applied at once here.
pub(crate) fn merge(app: &App, body: Map<String, Value>) -> Answer {
    let items = match array_of(body, "merge_updates") {
        Ok(i) => i,
        Err(a) => return a,
    };
    let mut store = app.braze();
    let mut pairs = Vec::new();
    for item in items {
        let (Some(from), Some(into)) = (
            item.get("identifier_to_merge"),
            item.get("identifier_to_keep"),
        ) else {
            return bad("each merge update needs 'identifier_to_merge' and 'identifier_to_keep'");
        };
        match (find_one(&store, from), find_one(&store, into)) {
            (Ok(a), Ok(b)) => pairs.push((a, b)),
            (Err(e), _) | (_, Err(e)) => return bad(&e),
        }
    }
    for (from, into) in pairs {
        if let (Some(from), Some(into)) = (from, into)
            && from != into
        {
            merge_into(&mut store, &from, &into);
        }
    }
    (StatusCode::ACCEPTED, json!({ "message": "success" }))
}

#[derive(Deserialize)]
struct NewAlias {
    external_id: Option<String>,
    alias_name: Option<String>,
    alias_label: Option<String>,
}

/// `POST /users/alias/new`: an existing name+label pair or an unknown external_id answer
/// success and change nothing; without external_id an alias-only user is created.
pub(crate) fn alias_new(app: &App, body: Map<String, Value>) -> Answer {
    let items = match array_of(body, "user_aliases") {
        Ok(i) => i,
        Err(a) => return a,
    };
    let mut parsed = Vec::new();
    for item in items {
        let Value::Object(item) = item else {
            return bad("each user alias must be an object");
        };
        let alias: NewAlias = match typed(item) {
            Ok(a) => a,
            Err(a) => return a,
        };
        let (Some(name), Some(label)) = (alias.alias_name, alias.alias_label) else {
            return bad("each user alias needs 'alias_name' and 'alias_label'");
        };
        parsed.push((
            alias.external_id,
            UserAlias {
                alias_name: name,
                alias_label: label,
            },
        ));
    }
    let now = Utc::now();
    let mut store = app.braze();
    let processed = parsed.len();
    for (external_id, alias) in parsed {
        if store.by_alias(&alias).is_some() {
            continue;
        }
        match external_id {
            Some(ext) => {
                if let Some(id) = store.by_external_id(&ext) {
                    store.update(&id, now, |p| p.user_aliases.push(alias));
                }
            }
            None => {
                let id = store.create(now);
                store.update(&id, now, |p| p.user_aliases.push(alias));
            }
        }
    }
    (
        StatusCode::CREATED,
        json!({ "aliases_processed": processed, "message": "success" }),
    )
}

/// `POST /users/identify`: gives an alias-only profile an external_id, or merges it into the
/// profile that already has it. An alias that matches nothing still answers success.
pub(crate) fn identify(app: &App, body: Map<String, Value>) -> Answer {
    let items = match array_of(body, "aliases_to_identify") {
        Ok(i) => i,
        Err(a) => return a,
    };
    let mut parsed = Vec::new();
    for item in &items {
        let ext = item.get("external_id").and_then(Value::as_str);
        let alias = item.get("user_alias").and_then(parse_alias);
        match (ext, alias) {
            (Some(ext), Some(alias)) => parsed.push((ext.to_owned(), alias)),
            _ => return bad("each item needs 'external_id' and 'user_alias'"),
        }
    }
    let now = Utc::now();
    let mut store = app.braze();
    for (ext, alias) in &parsed {
        // Only an alias-only profile can be identified.
        let Some(alias_user) = store
            .by_alias(alias)
            .filter(|id| store.get(id).is_some_and(|p| p.external_id.is_none()))
        else {
            continue;
        };
        match store.by_external_id(ext) {
            Some(known) => merge_into(&mut store, &alias_user, &known),
            None => {
                store.update(&alias_user, now, |p| p.external_id = Some(ext.clone()));
            }
        }
    }
    (
        StatusCode::CREATED,
        json!({ "aliases_processed": parsed.len(), "message": "success" }),
    )
}
