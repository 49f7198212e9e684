//! export-callback: `POST /braze/export-callback?job=..&exp=..&sig=..`, Braze's call when a
//! segment export is complete.
//!
//! In order: the URL's signature and expiry (401), the body (400; over 64 KiB 413), the job
//! (404 when unknown), then relay-core's [`Dispatcher`]: `success:false` records the job as
//! failed, otherwise one `export_file` job per file goes on the sync queue and the manifest
//! becomes `dispatched`. A repeated callback changes nothing (200 saying so). When the files
//! cannot be listed or enqueued the answer is 503 and the manifest stays `dispatching`, so a
//! retry dispatches again. No file content is read here, so the answer is fast whatever the
//! export's size.
//!
//! The query (which holds the signature) is never logged; one log line per request names the
//! job and the outcome. One metrics document ([`Deps::metrics`]) reports `Rejected` (1 for a
//! refused callback: any 4xx answer) and `ExportFilesQueued` (the `export_file` jobs queued).

pub mod config;

use chrono::Utc;
use lambda_http::{Body, Request, RequestExt, Response};
use relay_core::export::callback::{CallbackAuthError, CallbackQuery, CallbackSigner};
use relay_core::export::dispatch::{CallbackBody, Dispatch, DispatchError, Dispatcher};
use relay_core::export::location::ExportLocation;
use relay_core::queue::JobQueue;
use relay_core::store::ObjectStore;
use relay_lambda::metrics::{Metric, MetricSet, MetricsSink};
use relay_lambda::problem::Problem;
use serde_json::json;

pub use config::Config;

/// Largest callback body accepted (Braze sends a few dozen bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything the handler uses, built once per cold start.
pub struct Deps<S, E, Q> {
    /// The state bucket (manifests).
    pub state: S,
    /// The export bucket (listed only).
    pub exports: E,
    /// The sync queue.
    pub queue: Q,
    /// The export bucket's layout.
    pub location: ExportLocation,
    /// Verifies callback URLs.
    pub signer: CallbackSigner,
    /// Where each request's metrics go: EMF on stdout on Lambda (`main.rs`); discarded unless
    /// set ([`Deps::with_metrics`]).
    pub metrics: MetricsSink,
}

impl<S, E, Q> Deps<S, E, Q> {
    /// The same dependencies, reporting each request's metrics to `metrics`.
    pub fn with_metrics(self, metrics: MetricsSink) -> Deps<S, E, Q> {
        Deps { metrics, ..self }
    }
}

/// Handles one callback request.
pub async fn handler<S: ObjectStore, E: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, E, Q>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let mut files_queued = 0;
    let (response, job, outcome) = match process(deps, &request).await {
        Ok((job, dispatch)) => {
            if let Dispatch::Dispatched { files, .. } = &dispatch {
                files_queued = *files;
            }
            let (status, outcome, body) = answer(&job, &dispatch);
            (json_response(status, &body), Some(job), outcome)
        }
        Err((job, problem)) => {
            let outcome = problem.slug().to_owned();
            (problem.into_response(), job, outcome)
        }
    };
    tracing::info!(
        request_id = %request_id,
        job = job.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        outcome = %outcome,
        "export callback"
    );
    deps.metrics
        .emit(&metrics(response.status().is_client_error(), files_queued));
    Ok(response)
}

/// A request's metrics: whether the callback was refused, and the file jobs it queued; each
/// reported, at 0 too.
fn metrics(refused: bool, files_queued: usize) -> MetricSet {
    let mut metrics = MetricSet::new();
    metrics
        .add(Metric::Rejected, u64::from(refused))
        .add(Metric::ExportFilesQueued, files_queued as u64);
    metrics
}

type Refused = (Option<String>, Problem);

async fn process<S: ObjectStore, E: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, E, Q>,
    request: &Request,
) -> Result<(String, Dispatch), Refused> {
    if request.method() != http::Method::POST {
        return Err((
            None,
            Problem::new(
                405,
                "method-not-allowed",
                "Method not allowed",
                "the callback is POST only",
            )
            .with_header("allow", "POST"),
        ));
    }
    let query = CallbackQuery::parse(request.uri().query().unwrap_or(""));
    let job = deps
        .signer
        .verify(&query, Utc::now())
        .map_err(|error| (None, unauthorized(&error)))?;
    let job_name = Some(job.to_string());
    let body = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err((
            job_name,
            Problem::new(
                413,
                "payload-too-large",
                "Payload too large",
                format!(
                    "the callback body is {} bytes, over {MAX_BODY_BYTES}",
                    body.len()
                ),
            ),
        ));
    }
    let body = CallbackBody::parse(body).map_err(|error| {
        (
            job_name.clone(),
            Problem::new(400, "malformed-body", "Malformed body", error.to_string()),
        )
    })?;
    let dispatcher = Dispatcher {
        state: &deps.state,
        exports: &deps.exports,
        queue: &deps.queue,
        location: &deps.location,
    };
    match dispatcher.handle(&job, &body).await {
        Ok(dispatch) => Ok((job.to_string(), dispatch)),
        Err(error) => Err((job_name, dispatch_problem(&error))),
    }
}

/// 401 for every authentication failure; the detail says which part, never the secret.
fn unauthorized(error: &CallbackAuthError) -> Problem {
    Problem::new(
        401,
        "callback-unauthorized",
        "Unauthorized",
        error.to_string(),
    )
}

fn dispatch_problem(error: &DispatchError) -> Problem {
    match error {
        DispatchError::NoObjectPrefix(_) => Problem::new(
            409,
            "export-not-started",
            "Export not started",
            error.to_string(),
        ),
        _ => Problem::new(
            503,
            "dispatch-failed",
            "Could not dispatch the export",
            format!("{error}; the callback can be sent again"),
        )
        .retry_after(30),
    }
}

/// Status, outcome name and body of a handled callback.
fn answer(job: &str, dispatch: &Dispatch) -> (u16, String, serde_json::Value) {
    let (status, outcome, extra) = match dispatch {
        Dispatch::UnknownJob => {
            let problem = Problem::new(
                404,
                "unknown-export-job",
                "Unknown export job",
                format!("no export job {job}"),
            );
            return (
                404,
                problem.slug().to_owned(),
                serde_json::to_value(&problem).expect("problems serialise"),
            );
        }
        Dispatch::AlreadyHandled(state) => (200, "already-handled", json!({"state": state})),
        Dispatch::InProgress => (202, "dispatch-in-progress", json!({})),
        Dispatch::RecordedFailure => (200, "recorded-failure", json!({"state": "failed"})),
        Dispatch::Dispatched { files, state } => {
            (200, "dispatched", json!({"files": files, "state": state}))
        }
    };
    let mut body = json!({"job": job, "outcome": outcome});
    if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    (status, outcome.to_owned(), body)
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    let content_type = if status >= 400 {
        "application/problem+json"
    } else {
        "application/json"
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .expect("a JSON response is always valid")
}
