//! Cold start: exec a release binary against a fresh loopback Runtime API, time its init
//! (exec to the first `/invocation/next`) and its first invocation (event handed out to
//! `/response`), read its peak RSS, kill it by PID.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relay_tests::runtime_api::{Call, Invocation, RuntimeApi};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// The longest one run may take before it counts as failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks the function's response payload (the API Gateway v2 response JSON).
pub type Check = Box<dyn Fn(&Value) -> Result<(), String>>;

/// One binary to measure.
pub struct Target {
    /// Name in the report (`hello-world`, `crm-signup`).
    pub label: String,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: &'static str,
    /// The release binary.
    pub path: PathBuf,
    /// The environment (the child starts from an empty one).
    pub env: Vec<(String, String)>,
    /// The event of run `n`, built when the run starts (signatures carry a fresh timestamp).
    pub event: Box<dyn Fn(usize) -> Value>,
    /// What the response must look like.
    pub check: Check,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Exec to the first `/invocation/next`: Lambda's Init Duration.
    pub init: Duration,
    /// The event handed out to its `/response`.
    pub first_invoke: Duration,
    /// Exec to `/response`.
    pub total: Duration,
    /// `VmHWM` right after the response, in KiB.
    pub peak_rss_kib: u64,
}

/// A run that did not produce a good response, with the function's output.
#[derive(Debug)]
pub struct RunFailure {
    /// What went wrong.
    pub reason: String,
    /// The child's stdout and stderr, interleaved per stream.
    pub output: String,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- function output ---\n{}\n--- end of function output ---",
            self.reason, self.output
        )
    }
}

/// The environment Lambda's `provided.al2023` runtime gives a function, for `target` on the
/// emulated Runtime API at `runtime_api`. The function's own settings come on top.
pub fn lambda_env(function_name: &str, runtime_api: &str) -> Vec<(String, String)> {
    let pairs = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef".to_owned(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_SESSION_TOKEN", "testing".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Runs `target` once; `run` numbers the request ids (0 is the warm-up).
pub async fn run_once(target: &Target, run: usize) -> Result<Sample, RunFailure> {
    let function_name = target.function_name;
    let request_id = format!("bench-{function_name}-{run:04}-0000-0000-000000000000");
    let invocation = Invocation::new(request_id.clone(), (target.event)(run).to_string())
        .for_function(function_name);
    let mut api = RuntimeApi::start([invocation]).await;
    let mut env = lambda_env(function_name, &api.host_port());
    env.extend(target.env.iter().cloned());

    let output = Arc::new(Mutex::new(String::new()));
    let started = Instant::now();
    let mut child = Command::new(&target.path)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RunFailure {
            reason: format!("cannot start {}: {e}", target.path.display()),
            output: String::new(),
        })?;
    let pid = child.id().expect("a just-spawned child has a pid");
    let readers = [
        drain(child.stdout.take(), output.clone()),
        drain(child.stderr.take(), output.clone()),
    ];

    let result = watch(&mut child, &mut api, started, &request_id, pid).await;
    stop(&mut child).await;
    for reader in readers {
        let _ = reader.await;
    }
    drop(api);
    let output = output.lock().expect("not poisoned").clone();
    let fail = |reason: String| RunFailure {
        reason,
        output: output.clone(),
    };
    let (sample, body) = result.map_err(fail)?;
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| fail(format!("the response payload is not JSON: {e}")))?;
    (target.check)(&payload).map_err(|reason| {
        fail(format!(
            "{reason}; response payload: {}",
            String::from_utf8_lossy(&body)
        ))
    })?;
    Ok(sample)
}

/// Waits for the first `/next`, then the response; reads the peak RSS before returning.
async fn watch(
    child: &mut Child,
    api: &mut RuntimeApi,
    started: Instant,
    request_id: &str,
    pid: u32,
) -> Result<(Sample, bytes::Bytes), String> {
    let deadline = tokio::time::Instant::now() + RUN_TIMEOUT;
    let mut first_next: Option<Instant> = None;
    let mut handed_out: Option<Instant> = None;
    loop {
        let call = tokio::select! {
            call = api.next_arrival() => call.ok_or("the Runtime API emulator stopped")?,
            status = child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(format!("the function exited before it answered ({status})"));
            }
            () = tokio::time::sleep_until(deadline) => {
                return Err(format!("no response within {} s", RUN_TIMEOUT.as_secs()));
            }
        };
        match call {
            Call::Next {
                arrived,
                handed_out: given,
            } => {
                first_next.get_or_insert(arrived);
                if let Some(given) = given {
                    handed_out = Some(given);
                }
            }
            Call::Response {
                arrived,
                request_id: id,
                body,
            } => {
                if id != request_id {
                    return Err(format!("a response for unknown request id {id:?}"));
                }
                let peak_rss_kib = peak_rss_kib(pid)?;
                let (Some(first_next), Some(handed_out)) = (first_next, handed_out) else {
                    return Err("a response arrived before any event was handed out".into());
                };
                let sample = Sample {
                    init: first_next - started,
                    first_invoke: arrived - handed_out,
                    total: arrived - started,
                    peak_rss_kib,
                };
                return Ok((sample, body));
            }
            Call::Error {
                request_id: id,
                error_type,
                body,
                ..
            } => return Err(reported_error(&id, &error_type, &body)),
            Call::InitError {
                error_type, body, ..
            } => return Err(reported_error("init", &error_type, &body)),
        }
    }
}

/// Why a run failed when the function posted `/error` (`phase` is the request id) or
/// `/init/error` (`phase` is `init`).
fn reported_error(phase: &str, error_type: &str, body: &[u8]) -> String {
    format!(
        "the function reported an error ({phase}, {error_type}): {}",
        String::from_utf8_lossy(body)
    )
}

/// Kills the child by its PID and reaps it.
async fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.start_kill();
    }
    let _ = child.wait().await;
}

/// `VmHWM` (peak resident set) of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("{path} has no readable VmHWM line"))
}

fn drain(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    into: Arc<Mutex<String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut stream) = stream else { return };
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => into
                    .lock()
                    .expect("not poisoned")
                    .push_str(&String::from_utf8_lossy(&buffer[..n])),
            }
        }
    })
}

/// Runs `targets` `runs` times each, alternating between them so drift (thermal, page cache,
/// neighbours) affects all alike. Returns the samples per target, in `targets` order.
pub async fn measure(targets: &[Target], runs: usize) -> Result<Vec<Vec<Sample>>, RunFailure> {
    let mut samples = vec![Vec::with_capacity(runs); targets.len()];
    for run in 1..=runs {
        for (target, into) in targets.iter().zip(samples.iter_mut()) {
            let sample = run_once(target, run).await.map_err(|e| RunFailure {
                reason: format!("{} run {run}: {}", target.label, e.reason),
                output: e.output,
            })?;
            into.push(sample);
        }
    }
    Ok(samples)
}
