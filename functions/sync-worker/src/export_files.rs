//! `export_file` jobs: each message names one file of a Braze segment export, read and synced
//! into Userflow (or turned into erasure requests, for an export whose action is `erase`) by
//! relay-core's [`FileSync`]. This module only maps its outcome to SQS:
//!
//! - the file ended (done, or failed for good with its reason recorded), the job is not to be
//!   read (cancelled, unknown), or another reader took the file over: acknowledged;
//! - unfinished with progress (the deadline came, or Userflow failed transiently after some
//!   lines): the same job is sent again as a new message and this one acknowledged, so a file
//!   longer than one invocation moves on without its receive count climbing towards the
//!   dead-letter queue; the checkpoint makes the next reader start where this one stopped;
//! - unfinished without progress, another reader holding the file, or the state bucket
//!   failing: a batch item failure (SQS redelivers after the visibility timeout and, after
//!   `maxReceiveCount`, moves it to the dead-letter queue).
//!
//! It also adds up what the batch's attempts counted ([`ExportWork`]), for the invocation's
//! metrics: the lines each attempt's checkpoints saved, whatever its outcome (a state error
//! or a takeover included), so each line is counted once, by the invocation that saved it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use relay_core::export::line::ExportMapping;
use relay_core::export::progress::FileCounts;
use relay_core::export::reader::S3Source;
use relay_core::export::sync::{FileAttempt, FileOutcome, FileSync, FileSyncSettings};
use relay_core::jobs::{ExportFileJob, Job};
use relay_core::queue::JobQueue;
use relay_core::store::ObjectStore;
use tokio::time::Instant;

use crate::Deps;

/// Where export files are and how they are read.
#[derive(Debug, Clone)]
pub struct ExportFiles {
    /// S3, for the export bucket.
    pub s3: aws_sdk_s3::Client,
    /// The export bucket (Braze writes the files there).
    pub bucket: String,
    /// Export lines to Userflow upserts.
    pub mapping: ExportMapping,
    /// Concurrency, checkpoints, guards.
    pub settings: FileSyncSettings,
}

/// One `export_file` message of the batch.
pub(crate) struct FileMessage {
    pub(crate) message_id: String,
    pub(crate) receipt_handle: Option<String>,
    pub(crate) job: ExportFileJob,
}

/// What the batch does with one file message.
pub(crate) enum FileVerdict {
    /// Acknowledge it.
    Done,
    /// Hand it back to SQS, with why.
    Retry(String),
}

/// What the batch's files came to, for the invocation's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ExportWork {
    /// What the attempts that read a file saved (this invocation's share only, errors
    /// included).
    pub(crate) counts: FileCounts,
    /// Whether any attempt read a file: without one there is no export rate to report.
    pub(crate) read: bool,
    /// From the first file's start to the last one's end.
    pub(crate) elapsed: Duration,
}

/// Reads every file of the batch concurrently until `deadline`; leases last until
/// `lease_until` (the invocation's end), and the messages stay hidden as long, whatever the
/// queue's visibility timeout. One verdict per file, in order, and what they came to.
pub(crate) async fn sync_files<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    files: &[FileMessage],
    deadline: Instant,
    lease_until: DateTime<Utc>,
) -> (Vec<FileVerdict>, ExportWork) {
    let mut work = ExportWork::default();
    if files.is_empty() {
        return (Vec::new(), work);
    }
    let started = std::time::Instant::now();
    let handles: Vec<String> = files
        .iter()
        .filter_map(|file| file.receipt_handle.clone())
        .collect();
    let hidden_for = (lease_until - Utc::now()).to_std().unwrap_or_default() + HIDDEN_SLACK;
    deps.queue.keep_hidden(&handles, hidden_for).await;
    let attempts = files
        .iter()
        .map(|file| sync_one(deps, file, deadline, lease_until));
    let results = futures::future::join_all(attempts).await;
    work.elapsed = started.elapsed();
    let verdicts = results
        .into_iter()
        .map(|(verdict, counts)| {
            if let Some(counts) = counts {
                work.counts += counts;
                work.read = true;
            }
            verdict
        })
        .collect();
    (verdicts, work)
}

/// Time past the lease that a file's message stays hidden: the answer to SQS takes a moment.
const HIDDEN_SLACK: std::time::Duration = std::time::Duration::from_secs(5);

/// One file's verdict, and what its attempt counted (`None`: the file was not read).
async fn sync_one<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    file: &FileMessage,
    deadline: Instant,
    lease_until: DateTime<Utc>,
) -> (FileVerdict, Option<FileCounts>) {
    let Some(exports) = &deps.exports else {
        let reason = "export_file job, but EXPORT_BUCKET is not set for this sync-worker";
        return (FileVerdict::Retry(reason.into()), None);
    };
    let sync = FileSync {
        state: deps.deliverer.store(),
        userflow: deps.deliverer.userflow(),
        erasures: deps.erasures.as_ref(),
        mapping: &exports.mapping,
        settings: &exports.settings,
    };
    let source = S3Source::new(
        exports.s3.clone(),
        exports.bucket.clone(),
        file.job.key.clone(),
    );
    // Each attempt holds its own lease: a copy of the message delivered while this one
    // still reads the file finds it busy.
    let owner = format!("{}/{}", file.message_id, uuid::Uuid::new_v4().simple());
    // What the attempt's checkpoints saved counts whatever the outcome, a state error
    // included: the next attempt starts after those lines and will not count them.
    let FileAttempt { outcome, counts } = sync
        .attempt(&file.job, source, &owner, deadline, lease_until)
        .await;
    let (verdict, outcome_name) = match outcome {
        Ok(FileOutcome::Ended(state)) => (FileVerdict::Done, state.as_str()),
        Ok(FileOutcome::NotRead(reason)) => {
            tracing::info!(job = %file.job.export, file = file.job.index, reason, "export file not read");
            (FileVerdict::Done, "not_read")
        }
        Ok(FileOutcome::TakenOver) => (FileVerdict::Done, "taken_over"),
        Ok(FileOutcome::Busy(until)) => (
            FileVerdict::Retry(format!("another reader holds the file until {until}")),
            "busy",
        ),
        Ok(FileOutcome::Unfinished {
            progressed: true,
            reason,
        }) => {
            let body = Job::ExportFile(file.job.clone()).encode();
            let report = deps.queue.send(&[body]).await;
            if report.all_sent() {
                (FileVerdict::Done, "continued")
            } else {
                (
                    FileVerdict::Retry(format!("{reason}; the continuation could not be queued")),
                    "unfinished",
                )
            }
        }
        Ok(FileOutcome::Unfinished {
            progressed: false,
            reason,
        }) => (FileVerdict::Retry(reason), "unfinished"),
        Err(error) => (FileVerdict::Retry(error.to_string()), "state_error"),
    };
    tracing::info!(
        job = %file.job.export,
        file = file.job.index,
        outcome = outcome_name,
        "export file handled"
    );
    (verdict, counts)
}
