//! Userflow REST: users, groups (memberships through `POST /users`) and events.
//!
//! Order of checks: fault rules, bearer key (401), `Userflow-Version` other than `2020-01-03`
//! (400 `invalid_version`), optional rate limit (429 with `Retry-After`), route (404
//! `not_found`; there is no `POST /users/{id}` nor `POST /groups/{id}`), JSON body (400
//! `invalid_params`). Lists are ordered by id, paginated with `limit` (1..=100, default 20)
//! and `starting_after`. Expanded `groups` / `memberships` are plain arrays.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::{Method, StatusCode, Uri};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::admin_types::{
    Api, Bucket, UserflowEventRecord, UserflowGroupRecord, UserflowUserRecord,
};
use crate::http_util;
use crate::pipeline;
use crate::state::App;

/// The only API version there is.
const VERSION: &str = "2020-01-03";
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// Users, groups and events.
#[derive(Default)]
pub(crate) struct UserflowStore {
    pub(crate) users: BTreeMap<String, UserflowUserRecord>,
    pub(crate) groups: BTreeMap<String, UserflowGroupRecord>,
    /// Events by sequence number (arrival order).
    events: BTreeMap<u64, UserflowEventRecord>,
    /// user_id -> sequence numbers of its events, so deleting a user stays cheap.
    events_by_user: HashMap<String, Vec<u64>>,
    next_event: u64,
}

impl UserflowStore {
    /// Every event in arrival order, duplicates included.
    pub(crate) fn events(&self) -> impl Iterator<Item = &UserflowEventRecord> {
        self.events.values()
    }

    /// A copy of the group to change, or a new one.
    fn group_or_new(&self, id: &str, now: DateTime<Utc>) -> UserflowGroupRecord {
        self.groups
            .get(id)
            .cloned()
            .unwrap_or_else(|| UserflowGroupRecord {
                id: id.to_owned(),
                attributes: Map::new(),
                created_at: now,
            })
    }

    fn add_event(&mut self, event: UserflowEventRecord) {
        if let Some(user) = &event.user_id {
            let seqs = self.events_by_user.entry(user.clone()).or_default();
            seqs.push(self.next_event);
        }
        self.events.insert(self.next_event, event);
    }

    fn remove_events_of(&mut self, user_id: &str) {
        for seq in self.events_by_user.remove(user_id).unwrap_or_default() {
            self.events.remove(&seq);
        }
    }
}

#[derive(Clone)]
enum Route {
    Users,
    User(String),
    Groups,
    Group(String),
    Events,
    Unknown,
}

impl Route {
    fn template(&self) -> &'static str {
        match self {
            Route::Users => "/users",
            Route::User(_) => "/users/{id}",
            Route::Groups => "/groups",
            Route::Group(_) => "/groups/{id}",
            Route::Events => "/events",
            Route::Unknown => "(unmatched)",
        }
    }
}

fn resolve(path: &str) -> Route {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["users"] => Route::Users,
        ["users", id] if !id.is_empty() => Route::User(http_util::percent_decode(id)),
        ["groups"] => Route::Groups,
        ["groups", id] if !id.is_empty() => Route::Group(http_util::percent_decode(id)),
        ["events"] => Route::Events,
        _ => Route::Unknown,
    }
}

/// The router of the Userflow listener.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(entry).with_state(app)
}

async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let route = resolve(req.uri().path());
    let app2 = app.clone();
    pipeline::run(
        &app,
        Api::Userflow,
        route.template(),
        Bucket::Userflow,
        req,
        move |req| serve(app2, route, req),
    )
    .await
}

type Answer = Result<(StatusCode, Value), Failure>;

