//! `relay dlq replay`: moves dead letters back to the source queue. Each message is sent
//! first and deleted from the DLQ only after its send succeeded (relay-core's
//! [`DeadLetterQueue::replay`](relay_core::queue::dead_letters::DeadLetterQueue::replay)).
//! Exit 0 when every message was moved, 3 when some were, 1 when none could be.

use serde::Serialize;

use super::{Failed, QueueArg, dead_letter_queue, exit, forget_attempts, state_store};
use crate::aws;
use crate::output::progress;
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
    /// Messages that reached the DLQ during the run (left there for a later run).
    arrived: Vec<String>,
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

    let mut failed = Failed::from_report(report.failed);
    failed.extend(report.not_found.into_iter().map(|message_id| Failed {
        message_id,
        reason: "not in the dead-letter queue".into(),
    }));
    let moved = report.moved.len();
    let exit = exit(moved, &failed, report.stopped.is_some());
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
    if !report.arrived.is_empty() {
        text.push_str(&format!(
            "\nleft {} message(s) that reached the DLQ during this run (replayed ones that failed again, or new failures): replay again later",
            report.arrived.len()
        ));
    }
    if let Some(stopped) = &report.stopped {
        text.push_str(&format!("\nstopped early: {stopped}"));
    }
    let document = Replayed {
        moved,
        failed,
        arrived: report.arrived,
    };
    Ok(Outcome::new(exit, &document, text))
}
