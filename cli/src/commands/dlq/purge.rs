//! `relay dlq purge`: deletes every message of the dead-letter queue and says how many. On a
//! terminal it asks first (type the queue's name); without one it needs `--yes`.

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use super::{Failed, QueueArg, QueueName, dead_letter_queue, exit, forget_attempts, state_store};
use crate::aws;
use crate::output::progress;
use crate::{CliError, Context, Outcome};

/// Arguments of `relay dlq purge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    queue: QueueArg,
    /// Delete without asking.
    #[arg(long)]
    yes: bool,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Purged {
    purged: usize,
    failed: Vec<Failed>,
}

/// Runs `relay dlq purge`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let settings = &context.settings;
    let queue = args.queue.queue;
    settings.required(queue.url_variable())?;
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && !terminal {
        return Err(CliError::usage(
            "relay dlq purge deletes every message and there is no terminal to ask on: pass --yes",
        ));
    }
    let sdk = aws::sdk_config(settings).await;
    let dlq = dead_letter_queue(queue, settings, relay_core::aws::sqs_client(&sdk)).await?;
    let depth = dlq.depth().await.map(|depth| depth.visible).unwrap_or(0);
    if !args.yes && !confirmed(queue, dlq.url(), depth)? {
        return Err(CliError::failed("not confirmed: nothing was deleted"));
    }
    let bar = progress(depth, "purging", context.json);
    let report = dlq
        .purge(|deleted| bar.inc(deleted as u64))
        .await
        .map_err(|error| CliError::failed(error.to_string()))?;
    bar.finish_and_clear();
    forget_attempts(state_store(settings, &sdk).as_ref(), &report.purged).await;

    let purged = report.purged.len();
    let failed = Failed::from_report(report.failed);
    let exit = exit(purged, &failed, report.stopped.is_some());
    let mut text = format!("purged {purged} message(s) from {}", dlq.url());
    for failure in &failed {
        text.push_str(&format!(
            "\nnot deleted {}: {}",
            failure.message_id, failure.reason
        ));
    }
    if let Some(stopped) = &report.stopped {
        text.push_str(&format!("\nstopped early: {stopped}"));
    }
    Ok(Outcome::new(exit, &Purged { purged, failed }, text))
}

/// Asks on the terminal; the answer must be the queue's name.
fn confirmed(queue: QueueName, dlq_url: &str, depth: u64) -> Result<bool, CliError> {
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "This deletes every message (about {depth}) of {dlq_url} for good.\nType the queue name ({}) to confirm: ",
        queue.name()
    )
    .and_then(|()| stderr.flush())
    .map_err(|error| CliError::failed(format!("cannot ask for confirmation: {error}")))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| CliError::failed(format!("cannot read the confirmation: {error}")))?;
    Ok(answer.trim() == queue.name())
}
