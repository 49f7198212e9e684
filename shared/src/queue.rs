//! A small job queue over SQS. Handlers are generic over [`JobQueue`] so unit tests can use
//! [`MemoryQueue`]; everything else uses [`SqsQueue`] (moto on loopback in tests).
//!
//! CONTRACT (filled in by the store/queue work): `SqsQueue::send` packs bodies into
//! `SendMessageBatch` calls (at most 10 entries and 256 KiB per call), sends the calls
//! concurrently, retries the entries SQS reports as failed with `SenderFault = false` a few
//! times, and returns which inputs could not be sent. A body over 256 KiB is refused
//! (permanent) without being sent.

use std::future::Future;

use crate::upstream::FailureClass;

/// Largest SQS message body, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Outcome of [`JobQueue::send`]: which of the caller's bodies were not enqueued.
#[derive(Debug, Default)]
pub struct SendReport {
    /// Bodies enqueued.
    pub sent: usize,
    /// Indexes (into the caller's slice) of bodies not enqueued, with why.
    pub failed: Vec<(usize, QueueError)>,
}

impl SendReport {
    /// Whether every body was enqueued.
    pub fn all_sent(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Why a message was not enqueued.
#[derive(Debug, Clone, thiserror::Error)]
#[error("queue send failed ({class:?}): {detail}")]
pub struct QueueError {
    /// Transient (retry later) or permanent (e.g. too large).
    pub class: FailureClass,
    /// The service's error code and message (never the body).
    pub detail: String,
}

/// The operation the functions need from SQS.
pub trait JobQueue: Send + Sync {
    /// Enqueues every body; see [`SendReport`].
    fn send(&self, bodies: &[String]) -> impl Future<Output = SendReport> + Send;
}
