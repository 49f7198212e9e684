//! Erasure messages that are not requests this relay can run: recorded under
//! `erasure/rejected/<message id>.json` in the state bucket with the reason, then
//! acknowledged (redelivering them could never make them readable).
//!
//! The body is kept so the request can be repaired and sent again: it may name the person
//! (an email), which is why it goes to the state bucket and never to a log.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::request::REJECTED_FOLDER;
use crate::queue::dead_letters::message_key;
use crate::store::{ObjectStore, StoreError};

/// Where rejected messages are recorded.
pub fn rejected_prefix() -> String {
    format!("erasure/{REJECTED_FOLDER}/")
}

/// The record of one rejected message.
#[derive(Debug, Serialize)]
pub struct RejectedMessage<'a> {
    /// SQS's message id.
    pub message_id: &'a str,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Why it cannot be run.
    pub reason: String,
    /// The body as received.
    pub body: &'a str,
}

impl RejectedMessage<'_> {
    /// The record's key.
    pub fn key(&self) -> String {
        format!("{}{}.json", rejected_prefix(), message_key(self.message_id))
    }

    /// Writes the record (replacing one from an earlier delivery of the same message).
    pub async fn record<S: ObjectStore>(&self, store: &S) -> Result<(), StoreError> {
        let body = Bytes::from(serde_json::to_vec_pretty(self).expect("records serialise"));
        store.put(&self.key(), body, "application/json").await
    }
}
