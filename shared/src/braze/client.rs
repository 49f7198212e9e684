//! The Braze REST client: configuration, one rate limiter per endpoint family, and request
//! builders ending in `.send()`.
//!
//! ```no_run
//! # async fn demo(client: relay_core::braze::BrazeClient, items: Vec<relay_core::braze::UserAttributes>) {
//! let report = client.track().attributes(items).send().await;
//! # }
//! ```
//!
//! Every request goes through [`Upstream::execute`] (retries, backoff, Braze's rate-limit
//! headers) with the limiter of its family: `/users/track`; user management (delete, merge,
//! alias, identify share Braze's 20,000/min); `/users/export/ids` (250/min, the tightest);
//! segment exports.

use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::cluster::BrazeEndpoint;
use super::error::BrazeError;
use super::models::{
    AliasToIdentify, CancelSegmentExportBody, DEFAULT_EXPORT_FIELDS, DeleteBody, DeleteIdKind,
    DeleteResponse, DeleteTarget, EmailToDelete, Event, ExportIdsBody, ExportIdsResponse,
    ExportedUser, MAX_CUSTOM_ATTRIBUTES_TO_EXPORT, MAX_IDS_PER_REQUEST, MergeIdentifier,
    MergeUpdate, NewAlias, OutputFormat, ProcessedResponse, Purchase, SegmentExportBody,
    SegmentExportStarted, TrackResponse, UserAlias, UserAttributes,
};
use super::validation::{
    Rule, ValidationError, check_external_id, validate_attributes, validate_event,
    validate_purchase,
};
use crate::upstream::{
    FailureClass, Idempotency, Rate, RateLimiter, RetryPolicy, Upstream, UpstreamError, decode_json,
};

/// Most objects one `/users/track` request may carry, all arrays combined.
pub const MAX_TRACK_BATCH: usize = 75;

/// Braze rejects bodies over 4 MB (413); chunks are cut below this to leave a margin.
const MAX_TRACK_BODY_BYTES: usize = 3_900_000;

/// Client-side request rates per endpoint family, for one process. Braze's limits are per
/// company (or workspace), shared by every instance: the defaults take a share so that about
/// ten concurrent instances stay under the documented defaults. Set them from the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrazeRates {
    /// `/users/track`. Default 100 req/s (burst 100): a tenth of Braze's 3,000 per 3 s.
    pub track: Rate,
    /// `/users/delete`, `/users/merge`, `/users/alias/new`, `/users/identify`. Default
    /// 2,000/min: a tenth of Braze's shared 20,000/min.
    pub users: Rate,
    /// `/users/export/ids`. Default 1 req/s (the limiter's finest step): Braze allows
    /// 250/min for workspaces onboarded since 2024-08-22, so at most four instances should
    /// export ids at once.
    pub export_ids: Rate,
    /// `/users/export/segment` and its cancel. Default 1 req/s: exports are rare and Braze
    /// allows one per segment at a time.
    pub export_segment: Rate,
}

impl Default for BrazeRates {
    fn default() -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        BrazeRates {
            track: Rate::per_second(n(100)),
            users: Rate::per_minute(n(2_000)),
            export_ids: Rate::per_second(n(1)),
            export_segment: Rate::per_second(n(1)),
        }
    }
}

/// Everything a [`BrazeClient`] needs besides the HTTP client.
#[derive(Debug, Clone)]
pub struct BrazeConfig {
    /// The REST endpoint (see [`BrazeEndpoint::parse`]).
    pub endpoint: BrazeEndpoint,
    /// The workspace's REST API key. Sent as a Bearer token, never logged.
    pub api_key: SecretString,
    /// Objects per `/users/track` request, all arrays combined: 1..=75 (default 75; some
    /// contracts document 50).
    pub track_batch: usize,
    /// Requests one call keeps in flight (chunks of a track call, batches of a delete).
    /// Default 4; the rate limiters still apply.
    pub concurrency: usize,
    /// Client-side rates per endpoint family.
    pub rates: BrazeRates,
    /// Retry policy for every request.
    pub retry: RetryPolicy,
}

impl BrazeConfig {
    /// Default objects per `/users/track` request.
    pub const DEFAULT_TRACK_BATCH: usize = MAX_TRACK_BATCH;
    /// Default requests in flight per call.
    pub const DEFAULT_CONCURRENCY: usize = 4;

