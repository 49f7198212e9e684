//! The API Gateway HTTP API of the stack on one loopback port: `POST /webhooks/{source}`
//! (crm-signup) and `POST /braze/export-callback` (export-callback) invoke their HTTP function
//! with the event API Gateway would send ([`event`]), through
//! relay-lambda's edge ([`relay_lambda::http_edge::answer`]: the same conversion, the same
//! 400 for an event that cannot become a request, the same response document as on Lambda);
//! everything else is API Gateway's `404 {"message":"Not Found"}`.
//!
//! As API Gateway: a payload over 10 MB is `413 {"message":"Request Entity Too Large"}`
//! and a body the client stopped sending `400 {"message":"Bad Request"}`, both without an
//! invocation; an invocation that fails (`Err` or panic) is
//! `500 {"message":"Internal Server Error"}`; one that outlives the 30 s integration timeout
//! is `503 {"message":"Service Unavailable"}`; every answer carries `apigw-requestid`.

pub mod event;
pub mod response;

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::FutureExt;
use futures::StreamExt;
use futures::future::BoxFuture;
use http::{HeaderValue, StatusCode};
use lambda_runtime::LambdaEvent;
use relay_lambda::http_edge::{EdgeError, answer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::LocalError;
use super::config::MAX_PAYLOAD_BYTES;
use super::invocation::{Function, new_trace_id};
use event::Incoming;
use response::{APIGW_REQUEST_ID, gateway_answer, internal_error, not_found};

/// An HTTP function's handler, as `lambda_http` gets it.
pub type HttpHandler = Arc<
    dyn Fn(
            lambda_http::Request,
        ) -> BoxFuture<
            'static,
            Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
        > + Send
        + Sync,
>;

/// The function's answer to an event that cannot become a request (its `main.rs`'s
/// `run_http` second argument).
pub type BadRequest =
    Arc<dyn Fn(&EdgeError) -> lambda_http::Response<lambda_http::Body> + Send + Sync>;

/// The function behind the webhook route.
#[derive(Clone)]
pub struct HttpFunction {
    /// Its name, region and timeout (the context's deadline).
    pub function: Function,
    /// Its handler.
    pub handler: HttpHandler,
    /// Its answer to an unconvertible event.
    pub bad_request: BadRequest,
}

/// The functions behind the routes.
#[derive(Clone)]
pub struct Routes {
    /// `POST /webhooks/{source}`.
    pub webhooks: HttpFunction,
    /// `POST /braze/export-callback`, when the stack serves exports.
    pub export_callback: Option<HttpFunction>,
}

#[derive(Clone)]
struct GatewayState {
    routes: Routes,
    local: SocketAddr,
}

/// The running gateway.
pub struct Gateway {
    url: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The gateway's port, bound but not serving yet (its URL is known: the functions'
/// `RELAY_PUBLIC_URL` defaults to it).
pub struct Bound {
    listener: TcpListener,
    local: SocketAddr,
    url: String,
}

impl Bound {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves the routes' functions.
    pub fn serve(self, routes: Routes) -> Gateway {
        let mut router = Router::new().route(
            "/webhooks/{source}",
            post(webhook).fallback(|| async { not_found() }),
        );
        if routes.export_callback.is_some() {
            router = router.route(
                "/braze/export-callback",
                post(export_callback).fallback(|| async { not_found() }),
            );
        }
        let router = router
            .fallback(|| async { not_found() })
            .with_state(GatewayState {
                routes,
                local: self.local,
            });
        let (stop, mut stopped) = watch::channel(false);
        let listener = self.listener;
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let served = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(signal)
            .await;
            if let Err(error) = served {
                tracing::error!(%error, "the webhook gateway failed");
            }
        });
        Gateway {
            url: self.url,
            stop,
            task,
        }
    }
}

impl Gateway {
    /// Binds 127.0.0.1:`port` (0: a free port).
    pub async fn bind(port: u16) -> Result<Bound, LocalError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| LocalError::Bind { port, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| LocalError::Bind { port, source })?;
        Ok(Bound {
            listener,
            local,
            url: format!("http://{local}"),
        })
    }

    /// Binds 127.0.0.1:`port` and serves `function` on the webhook route only.
    pub async fn start(port: u16, function: HttpFunction) -> Result<Gateway, LocalError> {
        Ok(Gateway::bind(port).await?.serve(Routes {
            webhooks: function,
            export_callback: None,
        }))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting, lets open requests finish for up to `grace`, then drops the rest.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(grace, self.task).await.is_err() {
            abort.abort();
        }
    }
}

