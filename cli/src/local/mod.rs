//! `relay local`: the whole stack in one process, on loopback: the API Gateway routes, SQS
//! pollers acting as Lambda's event source mapping, S3/SQS (moto unless `AWS_ENDPOINT_URL`),
//! and Braze + Userflow (the sandbox unless vendor settings are given).
//!
//! - [`config`]: `relay local`'s own settings and their defaults.
//! - [`aws`]: moto or `AWS_ENDPOINT_URL`; the bucket and queues.
//! - [`vendors`]: the real APIs or the sandbox.
//! - [`functions`]: the functions' dependencies, built as their `main.rs` builds them.
//! - [`gateway`]: `POST /webhooks/{source}` as API Gateway invokes crm-signup.
//! - [`poller`]: the sync and erasure queues as Lambda's event source mappings invoke
//!   sync-worker and deletion-worker.
//! - [`invocation`]: the Lambda context of each invocation.
//! - [`env_out`]: the `--env-out` file.
//!
//! [`run`] starts everything (or, when a step fails, stops what it had started), prints one
//! JSON line ([`Ready`]) on stdout, serves until Ctrl-C or SIGTERM, then stops in order:
//! pollers (batches in flight finish, bounded), gateway, sandbox, moto (by PID).

pub mod aws;
pub mod config;
pub mod env_out;
mod error;
pub mod functions;
pub mod gateway;
pub mod invocation;
pub mod poller;
pub mod vendors;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use relay_core::aws::sqs_client;
use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};

pub use error::LocalError;

use crate::Settings;
use aws::Aws;
use config::{GATEWAY_TIMEOUT, LocalConfig};
use gateway::{Gateway, HttpFunction, Routes};
use invocation::Function;
use poller::{Poller, QueueSource};
use relay_core::queue::setup::QueuePair;
use vendors::{SandboxUrls, Vendors};

/// What `relay local` is asked for on its command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The webhook port on 127.0.0.1 (0: a free port).
    pub port: u16,
    /// Where to write the dotenv file for other `relay` commands.
    pub env_out: Option<PathBuf>,
}

/// The startup line: where everything is (no secrets).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Ready {
    /// The gateway: `POST <webhooks>/webhooks/{source}`.
    pub webhooks: String,
    /// S3 and SQS.
    pub aws_endpoint: String,
    /// moto's process id, when the stack started moto.
    pub moto_pid: Option<u32>,
    /// The state bucket.
    pub state_bucket: String,
    /// The export bucket (the sandbox writes its segment exports there).
    pub export_bucket: String,
    /// Braze's export callback: `POST <export_callback>?job=..&exp=..&sig=..`.
    pub export_callback: String,
    /// The sync queue.
    pub sync_queue_url: String,
    /// Its dead-letter queue.
    pub sync_dlq_url: String,
    /// The erasure queue (`relay erase` sends to it).
    pub erasure_queue_url: String,
    /// Its dead-letter queue.
    pub erasure_dlq_url: String,
    /// The compliance bucket (erasure archives, when `ERASURE_ARCHIVE` is on).
    pub compliance_bucket: String,
    /// The sandbox's URLs, when the sandbox runs.
    pub sandbox: Option<SandboxUrls>,
}

/// How the stack ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stopped {
    /// Ctrl-C.
    Sigint,
    /// SIGTERM.
    Sigterm,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stopped::Sigint => "SIGINT",
            Stopped::Sigterm => "SIGTERM",
        })
    }
}

/// The running stack.
pub struct Stack {
    ready: Ready,
    pollers: Vec<Poller>,
    gateway: Gateway,
    vendors: Vendors,
    aws: Aws,
    drain: Duration,
}

