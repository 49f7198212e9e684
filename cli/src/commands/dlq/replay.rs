//! `relay dlq replay`: moves dead letters back to the source queue. Each message is sent
//! first and deleted from the DLQ only after its send succeeded (relay-core's
//! [`DeadLetterQueue::replay`](relay_core::queue::dead_letters::DeadLetterQueue::replay)).
//! Exit 0 when every message was moved, 3 when some were, 1 when none could be.

use serde::Serialize;

use super::{QueueArg, dead_letter_queue, forget_attempts, state_store};
use crate::aws;
use crate::output::{Exit, progress};
use crate::{CliError, Context, Outcome};

/// Arguments of `relay dlq replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    queue: QueueArg,
    /// Only these messages (their ids as `relay dlq list` shows them); repeatable.
    #[arg(long = "message", value_name = "ID", num_args = 1..)]
    messages: Vec<String>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Replayed {
    moved: usize,
    failed: Vec<Failed>,
}

/// A message that was not moved.
#[derive(Debug, Serialize)]
struct Failed {
    message_id: String,
    reason: String,
}

/// Runs `relay dlq replay`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let settings = &context.settings;
    let queue = args.queue.queue;
    settings.required(queue.url_variable())?;
    let sdk = aws::sdk_config(settings).await;
    let dlq = dead_letter_queue(queue, settings, relay_core::aws::sqs_client(&sdk)).await?;
    let only = (!args.messages.is_empty()).then_some(args.messages.as_slice());
    let length = match only {
        Some(ids) => ids.len() as u64,
        None => dlq.depth().await.map(|depth| depth.visible).unwrap_or(0),
    };
    let bar = progress(length, "replaying", context.json);
    let report = dlq
        .replay(only, |moved| bar.inc(moved as u64))
        .await
        .map_err(|error| CliError::failed(error.to_string()))?;
    bar.finish_and_clear();
    forget_attempts(state_store(settings, &sdk).as_ref(), &report.moved).await;

    let mut failed: Vec<Failed> = report
        .failed
        .into_iter()
        .map(|(message_id, reason)| Failed { message_id, reason })
        .collect();
    failed.extend(report.not_found.into_iter().map(|message_id| Failed {
        message_id,
        reason: "not in the dead-letter queue".into(),
    }));
    let moved = report.moved.len();
    let exit = match (moved, failed.is_empty() && report.stopped.is_none()) {
        (_, true) => Exit::Done,
        (0, false) => Exit::Failed,
        (_, false) => Exit::Partial,
    };
    let mut text = if moved == 0 && failed.is_empty() {
        format!("no messages to replay in {}", dlq.url())
    } else {
        format!(
            "moved {moved} message(s) from {} to {}",
            dlq.url(),
            dlq.source_url()
        )
    };
    for failure in &failed {
        text.push_str(&format!(
            "\nnot moved {}: {}",
            failure.message_id, failure.reason
        ));
    }
    if let Some(stopped) = &report.stopped {
        text.push_str(&format!("\nstopped early: {stopped}"));
    }
    Ok(Outcome::new(exit, &Replayed { moved, failed }, text))
}
