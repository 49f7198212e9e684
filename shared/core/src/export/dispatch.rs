//! What the export callback does once its URL verified: find the export's files, enqueue one
//! `export_file` job per file, and move the manifest along. No file content is read here.
//!
//! Order, so nothing is lost and a repeat changes nothing:
//! 1. an unknown job is [`Dispatch::UnknownJob`]; a job past `requested` is
//!    [`Dispatch::AlreadyHandled`] (a repeated callback);
//! 2. `success: false` records the job as failed;
//! 3. the files are listed and written into the manifest with the state `dispatching`
//!    (compare-and-swap: of two callbacks at once, one goes on, the other sees `dispatching`);
//! 4. the jobs are enqueued, every entry's result checked; if any failed, the manifest keeps
//!    `dispatching` with the failure as its error and the caller answers 5xx: the files that
//!    were queued are read meanwhile, the job cannot complete until every file is, and the
//!    next callback dispatches again at once (a callback that died half way leaves
//!    `dispatching` without an error, which another callback takes over after
//!    [`STALE_DISPATCH`]); a file enqueued twice is read once, because its reader holds a lease
//!    and a finished file is not read again;
//! 5. `dispatched`, then the job completes at once if it has no file (or all already ended).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::location::ExportLocation;
use super::manifest::{Change, ExportManifest, ExportState, JobId, ManifestError, Manifests};
use super::progress::{ProgressError, complete_if_last};
use crate::jobs::{ExportFileJob, Job};
use crate::queue::JobQueue;
use crate::store::{ObjectStore, StoreError};

/// How long a `dispatching` manifest belongs to the callback that set it; after that, another
/// callback takes the dispatch over.
pub const STALE_DISPATCH: Duration = Duration::from_secs(120);

/// How long a callback waits for `relay export start` to record Braze's `object_prefix` (a
/// tiny export can call back before its starter wrote the answer down).
const PREFIX_WAIT: Duration = Duration::from_secs(3);

/// Braze's callback body: `{"success": true}` (plus `"url"` when Braze stores the files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackBody {
    /// Whether the export succeeded.
    pub success: bool,
}

/// A callback body that is not Braze's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the callback body is not {{\"success\": true|false}}: {0}")]
pub struct BadCallbackBody(String);

impl CallbackBody {
    /// Reads the body; `success` may be a boolean or the text `"true"` / `"false"`, other
    /// fields are ignored.
    pub fn parse(body: &[u8]) -> Result<CallbackBody, BadCallbackBody> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Flag {
            Bool(bool),
            Text(String),
        }
        #[derive(Deserialize)]
        struct Raw {
            success: Option<Flag>,
        }
        let raw: Raw = serde_json::from_slice(body).map_err(|e| BadCallbackBody(e.to_string()))?;
        let success = match raw.success {
            Some(Flag::Bool(flag)) => flag,
            Some(Flag::Text(text)) if text.eq_ignore_ascii_case("true") => true,
            Some(Flag::Text(text)) if text.eq_ignore_ascii_case("false") => false,
            Some(Flag::Text(_)) => {
                return Err(BadCallbackBody(
                    "`success` is neither true nor false".into(),
                ));
            }
            None => return Err(BadCallbackBody("`success` is missing".into())),
        };
        Ok(CallbackBody { success })
    }
}

/// What a callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// No manifest for this job.
    UnknownJob,
    /// The job was past `requested` already: nothing changed.
    AlreadyHandled(ExportState),
    /// Another callback is dispatching this job right now: nothing changed.
    InProgress,
    /// Braze reported failure; the job is recorded as failed.
    RecordedFailure,
    /// Every file's job is on the sync queue.
    Dispatched {
        /// Files found.
        files: usize,
        /// The job's state afterwards (`completed` for an export without files).
        state: ExportState,
    },
}

/// Why a callback could not be handled; the caller answers 5xx (or 409 for
/// [`DispatchError::NoObjectPrefix`]) so the callback can be retried.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The manifest could not be read or changed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Listing the export bucket failed.
    #[error("listing the export's files failed: {0}")]
    List(#[from] StoreError),
    /// Some `export_file` jobs were not enqueued.
    #[error("{failed} of {total} export_file jobs were not enqueued: {detail}")]
    Enqueue {
        /// Not enqueued.
        failed: usize,
        /// All jobs.
        total: usize,
        /// The first failure.
        detail: String,
    },
    /// The job has no `object_prefix` yet: the export was never confirmed by Braze.
    #[error(
        "export job {0} has no object_prefix: Braze's answer to the export request was never recorded"
    )]
    NoObjectPrefix(JobId),
    /// Completing a job without files failed.
    #[error(transparent)]
    Progress(#[from] ProgressError),
}

/// What the callback needs.
#[derive(Debug)]
pub struct Dispatcher<'a, S, E, Q> {
    /// The state bucket (manifests, progress).
    pub state: &'a S,
    /// The export bucket (listed only).
    pub exports: &'a E,
    /// The sync queue.
    pub queue: &'a Q,
    /// The export bucket's layout.
    pub location: &'a ExportLocation,
}

