//! `relay erase status ID`: the receipt, or where the request stands, from relay-core's
//! [`erasure_status`].
//!
//! Exit codes: done or in progress 0; nothing recorded 1 (still queued, in the dead-letter
//! queue, or unknown).

use chrono::SecondsFormat;
use relay_core::erasure::Receipt;
use relay_core::erasure::progress::ErasureProgress;
use relay_core::erasure::status::{ErasureStatus, erasure_status};

use super::{request_id, state_store};
use crate::output::Exit;
use crate::{CliError, Context, Outcome};

/// Arguments of `relay erase status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request id `relay erase` printed.
    id: String,
}

/// Runs `relay erase status`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let id = request_id(&args.id)?;
    let store = state_store(&context.settings).await?;
    let status = erasure_status(&store, &id)
        .await
        .map_err(|error| CliError::failed(format!("state bucket: {error}")))?;
    let (exit, text) = match &status {
        ErasureStatus::Done { receipt } => (Exit::Done, receipt_text(receipt)),
        ErasureStatus::InProgress { progress } => (Exit::Done, progress_text(progress)),
        ErasureStatus::NotStarted => (
            Exit::Failed,
            format!(
                "request {id}: nothing recorded yet: still queued, in the dead-letter queue \
                 (relay dlq list --queue erasure), or never sent"
            ),
        ),
    };
    Ok(Outcome::new(exit, &status, text))
}

/// The receipt, as `relay erase status` and `verify` print it.
pub fn receipt_text(receipt: &Receipt) -> String {
    let time = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let counts = &receipt.counts;
    let mut text = format!(
        "request {}: done at {} after {} attempt(s)\n\
         subject: {}\n\
         requested at {} by {:?}\n\
         Braze: {} profile(s) deleted; Userflow: {} user(s) deleted, {} already gone\n",
        receipt.request_id,
        time(&receipt.completed_at),
        receipt.attempts,
        receipt.subject,
        time(&receipt.requested_at),
        receipt.origin,
        counts.braze_profiles,
        counts.userflow_deleted,
        counts.userflow_already_gone,
    );
    for target in &receipt.braze {
        let id = target
            .profile
            .braze_id
            .as_deref()
            .unwrap_or("(no Braze id)");
        let external = target
            .profile
            .external_id
            .as_deref()
            .map(|e| format!(" (external id {e})"))
            .unwrap_or_default();
        text.push_str(&format!("  braze {id}{external}\n"));
    }
    for target in &receipt.userflow {
        let result = match target.result {
            Some(relay_core::erasure::progress::UserflowResult::Deleted) => "deleted",
            Some(relay_core::erasure::progress::UserflowResult::AlreadyGone) => "already gone",
            None => "pending",
        };
        text.push_str(&format!("  userflow {} {result}\n", target.user_id));
    }
    if let Some(archive) = &receipt.archive {
        text.push_str(&format!(
            "archived {} profile(s) to s3://{}/{}\n",
            archive.profiles, archive.bucket, archive.key
        ));
    }
    match receipt.verifications.last() {
        None => text.push_str(&format!(
            "not verified yet: relay erase verify {}",
            receipt.request_id
        )),
        Some(check) if check.clean => text.push_str(&format!(
            "verified at {}: nothing of the subject found",
            time(&check.at)
        )),
        Some(check) => text.push_str(&format!(
            "verified at {}: still found in Braze {:?}, in Userflow {:?}",
            time(&check.at),
            check.braze_found,
            check.userflow_found
        )),
    }
    text
}

fn progress_text(progress: &ErasureProgress) -> String {
    let mut text = format!(
        "request {}: in progress since {} ({} attempt(s))\nsubject: {}\n",
        progress.request_id,
        progress
            .started_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        progress.attempts,
        progress.subject,
    );
    match &progress.discovered {
        None => text.push_str("not discovered yet"),
        Some(found) => {
            let braze_done = found
                .braze
                .iter()
                .filter(|t| t.deleted_at.is_some())
                .count();
            let userflow_done = found.userflow.iter().filter(|t| t.result.is_some()).count();
            text.push_str(&format!(
                "Braze: {braze_done} of {} profile(s) deleted; Userflow: {userflow_done} of {} \
                 user(s) done",
                found.braze.len(),
                found.userflow.len()
            ));
        }
    }
    text
}