/// An error answer: status, Userflow error code, message.
type Failure = (StatusCode, &'static str, String);

/// A Userflow error: `{"error": {"code", "message"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    http_util::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

fn invalid(message: impl Into<String>) -> Failure {
    (StatusCode::BAD_REQUEST, "invalid_params", message.into())
}

fn not_found(what: &str) -> Failure {
    (
        StatusCode::NOT_FOUND,
        "not_found",
        format!("No such {what}"),
    )
}

async fn serve(app: Arc<App>, route: Route, req: Request) -> Response {
    if http_util::bearer(req.headers()) != Some(app.userflow_key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid or missing API key: use 'Authorization: Bearer <API key>'",
        );
    }
    if let Some(version) = req.headers().get("userflow-version")
        && version.to_str().ok() != Some(VERSION)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_version",
            "Invalid Userflow-Version header: the only version is 2020-01-03",
        );
    }
    if let Err(throttled) = app.admit(Api::Userflow, Bucket::Userflow) {
        return *throttled;
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    // Only the create-or-update routes read a body, so an unknown route is a 404 whatever it sent.
    let takes_body =
        method == Method::POST && matches!(route, Route::Users | Route::Groups | Route::Events);
    let body = if takes_body {
        match http_util::json_object(req).await {
            Ok(body) => body,
            Err(e) => return error(e.status(), "invalid_params", &e.to_string()),
        }
    } else {
        Map::new()
    };
    let now = Utc::now();
    let answer: Answer = {
        let mut store = app.userflow();
        match (&route, &method) {
            (Route::Users, &Method::POST) => upsert_user(&mut store, body, now),
            (Route::Users, &Method::GET) => list_users(&store, &uri),
            (Route::User(id), &Method::GET) => get_user(&store, id, &uri),
            (Route::User(id), &Method::DELETE) => delete_user(&mut store, id),
            (Route::Groups, &Method::POST) => upsert_group(&mut store, body, now),
            (Route::Groups, &Method::GET) => list_groups(&store, &uri),
            (Route::Group(id), &Method::GET) => store
                .groups
                .get(id)
                .map(|g| (StatusCode::OK, group_json(g)))
                .ok_or_else(|| not_found("group")),
            (Route::Group(id), &Method::DELETE) => delete_group(&mut store, id),
            (Route::Events, &Method::POST) => track_event(&mut store, body, now),
            _ => Err((
                StatusCode::NOT_FOUND,
                "not_found",
                format!("No route for {method} {}", uri.path()),
            )),
        }
    };
    match answer {
        Ok((status, body)) => http_util::json(status, &body),
        Err((status, code, message)) => error(status, code, &message),
    }
}

// ---- attributes ----

/// Applies attribute updates: `null` removes, plain values set, operation objects
/// (`set`, `set_once`, `add`, `subtract`, `append`, `prepend`, `remove`) edit.
fn apply_attributes(
    target: &mut Map<String, Value>,
    updates: &Map<String, Value>,
) -> Result<(), String> {
    let mut next = target.clone();
    for (key, value) in updates {
        match value {
            Value::Null => {
                next.remove(key);
            }
            Value::Object(op) => apply_operation(&mut next, key, op)?,
            other => {
                next.insert(key.clone(), other.clone());
            }
        }
    }
    *target = next;
    Ok(())
}

fn apply_operation(
    attrs: &mut Map<String, Value>,
    key: &str,
    op: &Map<String, Value>,
) -> Result<(), String> {
    let ops: Vec<&String> = op.keys().filter(|k| *k != "data_type").collect();
    let [name] = ops.as_slice() else {
        return Err(format!(
            "attribute '{key}': an operation object needs exactly one of set, set_once, add, subtract, append, prepend, remove"
        ));
    };
    let arg = &op[name.as_str()];
    let current = attrs.get(key).cloned();
    let as_list = |v: Option<Value>| match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let items = |arg: &Value| match arg {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let number = |v: Option<Value>| v.and_then(|v| v.as_f64()).unwrap_or(0.0);
    let value = match name.as_str() {
        "set" => arg.clone(),
        "set_once" => match current {
            Some(v) => v,
            None => arg.clone(),
        },
        "add" | "subtract" => {
            let delta = arg
                .as_f64()
                .ok_or_else(|| format!("attribute '{key}': '{name}' needs a number"))?;
            let sign = if name.as_str() == "add" { 1.0 } else { -1.0 };
            let result = number(current) + sign * delta;
            if result.fract() == 0.0 && result.abs() < 9e15 {
                json!(result as i64)
            } else {
                json!(result)
            }
        }
        "append" => {
            let mut list = as_list(current);
            list.extend(items(arg));
            Value::Array(list)
        }
        "prepend" => {
            let mut list = items(arg);
            list.extend(as_list(current));
            Value::Array(list)
        }
        "remove" => {
            let drop = items(arg);
            Value::Array(
                as_list(current)
                    .into_iter()
                    .filter(|v| !drop.contains(v))
                    .collect(),
            )
        }
        other => return Err(format!("attribute '{key}': unknown operation '{other}'")),
    };
    attrs.insert(key.to_owned(), value);
    Ok(())
}

// ---- users ----

#[derive(Deserialize)]
struct GroupIn {
    id: Option<Value>,
    attributes: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct MembershipIn {
    attributes: Option<Map<String, Value>>,
    group: Option<GroupIn>,
}

#[derive(Deserialize)]
struct UpsertUser {
    id: Option<Value>,
    attributes: Option<Map<String, Value>>,
    groups: Option<Vec<GroupIn>>,
    memberships: Option<Vec<MembershipIn>>,
    prune_memberships: Option<bool>,
}

/// The body decoded into a request type, or `invalid_params`.
fn parsed<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, Failure> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| invalid(format!("Invalid parameters: {e}")))
}

