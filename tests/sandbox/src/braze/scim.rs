//! Braze SCIM v2 (dashboard users) under `/scim/v2/Users` on the Braze listener.
//!
//! Requests need `Authorization: Bearer <scim_token>` and `X-Request-Origin: <scim_origin>`
//! (else 401). Errors use the SCIM error schema; a 404 is sent as
//! `Content-Type: text/html; charset=UTF-8`, as Braze's documentation shows.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use chrono::Utc;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::admin::types::{Api, Bucket, ScimUserRecord};
use crate::common::http_util;
use crate::common::pipeline;
use crate::common::state::App;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const NEVER_SIGNED_IN: &str = "Thursday, January 1, 1970 12:00:00 AM";

/// SCIM users by id.
#[derive(Default)]
pub(crate) struct ScimStore {
    users: BTreeMap<String, ScimUserRecord>,
}

impl ScimStore {
    /// Every user.
    pub(crate) fn list(&self) -> Vec<ScimUserRecord> {
        self.users.values().cloned().collect()
    }

    fn by_user_name(&self, user_name: &str) -> Option<&ScimUserRecord> {
        self.users
            .values()
            .find(|u| u.user_name.eq_ignore_ascii_case(user_name))
    }
}

#[derive(Clone, Copy)]
enum Route {
    Users,
    User,
    Unknown,
}

impl Route {
    fn template(self) -> &'static str {
        match self {
            Route::Users => "/scim/v2/Users",
            Route::User => "/scim/v2/Users/{id}",
            Route::Unknown => "(unmatched)",
        }
    }
}

fn resolve(path: &str) -> (Route, Option<String>) {
    match path.strip_prefix("/scim/v2/Users") {
        Some("") => (Route::Users, None),
        Some(rest) => match rest.strip_prefix('/') {
            Some(id) if !id.is_empty() && !id.contains('/') => {
                (Route::User, Some(http_util::percent_decode(id)))
            }
            _ => (Route::Unknown, None),
        },
        None => (Route::Unknown, None),
    }
}

/// Entry point for `/scim/v2/...` requests.
pub(crate) async fn handle(app: Arc<App>, req: Request) -> Response {
    let (route, id) = resolve(req.uri().path());
    let app2 = app.clone();
    pipeline::run(
        &app,
        Api::Scim,
        route.template(),
        Bucket::Scim,
        req,
        move |req| serve(app2, route, id, req),
    )
    .await
}

/// A SCIM error; a 404 goes out as `text/html`, as Braze's documentation shows.
pub(crate) fn error(status: StatusCode, detail: &str) -> Response {
    let body = json!({ "schemas": [ERROR_SCHEMA], "detail": detail, "status": status.as_u16() });
    if status == StatusCode::NOT_FOUND {
        return http_util::raw(status, "text/html; charset=UTF-8", body.to_string());
    }
    http_util::json(status, &body)
}

async fn serve(app: Arc<App>, route: Route, id: Option<String>, req: Request) -> Response {
    let token_ok = http_util::bearer(req.headers()) == Some(app.scim_token.as_str());
    let origin_ok = req
        .headers()
        .get("x-request-origin")
        .and_then(|v| v.to_str().ok())
        == Some(app.scim_origin.as_str());
    let (mut resp, budget) = if !token_ok || !origin_ok {
        let resp = error(
            StatusCode::UNAUTHORIZED,
            "Invalid SCIM token or X-Request-Origin",
        );
        (resp, app.budget(Bucket::Scim))
    } else {
        match app.admit(Api::Scim, Bucket::Scim) {
            Ok(budget) => (dispatch(&app, route, id, req).await, budget),
            Err(throttled) => return *throttled,
        }
    };
    if let Some(b) = budget {
        b.apply_braze(&mut resp);
    }
    resp
}

async fn dispatch(app: &App, route: Route, id: Option<String>, req: Request) -> Response {
    let method = req.method().clone();
    match (route, method) {
        (Route::Unknown, _) => error(StatusCode::NOT_FOUND, "Resource not found"),
        (Route::Users, Method::GET) => list(app, req.uri()),
        (Route::Users, Method::POST) => match body_of(req).await {
            Ok(body) => create(app, body),
            Err(resp) => resp,
        },
        (Route::User, Method::GET) => match app.scim().users.get(id.as_deref().unwrap_or("")) {
            Some(user) => http_util::json(StatusCode::OK, &resource(user)),
            None => error(StatusCode::NOT_FOUND, "User not found"),
        },
        (Route::User, Method::PUT) => {
            let id = id.unwrap_or_default();
            if !app.scim().users.contains_key(&id) {
                return error(StatusCode::NOT_FOUND, "User not found");
            }
            match body_of(req).await {
                Ok(body) => replace(app, &id, body),
                Err(resp) => resp,
            }
        }
        (Route::User, Method::DELETE) => {
            match app.scim().users.remove(id.as_deref().unwrap_or("")) {
                Some(_) => http_util::empty(StatusCode::NO_CONTENT),
                None => error(StatusCode::NOT_FOUND, "User not found"),
            }
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not supported (PATCH is not available)",
        ),
    }
}

