//! A cell's stack, in parts that can fail on their own: moto (its own process, so it can be
//! stopped and continued), the sandbox (in this process, so its state outlives `relay
//! local`), a pass-through for Braze's export callback, and `relay local` as a child process
//! pointed at all three (so it can be killed and started again on the same state).

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use relay_core::aws::moto::{MOTO_ACCESS_KEY_ID, MOTO_REGION, MOTO_SECRET_ACCESS_KEY, Moto};
use sandbox::{AdminClient, Sandbox, SandboxConfig};

use super::callback_proxy::CallbackProxy;
use crate::demo::signals::StopSignals;
use crate::demo::stack::{LocalInfo, LocalStack, STOP_GRACE};
use crate::{CliError, Settings};

/// How a cell's `relay local` polls: fast redelivery, so faults play out in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// The queues' visibility timeout, in seconds.
    pub visibility_secs: u64,
    /// Receives before SQS moves a message to its dead-letter queue.
    pub max_receive_count: u32,
    /// How long the poller gathers a batch after its first message, in milliseconds.
    pub batch_window_ms: u64,
}

/// The running parts of one cell.
pub struct ChaosStack {
    moto: Moto,
    sandbox: Option<Sandbox>,
    proxy: CallbackProxy,
    relay: Option<LocalStack>,
    relay_exe: PathBuf,
    dir: PathBuf,
    settings: String,
    caller: Settings,
    starts: usize,
    /// What the latest `relay local` printed.
    pub info: LocalInfo,
    /// The SDK configuration on moto, for the runner's own reads.
    pub sdk: SdkConfig,
    /// The settings `relay` commands read to reach this stack (`--env-out`).
    pub env_file: PathBuf,
}

impl ChaosStack {
    /// Starts moto, the sandbox, the callback pass-through and `relay local`.
    pub async fn start(
        relay_exe: &Path,
        dir: &Path,
        caller: &Settings,
        polling: Polling,
        signals: &mut StopSignals,
    ) -> Result<ChaosStack, CliError> {
        let python = caller
            .get(relay_core::aws::moto::PYTHON_VARIABLE)
            .map(PathBuf::from);
        let moto = tokio::task::spawn_blocking(move || Moto::start_with_python(python))
            .await
            .map_err(|error| CliError::failed(format!("cannot start moto: {error}")))?
            .map_err(|error| CliError::failed(format!("cannot start moto: {error}")))?;
        let sandbox = sandbox::start(SandboxConfig::default())
            .await
            .map_err(|error| CliError::failed(format!("cannot start the sandbox: {error}")))?;
        let proxy = CallbackProxy::start().await?;
        let settings = stack_settings(&moto, &sandbox, &proxy, polling);
        let relay = match launch(relay_exe, dir, 1, &settings, caller, signals).await {
            Ok(relay) => relay,
            Err(error) => {
                proxy.stop().await;
                sandbox.shutdown().await;
                moto.stop();
                return Err(error);
            }
        };
        let mut stack = ChaosStack {
            moto,
            sandbox: Some(sandbox),
            proxy,
            info: relay.info.clone(),
            env_file: relay.env_file.clone(),
            relay: Some(relay),
            relay_exe: relay_exe.to_path_buf(),
            dir: dir.to_path_buf(),
            settings,
            caller: caller.clone(),
            starts: 1,
            sdk: SdkConfig::builder().build(),
        };
        if let Err(error) = stack.connect().await {
            stack.stop().await;
            return Err(error);
        }
        Ok(stack)
    }

    /// Points the runner's own AWS clients, the sandbox's exports and the pass-through at
    /// the started stack.
    async fn connect(&mut self) -> Result<(), CliError> {
        self.sdk = crate::aws::sdk_config(&Settings::load(Some(&self.env_file), &[])?).await;
        self.proxy.forward_to(&self.info.webhooks);
        self.proxy.set_store(
            relay_core::aws::s3_client(&self.sdk),
            self.info.export_bucket.clone(),
        );
        let storage = sandbox::ExportStorage {
            bucket: self.info.export_bucket.clone(),
            endpoint: Some(self.moto.endpoint().to_owned()),
            region: MOTO_REGION.to_owned(),
        };
        self.admin()
            .set_export_storage(&storage)
            .await
            .map(|_| ())
            .map_err(|error| {
                CliError::failed(format!(
                    "cannot point the sandbox's exports at moto: {error}"
                ))
            })
    }

    /// Starts `relay local` again on the same moto, sandbox and settings (after
    /// [`ChaosStack::kill_relay`]).
    pub async fn restart_relay(&mut self, signals: &mut StopSignals) -> Result<(), CliError> {
        self.starts += 1;
        let relay = launch(
            &self.relay_exe,
            &self.dir,
            self.starts,
            &self.settings,
            &self.caller,
            signals,
        )
        .await?;
        self.info = relay.info.clone();
        self.env_file = relay.env_file.clone();
        self.proxy.forward_to(&self.info.webhooks);
        self.relay = Some(relay);
        Ok(())
    }