fn id_of(v: Option<&Value>, what: &str) -> Result<String, Failure> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(invalid(format!("{what} id is required"))),
    }
}

/// A membership asked for: group id, group attributes, membership attributes.
type Wanted = (String, Option<Attributes>, Option<Attributes>);
type Attributes = Map<String, Value>;

fn upsert_user(store: &mut UserflowStore, body: Map<String, Value>, now: DateTime<Utc>) -> Answer {
    let req: UpsertUser = parsed(body)?;
    let id = id_of(req.id.as_ref(), "user")?;
    if req.groups.is_some() && req.memberships.is_some() {
        return Err(invalid("Give either groups or memberships, not both"));
    }
    let mut wanted: Vec<Wanted> = Vec::new();
    for g in req.groups.unwrap_or_default() {
        wanted.push((id_of(g.id.as_ref(), "group")?, g.attributes, None));
    }
    for m in req.memberships.unwrap_or_default() {
        let group = m
            .group
            .ok_or_else(|| invalid("membership group is required"))?;
        wanted.push((
            id_of(group.id.as_ref(), "group")?,
            group.attributes,
            m.attributes,
        ));
    }

    // Validate every change on copies before storing anything.
    let mut user = store
        .users
        .get(&id)
        .cloned()
        .unwrap_or_else(|| UserflowUserRecord {
            id: id.clone(),
            attributes: Map::new(),
            created_at: now,
            memberships: BTreeMap::new(),
        });
    if let Some(attrs) = &req.attributes {
        apply_attributes(&mut user.attributes, attrs).map_err(invalid)?;
    }
    let mut groups = Vec::new();
    for (gid, gattrs, mattrs) in &wanted {
        let mut group = store.group_or_new(gid, now);
        if let Some(a) = gattrs {
            apply_attributes(&mut group.attributes, a).map_err(invalid)?;
        }
        let membership = user.memberships.entry(gid.clone()).or_default();
        if let Some(a) = mattrs {
            apply_attributes(membership, a).map_err(invalid)?;
        }
        groups.push(group);
    }
    if req.prune_memberships == Some(true) {
        let keep: BTreeSet<&String> = wanted.iter().map(|(g, ..)| g).collect();
        user.memberships.retain(|g, _| keep.contains(g));
    }
    for g in groups {
        store.groups.insert(g.id.clone(), g);
    }
    let answer = user_json(store, &user, &[]);
    store.users.insert(id, user);
    Ok((StatusCode::OK, answer))
}

