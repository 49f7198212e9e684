//! A small object store over S3: the relay's state (markers, records of failures, later
//! manifests and receipts). Handlers are generic over [`ObjectStore`] so unit tests can use
//! [`MemoryStore`]; everything else uses [`S3Store`] (moto on loopback in tests).
//!
//! CONTRACT (filled in by the store/queue work): `S3Store` and `MemoryStore` implement
//! [`ObjectStore`]. Keys are relative to the store's bucket. Errors say which operation and
//! key failed and are classed transient (throttling, 5xx, timeouts, dispatch) or permanent.

use std::future::Future;

use bytes::Bytes;

use crate::upstream::FailureClass;

/// Result of [`ObjectStore::put_if_absent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutIfAbsent {
    /// The object did not exist and now holds the body.
    Created,
    /// An object with that key already existed; nothing was written.
    AlreadyExists,
}

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
#[error("object store {operation} of {key} failed ({class:?}): {detail}")]
pub struct StoreError {
    /// `put`, `put_if_absent`, `get`, `delete`, `list`.
    pub operation: &'static str,
    /// The key (keys never hold personal data: ids are hashed before they become keys).
    pub key: String,
    /// Transient (retry later) or permanent.
    pub class: FailureClass,
    /// The service's error code and message.
    pub detail: String,
}

/// The operations the functions need from S3.
pub trait ObjectStore: Send + Sync {
    /// Writes `body` at `key`, replacing what was there.
    fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes `body` at `key` only if no object has that key (S3 `If-None-Match: *`).
    fn put_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> impl Future<Output = Result<PutIfAbsent, StoreError>> + Send;

    /// Reads the object at `key`; `None` when it does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + Send;

    /// Deletes the object at `key` (no error when it does not exist).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every key under `prefix`, in lexicographic order (all pages).
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}
