//! The steps every emulated request goes through: fault rules first, then the API's own
//! handling, then counting and logging.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use chrono::Utc;

use super::faults;
use super::observe::{self, Observation};
use super::state::App;
use crate::admin::types::{Api, Bucket, FaultKind};

/// Runs `handler` for `req` unless a fault rule answers instead, and records the outcome under
/// `route`. `bucket` gives a throttle fault its rate-limit headers.
pub(crate) async fn run<F, Fut>(
    app: &Arc<App>,
    api: Api,
    route: &'static str,
    bucket: Bucket,
    req: Request,
    handler: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let started = Instant::now();
    let at = Utc::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let headers = observe::selected_headers(req.headers());

    let plan = app.faults.plan(api, &method, &path);
    if plan.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.delay_ms)).await;
    }
    let (resp, fault) = match &plan.action {
        Some(kind) => (
            faults::respond(api, kind, app.budget(bucket)),
            Some(faults::kind_name(kind)),
        ),
        None => (handler(req).await, (plan.delay_ms > 0).then_some("latency")),
    };
    let status = match plan.action {
        Some(FaultKind::Drop) => 0,
        _ => resp.status().as_u16(),
    };
    app.observe.record(
        Observation {
            at,
            api,
            method,
            path,
            route,
            status,
            fault,
            duration_ms: started.elapsed().as_millis() as u64,
            headers,
        },
        app.log_capacity(),
    );
    resp
}
