//! What Salesforce Outbound Messages need beyond parsing: the SOAP acknowledgement, and
//! markers that recognise a notification Salesforce delivers again.
//!
//! Salesforce resends a message until it gets its Ack, for up to 24 hours, and cannot act on
//! an error answer, so a notification handled once is remembered (a marker object per
//! notification id) and skipped when it comes back.

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::Record;
use crate::store::ObjectStore;

/// Key prefix of Salesforce notification markers (dedupe across redeliveries).
pub const NOTIFICATION_MARKER_PREFIX: &str = "markers/salesforce/";

/// The SOAP acknowledgement Salesforce waits for; one covers every notification.
pub const ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

/// The content type of [`ACK`].
pub const ACK_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Markers and checks run concurrently, at most this many at once.
const STORE_CONCURRENCY: usize = 16;

/// The marker key of a Salesforce notification: source plus the hashed notification id.
pub fn notification_marker_key(source: &str, notification_id: &str) -> String {
    format!(
        "{NOTIFICATION_MARKER_PREFIX}{source}/{}",
        hex::encode(Sha256::digest(notification_id.as_bytes()))
    )
}

/// Records that were not handled before, and the markers to write once they are.
#[derive(Debug, Default)]
pub struct NewNotifications {
    /// The records to process.
    pub records: Vec<Record>,
    /// Marker keys to write with [`remember_notifications`] once the request is safely
    /// handled.
    pub markers: Vec<String>,
    /// Records skipped because their notification was handled before.
    pub redelivered: usize,
}

/// Drops records whose notification was handled before (its marker exists). Records without
/// a notification id are always kept. A store error reads as "not seen": the contact is
/// processed again, which is safe (delivery is idempotent) where skipping it could lose it.
pub async fn skip_redelivered<S: ObjectStore>(
    store: &S,
    source: &str,
    records: Vec<Record>,
) -> NewNotifications {
    if records.iter().all(|r| r.dedupe_key.is_none()) {
        return NewNotifications {
            records,
            ..NewNotifications::default()
        };
    }
    let keys: Vec<Option<String>> = records
        .iter()
        .map(|r| {
            r.dedupe_key
                .as_deref()
                .map(|id| notification_marker_key(source, id))
        })
        .collect();
    // Indexes, not references, into the stream: a stream of borrowed items makes the
    // handler's future fail Lambda's `Send + 'static`-style bounds (higher-ranked lifetimes).
    let keys_ref = &keys;
    let seen: Vec<bool> = futures::stream::iter(0..keys.len())
        .map(|index| async move {
            match &keys_ref[index] {
                Some(key) => matches!(store.get(key).await, Ok(Some(_))),
                None => false,
            }
        })
        .buffered(STORE_CONCURRENCY)
        .collect()
        .await;
    let mut new = NewNotifications::default();
    for ((record, key), seen) in records.into_iter().zip(keys).zip(seen) {
        if seen {
            new.redelivered += 1;
        } else {
            new.markers.extend(key);
            new.records.push(record);
        }
    }
    new
}

/// Writes the markers of notifications now safely handled. A failure only loses dedupe (a
/// redelivery is processed again, idempotently), so it is logged, not returned.
pub async fn remember_notifications<S: ObjectStore>(store: &S, keys: &[String]) {
    let stamp = Bytes::from(format!(r#"{{"handled_at":"{}"}}"#, Utc::now().to_rfc3339()));
    let results: Vec<_> = futures::stream::iter(0..keys.len())
        .map(|index| store.put(&keys[index], stamp.clone(), "application/json"))
        .buffered(STORE_CONCURRENCY)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        tracing::warn!(failed, "Salesforce notification markers not written");
    }
}
