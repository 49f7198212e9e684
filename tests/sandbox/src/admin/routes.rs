//! The admin listener's routes and handlers (the route table is in [`crate::admin`]).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::types::*;
use crate::braze::{profiles, seed, synthetic};
use crate::common::state::App;

type AppState = State<Arc<App>>;

/// The router of the admin listener.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({ "ok": true })) }))
        .route("/reset", post(reset))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/requests/counts", get(request_counts))
        .route("/requests/log", get(request_log))
        .route("/requests", delete(reset_requests))
        .route("/settings", get(get_settings).patch(patch_settings))
        .route(
            "/export-storage",
            get(get_storage).put(put_storage).delete(delete_storage),
        )
        .route("/braze/segments", get(list_segments).post(seed_segment))
        .route("/braze/users", get(braze_users))
        .route("/braze/deletions", get(braze_deletions))
        .route("/braze/exports", get(braze_exports))
        .route("/braze/exports/synthetic", post(synthetic_export))
        .route("/scim/users", get(scim_users))
        .route("/userflow/users", get(userflow_users))
        .route("/userflow/groups", get(userflow_groups))
        .route("/userflow/events", get(userflow_events))
        .route(
            "/hubspot/contacts",
            get(hubspot_contacts).post(seed_hubspot_contacts),
        )
        .with_state(app)
}

/// A JSON body decoded with `serde_path_to_error`: a body that does not fit answers
/// 400 ``{"error": "invalid body at `<path>`: <reason>"}`` instead of axum's plain-text 422.
struct Strict<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Strict<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer)
            .map(Strict)
            .map_err(|e| {
                let reason = e.inner().to_string();
                fail(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid body at `{}`: {reason}", e.path()),
                )
            })
    }
}

fn fail(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "error": text }))).into_response()
}

async fn reset(State(app): AppState) -> Json<Value> {
    app.reset();
    Json(json!({ "reset": true }))
}

async fn list_faults(State(app): AppState) -> Json<Vec<FaultStatus>> {
    Json(app.faults.list())
}

async fn add_fault(State(app): AppState, Strict(rule): Strict<FaultRule>) -> Response {
    match app.faults.add(rule) {
        Ok(status) => (StatusCode::CREATED, Json(status)).into_response(),
        Err(e) => fail(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn clear_faults(State(app): AppState) -> StatusCode {
    app.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(app): AppState, Path(id): Path<String>) -> Response {
    if app.faults.remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        fail(StatusCode::NOT_FOUND, "no such fault rule")
    }
}

#[derive(Deserialize)]
struct LogQuery {
    api: Option<Api>,
    limit: Option<usize>,
}

async fn request_counts(State(app): AppState, Query(q): Query<LogQuery>) -> Json<Value> {
    Json(json!({ "counts": app.observe.counts(q.api) }))
}

async fn request_log(State(app): AppState, Query(q): Query<LogQuery>) -> Json<Value> {
    Json(json!({ "requests": app.observe.log(q.api, q.limit.unwrap_or(100)) }))
}

async fn reset_requests(State(app): AppState) -> StatusCode {
    app.observe.reset();
    StatusCode::NO_CONTENT
}

async fn get_settings(State(app): AppState) -> Json<Settings> {
    Json(app.settings().clone())
}

async fn patch_settings(State(app): AppState, Strict(patch): Strict<SettingsPatch>) -> Response {
    if patch.track_max_objects == Some(0)
        || patch.export.as_ref().and_then(|e| e.users_per_file) == Some(0)
    {
        return fail(StatusCode::BAD_REQUEST, "limits must be at least 1");
    }
    if let Some(e) = &patch.export {
        if e.malformed_every == Some(1) {
            return fail(
                StatusCode::BAD_REQUEST,
                "malformed_every must be 0 (off) or at least 2",
            );
        }
        if e.members_per_zip == Some(0) {
            return fail(
                StatusCode::BAD_REQUEST,
                "members_per_zip must be at least 1",
            );
        }
    }
    let mut settings = app.settings();
    for (bucket, limit) in &patch.rate_limits {
        settings.rate_limits.insert(*bucket, *limit);
        app.limits.reset_bucket(*bucket);
    }
    if let Some(e) = patch.export {
        let s = &mut settings.export;
        s.users_per_file = e.users_per_file.unwrap_or(s.users_per_file);
        s.date_shift_days = e.date_shift_days.unwrap_or(s.date_shift_days);
        s.duplicate_every = e.duplicate_every.unwrap_or(s.duplicate_every);
        s.file_delay_ms = e.file_delay_ms.unwrap_or(s.file_delay_ms);
        s.malformed_every = e.malformed_every.unwrap_or(s.malformed_every);
        s.members_per_zip = e.members_per_zip.unwrap_or(s.members_per_zip);
        s.empty_files = e.empty_files.unwrap_or(s.empty_files);
        s.truncate_files = e.truncate_files.unwrap_or(s.truncate_files);
    }
    if let Some(n) = patch.track_max_objects {
        settings.track_max_objects = n;
    }
    if let Some(n) = patch.request_log_capacity {
        settings.request_log_capacity = n;
    }
    Json(settings.clone()).into_response()
}

async fn get_storage(State(app): AppState) -> Json<Option<ExportStorage>> {
    Json(app.exports.storage())
}

async fn put_storage(State(app): AppState, Strict(storage): Strict<ExportStorage>) -> Response {
    if storage.bucket.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "bucket is required");
    }
    app.exports.set_storage(Some(storage));
    Json(app.exports.storage()).into_response()
}

async fn delete_storage(State(app): AppState) -> StatusCode {
    app.exports.set_storage(None);
    StatusCode::NO_CONTENT
}

