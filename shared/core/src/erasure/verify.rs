//! Checking, some time after an erasure, that Braze and Userflow hold nothing of it any more
//! (`relay erase verify`). Braze deletes asynchronously (within minutes of accepting), so
//! this is a separate, later step; its result is added to the receipt.
//!
//! Braze is asked for every profile the receipt lists: by external id where the profile had
//! one (50 per call; a new profile under that external id counts as found too), otherwise by
//! Braze id (one per call). Userflow is asked for every user the receipt lists.

use chrono::Utc;
use futures::{StreamExt, stream};
use relay_clients::braze::{BrazeClient, BrazeError};
use relay_clients::userflow::{UserflowClient, UserflowError};

use super::discovery::IDENTITY_FIELDS;
use super::receipt::{Receipt, Verification};

/// Why a verification could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Braze could not be asked.
    #[error("Braze lookup failed: {0}")]
    Braze(#[from] BrazeError),
    /// Userflow could not be asked.
    #[error("Userflow lookup failed: {0}")]
    Userflow(#[from] UserflowError),
}

/// Userflow lookups in flight at once.
const USERFLOW_CONCURRENCY: usize = 4;

/// Asks Braze and Userflow for everything `receipt` lists.
pub async fn verify(
    braze: &BrazeClient,
    userflow: &UserflowClient,
    receipt: &Receipt,
) -> Result<Verification, VerifyError> {
    let external_ids = receipt
        .braze
        .iter()
        .filter_map(|target| target.profile.external_id.clone());
    let braze_ids = receipt
        .braze
        .iter()
        .filter(|target| target.profile.external_id.is_none())
        .filter_map(|target| target.profile.braze_id.clone());
    let mut braze_found = Vec::new();
    if !receipt.braze.is_empty() {
        let report = braze
            .export_ids()
            .fields(IDENTITY_FIELDS.iter().copied())
            .external_ids(external_ids)
            .braze_ids(braze_ids)
            .send()
            .await?;
        braze_found = report
            .users
            .into_iter()
            .filter_map(|user| user.braze_id.or(user.external_id))
            .collect();
    }
    let answers: Vec<(String, Result<(), UserflowError>)> =
        stream::iter(receipt.userflow.iter().map(|target| target.user_id.clone()))
            .map(|id| async move {
                let found = userflow.get_user(&id).await.map(|_| ());
                (id, found)
            })
            .buffered(USERFLOW_CONCURRENCY)
            .collect()
            .await;
    let mut userflow_found = Vec::new();
    for (id, answer) in answers {
        match answer {
            Ok(()) => userflow_found.push(id),
            Err(UserflowError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    braze_found.sort();
    braze_found.dedup();
    let clean = braze_found.is_empty() && userflow_found.is_empty();
    Ok(Verification {
        at: Utc::now(),
        braze_found,
        userflow_found,
        clean,
    })
}