    /// Kills `relay local` (SIGKILL): its batches in flight are abandoned mid-way.
    pub async fn kill_relay(&mut self) -> Result<(), CliError> {
        match self.relay.take() {
            Some(relay) => relay.kill().await,
            None => Ok(()),
        }
    }

    /// Stops (`true`, SIGSTOP) or continues (`false`, SIGCONT) moto: S3 and SQS stop
    /// answering, with every connection left open, then carry on with their state.
    pub fn stop_moto(&self, stopped: bool) -> Result<(), CliError> {
        let signal = if stopped {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        };
        kill(Pid::from_raw(self.moto.pid() as i32), signal)
            .map_err(|error| CliError::failed(format!("cannot send {signal} to moto: {error}")))
    }

    /// The sandbox's admin API.
    pub fn admin(&self) -> AdminClient {
        self.sandbox
            .as_ref()
            .map_or_else(|| AdminClient::new(""), Sandbox::admin)
    }

    /// The callback pass-through (it deletes an export file when asked to).
    pub fn proxy(&self) -> &CallbackProxy {
        &self.proxy
    }

    /// Stops everything it started: `relay local` by SIGTERM, the sandbox, moto by PID.
    pub async fn stop(mut self) {
        // A stopped moto never answers: continue it first, or relay local cannot drain.
        let _ = self.stop_moto(false);
        if let Some(relay) = self.relay.take() {
            let _ = relay.stop(STOP_GRACE).await;
        }
        self.proxy.stop().await;
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.shutdown().await;
        }
        self.moto.stop();
    }
}

/// `relay local`'s settings: moto and the sandbox given (so it starts neither), fresh webhook
/// and callback secrets, the callback through the pass-through, fast redelivery.
fn stack_settings(
    moto: &Moto,
    sandbox: &Sandbox,
    proxy: &CallbackProxy,
    polling: Polling,
) -> String {
    let info = sandbox.info();
    let secret = || uuid::Uuid::new_v4().simple().to_string();
    let standard_key = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ]
    .concat();
    let standard_key = BASE64.encode(standard_key);
    [
        format!("AWS_ENDPOINT_URL={}", moto.endpoint()),
        format!("AWS_REGION={MOTO_REGION}"),
        format!("AWS_ACCESS_KEY_ID={MOTO_ACCESS_KEY_ID}"),
        format!("AWS_SECRET_ACCESS_KEY={MOTO_SECRET_ACCESS_KEY}"),
        format!("BRAZE_REST_ENDPOINT={}", info.braze),
        "BRAZE_ALLOW_CUSTOM_ENDPOINT=true".to_owned(),
        format!("BRAZE_API_KEY={}", info.braze_key),
        format!("USERFLOW_API_KEY={}", info.userflow_key),
        format!("USERFLOW_BASE_URL={}", info.userflow),
        format!("RELAY_STANDARD_WEBHOOKS_SECRET=whsec_{standard_key}"),
        format!("EXPORT_CALLBACK_URL={}/braze/export-callback", proxy.url()),
        format!("EXPORT_CALLBACK_SECRET={}{}", secret(), secret()),
        format!(
            "RELAY_LOCAL_VISIBILITY_TIMEOUT_SECS={}",
            polling.visibility_secs
        ),
        format!(
            "RELAY_LOCAL_MAX_RECEIVE_COUNT={}",
            polling.max_receive_count
        ),
        format!("RELAY_LOCAL_BATCH_WINDOW_MS={}", polling.batch_window_ms),
        "RELAY_LOCAL_WAIT_SECONDS=1".to_owned(),
        "RELAY_LOCAL_DRAIN_SECS=5".to_owned(),
        // A vendor call retries for at most 2 s: a fault parks contacts quickly.
        "UPSTREAM_RETRY_DEADLINE_MS=2000".to_owned(),
        // Userflow's pace is not what a cell measures (the sandbox takes far more than a
        // workspace's guessed 10/s).
        "USERFLOW_RATE=1000".to_owned(),
        "USERFLOW_CONCURRENCY=16".to_owned(),
    ]
    .join("\n")
        + "\n"
}

/// Starts the `number`th `relay local` of a cell, its files named after the number.
/// Its `env_file` is the stack's settings followed by what `relay local` wrote with
/// `--env-out`: everything a `relay` command needs (the callback's URL and secret are the
/// runner's settings, which `--env-out` does not repeat).
async fn launch(
    relay_exe: &Path,
    dir: &Path,
    number: usize,
    settings: &str,
    caller: &Settings,
    signals: &mut StopSignals,
) -> Result<LocalStack, CliError> {
    let name = format!("relay-local-{number}");
    let mut relay =
        LocalStack::start_named(relay_exe, dir, &name, settings, caller, signals).await?;
    let commands = dir.join(format!("{name}-commands.env"));
    let written = std::fs::read_to_string(&relay.env_file)
        .and_then(|out| std::fs::write(&commands, format!("{settings}{out}")));
    if let Err(error) = written {
        let _ = relay.kill().await;
        return Err(CliError::failed(format!(
            "cannot write {}: {error}",
            commands.display()
        )));
    }
    relay.env_file = commands;
    Ok(relay)
}