async fn body_of(req: Request) -> Result<Map<String, Value>, Response> {
    http_util::json_object(req)
        .await
        .map_err(|e| error(e.status(), &e.to_string()))
}

fn resource(user: &ScimUserRecord) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": user.user_name,
        "name": user.name,
        "department": user.department,
        "lastSignInAt": user.last_sign_in_at,
        "createdAt": user.created_at,
        "permissions": user.permissions,
    })
}

/// `GET /scim/v2/Users?filter=userName eq "a@b.com"`: the only supported query.
fn list(app: &App, uri: &http::Uri) -> Response {
    let pairs = http_util::query_pairs(uri);
    let Some(user_name) = http_util::query_get(&pairs, "filter").and_then(parse_filter) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Only the filter 'userName eq \"<email>\"' is supported",
        );
    };
    let store = app.scim();
    let found: Vec<Value> = store
        .by_user_name(&user_name)
        .map(resource)
        .into_iter()
        .collect();
    http_util::json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": found.len(),
            "Resources": found,
        }),
    )
}

fn parse_filter(filter: &str) -> Option<String> {
    let mut parts = filter.trim().splitn(3, char::is_whitespace);
    let (attr, op, value) = (parts.next()?, parts.next()?, parts.next()?.trim());
    let quoted = value.strip_prefix('"')?.strip_suffix('"')?;
    (attr == "userName" && op.eq_ignore_ascii_case("eq") && !quoted.is_empty())
        .then(|| quoted.to_owned())
}

/// The first required field missing from `body`.
fn missing(body: &Map<String, Value>, required: &[&str]) -> Option<String> {
    required
        .iter()
        .find(|k| body.get(**k).is_none_or(Value::is_null))
        .map(|k| (*k).to_owned())
}

fn valid_name(name: &Value) -> bool {
    ["givenName", "familyName"]
        .iter()
        .all(|k| name.get(k).is_some_and(Value::is_string))
}

fn create(app: &App, body: Map<String, Value>) -> Response {
    if let Some(field) = missing(&body, &["schemas", "userName", "name", "department"]) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Missing required attribute: {field}"),
        );
    }
    let Some(user_name) = body["userName"].as_str().filter(|s| !s.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "userName must be a string");
    };
    if !valid_name(&body["name"]) {
        return error(
            StatusCode::BAD_REQUEST,
            "name needs givenName and familyName",
        );
    }
    let mut store = app.scim();
    if store.by_user_name(user_name).is_some() {
        return error(StatusCode::CONFLICT, "User already exists in the database.");
    }
    let hex = uuid::Uuid::new_v4().simple().to_string();
    let id = format!(
        "{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..16],
        &hex[16..24],
        &hex[24..32]
    );
    let user = ScimUserRecord {
        id: id.clone(),
        user_name: user_name.to_owned(),
        name: body["name"].clone(),
        department: body["department"].clone(),
        permissions: body
            .get("permissions")
            .filter(|p| !p.is_null())
            .cloned()
            .unwrap_or_else(|| json!({ "companyPermissions": [], "appGroup": [] })),
        created_at: Utc::now().format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        last_sign_in_at: NEVER_SIGNED_IN.into(),
    };
    let answer = resource(&user);
    store.users.insert(id, user);
    http_util::json(StatusCode::CREATED, &answer)
}

fn replace(app: &App, id: &str, body: Map<String, Value>) -> Response {
    if let Some(field) = missing(&body, &["schemas", "name", "department", "permissions"]) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Missing required attribute: {field}"),
        );
    }
    if !valid_name(&body["name"]) {
        return error(
            StatusCode::BAD_REQUEST,
            "name needs givenName and familyName",
        );
    }
    let mut store = app.scim();
    let Some(user) = store.users.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    if let Some(name) = body.get("userName").and_then(Value::as_str)
        && name != user.user_name
    {
        return error(
            StatusCode::BAD_REQUEST,
            "userName cannot be changed through this endpoint",
        );
    }
    user.name = body["name"].clone();
    user.department = body["department"].clone();
    user.permissions = body["permissions"].clone();
    http_util::json(StatusCode::OK, &resource(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_filter_is_username_eq_then_it_parses_and_others_do_not() {
        assert_eq!(
            parse_filter("userName eq \"a@b.com\""),
            Some("a@b.com".into())
        );
        assert_eq!(
            parse_filter("userName EQ \"a@b.com\""),
            Some("a@b.com".into())
        );
        assert_eq!(parse_filter("userName co \"a\""), None);
        assert_eq!(parse_filter("emails eq \"a@b.com\""), None);
        assert_eq!(parse_filter("userName eq a@b.com"), None);
    }
}
