//! Where an erasure request stands (`relay erase status`): its receipt when done, its
//! progress while it runs, or neither (still queued, in the dead-letter queue, or unknown).

use serde::Serialize;

use super::progress::{ErasureProgress, ProgressError, progress_key};
use super::receipt::{Receipt, ReceiptError, Receipts};
use super::request::RequestId;
use crate::store::ObjectStore;

/// An erasure request's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ErasureStatus {
    /// Every target is done: the receipt.
    Done {
        /// The receipt.
        receipt: Box<Receipt>,
    },
    /// An attempt began and has not finished: what it recorded so far.
    InProgress {
        /// The progress document.
        progress: Box<ErasureProgress>,
    },
    /// Nothing recorded: still queued, in the dead-letter queue, or never sent.
    NotStarted,
}

/// Why the state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The receipt could not be read.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The progress document could not be read.
    #[error(transparent)]
    Progress(#[from] ProgressError),
}

/// Reads the request's receipt, else its progress.
pub async fn erasure_status<S: ObjectStore>(
    store: &S,
    id: &RequestId,
) -> Result<ErasureStatus, StatusError> {
    if let Some(receipt) = Receipts::new(store).load(id).await? {
        return Ok(ErasureStatus::Done {
            receipt: Box::new(receipt),
        });
    }
    let key = progress_key(id);
    let Some(body) = store.get(&key).await.map_err(ProgressError::from)? else {
        return Ok(ErasureStatus::NotStarted);
    };
    let progress = serde_json::from_slice(&body).map_err(|e| ProgressError::Corrupt {
        key,
        detail: e.to_string(),
    })?;
    Ok(ErasureStatus::InProgress {
        progress: Box::new(progress),
    })
}
