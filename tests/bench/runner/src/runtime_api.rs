//! A loopback emulation of the Lambda Runtime API (2018-06-01), enough for one cold start:
//! the first `GET /invocation/next` hands out one event, later ones wait (as Lambda's long
//! poll does) until the process is killed. Every call is reported, with the time it arrived,
//! on a channel.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long an invocation may run, as announced in `Lambda-Runtime-Deadline-Ms`.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// One event to hand out.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// The event JSON.
    pub payload: String,
}

/// What the function did, with when it reached us.
#[derive(Debug)]
pub enum Call {
    /// `GET /invocation/next`; `handed_out` is when the event left (only for the first).
    Next {
        /// When the request arrived.
        arrived: Instant,
        /// When the event was handed out, if this call got one.
        handed_out: Option<Instant>,
    },
    /// `POST /invocation/{id}/response`.
    Response {
        /// When it arrived.
        arrived: Instant,
        /// The request id in the path.
        request_id: String,
        /// The response payload.
        body: Bytes,
    },
    /// `POST /invocation/{id}/error` or `POST /init/error`.
    Error {
        /// `init` or the invocation's request id.
        phase: String,
        /// `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The error document.
        body: Bytes,
    },
}

struct Shared {
    pending: Mutex<Option<Invocation>>,
    calls: mpsc::UnboundedSender<Call>,
}

/// A running emulator; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Binds 127.0.0.1:0 and serves `invocation` to the first `/next`.
    pub async fn start(
        invocation: Invocation,
    ) -> std::io::Result<(RuntimeApi, mpsc::UnboundedReceiver<Call>)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (calls, received) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            pending: Mutex::new(Some(invocation)),
            calls,
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((RuntimeApi { addr, server }, received))
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Open long polls would keep a graceful shutdown waiting: the child is dead by now.
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let arrived = Instant::now();
    let invocation = shared.pending.lock().expect("not poisoned").take();
    let Some(invocation) = invocation else {
        let _ = shared.calls.send(Call::Next {
            arrived,
            handed_out: None,
        });
        // Lambda freezes the process here until the next event; the bench kills it instead.
        return std::future::pending().await;
    };
    let deadline_ms = (SystemTime::now() + INVOCATION_TIMEOUT)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        headers.insert(
            name,
            HeaderValue::from_str(value).expect("header values are ASCII"),
        );
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        &invocation.function_arn,
    );
    set("lambda-runtime-trace-id", &trace_id());
    let response = (StatusCode::OK, headers, invocation.payload).into_response();
    let _ = shared.calls.send(Call::Next {
        arrived,
        handed_out: Some(Instant::now()),
    });
    response
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = shared.calls.send(Call::Response {
        arrived: Instant::now(),
        request_id,
        body,
    });
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    report_error(&shared, request_id, &headers, body);
    StatusCode::ACCEPTED
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    report_error(&shared, "init".to_owned(), &headers, body);
    StatusCode::ACCEPTED
}

fn report_error(shared: &Shared, phase: String, headers: &HeaderMap, body: Bytes) {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unspecified")
        .to_owned();
    let _ = shared.calls.send(Call::Error {
        phase,
        error_type,
        body,
    });
}

/// An X-Ray style trace header (`Root=1-<epoch hex>-<24 hex>;Parent=...;Sampled=0`).
fn trace_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        now.as_secs(),
        now.as_nanos() & ((1u128 << 96) - 1),
        now.subsec_nanos()
    )
}
