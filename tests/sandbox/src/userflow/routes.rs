//! The Userflow listener: routes, the order of checks (see [`crate::userflow`]), Userflow's
//! error shape and the helpers that decode request bodies.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::Utc;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::resources;
use crate::admin::types::{Api, Bucket};
use crate::common::http_util;
use crate::common::pipeline;
use crate::common::state::App;

/// The only API version there is.
const VERSION: &str = "2020-01-03";

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

/// What a handler answers: a status and a JSON body, or a [`Failure`].
pub(super) type Answer = Result<(StatusCode, Value), Failure>;

/// An error answer: status, Userflow error code, message.
pub(super) type Failure = (StatusCode, &'static str, String);

/// A Userflow error: `{"error": {"code", "message"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    http_util::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

pub(super) fn invalid(message: impl Into<String>) -> Failure {
    (StatusCode::BAD_REQUEST, "invalid_params", message.into())
}

pub(super) fn not_found(what: &str) -> Failure {
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
            (Route::Users, &Method::POST) => resources::upsert_user(&mut store, body, now),
            (Route::Users, &Method::GET) => resources::list_users(&store, &uri),
            (Route::User(id), &Method::GET) => resources::get_user(&store, id, &uri),
            (Route::User(id), &Method::DELETE) => resources::delete_user(&mut store, id),
            (Route::Groups, &Method::POST) => resources::upsert_group(&mut store, body, now),
            (Route::Groups, &Method::GET) => resources::list_groups(&store, &uri),
            (Route::Group(id), &Method::GET) => store
                .groups
                .get(id)
                .map(|g| (StatusCode::OK, resources::group_json(g)))
                .ok_or_else(|| not_found("group")),
            (Route::Group(id), &Method::DELETE) => resources::delete_group(&mut store, id),
            (Route::Events, &Method::POST) => resources::track_event(&mut store, body, now),
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

/// The body decoded into a request type, or `invalid_params`.
pub(super) fn parsed<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, Failure> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| invalid(format!("Invalid parameters: {e}")))
}

/// An object id: a non-empty string, or a number written as one.
pub(super) fn id_of(v: Option<&Value>, what: &str) -> Result<String, Failure> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(invalid(format!("{what} id is required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_paths_are_resolved_then_post_users_id_is_a_user_route_without_post() {
        assert!(matches!(resolve("/users/a%2Fb"), Route::User(id) if id == "a/b"));
        assert!(matches!(resolve("/users"), Route::Users));
        assert!(matches!(resolve("/group_memberships"), Route::Unknown));
    }
}