fn expansions(uri: &Uri) -> Vec<String> {
    http_util::query_pairs(uri)
        .into_iter()
        .filter(|(k, _)| k == "expand" || k == "expand[]")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn group_json(g: &UserflowGroupRecord) -> Value {
    json!({
        "id": g.id,
        "object": "group",
        "attributes": g.attributes,
        "created_at": timestamp(g.created_at),
    })
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn user_json(store: &UserflowStore, u: &UserflowUserRecord, expand: &[String]) -> Value {
    let mut obj = json!({
        "id": u.id,
        "object": "user",
        "attributes": u.attributes,
        "created_at": timestamp(u.created_at),
    });
    let group = |gid: &String| {
        store
            .groups
            .get(gid)
            .map(group_json)
            .unwrap_or_else(|| json!({ "id": gid, "object": "group", "attributes": {} }))
    };
    if expand.iter().any(|e| e == "groups") {
        obj["groups"] = Value::Array(u.memberships.keys().map(group).collect());
    }
    if expand.iter().any(|e| e == "memberships") {
        obj["memberships"] = Value::Array(
            u.memberships
                .iter()
                .map(|(gid, attrs)| {
                    json!({
                        "object": "group_membership",
                        "attributes": attrs,
                        "group": group(gid),
                        "group_id": gid,
                        "user_id": u.id,
                    })
                })
                .collect(),
        );
    }
    obj
}

fn get_user(store: &UserflowStore, id: &str, uri: &Uri) -> Answer {
    let user = store.users.get(id).ok_or_else(|| not_found("user"))?;
    Ok((StatusCode::OK, user_json(store, user, &expansions(uri))))
}

fn delete_user(store: &mut UserflowStore, id: &str) -> Answer {
    store.users.remove(id).ok_or_else(|| not_found("user"))?;
    store.remove_events_of(id);
    Ok((
        StatusCode::OK,
        json!({ "id": id, "object": "user", "deleted": true }),
    ))
}

/// `limit` and `starting_after` of a list request.
fn page_params(uri: &Uri) -> Result<(usize, Option<String>), Failure> {
    let pairs = http_util::query_pairs(uri);
    let limit = match http_util::query_get(&pairs, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(invalid(format!("limit must be between 1 and {MAX_LIMIT}"))),
        },
    };
    let after = http_util::query_get(&pairs, "starting_after").map(str::to_owned);
    Ok((limit, after))
}

/// A list page of the items of `items` (ordered by id) that `keep` accepts. The page starts
/// right after `starting_after` through the map's order, so walking every page stays linear.
fn page<T>(
    items: &BTreeMap<String, T>,
    uri: &Uri,
    base: &str,
    keep: impl Fn(&T) -> bool,
    render: impl Fn(&T) -> Value,
) -> Answer {
    let (limit, after) = page_params(uri)?;
    let start = match &after {
        Some(a) => Bound::Excluded(a.as_str()),
        None => Bound::Unbounded,
    };
    let mut matching = items
        .range::<str, _>((start, Bound::Unbounded))
        .filter(|(_, item)| keep(item));
    let found: Vec<(&String, &T)> = matching.by_ref().take(limit).collect();
    let has_more = matching.next().is_some();
    let next_page_url = match found.last() {
        Some((last, _)) if has_more => {
            let mut query: Vec<(String, String)> = http_util::query_pairs(uri)
                .into_iter()
                .filter(|(k, _)| k != "starting_after" && k != "limit")
                .collect();
            query.push(("limit".into(), limit.to_string()));
            query.push(("starting_after".into(), (*last).clone()));
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        http_util::query_encode(k),
                        http_util::query_encode(v)
                    )
                })
                .collect();
            Value::String(format!("{base}?{}", q.join("&")))
        }
        _ => Value::Null,
    };
    let data: Vec<Value> = found.into_iter().map(|(_, item)| render(item)).collect();
    Ok((
        StatusCode::OK,
        json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": base,
            "next_page_url": next_page_url,
        }),
    ))
}

fn list_users(store: &UserflowStore, uri: &Uri) -> Answer {
    let pairs = http_util::query_pairs(uri);
    let email = http_util::query_get(&pairs, "email").map(str::to_ascii_lowercase);
    let expand = expansions(uri);
    let has_email = |u: &UserflowUserRecord| match &email {
        None => true,
        Some(e) => u
            .attributes
            .get("email")
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(e)),
    };
    page(&store.users, uri, "/users", has_email, |u| {
        user_json(store, u, &expand)
    })
}

// ---- groups ----