    /// A configuration with the defaults for everything but the endpoint and key.
    pub fn new(endpoint: BrazeEndpoint, api_key: SecretString) -> BrazeConfig {
        BrazeConfig {
            endpoint,
            api_key,
            track_batch: Self::DEFAULT_TRACK_BATCH,
            concurrency: Self::DEFAULT_CONCURRENCY,
            rates: BrazeRates::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Which limiter a request waits on.
#[derive(Debug, Clone, Copy)]
enum Family {
    Track,
    Users,
    ExportIds,
    ExportSegment,
}

/// A Braze REST endpoint as the client calls it.
struct Route {
    path: &'static str,
    /// The key permission Braze checks (named in 403 errors).
    permission: &'static str,
    family: Family,
    idempotency: Idempotency,
}

// Track is treated as safe to repeat: attributes are upserts, and Braze's own guidance is to
// retry 5xx; a retried chunk with events may record an event twice if the first attempt was
// processed but its answer lost.
const TRACK: Route = route(
    "/users/track",
    "users.track",
    Family::Track,
    Idempotency::Idempotent,
);
const DELETE: Route = route(
    "/users/delete",
    "users.delete",
    Family::Users,
    Idempotency::Idempotent,
);
const MERGE: Route = route(
    "/users/merge",
    "users.merge",
    Family::Users,
    Idempotency::Idempotent,
);
const ALIAS_NEW: Route = route(
    "/users/alias/new",
    "users.alias.new",
    Family::Users,
    Idempotency::Idempotent,
);
const IDENTIFY: Route = route(
    "/users/identify",
    "users.identify",
    Family::Users,
    Idempotency::Idempotent,
);
const EXPORT_IDS: Route = route(
    "/users/export/ids",
    "users.export.ids",
    Family::ExportIds,
    Idempotency::Idempotent,
);
// A repeated start after an ambiguous failure could start a second export (Braze answers 429
// to it): only retried when Braze provably did not act.
const EXPORT_SEGMENT: Route = route(
    "/users/export/segment",
    "users.export.segment",
    Family::ExportSegment,
    Idempotency::NotIdempotent,
);
const EXPORT_SEGMENT_CANCEL: Route = route(
    "/export/segment/cancel",
    "users.export.segment",
    Family::ExportSegment,
    Idempotency::Idempotent,
);

const fn route(
    path: &'static str,
    permission: &'static str,
    family: Family,
    idempotency: Idempotency,
) -> Route {
    Route {
        path,
        permission,
        family,
        idempotency,
    }
}

/// Client for Braze's REST API (end-user profiles). Cheap to clone; clones share the rate
/// limiters and the HTTP connection pool.
#[derive(Debug, Clone)]
pub struct BrazeClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: Upstream,
    endpoint: BrazeEndpoint,
    api_key: SecretString,
    track_batch: usize,
    concurrency: usize,
    track_limiter: Arc<RateLimiter>,
    users_limiter: RateLimiter,
    export_ids_limiter: RateLimiter,
    export_segment_limiter: RateLimiter,
}

impl BrazeClient {
    /// A client for `config`, sending through `http` (see [`crate::upstream::http_client`]).
    ///
    /// Fails with [`BrazeError::InvalidConfig`] when the batch size is outside 1..=75 or the
    /// concurrency is 0.
    pub fn new(config: BrazeConfig, http: reqwest::Client) -> Result<BrazeClient, BrazeError> {
        if !(1..=MAX_TRACK_BATCH).contains(&config.track_batch) {
            return Err(BrazeError::InvalidConfig(format!(
                "track_batch must be between 1 and {MAX_TRACK_BATCH} (Braze rejects larger requests whole); got {}",
                config.track_batch
            )));
        }
        if config.concurrency == 0 {
            return Err(BrazeError::InvalidConfig(
                "concurrency must be at least 1".to_owned(),
            ));
        }
        let track_limiter = Arc::new(RateLimiter::new(config.rates.track));
        Ok(BrazeClient {
            inner: Arc::new(Inner {
                upstream: Upstream::new("braze", http, config.retry, Arc::clone(&track_limiter)),
                endpoint: config.endpoint,
                api_key: config.api_key,
                track_batch: config.track_batch,
                concurrency: config.concurrency,
                track_limiter,
                users_limiter: RateLimiter::new(config.rates.users),
                export_ids_limiter: RateLimiter::new(config.rates.export_ids),
                export_segment_limiter: RateLimiter::new(config.rates.export_segment),
            }),
        })
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &BrazeEndpoint {
        &self.inner.endpoint
    }

    /// Objects per `/users/track` request.
    pub fn track_batch(&self) -> usize {
        self.inner.track_batch
    }

    /// `POST /users/track`: attributes, events and purchases, validated, chunked and sent.
    pub fn track(&self) -> TrackRequest<'_> {
        TrackRequest {
            client: self,
            attributes: Vec::new(),
            events: Vec::new(),
            purchases: Vec::new(),
        }
    }

    /// `POST /users/delete`: profiles by any identifier, one identifier type and at most 50
    /// ids per request.
    pub fn delete(&self) -> DeleteRequest<'_> {
        DeleteRequest {
            client: self,
            targets: Vec::new(),
        }
    }

    /// `POST /users/export/ids`: look profiles up by identifiers.
    pub fn export_ids(&self) -> ExportIdsRequest<'_> {
        ExportIdsRequest {
            client: self,
            external_ids: Vec::new(),
            user_aliases: Vec::new(),
            singles: Vec::new(),
            fields: None,
        }
    }

