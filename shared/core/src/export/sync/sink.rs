//! Where a file's users go, by the export's action: Userflow upserts (`userflow_sync`) or
//! erasure requests on the erasure queue (`erase`), one line at a time under the file's
//! concurrency.
//!
//! An erasure request is one SQS message per user: erasures are bounded by Braze's 250
//! lookups a minute downstream, so packing ten per call would save nothing that matters and
//! would tie ten lines' fates together. Its request id is derived from the export job and
//! the user's id, so a line sent twice (a redelivered file) names the same request, which the
//! deletion-worker runs once.

use chrono::{DateTime, Utc};
use relay_clients::upstream::FailureClass;
use relay_clients::userflow::{UserUpsertBody, UserflowClient, UserflowError};

use super::super::line::{LineError, LineIdentity};
use super::super::manifest::JobId;
use crate::erasure::{ErasureRequest, RequestId, Subject};
use crate::queue::{JobQueue, QueueError};

/// What one line sends.
pub(super) enum Delivery {
    /// A Userflow `POST /users` body.
    Upsert(UserUpsertBody),
    /// An erasure request's message body.
    Erasure(String),
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum SinkError {
    /// Userflow refused or failed the upsert.
    #[error("Userflow: {0}")]
    Userflow(#[from] UserflowError),
    /// The erasure queue did not take the request.
    #[error("erasure queue: {0}")]
    Queue(#[from] QueueError),
}

impl SinkError {
    /// Transient, throttled, permanent or misconfigured.
    pub(super) fn class(&self) -> FailureClass {
        match self {
            SinkError::Userflow(error) => error.class(),
            SinkError::Queue(error) => error.class,
        }
    }

    /// The reject reason of a line refused for good.
    pub(super) fn reason(&self) -> &'static str {
        match self {
            SinkError::Userflow(_) => "userflow_refused",
            SinkError::Queue(_) => "queue_refused",
        }
    }
}

/// Sends one line's delivery.
pub(super) async fn deliver<Q: JobQueue>(
    userflow: &UserflowClient,
    erasures: Option<&Q>,
    delivery: &Delivery,
) -> Result<(), SinkError> {
    match delivery {
        Delivery::Upsert(body) => Ok(userflow.send_user_upsert_body(body).await?),
        Delivery::Erasure(message) => {
            let Some(queue) = erasures else {
                return Err(QueueError::new(
                    FailureClass::Misconfigured,
                    "no erasure queue is configured (ERASURE_QUEUE_URL)",
                )
                .into());
            };
            match queue.send(std::slice::from_ref(message)).await.failed.pop() {
                None => Ok(()),
                Some((_, error)) => Err(error.into()),
            }
        }
    }
}

/// The erasure request of an exported user of export `job`: by external id when it has one
/// (its lookups are shared 50 to a call), else by Braze id.
pub(super) fn erasure_of(
    job: &JobId,
    identity: &LineIdentity,
    now: DateTime<Utc>,
) -> Result<ErasureRequest, LineError> {
    let (subject, key) = match (&identity.external_id, &identity.braze_id) {
        (Some(id), _) => (Subject::ExternalId(id.clone()), format!("external_id:{id}")),
        (None, Some(id)) => (Subject::BrazeId(id.clone()), format!("braze_id:{id}")),
        (None, None) => return Err(LineError::NoIdentifier),
    };
    let origin = format!("export {job}");
    Ok(ErasureRequest {
        request_id: RequestId::derived(&origin, &key),
        subject,
        requested_at: now,
        origin,
    })
}
