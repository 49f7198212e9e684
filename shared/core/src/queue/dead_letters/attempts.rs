//! The record of a message's last failed attempt: `failed/attempts/<message id>.json` in the
//! state bucket.
//!
//! sync-worker and deletion-worker write it whenever they hand a message back to SQS (a
//! batch item failure). SQS
//! keeps the message id when it moves a message to the dead-letter queue, so `relay dlq list`
//! finds, for each dead letter, why it failed the last time. The record holds counts, failure
//! classes and statuses, never a person's data.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::ObjectStore;

/// Key prefix of the records.
pub const FAILED_ATTEMPTS_PREFIX: &str = "failed/attempts/";

/// Why a message was handed back to SQS the last time it was tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// The SQS message id (kept when SQS moves the message to the dead-letter queue).
    pub message_id: String,
    /// When the attempt was recorded.
    pub recorded_at: DateTime<Utc>,
    /// SQS's `ApproximateReceiveCount` at that attempt, when the event carried it.
    #[serde(default)]
    pub receive_count: Option<u64>,
    /// What happened, in a few words (`no contact finished`, `the unfinished remainder could
    /// not be parked`, ...).
    pub reason: String,
    /// The failures counted by step and class with the first detail of each (statuses and
    /// codes), e.g. `braze:transient=2 (first: status 503)`; empty when none was counted.
    #[serde(default)]
    pub failures: String,
    /// Contacts the message holds (0 when it is not a readable job).
    #[serde(default)]
    pub contacts: usize,
    /// Of those, the ones not finished at that attempt.
    #[serde(default)]
    pub unfinished: usize,
}

impl FailedAttempt {
    /// The record's key for `message_id`.
    pub fn key(message_id: &str) -> String {
        format!("{FAILED_ATTEMPTS_PREFIX}{}.json", message_key(message_id))
    }

    /// Writes the record of every message handed back to SQS, concurrently. A record that
    /// cannot be written is logged: the message is redelivered whether or not it exists.
    pub async fn record_all<S: ObjectStore>(store: &S, attempts: &[FailedAttempt]) {
        let writes = attempts.iter().map(|attempt| async move {
            let key = FailedAttempt::key(&attempt.message_id);
            let body = Bytes::from(serde_json::to_vec_pretty(attempt).expect("records serialise"));
            if let Err(error) = store.put(&key, body, "application/json").await {
                tracing::error!(key, class = ?error.class, "failed-attempt record not written");
            }
        });
        futures::future::join_all(writes).await;
    }

    /// Deletes the records of messages that finally succeeded (a message acknowledged after
    /// an earlier failure is not a failure any more, and `relay dlq list` must not show a
    /// stale record). Best effort: a record not deleted is logged and only costs storage.
    pub async fn forget_all<S: ObjectStore>(store: &S, message_ids: &[&str]) {
        let deletes = message_ids.iter().map(|id| async move {
            let key = FailedAttempt::key(id);
            if let Err(error) = store.delete(&key).await {
                tracing::warn!(key, class = ?error.class, "failed-attempt record of an acknowledged message not deleted");
            }
        });
        futures::future::join_all(deletes).await;
    }

    /// One line for an operator: the reason, then the failures when there are any.
    pub fn summary(&self) -> String {
        if self.failures.is_empty() {
            self.reason.clone()
        } else {
            format!("{}: {}", self.reason, self.failures)
        }
    }
}

/// A message id as a key segment: SQS message ids are UUIDs; anything else is reduced to
/// `[A-Za-z0-9-]` (at most 128 characters), and an id with nothing left is `no-message-id`.
pub fn message_key(message_id: &str) -> String {
    let cleaned: String = message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(128)
        .collect();
    if cleaned.is_empty() {
        "no-message-id".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_message_id_holds_path_characters_then_the_key_drops_them() {
        assert_eq!(
            FailedAttempt::key("6f1c-4a/../x y"),
            "failed/attempts/6f1c-4axy.json"
        );
        assert_eq!(FailedAttempt::key(""), "failed/attempts/no-message-id.json");
    }

    #[test]
    fn when_a_record_lacks_the_optional_fields_then_it_still_reads() {
        let record: FailedAttempt = serde_json::from_str(
            r#"{"message_id":"m-1","recorded_at":"2026-11-22T10:00:00Z","reason":"no contact finished","later_field":1}"#,
        )
        .unwrap();
        assert_eq!(record.receive_count, None);
        assert_eq!(record.summary(), "no contact finished");
        let with_failures = FailedAttempt {
            failures: "braze:transient=1 (first: status 503)".into(),
            ..record
        };
        assert_eq!(
            with_failures.summary(),
            "no contact finished: braze:transient=1 (first: status 503)"
        );
    }
}