    /// `POST /users/export/segment`: start an asynchronous export of `segment_id`.
    pub fn export_segment(&self, segment_id: impl Into<String>) -> SegmentExportRequest<'_> {
        SegmentExportRequest {
            client: self,
            segment_id: segment_id.into(),
            fields: None,
            callback_endpoint: None,
            custom_attributes: None,
            output_format: None,
        }
    }

    /// `POST /export/segment/cancel`: cancel the running export of `segment_id`.
    pub async fn cancel_segment_export(&self, segment_id: &str) -> Result<(), BrazeError> {
        if segment_id.is_empty() {
            return Err(BrazeError::InvalidRequest(
                "segment_id must not be empty".to_owned(),
            ));
        }
        let body = to_body(&CancelSegmentExportBody {
            segment_id: segment_id.to_owned(),
        })?;
        self.post(&EXPORT_SEGMENT_CANCEL, body).await.map(|_| ())
    }

    /// `POST /users/merge`: merge profiles, at most 50 per request.
    pub fn merge(&self) -> MergeRequest<'_> {
        MergeRequest {
            client: self,
            updates: Vec::new(),
        }
    }

    /// `POST /users/alias/new`: add aliases, at most 50 per request.
    pub fn new_aliases(&self) -> NewAliasesRequest<'_> {
        NewAliasesRequest {
            client: self,
            aliases: Vec::new(),
        }
    }

    /// `POST /users/identify`: give alias-only profiles an external id, at most 50 per
    /// request.
    pub fn identify(&self) -> IdentifyRequest<'_> {
        IdentifyRequest {
            client: self,
            aliases: Vec::new(),
        }
    }

    fn limiter(&self, family: Family) -> &RateLimiter {
        match family {
            Family::Track => &self.inner.track_limiter,
            Family::Users => &self.inner.users_limiter,
            Family::ExportIds => &self.inner.export_ids_limiter,
            Family::ExportSegment => &self.inner.export_segment_limiter,
        }
    }

    /// Sends one JSON body to `route` under its family's limiter and the retry policy.
    async fn post(
        &self,
        route: &Route,
        body: Bytes,
    ) -> Result<crate::upstream::Response, BrazeError> {
        let url = self.inner.endpoint.url(route.path);
        let api_key = &self.inner.api_key;
        let outcome = self
            .inner
            .upstream
            .execute(
                Some(self.limiter(route.family)),
                route.idempotency,
                |http| {
                    http.post(&url)
                        .bearer_auth(api_key.expose_secret())
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone())
                },
            )
            .await;
        match outcome {
            Ok(response) => {
                tracing::debug!(
                    endpoint = route.path,
                    status = response.status.as_u16(),
                    "braze request done"
                );
                Ok(response)
            }
            Err(error) => Err(self.classify(route, error)),
        }
    }

    /// Sends and decodes a 2xx answer. An empty body decodes as the default answer (Braze's
    /// 202 during maintenance may carry little).
    async fn post_json<T: DeserializeOwned + Default>(
        &self,
        route: &Route,
        body: Bytes,
    ) -> Result<T, BrazeError> {
        let response = self.post(route, body).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        decode_json(&response.body).map_err(|e| BrazeError::decode(route.path, e))
    }

    fn classify(&self, route: &Route, error: UpstreamError) -> BrazeError {
        let endpoint = &self.inner.endpoint;
        match error.status().map(|s| s.as_u16()) {
            Some(401) => BrazeError::KeyRejected {
                cluster: endpoint.label().to_owned(),
                host: endpoint.host().to_owned(),
            },
            Some(403) => BrazeError::PermissionDenied {
                endpoint: route.path,
                permission: route.permission,
                cluster: endpoint.label().to_owned(),
            },
            _ => BrazeError::upstream(route.path, error),
        }
    }

    /// Sends `batches` to `route` with bounded concurrency; a batch that fails is recorded
    /// with its items, unless the failure is a misconfiguration, which ends the call.
    async fn send_batches<T, R>(
        &self,
        route: &'static Route,
        batches: Vec<Vec<T>>,
        body_of: impl Fn(&[T]) -> Result<Bytes, BrazeError>,
        processed_of: impl Fn(&R, usize) -> u64,
    ) -> Result<BatchReport<T>, BrazeError>
    where
        R: DeserializeOwned + Default,
    {
        let mut prepared = Vec::with_capacity(batches.len());
        for batch in batches {
            let body = body_of(&batch)?;
            prepared.push((batch, body));
        }
        let mut report = BatchReport {
            requests: 0,
            processed: 0,
            failed_batches: Vec::new(),
        };
        let mut in_flight = futures::stream::iter(prepared)
            .map(|(batch, body)| async move {
                let outcome = self.post_json::<R>(route, body).await;
                (batch, outcome)
            })
            .buffer_unordered(self.inner.concurrency);
        while let Some((batch, outcome)) = in_flight.next().await {
            report.requests += 1;
            match outcome {
                Ok(answer) => report.processed += processed_of(&answer, batch.len()),
                Err(error) if error.class() == FailureClass::Misconfigured => return Err(error),
                Err(error) => {
                    tracing::warn!(endpoint = route.path, items = batch.len(), class = ?error.class(), "braze batch failed");
                    report.failed_batches.push(FailedBatch {
                        items: batch,
                        error,
                    });
                }
            }
        }
        Ok(report)
    }
}

fn to_body(value: &impl Serialize) -> Result<Bytes, BrazeError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|_| BrazeError::InvalidRequest("the request could not be serialised".to_owned()))
}

/// Splits `items` into batches of at most `size`, keeping order.
fn batches_of<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut batches = Vec::with_capacity(items.len().div_ceil(size));
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        batches.push(items.by_ref().take(size).collect());
    }
    batches
}

/// Outcome of a call that sends its input in batches (delete, merge, alias, identify).
#[derive(Debug)]
pub struct BatchReport<T> {
    /// Requests sent (one per batch; retries of a batch not counted).
    pub requests: usize,
    /// What Braze reported as processed: profiles queued for deletion for delete, aliases
    /// processed for alias/identify, accepted merges for merge. When Braze gives no count
    /// for an accepted batch, its size is counted.
    pub processed: u64,
    /// Batches that failed after retries, with their items and the error.
    pub failed_batches: Vec<FailedBatch<T>>,
}

impl<T> BatchReport<T> {
    /// Whether every batch succeeded.
    pub fn is_success(&self) -> bool {
        self.failed_batches.is_empty()
    }
}

/// Outcome of [`DeleteRequest::send`]; `processed` is the sum of Braze's `deleted` counts.
pub type DeleteReport = BatchReport<DeleteTarget>;

impl DeleteReport {
    /// Profiles Braze queued for deletion (sum of `deleted`).
    pub fn deleted(&self) -> u64 {
        self.processed
    }
}

/// A batch that failed as a whole.
#[derive(Debug)]
pub struct FailedBatch<T> {
    /// The items the batch carried.
    pub items: Vec<T>,
    /// Why it failed ([`BrazeError::class`] says whether a later try may work).
    pub error: BrazeError,
}

// ---------------------------------------------------------------------------------------------
// /users/track
// ---------------------------------------------------------------------------------------------

/// The three arrays of a `/users/track` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackArray {
    /// `attributes`
    Attributes,
    /// `events`
    Events,
    /// `purchases`
    Purchases,
}

impl TrackArray {
    /// The JSON name of the array.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackArray::Attributes => "attributes",
            TrackArray::Events => "events",
            TrackArray::Purchases => "purchases",
        }
    }

    fn parse(name: &str) -> Option<TrackArray> {
        [
            TrackArray::Attributes,
            TrackArray::Events,
            TrackArray::Purchases,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }
}

/// One item of the caller's input: which array, and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ItemRef {
    /// The array the caller put the item in.
    pub array: TrackArray,
    /// Its index in that array, as the caller gave it.
    pub index: usize,
}

