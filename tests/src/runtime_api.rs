//! Running a function's real binary as Lambda would: a loopback Lambda Runtime API
//! (2018-06-01) that hands out the given invocations in order and records every call with the
//! instant it arrived (each `/next` poll, and what the function posts back: `/response`,
//! `/error`, `/init/error`), and the binary started against it with the environment Lambda
//! gives a `provided.al2023` function.
//!
//! This is the only emulator of the Runtime API in the workspace: the binary tests read what
//! was posted ([`RuntimeApi::next_call`]), and `relay-bench`'s cold start times the polls and
//! the response as they arrive ([`RuntimeApi::next_arrival`]). The handlers take an
//! [`Instant`] first thing, so the recorded times do not include the emulator's own work.
//!
//! The emulator binds 127.0.0.1 port 0; the process is stopped by its PID when the test is
//! done with it (or dropped).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long an invocation may run, as announced in `Lambda-Runtime-Deadline-Ms`.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The function name in [`Invocation::new`]'s ARN, for tests that do not name one.
const DEFAULT_FUNCTION_NAME: &str = "under-test";

/// One event to hand out on `GET /invocation/next`.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// The event JSON.
    pub payload: String,
}

impl Invocation {
    /// An invocation of `payload` under `request_id`, addressed to a function named
    /// `under-test` (see [`Invocation::for_function`] to name it).
    pub fn new(request_id: impl Into<String>, payload: impl Into<String>) -> Invocation {
        Invocation {
            request_id: request_id.into(),
            function_arn: function_arn(DEFAULT_FUNCTION_NAME),
            payload: payload.into(),
        }
    }

    /// The same invocation addressed to `function_name`'s ARN (in [`lambda_env`]'s region and
    /// a fixed account), so the ARN agrees with `AWS_LAMBDA_FUNCTION_NAME` as it does on Lambda.
    pub fn for_function(self, function_name: &str) -> Invocation {
        Invocation {
            function_arn: function_arn(function_name),
            ..self
        }
    }
}

/// `function_name`'s unqualified ARN in us-east-1 under a fixed test account.
fn function_arn(function_name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}")
}

/// A call the function made to the Runtime API, with the instant it arrived (taken first
/// thing in the handler).
#[derive(Debug, Clone)]
pub enum Call {
    /// `GET /invocation/next`, a poll for the next event. Recorded when its event has been
    /// handed out, or on arrival when there is none left (the poll then waits for good).
    /// [`RuntimeApi::next_arrival`] returns these; [`RuntimeApi::next_call`] and
    /// [`RuntimeApi::calls_so_far`] skip them.
    Next {
        /// When the request arrived.
        arrived: Instant,
        /// When its event was handed out (the response built, about to be written); `None`
        /// when no event was left for it.
        handed_out: Option<Instant>,
    },
    /// `POST /invocation/{id}/response`.
    Response {
        /// When it arrived.
        arrived: Instant,
        /// The request id in the path.
        request_id: String,
        /// The response document.
        body: Bytes,
    },
    /// `POST /invocation/{id}/error`.
    Error {
        /// When it arrived.
        arrived: Instant,
        /// The request id in the path.
        request_id: String,
        /// `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The error document.
        body: Bytes,
    },
    /// `POST /init/error`.
    InitError {
        /// When it arrived.
        arrived: Instant,
        /// `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The error document.
        body: Bytes,
    },
}

struct Shared {
    pending: Mutex<VecDeque<Invocation>>,
    calls: mpsc::UnboundedSender<Call>,
}

/// A running emulator; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    server: JoinHandle<()>,
    calls: mpsc::UnboundedReceiver<Call>,
}

