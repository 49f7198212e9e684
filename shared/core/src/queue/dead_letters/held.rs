//! Reading a queue without consuming it: messages are received in rounds of ten under a
//! visibility timeout (hidden, not deleted), remembered by message id with their latest
//! receipt handle, and at the end either deleted or made visible again at once
//! (`ChangeMessageVisibility` 0). A message the run did not delete is back in the queue when
//! the run ends, or at the latest when its visibility timeout runs out (if the run dies).

use crate::queue::SqsCallError;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use chrono::{DateTime, Utc};

use super::{DeadLetter, DeadLetterError};
use crate::queue::MAX_BATCH_ENTRIES;
use crate::queue::receipts::{self, ReceiptError};

/// Most messages one `ReceiveMessage` returns.
const BATCH: usize = MAX_BATCH_ENTRIES;

/// Long polling on every receive: a receive that waits asks every SQS server, so an empty
/// answer means an empty queue (a short poll samples a few servers and may miss messages).
const WAIT_SECONDS: i32 = 1;

/// Receives in a row that bring nothing new (only messages already held, whose hold ran out)
/// before the queue is taken as read.
const STALE_ROUNDS: usize = 3;

/// The messages one run holds hidden on one queue.
pub(super) struct Holder<'q> {
    sqs: &'q aws_sdk_sqs::Client,
    queue_url: &'q str,
    visibility: i32,
    /// Message id -> its latest receipt handle, for every message held and not deleted.
    held: HashMap<String, String>,
}

impl<'q> Holder<'q> {
    /// A holder that hides what it receives for `visibility` (whole seconds, at most 12 h).
    pub(super) fn new(
        sqs: &'q aws_sdk_sqs::Client,
        queue_url: &'q str,
        visibility: Duration,
    ) -> Holder<'q> {
        Holder {
            sqs,
            queue_url,
            visibility: i32::try_from(visibility.as_secs().min(43_200)).unwrap_or(43_200),
            held: HashMap::new(),
        }
    }

    /// The next messages this run has not seen, at most ten; `None` once the queue gives
    /// nothing new.
    pub(super) async fn next_round(&mut self) -> Result<Option<Vec<DeadLetter>>, DeadLetterError> {
        for _ in 0..STALE_ROUNDS {
            let received = self
                .sqs
                .receive_message()
                .queue_url(self.queue_url)
                .max_number_of_messages(BATCH as i32)
                .visibility_timeout(self.visibility)
                .wait_time_seconds(WAIT_SECONDS)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| SqsCallError::from_sdk("ReceiveMessage", self.queue_url, &e))?;
            let messages = received.messages();
            if messages.is_empty() {
                return Ok(None);
            }
            let mut fresh = Vec::new();
            for message in messages {
                let (Some(id), Some(handle)) = (message.message_id(), message.receipt_handle())
                else {
                    continue;
                };
                if self.held.insert(id.to_owned(), handle.to_owned()).is_none() {
                    fresh.push(letter(id, message));
                }
            }
            if !fresh.is_empty() {
                return Ok(Some(fresh));
            }
        }
        Ok(None)
    }

    /// Deletes the held messages `ids`; returns the ids deleted and, for the others, why not.
    /// Deleted messages are no longer held; the others stay held (released by
    /// [`Holder::release_all`]).
    pub(super) async fn delete(&mut self, ids: &[String]) -> (Vec<String>, Vec<(String, String)>) {
        let entries: Vec<(String, String)> = ids
            .iter()
            .filter_map(|id| self.held.get(id).map(|handle| (id.clone(), handle.clone())))
            .collect();
        let report = receipts::delete(self.sqs, self.queue_url, &entries).await;
        for id in &report.done {
            self.held.remove(id);
        }
        let failed = report
            .failed
            .into_iter()
            .map(|(id, why)| (id, why.to_string()))
            .collect();
        (report.done, failed)
    }

    /// Makes every message still held visible again at once; returns how many could not be
    /// released (they come back when their visibility timeout runs out).
    pub(super) async fn release_all(self) -> usize {
        let entries: Vec<((), String)> =
            self.held.into_values().map(|handle| ((), handle)).collect();
        let report =
            receipts::change_visibility(self.sqs, self.queue_url, &entries, Duration::ZERO).await;
        if let Some((_, error)) = report
            .failed
            .iter()
            .find(|(_, error)| matches!(error, ReceiptError::Call(_)))
        {
            tracing::warn!(%error, "messages not released; they return after their visibility timeout");
        }
        report.failed.len()
    }
}

/// A received message as a [`DeadLetter`].
fn letter(id: &str, message: &Message) -> DeadLetter {
    let attribute = |name: MessageSystemAttributeName| {
        message
            .attributes()
            .and_then(|attributes| attributes.get(&name))
            .map(String::as_str)
    };
    DeadLetter {
        message_id: id.to_owned(),
        body: message.body().unwrap_or_default().to_owned(),
        receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
            .and_then(|count| count.parse().ok()),
        sent_at: attribute(MessageSystemAttributeName::SentTimestamp)
            .and_then(|millis| millis.parse().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis),
    }
}
