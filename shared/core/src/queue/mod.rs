//! A small job queue over SQS. Handlers are generic over [`JobQueue`] so unit tests can use
//! `MemoryQueue` (feature `test-util`); everything else uses [`SqsQueue`] (moto on loopback in
//! tests).
//!
//! CONTRACT (filled in by the store/queue work): `SqsQueue::send` packs bodies into
//! `SendMessageBatch` calls (at most 10 entries and 256 KiB per call), sends the calls
//! concurrently, retries the entries SQS reports as failed with `SenderFault = false` a few
//! times, and returns which inputs could not be sent. A body over 256 KiB is refused
//! (permanent) without being sent.
//!
//! - this module: the [`JobQueue`] trait, its [`SendReport`] and [`QueueError`], and the
//!   checks every body passes ([`check_body`]).
//! - `batch`: packing bodies into `SendMessageBatch` calls, and the send loop with its retries,
//!   independent of SQS.
//! - `sqs`: [`SqsQueue`], over the `aws` module's SQS client and error classification.
//! - [`setup`]: creating a queue and its dead-letter queue (`relay local`).
//! - `memory`: `MemoryQueue`, the in-memory test double (`cfg(test)` or feature `test-util`).
//! - [`dead_letters`]: a queue's dead-letter queue: list, replay, purge (`relay dlq`), and the
//!   record of a message's last failed attempt.

use std::future::Future;

use relay_clients::upstream::FailureClass;

mod batch;
mod call_error;
pub mod dead_letters;
#[cfg(any(test, feature = "test-util"))]
mod memory;
pub mod receipts;
pub mod setup;
mod sqs;

pub use batch::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, pack_batches};
pub use call_error::SqsCallError;
#[cfg(any(test, feature = "test-util"))]
pub use memory::MemoryQueue;
pub use sqs::SqsQueue;

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

/// The operations the functions need from SQS.
pub trait JobQueue: Send + Sync {
    /// Enqueues every body; see [`SendReport`].
    fn send(&self, bodies: &[String]) -> impl Future<Output = SendReport> + Send;

    /// Keeps the received messages `receipt_handles` hidden for `hidden_for` from now
    /// (`ChangeMessageVisibility`), so a message worked on longer than the queue's visibility
    /// timeout is not delivered again meanwhile. Returns how many SQS accepted; best effort
    /// (a message that stays visible is delivered again, which the work must tolerate).
    fn keep_hidden(
        &self,
        receipt_handles: &[String],
        hidden_for: std::time::Duration,
    ) -> impl Future<Output = usize> + Send;
}

impl QueueError {
    /// A queue error of `class`.
    pub fn new(class: FailureClass, detail: impl Into<String>) -> QueueError {
        QueueError {
            class,
            detail: detail.into(),
        }
    }
}

/// Refuses what SQS would refuse for a body in any case: empty, larger than
/// [`MAX_MESSAGE_BYTES`], or holding characters outside SQS's allowed set (`#x9 | #xA | #xD |
/// #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`). Checked before sending so one bad body
/// cannot fail the other entries of its batch call.
pub fn check_body(body: &str) -> Result<(), QueueError> {
    if body.is_empty() {
        return Err(QueueError::new(
            FailureClass::Permanent,
            "message body is empty",
        ));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::new(
            FailureClass::Permanent,
            format!(
                "message body is {} bytes, over the SQS limit of {MAX_MESSAGE_BYTES}",
                body.len()
            ),
        ));
    }
    let allowed = |c: char| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    if let Some(at) = body.find(|c: char| !allowed(c)) {
        return Err(QueueError::new(
            FailureClass::Permanent,
            format!("message body holds a character SQS refuses at byte {at}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_body_is_empty_too_large_or_has_a_refused_character_then_it_is_permanent() {
        assert!(check_body("{\"job\":1}\n\t").is_ok());
        assert!(check_body("emoji \u{1F600} and é").is_ok());
        for bad in [
            String::new(),
            "x".repeat(MAX_MESSAGE_BYTES + 1),
            "a\u{0}b".into(),
        ] {
            let err = check_body(&bad).expect_err("refused");
            assert_eq!(err.class, FailureClass::Permanent);
        }
    }
}