/// An item that was not sent because it failed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidItem {
    /// The caller's item.
    pub item: ItemRef,
    /// What is wrong, with paths such as `attributes[3].custom.plan`.
    pub errors: Vec<ValidationError>,
}

/// An item Braze rejected inside an otherwise successful request.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedItem {
    /// The caller's item.
    pub item: ItemRef,
    /// Braze's error `type` text (may quote data: do not log).
    pub error_type: String,
}

/// A chunk that failed as a whole after retries: none of its items can be assumed processed.
#[derive(Debug)]
pub struct FailedChunk {
    /// Every item the chunk carried.
    pub items: Vec<ItemRef>,
    /// The failure; [`BrazeError::class`] tells transient from permanent.
    pub error: BrazeError,
}

/// A partial error Braze returned that names no item of its request (unknown array, index
/// out of range, or an unexpected shape).
#[derive(Debug, Clone, PartialEq)]
pub struct UnmappedError {
    /// The items of the request it came with.
    pub chunk_items: Vec<ItemRef>,
    /// The error as Braze sent it (may quote data: do not log).
    pub raw: Value,
}

/// What happened to one item of a track call.
#[derive(Debug, Clone, Copy)]
pub enum ItemOutcome<'r> {
    /// Sent in a request Braze accepted, without an error for it.
    Accepted,
    /// Not sent: it failed validation.
    Invalid(&'r [ValidationError]),
    /// Sent, and Braze rejected it (partial error).
    Rejected(&'r str),
    /// Its whole chunk failed.
    Failed(&'r BrazeError),
}

/// Outcome of [`TrackRequest::send`].
#[derive(Debug, Default)]
pub struct TrackReport {
    /// Requests sent (one per chunk; retries not counted).
    pub requests: usize,
    /// Items carried by requests Braze accepted (rejected items included).
    pub sent: usize,
    /// Braze's `attributes_processed`, summed over the requests.
    pub attributes_processed: u64,
    /// Braze's `events_processed`, summed.
    pub events_processed: u64,
    /// Braze's `purchases_processed`, summed.
    pub purchases_processed: u64,
    /// Items not sent because they failed validation.
    pub invalid: Vec<InvalidItem>,
    /// Items Braze rejected inside accepted requests.
    pub rejected: Vec<RejectedItem>,
    /// Chunks that failed as a whole.
    pub failed_chunks: Vec<FailedChunk>,
    /// Partial errors that could not be tied to an item.
    pub unmapped_errors: Vec<UnmappedError>,
}

impl TrackReport {
    /// Whether every item was accepted.
    pub fn is_success(&self) -> bool {
        self.invalid.is_empty()
            && self.rejected.is_empty()
            && self.failed_chunks.is_empty()
            && self.unmapped_errors.is_empty()
    }

    /// Items sent and not rejected.
    pub fn accepted(&self) -> usize {
        self.sent.saturating_sub(self.rejected.len())
    }

    /// What happened to the caller's `item` (a linear scan of the failures).
    pub fn outcome(&self, item: ItemRef) -> ItemOutcome<'_> {
        if let Some(invalid) = self.invalid.iter().find(|i| i.item == item) {
            return ItemOutcome::Invalid(&invalid.errors);
        }
        if let Some(rejected) = self.rejected.iter().find(|r| r.item == item) {
            return ItemOutcome::Rejected(&rejected.error_type);
        }
        if let Some(chunk) = self.failed_chunks.iter().find(|c| c.items.contains(&item)) {
            return ItemOutcome::Failed(&chunk.error);
        }
        ItemOutcome::Accepted
    }
}

/// Builder for `POST /users/track`; see [`BrazeClient::track`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct TrackRequest<'c> {
    client: &'c BrazeClient,
    attributes: Vec<UserAttributes>,
    events: Vec<Event>,
    purchases: Vec<Purchase>,
}

/// One validated, serialised item waiting for a chunk.
struct PreparedItem {
    item: ItemRef,
    json: Vec<u8>,
}

/// Items of one request, per array, with their JSON.
#[derive(Default)]
struct Chunk {
    items: Vec<PreparedItem>,
    bytes: usize,
}

impl Chunk {
    fn refs(&self) -> Vec<ItemRef> {
        self.items.iter().map(|p| p.item).collect()
    }

    /// The caller's item at `index` of `array` in this request's body.
    fn item_at(&self, array: TrackArray, index: usize) -> Option<ItemRef> {
        self.items
            .iter()
            .filter(|p| p.item.array == array)
            .nth(index)
            .map(|p| p.item)
    }

    /// `{"attributes":[..],"events":[..],"purchases":[..]}` without empty arrays.
    fn body(&self) -> Bytes {
        let mut body = Vec::with_capacity(self.bytes + 64);
        body.push(b'{');
        for array in [
            TrackArray::Attributes,
            TrackArray::Events,
            TrackArray::Purchases,
        ] {
            let mut members = self
                .items
                .iter()
                .filter(|p| p.item.array == array)
                .peekable();
            if members.peek().is_none() {
                continue;
            }
            if body.len() > 1 {
                body.push(b',');
            }
            body.extend_from_slice(format!("\"{}\":[", array.as_str()).as_bytes());
            for (n, member) in members.enumerate() {
                if n > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&member.json);
            }
            body.push(b']');
        }
        body.push(b'}');
        Bytes::from(body)
    }
}

impl<'c> TrackRequest<'c> {
    /// Adds attribute objects (indices continue across calls).
    pub fn attributes(mut self, items: impl IntoIterator<Item = UserAttributes>) -> Self {
        self.attributes.extend(items);
        self
    }

    /// Adds events.
    pub fn events(mut self, items: impl IntoIterator<Item = Event>) -> Self {
        self.events.extend(items);
        self
    }

    /// Adds purchases.
    pub fn purchases(mut self, items: impl IntoIterator<Item = Purchase>) -> Self {
        self.purchases.extend(items);
        self
    }

