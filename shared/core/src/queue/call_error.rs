//! One SQS call that failed, the same way for every queue tool (setup, dead letters, receipts).

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use relay_clients::upstream::FailureClass;

use crate::aws::classify_sdk_error;

/// An SQS call that failed: which operation, on which queue, how to treat it, SQS's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SQS {operation} on {queue} failed ({class:?}): {detail}")]
pub struct SqsCallError {
    /// The SQS operation (`GetQueueUrl`, `ReceiveMessage`, `DeleteMessageBatch`, ...).
    pub operation: &'static str,
    /// The queue's URL (or its name, before it has one).
    pub queue: String,
    /// Transient, misconfigured (no such queue, no access) or permanent.
    pub class: FailureClass,
    /// The service's error code and message.
    pub detail: String,
}

impl SqsCallError {
    /// The SDK's error, classified once ([`classify_sdk_error`]).
    pub fn from_sdk<E>(
        operation: &'static str,
        queue: &str,
        error: &SdkError<E, HttpResponse>,
    ) -> SqsCallError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (class, detail) = classify_sdk_error(error);
        SqsCallError {
            operation,
            queue: queue.to_owned(),
            class,
            detail,
        }
    }

    /// An answer that lacks what it must hold (a queue URL, an ARN): permanent.
    pub fn incomplete_answer(operation: &'static str, queue: &str, missing: &str) -> SqsCallError {
        SqsCallError {
            operation,
            queue: queue.to_owned(),
            class: FailureClass::Permanent,
            detail: format!("the answer holds no {missing}"),
        }
    }
}