impl<S: ObjectStore, E: ObjectStore, Q: JobQueue> Dispatcher<'_, S, E, Q> {
    /// Handles an authentic callback for `job`.
    pub async fn handle(
        &self,
        job: &JobId,
        body: &CallbackBody,
    ) -> Result<Dispatch, DispatchError> {
        let manifests = Manifests::new(self.state);
        let Some(manifest) = self.wait_for_prefix(&manifests, job).await? else {
            return Ok(Dispatch::UnknownJob);
        };
        if let Some(done) = settled(&manifest, Utc::now()) {
            return Ok(done);
        }
        if !body.success {
            let failed = manifests
                .update(job, |m| match m.state {
                    ExportState::Requested | ExportState::Dispatching => {
                        m.state = ExportState::Failed;
                        m.error = Some("Braze reported that the export failed".into());
                        Change::Write
                    }
                    _ => Change::Keep,
                })
                .await?;
            return Ok(match failed {
                Some(m) if m.state == ExportState::Failed => Dispatch::RecordedFailure,
                Some(m) => Dispatch::AlreadyHandled(m.state),
                None => Dispatch::UnknownJob,
            });
        }
        let Some(object_prefix) = manifest.object_prefix.clone() else {
            return Err(DispatchError::NoObjectPrefix(job.clone()));
        };
        let found = self
            .location
            .files(
                self.exports,
                &manifest.segment_id,
                &object_prefix,
                manifest.requested_at,
                Utc::now(),
            )
            .await?;

        // Claim the dispatch and record the files; a stale earlier attempt's files keep their
        // indexes (their progress documents are named by them).
        let mut claimed = false;
        let claim_time = Utc::now();
        let manifest = manifests
            .update(job, |m| {
                claimed = false;
                if settled(m, claim_time).is_some() {
                    return Change::Keep;
                }
                for key in &found {
                    if !m.files.contains(key) {
                        m.files.push(key.clone());
                    }
                }
                m.state = ExportState::Dispatching;
                claimed = true;
                Change::Write
            })
            .await?;
        let Some(manifest) = manifest else {
            return Ok(Dispatch::UnknownJob);
        };
        if !claimed {
            return Ok(settled(&manifest, claim_time).unwrap_or(Dispatch::InProgress));
        }

        let bodies: Vec<String> = manifest
            .files
            .iter()
            .enumerate()
            .map(|(index, key)| {
                Job::ExportFile(ExportFileJob {
                    export: job.clone(),
                    index,
                    key: key.clone(),
                })
                .encode()
            })
            .collect();
        let report = self.queue.send(&bodies).await;
        if let Some((_, first)) = report.failed.first() {
            let error = DispatchError::Enqueue {
                failed: report.failed.len(),
                total: bodies.len(),
                detail: first.to_string(),
            };
            // The files already queued are read meanwhile; the job cannot complete before the
            // others are queued too, which the next callback does at once (see `settled`).
            let reason = format!("{error}; send the callback again");
            manifests
                .update(job, |m| {
                    if m.state != ExportState::Dispatching {
                        return Change::Keep;
                    }
                    m.error = Some(reason.clone());
                    Change::Write
                })
                .await?;
            return Err(error);
        }
        let files = manifest.files.len();
        manifests
            .update(job, |m| {
                if m.state != ExportState::Dispatching {
                    return Change::Keep;
                }
                m.state = ExportState::Dispatched;
                m.error = None;
                Change::Write
            })
            .await?;
        let state = complete_if_last(self.state, job)
            .await?
            .unwrap_or(ExportState::Dispatched);
        Ok(Dispatch::Dispatched { files, state })
    }

    /// The manifest, waiting up to [`PREFIX_WAIT`] for a `requested` job's `object_prefix`.
    async fn wait_for_prefix(
        &self,
        manifests: &Manifests<'_, S>,
        job: &JobId,
    ) -> Result<Option<ExportManifest>, ManifestError> {
        let give_up = tokio::time::Instant::now() + PREFIX_WAIT;
        loop {
            let manifest = manifests.load(job).await?;
            let waiting = manifest
                .as_ref()
                .is_some_and(|m| m.state == ExportState::Requested && m.object_prefix.is_none());
            if !waiting || tokio::time::Instant::now() >= give_up {
                return Ok(manifest);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The answer for a job another callback already took care of, or is taking care of; `None`
/// when this callback should dispatch.
fn settled(manifest: &ExportManifest, now: DateTime<Utc>) -> Option<Dispatch> {
    match manifest.state {
        ExportState::Requested => None,
        // A dispatch that failed to queue every file, or that was left half done, is taken
        // over; one still running is not.
        ExportState::Dispatching if manifest.error.is_some() => None,
        ExportState::Dispatching => {
            let stale = now.signed_duration_since(manifest.updated_at)
                > chrono::Duration::from_std(STALE_DISPATCH).expect("a small duration");
            (!stale).then_some(Dispatch::InProgress)
        }
        state => Some(Dispatch::AlreadyHandled(state)),
    }
}
