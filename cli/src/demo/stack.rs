//! The demo's `relay local`: started as a child process with the demo's settings, read from
//! its one JSON line, stopped by SIGTERM to its PID (it then stops moto and the sandbox).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::signals::StopSignals;
use crate::{CliError, Settings};

/// Seconds a failed message stays invisible before SQS delivers it again (scene 3's pace).
pub const VISIBILITY_TIMEOUT_SECS: u64 = 3;
/// Receives before SQS moves a message to the dead-letter queue. High enough that a
/// 20 s outage (scene 2) never sends a parked contact there, low enough for scene 3.
pub const MAX_RECEIVE_COUNT: u32 = 10;

/// How long `relay local` may take to stop everything before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(20);

/// What `relay local` printed when it was ready (the fields the demo and `relay chaos` use).
#[derive(Debug, Clone, Deserialize)]
pub struct LocalInfo {
    /// Base URL of the webhook routes.
    pub webhooks: String,
    /// The state bucket.
    pub state_bucket: String,
    /// The export bucket.
    pub export_bucket: String,
    /// The sync queue.
    pub sync_queue_url: String,
    /// Its dead-letter queue.
    pub sync_dlq_url: String,
    /// The erasure queue.
    pub erasure_queue_url: String,
    /// Its dead-letter queue.
    pub erasure_dlq_url: String,
    /// The sandbox's URLs (the demo always runs with the sandbox).
    pub sandbox: Option<SandboxUrls>,
    /// The moto process `relay local` started, if it started one.
    #[serde(default)]
    pub moto_pid: Option<u32>,
}

/// The sandbox part of `relay local`'s line.
#[derive(Debug, Clone, Deserialize)]
pub struct SandboxUrls {
    /// Admin API base URL.
    pub admin: String,
}

impl LocalInfo {
    /// The sandbox's admin URL.
    pub fn admin(&self) -> &str {
        self.sandbox.as_ref().map_or("", |s| s.admin.as_str())
    }
}

/// A running `relay local`.
pub struct LocalStack {
    child: Child,
    /// What it printed.
    pub info: LocalInfo,
    /// The settings file other `relay` commands read to reach it.
    pub env_file: PathBuf,
    /// Its stderr (one line per invocation, the handlers' logs).
    pub log: PathBuf,
}

impl LocalStack {
    /// Starts `relay local` in `dir` with the demo's settings and waits for its line. The
    /// vendor settings of the caller's environment are not passed on: the demo always runs
    /// against the sandbox.
    pub async fn start(
        relay: &Path,
        dir: &Path,
        caller: &Settings,
        signals: &mut StopSignals,
    ) -> Result<LocalStack, CliError> {
        let stack =
            Self::start_named(relay, dir, "relay-local", &demo_settings(), caller, signals).await?;
        if stack.info.sandbox.is_some() {
            Ok(stack)
        } else {
            let _ = stack.stop(STOP_GRACE).await;
            Err(CliError::failed("relay local did not start the sandbox"))
        }
    }

