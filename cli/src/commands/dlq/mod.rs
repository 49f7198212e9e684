//! `relay dlq list|replay|purge --queue sync|erasure`: the dead-letter queue of one of the
//! relay's queues, over relay-core's [`DeadLetterQueue`].
//!
//! `--queue sync` is the queue at `SYNC_QUEUE_URL`; its dead-letter queue is `SYNC_DLQ_URL`
//! when set, otherwise the one its `RedrivePolicy` names. Neither: a configuration error
//! naming `SYNC_DLQ_URL` (exit 2). `--queue erasure` likewise with `ERASURE_QUEUE_URL` and
//! `ERASURE_DLQ_URL`.
//!
//! - `list`: every message, without consuming it, with its recorded failure;
//! - `replay`: messages back to the source queue, each deleted from the DLQ only after its
//!   send succeeded;
//! - `purge`: every message deleted, after a confirmation;
//! - `aws`: the SDK configuration from the settings (shared with `relay check`).

mod list;
mod purge;
mod replay;

use futures::StreamExt;
use relay_core::env::ConfigError;
use relay_core::queue::dead_letters::{DeadLetterError, DeadLetterQueue, FailedAttempt};
use relay_core::store::{ObjectStore, S3Store};
use serde::Serialize;

use crate::output::Exit;
use crate::{CliError, Context, Outcome, Settings};

/// A message a replay or purge could not handle, with why (in the `--json` document).
#[derive(Debug, Serialize)]
struct Failed {
    message_id: String,
    reason: String,
}

impl Failed {
    /// The failures of a relay-core report (`(message id, why)` pairs).
    fn from_report(failed: Vec<(String, String)>) -> Vec<Failed> {
        failed
            .into_iter()
            .map(|(message_id, reason)| Failed { message_id, reason })
            .collect()
    }
}

/// The exit of a replay or purge that handled `done` messages: done when nothing failed and
/// the run was not `stopped` early, partly done when some were handled, failed otherwise.
fn exit(done: usize, failed: &[Failed], stopped: bool) -> Exit {
    match (done, failed.is_empty() && !stopped) {
        (_, true) => Exit::Done,
        (0, false) => Exit::Failed,
        (_, false) => Exit::Partial,
    }
}

/// The subcommands of `relay dlq`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every message of the dead-letter queue (nothing is consumed).
    List(list::Args),
    /// Move messages back to the source queue (deleted from the DLQ only once sent).
    Replay(replay::Args),
    /// Delete every message of the dead-letter queue (asks first unless --yes).
    Purge(purge::Args),
}

/// The relay's queues that have a dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueueName {
    /// The sync queue (`SYNC_QUEUE_URL`; its DLQ from its RedrivePolicy or `SYNC_DLQ_URL`).
    Sync,
    /// The erasure queue (`ERASURE_QUEUE_URL`; its DLQ from its RedrivePolicy or
    /// `ERASURE_DLQ_URL`).
    Erasure,
}

impl QueueName {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            QueueName::Sync => "sync",
            QueueName::Erasure => "erasure",
        }
    }

    /// The setting holding the source queue's URL (the functions' own name).
    pub fn url_variable(self) -> &'static str {
        match self {
            QueueName::Sync => "SYNC_QUEUE_URL",
            QueueName::Erasure => "ERASURE_QUEUE_URL",
        }
    }

    /// The setting that names the dead-letter queue when the source's `RedrivePolicy` is not
    /// to be used.
    pub fn dlq_variable(self) -> &'static str {
        match self {
            QueueName::Sync => "SYNC_DLQ_URL",
            QueueName::Erasure => "ERASURE_DLQ_URL",
        }
    }
}

/// `--queue`, shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArg {
    /// Which queue's dead-letter queue.
    #[arg(long, value_enum)]
    pub queue: QueueName,
}

/// Runs one `relay dlq` subcommand.
pub async fn run(command: Command, context: &Context) -> Result<Outcome, CliError> {
    match command {
        Command::List(args) => list::run(args, context).await,
        Command::Replay(args) => replay::run(args, context).await,
        Command::Purge(args) => purge::run(args, context).await,
    }
}

/// The dead-letter queue of `queue`: from its setting, or the source's `RedrivePolicy`.
async fn dead_letter_queue(
    queue: QueueName,
    settings: &Settings,
    sqs: aws_sdk_sqs::Client,
) -> Result<DeadLetterQueue, CliError> {
    let source_url = settings.required(queue.url_variable())?.to_owned();
    if let Some(url) = settings.get(queue.dlq_variable()) {
        return Ok(DeadLetterQueue::at(sqs, source_url, url));
    }
    DeadLetterQueue::of_source(sqs, source_url)
        .await
        .map_err(|error| match error {
            DeadLetterError::NoRedrivePolicy { .. } | DeadLetterError::BadRedrivePolicy { .. } => {
                CliError::Config(ConfigError::new(
                    queue.dlq_variable(),
                    format!(
                        "is not set, and the dead-letter queue cannot be found from {}: {error}",
                        queue.url_variable()
                    ),
                ))
            }
            other => CliError::failed(format!(
                "finding the dead-letter queue of {}: {other}",
                queue.url_variable()
            )),
        })
}

/// The state bucket (`STATE_BUCKET`), where sync-worker records failed attempts; `None` when
/// not set.
fn state_store(settings: &Settings, sdk: &aws_config::SdkConfig) -> Option<S3Store> {
    settings
        .get("STATE_BUCKET")
        .map(|bucket| S3Store::new(relay_core::aws::s3_client(sdk), bucket))
}

/// Deletes the failed-attempt records of messages that left the dead-letter queue (best
/// effort: a record left behind only costs storage).
async fn forget_attempts(store: Option<&S3Store>, message_ids: &[String]) {
    let Some(store) = store else { return };
    futures::stream::iter(message_ids)
        .for_each_concurrent(8, |id| async move {
            if let Err(error) = store.delete(&FailedAttempt::key(id)).await {
                tracing::warn!(%error, "failed-attempt record not deleted");
            }
        })
        .await;
}
