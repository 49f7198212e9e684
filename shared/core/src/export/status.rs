//! An export job's state and counts, as `relay export status` shows them: the manifest plus
//! every file's progress document added up (live while files are being read).

use serde::Serialize;

use super::manifest::{ExportManifest, JobId, Manifests};
use super::progress::{FileCounts, FileState, ProgressError, file_progress};
use crate::store::ObjectStore;

/// One file that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedFile {
    /// The file's key in the export bucket.
    pub key: String,
    /// Why.
    pub error: String,
}

/// A job's state and counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportStatus {
    /// The manifest.
    pub manifest: ExportManifest,
    /// Files of the export.
    pub files_total: usize,
    /// Files whose every line is finished.
    pub files_done: usize,
    /// Files that could not be read.
    pub files_failed: usize,
    /// The files' counts so far.
    pub counts: FileCounts,
    /// The failed files.
    pub failed: Vec<FailedFile>,
}

/// The job's status; `None` for an unknown job.
pub async fn export_status<S: ObjectStore>(
    state: &S,
    job: &JobId,
) -> Result<Option<ExportStatus>, ProgressError> {
    let Some(manifest) = Manifests::new(state).load(job).await? else {
        return Ok(None);
    };
    let files = file_progress(state, job, manifest.files.len()).await?;
    let mut status = ExportStatus {
        files_total: manifest.files.len(),
        files_done: 0,
        files_failed: 0,
        counts: FileCounts::default(),
        failed: Vec::new(),
        manifest,
    };
    for progress in files.into_iter().flatten() {
        status.counts += progress.counts;
        match progress.state {
            FileState::Done => status.files_done += 1,
            FileState::Failed => {
                status.files_failed += 1;
                status.failed.push(FailedFile {
                    key: progress.key,
                    error: progress.error.unwrap_or_default(),
                });
            }
            FileState::Reading => {}
        }
    }
    Ok(Some(status))
}
