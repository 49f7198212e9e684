//! The HubSpot listener: routes, the order of checks (see [`crate::hubspot`]), HubSpot's error
//! body and its 429.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::json;

use super::contacts;
use crate::admin::types::{Api, Bucket};
use crate::common::http_util;
use crate::common::limits::Snapshot;
use crate::common::pipeline;
use crate::common::state::App;

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

/// An error answer: status, HubSpot category, message.
pub(super) type Failure = (StatusCode, &'static str, String);

/// A 400 `VALIDATION_ERROR`.
pub(super) fn validation(message: impl Into<String>) -> Failure {
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
            Ok(body) => contacts::batch_read(&app, &body),
            Err(e) => Err((e.status(), "VALIDATION_ERROR", e.to_string())),
        },
        (Route::Contact(id), &Method::GET) => contacts::get_contact(&app, id, req.uri()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
