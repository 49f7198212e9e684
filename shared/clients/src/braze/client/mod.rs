//! The Braze REST client: configuration, one rate limiter per endpoint family, and request
//! builders ending in `.send()`.
//!
//! ```no_run
//! # async fn demo(client: relay_clients::braze::BrazeClient, items: Vec<relay_clients::braze::UserAttributes>) {
//! let report = client.track().attributes(items).send().await;
//! # }
//! ```
//!
//! Every request goes through [`Upstream::send`] (retries, backoff, Braze's rate-limit
//! headers) with the limiter of its family: `/users/track`; user management (delete, merge,
//! alias, identify share Braze's 20,000/min); `/users/export/ids` (250/min, the tightest);
//! segment exports.
//!
//! This module holds what every endpoint shares (configuration, routes, the send and
//! fan-out helpers); each endpoint's builder and report live in their own module: `track`,
//! `delete`, `export` (ids and segment) and `batch` (merge, alias, identify).

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Method};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cluster::BrazeEndpoint;
use super::error::BrazeError;
use super::models::{CancelSegmentExportBody, UserAlias};
use super::validation::check_identifier;
use crate::upstream::{
    BadCredential, FailureClass, Idempotency, Rate, RateLimiter, RetryPolicy, ThrottleCount,
    Upstream, UpstreamError, bearer_header, decode_json, json_bytes,
};

mod batch;
mod delete;
mod export;
mod track;

pub use batch::{BatchReport, FailedBatch, IdentifyRequest, MergeRequest, NewAliasesRequest};
pub use delete::{DeleteReport, DeleteRequest};
pub use export::{ExportIdsReport, ExportIdsRequest, SegmentExportRequest};
pub use track::{
    FailedChunk, InvalidItem, ItemOutcome, ItemRef, RejectedItem, TrackArray, TrackReport,
    TrackRequest, UnmappedError,
};

/// Most objects one `/users/track` request may carry, all arrays combined.
pub const MAX_TRACK_BATCH: usize = 75;

/// The external id [`BrazeClient::check_key`] looks up: one no profile is meant to have.
pub const KEY_CHECK_EXTERNAL_ID: &str = "relay-key-check";

/// Client-side request rates per endpoint family, for one process. Braze's limits are per
/// company (or workspace), shared by every instance: set them from the contract, divided by
/// the number of instances that call the family at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrazeRates {
    /// `/users/track`. Default 100 req/s (burst 100): a tenth of Braze's 3,000 per 3 s.
    pub track: Rate,
    /// `/users/delete`, `/users/merge`, `/users/alias/new`, `/users/identify`. Default at
    /// most 2,000 in any minute: a tenth of Braze's shared 20,000/min.
    pub users: Rate,
    /// `/users/export/ids`. Default at most 250 in any minute (236/min after a burst of 7):
    /// Braze's whole limit for workspaces onboarded since 2024-08-22, so one process at a
    /// time. The deletion-worker is its main caller; its deployment divides the limit by
    /// its concurrency.
    pub export_ids: Rate,
    /// `/users/export/segment` and its cancel. Default 1 req/s: exports are rare and Braze
    /// allows one per segment at a time.
    pub export_segment: Rate,
}

impl BrazeRates {
    /// Braze's `/users/export/ids` limit for workspaces onboarded since 2024-08-22.
    pub const EXPORT_IDS_PER_MINUTE: u32 = 250;
    /// The default share of Braze's 20,000/min user-management limit.
    pub const USERS_PER_MINUTE: u32 = 2_000;

    /// At most `limit` requests in any minute ([`Rate::within_any_window`]).
    pub fn per_minute_limit(limit: NonZeroU32) -> Rate {
        Rate::within_any_window(limit, Duration::from_secs(60))
    }
}