/// `POST /webhooks/{source}`.
async fn webhook(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    source: Result<Path<String>, PathRejection>,
    request: axum::extract::Request,
) -> Response {
    // A path parameter that does not decode matches no route on API Gateway either.
    let Ok(Path(source)) = source else {
        return not_found();
    };
    let route = Matched {
        function: &state.routes.webhooks,
        key: event::WEBHOOK_ROUTE_KEY,
        parameters: &[("source", &source)],
    };
    forward(route, state.local, peer, request).await
}

/// `POST /braze/export-callback`.
async fn export_callback(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let Some(function) = &state.routes.export_callback else {
        return not_found();
    };
    let route = Matched {
        function,
        key: event::EXPORT_CALLBACK_ROUTE_KEY,
        parameters: &[],
    };
    forward(route, state.local, peer, request).await
}

/// The route a request matched.
struct Matched<'a> {
    function: &'a HttpFunction,
    key: &'static str,
    parameters: &'a [(&'a str, &'a str)],
}

/// Reads the body and invokes the route's function with the event API Gateway would send.
async fn forward(
    route: Matched<'_>,
    local: SocketAddr,
    peer: SocketAddr,
    request: axum::extract::Request,
) -> Response {
    let request_id = BASE64.encode(&uuid::Uuid::new_v4().as_bytes()[..10]);
    let (parts, body) = request.into_parts();
    let mut response = match read_body(body).await {
        Ok(body) => {
            let trace_id = new_trace_id();
            let event = event::event(&Incoming {
                method: &parts.method,
                uri: &parts.uri,
                headers: &parts.headers,
                body: &body,
                peer,
                local,
                route_key: route.key,
                path_parameters: route.parameters,
                request_id: &request_id,
                trace_id: &trace_id,
            });
            invoke(route.function, event, &trace_id).await
        }
        Err(Unread::TooLarge) => {
            gateway_answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
        }
        Err(Unread::Aborted) => {
            tracing::info!(target: "relay_local", request_id = %request_id, "request body aborted; not invoked");
            gateway_answer(StatusCode::BAD_REQUEST, "Bad Request")
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(APIGW_REQUEST_ID, value);
    }
    response
}

/// Why a request's body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    /// Over API Gateway's 10 MB (read no further): 413.
    TooLarge,
    /// The client stopped sending before the body was complete: 400, and no invocation.
    Aborted,
}

/// The whole body, or why not.
async fn read_body(body: axum::body::Body) -> Result<Vec<u8>, Unread> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Unread::Aborted)?;
        if bytes.len() + chunk.len() > MAX_PAYLOAD_BYTES {
            return Err(Unread::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// One invocation of the HTTP function with `event`, as Lambda runs it; one log line.
async fn invoke(function: &HttpFunction, event: serde_json::Value, trace_id: &str) -> Response {
    let context = function.function.context(trace_id);
    let request_id = context.request_id.clone();
    let started = Instant::now();
    let handler = |request| (function.handler)(request);
    let bad_request = |error: &EdgeError| (function.bad_request)(error);
    let invocation = answer(LambdaEvent::new(event, context), &handler, &bad_request);
    let outcome = tokio::time::timeout(
        function.function.timeout,
        AssertUnwindSafe(invocation).catch_unwind(),
    )
    .await;
    let (response, outcome) = match outcome {
        Ok(Ok(Ok(document))) => (response::from_document(document), "answered"),
        Ok(Ok(Err(_))) => (internal_error(), "error"),
        Ok(Err(_)) => (internal_error(), "panic"),
        Err(_) => (
            gateway_answer(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
            "timeout",
        ),
    };
    tracing::info!(
        target: "relay_local",
        function = function.function.name,
        request_id = %request_id,
        status = response.status().as_u16(),
        outcome,
        duration_ms = started.elapsed().as_millis() as u64,
        "invocation"
    );
    response
}
