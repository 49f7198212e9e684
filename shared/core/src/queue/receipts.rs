//! Acting on received messages by their receipt handles: deleting them, or changing their
//! visibility (a heartbeat keeping them hidden, or 0 to make them visible again at once).
//! Calls go in batches of [`MAX_BATCH_ENTRIES`] (SQS's limit); the report says, per entry of
//! the caller, whether SQS did it and why not. Used by the dead-letter reader (`relay dlq`)
//! and `relay local`'s pollers.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
};

use super::{MAX_BATCH_ENTRIES, SqsCallError};

/// The longest visibility timeout SQS accepts (12 hours).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// Why SQS did not act on one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// SQS refused this entry (e.g. `ReceiptHandleIsInvalid`); the others of its call may
    /// have succeeded.
    #[error("{code}: {message}")]
    Refused {
        /// SQS's error code.
        code: String,
        /// SQS's message, or "no message".
        message: String,
        /// Whether SQS blames the request (not worth retrying as is).
        sender_fault: bool,
    },
    /// The whole call failed: every entry of it is reported with this.
    #[error(transparent)]
    Call(#[from] SqsCallError),
    /// The request could not be built.
    #[error("SQS request could not be built: {0}")]
    Request(String),
}

/// What one [`delete`] or [`change_visibility`] did, per caller key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptReport<K> {
    /// The keys SQS acted on.
    pub done: Vec<K>,
    /// The keys it did not act on, with why.
    pub failed: Vec<(K, ReceiptError)>,
}

impl<K> Default for ReceiptReport<K> {
    fn default() -> Self {
        ReceiptReport {
            done: Vec::new(),
            failed: Vec::new(),
        }
    }
}

/// Deletes the messages `receipts` (caller key, receipt handle) from `queue_url`.
pub async fn delete<K: Clone>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipts: &[(K, String)],
) -> ReceiptReport<K> {
    in_batches(receipts, |entries| async move {
        let request = entries
            .into_iter()
            .map(|(id, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ReceiptError::Request(error.to_string()))?;
        sqs.delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(request))
            .send()
            .await
            .map(|output| output.failed)
            .map_err(|error| SqsCallError::from_sdk("DeleteMessageBatch", queue_url, &error).into())
    })
    .await
}

/// Sets the visibility timeout of the messages `receipts` (caller key, receipt handle) to
/// `visibility` (whole seconds, at most [`MAX_VISIBILITY`]; zero makes them visible at once).
pub async fn change_visibility<K: Clone>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipts: &[(K, String)],
    visibility: Duration,
) -> ReceiptReport<K> {
    let seconds = i32::try_from(visibility.min(MAX_VISIBILITY).as_secs()).unwrap_or(43_200);
    in_batches(receipts, |entries| async move {
        let request = entries
            .into_iter()
            .map(|(id, handle)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .visibility_timeout(seconds)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ReceiptError::Request(error.to_string()))?;
        sqs.change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(request))
            .send()
            .await
            .map(|output| output.failed)
            .map_err(|error| {
                SqsCallError::from_sdk("ChangeMessageVisibilityBatch", queue_url, &error).into()
            })
    })
    .await
}

/// Calls `call` once per [`MAX_BATCH_ENTRIES`] receipts with (entry id, receipt handle) pairs
/// and maps the entries SQS refused back to the caller's keys.
async fn in_batches<K, F, Fut>(receipts: &[(K, String)], mut call: F) -> ReceiptReport<K>
where
    K: Clone,
    F: FnMut(Vec<(String, String)>) -> Fut,
    Fut: Future<Output = Result<Vec<BatchResultErrorEntry>, ReceiptError>>,
{
    let mut report = ReceiptReport::default();
    for chunk in receipts.chunks(MAX_BATCH_ENTRIES) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(at, (_, handle))| (at.to_string(), handle.clone()))
            .collect();
        match call(entries).await {
            Ok(refused) => {
                let refused: HashMap<&str, &BatchResultErrorEntry> =
                    refused.iter().map(|entry| (entry.id(), entry)).collect();
                for (at, (key, _)) in chunk.iter().enumerate() {
                    match refused.get(at.to_string().as_str()) {
                        Some(entry) => report.failed.push((
                            key.clone(),
                            ReceiptError::Refused {
                                code: entry.code().to_owned(),
                                message: entry.message().unwrap_or("no message").to_owned(),
                                sender_fault: entry.sender_fault(),
                            },
                        )),
                        None => report.done.push(key.clone()),
                    }
                }
            }
            Err(error) => report
                .failed
                .extend(chunk.iter().map(|(key, _)| (key.clone(), error.clone()))),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipts(count: usize) -> Vec<(usize, String)> {
        (0..count).map(|n| (n, format!("handle-{n}"))).collect()
    }

    fn refusal(id: &str) -> BatchResultErrorEntry {
        BatchResultErrorEntry::builder()
            .id(id)
            .code("ReceiptHandleIsInvalid")
            .sender_fault(true)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn when_receipts_exceed_one_call_then_they_go_in_calls_of_max_batch_entries() {
        let mut calls = Vec::new();
        let report = in_batches(&receipts(23), |entries| {
            calls.push(entries);
            async { Ok(Vec::new()) }
        })
        .await;
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_BATCH_ENTRIES, MAX_BATCH_ENTRIES, 3]);
        assert_eq!(calls[1][0].1, "handle-10");
        assert_eq!(report.done, (0..23).collect::<Vec<_>>());
        assert!(report.failed.is_empty());
    }

    #[tokio::test]
    async fn when_sqs_refuses_one_entry_then_only_its_key_is_reported_failed() {
        let mut call = 0;
        let report = in_batches(&receipts(12), |_| {
            call += 1;
            let refused = if call == 2 {
                vec![refusal("1")]
            } else {
                Vec::new()
            };
            async move { Ok(refused) }
        })
        .await;
        assert_eq!(report.done.len(), 11);
        assert!(!report.done.contains(&11));
        let [(key, ReceiptError::Refused { code, message, .. })] = report.failed.as_slice() else {
            panic!("{:?}", report.failed);
        };
        assert_eq!((*key, code.as_str()), (11, "ReceiptHandleIsInvalid"));
        assert_eq!(message, "no message");
    }

    #[tokio::test]
    async fn when_a_call_fails_then_every_entry_of_that_call_is_reported_with_its_error() {
        let mut call = 0;
        let report = in_batches(&receipts(12), |_| {
            call += 1;
            let failed = call == 1;
            async move {
                if failed {
                    Err(ReceiptError::Request("no receipt handle".into()))
                } else {
                    Ok(Vec::new())
                }
            }
        })
        .await;
        assert_eq!(report.done, [10, 11]);
        let failed: Vec<usize> = report.failed.iter().map(|(key, _)| *key).collect();
        assert_eq!(failed, (0..10).collect::<Vec<_>>());
        assert_eq!(
            report.failed[0].1,
            ReceiptError::Request("no receipt handle".into())
        );
    }
}