impl RuntimeApi {
    /// Binds 127.0.0.1:0 and serves `invocations`, one per `/next`, in order. Later `/next`
    /// calls wait, as Lambda's long poll does while no event comes.
    pub async fn start(invocations: impl IntoIterator<Item = Invocation>) -> RuntimeApi {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1:0 for the Runtime API emulator");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (calls, received) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            pending: Mutex::new(invocations.into_iter().collect()),
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
        RuntimeApi {
            addr,
            server,
            calls: received,
        }
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The next call the function posted (`/response`, `/error`, `/init/error`), waiting at
    /// most `limit`. `/next` polls are skipped: what a test checks is what was posted.
    pub async fn next_call(&mut self, limit: Duration) -> Option<Call> {
        let posted = async {
            loop {
                match self.calls.recv().await? {
                    Call::Next { .. } => continue,
                    call => return Some(call),
                }
            }
        };
        tokio::time::timeout(limit, posted).await.ok().flatten()
    }

    /// Every call the function posted so far, without waiting; `/next` polls are skipped as
    /// in [`RuntimeApi::next_call`].
    pub fn calls_so_far(&mut self) -> Vec<Call> {
        let mut calls = Vec::new();
        while let Ok(call) = self.calls.try_recv() {
            if !matches!(call, Call::Next { .. }) {
                calls.push(call);
            }
        }
        calls
    }

    /// The next call of any kind, `/next` polls included, as soon as it arrives; `None` once
    /// the emulator has stopped. No time limit: it is cancel-safe, so a caller that times the
    /// calls (the cold-start bench) races it in `select!` against the process and a deadline.
    pub async fn next_arrival(&mut self) -> Option<Call> {
        self.calls.recv().await
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Open long polls would keep a graceful shutdown waiting.
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let arrived = Instant::now();
    let invocation = shared.pending.lock().expect("not poisoned").pop_front();
    let Some(invocation) = invocation else {
        let _ = shared.calls.send(Call::Next {
            arrived,
            handed_out: None,
        });
        // Lambda freezes the process here until the next event; the test stops it instead.
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
    UrlPath(request_id): UrlPath<String>,
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
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let arrived = Instant::now();
    let _ = shared.calls.send(Call::Error {
        arrived,
        request_id,
        error_type: error_type(&headers),
        body,
    });
    StatusCode::ACCEPTED
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let arrived = Instant::now();
    let _ = shared.calls.send(Call::InitError {
        arrived,
        error_type: error_type(&headers),
        body,
    });
    StatusCode::ACCEPTED
}

/// A fresh X-Ray style trace header per invocation, as Lambda gives
/// (`Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0`).
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

fn error_type(headers: &HeaderMap) -> String {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_owned()
}

/// The environment Lambda's `provided.al2023` runtime gives `function_name`, on the emulator
/// at `runtime_api`, with static test credentials (nothing is called with them).
pub fn lambda_env(function_name: &str, runtime_api: &str) -> HashMap<String, String> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_SESSION_TOKEN", "testing".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// A function binary running against a [`RuntimeApi`], its output collected. It is killed by
/// its PID when [`FunctionProcess::stop`] is called or when dropped.
pub struct FunctionProcess {
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

/// What a stopped function printed, and how it ended.
#[derive(Debug)]
pub struct FunctionOutput {
    /// `None` when the test had to kill it.
    pub exited: Option<ExitStatus>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl FunctionProcess {
    /// Starts `binary` with only [`lambda_env`] for `api` plus `vars` in its environment.
    pub fn spawn(
        binary: impl AsRef<Path>,
        api: &RuntimeApi,
        vars: &HashMap<String, String>,
    ) -> FunctionProcess {
        let binary = binary.as_ref();
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".into());
        let mut child = Command::new(binary)
            .env_clear()
            .envs(lambda_env(&name, &api.host_port()))
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        FunctionProcess {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits at most `limit` for the process to exit on its own.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Kills the process by its PID if it still runs, reaps it, and returns its output.
    pub async fn stop(mut self) -> FunctionOutput {
        let exited = self.child.try_wait().ok().flatten();
        if exited.is_none() {
            // tokio's start_kill sends SIGKILL to this child's PID only.
            let _ = self.child.start_kill();
        }
        let _ = self.child.wait().await;
        FunctionOutput {
            exited,
            stdout: (&mut self.stdout).await.unwrap_or_default(),
            stderr: (&mut self.stderr).await.unwrap_or_default(),
        }
    }
}

fn drain(stream: Option<impl AsyncRead + Unpin + Send + 'static>) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut text = Vec::new();
        if let Some(mut stream) = stream {
            let _ = stream.read_to_end(&mut text).await;
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Runs `binary` with `vars` against a fresh [`RuntimeApi`] and checks what a configuration
/// error at cold start must give: the process exits non-zero, exactly one `/init/error` of
/// type `Runtime.ConfigError` whose message names `variable`, and one readable line on stderr
/// naming it (the error's text, not its `Debug` form). Panics with what was seen otherwise.
pub async fn assert_config_error_reported(
    binary: impl AsRef<Path>,
    vars: &HashMap<String, String>,
    variable: &str,
) {
    // Far above a cold start (milliseconds); only reached when something is broken.
    const WAIT: Duration = Duration::from_secs(30);
    let mut api = RuntimeApi::start([]).await;
    let mut function = FunctionProcess::spawn(binary, &api, vars);
    let exited = function.wait_exit(WAIT).await;
    let output = function.stop().await;
    let calls = api.calls_so_far();

    let status = exited.unwrap_or_else(|| panic!("still running after {WAIT:?}: {output:?}"));
    assert!(!status.success(), "exit status {status}");
    let [
        Call::InitError {
            error_type, body, ..
        },
    ] = calls.as_slice()
    else {
        panic!(
            "expected exactly one /init/error, got {calls:?}; stderr: {}",
            output.stderr
        );
    };
    assert_eq!(error_type, "Runtime.ConfigError");
    let document: serde_json::Value = serde_json::from_slice(body).expect("JSON error document");
    assert_eq!(document["errorType"], "Runtime.ConfigError");
    let message = document["errorMessage"].as_str().expect("errorMessage");
    assert!(message.contains(variable), "{message}");
    let lines: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", output.stderr);
    assert!(lines[0].contains(variable), "{}", lines[0]);
    assert!(
        !lines[0].contains('{'),
        "a readable line, not Debug: {}",
        lines[0]
    );
}