async fn seed_segment(State(app): AppState, Strict(req): Strict<SeedSegment>) -> Response {
    if req.segment_id.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "segment_id is required");
    }
    // Large segments take a while: keep the runtime's workers free.
    let task = tokio::task::spawn_blocking(move || {
        let mut store = app.braze();
        seed::seed(&mut store, &req, Utc::now())
    });
    match task.await {
        Ok(summary) => Json(summary).into_response(),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn list_segments(State(app): AppState) -> Json<Vec<SegmentInfo>> {
    let store = app.braze();
    Json(
        store
            .segments
            .iter()
            .map(|(id, members)| SegmentInfo {
                segment_id: id.clone(),
                size: members.len(),
            })
            .collect(),
    )
}

async fn braze_users(State(app): AppState, Query(q): Query<BrazeUserQuery>) -> Json<BrazeUserPage> {
    let store = app.braze();
    // A bare count (limit=0, no filter) must stay cheap at 200k profiles.
    let count_only = BrazeUserQuery {
        limit: Some(0),
        ..BrazeUserQuery::default()
    };
    if q == count_only {
        return Json(BrazeUserPage {
            total: store.len(),
            users: Vec::new(),
        });
    }
    let matches = |p: &&profiles::BrazeProfile| {
        q.external_id
            .as_ref()
            .is_none_or(|e| p.external_id.as_ref() == Some(e))
            && q.braze_id.as_ref().is_none_or(|b| &p.braze_id == b)
            && q.email.as_ref().is_none_or(|e| {
                p.attributes
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|v| profiles::email_key(v) == profiles::email_key(e))
            })
            && q.alias_name.as_ref().is_none_or(|n| {
                p.user_aliases.iter().any(|a| {
                    &a.alias_name == n && q.alias_label.as_ref().is_none_or(|l| &a.alias_label == l)
                })
            })
            && q.alias_label
                .as_ref()
                .is_none_or(|l| p.user_aliases.iter().any(|a| &a.alias_label == l))
    };
    // external_id, braze_id and email lookups go through the indexes.
    let candidates: Vec<&profiles::BrazeProfile> = match (&q.external_id, &q.braze_id, &q.email) {
        (Some(ext), _, _) => store
            .by_external_id(ext)
            .and_then(|id| store.get(&id))
            .into_iter()
            .collect(),
        (None, Some(bid), _) => store.get(bid).into_iter().collect(),
        (None, None, Some(email)) => store
            .by_email(email)
            .iter()
            .filter_map(|id| store.get(id))
            .collect(),
        (None, None, None) => store.iter().collect(),
    };
    let all: Vec<&profiles::BrazeProfile> = candidates.into_iter().filter(matches).collect();
    let users = all
        .iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(usize::MAX))
        .map(|p| (*p).clone())
        .collect();
    Json(BrazeUserPage {
        total: all.len(),
        users,
    })
}

async fn braze_deletions(State(app): AppState) -> Json<BrazeDeletions> {
    Json(app.braze().deletions)
}

async fn braze_exports(State(app): AppState) -> Json<Vec<ExportRecord>> {
    Json(app.exports.records())
}

async fn synthetic_export(State(app): AppState, Strict(req): Strict<SyntheticExport>) -> Response {
    match synthetic::run(&app, req).await {
        Ok(started) => Json(started).into_response(),
        Err(e @ synthetic::SyntheticError::Invalid(_)) => {
            fail(StatusCode::BAD_REQUEST, &e.to_string())
        }
        Err(e @ synthetic::SyntheticError::Storage(_)) => {
            fail(StatusCode::BAD_GATEWAY, &e.to_string())
        }
    }
}

async fn scim_users(State(app): AppState) -> Json<Vec<ScimUserRecord>> {
    Json(app.scim().list())
}

#[derive(Deserialize)]
struct UserflowQuery {
    id: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
    name: Option<String>,
}

async fn userflow_users(
    State(app): AppState,
    Query(q): Query<UserflowQuery>,
) -> Json<Vec<UserflowUserRecord>> {
    let store = app.userflow();
    let users = match &q.id {
        Some(id) => store.users.get(id).cloned().into_iter().collect(),
        None => store.users.values().cloned().collect(),
    };
    Json(users)
}

async fn userflow_groups(State(app): AppState) -> Json<Vec<UserflowGroupRecord>> {
    Json(app.userflow().groups.values().cloned().collect())
}

async fn userflow_events(
    State(app): AppState,
    Query(q): Query<UserflowQuery>,
) -> Json<Vec<UserflowEventRecord>> {
    let store = app.userflow();
    Json(
        store
            .events()
            .filter(|e| {
                q.user_id
                    .as_ref()
                    .is_none_or(|u| e.user_id.as_ref() == Some(u))
            })
            .filter(|e| {
                q.group_id
                    .as_ref()
                    .is_none_or(|g| e.group_id.as_ref() == Some(g))
            })
            .filter(|e| q.name.as_ref().is_none_or(|n| &e.name == n))
            .cloned()
            .collect(),
    )
}

async fn seed_hubspot_contacts(
    State(app): AppState,
    Strict(req): Strict<SeedHubspotContacts>,
) -> Response {
    match app.hubspot().seed(req.contacts, Utc::now()) {
        Ok(summary) => Json(summary).into_response(),
        Err(reason) => fail(StatusCode::BAD_REQUEST, &reason),
    }
}

#[derive(Deserialize)]
struct HubspotQuery {
    id: Option<String>,
}

async fn hubspot_contacts(
    State(app): AppState,
    Query(q): Query<HubspotQuery>,
) -> Json<Vec<HubspotContactRecord>> {
    Json(app.hubspot().list(q.id.as_deref()))
}
