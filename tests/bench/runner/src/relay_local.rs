//! `relay local` (the release `relay` binary) as a child process, as `relay demo` runs it:
//! settings in an env file, its one JSON line read from stdout, stopped by SIGTERM to its PID
//! (killed by PID when dropped on an error path). It starts moto itself; the vendors are the
//! sandbox that runs inside relay-bench, given as "real" API settings, so that the child's
//! memory is the relay's alone (the sandbox's stores grow with every contact).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sandbox::StartInfo;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::events::new_standard_webhooks_secret;

/// The base URL HubSpot signs (the relay is told it is deployed here; requests go to loopback).
pub const PUBLIC_URL: &str = "https://relay.bench.example.com";
/// The Salesforce organization whose outbound messages the relay accepts.
pub const SALESFORCE_ORGANIZATION: &str = "00D5e000000AbCdEAK";
/// How long `relay local` may take to drain and stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(40);
/// How long starting (moto, buckets, queues) may take.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The settings of a load run: the four sources enabled with fresh secrets, the vendors at the
/// bench's sandbox, quick redelivery. Given to `relay local` as its env file, and to relay-core
/// (`Sources::load`) to sign the requests.
pub fn settings(vendors: &StartInfo) -> Result<HashMap<String, String>, String> {
    let standard = new_standard_webhooks_secret()
        .map_err(|e| format!("reading /dev/urandom for the webhook secret: {e}"))?;
    // A fresh secret for each of the other sources: 32 random characters.
    let random = |what: &str| {
        new_standard_webhooks_secret()
            .map(|s| s.trim_start_matches("whsec_").replace(['+', '/', '='], "x"))
            .map_err(|e| format!("reading /dev/urandom for {what}: {e}"))
    };
    let pairs = [
        ("BRAZE_REST_ENDPOINT", vendors.braze.clone()),
        ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true".to_owned()),
        ("BRAZE_API_KEY", vendors.braze_key.clone()),
        ("USERFLOW_API_KEY", vendors.userflow_key.clone()),
        ("USERFLOW_BASE_URL", vendors.userflow.clone()),
        ("HUBSPOT_API_BASE_URL", vendors.hubspot_url.clone()),
        ("HUBSPOT_ACCESS_TOKEN", vendors.hubspot_token.clone()),
        // Two Braze instances in one process (crm-signup's and the sync-worker's clients):
        // 2 x 500 = the sandbox's 3,000 per 3 s, the README's rate-budget formula.
        ("BRAZE_TRACK_RATE", BRAZE_TRACK_RATE.to_string()),
        // The sandbox's Userflow has no limit; the default (10/s) would measure nothing else.
        ("USERFLOW_RATE", USERFLOW_RATE.to_string()),
        ("USERFLOW_CONCURRENCY", "16".to_owned()),
        ("RELAY_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("RELAY_STANDARD_WEBHOOKS_SECRET", standard),
        ("HUBSPOT_CLIENT_SECRET", random("the HubSpot secret")?),
        (
            "SALESFORCE_ORGANIZATION_ID",
            SALESFORCE_ORGANIZATION.to_owned(),
        ),
        ("SALESFORCE_URL_TOKEN", random("the Salesforce token")?),
        (
            "PIPEDRIVE_WEBHOOK_PASSWORD",
            random("the Pipedrive password")?,
        ),
        // A failed batch comes back in 5 s, and a 10 s fault never sends it to the DLQ.
        ("RELAY_LOCAL_VISIBILITY_TIMEOUT_SECS", "5".to_owned()),
        ("RELAY_LOCAL_MAX_RECEIVE_COUNT", "50".to_owned()),
        ("RELAY_LOCAL_WAIT_SECONDS", "1".to_owned()),
    ];
    Ok(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// `BRAZE_TRACK_RATE` of the load runs, per instance.
pub const BRAZE_TRACK_RATE: u32 = 500;
/// `USERFLOW_RATE` of the load runs, per instance.
pub const USERFLOW_RATE: u32 = 5_000;

/// What `relay local` printed when it was ready (the fields the bench uses).
#[derive(Debug, Clone, Deserialize)]
pub struct LocalInfo {
    /// Base URL of the webhook routes.
    pub webhooks: String,
    /// The moto process it started.
    #[serde(default)]
    pub moto_pid: Option<u32>,
}

/// A running `relay local`.
pub struct RelayLocal {
    child: Child,
    pid: u32,
    /// What it printed.
    pub info: LocalInfo,
    /// Its stderr.
    pub log: PathBuf,
    /// Its folder (settings and log), removed once it stopped cleanly.
    dir: PathBuf,
}

impl RelayLocal {
    /// Starts `relay` (`binary`) as `relay local` with `settings`, in a fresh folder named after
    /// `run` under the system's temporary folder, and waits for its line.
    pub async fn start(
        binary: &Path,
        run: &str,
        settings: &HashMap<String, String>,
    ) -> Result<RelayLocal, String> {
        let dir = std::env::temp_dir().join(format!("relay-bench-{run}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let env_file = dir.join("bench.env");
        let mut lines: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.sort();
        write_private(&env_file, &(lines.join("\n") + "\n"))?;
        let log = dir.join("relay-local.log");
        let log_file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("local")
            .arg("--env-file")
            .arg(&env_file)
            // moto is found from the workspace's .venv.
            .current_dir(relay_tests::workspace_root())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true);
        for name in ["PATH", "HOME", "RELAY_PYTHON"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {} local: {e}", binary.display()))?;
        let pid = child.id().ok_or("relay local exited at once")?;
        let stdout = child
            .stdout
            .take()
            .ok_or("relay local's stdout is not readable")?;
        let mut line = String::new();
        let read =
            tokio::time::timeout(START_TIMEOUT, BufReader::new(stdout).read_line(&mut line)).await;
        let info = match read {
            Ok(Ok(n)) if n > 0 => serde_json::from_str::<LocalInfo>(&line)
                .map_err(|e| format!("relay local printed an unexpected line ({e})")),
            _ => Err(format!("relay local did not start; see {}", log.display())),
        };
        // On an error the child is dropped, and killed by its PID.
        Ok(RelayLocal {
            child,
            pid,
            info: info?,
            log,
            dir,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops it as Ctrl-C would (SIGTERM: drain, stop moto), killing it after a grace period;
    /// its folder is kept (for the log) unless it stopped cleanly.
    pub async fn stop(mut self) -> Result<(), String> {
        let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {
                let _ = std::fs::remove_dir_all(&self.dir);
                Ok(())
            }
            Ok(Ok(status)) => Err(format!(
                "relay local stopped with {status}; see {}",
                self.log.display()
            )),
            _ => {
                let _ = self.child.kill().await;
                Err(format!(
                    "relay local did not stop within {STOP_GRACE:?} and was killed; see {}",
                    self.log.display()
                ))
            }
        }
    }
}

/// Writes `text` to `path` readable by its owner only (it holds keys).
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The release `relay` binary in `bin_dir`. When it is missing it is built first with
/// `cargo build --release --locked -p relay` (`make bench` builds only crm-signup and
/// hello-world); an error says how to build it when it is still missing.
pub fn binary(bin_dir: &Path) -> Result<PathBuf, String> {
    let path = bin_dir.join("relay");
    if !path.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!(
            "relay-bench: {} not found: cargo build --release --locked -p relay",
            path.display()
        );
        let built = std::process::Command::new(cargo)
            .args(["build", "--release", "--locked", "-p", "relay"])
            .current_dir(relay_tests::workspace_root())
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !built.success() {
            return Err(format!("cargo build --release --locked -p relay: {built}"));
        }
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release --locked -p relay`",
            path.display()
        ))
    }
}

/// When the binary was built (its file time), for the report.
pub fn built_at(binary: &Path) -> String {
    std::fs::metadata(binary)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}
