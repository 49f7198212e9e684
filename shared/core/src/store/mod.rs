//! A small object store over S3: the relay's state (markers, records of failures, later
//! manifests and receipts). Handlers are generic over [`ObjectStore`] so unit tests can use
//! `MemoryStore` (feature `test-util`); everything else uses [`S3Store`] (moto on loopback in
//! tests).
//!
//! CONTRACT (filled in by the store/queue work): `S3Store` and `MemoryStore` implement
//! [`ObjectStore`]. Keys are relative to the store's bucket. Errors say which operation and
//! key failed and are classed transient (throttling, 5xx, timeouts, dispatch) or permanent.
//!
//! - this module: the [`ObjectStore`] trait and its [`StoreError`].
//! - `s3`: [`S3Store`], over the `aws` module's S3 client and error classification.
//! - [`setup`]: creating the bucket (`relay local`).
//! - `memory`: `MemoryStore`, the in-memory test double (`cfg(test)` or feature `test-util`).

use std::future::Future;

use bytes::Bytes;

use relay_clients::upstream::FailureClass;

#[cfg(any(test, feature = "test-util"))]
mod memory;
mod s3;
pub mod setup;

#[cfg(any(test, feature = "test-util"))]
pub use memory::MemoryStore;
pub use s3::{Encryption, S3Store};

/// Result of [`ObjectStore::put_if_absent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutIfAbsent {
    /// The object did not exist and now holds the body, at this version (for a later
    /// compare-and-swap, without reading the object back).
    Created(Version),
    /// An object with that key already existed; nothing was written.
    AlreadyExists,
}

/// An object's version as the store reports it (S3: the ETag), for [`ObjectStore::put_if_match`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub String);

/// An object read with its version ([`ObjectStore::get_versioned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The body.
    pub body: Bytes,
    /// Its version.
    pub version: Version,
}

/// Result of [`ObjectStore::put_if_match`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutIfMatch {
    /// The object still had the expected version and now holds the body, at this version
    /// (the next compare-and-swap's, without reading the object back).
    Written(Version),
    /// Somebody changed (or deleted) the object since it was read; nothing was written.
    Changed,
}

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
#[error("object store {operation} of {key} failed ({class:?}): {detail}")]
pub struct StoreError {
    /// `put`, `put_if_absent`, `put_if_match`, `get`, `get_versioned`, `delete`, `list`, `list_folders` (and `head_bucket`, `create_bucket`
    /// from [`setup`]).
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

    /// Writes `body` at `key` only if the object still has `version` (S3 `If-Match`): a
    /// compare-and-swap, so two writers updating one document cannot lose each other's change.
    fn put_if_match(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        version: &Version,
    ) -> impl Future<Output = Result<PutIfMatch, StoreError>> + Send;

    /// Reads the object at `key`; `None` when it does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + Send;

    /// Reads the object at `key` with its version, for a later [`ObjectStore::put_if_match`].
    fn get_versioned(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// Deletes the object at `key` (no error when it does not exist).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every key under `prefix`, in lexicographic order (all pages).
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// The folders directly under `prefix` (`<prefix><name>/`), in lexicographic order: S3's
    /// common prefixes with the delimiter `/`, so the keys inside them are not listed.
    fn list_folders(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

impl StoreError {
    /// A store error for `operation` on `key`.
    pub fn new(
        operation: &'static str,
        key: impl Into<String>,
        class: FailureClass,
        detail: impl Into<String>,
    ) -> StoreError {
        StoreError {
            operation,
            key: key.into(),
            class,
            detail: detail.into(),
        }
    }
}

/// The values of [`StoreError::operation`], one per [`ObjectStore`] method (the names
/// `MemoryStore::fail_next` accepts).
pub const OPERATIONS: [&str; 8] = [
    "put",
    "put_if_absent",
    "put_if_match",
    "get",
    "get_versioned",
    "delete",
    "list",
    "list_folders",
];
