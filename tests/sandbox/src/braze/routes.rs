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
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{scim, segment_export, track, users};
use crate::admin::types::{Api, Bucket};
use crate::common::http_util;
use crate::common::limits::Snapshot;
use crate::common::pipeline;
use crate::common::state::App;

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
    pipeline::run(&app, Api::Braze, template, bucket, req, move |req| {
        handle(app2, resolved, bucket, req)
    })
    .await
}

/// A status and a JSON body, as the endpoint handlers answer.
pub(crate) type Answer = (StatusCode, Value);

/// A Braze-style error: `{"message": text}`.
pub(crate) fn message(status: StatusCode, text: &str) -> Answer {
    (status, json!({ "message": text }))
}

/// A 400 Braze-style error.
pub(crate) fn bad(text: &str) -> Answer {
    message(StatusCode::BAD_REQUEST, text)
}

/// The body decoded into a request type, or a 400 saying why not.
pub(crate) fn typed<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, Answer> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| bad(&format!("Invalid request body: {e}")))
}

async fn handle(app: Arc<App>, resolved: Resolved, bucket: Bucket, req: Request) -> Response {
    if let Resolved::TrailingSlash(_) = resolved {
        let answer = message(StatusCode::FORBIDDEN, "Access Denied");
        return respond(answer, app.budget(bucket));
    }
    if http_util::bearer(req.headers()) != Some(app.braze_key.as_str()) {
        let answer = message(
            StatusCode::UNAUTHORIZED,
            "Invalid API key: the Authorization header must be 'Bearer <REST API key>'",
        );
        return respond(answer, app.budget(bucket));
    }
    let budget = match app.admit(Api::Braze, bucket) {
        Ok(budget) => budget,
        Err(throttled) => return *throttled,
    };
    let (route, body) = match checked_body(resolved, req).await {
        Ok(checked) => checked,
        Err(answer) => return respond(answer, budget),
    };
    let answer = match route {
        Route::Track => track::track(&app, body),
        Route::Delete => users::delete(&app, body),
        Route::ExportIds => users::export_ids(&app, body),
        Route::Merge => users::merge(&app, body),
        Route::AliasNew => users::alias_new(&app, body),
        Route::Identify => users::identify(&app, body),
        Route::ExportSegment => segment_export::request(&app, body),
        Route::CancelExport => segment_export::cancel(&app, body),
    };
    // One export per segment at a time: a conflict tells the client when to look again.
    let conflict = route == Route::ExportSegment && answer.0 == StatusCode::TOO_MANY_REQUESTS;
    let mut resp = respond(answer, budget);
    if conflict {
        http_util::set_header(&mut resp, "x-ratelimit-retry-after", "5");
    }
    resp
}

/// Route, method, content type, size and JSON checks, in Braze's order.
async fn checked_body(
    resolved: Resolved,
    req: Request,
) -> Result<(Route, Map<String, Value>), Answer> {
    let Resolved::Known(route) = resolved else {
        return Err(message(StatusCode::NOT_FOUND, "Not Found"));
    };
    if req.method() != Method::POST {
        return Err(message(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ));
    }
    if !http_util::is_json(req.headers()) {
        return Err(message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        ));
    }
    let body = http_util::json_object(req)
        .await
        .map_err(|e| message(e.status(), &e.to_string()))?;
    Ok((route, body))
}

/// The answer as JSON with the bucket's rate-limit headers, when it has a limit.
fn respond((status, body): Answer, budget: Option<Snapshot>) -> Response {
    let mut resp = http_util::json(status, &body);
    if let Some(b) = budget {
        b.apply_braze(&mut resp);
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