/// Runs the stack until Ctrl-C or SIGTERM; a signal during startup stops what was started
/// and is an error ([`LocalError::StoppedStarting`], exit 1).
pub async fn run(options: Options, settings: &Settings) -> Result<Stopped, LocalError> {
    let mut interrupt = signal(SignalKind::interrupt()).map_err(LocalError::Signals)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(LocalError::Signals)?;
    let signalled = async {
        tokio::select! {
            _ = interrupt.recv() => Stopped::Sigint,
            _ = terminate.recv() => Stopped::Sigterm,
        }
    };
    tokio::pin!(signalled);
    // Dropping an unfinished start drops what it started: moto is killed by PID.
    let stack = tokio::select! {
        stack = Stack::start(&options, settings) => stack?,
        stopped = &mut signalled => return Err(LocalError::StoppedStarting(stopped)),
    };
    let line = serde_json::to_string(stack.ready()).unwrap_or_default();
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
    let stopped = signalled.await;
    tracing::info!(target: "relay_local", signal = ?stopped, "stopping");
    stack.stop().await;
    Ok(stopped)
}

/// The export callback's public URL (`relay export start` signs it).
const EXPORT_CALLBACK_URL: &str = "EXPORT_CALLBACK_URL";

/// What the stack adds for exports unless the operator set it: the callback's URL on the
/// gateway, and a secret for this run (random, written by `--env-out` so `relay export start`
/// signs with the same one).
fn export_variables(settings: &Settings, gateway: &str) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    if settings.get(EXPORT_CALLBACK_URL).is_none() {
        vars.push((
            EXPORT_CALLBACK_URL.to_owned(),
            format!("{gateway}/braze/export-callback"),
        ));
    }
    if settings.get("EXPORT_CALLBACK_SECRET").is_none()
        && settings.get("EXPORT_CALLBACK_SECRET_SECRET").is_none()
    {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        vars.push(("EXPORT_CALLBACK_SECRET".to_owned(), secret));
    }
    vars
}

impl Stack {
    /// Starts everything; on an error, stops what was started before returning it.
    pub async fn start(options: &Options, settings: &Settings) -> Result<Stack, LocalError> {
        // Every check that needs no I/O comes first: a bad setting starts nothing.
        let config = LocalConfig::from_env(&settings.env())?;
        let choice = vendors::choose(settings)?;
        let aws = Aws::start(settings).await?;
        let vendors = vendors::start(choice).await?;
        match Stack::start_on(options, settings, &config, &aws, &vendors).await {
            Ok((ready, gateway, pollers)) => Ok(Stack {
                ready,
                pollers,
                gateway,
                vendors,
                aws,
                drain: config.poll.drain,
            }),
            Err(error) => {
                vendors.stop().await;
                drop(aws);
                Err(error)
            }
        }
    }

