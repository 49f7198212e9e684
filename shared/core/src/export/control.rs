//! Starting and cancelling an export job (`relay export start` / `cancel`).
//!
//! Start writes the manifest before asking Braze, so a callback can never arrive for a job
//! the relay does not know; Braze's `object_prefix` is recorded right after its answer (the
//! callback waits briefly for it). A refused request ends the job as `failed` with Braze's
//! reason.

use chrono::{DateTime, Duration, Utc};
use relay_clients::braze::BrazeClient;
use relay_clients::braze::error::BrazeError;
use relay_clients::braze::models::OutputFormat;

use super::callback::CallbackSigner;
use super::manifest::{
    Change, ExportAction, ExportManifest, ExportState, JobId, MANIFEST_VERSION, ManifestError,
    Manifests,
};
use crate::store::ObjectStore;

/// What to export and where Braze should call back.
#[derive(Debug, Clone)]
pub struct StartExport {
    /// The Braze segment.
    pub segment_id: String,
    /// What the users are for.
    pub action: ExportAction,
    /// `fields_to_export`.
    pub fields: Vec<String>,
    /// `custom_attributes_to_export` (empty: none named).
    pub custom_attributes: Vec<String>,
    /// Zip or gzip.
    pub output_format: OutputFormat,
    /// The callback route's public URL (`https://<api>/braze/export-callback`).
    pub callback_base: String,
    /// How long the signed callback URL is accepted.
    pub callback_ttl: Duration,
}

/// Why an export could not be started or cancelled.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The state bucket.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Braze refused or failed the start; the job is recorded as failed.
    #[error("export job {job} was not started: Braze: {source}")]
    Refused {
        /// The job, recorded as failed.
        job: JobId,
        /// Braze's answer.
        source: BrazeError,
    },
    /// The request would export what the sync cannot use; nothing was written or sent.
    #[error("{0}")]
    Invalid(String),
    /// No such job.
    #[error("no export job {0} in the state bucket")]
    UnknownJob(JobId),
}

/// Fields every export must carry: the sync's Userflow id and its de-duplication key.
pub const REQUIRED_FIELDS: [&str; 2] = ["external_id", "braze_id"];

impl StartExport {
    /// Refuses fields the sync cannot use: without [`REQUIRED_FIELDS`] nobody is synced (or
    /// duplicates are not recognised); with `custom_attributes` named alongside a list of
    /// custom attributes, Braze exports every custom attribute and ignores the list.
    pub fn check(&self) -> Result<(), ControlError> {
        if self.segment_id.trim().is_empty() {
            return Err(ControlError::Invalid("the segment id is empty".into()));
        }
        let missing: Vec<&str> = REQUIRED_FIELDS
            .into_iter()
            .filter(|field| !self.fields.iter().any(|f| f == field))
            .collect();
        if !missing.is_empty() {
            return Err(ControlError::Invalid(format!(
                "fields_to_export must include {}: the sync needs them",
                missing.join(" and ")
            )));
        }
        if !self.custom_attributes.is_empty()
            && self.fields.iter().any(|f| f == "custom_attributes")
        {
            return Err(ControlError::Invalid(
                "name either `custom_attributes` among the fields (every custom attribute) or a list of custom attributes, not both: Braze ignores the list when the field is named"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Starts an export: the manifest, then Braze's `/users/export/segment` with a signed callback.
pub async fn start_export<S: ObjectStore>(
    state: &S,
    braze: &BrazeClient,
    signer: &CallbackSigner,
    request: &StartExport,
    now: DateTime<Utc>,
) -> Result<ExportManifest, ControlError> {
    request.check()?;
    let job = JobId::generate(now);
    let expires_at = now + request.callback_ttl;
    let manifests = Manifests::new(state);
    manifests
        .create(&ExportManifest {
            v: MANIFEST_VERSION,
            job: job.clone(),
            segment_id: request.segment_id.clone(),
            action: request.action,
            output_format: request.output_format,
            fields: request.fields.clone(),
            custom_attributes: request.custom_attributes.clone(),
            object_prefix: None,
            requested_at: now,
            callback_expires_at: expires_at,
            state: ExportState::Requested,
            updated_at: now,
            files: Vec::new(),
            error: None,
            totals: None,
        })
        .await?;
    let mut export = braze
        .export_segment(request.segment_id.clone())
        .fields(request.fields.clone())
        .callback_endpoint(signer.url(&request.callback_base, &job, expires_at))
        .output_format(request.output_format);
    if !request.custom_attributes.is_empty() {
        export = export.custom_attributes(request.custom_attributes.clone());
    }
    let started = match export.send().await {
        Ok(started) => started,
        Err(error) => {
            let reason = error.to_string();
            manifests
                .update(&job, |m| {
                    m.state = ExportState::Failed;
                    m.error = Some(format!("Braze refused the export: {reason}"));
                    Change::Write
                })
                .await?;
            return Err(ControlError::Refused { job, source: error });
        }
    };
    let manifest = manifests
        .update(&job, |m| {
            m.object_prefix = Some(started.object_prefix.clone());
            Change::Write
        })
        .await?;
    manifest.ok_or(ControlError::UnknownJob(job))
}

/// What [`cancel_export`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// The job is now cancelled; `braze` says whether Braze's running export was cancelled
    /// too (only while the job is `requested`), and its error if it refused.
    Now {
        /// Braze's answer to the cancel, when asked.
        braze: Option<Result<(), String>>,
    },
    /// The job had already ended in this state.
    AlreadyEnded(ExportState),
}

/// Cancels a job: Braze's running export (while `requested`), then the manifest, so files
/// not yet started are not read (a file being read stops at its next checkpoint).
pub async fn cancel_export<S: ObjectStore>(
    state: &S,
    braze: &BrazeClient,
    job: &JobId,
) -> Result<Cancelled, ControlError> {
    let manifests = Manifests::new(state);
    let manifest = manifests
        .load(job)
        .await?
        .ok_or_else(|| ControlError::UnknownJob(job.clone()))?;
    if manifest.state.is_final() {
        return Ok(Cancelled::AlreadyEnded(manifest.state));
    }
    let braze_answer = if manifest.state == ExportState::Requested {
        Some(
            braze
                .cancel_segment_export(&manifest.segment_id)
                .await
                .map_err(|e| e.to_string()),
        )
    } else {
        None
    };
    let mut cancelled_now = false;
    let updated = manifests
        .update(job, |m| {
            cancelled_now = !m.state.is_final();
            if !cancelled_now {
                return Change::Keep;
            }
            m.state = ExportState::Cancelled;
            m.error = Some("cancelled by an operator".into());
            Change::Write
        })
        .await?
        .ok_or_else(|| ControlError::UnknownJob(job.clone()))?;
    Ok(if cancelled_now {
        Cancelled::Now {
            braze: braze_answer,
        }
    } else {
        Cancelled::AlreadyEnded(updated.state)
    })
}
