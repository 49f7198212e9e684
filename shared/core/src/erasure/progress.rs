//! The work document of one erasure, `erasure/<request_id>/progress.json` in the state
//! bucket: what discovery found and which targets are done, so an attempt after a partial
//! failure repeats no finished step.
//!
//! Written with compare-and-swap (create if absent, then replace only the version read):
//! two attempts at one request (SQS delivers a message at least once) cannot overwrite each
//! other's steps; the one that loses stops and its message comes back later, when the
//! receipt usually exists. The document holds Braze ids and external ids (what is deleted),
//! never the subject's identifier; it is deleted once the receipt is written.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::discovery::BrazeProfile;
use super::request::{ErasureRequest, RequestId, SubjectDigest};
use crate::store::{ObjectStore, PutIfAbsent, PutIfMatch, StoreError, Version};

/// Where an erasure's documents live: `erasure/<request_id>/`.
pub fn request_folder(id: &RequestId) -> String {
    format!("erasure/{id}/")
}

/// The progress document's key.
pub fn progress_key(id: &RequestId) -> String {
    format!("{}progress.json", request_folder(id))
}

/// One erasure's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureProgress {
    /// The request.
    pub request_id: RequestId,
    /// Who, as a digest.
    pub subject: SubjectDigest,
    /// Who asked.
    pub origin: String,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When the first attempt began.
    pub started_at: DateTime<Utc>,
    /// Attempts that saved this document.
    pub attempts: u32,
    /// What discovery found; `None` until it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered: Option<Discovered>,
}

/// The targets discovery found, and each one's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovered {
    /// When discovery ended.
    pub at: DateTime<Utc>,
    /// Braze profiles to delete.
    pub braze: Vec<BrazeTarget>,
    /// Userflow users to delete.
    pub userflow: Vec<UserflowTarget>,
    /// Where the exported profiles were archived, when archiving is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveRecord>,
}

/// One Braze profile and whether Braze accepted its deletion. (Unknown fields are not
/// refused here: serde cannot refuse them beside a flattened field.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrazeTarget {
    /// The profile.
    #[serde(flatten)]
    pub profile: BrazeProfile,
    /// When `/users/delete` accepted it (Braze then deletes within minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One Userflow user and what deleting it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserflowTarget {
    /// The user id (the external id).
    pub user_id: String,
    /// `None` until deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<UserflowResult>,
    /// When the result was learnt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// What `DELETE /users/{id}` gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserflowResult {
    /// Userflow deleted the user.
    Deleted,
    /// Userflow had no such user (404): nothing to delete.
    AlreadyGone,
}

/// The compliance archive of what discovery exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRecord {
    /// The compliance bucket.
    pub bucket: String,
    /// The archive's key.
    pub key: String,
    /// Profiles archived.
    pub profiles: usize,
    /// When it was written.
    pub at: DateTime<Utc>,
}

impl ErasureProgress {
    /// A request's progress before its first step.
    pub fn new(request: &ErasureRequest, now: DateTime<Utc>) -> ErasureProgress {
        ErasureProgress {
            request_id: request.request_id.clone(),
            subject: request.subject.digest(),
            origin: request.origin.clone(),
            requested_at: request.requested_at,
            started_at: now,
            attempts: 0,
            discovered: None,
        }
    }

    /// The Braze profiles not yet accepted for deletion.
    pub fn braze_pending(&self) -> impl Iterator<Item = &BrazeProfile> {
        self.discovered
            .iter()
            .flat_map(|found| &found.braze)
            .filter(|target| target.deleted_at.is_none())
            .map(|target| &target.profile)
    }

    /// The Userflow users not yet deleted.
    pub fn userflow_pending(&self) -> impl Iterator<Item = &str> {
        self.discovered
            .iter()
            .flat_map(|found| &found.userflow)
            .filter(|target| target.result.is_none())
            .map(|target| target.user_id.as_str())
    }
}

/// A progress document read with its version, saved by compare-and-swap.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The document.
    pub progress: ErasureProgress,
    /// The version read or last written; `None` while it has never been saved.
    version: Option<Version>,
}

/// Why progress could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// The state bucket failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored document does not decode.
    #[error("{key} does not decode: {detail}")]
    Corrupt {
        /// The document's key.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// Another attempt saved the document since this one read it.
    #[error("another attempt is working on this erasure")]
    Contended,
}

impl Tracked {
    /// The request's progress: the stored document, or a new one.
    pub async fn load<S: ObjectStore>(
        store: &S,
        request: &ErasureRequest,
    ) -> Result<Tracked, ProgressError> {
        let key = progress_key(&request.request_id);
        match store.get_versioned(&key).await? {
            None => Ok(Tracked {
                progress: ErasureProgress::new(request, Utc::now()),
                version: None,
            }),
            Some(stored) => {
                let progress =
                    serde_json::from_slice(&stored.body).map_err(|e| ProgressError::Corrupt {
                        key,
                        detail: e.to_string(),
                    })?;
                Ok(Tracked {
                    progress,
                    version: Some(stored.version),
                })
            }
        }
    }

    /// Saves the document unless another attempt saved it since it was read.
    pub async fn save<S: ObjectStore>(&mut self, store: &S) -> Result<(), ProgressError> {
        let key = progress_key(&self.progress.request_id);
        let body = Bytes::from(serde_json::to_vec(&self.progress).expect("progress serialises"));
        match &self.version {
            None => match store.put_if_absent(&key, body, JSON).await? {
                PutIfAbsent::AlreadyExists => Err(ProgressError::Contended),
                PutIfAbsent::Created(version) => {
                    self.version = Some(version);
                    Ok(())
                }
            },
            Some(version) => match store.put_if_match(&key, body, JSON, version).await? {
                PutIfMatch::Written(version) => {
                    self.version = Some(version);
                    Ok(())
                }
                PutIfMatch::Changed => Err(ProgressError::Contended),
            },
        }
    }

    /// Deletes the document (after the receipt is written).
    pub async fn remove<S: ObjectStore>(&self, store: &S) -> Result<(), StoreError> {
        store.delete(&progress_key(&self.progress.request_id)).await
    }
}

const JSON: &str = "application/json";