    /// Validates every object, sends the valid ones in chunks of at most `track_batch`
    /// objects (attributes, then events, then purchases, combined) with bounded
    /// concurrency, and maps Braze's partial errors back to the caller's items.
    ///
    /// Invalid items are never sent. A chunk failing as a whole is reported with its items
    /// while the other chunks' results stand. Only a misconfiguration (key rejected, missing
    /// permission), which no chunk can survive, ends the call with `Err`.
    pub async fn send(self) -> Result<TrackReport, BrazeError> {
        let client = self.client;
        let mut report = TrackReport::default();
        let mut ready = Vec::new();
        prepare(
            TrackArray::Attributes,
            &self.attributes,
            validate_attributes,
            &mut ready,
            &mut report,
        );
        prepare(
            TrackArray::Events,
            &self.events,
            validate_event,
            &mut ready,
            &mut report,
        );
        prepare(
            TrackArray::Purchases,
            &self.purchases,
            validate_purchase,
            &mut ready,
            &mut report,
        );
        let chunks = chunk(ready, client.inner.track_batch);
        tracing::debug!(
            chunks = chunks.len(),
            invalid = report.invalid.len(),
            "braze track"
        );

        let mut in_flight = futures::stream::iter(chunks)
            .map(|chunk| async move {
                let outcome = client
                    .post_json::<TrackResponse>(&TRACK, chunk.body())
                    .await;
                (chunk, outcome)
            })
            .buffer_unordered(client.inner.concurrency);
        while let Some((chunk, outcome)) = in_flight.next().await {
            report.requests += 1;
            match outcome {
                Ok(answer) => record_answer(&chunk, answer, &mut report),
                Err(error) if error.class() == FailureClass::Misconfigured => return Err(error),
                Err(error) => {
                    tracing::warn!(items = chunk.items.len(), class = ?error.class(), "braze track chunk failed");
                    report.failed_chunks.push(FailedChunk {
                        items: chunk.refs(),
                        error,
                    });
                }
            }
        }
        report.invalid.sort_by_key(|i| i.item);
        report.rejected.sort_by_key(|r| r.item);
        Ok(report)
    }
}

/// Validates and serialises one array's items; invalid ones go to the report.
fn prepare<T: Serialize>(
    array: TrackArray,
    items: &[T],
    validate: fn(&T) -> Vec<ValidationError>,
    ready: &mut Vec<PreparedItem>,
    report: &mut TrackReport,
) {
    for (index, value) in items.iter().enumerate() {
        let item = ItemRef { array, index };
        let prefix = format!("{}[{index}]", array.as_str());
        let mut errors = validate(value);
        let json = if errors.is_empty() {
            match serde_json::to_vec(value) {
                Ok(json) if json.len() <= MAX_TRACK_BODY_BYTES => Some(json),
                _ => {
                    errors.push(ValidationError::new("", Rule::RequestTooLarge));
                    None
                }
            }
        } else {
            None
        };
        match json {
            Some(json) => ready.push(PreparedItem { item, json }),
            None => report.invalid.push(InvalidItem {
                item,
                errors: errors.into_iter().map(|e| prefixed(e, &prefix)).collect(),
            }),
        }
    }
}

fn prefixed(error: ValidationError, prefix: &str) -> ValidationError {
    if error.path.is_empty() {
        ValidationError::new(prefix, error.rule)
    } else {
        error.under(prefix)
    }
}

