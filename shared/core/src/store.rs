//! A small object store over S3: the relay's state (markers, records of failures, later
//! manifests and receipts). Handlers are generic over [`ObjectStore`] so unit tests can use
//! [`MemoryStore`]; everything else uses [`S3Store`] (moto on loopback in tests).
//!
//! CONTRACT (filled in by the store/queue work): `S3Store` and `MemoryStore` implement
//! [`ObjectStore`]. Keys are relative to the store's bucket. Errors say which operation and
//! key failed and are classed transient (throttling, 5xx, timeouts, dispatch) or permanent.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use relay_clients::upstream::FailureClass;

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

// ---------------------------------------------------------------------------------------------
// aws-sdk plumbing shared with `queue`
// ---------------------------------------------------------------------------------------------

/// Per-attempt timeout the relay's AWS clients use unless the `SdkConfig` sets one.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-operation timeout (all SDK retries included) unless the `SdkConfig` sets one.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

/// The `SdkConfig`'s timeouts, with the relay's defaults for the operation and attempt
/// timeouts it leaves unset (the SDK has none by default, so a stuck call would run until the
/// Lambda timeout).
pub(crate) fn timeouts(sdk: &aws_config::SdkConfig) -> TimeoutConfig {
    let configured = sdk
        .timeout_config()
        .map(TimeoutConfig::to_builder)
        .unwrap_or_default();
    let defaults = TimeoutConfig::builder()
        .operation_attempt_timeout(DEFAULT_ATTEMPT_TIMEOUT)
        .operation_timeout(DEFAULT_OPERATION_TIMEOUT);
    configured.take_unset_from(defaults).build()
}

/// Whether an endpoint URL is configured for `service` (`AWS_ENDPOINT_URL`, its
/// service-specific variant such as `AWS_ENDPOINT_URL_S3`, or the `SdkConfig` itself).
pub(crate) fn endpoint_configured(sdk: &aws_config::SdkConfig, service_env_suffix: &str) -> bool {
    sdk.endpoint_url().is_some()
        || std::env::var(format!("AWS_ENDPOINT_URL_{service_env_suffix}"))
            .is_ok_and(|v| !v.trim().is_empty())
}

/// An S3 client from the shared config: path-style addressing whenever an endpoint URL is
/// configured (moto and other S3 look-alikes on loopback need it) and the relay's timeouts
/// (see [`DEFAULT_ATTEMPT_TIMEOUT`], [`DEFAULT_OPERATION_TIMEOUT`]). The SDK's own retries are
/// kept.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk).timeout_config(timeouts(sdk));
    if endpoint_configured(sdk, "S3") {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Service error codes (S3 and SQS) that mean an operator must fix configuration: credentials,
/// permissions, a bucket or queue that does not exist.
const MISCONFIGURED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
    "AuthorizationHeaderMalformed",
    "AWS.SimpleQueueService.NonExistentQueue",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidAddress",
    "InvalidClientTokenId",
    "InvalidSecurity",
    "InvalidToken",
    "KmsAccessDenied",
    "KmsDisabled",
    "KmsInvalidKeyUsage",
    "KmsInvalidState",
    "KmsNotFound",
    "KmsOptInRequired",
    "NoSuchBucket",
    "PermanentRedirect",
    "QueueDoesNotExist",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// Service error codes (S3 and SQS) worth another try: throttling, server faults, timeouts
/// reported as 4xx, S3's conflicting conditional writes.
const TRANSIENT_CODES: &[&str] = &[
    "ConditionalRequestConflict",
    "InternalError",
    "InternalFailure",
    "KmsThrottled",
    "OperationAborted",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestTimeTooSkewed",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "SlowDown",
    "Throttled",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
];

/// Classifies an AWS service error from its code (when the service sent one) and HTTP status.
///
/// The code wins (S3 answers `RequestTimeout` with a 400, SQS a missing queue with a 400);
/// otherwise 408, 429 and 5xx are transient (throttling included: the caller retries later
/// either way), 401 and 403 misconfigured, anything else permanent.
pub fn classify_service_error(code: Option<&str>, status: u16) -> FailureClass {
    if let Some(code) = code {
        if MISCONFIGURED_CODES.contains(&code) {
            return FailureClass::Misconfigured;
        }
        if TRANSIENT_CODES.contains(&code) {
            return FailureClass::Transient;
        }
    }
    match status {
        408 | 429 | 500..=599 => FailureClass::Transient,
        401 | 403 => FailureClass::Misconfigured,
        _ => FailureClass::Permanent,
    }
}

/// The HTTP status of a service or response error, when one was received.
pub(crate) fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|raw| raw.status().as_u16())
}

