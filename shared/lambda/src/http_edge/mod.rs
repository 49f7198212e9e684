//! The API Gateway HTTP API (payload 2.0) edge, owned instead of `lambda_http::run`'s adapter.
//!
//! `lambda_http` 1.3 turns an event into a request with `unwrap`s and `expect`s: a `Host`
//! that is not a host, an `X-Forwarded-Proto` that is not a scheme, or a body marked base64
//! that is not, panics, and the caller gets Lambda's invocation error (a bare 500) instead of
//! an answer. Here each step is checked ([`request_from_event`]); what fails is an
//! [`EdgeError`] that the function turns into its own 400 answer, and the handler keeps its
//! `lambda_http::Request` with the extensions lambda_http sets.

mod error;
mod request;
mod response;

use std::fmt::Debug;
use std::future::Future;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::{Body, IntoResponse, Request, Response};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

pub use error::EdgeError;
pub use request::{IGNORE_STAGE_IN_PATH, read_event, request_from_event, with_invocation};
pub use response::event_response;

/// Serves `handler` on the Lambda Runtime API, as `lambda_http::run` does for API Gateway
/// HTTP API events, except that an event that cannot become a request is answered with
/// `bad_request(&error)` (a 400 the function builds) instead of failing the invocation.
///
/// Errors returned by `handler` still fail the invocation, as under `lambda_http::run`.
pub async fn run_http<H, Fut, R, E, B>(
    handler: H,
    bad_request: B,
) -> Result<(), lambda_runtime::Error>
where
    H: Fn(Request) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    R: IntoResponse,
    E: Into<Diagnostic> + Debug,
    B: Fn(&EdgeError) -> Response<Body>,
{
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        answer(event, &handler, &bad_request)
    }))
    .await
}

/// One invocation: the event converted ([`read_event`], [`request_from_event`],
/// [`with_invocation`]) and handed to `handler`, or answered with `bad_request` when it
/// cannot be converted; either response as the document API Gateway expects
/// ([`event_response`]).
pub async fn answer<H, Fut, R, E, B>(
    event: LambdaEvent<Value>,
    handler: &H,
    bad_request: &B,
) -> Result<ApiGatewayV2httpResponse, E>
where
    H: Fn(Request) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    R: IntoResponse,
    B: Fn(&EdgeError) -> Response<Body>,
{
    let LambdaEvent { payload, context } = event;
    match read_event(payload).and_then(request_from_event) {
        Ok(request) => {
            let response = handler(with_invocation(request, context)).await?;
            Ok(event_response(response).await)
        }
        Err(error) => {
            // The error names the header or field, never its value.
            tracing::warn!(
                request_id = %context.request_id,
                location = error.location(),
                error = %error,
                "request refused before the handler"
            );
            Ok(event_response(bad_request(&error)).await)
        }
    }
}