/// Cuts `items` (in order) into chunks of at most `batch` objects and
/// [`MAX_TRACK_BODY_BYTES`].
fn chunk(items: Vec<PreparedItem>, batch: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk::default();
    for item in items {
        let size = item.json.len() + 1;
        if !current.items.is_empty()
            && (current.items.len() >= batch || current.bytes + size > MAX_TRACK_BODY_BYTES)
        {
            chunks.push(std::mem::take(&mut current));
        }
        current.bytes += size;
        current.items.push(item);
    }
    if !current.items.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Adds one accepted chunk's counts and partial errors to the report.
fn record_answer(chunk: &Chunk, answer: TrackResponse, report: &mut TrackReport) {
    report.sent += chunk.items.len();
    report.attributes_processed += answer.attributes_processed.unwrap_or(0);
    report.events_processed += answer.events_processed.unwrap_or(0);
    report.purchases_processed += answer.purchases_processed.unwrap_or(0);
    for raw in answer.errors {
        let named = raw.as_object().and_then(|error| {
            let array = TrackArray::parse(error.get("input_array")?.as_str()?)?;
            let index = match error.get("index")? {
                Value::Number(n) => usize::try_from(n.as_u64()?).ok()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            let item = chunk.item_at(array, index)?;
            let error_type = match error.get("type") {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            Some(RejectedItem { item, error_type })
        });
        match named {
            Some(rejected) => report.rejected.push(rejected),
            None => report.unmapped_errors.push(UnmappedError {
                chunk_items: chunk.refs(),
                raw,
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// /users/delete
// ---------------------------------------------------------------------------------------------

/// Builder for `POST /users/delete`; see [`BrazeClient::delete`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct DeleteRequest<'c> {
    client: &'c BrazeClient,
    targets: Vec<DeleteTarget>,
}

impl<'c> DeleteRequest<'c> {
    /// Adds targets of any identifier type.
    pub fn targets(mut self, targets: impl IntoIterator<Item = DeleteTarget>) -> Self {
        self.targets.extend(targets);
        self
    }

    /// Adds external ids.
    pub fn external_ids<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.targets(
            ids.into_iter()
                .map(|id| DeleteTarget::ExternalId(id.into())),
        )
    }

    /// Adds aliases.
    pub fn user_aliases(self, aliases: impl IntoIterator<Item = UserAlias>) -> Self {
        self.targets(aliases.into_iter().map(DeleteTarget::UserAlias))
    }

    /// Adds Braze ids.
    pub fn braze_ids<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.targets(ids.into_iter().map(|id| DeleteTarget::BrazeId(id.into())))
    }

    /// Adds email addresses (with prioritization).
    pub fn emails(self, emails: impl IntoIterator<Item = EmailToDelete>) -> Self {
        self.targets(emails.into_iter().map(DeleteTarget::Email))
    }

    /// Adds phone numbers.
    pub fn phones<S: Into<String>>(self, phones: impl IntoIterator<Item = S>) -> Self {
        self.targets(phones.into_iter().map(|p| DeleteTarget::Phone(p.into())))
    }

    /// Checks the targets (an empty id, an external id over 987 bytes or an email without
    /// prioritization fails the whole call before anything is sent), drops duplicates, and
    /// sends one request per identifier type and 50 ids.
    pub async fn send(self) -> Result<DeleteReport, BrazeError> {
        let mut by_kind: BTreeMap<DeleteIdKind, Vec<DeleteTarget>> = BTreeMap::new();
        let mut seen = HashSet::new();
        for (index, target) in self.targets.into_iter().enumerate() {
            check_delete_target(index, &target)?;
            if seen.insert(target.clone()) {
                by_kind.entry(target.kind()).or_default().push(target);
            }
        }
        let batches = by_kind
            .into_values()
            .flat_map(|targets| batches_of(targets, MAX_IDS_PER_REQUEST))
            .collect();
        self.client
            .send_batches(
                &DELETE,
                batches,
                |batch| {
                    let body = DeleteBody::new(batch).ok_or_else(|| {
                        BrazeError::InvalidRequest(
                            "a delete request must carry 1 to 50 ids of one type".to_owned(),
                        )
                    })?;
                    to_body(&body)
                },
                |answer: &DeleteResponse, _| answer.deleted.unwrap_or(0),
            )
            .await
    }
}

fn check_delete_target(index: usize, target: &DeleteTarget) -> Result<(), BrazeError> {
    let problem = match target {
        DeleteTarget::ExternalId(id) => check_external_id(id)
            .err()
            .map(|rule| format!("external id {}", rule.describe())),
        DeleteTarget::BrazeId(id) if id.is_empty() => Some("braze id is empty".to_owned()),
        DeleteTarget::Phone(phone) if phone.is_empty() => Some("phone is empty".to_owned()),
        DeleteTarget::UserAlias(alias)
            if alias.alias_name.is_empty() || alias.alias_label.is_empty() =>
        {
            Some("alias name or label is empty".to_owned())
        }
        DeleteTarget::Email(email) if email.email.is_empty() => Some("email is empty".to_owned()),
        DeleteTarget::Email(email) if email.prioritization.is_empty() => {
            Some("email prioritization is empty (Braze requires at least one)".to_owned())
        }
        _ => None,
    };
    match problem {
        Some(problem) => Err(BrazeError::InvalidRequest(format!(
            "delete target {index}: {problem}"
        ))),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// /users/export/ids
// ---------------------------------------------------------------------------------------------

/// An identifier `/users/export/ids` accepts only one of per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SingleLookup {
    Email(String),
    Phone(String),
    BrazeId(String),
    DeviceId(String),
}

/// Builder for `POST /users/export/ids`; see [`BrazeClient::export_ids`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct ExportIdsRequest<'c> {
    client: &'c BrazeClient,
    external_ids: Vec<String>,
    user_aliases: Vec<UserAlias>,
    singles: Vec<SingleLookup>,
    fields: Option<Vec<String>>,
}

/// Outcome of [`ExportIdsRequest::send`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportIdsReport {
    /// Profiles found, deduplicated by Braze id (an email lookup and an external id lookup
    /// may find the same profile).
    pub users: Vec<ExportedUser>,
    /// Ids Braze did not find, from every request.
    pub invalid_user_ids: Vec<String>,
    /// Requests sent.
    pub requests: usize,
}

impl<'c> ExportIdsRequest<'c> {
    /// Adds external ids (50 per request).
    pub fn external_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.external_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Adds aliases (50 per request, sent alongside external ids).
    pub fn user_aliases(mut self, aliases: impl IntoIterator<Item = UserAlias>) -> Self {
        self.user_aliases.extend(aliases);
        self
    }

    /// Adds email addresses (one request each).
    pub fn emails<S: Into<String>>(mut self, emails: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(emails.into_iter().map(|e| SingleLookup::Email(e.into())));
        self
    }

    /// Adds phone numbers (one request each).
    pub fn phones<S: Into<String>>(mut self, phones: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(phones.into_iter().map(|p| SingleLookup::Phone(p.into())));
        self
    }

    /// Adds Braze ids (one request each).
    pub fn braze_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(ids.into_iter().map(|i| SingleLookup::BrazeId(i.into())));
        self
    }

    /// Adds device ids (one request each).
    pub fn device_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(ids.into_iter().map(|i| SingleLookup::DeviceId(i.into())));
        self
    }

    /// Fields to export; [`DEFAULT_EXPORT_FIELDS`] when not called. Always sent.
    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Sends the lookups: external ids and aliases 50 (+50) per request, every email,
    /// phone, Braze id and device id in its own request.
    ///
    /// All or nothing: the first failed request fails the call, because a partial answer
    /// would look like "no more profiles" to an erasure.
    pub async fn send(self) -> Result<ExportIdsReport, BrazeError> {
        let fields = fields_or_default(self.fields)?;
        if self
            .external_ids
            .iter()
            .any(|id| check_external_id(id).is_err())
            || self
                .user_aliases
                .iter()
                .any(|a| a.alias_name.is_empty() || a.alias_label.is_empty())
            || self.singles.iter().any(|s| single_value(s).is_empty())
        {
            return Err(BrazeError::InvalidRequest(
                "export ids: every id must be non-empty (external ids at most 987 bytes)"
                    .to_owned(),
            ));
        }
        let mut bodies = Vec::new();
        let mut external = batches_of(dedup(self.external_ids), MAX_IDS_PER_REQUEST).into_iter();
        let mut aliases = batches_of(dedup(self.user_aliases), MAX_IDS_PER_REQUEST).into_iter();
        loop {
            let (ids, alias_batch) = (external.next(), aliases.next());
            if ids.is_none() && alias_batch.is_none() {
                break;
            }
            bodies.push(ExportIdsBody {
                external_ids: ids.unwrap_or_default(),
                user_aliases: alias_batch.unwrap_or_default(),
                fields_to_export: fields.clone(),
                ..ExportIdsBody::default()
            });
        }
        for single in dedup(self.singles) {
            let mut body = ExportIdsBody {
                fields_to_export: fields.clone(),
                ..ExportIdsBody::default()
            };
            match single {
                SingleLookup::Email(email) => body.email_address = Some(email),
                SingleLookup::Phone(phone) => body.phone = Some(phone),
                SingleLookup::BrazeId(id) => body.braze_id = Some(id),
                SingleLookup::DeviceId(id) => body.device_id = Some(id),
            }
            bodies.push(body);
        }
        let client = self.client;
        let mut prepared = Vec::with_capacity(bodies.len());
        for body in &bodies {
            prepared.push(to_body(body)?);
        }
        let mut report = ExportIdsReport::default();
        let mut seen_braze_ids = HashSet::new();
        let mut in_flight = futures::stream::iter(prepared)
            .map(|body| client.post_json::<ExportIdsResponse>(&EXPORT_IDS, body))
            .buffer_unordered(client.inner.concurrency);
        while let Some(outcome) = in_flight.next().await {
            let answer = outcome?;
            report.requests += 1;
            for user in answer.users {
                let fresh = match &user.braze_id {
                    Some(id) => seen_braze_ids.insert(id.clone()),
                    None => true,
                };
                if fresh {
                    report.users.push(user);
                }
            }
            report.invalid_user_ids.extend(answer.invalid_user_ids);
        }
        Ok(report)
    }
}

fn single_value(single: &SingleLookup) -> &str {
    match single {
        SingleLookup::Email(v)
        | SingleLookup::Phone(v)
        | SingleLookup::BrazeId(v)
        | SingleLookup::DeviceId(v) => v,
    }
}

/// Drops repeated items, keeping the first occurrence and the order.
fn dedup<T: Clone + Eq + std::hash::Hash>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

fn fields_or_default(fields: Option<Vec<String>>) -> Result<Vec<String>, BrazeError> {
    match fields {
        None => Ok(DEFAULT_EXPORT_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .collect()),
        Some(fields) if fields.is_empty() || fields.iter().any(String::is_empty) => {
            Err(BrazeError::InvalidRequest(
                "fields_to_export must name at least one field, none empty".to_owned(),
            ))
        }
        Some(fields) => Ok(fields),
    }
}

// ---------------------------------------------------------------------------------------------
// /users/export/segment
// ---------------------------------------------------------------------------------------------

/// Builder for `POST /users/export/segment`; see [`BrazeClient::export_segment`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct SegmentExportRequest<'c> {
    client: &'c BrazeClient,
    segment_id: String,
    fields: Option<Vec<String>>,
    callback_endpoint: Option<String>,
    custom_attributes: Option<Vec<String>>,
    output_format: Option<OutputFormat>,
}

impl<'c> SegmentExportRequest<'c> {
    /// Fields to export; [`DEFAULT_EXPORT_FIELDS`] when not called. Always sent.
    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// URL Braze POSTs to when the export is done (carries a signed token: never logged).
    pub fn callback_endpoint(mut self, url: impl Into<String>) -> Self {
        self.callback_endpoint = Some(url.into());
        self
    }

    /// Only these custom attributes (at most 500; ignored by Braze when `custom_attributes`
    /// is among the fields).
    pub fn custom_attributes<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.custom_attributes = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Zip (Braze's default) or gzip (own bucket only).
    pub fn output_format(mut self, format: OutputFormat) -> Self {
        self.output_format = Some(format);
        self
    }

    /// Starts the export; the answer names the folder the files will appear in.
    pub async fn send(self) -> Result<SegmentExportStarted, BrazeError> {
        if self.segment_id.is_empty() {
            return Err(BrazeError::InvalidRequest(
                "segment_id must not be empty".to_owned(),
            ));
        }
        if self
            .custom_attributes
            .as_ref()
            .is_some_and(|names| names.len() > MAX_CUSTOM_ATTRIBUTES_TO_EXPORT)
        {
            return Err(BrazeError::InvalidRequest(format!(
                "custom_attributes_to_export lists more than {MAX_CUSTOM_ATTRIBUTES_TO_EXPORT} names"
            )));
        }
        let body = to_body(&SegmentExportBody {
            segment_id: self.segment_id,
            fields_to_export: fields_or_default(self.fields)?,
            callback_endpoint: self.callback_endpoint,
            custom_attributes_to_export: self.custom_attributes,
            output_format: self.output_format,
        })?;
        let response = self.client.post(&EXPORT_SEGMENT, body).await?;
        decode_json(&response.body).map_err(|e| BrazeError::decode(EXPORT_SEGMENT.path, e))
    }
}

// ---------------------------------------------------------------------------------------------
// /users/merge, /users/alias/new, /users/identify
// ---------------------------------------------------------------------------------------------

/// Builder for `POST /users/merge`; see [`BrazeClient::merge`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct MergeRequest<'c> {
    client: &'c BrazeClient,
    updates: Vec<MergeUpdate>,
}

impl<'c> MergeRequest<'c> {
    /// Adds merges.
    pub fn updates(mut self, updates: impl IntoIterator<Item = MergeUpdate>) -> Self {
        self.updates.extend(updates);
        self
    }

    /// Sends the merges, 50 per request. Braze merges asynchronously (202) and silently
    /// skips ambiguous email/phone matches; `processed` counts accepted merges.
    pub async fn send(self) -> Result<BatchReport<MergeUpdate>, BrazeError> {
        for (index, update) in self.updates.iter().enumerate() {
            if !merge_identifier_ok(&update.identifier_to_merge)
                || !merge_identifier_ok(&update.identifier_to_keep)
            {
                return Err(BrazeError::InvalidRequest(format!(
                    "merge update {index}: identifiers must be non-empty (email/phone with a prioritization)"
                )));
            }
        }
        self.client
            .send_batches(
                &MERGE,
                batches_of(self.updates, MAX_IDS_PER_REQUEST),
                |batch| to_body(&serde_json::json!({ "merge_updates": batch })),
                |_: &ProcessedResponse, size| size as u64,
            )
            .await
    }
}

fn merge_identifier_ok(id: &MergeIdentifier) -> bool {
    match id {
        MergeIdentifier::ExternalId { external_id } => check_external_id(external_id).is_ok(),
        MergeIdentifier::UserAlias { user_alias } => {
            !user_alias.alias_name.is_empty() && !user_alias.alias_label.is_empty()
        }
        MergeIdentifier::Email {
            email: value,
            prioritization,
        }
        | MergeIdentifier::Phone {
            phone: value,
            prioritization,
        } => !value.is_empty() && !prioritization.is_empty(),
    }
}

/// Builder for `POST /users/alias/new`; see [`BrazeClient::new_aliases`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct NewAliasesRequest<'c> {
    client: &'c BrazeClient,
    aliases: Vec<NewAlias>,
}

