//! `relay dlq list`: every message of the dead-letter queue, without consuming it, with what
//! it is (decoded by the relay's own job decoder) and its recorded failure
//! (`failed/attempts/<message id>.json` in `STATE_BUCKET`, written by sync-worker).

use futures::StreamExt;
use relay_core::queue::dead_letters::{DeadLetter, FailedAttempt, JobSummary};
use relay_core::store::{ObjectStore, S3Store};
use serde::Serialize;

use super::{QueueArg, dead_letter_queue};
use crate::aws;
use crate::output::table;
use crate::{CliError, Context, Outcome};

/// Arguments of `relay dlq list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    queue: QueueArg,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Listing {
    queue: String,
    dead_letter_queue: String,
    messages: Vec<Listed>,
}

/// One message.
#[derive(Debug, Serialize)]
struct Listed {
    message_id: String,
    /// `contacts`, `export_file`, or `unreadable`.
    kind: String,
    request_id: Option<String>,
    /// `<export job> file <index>` for an `export_file` job.
    export_file: Option<String>,
    contacts: Option<usize>,
    /// SQS's `ApproximateReceiveCount` (this listing's receive included).
    receive_count: Option<u64>,
    sent_at: Option<String>,
    /// The recorded failure of the last attempt; for an unreadable message without one, why
    /// it is unreadable.
    failure: Option<String>,
}

/// Runs `relay dlq list`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let settings = &context.settings;
    let queue = args.queue.queue;
    settings.required(queue.url_variable())?;
    let bucket = settings.required("STATE_BUCKET")?.to_owned();
    let sdk = aws::sdk_config(settings).await;
    let dlq = dead_letter_queue(queue, settings, relay_core::aws::sqs_client(&sdk)).await?;
    let store = S3Store::new(relay_core::aws::s3_client(&sdk), bucket);
    let letters = dlq
        .list()
        .await
        .map_err(|error| CliError::failed(error.to_string()))?;
    let messages: Vec<Listed> = futures::stream::iter(letters)
        .map(|letter| listed(letter, &store))
        .buffered(8)
        .collect()
        .await;
    let text = text(queue.name(), dlq.url(), &messages);
    let listing = Listing {
        queue: dlq.source_url().to_owned(),
        dead_letter_queue: dlq.url().to_owned(),
        messages,
    };
    Ok(Outcome::done(&listing, text))
}

/// A dead letter with its summary and recorded failure.
async fn listed(letter: DeadLetter, store: &S3Store) -> Listed {
    let summary = JobSummary::of(&letter.body);
    let recorded = match store.get(&FailedAttempt::key(&letter.message_id)).await {
        Ok(Some(body)) => match serde_json::from_slice::<FailedAttempt>(&body) {
            Ok(attempt) => Some(attempt.summary()),
            Err(error) => Some(format!("failure record unreadable: {error}")),
        },
        Ok(None) => None,
        Err(error) => Some(format!("failure record not read: {error}")),
    };
    Listed {
        message_id: letter.message_id,
        kind: summary.kind,
        request_id: summary.request_id,
        export_file: summary.export_file,
        contacts: summary.contacts,
        receive_count: letter.receive_count,
        sent_at: letter
            .sent_at
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        failure: recorded.or(summary.problem),
    }
}

fn text(queue: &str, dlq_url: &str, messages: &[Listed]) -> String {
    if messages.is_empty() {
        return format!("no messages in the dead-letter queue of {queue} ({dlq_url})");
    }
    let dash = || "-".to_owned();
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|m| {
            vec![
                m.message_id.clone(),
                match m.contacts {
                    Some(n) => format!("{} ({n})", m.kind),
                    None => m.kind.clone(),
                },
                m.request_id
                    .clone()
                    .or_else(|| m.export_file.clone())
                    .unwrap_or_else(dash),
                m.receive_count.map_or_else(dash, |n| n.to_string()),
                m.sent_at.clone().unwrap_or_else(dash),
                m.failure.clone().unwrap_or_else(dash),
            ]
        })
        .collect();
    format!(
        "{} message(s) in the dead-letter queue of {queue} ({dlq_url})\n{}",
        messages.len(),
        table(
            &[
                "message id",
                "kind",
                "request or export file",
                "receives",
                "sent",
                "failure"
            ],
            &rows
        )
    )
}