    /// Starts `relay local` in `dir` with `settings` (dotenv lines) written to `<name>.env`,
    /// its log in `<name>.log`, its `--env-out` in `<name>-out.env`, and waits for its line.
    /// Of the caller's environment only `PATH`, `HOME`, `RELAY_PYTHON` and `RUST_LOG` are
    /// passed on.
    pub async fn start_named(
        relay: &Path,
        dir: &Path,
        name: &str,
        settings: &str,
        caller: &Settings,
        signals: &mut StopSignals,
    ) -> Result<LocalStack, CliError> {
        let settings_file = dir.join(format!("{name}.env"));
        std::fs::write(&settings_file, settings).map_err(|error| {
            CliError::failed(format!("cannot write {}: {error}", settings_file.display()))
        })?;
        let env_file = dir.join(format!("{name}-out.env"));
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).map_err(|error| {
            CliError::failed(format!("cannot create {}: {error}", log.display()))
        })?;
        let mut command = Command::new(relay);
        command
            .arg("local")
            .arg("--env-file")
            .arg(&settings_file)
            .arg("--env-out")
            .arg(&env_file)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        for name in ["PATH", "HOME", "RELAY_PYTHON", "RUST_LOG"] {
            if let Some(value) = caller.get(name) {
                command.env(name, value);
            }
        }
        let mut child = command
            .spawn()
            .map_err(|error| CliError::failed(format!("cannot start relay local: {error}")))?;
        let Some(stdout) = child.stdout.take() else {
            terminate(&mut child, STOP_GRACE).await;
            return Err(CliError::failed("relay local's stdout is not readable"));
        };
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        let read = tokio::select! {
            read = tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut line)) => read,
            interrupted = signals.received() => {
                terminate(&mut child, STOP_GRACE).await;
                return Err(interrupted);
            }
        };
        let info = match read {
            Ok(Ok(n)) if n > 0 => serde_json::from_str::<LocalInfo>(&line).map_err(|error| {
                CliError::failed(format!(
                    "relay local printed an unexpected line ({error}): {line}"
                ))
            }),
            _ => Err(CliError::failed(format!(
                "relay local did not start; see {}",
                log.display()
            ))),
        };
        match info {
            Ok(info) => Ok(LocalStack {
                child,
                info,
                env_file,
                log,
            }),
            Err(error) => {
                terminate(&mut child, STOP_GRACE).await;
                Err(error)
            }
        }
    }

    /// Its process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills it at once (SIGKILL), as a Lambda sandbox dies: batches in flight are abandoned
    /// and what it started (moto, when it started one) is left running.
    pub async fn kill(mut self) -> Result<(), CliError> {
        self.child
            .kill()
            .await
            .map_err(|error| CliError::failed(format!("cannot kill relay local: {error}")))
    }

    /// Stops it as Ctrl-C would (SIGTERM), waiting up to `grace` before killing it.
    pub async fn stop(mut self, grace: Duration) -> Result<(), CliError> {
        match terminate(&mut self.child, grace).await {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(CliError::failed(format!(
                "relay local stopped with {status}; see {}",
                self.log.display()
            ))),
            None => Err(CliError::failed(format!(
                "relay local did not stop within {grace:?} and was killed; see {}",
                self.log.display()
            ))),
        }
    }
}

/// True while a process with this id exists (signal 0 probes without signalling).
pub fn is_running(pid: u32) -> bool {
    kill(Pid::from_raw(pid as i32), None).is_ok()
}

/// SIGTERM, then SIGKILL after `grace`; the exit status when it stopped by itself.
async fn terminate(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    }
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            let _ = child.kill().await;
            None
        }
    }
}

/// The demo's settings: fresh secrets for the four sources, fast redelivery.
fn demo_settings() -> String {
    let standard_key = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ]
    .concat();
    let secret = || uuid::Uuid::new_v4().simple().to_string();
    [
        format!(
            "RELAY_STANDARD_WEBHOOKS_SECRET=whsec_{}",
            BASE64.encode(standard_key)
        ),
        format!("HUBSPOT_CLIENT_SECRET={}", secret()),
        format!("SALESFORCE_ORGANIZATION_ID={}", SALESFORCE_ORGANIZATION),
        format!("SALESFORCE_URL_TOKEN={}", secret()),
        format!("PIPEDRIVE_WEBHOOK_PASSWORD={}", secret()),
        format!("RELAY_LOCAL_VISIBILITY_TIMEOUT_SECS={VISIBILITY_TIMEOUT_SECS}"),
        format!("RELAY_LOCAL_MAX_RECEIVE_COUNT={MAX_RECEIVE_COUNT}"),
        "RELAY_LOCAL_WAIT_SECONDS=1".to_owned(),
        // A vendor call keeps retrying for at most 2 s: an outage parks contacts quickly.
        "UPSTREAM_RETRY_DEADLINE_MS=2000".to_owned(),
        // The sandbox takes far more than a real Userflow workspace's unpublished limit (the
        // default, 10/s, is a safe guess for that): the drain and the export sync are not paced
        // by a guess.
        "USERFLOW_RATE=1000".to_owned(),
        "USERFLOW_CONCURRENCY=16".to_owned(),
    ]
    .join("\n")
        + "\n"
}

/// The demo's Salesforce organization (18 characters, as Salesforce sends it).
pub const SALESFORCE_ORGANIZATION: &str = "00D5e000000AbCdEAK";