impl Default for BrazeRates {
    fn default() -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        BrazeRates {
            track: Rate::per_second(n(100)),
            users: BrazeRates::per_minute_limit(n(BrazeRates::USERS_PER_MINUTE)),
            export_ids: BrazeRates::per_minute_limit(n(BrazeRates::EXPORT_IDS_PER_MINUTE)),
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
    /// `Authorization: Bearer <key>`, marked sensitive (Content-Type is added per request).
    headers: HeaderMap,
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
    /// Fails with [`BrazeError::InvalidConfig`] when the batch size is outside 1..=75, the
    /// concurrency is 0, or the key is empty or cannot be sent in a header.
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
        let authorization = bearer_header(&config.api_key).map_err(|problem| {
            BrazeError::InvalidConfig(match problem {
                BadCredential::Empty => "the REST API key is empty".to_owned(),
                BadCredential::NotHeaderSafe => {
                    "the REST API key contains characters not allowed in a header".to_owned()
                }
            })
        })?;
        let headers = HeaderMap::from_iter([(AUTHORIZATION, authorization)]);
        let track_limiter = Arc::new(RateLimiter::new(config.rates.track));
        Ok(BrazeClient {
            inner: Arc::new(Inner {
                upstream: Upstream::new("braze", http, config.retry, Arc::clone(&track_limiter)),
                endpoint: config.endpoint,
                headers,
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

    /// The 429s Braze has answered this client and its clones, every endpoint and every
    /// attempt counted.
    pub fn throttles(&self) -> &ThrottleCount {
        self.inner.upstream.throttles()
    }

    /// Objects per `/users/track` request.
    pub fn track_batch(&self) -> usize {
        self.inner.track_batch
    }

    /// Requests one call keeps in flight.
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// `POST /users/track`: attributes, events and purchases, validated, chunked and sent.
    pub fn track(&self) -> TrackRequest<'_> {
        TrackRequest::new(self)
    }

    /// `POST /users/delete`: profiles by any identifier, one identifier type and at most 50
    /// ids per request.
    pub fn delete(&self) -> DeleteRequest<'_> {
        DeleteRequest::new(self)
    }

    /// `POST /users/export/ids`: look profiles up by identifiers.
    pub fn export_ids(&self) -> ExportIdsRequest<'_> {
        ExportIdsRequest::new(self)
    }

    /// Checks the key with a call that reads one field and changes nothing: `POST
    /// /users/export/ids` (route `users.export.ids`, its own limiter, safe to repeat) for the
    /// external id [`KEY_CHECK_EXTERNAL_ID`], exporting only `external_id`. No other endpoint
    /// the relay uses is a read.
    ///
    /// `Ok` when Braze accepted the key. [`BrazeError::KeyRejected`] (401) means a wrong key
    /// or a key of a workspace on another cluster (Braze answers both alike);
    /// [`BrazeError::PermissionDenied`] (403) means the key is valid but lacks
    /// `users.export.ids`.
    pub async fn check_key(&self) -> Result<(), BrazeError> {
        self.export_ids()
            .external_ids([KEY_CHECK_EXTERNAL_ID])
            .fields(["external_id"])
            .send()
            .await
            .map(|_| ())
    }

    /// `POST /users/export/segment`: start an asynchronous export of `segment_id`.
    pub fn export_segment(&self, segment_id: impl Into<String>) -> SegmentExportRequest<'_> {
        SegmentExportRequest::new(self, segment_id.into())
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
        MergeRequest::new(self)
    }

    /// `POST /users/alias/new`: add aliases, at most 50 per request.
    pub fn new_aliases(&self) -> NewAliasesRequest<'_> {
        NewAliasesRequest::new(self)
    }