    /// The resources, the functions, the gateway and the pollers on `aws` and `vendors`.
    async fn start_on(
        options: &Options,
        settings: &Settings,
        config: &LocalConfig,
        aws: &Aws,
        vendors: &Vendors,
    ) -> Result<(Ready, Gateway, Vec<Poller>), LocalError> {
        let resources = aws.create_resources(config).await?;
        let bound = Gateway::bind(options.port).await?;
        let mut added: Vec<(String, String)> = aws.variables();
        added.push((config::STATE_BUCKET.into(), resources.state_bucket.clone()));
        added.push((
            config::EXPORT_BUCKET.into(),
            resources.export_bucket.clone(),
        ));
        added.push(("SYNC_QUEUE_URL".into(), resources.sync.queue_url.clone()));
        added.push(("SYNC_DLQ_URL".into(), resources.sync.dlq_url.clone()));
        added.push((
            "ERASURE_QUEUE_URL".into(),
            resources.erasure.queue_url.clone(),
        ));
        added.push(("ERASURE_DLQ_URL".into(), resources.erasure.dlq_url.clone()));
        added.push((
            config::COMPLIANCE_BUCKET.into(),
            resources.compliance_bucket.clone(),
        ));
        added.extend(vendors.variables(settings));
        if settings.get("RELAY_PUBLIC_URL").is_none() {
            added.push(("RELAY_PUBLIC_URL".into(), bound.url().to_owned()));
        }
        added.extend(export_variables(settings, bound.url()));
        vendors
            .export_into(&resources.export_bucket, aws.endpoint(), aws.region())
            .await?;
        let functions_settings = added
            .iter()
            .fold(settings.clone(), |merged, (name, value)| {
                merged.with(name, value.clone())
            });
        let signup = Arc::new(functions::crm_signup(&functions_settings, &aws.sdk).await?);
        let worker = Arc::new(functions::sync_worker(&functions_settings, &aws.sdk).await?);
        let callback = Arc::new(functions::export_callback(&functions_settings, &aws.sdk).await?);
        let eraser = Arc::new(functions::deletion_worker(&functions_settings, &aws.sdk).await?);
        if let Some(path) = &options.env_out {
            let mut vars = added.clone();
            for (name, value) in env_out::source_variables(&functions_settings) {
                if !vars.iter().any(|(n, _)| *n == name) {
                    vars.push((name, value));
                }
            }
            env_out::write(path, &vars).map_err(|source| LocalError::EnvOut {
                path: path.display().to_string(),
                source,
            })?;
        }
        let gateway = bound.serve(Routes {
            webhooks: HttpFunction {
                function: Function {
                    name: "crm-signup",
                    region: aws.region().to_owned(),
                    timeout: GATEWAY_TIMEOUT,
                },
                handler: Arc::new(move |request| {
                    let deps = Arc::clone(&signup);
                    async move { crm_signup::handler(&deps, request).await }.boxed()
                }),
                bad_request: Arc::new(|error| crm_signup::Problem::from(error).into_response()),
            },
            export_callback: Some(HttpFunction {
                function: Function {
                    name: "export-callback",
                    region: aws.region().to_owned(),
                    timeout: GATEWAY_TIMEOUT,
                },
                handler: Arc::new(move |request| {
                    let deps = Arc::clone(&callback);
                    async move { export_callback::handler(&deps, request).await }.boxed()
                }),
                bad_request: Arc::new(|error| {
                    relay_lambda::problem::Problem::from(error).into_response()
                }),
            }),
        });
        let poller = |queue: &QueuePair, name: &'static str, handler| {
            Poller::start(
                sqs_client(&aws.sdk),
                QueueSource {
                    queue_url: queue.queue_url.clone(),
                    queue_arn: queue.queue_arn.clone(),
                    region: aws.region().to_owned(),
                },
                Function {
                    name,
                    region: aws.region().to_owned(),
                    timeout: config.poll.function_timeout,
                },
                config.poll.clone(),
                handler,
            )
        };
        let sync_poller = poller(
            &resources.sync,
            "sync-worker",
            Arc::new(move |event| {
                let deps = Arc::clone(&worker);
                async move { sync_worker::handler(&deps, event).await }.boxed()
            }),
        );
        let erasure_poller = poller(
            &resources.erasure,
            "deletion-worker",
            Arc::new(move |event| {
                let deps = Arc::clone(&eraser);
                async move { deletion_worker::handler(&deps, event).await }.boxed()
            }),
        );
        let ready = Ready {
            webhooks: gateway.url().to_owned(),
            aws_endpoint: aws.endpoint().to_owned(),
            moto_pid: aws.moto_pid(),
            state_bucket: resources.state_bucket,
            export_bucket: resources.export_bucket,
            export_callback: functions_settings
                .get(EXPORT_CALLBACK_URL)
                .unwrap_or_default()
                .to_owned(),
            sync_queue_url: resources.sync.queue_url,
            sync_dlq_url: resources.sync.dlq_url,
            erasure_queue_url: resources.erasure.queue_url,
            erasure_dlq_url: resources.erasure.dlq_url,
            compliance_bucket: resources.compliance_bucket,
            sandbox: vendors.sandbox_urls(),
        };
        Ok((ready, gateway, vec![sync_poller, erasure_poller]))
    }

    /// Where everything is.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// Stops polling (batches in flight finish, bounded), the gateway, the sandbox, moto.
    pub async fn stop(self) {
        for poller in self.pollers {
            poller.stop().await;
        }
        self.gateway.stop(self.drain).await;
        self.vendors.stop().await;
        drop(self.aws);
    }
}
