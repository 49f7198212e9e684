//! [`JobQueue`] over SQS, its client built on first use when asked.

use std::sync::{Arc, LazyLock};

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::batch::{BatchAnswer, EntryFailure, RETRY_BACKOFF, send_packed};
use super::{JobQueue, QueueError, SendReport};
use crate::aws::{classify_sdk_error, sqs_client};
use relay_clients::upstream::FailureClass;

/// An SQS client built when first used.
type LazyClient = LazyLock<aws_sdk_sqs::Client, Box<dyn FnOnce() -> aws_sdk_sqs::Client + Send>>;

/// [`JobQueue`] over one SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Arc<LazyClient>,
    queue_url: String,
}

impl SqsQueue {
    /// A queue at `queue_url`; build the client with [`sqs_client`].
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsQueue {
        SqsQueue::with_client(Box::new(move || client), queue_url.into())
    }

    /// A queue at `queue_url` whose client ([`sqs_client`] of `sdk`) is built on the first
    /// send: for a function that only sends when something goes wrong (crm-signup parks),
    /// which then does not pay for an SQS client at every cold start.
    pub fn connect_on_first_send(
        sdk: &aws_config::SdkConfig,
        queue_url: impl Into<String>,
    ) -> SqsQueue {
        let sdk = sdk.clone();
        SqsQueue::with_client(Box::new(move || sqs_client(&sdk)), queue_url.into())
    }

    fn with_client(
        client: Box<dyn FnOnce() -> aws_sdk_sqs::Client + Send>,
        queue_url: String,
    ) -> SqsQueue {
        SqsQueue {
            client: Arc::new(LazyLock::new(client)),
            queue_url,
        }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// One `SendMessageBatch` call for `batch` (indexes into `bodies`, also the entry ids).
    async fn call(&self, bodies: &[String], batch: Vec<usize>) -> Result<BatchAnswer, QueueError> {
        let entries = batch
            .iter()
            .map(|&index| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(bodies[index].clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::new(FailureClass::Permanent, e.to_string()))?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                let (class, detail) = classify_sdk_error(&e);
                QueueError::new(class, format!("SendMessageBatch: {detail}"))
            })?;
        Ok(BatchAnswer {
            successful: output
                .successful()
                .iter()
                .filter_map(|entry| entry.id().parse().ok())
                .collect(),
            failed: output
                .failed()
                .iter()
                .filter_map(|entry| {
                    Some(EntryFailure {
                        index: entry.id().parse().ok()?,
                        sender_fault: entry.sender_fault(),
                        detail: format!(
                            "{}: {}",
                            entry.code(),
                            entry.message().unwrap_or("no message")
                        ),
                    })
                })
                .collect(),
        })
    }
}

impl JobQueue for SqsQueue {
    async fn keep_hidden(
        &self,
        receipt_handles: &[String],
        hidden_for: std::time::Duration,
    ) -> usize {
        let keyed: Vec<(usize, String)> = receipt_handles.iter().cloned().enumerate().collect();
        let report =
            super::receipts::change_visibility(&self.client, &self.queue_url, &keyed, hidden_for)
                .await;
        for (_, error) in &report.failed {
            tracing::warn!(%error, "a message's visibility was not extended");
        }
        report.done.len()
    }

    async fn send(&self, bodies: &[String]) -> SendReport {
        send_packed(bodies, &RETRY_BACKOFF, |batch| self.call(bodies, batch)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn when_a_queue_builds_its_client_on_first_send_then_clones_share_one_build() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let queue = SqsQueue::with_client(
            Box::new(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                sqs_client(&aws_config::SdkConfig::builder().build())
            }),
            "https://sqs.example/123/q".into(),
        );
        let copy = queue.clone();
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before use");

        LazyLock::force(&copy.client);
        LazyLock::force(&queue.client);

        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
