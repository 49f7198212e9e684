//! Reading one export file into Userflow, or into erasure requests (an export whose action is
//! `erase`, see `sink`): the work of one `export_file` job.
//!
//! The file is streamed ([`reader`](super::reader)), each line decoded as far as the mapping
//! needs ([`line`](super::line)), de-duplicated by Braze id within the file, and upserted into
//! Userflow with bounded concurrency (the Userflow client's limiter and retry policy apply to
//! every request). Bad lines go to `rejects/` ([`rejects`]). Progress is checkpointed
//! ([`FileLedger`]) every [`FileSyncSettings::checkpoint_lines`] lines or
//! [`FileSyncSettings::checkpoint_interval`], whichever comes first, and when the deadline
//! nears: reading stops, the sends in flight finish, the checkpoint is written and the caller
//! gets [`FileOutcome::Unfinished`] to have the message delivered again. A redelivered message
//! skips every line the checkpoint lists as finished (it still reads them, to rebuild the set
//! of Braze ids seen, without sending anything).
//!
//! A line Userflow refuses for good (4xx) is a reject; a transient failure (5xx, 429 after
//! retries, the network) or a misconfiguration (401) stops the file: the line stays
//! unfinished and the checkpoint keeps it for the next attempt. A file that cannot be read
//! (truncated, corrupt, refused by a guard) ends as failed with the reason; its finished lines
//! stay counted, and the other files go on.

mod reading;
pub mod rejects;
mod sink;
pub mod watermark;

use std::time::Duration;

use chrono::{DateTime, Utc};
use relay_clients::upstream::FailureClass;
use relay_clients::userflow::UserflowClient;
use tokio::time::Instant;

use super::line::{ExportMapping, SeenIds};
use super::manifest::{ExportAction, ExportState, Manifests};
use super::progress::{
    Claim, FileCounts, FileLedger, FileProgress, FileState, Lease, ProgressError, Saved,
};
use super::reader::{ExportReader, ExportSource, ReaderError, ReaderLimits};
use crate::jobs::ExportFileJob;
use crate::queue::JobQueue;
use crate::store::ObjectStore;
use reading::Reading;
use rejects::RejectBuffer;
use watermark::Watermark;

/// Tunables of [`FileSync`].
#[derive(Debug, Clone)]
pub struct FileSyncSettings {
    /// Userflow upserts in flight per file (default 8).
    pub concurrency: usize,
    /// Lines between checkpoints (default 2,000).
    pub checkpoint_lines: u64,
    /// Longest time between checkpoints (default 10 s).
    pub checkpoint_interval: Duration,
    /// The reader's guards.
    pub limits: ReaderLimits,
    /// How long past the deadline a send already in flight may take; one still unanswered
    /// then is given up (its line stays unfinished, for the next attempt). The caller's lease
    /// must outlast the deadline by more than this.
    pub send_grace: Duration,
}

impl Default for FileSyncSettings {
    fn default() -> Self {
        FileSyncSettings {
            concurrency: 8,
            checkpoint_lines: 2_000,
            checkpoint_interval: Duration::from_secs(10),
            limits: ReaderLimits::default(),
            send_grace: Duration::from_secs(1),
        }
    }
}

/// What became of one `export_file` job.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    /// The file reached an end (done, or failed for good); the message is finished.
    Ended(FileState),
    /// Not finished in this attempt; the checkpoint holds what was done. `progressed` says
    /// whether this attempt finished any line.
    Unfinished {
        /// Whether the checkpoint moved.
        progressed: bool,
        /// Why the attempt stopped.
        reason: String,
    },
    /// Another reader holds the file until then: try again later.
    Busy(DateTime<Utc>),
    /// The job is not to be read (unknown, cancelled, failed, or the message names a file the
    /// manifest does not hold): the message is finished without reading.
    NotRead(String),
    /// Another reader took the file over while this one was reading: stop, the other goes on.
    TakenOver,
}

/// One attempt at an `export_file` job: what became of it, and what it counted.
#[derive(Debug)]
pub struct FileAttempt {
    /// What became of the job, or the state bucket's failure that stopped it.
    pub outcome: Result<FileOutcome, ProgressError>,
    /// The lines this attempt's checkpoints saved, counted as the file's progress counts
    /// them: whatever the outcome, errors included, each line is counted once, by the attempt
    /// whose checkpoint saved it (the next attempt starts after it). A line finished in
    /// memory but not saved (the attempt failed, or another reader took the file over, before
    /// its next checkpoint) is not counted: the next reader finishes and counts it. `None`
    /// when the attempt did not claim the file (not to be read, read by another, already
    /// ended, or the state bucket failed before the claim).
    pub counts: Option<FileCounts>,
}

/// The file's counts when this attempt claimed it (`None`: not claimed).
type Claimed = Option<FileCounts>;

/// What a file sync needs.
#[derive(Debug)]
pub struct FileSync<'a, S, Q> {
    /// The state bucket (manifest, progress, rejects).
    pub state: &'a S,
    /// Userflow.
    pub userflow: &'a UserflowClient,
    /// The erasure queue, for exports whose action is `erase`; `None` when not configured
    /// (such a file then waits, unread, for a sync-worker that has one).
    pub erasures: Option<&'a Q>,
    /// Export lines to Userflow upserts.
    pub mapping: &'a ExportMapping,
    /// Tunables.
    pub settings: &'a FileSyncSettings,
}