    /// `POST /users/identify`: give alias-only profiles an external id, at most 50 per
    /// request.
    pub fn identify(&self) -> IdentifyRequest<'_> {
        IdentifyRequest::new(self)
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
        let inner = &self.inner;
        let url = inner.endpoint.url(route.path);
        let response = inner
            .upstream
            .send(
                Some(self.limiter(route.family)),
                route.idempotency,
                Method::POST,
                &url,
                &inner.headers,
                Some(body),
            )
            .await
            .map_err(|error| self.classify(route, error))?;
        tracing::debug!(
            endpoint = route.path,
            status = response.status.as_u16(),
            "braze request done"
        );
        Ok(response)
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

    /// Sends every `(context, body)` to `route`, at most `concurrency` at once, reads each
    /// 2xx answer with `read` ([`read_result`] or [`read_write_answer`]) and hands it with its
    /// context to `on_answer` as it arrives.
    ///
    /// A misconfiguration (key rejected, missing permission) ends the call with `Err`: no
    /// other request can succeed. `on_answer` ends it too by returning `Err`.
    async fn fan_out<C, O>(
        &self,
        route: &'static Route,
        requests: Vec<(C, Bytes)>,
        read: fn(&Route, &[u8]) -> Result<O, BrazeError>,
        mut on_answer: impl FnMut(C, Result<O, BrazeError>) -> Result<(), BrazeError>,
    ) -> Result<(), BrazeError> {
        let mut in_flight = futures::stream::iter(requests)
            .map(|(context, body)| async move {
                let answer = self.post(route, body).await;
                (
                    context,
                    answer.and_then(|response| read(route, &response.body)),
                )
            })
            .buffer_unordered(self.inner.concurrency);
        while let Some((context, outcome)) = in_flight.next().await {
            match outcome {
                Err(error) if error.class() == FailureClass::Misconfigured => return Err(error),
                outcome => on_answer(context, outcome)?,
            }
        }
        Ok(())
    }
}

/// Whether an alias has both parts Braze needs to find a profile, each free of control
/// characters ([`check_identifier`]).
fn alias_ok(alias: &UserAlias) -> bool {
    check_identifier(&alias.alias_name).is_ok() && check_identifier(&alias.alias_label).is_ok()
}

/// Serialises a request body once; a failure means nothing was sent.
fn to_body(value: &impl Serialize) -> Result<Bytes, BrazeError> {
    json_bytes(value)
        .map_err(|_| BrazeError::InvalidRequest("the request could not be serialised".to_owned()))
}

/// Decodes a 2xx body of `route`, naming the JSON path that did not fit.
fn decode<T: DeserializeOwned>(route: &Route, body: &[u8]) -> Result<T, BrazeError> {
    decode_json(body).map_err(|e| BrazeError::decode(route.path, e))
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Reads the 2xx answer of a lookup (`/users/export/ids`): the answer is the result, so a
/// body that does not decode is [`BrazeError::Decode`]. An empty body is the default answer.
fn read_result<T: DeserializeOwned + Default>(route: &Route, body: &[u8]) -> Result<T, BrazeError> {
    if is_blank(body) {
        return Ok(T::default());
    }
    decode(route, body)
}

/// Reads the 2xx answer of a write (track, delete, merge, alias, identify). Braze accepted
/// the request, so it never fails: the counts and partial errors when the body has them
/// (an empty body, as during maintenance, is the default answer), `None` when it cannot be
/// read (an HTML page from a proxy, another shape). Calling it a failure would repeat a done
/// write, and record its events twice.
fn read_write_answer<T: DeserializeOwned + Default>(
    route: &Route,
    body: &[u8],
) -> Result<Option<T>, BrazeError> {
    if is_blank(body) {
        return Ok(Some(T::default()));
    }
    match decode_json(body) {
        Ok(answer) => Ok(Some(answer)),
        Err(error) => {
            tracing::warn!(
                endpoint = route.path,
                path = %error.path,
                category = error.category,
                "braze accepted the request but its answer could not be read; counted as done"
            );
            Ok(None)
        }
    }
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

/// Drops repeated items, keeping the first occurrence and the order.
fn dedup<T: Clone + Eq + std::hash::Hash>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}
