//! Parking: contacts that could not be delivered in time (or failed transiently) become
//! `contact` jobs on the sync queue, where the sync-worker replays them through the same
//! delivery path.

use chrono::{DateTime, Utc};

use crate::crm::intake::IntakeContact;
use crate::jobs::{ContactJob, Job};
use crate::queue::{JobQueue, QueueError};

/// Where parked contacts came from, written into every job for logs and replays.
#[derive(Debug, Clone, Copy)]
pub struct ParkedFrom<'a> {
    /// The CRM source.
    pub source: &'a str,
    /// The request that carried them (API Gateway request id).
    pub request_id: &'a str,
    /// When that request was received.
    pub received_at: DateTime<Utc>,
}

/// Some contacts could not be parked: the caller must not acknowledge them (answer 503 so
/// the CRM sends them again).
#[derive(Debug, thiserror::Error)]
#[error("{failed} contact(s) could not be parked on the sync queue: {first}")]
pub struct ParkError {
    /// How many were not parked.
    pub failed: usize,
    /// The first failure.
    #[source]
    pub first: QueueError,
}

/// Parks `contacts` as `contact` jobs, each keeping whether its signup event is due. Returns
/// how many were parked; all of them, or an error.
pub async fn park<Q: JobQueue>(
    queue: &Q,
    from: ParkedFrom<'_>,
    contacts: Vec<IntakeContact>,
) -> Result<usize, ParkError> {
    if contacts.is_empty() {
        return Ok(0);
    }
    let bodies: Vec<String> = contacts
        .into_iter()
        .map(|parked| {
            Job::Contact(ContactJob {
                source: from.source.to_owned(),
                request_id: from.request_id.to_owned(),
                received_at: from.received_at,
                is_signup: parked.track_signup,
                contact: parked.contact,
            })
            .encode()
        })
        .collect();
    let mut sent = queue.send(&bodies).await;
    if sent.all_sent() {
        return Ok(bodies.len());
    }
    let failed = sent.failed.len();
    let (_, first) = sent.failed.swap_remove(0);
    tracing::error!(
        failed,
        class = ?first.class,
        "parking on the sync queue failed"
    );
    Err(ParkError { failed, first })
}