/// Classifies any aws-sdk error (S3 and SQS share the type) and describes it without any
/// request or response body: `code: message (HTTP status)` for service errors, the kind and
/// cause chain otherwise.
pub(crate) fn classify_sdk_error<E>(err: &SdkError<E, HttpResponse>) -> (FailureClass, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(_) => {
            let status = http_status(err).unwrap_or_default();
            let code = err.code();
            let class = classify_service_error(code, status);
            let detail = format!(
                "{}: {} (HTTP {status})",
                code.unwrap_or("no error code"),
                err.message().unwrap_or("no message")
            );
            (class, detail)
        }
        SdkError::TimeoutError(_) => (
            FailureClass::Transient,
            format!("timed out: {}", DisplayErrorContext(err)),
        ),
        SdkError::DispatchFailure(failure) if failure.is_user() => (
            FailureClass::Misconfigured,
            format!("request could not be sent: {}", DisplayErrorContext(err)),
        ),
        SdkError::DispatchFailure(_) => (
            FailureClass::Transient,
            format!("request could not be sent: {}", DisplayErrorContext(err)),
        ),
        SdkError::ConstructionFailure(_) => (
            // Region, credentials or endpoint missing or invalid: nothing a retry fixes.
            FailureClass::Misconfigured,
            format!("request could not be built: {}", DisplayErrorContext(err)),
        ),
        SdkError::ResponseError(_) => (
            FailureClass::Transient,
            format!(
                "unreadable response (HTTP {}): {}",
                http_status(err).unwrap_or_default(),
                DisplayErrorContext(err)
            ),
        ),
        _ => (
            FailureClass::Transient,
            DisplayErrorContext(err).to_string(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------------------------

/// [`ObjectStore`] over one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    /// A store over `bucket`; build the client with [`s3_client`].
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Store {
        S3Store {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn s3_error<E>(operation: &'static str, key: &str, err: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (class, detail) = classify_sdk_error(err);
    StoreError::new(operation, key, class, detail)
}

impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_error("put", key, &e))?;
        Ok(())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<PutIfAbsent, StoreError> {
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutIfAbsent::Created),
            Err(e) if e.code() == Some("PreconditionFailed") || http_status(&e) == Some(412) => {
                Ok(PutIfAbsent::AlreadyExists)
            }
            // 409 ConditionalRequestConflict (a concurrent write to the key) is transient.
            Err(e) => Err(s3_error("put_if_absent", key, &e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Ok(None);
            }
            Err(e) => return Err(s3_error("get", key, &e)),
        };
        let body = output.body.collect().await.map_err(|e| {
            StoreError::new(
                "get",
                key,
                FailureClass::Transient,
                format!("reading the body failed: {}", DisplayErrorContext(&e)),
            )
        })?;
        Ok(Some(body.into_bytes()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("delete", key, &e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("list", prefix, &e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .map(str::to_owned),
            );
        }
        // S3 lists in UTF-8 binary order already; sorting keeps the promise for look-alikes.
        keys.sort_unstable();
        Ok(keys)
    }
}

// ---------------------------------------------------------------------------------------------
// In memory
// ---------------------------------------------------------------------------------------------

/// The operation names [`MemoryStore::fail_next`] accepts (the values of
/// [`StoreError::operation`]).
pub const OPERATIONS: [&str; 5] = ["put", "put_if_absent", "get", "delete", "list"];

/// [`ObjectStore`] in memory, for handler unit tests: objects with their content types, and
/// injected failures.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, (Bytes, String)>>,
    faults: Mutex<Vec<(&'static str, FailureClass)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }

    /// The body at `key`, without going through the async trait.
    pub fn get_now(&self, key: &str) -> Option<Bytes> {
        lock(&self.objects).get(key).map(|(body, _)| body.clone())
    }

    /// The content type the object at `key` was written with.
    pub fn content_type_of(&self, key: &str) -> Option<String> {
        lock(&self.objects)
            .get(key)
            .map(|(_, content_type)| content_type.clone())
    }

    /// Makes the next call of `operation` (one of [`OPERATIONS`]) fail with `class`, once;
    /// calling it again queues another failure.
    ///
    /// # Panics
    /// When `operation` is not one of [`OPERATIONS`] (a typo would otherwise never fire).
    pub fn fail_next(&self, operation: &'static str, class: FailureClass) {
        assert!(
            OPERATIONS.contains(&operation),
            "unknown store operation {operation:?}; expected one of {OPERATIONS:?}"
        );
        lock(&self.faults).push((operation, class));
    }

    fn injected(&self, operation: &'static str, key: &str) -> Result<(), StoreError> {
        let mut faults = lock(&self.faults);
        match faults.iter().position(|(op, _)| *op == operation) {
            Some(at) => {
                let (_, class) = faults.remove(at);
                Err(StoreError::new(operation, key, class, "injected fault"))
            }
            None => Ok(()),
        }
    }
}

impl ObjectStore for MemoryStore {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StoreError> {
        self.injected("put", key)?;
        lock(&self.objects).insert(key.to_owned(), (body, content_type.to_owned()));
        Ok(())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<PutIfAbsent, StoreError> {
        self.injected("put_if_absent", key)?;
        match lock(&self.objects).entry(key.to_owned()) {
            Entry::Occupied(_) => Ok(PutIfAbsent::AlreadyExists),
            Entry::Vacant(slot) => {
                slot.insert((body, content_type.to_owned()));
                Ok(PutIfAbsent::Created)
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.injected("get", key)?;
        Ok(self.get_now(key))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.injected("delete", key)?;
        lock(&self.objects).remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.injected("list", prefix)?;
        Ok(lock(&self.objects)
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn when_a_code_names_a_missing_bucket_or_denied_access_then_it_is_misconfigured() {
        for code in [
            "NoSuchBucket",
            "AccessDenied",
            "InvalidAccessKeyId",
            "QueueDoesNotExist",
        ] {
            assert_eq!(
                classify_service_error(Some(code), 404),
                FailureClass::Misconfigured,
                "{code}"
            );
        }
        assert_eq!(
            classify_service_error(None, 403),
            FailureClass::Misconfigured
        );
    }

    #[test]
    fn when_s3_throttles_or_fails_then_it_is_transient() {
        assert_eq!(
            classify_service_error(Some("SlowDown"), 503),
            FailureClass::Transient
        );
        assert_eq!(
            classify_service_error(Some("RequestTimeout"), 400),
            FailureClass::Transient
        );
        assert_eq!(
            classify_service_error(Some("ConditionalRequestConflict"), 409),
            FailureClass::Transient
        );
        for status in [500, 502, 503, 429, 408] {
            assert_eq!(
                classify_service_error(None, status),
                FailureClass::Transient
            );
        }
    }

    #[test]
    fn when_the_request_is_wrong_then_it_is_permanent() {
        assert_eq!(
            classify_service_error(Some("InvalidArgument"), 400),
            FailureClass::Permanent
        );
        assert_eq!(
            classify_service_error(Some("EntityTooLarge"), 400),
            FailureClass::Permanent
        );
        assert_eq!(classify_service_error(None, 404), FailureClass::Permanent);
    }

    #[test]
    fn when_the_sdk_config_sets_no_timeouts_then_the_relay_defaults_apply() {
        let sdk = aws_config::SdkConfig::builder().build();
        let t = timeouts(&sdk);
        assert_eq!(t.operation_attempt_timeout(), Some(DEFAULT_ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(DEFAULT_OPERATION_TIMEOUT));

        let sdk = aws_config::SdkConfig::builder()
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(7))
                    .connect_timeout(Duration::from_secs(1))
                    .build(),
            )
            .build();
        let t = timeouts(&sdk);
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(t.operation_attempt_timeout(), Some(DEFAULT_ATTEMPT_TIMEOUT));
    }

    #[test]
    fn when_a_memory_object_is_put_then_get_and_list_see_it() {
        let store = MemoryStore::new();
        block_on(async {
            store
                .put("a/2", Bytes::from_static(b"two"), "text/plain")
                .await
                .expect("put");
            store
                .put("a/1", Bytes::from_static(b"one"), "application/json")
                .await
                .expect("put");
            store
                .put("b/1", Bytes::from_static(b"other"), "text/plain")
                .await
                .expect("put");
            assert_eq!(
                store.get("a/1").await.expect("get"),
                Some(Bytes::from_static(b"one"))
            );
            assert_eq!(store.get("a/3").await.expect("get"), None);
            assert_eq!(store.list("a/").await.expect("list"), ["a/1", "a/2"]);
            assert_eq!(store.list("").await.expect("list").len(), 3);
            store.delete("a/1").await.expect("delete");
            store
                .delete("a/1")
                .await
                .expect("deleting a missing key is fine");
        });
        assert_eq!(store.keys(), ["a/2", "b/1"]);
        assert_eq!(store.content_type_of("a/2").as_deref(), Some("text/plain"));
        assert_eq!(store.get_now("a/1"), None);
    }

    #[test]
    fn when_a_memory_key_exists_then_put_if_absent_keeps_the_first_body() {
        let store = MemoryStore::new();
        block_on(async {
            let first = store
                .put_if_absent("m", Bytes::from_static(b"first"), "text/plain")
                .await;
            let second = store
                .put_if_absent("m", Bytes::from_static(b"second"), "text/plain")
                .await;
            assert_eq!(first.expect("first"), PutIfAbsent::Created);
            assert_eq!(second.expect("second"), PutIfAbsent::AlreadyExists);
        });
        assert_eq!(store.get_now("m"), Some(Bytes::from_static(b"first")));
    }

    #[test]
    fn when_a_fault_is_injected_then_only_the_next_call_of_that_operation_fails() {
        let store = MemoryStore::new();
        store.fail_next("put", FailureClass::Transient);
        block_on(async {
            store.get("k").await.expect("other operations still work");
            let err = store
                .put("k", Bytes::from_static(b"x"), "text/plain")
                .await
                .expect_err("injected");
            assert_eq!(err.operation, "put");
            assert_eq!(err.key, "k");
            assert_eq!(err.class, FailureClass::Transient);
            store
                .put("k", Bytes::from_static(b"x"), "text/plain")
                .await
                .expect("one failure only");
        });
        assert_eq!(store.keys(), ["k"]);
    }

    #[test]
    #[should_panic(expected = "unknown store operation")]
    fn when_a_fault_names_an_unknown_operation_then_it_panics() {
        MemoryStore::new().fail_next("upload", FailureClass::Permanent);
    }
}
