//! The Braze listener: REST routes at the root, SCIM under `/scim/v2`.
//!
//! Order of checks for REST, as a client sees them: fault rules, trailing slash (403 Access
//! Denied), bearer key (401), rate limit (429 with `X-Ratelimit-Retry-After`), unknown route
//! (404) or method (405), `Content-Type: application/json` (415), body size (413), JSON (400),
//! then the endpoint. Every answer on a known route carries `X-RateLimit-Limit`,
//! `-Remaining` and `-Reset` (epoch seconds).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_types::{Api, Bucket};
use crate::http_util::{self, BodyError};
use crate::limits::{Snapshot, Take};
use crate::state::App;
use crate::{export, faults, pipeline, scim, track, users};

/// The Braze REST endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Track,
    Delete,
    ExportIds,
    Merge,
    AliasNew,
    Identify,
    ExportSegment,
    CancelExport,
}

impl Route {
    const ALL: [Route; 8] = [
        Route::Track,
        Route::Delete,
        Route::ExportIds,
        Route::Merge,
        Route::AliasNew,
        Route::Identify,
        Route::ExportSegment,
        Route::CancelExport,
    ];

    fn path(self) -> &'static str {
        match self {
            Route::Track => "/users/track",
            Route::Delete => "/users/delete",
            Route::ExportIds => "/users/export/ids",
            Route::Merge => "/users/merge",
            Route::AliasNew => "/users/alias/new",
            Route::Identify => "/users/identify",
            Route::ExportSegment => "/users/export/segment",
            Route::CancelExport => "/export/segment/cancel",
        }
    }

    fn bucket(self) -> Bucket {
        match self {
            Route::Track => Bucket::BrazeTrack,
            Route::Delete | Route::Merge | Route::AliasNew | Route::Identify => Bucket::BrazeUsers,
            Route::ExportIds => Bucket::BrazeExportIds,
            Route::ExportSegment => Bucket::BrazeExportSegment,
            Route::CancelExport => Bucket::BrazeOther,
        }
    }

    fn find(path: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.path() == path)
    }
}

/// How a path resolved.
#[derive(Clone, Copy)]
enum Resolved {
    Known(Route),
    TrailingSlash(Route),
    Unknown,
}

fn resolve(path: &str) -> Resolved {
    if let Some(route) = Route::find(path) {
        return Resolved::Known(route);
    }
    let trimmed = path.trim_end_matches('/');
    match Route::find(trimmed) {
        Some(route) if trimmed.len() < path.len() => Resolved::TrailingSlash(route),
        _ => Resolved::Unknown,
    }
}

/// The router of the Braze listener.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(entry).with_state(app)
}

async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/scim/v2" || path.starts_with("/scim/v2/") {
        return scim::handle(app, req).await;
    }
    let resolved = resolve(path);
    let (template, bucket) = match resolved {
        Resolved::Known(r) | Resolved::TrailingSlash(r) => (r.path(), r.bucket()),
        Resolved::Unknown => ("(unmatched)", Bucket::BrazeOther),
    };
    let app2 = app.clone();
    pipeline::run(&app, Api::Braze, template, Some(bucket), req, move |req| {
        handle(app2, resolved, bucket, req)
    })
    .await
}

/// A Braze-style error body.
pub(crate) fn message(status: StatusCode, text: &str) -> (StatusCode, Value) {
    (status, json!({ "message": text }))
}

async fn handle(app: Arc<App>, resolved: Resolved, bucket: Bucket, req: Request) -> Response {
    let limit = app.limit_of(bucket);
    let peek = || app.limits.peek(bucket, limit);
    let with_budget = |resp: (StatusCode, Value), budget: Option<Snapshot>| {
        let mut resp = http_util::json(resp.0, &resp.1);
        if let Some(b) = budget {
            b.apply_braze(&mut resp);
        }
        resp
    };

    if let Resolved::TrailingSlash(_) = resolved {
        return with_budget(message(StatusCode::FORBIDDEN, "Access Denied"), peek());
    }
    if http_util::bearer(req.headers()) != Some(app.braze_key.as_str()) {
        return with_budget(
            message(
                StatusCode::UNAUTHORIZED,
                "Invalid API key: the Authorization header must be 'Bearer <REST API key>'",
            ),
            peek(),
        );
    }
    let budget = match app.limits.take(bucket, limit) {
        Take::Allowed(s) => Some(s),
        Take::Unlimited => None,
        Take::Limited(s) => return faults::throttled(Api::Braze, s.retry_after, Some(s)),
    };
    let Resolved::Known(route) = resolved else {
        return with_budget(message(StatusCode::NOT_FOUND, "Not Found"), budget);
    };
    if req.method() != Method::POST {
        return with_budget(
            message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
            budget,
        );
    }
    if !http_util::is_json(req.headers()) {
        return with_budget(
            message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type: Content-Type must be application/json",
            ),
            budget,
        );
    }
    let (parts, body) = req.into_parts();
    let bytes = match http_util::read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return with_budget(
                message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request Entity Too Large: the body must not exceed 4 MB",
                ),
                budget,
            );
        }
        Err(BodyError::Read) => {
            return with_budget(
                message(StatusCode::BAD_REQUEST, "Could not read the request body"),
                budget,
            );
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return with_budget(
                message(
                    StatusCode::BAD_REQUEST,
                    "The request body must be a JSON object",
                ),
                budget,
            );
        }
        Err(e) => {
            return with_budget(
                message(StatusCode::BAD_REQUEST, &format!("Invalid JSON: {e}")),
                budget,
            );
        }
    };
    let answer = match route {
        Route::Track => track::track(&app, body),
        Route::Delete => users::delete(&app, body),
        Route::ExportIds => users::export_ids(&app, body),
        Route::Merge => users::merge(&app, body),
        Route::AliasNew => users::alias_new(&app, body),
        Route::Identify => users::identify(&app, body),
        Route::ExportSegment => export::request(&app, body),
        Route::CancelExport => export::cancel(&app, body),
    };
    let conflict = route == Route::ExportSegment && answer.0 == StatusCode::TOO_MANY_REQUESTS;
    let mut resp = with_budget(answer, budget);
    if conflict {
        // One export per segment at a time: tell the client when to look again.
        http_util::set_header(&mut resp, "x-ratelimit-retry-after", "5");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_path_has_trailing_slash_then_it_resolves_as_trailing_slash() {
        assert!(matches!(
            resolve("/users/track/"),
            Resolved::TrailingSlash(Route::Track)
        ));
        assert!(matches!(
            resolve("/users/track"),
            Resolved::Known(Route::Track)
        ));
        assert!(matches!(resolve("/users/nothing/"), Resolved::Unknown));
        assert!(matches!(resolve("/"), Resolved::Unknown));
    }
}