impl<'c> NewAliasesRequest<'c> {
    /// Adds aliases.
    pub fn aliases(mut self, aliases: impl IntoIterator<Item = NewAlias>) -> Self {
        self.aliases.extend(aliases);
        self
    }

    /// Sends the aliases, 50 per request. Braze answers success even for an alias that
    /// already exists; `processed` is its `aliases_processed`.
    pub async fn send(self) -> Result<BatchReport<NewAlias>, BrazeError> {
        for (index, alias) in self.aliases.iter().enumerate() {
            let external_ok = alias
                .external_id
                .as_deref()
                .is_none_or(|id| check_external_id(id).is_ok());
            if alias.alias_name.is_empty() || alias.alias_label.is_empty() || !external_ok {
                return Err(BrazeError::InvalidRequest(format!(
                    "alias {index}: name and label must be non-empty, external id valid"
                )));
            }
        }
        self.client
            .send_batches(
                &ALIAS_NEW,
                batches_of(self.aliases, MAX_IDS_PER_REQUEST),
                |batch| to_body(&serde_json::json!({ "user_aliases": batch })),
                |answer: &ProcessedResponse, size| answer.aliases_processed.unwrap_or(size as u64),
            )
            .await
    }
}

/// Builder for `POST /users/identify`; see [`BrazeClient::identify`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct IdentifyRequest<'c> {
    client: &'c BrazeClient,
    aliases: Vec<AliasToIdentify>,
}