fn upsert_group(store: &mut UserflowStore, body: Map<String, Value>, now: DateTime<Utc>) -> Answer {
    let req: GroupIn = parsed(body)?;
    let id = id_of(req.id.as_ref(), "group")?;
    let mut group = store.group_or_new(&id, now);
    if let Some(a) = &req.attributes {
        apply_attributes(&mut group.attributes, a).map_err(invalid)?;
    }
    let answer = group_json(&group);
    store.groups.insert(id, group);
    Ok((StatusCode::OK, answer))
}

fn list_groups(store: &UserflowStore, uri: &Uri) -> Answer {
    page(&store.groups, uri, "/groups", |_| true, group_json)
}

fn delete_group(store: &mut UserflowStore, id: &str) -> Answer {
    store.groups.remove(id).ok_or_else(|| not_found("group"))?;
    for user in store.users.values_mut() {
        user.memberships.remove(id);
    }
    Ok((
        StatusCode::OK,
        json!({ "id": id, "object": "group", "deleted": true }),
    ))
}

// ---- events ----

#[derive(Deserialize)]
struct EventIn {
    name: Option<String>,
    user_id: Option<Value>,
    group_id: Option<Value>,
    attributes: Option<Map<String, Value>>,
}

/// Events are stored as sent, duplicates included (the API is not idempotent).
fn track_event(store: &mut UserflowStore, body: Map<String, Value>, now: DateTime<Utc>) -> Answer {
    let req: EventIn = parsed(body)?;
    let name = req
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("name is required"))?;
    let user_id = req
        .user_id
        .as_ref()
        .map(|v| id_of(Some(v), "user"))
        .transpose()?;
    let group_id = req
        .group_id
        .as_ref()
        .map(|v| id_of(Some(v), "group"))
        .transpose()?;
    if user_id.is_none() && group_id.is_none() {
        return Err(invalid("user_id or group_id is required"));
    }
    store.next_event += 1;
    let event = UserflowEventRecord {
        id: format!("evt_{:08}", store.next_event),
        name,
        user_id,
        group_id,
        attributes: req.attributes.unwrap_or_default(),
        created_at: now,
    };
    let answer = json!({
        "id": event.id,
        "object": "event",
        "name": event.name,
        "user_id": event.user_id,
        "group_id": event.group_id,
        "attributes": event.attributes,
        "created_at": timestamp(now),
    });
    store.add_event(event);
    Ok((StatusCode::OK, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_operations_are_sent_then_attributes_are_edited() {
        let mut attrs = Map::new();
        attrs.insert("n".into(), json!(5));
        attrs.insert("tags".into(), json!(["a"]));
        attrs.insert("gone".into(), json!(1));
        let updates = json!({
            "n": {"add": 2},
            "tags": {"append": ["b", "c"]},
            "first": {"set_once": "x"},
            "gone": null,
            "plain": "v",
        });
        apply_attributes(&mut attrs, updates.as_object().expect("object")).expect("valid");
        assert_eq!(
            Value::Object(attrs.clone()),
            json!({"n": 7, "tags": ["a", "b", "c"], "first": "x", "plain": "v"})
        );
        let again =
            json!({"first": {"set_once": "y"}, "tags": {"remove": "a"}, "n": {"subtract": 10}});
        apply_attributes(&mut attrs, again.as_object().expect("object")).expect("valid");
        assert_eq!(attrs["first"], json!("x"));
        assert_eq!(attrs["tags"], json!(["b", "c"]));
        assert_eq!(attrs["n"], json!(-3));
    }

    #[test]
    fn when_operation_is_unknown_then_nothing_changes() {
        let mut attrs = Map::new();
        attrs.insert("a".into(), json!(1));
        let updates = json!({"a": 2, "b": {"explode": 1}});
        assert!(apply_attributes(&mut attrs, updates.as_object().expect("object")).is_err());
        assert_eq!(attrs["a"], json!(1));
    }

    #[test]
    fn when_paths_are_resolved_then_post_users_id_is_a_user_route_without_post() {
        assert!(matches!(resolve("/users/a%2Fb"), Route::User(id) if id == "a/b"));
        assert!(matches!(resolve("/users"), Route::Users));
        assert!(matches!(resolve("/group_memberships"), Route::Unknown));
    }
}
