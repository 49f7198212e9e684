//! The audit receipt of one erasure, `erasure/<request_id>/receipt.json` in the state bucket,
//! written last and only once (create if absent): the request (its subject only as a digest),
//! every target with what became of it, counts, timestamps, and each later verification.
//!
//! It keeps the ids that were deleted (Braze ids, and external ids, which are Userflow's user
//! ids) so the erasure can be verified and shown later; it keeps no email, name, phone or
//! attribute.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::progress::{
    ArchiveRecord, BrazeTarget, ErasureProgress, UserflowResult, UserflowTarget, request_folder,
};
use super::request::{RequestId, SubjectDigest};
use crate::store::{ObjectStore, PutIfAbsent, PutIfMatch, StoreError};

/// The receipt format version.
pub const RECEIPT_VERSION: u32 = 1;

/// The receipt's key.
pub fn receipt_key(id: &RequestId) -> String {
    format!("{}receipt.json", request_folder(id))
}

/// The record of a finished erasure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// [`RECEIPT_VERSION`].
    pub v: u32,
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
    /// When discovery ended.
    pub discovered_at: DateTime<Utc>,
    /// When the last target was done (and this receipt written).
    pub completed_at: DateTime<Utc>,
    /// Attempts it took.
    pub attempts: u32,
    /// Braze profiles, each with when Braze accepted its deletion.
    pub braze: Vec<BrazeTarget>,
    /// Userflow users, each with its result.
    pub userflow: Vec<UserflowTarget>,
    /// Totals.
    pub counts: ReceiptCounts,
    /// The compliance archive, when archiving is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveRecord>,
    /// Checks made afterwards (`relay erase verify`), oldest first.
    #[serde(default)]
    pub verifications: Vec<Verification>,
}

/// A receipt's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptCounts {
    /// Braze profiles deleted (Braze deletes within minutes of accepting).
    pub braze_profiles: usize,
    /// Userflow users deleted.
    pub userflow_deleted: usize,
    /// Userflow users that were already gone.
    pub userflow_already_gone: usize,
}

/// One later check that nothing of the subject is left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// Braze profiles still found (Braze ids; an external id's new profile counts too).
    pub braze_found: Vec<String>,
    /// Userflow users still found.
    pub userflow_found: Vec<String>,
    /// Nothing was found.
    pub clean: bool,
}

impl Receipt {
    /// The receipt of a request whose every target is done; `None` while one is not.
    pub fn of(progress: &ErasureProgress, now: DateTime<Utc>) -> Option<Receipt> {
        let found = progress.discovered.as_ref()?;
        if progress.braze_pending().next().is_some() || progress.userflow_pending().next().is_some()
        {
            return None;
        }
        let gave = |result| {
            found
                .userflow
                .iter()
                .filter(|target| target.result == Some(result))
                .count()
        };
        Some(Receipt {
            v: RECEIPT_VERSION,
            request_id: progress.request_id.clone(),
            subject: progress.subject.clone(),
            origin: progress.origin.clone(),
            requested_at: progress.requested_at,
            started_at: progress.started_at,
            discovered_at: found.at,
            completed_at: now,
            attempts: progress.attempts,
            braze: found.braze.clone(),
            userflow: found.userflow.clone(),
            counts: ReceiptCounts {
                braze_profiles: found.braze.len(),
                userflow_deleted: gave(UserflowResult::Deleted),
                userflow_already_gone: gave(UserflowResult::AlreadyGone),
            },
            archive: found.archive.clone(),
            verifications: Vec::new(),
        })
    }
}

/// Why a receipt could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The state bucket failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored receipt does not decode.
    #[error("{key} does not decode: {detail}")]
    Corrupt {
        /// The receipt's key.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// Somebody else changed the receipt while a verification was being added.
    #[error("the receipt changed while the verification was being recorded; run it again")]
    Changed,
}

/// Reading and writing receipts in the state bucket.
#[derive(Debug)]
pub struct Receipts<'s, S> {
    store: &'s S,
}

impl<S> Clone for Receipts<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Receipts<'_, S> {}

impl<'s, S: ObjectStore> Receipts<'s, S> {
    /// Receipts in `store`.
    pub fn new(store: &'s S) -> Self {
        Receipts { store }
    }

    /// Whether the request has a receipt, without decoding it.
    pub async fn exists(&self, id: &RequestId) -> Result<bool, StoreError> {
        Ok(self.store.get(&receipt_key(id)).await?.is_some())
    }

    /// The request's receipt, if written.
    pub async fn load(&self, id: &RequestId) -> Result<Option<Receipt>, ReceiptError> {
        let key = receipt_key(id);
        match self.store.get(&key).await? {
            None => Ok(None),
            Some(body) => decode(&key, &body).map(Some),
        }
    }

    /// Writes `receipt` unless one exists (a duplicate attempt's receipt stands).
    pub async fn create(&self, receipt: &Receipt) -> Result<PutIfAbsent, StoreError> {
        self.store
            .put_if_absent(&receipt_key(&receipt.request_id), encode(receipt), JSON)
            .await
    }

    /// Appends `verification` to the request's receipt; `None` when there is no receipt.
    pub async fn add_verification(
        &self,
        id: &RequestId,
        verification: Verification,
    ) -> Result<Option<Receipt>, ReceiptError> {
        let key = receipt_key(id);
        let Some(stored) = self.store.get_versioned(&key).await? else {
            return Ok(None);
        };
        let mut receipt = decode(&key, &stored.body)?;
        receipt.verifications.push(verification);
        match self
            .store
            .put_if_match(&key, encode(&receipt), JSON, &stored.version)
            .await?
        {
            PutIfMatch::Written(_) => Ok(Some(receipt)),
            PutIfMatch::Changed => Err(ReceiptError::Changed),
        }
    }
}

fn encode(receipt: &Receipt) -> Bytes {
    Bytes::from(serde_json::to_vec_pretty(receipt).expect("receipts serialise"))
}

fn decode(key: &str, body: &[u8]) -> Result<Receipt, ReceiptError> {
    serde_json::from_slice(body).map_err(|e| ReceiptError::Corrupt {
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

const JSON: &str = "application/json";