impl<'c> IdentifyRequest<'c> {
    /// Adds identifications.
    pub fn aliases(mut self, aliases: impl IntoIterator<Item = AliasToIdentify>) -> Self {
        self.aliases.extend(aliases);
        self
    }

    /// Sends the identifications, 50 per request. A mismatched (case-sensitive) alias still
    /// answers success; `processed` is Braze's `aliases_processed`.
    pub async fn send(self) -> Result<BatchReport<AliasToIdentify>, BrazeError> {
        for (index, item) in self.aliases.iter().enumerate() {
            if check_external_id(&item.external_id).is_err()
                || item.user_alias.alias_name.is_empty()
                || item.user_alias.alias_label.is_empty()
            {
                return Err(BrazeError::InvalidRequest(format!(
                    "identify {index}: external id and alias must be non-empty"
                )));
            }
        }
        self.client
            .send_batches(
                &IDENTIFY,
                batches_of(self.aliases, MAX_IDS_PER_REQUEST),
                |batch| to_body(&serde_json::json!({ "aliases_to_identify": batch })),
                |answer: &ProcessedResponse, size| answer.aliases_processed.unwrap_or(size as u64),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::braze::validation::serialized_len;

    fn item(array: TrackArray, index: usize, bytes: usize) -> PreparedItem {
        PreparedItem {
            item: ItemRef { array, index },
            json: vec![b'1'; bytes],
        }
    }

    #[test]
    fn when_items_exceed_the_batch_then_chunks_are_cut_in_order() {
        let items = (0..160)
            .map(|i| item(TrackArray::Attributes, i, 10))
            .collect();
        let sizes: Vec<usize> = chunk(items, 75).iter().map(|c| c.items.len()).collect();
        assert_eq!(sizes, vec![75, 75, 10]);
    }

    #[test]
    fn when_items_are_large_then_chunks_stay_under_the_body_limit() {
        let items = (0..10)
            .map(|i| item(TrackArray::Events, i, 1_000_000))
            .collect();
        let chunks = chunk(items, 75);
        assert_eq!(chunks.len(), 4, "3 items of 1 MB fit in 3.9 MB");
        assert!(chunks.iter().all(|c| c.bytes <= MAX_TRACK_BODY_BYTES));
    }

    #[test]
    fn when_a_chunk_mixes_arrays_then_the_body_groups_them() {
        let chunk = Chunk {
            items: vec![
                item(TrackArray::Attributes, 0, 1),
                item(TrackArray::Purchases, 4, 1),
                item(TrackArray::Attributes, 1, 1),
            ],
            bytes: 6,
        };
        assert_eq!(
            &chunk.body()[..],
            br#"{"attributes":[1,1],"purchases":[1]}"#
        );
        assert_eq!(
            chunk.item_at(TrackArray::Purchases, 0),
            Some(ItemRef {
                array: TrackArray::Purchases,
                index: 4
            })
        );
        assert_eq!(chunk.item_at(TrackArray::Events, 0), None);
    }

    #[test]
    fn when_the_serialized_size_is_counted_then_it_matches_the_json() {
        let value = serde_json::json!({"a": [1, 2, "x"]});
        assert_eq!(
            serialized_len(&value),
            serde_json::to_vec(&value).unwrap().len()
        );
    }
}
