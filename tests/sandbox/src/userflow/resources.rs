//! The Userflow endpoints: `POST /users` (attributes, groups or memberships,
//! `prune_memberships`), `GET`/`DELETE /users/{id}`, `GET /users`, `POST /groups`,
//! `GET`/`DELETE /groups/{id}`, `GET /groups` and `POST /events`, with Userflow's JSON shapes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use http::{StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::attributes::apply_attributes;
use super::pages::page;
use super::routes::{Answer, id_of, invalid, not_found, parsed};
use super::store::UserflowStore;
use crate::admin::types::{UserflowEventRecord, UserflowGroupRecord, UserflowUserRecord};
use crate::common::http_util;

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

/// A membership asked for: group id, group attributes, membership attributes.
type Wanted = (String, Option<Attributes>, Option<Attributes>);
type Attributes = Map<String, Value>;

pub(super) fn upsert_user(
    store: &mut UserflowStore,
    body: Map<String, Value>,
    now: DateTime<Utc>,
) -> Answer {
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

pub(super) fn group_json(g: &UserflowGroupRecord) -> Value {
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

pub(super) fn get_user(store: &UserflowStore, id: &str, uri: &Uri) -> Answer {
    let user = store.users.get(id).ok_or_else(|| not_found("user"))?;
    Ok((StatusCode::OK, user_json(store, user, &expansions(uri))))
}

pub(super) fn delete_user(store: &mut UserflowStore, id: &str) -> Answer {
    store.users.remove(id).ok_or_else(|| not_found("user"))?;
    store.remove_events_of(id);
    Ok((
        StatusCode::OK,
        json!({ "id": id, "object": "user", "deleted": true }),
    ))
}

pub(super) fn list_users(store: &UserflowStore, uri: &Uri) -> Answer {
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

pub(super) fn upsert_group(
    store: &mut UserflowStore,
    body: Map<String, Value>,
    now: DateTime<Utc>,
) -> Answer {
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

pub(super) fn list_groups(store: &UserflowStore, uri: &Uri) -> Answer {
    page(&store.groups, uri, "/groups", |_| true, group_json)
}

pub(super) fn delete_group(store: &mut UserflowStore, id: &str) -> Answer {
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
pub(super) fn track_event(
    store: &mut UserflowStore,
    body: Map<String, Value>,
    now: DateTime<Utc>,
) -> Answer {
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