impl<S: ObjectStore, Q: JobQueue> FileSync<'_, S, Q> {
    /// Reads `job`'s file from `source` until it ends or `deadline`; `owner` (the message id)
    /// holds the file's lease until `lease_until`. [`FileSync::attempt`] without the counts.
    pub async fn run<Src: ExportSource>(
        &self,
        job: &ExportFileJob,
        source: Src,
        owner: &str,
        deadline: Instant,
        lease_until: DateTime<Utc>,
    ) -> Result<FileOutcome, ProgressError> {
        self.attempt(job, source, owner, deadline, lease_until)
            .await
            .outcome
    }

    /// Reads `job`'s file from `source` until it ends or `deadline`, as [`FileSync::run`]
    /// does, and says what this attempt counted (the sync-worker's metrics): exactly the
    /// lines its checkpoints saved, also when it ends in an error or a takeover.
    pub async fn attempt<Src: ExportSource>(
        &self,
        job: &ExportFileJob,
        source: Src,
        owner: &str,
        deadline: Instant,
        lease_until: DateTime<Utc>,
    ) -> FileAttempt {
        let mut ledger = FileLedger::new(self.state, job.export.clone(), job.index);
        let lease = Lease {
            owner: owner.to_owned(),
            until: lease_until,
        };
        let mut claimed: Claimed = None;
        let outcome = self
            .claim_and_read(job, source, lease, deadline, &mut ledger, &mut claimed)
            .await;
        FileAttempt {
            outcome,
            counts: claimed.map(|before| ledger.saved_counts().since(&before)),
        }
    }

    /// Claims `job`'s file when it is to be read and reads it; `claimed` gets the file's
    /// counts as the claim found them.
    async fn claim_and_read<Src: ExportSource>(
        &self,
        job: &ExportFileJob,
        source: Src,
        lease: Lease,
        deadline: Instant,
        ledger: &mut FileLedger<'_, S>,
        claimed: &mut Claimed,
    ) -> Result<FileOutcome, ProgressError> {
        let Some(manifest) = Manifests::new(self.state).load(&job.export).await? else {
            return Ok(FileOutcome::NotRead(format!(
                "export job {} is unknown",
                job.export
            )));
        };
        if let Some(reason) = not_readable(manifest.state) {
            return Ok(FileOutcome::NotRead(reason));
        }
        if manifest.action == ExportAction::Erase && self.erasures.is_none() {
            return Ok(FileOutcome::Unfinished {
                progressed: false,
                reason: format!(
                    "export job {} turns users into erasures, but this sync-worker has no \
                     erasure queue (ERASURE_QUEUE_URL)",
                    job.export
                ),
            });
        }
        if manifest.files.get(job.index) != Some(&job.key) {
            return Ok(FileOutcome::NotRead(format!(
                "export job {} has no file {} with this key",
                job.export, job.index
            )));
        }
        let mut progress = match ledger.claim(&job.key, lease).await? {
            Claim::Reading(progress) => progress,
            Claim::Busy(until) => return Ok(FileOutcome::Busy(until)),
            Claim::Ended(progress) => {
                // Its marker, and so the job's end, may be missing (a crash in between).
                ledger.mark_finished().await?;
                return Ok(FileOutcome::Ended(progress.state));
            }
        };
        *claimed = Some(progress.counts);
        self.read_claimed(
            job,
            source,
            manifest.action,
            ledger,
            &mut progress,
            deadline,
        )
        .await
    }

    /// Reads a file this attempt holds the lease of.
    async fn read_claimed<Src: ExportSource>(
        &self,
        job: &ExportFileJob,
        source: Src,
        action: ExportAction,
        ledger: &mut FileLedger<'_, S>,
        progress: &mut FileProgress,
        deadline: Instant,
    ) -> Result<FileOutcome, ProgressError> {
        let reader = match ExportReader::open(source, self.settings.limits).await {
            Ok(reader) => reader,
            Err(error) => {
                return self.read_failed(ledger, progress, error, false).await;
            }
        };
        let mut reading = Reading {
            sync: self,
            action,
            job: &job.export,
            file: job.index,
            key: &job.key,
            mark: Watermark::resume(progress.lines_done, &progress.finished_above),
            seen: SeenIds::default(),
            rejects: RejectBuffer::default(),
            started_at: (progress.lines_done, progress.finished_above.clone()),
        };
        reading.read(reader, ledger, progress, deadline).await
    }

    /// Ends the file as failed when `error` is permanent; otherwise checkpoints and leaves it
    /// for the next attempt.
    async fn read_failed(
        &self,
        ledger: &mut FileLedger<'_, S>,
        progress: &mut FileProgress,
        error: ReaderError,
        progressed: bool,
    ) -> Result<FileOutcome, ProgressError> {
        // Only a file that can never be read fails; S3 throttling, a timeout or a denied read
        // (fixed by the operator, then replayed from the DLQ) leaves it for another attempt.
        if error.class() != FailureClass::Permanent {
            progress.lease = None;
            return match ledger.save(progress).await? {
                Saved::Saved => Ok(FileOutcome::Unfinished {
                    progressed,
                    reason: error.to_string(),
                }),
                Saved::Lost => Ok(FileOutcome::TakenOver),
            };
        }
        progress.state = FileState::Failed;
        progress.error = Some(error.to_string());
        match ledger.finish(progress).await? {
            Saved::Saved => Ok(FileOutcome::Ended(FileState::Failed)),
            Saved::Lost => Ok(FileOutcome::TakenOver),
        }
    }
}

fn not_readable(state: ExportState) -> Option<String> {
    match state {
        ExportState::Dispatching | ExportState::Dispatched => None,
        other => Some(format!("the export job is {}", other.as_str())),
    }
}

#[cfg(test)]
mod tests;
