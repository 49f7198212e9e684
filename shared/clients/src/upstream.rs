//! Upstream policy shared by every vendor client (Braze REST, Braze SCIM, Userflow).
//!
//! Three parts, each usable on its own:
//! - [`RetryPolicy::decide`]: a pure function from what one attempt observed (status and
//!   headers, or a transport error), the attempt number, the time spent so far and a jitter
//!   sample to a [`Decision`]: succeed, retry after a delay, or give up with a [`FailureClass`].
//! - [`RateLimiter`]: a client-side limiter per API (governor) that also slows down when the
//!   vendor's `X-RateLimit-Remaining` runs low, and pauses every caller after a 429.
//! - [`Upstream::execute`]: the one send loop that applies both. It reads the body as bytes
//!   only; callers decode it after looking at the status, so an HTML 502 is never parsed as JSON.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};

/// How a failure should be treated by whoever called the vendor.
///
/// The class, decided once here, is what functions map to HTTP answers, parking, or SQS
/// batch-item failures: transient and throttled failures are worth another try later,
/// permanent ones are not, and misconfigured ones need an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// 5xx, 408, connection and body-read errors: the same request may work later.
    Transient,
    /// 429: the vendor asked us to slow down.
    Throttled,
    /// Other 4xx: the request itself is wrong and retrying cannot help.
    Permanent,
    /// 401/403: wrong key, wrong cluster, missing permission; an operator must fix config.
    Misconfigured,
}

impl FailureClass {
    /// Whether a later attempt (a redelivery, a parked job) may succeed.
    pub fn is_retryable_later(self) -> bool {
        matches!(self, FailureClass::Transient | FailureClass::Throttled)
    }

    /// Classifies a final HTTP status; `None` for success (2xx).
    pub fn of_status(status: StatusCode) -> Option<FailureClass> {
        match status.as_u16() {
            200..=299 => None,
            429 => Some(FailureClass::Throttled),
            408 | 500..=599 => Some(FailureClass::Transient),
            401 | 403 => Some(FailureClass::Misconfigured),
            _ => Some(FailureClass::Permanent),
        }
    }
}

/// Why the loop stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The class is never retried (permanent, misconfigured, or unsafe to repeat).
    NotRetryable,
    /// `max_attempts` were made.
    AttemptsExhausted,
    /// Waiting for the next attempt would pass the overall deadline.
    DeadlineExceeded,
}

/// The outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: hand the response to the caller.
    Success,
    /// Wait `after`, then send the same request again.
    Retry {
        /// How long to wait first (the vendor's hint, else the backoff).
        after: Duration,
        /// What the failed attempt was.
        class: FailureClass,
    },
    /// Stop. `retry_after` carries the vendor's hint (if any) for whoever parks the work.
    GiveUp {
        /// What the last attempt's failure means for the caller.
        class: FailureClass,
        /// Why no further attempt is made.
        reason: GiveUpReason,
        /// The vendor's retry hint, if it gave one.
        retry_after: Option<Duration>,
    },
}

/// What one attempt observed.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// The vendor answered with a status line and headers (body not yet read).
    Response {
        /// The status line's code.
        status: StatusCode,
        /// The response headers (rate-limit hints).
        headers: &'a HeaderMap,
    },
    /// No usable response. `connected` is false when the request provably never left
    /// (connection refused, DNS), which makes even a non-idempotent request safe to repeat.
    Transport {
        /// Whether the connection was made (so the vendor may have acted on the request).
        connected: bool,
    },
}

/// Whether repeating a request can duplicate its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Upserts, deletes, reads: repeating is harmless.
    Idempotent,
    /// E.g. Userflow `POST /events`: only retried when the vendor provably did not act on it
    /// (429, or the connection was never made).
    NotIdempotent,
}

/// Bounded exponential backoff with jitter, an attempt limit and an overall deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Ceiling for one computed backoff (a vendor's own `Retry-After` may exceed it).
    pub max_delay: Duration,
    /// Time budget from the first attempt; no retry is scheduled past it.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            deadline: Duration::from_secs(60),
        }
    }
}

/// Inputs to a decision that are not part of the response: attempt bookkeeping, the wall
/// clock (for epoch reset headers) and a jitter sample in `[0, 1)`. Passing them in keeps
/// [`RetryPolicy::decide`] pure and testable as a table.
#[derive(Debug, Clone, Copy)]
pub struct AttemptContext {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// Wall-clock time of the observation.
    pub now: SystemTime,
    /// Uniform sample in `[0, 1)`; scales the backoff between 50% and 100%.
    pub jitter: f64,
    /// Whether the request may be repeated after an ambiguous failure.
    pub idempotency: Idempotency,
}

impl RetryPolicy {
    /// Decides what to do after one attempt. Pure: the same inputs give the same decision.
    pub fn decide(&self, observed: Observed<'_>, ctx: AttemptContext) -> Decision {
        let (class, vendor_delay) = match observed {
            Observed::Response { status, headers } => match FailureClass::of_status(status) {
                None => return Decision::Success,
                Some(class) => (class, server_retry_after(status, headers, ctx.now)),
            },
            Observed::Transport { .. } => (FailureClass::Transient, None),
        };
        let give_up = |reason| Decision::GiveUp {
            class,
            reason,
            retry_after: vendor_delay,
        };
        let safe_to_repeat = match (ctx.idempotency, observed) {
            (Idempotency::Idempotent, _) => true,
            (_, Observed::Transport { connected }) => !connected,
            (_, Observed::Response { status, .. }) => status == StatusCode::TOO_MANY_REQUESTS,
        };
        if !class.is_retryable_later() || !safe_to_repeat {
            return give_up(GiveUpReason::NotRetryable);
        }
        if ctx.attempt >= self.max_attempts {
            return give_up(GiveUpReason::AttemptsExhausted);
        }
        let after = vendor_delay.unwrap_or_else(|| self.backoff(ctx.attempt, ctx.jitter));
        if ctx.elapsed.saturating_add(after) > self.deadline {
            return give_up(GiveUpReason::DeadlineExceeded);
        }
        Decision::Retry { after, class }
    }

    /// "Equal jitter" backoff: `min(max_delay, base * 2^(attempt-1))`, scaled into 50-100%
    /// so retries from many callers spread out but never collapse to zero.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        ceiling.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Epoch values above this are absolute UTC seconds; smaller ones are deltas (Braze documents
/// `X-RateLimit-Reset` both ways).
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

/// The delay the vendor asked for, in order of precedence: Braze's `X-Ratelimit-Retry-After`,
/// the standard `Retry-After` (seconds or HTTP date), and, for a 429 only,
/// `X-RateLimit-Reset` (epoch or delta). Header names match case-insensitively.
pub fn server_retry_after(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    header_str(headers, "x-ratelimit-retry-after")
        .and_then(parse_seconds)
        .or_else(|| header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, now)))
        .or_else(|| {
            (status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| rate_limit_reset(headers, now))
                .flatten()
        })
}

/// `X-RateLimit-Reset` as a delay from `now`: values above 1e9 are epoch seconds, others
/// seconds remaining. A reset in the past is zero.
pub fn rate_limit_reset(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value: f64 = header_str(headers, "x-ratelimit-reset")?
        .trim()
        .parse()
        .ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    if value >= EPOCH_THRESHOLD as f64 {
        let now_secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        Some(Duration::from_secs_f64((value - now_secs).max(0.0)))
    } else {
        Some(Duration::from_secs_f64(value))
    }
}

fn parse_seconds(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_seconds(value).or_else(|| {
        let when = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
        let when =
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(when.timestamp()).ok()?);
        Some(when.duration_since(now).unwrap_or(Duration::ZERO))
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The vendor's view of our remaining budget, from `X-RateLimit-Limit`, `-Remaining` and
/// `-Reset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// `X-RateLimit-Limit`: requests allowed in the current window.
    pub limit: u64,
    /// `X-RateLimit-Remaining`: requests left in the window.
    pub remaining: u64,
    /// `X-RateLimit-Reset`, as a delay from now.
    pub resets_in: Duration,
}

impl Budget {
    /// Reads the three headers; `None` when any is missing or unreadable.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Budget> {
        let number = |name| header_str(headers, name)?.trim().parse::<u64>().ok();
        Some(Budget {
            limit: number("x-ratelimit-limit")?,
            remaining: number("x-ratelimit-remaining")?,
            resets_in: rate_limit_reset(headers, now)?,
        })
    }

    /// Minimum spacing between requests that spends what is left evenly until the reset,
    /// once the remaining budget falls to `low_water` (a fraction of the limit) or below.
    pub fn pacing(&self, low_water: f64) -> Option<Duration> {
        let threshold = (self.limit as f64 * low_water).ceil() as u64;
        (self.limit > 0 && self.remaining <= threshold).then(|| {
            self.resets_in / (self.remaining.saturating_add(1).min(u32::MAX as u64) as u32)
        })
    }
}

/// A configured request rate for one API (or one endpoint family of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained requests per second from this process.
    pub per_second: NonZeroU32,
    /// Requests that may go at once after a quiet period.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` sustained with an equal burst.
    pub fn per_second(per_second: NonZeroU32) -> Rate {
        Rate {
            per_second,
            burst: per_second,
        }
    }

    /// A budget expressed per minute (e.g. Braze's 250/min for `/users/export/ids`): spread
    /// evenly, with a burst of one second's worth (at least 1).
    pub fn per_minute(per_minute: NonZeroU32) -> Rate {
        let per_second = NonZeroU32::new(per_minute.get().div_ceil(60)).unwrap_or(NonZeroU32::MIN);
        Rate {
            per_second,
            burst: per_second,
        }
    }
}

/// Client-side rate limiter for one API: a governor quota at the configured rate, plus a gate
/// that every caller passes through. The gate spaces requests out when the vendor's remaining
/// budget is low and holds everyone back after a 429, so concurrent tasks share one view.
#[derive(Debug)]
pub struct RateLimiter {
    quota: Option<DefaultDirectRateLimiter>,
    gate: Mutex<Gate>,
    low_water: f64,
}

#[derive(Debug)]
struct Gate {
    not_before: Instant,
    spacing: Duration,
    spacing_until: Instant,
    /// The vendor's `X-RateLimit-Limit` from the last response that carried it.
    vendor_limit: Option<u64>,
}

impl RateLimiter {
    /// Fraction of the vendor's limit below which requests are spaced out.
    pub const DEFAULT_LOW_WATER: f64 = 0.1;

    /// Shortest window over which requests resume after a 429: a hint of 0 s must not turn
    /// into a burst.
    pub const MIN_RESUME_WINDOW: Duration = Duration::from_secs(1);

    /// A limiter at `rate`.
    pub fn new(rate: Rate) -> RateLimiter {
        let quota = Quota::per_second(rate.per_second).allow_burst(rate.burst);
        RateLimiter::build(Some(DefaultDirectRateLimiter::direct(quota)))
    }

    /// No client-side quota; still honours the vendor's headers and 429s.
    pub fn unlimited() -> RateLimiter {
        RateLimiter::build(None)
    }

    fn build(quota: Option<DefaultDirectRateLimiter>) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            quota,
            gate: Mutex::new(Gate {
                not_before: now,
                spacing: Duration::ZERO,
                spacing_until: now,
                vendor_limit: None,
            }),
            low_water: Self::DEFAULT_LOW_WATER,
        }
    }

    /// Waits until this caller may send one request.
    pub async fn acquire(&self) {
        if let Some(quota) = &self.quota {
            quota.until_ready().await;
        }
        let wait = {
            let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = gate.not_before.max(now);
            if slot < gate.spacing_until {
                gate.not_before = slot + gate.spacing;
            }
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Adapts to the vendor's rate-limit headers on any response. Pacing set here lasts until
    /// the vendor's reset; a later response with budget to spare does not cut it short (it may
    /// be older than the one that reported the shortage).
    pub fn observe(&self, headers: &HeaderMap, now: SystemTime) {
        let Some(budget) = Budget::from_headers(headers, now) else {
            return;
        };
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        gate.vendor_limit = Some(budget.limit);
        if let Some(spacing) = budget.pacing(self.low_water) {
            gate.spacing = spacing;
            gate.spacing_until = gate.spacing_until.max(Instant::now() + budget.resets_in);
        }
    }

    /// Holds every caller back for `delay` (after a 429 with a retry hint), then lets them go
    /// one by one at the vendor's limit spread over a window, instead of all at once into the
    /// next refusal.
    pub fn pause(&self, delay: Duration) {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        gate.not_before = gate.not_before.max(Instant::now() + delay);
        if let Some(limit) = gate.vendor_limit.filter(|limit| *limit > 0) {
            let window = delay.max(Self::MIN_RESUME_WINDOW);
            gate.spacing = window / u32::try_from(limit).unwrap_or(u32::MAX);
            gate.spacing_until = gate.not_before + window;
        }
    }
}

/// A final failure of one logical request, after the policy stopped retrying.
///
/// The body is kept as bytes, undecoded, for the client to interpret (or not) by status and
/// content type. Neither `Display` nor `Debug` includes it: vendor bodies can echo personal
/// data.
#[derive(thiserror::Error)]
pub enum UpstreamError {
    /// The vendor answered with a non-2xx status.
    #[error("{api} answered HTTP {status} after {attempts} attempt(s) ({class:?}, {reason:?})")]
    Status {
        /// The API's name, as given to [`Upstream::new`].
        api: &'static str,
        /// The final status.
        status: StatusCode,
        /// What the status means for the caller.
        class: FailureClass,
        /// Why the loop stopped.
        reason: GiveUpReason,
        /// Attempts made, the first included.
        attempts: u32,
        /// The vendor's retry hint, for whoever parks the work.
        retry_after: Option<Duration>,
        /// The response's `Content-Type`, which says whether `body` may be decoded as JSON.
        content_type: Option<String>,
        /// The undecoded body (may echo personal data: never log it).
        body: Bytes,
    },
    /// No usable response (connect, timeout, dropped connection, unreadable body).
    #[error("{api} could not be reached after {attempts} attempt(s) ({reason:?}): {source}")]
    Transport {
        /// The API's name, as given to [`Upstream::new`].
        api: &'static str,
        /// Why the loop stopped.
        reason: GiveUpReason,
        /// Attempts made, the first included.
        attempts: u32,
        /// reqwest's error, with the URL removed (it can carry an email filter).
        #[source]
        source: reqwest::Error,
    },
    /// Nothing was sent: the caller's deadline ([`Upstream::until`]) passed while the request
    /// waited for the rate limiter or for its next attempt.
    #[error("{api} request not sent before the caller's deadline (after {attempts} attempt(s))")]
    NotSent {
        /// The API's name, as given to [`Upstream::new`].
        api: &'static str,
        /// Attempts made before the deadline, each of which failed.
        attempts: u32,
    },
}

impl fmt::Debug for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Status {
                api,
                status,
                class,
                reason,
                attempts,
                retry_after,
                content_type,
                body,
            } => f
                .debug_struct("Status")
                .field("api", api)
                .field("status", status)
                .field("class", class)
                .field("reason", reason)
                .field("attempts", attempts)
                .field("retry_after", retry_after)
                .field("content_type", content_type)
                .field("body", &RedactedBody(body))
                .finish(),
            UpstreamError::Transport {
                api,
                reason,
                attempts,
                source,
            } => f
                .debug_struct("Transport")
                .field("api", api)
                .field("reason", reason)
                .field("attempts", attempts)
                .field("source", source)
                .finish(),
            UpstreamError::NotSent { api, attempts } => f
                .debug_struct("NotSent")
                .field("api", api)
                .field("attempts", attempts)
                .finish(),
        }
    }
}

/// Shows a body's size, never its content.
struct RedactedBody<'b>(&'b Bytes);

impl fmt::Debug for RedactedBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl UpstreamError {
    /// The class that decides retry-later, park, or fail permanently.
    pub fn class(&self) -> FailureClass {
        match self {
            UpstreamError::Status { class, .. } => *class,
            UpstreamError::Transport { .. } | UpstreamError::NotSent { .. } => {
                FailureClass::Transient
            }
        }
    }

    /// The HTTP status, when the vendor answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            UpstreamError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The vendor's own retry hint, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error body when the vendor declared it JSON; `None` for HTML pages (a load
    /// balancer's 502), other content types and transport errors.
    pub fn json_body(&self) -> Option<&[u8]> {
        match self {
            UpstreamError::Status {
                content_type, body, ..
            } if content_type.as_deref().is_some_and(is_json_content_type) => Some(body),
            _ => None,
        }
    }

    /// The undecoded error body (empty for transport errors).
    pub fn body(&self) -> &[u8] {
        match self {
            UpstreamError::Status { body, .. } => body,
            _ => &[],
        }
    }
}

/// A successful (2xx) response, fully read. `Debug` shows the body's size only.
#[derive(Clone)]
pub struct Response {
    /// The 2xx status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The undecoded body (may hold personal data: never log it).
    pub body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &RedactedBody(&self.body))
            .finish()
    }
}

impl Response {
    /// Decodes the body as JSON; on failure the error names the JSON path that did not fit.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, DecodeError> {
        decode_json(&self.body)
    }
}

/// A response body that did not have the expected shape: where, and what kind of mismatch.
///
/// Safe to log: it keeps serde's message only for a missing field, because other messages can
/// quote the offending value (an email, a name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}` ({category}{}, line {line}, column {column})", .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct DecodeError {
    /// JSON path of the first value that did not fit, e.g. `users[2].user_aliases`.
    pub path: String,
    /// serde_json's category: `syntax`, `data`, `eof` or `io`.
    pub category: &'static str,
    /// serde's message when it cannot quote data (`missing field `x``); else `None`.
    pub detail: Option<String>,
    /// Position in the body.
    pub line: usize,
    /// Position in the body.
    pub column: usize,
}

impl From<serde_path_to_error::Error<serde_json::Error>> for DecodeError {
    fn from(error: serde_path_to_error::Error<serde_json::Error>) -> DecodeError {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let category = match inner.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        let message = inner.to_string();
        let detail = message.starts_with("missing field").then(|| {
            message
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        DecodeError {
            path,
            category,
            detail,
            line: inner.line(),
            column: inner.column(),
        }
    }
}

/// Decodes JSON bytes, reporting the path of the first value that did not fit.
pub fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(DecodeError::from)
}

/// Whether a Content-Type names JSON (`application/json`, `application/problem+json`, ...).
pub fn is_json_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// Timeouts for the HTTP client every vendor client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// One whole attempt, body included.
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            connect: Duration::from_secs(3),
            request: Duration::from_secs(30),
        }
    }
}

/// The reqwest client vendor clients share: our user agent, bounded timeouts, pooled
/// connections. Build it once per process (in `main`) and clone it into each client.
///
/// It trusts Mozilla's root certificates compiled into the binary (`webpki-root-certs`)
/// rather than the platform's: loading the system store reads every file of the certificate
/// directory at cold start, which made up a third of crm-signup's init time. Braze,
/// Userflow and HubSpot all use public CAs.
pub fn http_client(timeouts: HttpTimeouts) -> reqwest::Client {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok());
    reqwest::Client::builder()
        .user_agent(concat!("lifecycle-relay/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .tls_certs_only(roots)
        .build()
        .expect("a client with only timeouts, a user agent and valid roots always builds")
}

/// One API as seen by a client: its name (for errors and logs), the HTTP client, the retry
/// policy and the rate limiter. Cheap to clone; clones share the limiter.
#[derive(Debug, Clone)]
pub struct Upstream {
    api: &'static str,
    http: reqwest::Client,
    policy: RetryPolicy,
    limiter: Arc<RateLimiter>,
    until: Option<tokio::time::Instant>,
}

impl Upstream {
    /// An upstream named `api` (used in errors and logs, never a secret).
    pub fn new(
        api: &'static str,
        http: reqwest::Client,
        policy: RetryPolicy,
        limiter: Arc<RateLimiter>,
    ) -> Upstream {
        Upstream {
            api,
            http,
            policy,
            limiter,
            until: None,
        }
    }

    /// The same upstream, but no attempt starts and no retry wait ends after `until`: a
    /// request that could not be sent by then fails with [`UpstreamError::NotSent`], so the
    /// caller knows the vendor never saw it (what a non-idempotent call needs to know when
    /// it works under a deadline).
    pub fn until(&self, until: tokio::time::Instant) -> Upstream {
        Upstream {
            until: Some(until),
            ..self.clone()
        }
    }

    /// The API's name, as given to [`Upstream::new`].
    pub fn api(&self) -> &'static str {
        self.api
    }

    /// The shared HTTP client, for building requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends the request built by `build` (called once per attempt) under this API's limiter
    /// and policy, using `limiter` instead of the API-wide one when given (endpoint families
    /// with their own budget). Returns the first 2xx response, or the final failure.
    pub async fn execute(
        &self,
        limiter: Option<&RateLimiter>,
        idempotency: Idempotency,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, UpstreamError> {
        let limiter = limiter.unwrap_or(&self.limiter);
        let started = Instant::now();
        let policy = match self.until {
            Some(until) => RetryPolicy {
                deadline: self
                    .policy
                    .deadline
                    .min(until.saturating_duration_since(tokio::time::Instant::now())),
                ..self.policy
            },
            None => self.policy,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(until) = self.until
                && tokio::time::timeout_at(until, limiter.acquire())
                    .await
                    .is_err()
            {
                return Err(UpstreamError::NotSent {
                    api: self.api,
                    attempts: attempt - 1,
                });
            }
            if self.until.is_none() {
                limiter.acquire().await;
            }
            let sent = build(&self.http).send().await;
            let now = SystemTime::now();
            let ctx = AttemptContext {
                attempt,
                elapsed: started.elapsed(),
                now,
                jitter: rand::random::<f64>(),
                idempotency,
            };
            // The URL can carry personal data (an email filter in a query string): errors
            // keep only what reqwest says without it.
            let (source, connected) = match sent {
                Err(source) => {
                    let connected = !source.is_connect();
                    (source.without_url(), connected)
                }
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    limiter.observe(&headers, now);
                    let observed = Observed::Response {
                        status,
                        headers: &headers,
                    };
                    let decision = policy.decide(observed, ctx);
                    // A vendor's "slow down" holds for every task of this API, even when
                    // this request gives up instead of waiting.
                    if let Decision::GiveUp {
                        class: FailureClass::Throttled,
                        retry_after: Some(delay),
                        ..
                    } = decision
                    {
                        limiter.pause(delay);
                    }
                    if let Decision::Retry { after, class } = decision {
                        if class == FailureClass::Throttled {
                            limiter.pause(after);
                        }
                        self.wait_before_retry(attempt, Some(status), after).await;
                        continue;
                    }
                    match response.bytes().await {
                        Ok(body) => {
                            return self.finish(status, headers, body, decision, attempt);
                        }
                        // A body that cannot be read is a dropped connection: transient.
                        Err(source) => (source.without_url(), true),
                    }
                }
            };
            let ctx = AttemptContext {
                elapsed: started.elapsed(),
                ..ctx
            };
            let reason = match policy.decide(Observed::Transport { connected }, ctx) {
                Decision::Retry { after, .. } => {
                    self.wait_before_retry(attempt, None, after).await;
                    continue;
                }
                Decision::GiveUp { reason, .. } => reason,
                Decision::Success => unreachable!("a transport error is never a success"),
            };
            tracing::warn!(
                api = self.api,
                attempt,
                ?reason,
                "upstream transport error; gave up"
            );
            return Err(UpstreamError::Transport {
                api: self.api,
                reason,
                attempts: attempt,
                source,
            });
        }
    }

    /// Sends `method url` with `headers` (and `body` as JSON, when given) through
    /// [`Upstream::execute`]: the request every vendor client makes.
    pub async fn send(
        &self,
        limiter: Option<&RateLimiter>,
        idempotency: Idempotency,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response, UpstreamError> {
        let needs_content_type = body.is_some() && !headers.contains_key(CONTENT_TYPE);
        self.execute(limiter, idempotency, |http| {
            let request = http.request(method.clone(), url).headers(headers.clone());
            match &body {
                Some(body) if needs_content_type => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone()),
                Some(body) => request.body(body.clone()),
                None => request,
            }
        })
        .await
    }

    async fn wait_before_retry(&self, attempt: u32, status: Option<StatusCode>, after: Duration) {
        tracing::warn!(
            api = self.api,
            status = status.map(|s| s.as_u16()),
            attempt,
            delay_ms = after.as_millis() as u64,
            "upstream retry"
        );
        tokio::time::sleep(after).await;
    }

    /// Turns a final (non-retry) decision on a fully read response into the loop's result.
    fn finish(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        decision: Decision,
        attempts: u32,
    ) -> Result<Response, UpstreamError> {
        let Decision::GiveUp {
            class,
            reason,
            retry_after,
        } = decision
        else {
            return Ok(Response {
                status,
                headers,
                body,
            });
        };
        tracing::warn!(
            api = self.api,
            status = status.as_u16(),
            attempts,
            ?class,
            ?reason,
            "upstream gave up"
        );
        let content_type = header_str(&headers, "content-type").map(str::to_owned);
        Err(UpstreamError::Status {
            api: self.api,
            status,
            class,
            reason,
            attempts,
            retry_after,
            content_type,
            body,
        })
    }
}

/// Serialises a request body once, so every attempt resends the same bytes.
pub fn json_bytes<T: serde::Serialize + ?Sized>(value: &T) -> Result<Bytes, serde_json::Error> {
    serde_json::to_vec(value).map(Bytes::from)
}

/// Why a configured credential cannot be sent as a `Authorization: Bearer` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadCredential {
    /// Empty or only whitespace.
    Empty,
    /// Holds characters an HTTP header cannot carry (a newline pasted with the key).
    NotHeaderSafe,
}

/// `Bearer <secret>` as a header value marked sensitive, so it never shows in debug output.
/// Checked once when a client is built: a bad key is a configuration error, not something
/// every request discovers (and retries).
pub fn bearer_header(secret: &SecretString) -> Result<HeaderValue, BadCredential> {
    let token = secret.expose_secret().trim();
    if token.is_empty() {
        return Err(BadCredential::Empty);
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| BadCredential::NotHeaderSafe)?;
    value.set_sensitive(true);
    Ok(value)
}

/// A vendor API's base URL, checked once: http(s), a host, no query or fragment, no
/// trailing slash; a path prefix (a sandbox mounted under `/userflow`) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    base: String,
    origin: String,
}

impl BaseUrl {
    /// Parses a configured base URL; the error says what is wrong, never quoting the URL.
    pub fn parse(raw: &str) -> Result<BaseUrl, &'static str> {
        let trimmed = raw.trim().trim_end_matches('/');
        let url = url::Url::parse(trimmed).map_err(|_| "base URL is not a valid URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("base URL must be http or https");
        }
        if url.host_str().is_none() {
            return Err("base URL has no host");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("base URL must not have a query or fragment");
        }
        let origin = url.origin().ascii_serialization();
        let path = url.path().trim_end_matches('/');
        Ok(BaseUrl {
            base: format!("{origin}{path}"),
            origin,
        })
    }

    /// The normalised URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `scheme://host[:port]`, to recognise the vendor's own absolute URLs.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The base URL + each segment percent-encoded as one path segment + an encoded query.
    pub fn join(&self, segments: &[&str], query: &[(&str, &str)]) -> String {
        let mut url = self.base.clone();
        for segment in segments {
            url.push('/');
            url.push_str(&encode_component(segment));
        }
        for (index, (key, value)) in query.iter().enumerate() {
            url.push(if index == 0 { '?' } else { '&' });
            url.push_str(&encode_component(key));
            url.push('=');
            url.push_str(&encode_component(value));
        }
        url
    }
}

/// Percent-encodes everything but `A-Z a-z 0-9 - . _ *`, so a value is safe as one path
/// segment or query component (a space becomes `%20`, never `+`).
pub fn encode_component(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const NOW_EPOCH: u64 = 1_800_000_000;

    fn ctx(attempt: u32, elapsed_ms: u64) -> AttemptContext {
        AttemptContext {
            attempt,
            elapsed: Duration::from_millis(elapsed_ms),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_EPOCH),
            jitter: 1.0,
            idempotency: Idempotency::Idempotent,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            deadline: Duration::from_secs(10),
        }
    }

    fn decide(status: u16, pairs: &[(&'static str, &str)], ctx: AttemptContext) -> Decision {
        let map = headers(pairs);
        policy().decide(
            Observed::Response {
                status: StatusCode::from_u16(status).unwrap(),
                headers: &map,
            },
            ctx,
        )
    }

    fn retry(ms: u64, class: FailureClass) -> Decision {
        Decision::Retry {
            after: Duration::from_millis(ms),
            class,
        }
    }

    fn give_up(class: FailureClass, reason: GiveUpReason, hint_ms: Option<u64>) -> Decision {
        Decision::GiveUp {
            class,
            reason,
            retry_after: hint_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn when_status_and_headers_vary_then_the_decision_follows_the_table() {
        use FailureClass::*;
        use GiveUpReason::*;
        let reset_epoch = (NOW_EPOCH + 7).to_string();
        let date = "Fri, 15 Jan 2027 08:00:03 GMT";
        type Row<'a> = (
            &'a str,
            u16,
            Vec<(&'static str, &'a str)>,
            AttemptContext,
            Decision,
        );
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            ("201 success", 201, vec![], ctx(1, 0), Decision::Success),
            ("202 queued is success", 202, vec![], ctx(1, 0), Decision::Success),
            ("500 retried with backoff", 500, vec![], ctx(1, 0), retry(100, Transient)),
            ("503 third attempt backs off 4x", 503, vec![], ctx(3, 0), retry(400, Transient)),
            ("504 backoff capped at max_delay", 504, vec![], ctx(5 - 1, 0), retry(800, Transient)),
            ("408 is transient", 408, vec![], ctx(1, 0), retry(100, Transient)),
            ("429 with Braze retry header", 429, vec![("x-ratelimit-retry-after", "3")], ctx(1, 0), retry(3000, Throttled)),
            ("429 header names are case-insensitive", 429, vec![("X-RateLimit-Retry-After", "1.5")], ctx(1, 0), retry(1500, Throttled)),
            ("429 with Retry-After seconds", 429, vec![("retry-after", "2")], ctx(1, 0), retry(2000, Throttled)),
            ("Braze header wins over Retry-After", 429, vec![("retry-after", "9"), ("x-ratelimit-retry-after", "1")], ctx(1, 0), retry(1000, Throttled)),
            ("429 with reset as epoch", 429, vec![("x-ratelimit-reset", &reset_epoch)], ctx(1, 0), retry(7000, Throttled)),
            ("429 with reset as delta", 429, vec![("x-ratelimit-reset", "4")], ctx(1, 0), retry(4000, Throttled)),
            ("429 with reset in the past retries now", 429, vec![("x-ratelimit-reset", "1700000000")], ctx(1, 0), retry(0, Throttled)),
            ("429 without hints backs off", 429, vec![], ctx(2, 0), retry(200, Throttled)),
            ("503 honours Retry-After", 503, vec![("retry-after", "1")], ctx(1, 0), retry(1000, Transient)),
            ("reset ignored on 5xx", 500, vec![("x-ratelimit-reset", "9")], ctx(1, 0), retry(100, Transient)),
            ("garbage hint falls back to backoff", 429, vec![("retry-after", "soon")], ctx(1, 0), retry(100, Throttled)),
            ("negative hint falls back to backoff", 429, vec![("x-ratelimit-retry-after", "-5")], ctx(1, 0), retry(100, Throttled)),
            ("400 never retried", 400, vec![], ctx(1, 0), give_up(Permanent, NotRetryable, None)),
            ("404 never retried", 404, vec![], ctx(1, 0), give_up(Permanent, NotRetryable, None)),
            ("413 never retried", 413, vec![], ctx(1, 0), give_up(Permanent, NotRetryable, None)),
            ("401 is misconfiguration", 401, vec![], ctx(1, 0), give_up(Misconfigured, NotRetryable, None)),
            ("403 is misconfiguration", 403, vec![], ctx(1, 0), give_up(Misconfigured, NotRetryable, None)),
            ("attempts exhausted", 500, vec![], ctx(5, 0), give_up(Transient, AttemptsExhausted, None)),
            ("attempts exhausted keeps the hint", 429, vec![("retry-after", "2")], ctx(5, 0), give_up(Throttled, AttemptsExhausted, Some(2000))),
            ("hint past the deadline gives up", 429, vec![("retry-after", "30")], ctx(1, 0), give_up(Throttled, DeadlineExceeded, Some(30_000))),
            ("backoff past the deadline gives up", 500, vec![], ctx(2, 9_900), give_up(Transient, DeadlineExceeded, None)),
            ("HTTP-date Retry-After", 429, vec![("retry-after", date)], ctx(1, 0), retry(3000, Throttled)),
        ];
        for (name, status, pairs, ctx, expected) in table {
            assert_eq!(decide(status, &pairs, ctx), expected, "{name}");
        }
    }

    #[test]
    fn when_retry_after_is_an_http_date_then_the_delay_is_measured_from_now() {
        // Fri, 15 Jan 2027 08:00:03 GMT = 1800000003.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let map = headers(&[("retry-after", "Fri, 15 Jan 2027 08:00:03 GMT")]);
        assert_eq!(
            server_retry_after(StatusCode::TOO_MANY_REQUESTS, &map, now),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn when_the_request_is_not_idempotent_then_only_unsent_or_throttled_attempts_repeat() {
        let map = HeaderMap::new();
        let unsafe_ctx = AttemptContext {
            idempotency: Idempotency::NotIdempotent,
            ..ctx(1, 0)
        };
        let p = policy();
        let status = |s| Observed::Response {
            status: StatusCode::from_u16(s).unwrap(),
            headers: &map,
        };
        assert!(matches!(
            p.decide(status(502), unsafe_ctx),
            Decision::GiveUp {
                reason: GiveUpReason::NotRetryable,
                class: FailureClass::Transient,
                ..
            }
        ));
        assert!(matches!(
            p.decide(status(429), unsafe_ctx),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            p.decide(Observed::Transport { connected: false }, unsafe_ctx),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            p.decide(Observed::Transport { connected: true }, unsafe_ctx),
            Decision::GiveUp {
                reason: GiveUpReason::NotRetryable,
                ..
            }
        ));
        assert!(matches!(
            p.decide(Observed::Transport { connected: true }, ctx(1, 0)),
            Decision::Retry {
                class: FailureClass::Transient,
                ..
            }
        ));
    }

    #[test]
    fn when_jitter_varies_then_backoff_stays_between_half_and_full_ceiling() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(150));
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(40, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn when_remaining_budget_is_low_then_pacing_spreads_it_until_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_EPOCH);
        let low = headers(&[
            ("x-ratelimit-limit", "3000"),
            ("x-ratelimit-remaining", "99"),
            ("x-ratelimit-reset", "2"),
        ]);
        let budget = Budget::from_headers(&low, now).unwrap();
        assert_eq!(budget.pacing(0.1), Some(Duration::from_millis(20)));

        let plenty = headers(&[
            ("X-RateLimit-Limit", "3000"),
            ("X-RateLimit-Remaining", "2999"),
            ("X-RateLimit-Reset", &(NOW_EPOCH + 3).to_string()),
        ]);
        let budget = Budget::from_headers(&plenty, now).unwrap();
        assert_eq!(budget.resets_in, Duration::from_secs(3));
        assert_eq!(budget.pacing(0.1), None);

        let missing = headers(&[("x-ratelimit-limit", "3000")]);
        assert_eq!(Budget::from_headers(&missing, now), None);
    }

    #[test]
    fn when_a_status_is_final_then_its_class_decides_later_retries() {
        assert_eq!(FailureClass::of_status(StatusCode::OK), None);
        assert!(FailureClass::Throttled.is_retryable_later());
        assert!(FailureClass::Transient.is_retryable_later());
        assert!(!FailureClass::Permanent.is_retryable_later());
        assert!(!FailureClass::Misconfigured.is_retryable_later());
    }

    #[test]
    fn when_content_type_varies_then_only_json_counts() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/problem+json"));
        assert!(!is_json_content_type("text/html"));
        assert!(!is_json_content_type("text/plain; charset=utf-8"));
    }

    #[test]
    fn when_a_body_does_not_fit_then_the_decode_error_names_the_path_but_not_the_value() {
        #[derive(Debug, serde::Deserialize)]
        struct User {
            #[allow(dead_code)]
            age: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Page {
            #[allow(dead_code)]
            users: Vec<User>,
        }
        let error = decode_json::<Page>(br#"{"users":[{"age":1},{"age":"jane@example.com"}]}"#)
            .unwrap_err();
        assert_eq!(error.path, "users[1].age");
        assert_eq!(error.category, "data");
        assert!(!error.to_string().contains("jane"), "{error}");

        let missing = decode_json::<User>(b"{}").unwrap_err();
        assert_eq!(missing.detail.as_deref(), Some("missing field `age`"));
    }

    #[test]
    fn when_budget_is_per_minute_then_it_is_spread_per_second() {
        let rate = Rate::per_minute(NonZeroU32::new(250).unwrap());
        assert_eq!(rate.per_second.get(), 5);
        let rate = Rate::per_minute(NonZeroU32::new(10).unwrap());
        assert_eq!(rate.per_second.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_limiter_is_paused_then_every_caller_waits() {
        let limiter = RateLimiter::unlimited();
        limiter.pause(Duration::from_secs(2));
        let started = tokio::time::Instant::now();
        limiter.acquire().await;
        assert!(
            started.elapsed() >= Duration::from_millis(1900),
            "{:?}",
            started.elapsed()
        );
    }

    // Real clock: governor keeps its own time, which tokio's paused clock does not drive.
    #[tokio::test]
    async fn when_a_rate_is_configured_then_requests_beyond_the_burst_wait_their_turn() {
        let limiter = RateLimiter::new(Rate {
            per_second: NonZeroU32::new(20).unwrap(),
            burst: NonZeroU32::MIN,
        });
        let started = std::time::Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        // One at once, then ten more at 20 per second: at least 500 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(480),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_callers_resume_after_a_429_then_they_go_at_the_vendors_rate_not_at_once() {
        let limiter = RateLimiter::unlimited();
        limiter.observe(
            &headers(&[
                ("x-ratelimit-limit", "10"),
                ("x-ratelimit-remaining", "5"),
                ("x-ratelimit-reset", "1"),
            ]),
            SystemTime::now(),
        );
        limiter.pause(Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
        }
        // 1 s paused, then 10 requests 100 ms apart (10 per 1 s window).
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(2_100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn when_vendor_budget_runs_low_then_requests_are_spaced() {
        let limiter = RateLimiter::unlimited();
        let now = SystemTime::now();
        limiter.observe(
            &headers(&[
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "4"),
                ("x-ratelimit-reset", "5"),
            ]),
            now,
        );
        let started = tokio::time::Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        // 5 s spread over 5 remaining slots: 1 s apart, the first immediately.
        assert!(
            started.elapsed() >= Duration::from_millis(2900),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn when_base_url_has_trailing_slashes_then_they_are_dropped() {
        let base = BaseUrl::parse("https://api.userflow.com//").unwrap();
        assert_eq!(base.as_str(), "https://api.userflow.com");
        assert_eq!(base.origin(), "https://api.userflow.com");
        let base = BaseUrl::parse(" http://127.0.0.1:9000/userflow/ ").unwrap();
        assert_eq!(base.as_str(), "http://127.0.0.1:9000/userflow");
        assert_eq!(base.origin(), "http://127.0.0.1:9000");
        assert_eq!(
            BaseUrl::parse("https://rest.iad-01.braze.com/")
                .unwrap()
                .as_str(),
            "https://rest.iad-01.braze.com"
        );
    }

    #[test]
    fn when_base_url_is_unusable_then_it_is_refused() {
        for raw in [
            "",
            "api.userflow.com",
            "ftp://x",
            "https://x/?a=1",
            "https://x/#f",
        ] {
            assert!(BaseUrl::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn when_segments_and_query_are_joined_then_each_is_encoded_once() {
        let base = BaseUrl::parse("http://127.0.0.1:9000/userflow/").unwrap();
        assert_eq!(
            base.join(
                &["users", "a/b c"],
                &[("email", "x+y@z.com"), ("limit", "100")]
            ),
            "http://127.0.0.1:9000/userflow/users/a%2Fb%20c?email=x%2By%40z.com&limit=100"
        );
    }

    #[test]
    fn when_a_component_has_reserved_characters_then_they_are_percent_encoded() {
        assert_eq!(encode_component("a/b c+d?e#f%"), "a%2Fb%20c%2Bd%3Fe%23f%25");
        assert_eq!(encode_component("crm-42_x.y"), "crm-42_x.y");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn when_a_credential_is_empty_or_not_header_safe_then_no_header_is_built() {
        let secret = |s: &str| SecretString::from(s.to_owned());
        assert_eq!(bearer_header(&secret("  ")), Err(BadCredential::Empty));
        assert_eq!(
            bearer_header(&secret("ak_1\nX-Evil: 1")),
            Err(BadCredential::NotHeaderSafe)
        );
        let value = bearer_header(&secret(" ak_1 ")).unwrap();
        assert_eq!(value, "Bearer ak_1");
        assert!(value.is_sensitive());
    }

    #[test]
    fn when_an_error_or_response_is_debug_printed_then_the_body_is_not() {
        let response = Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"email":"jane@example.com"}"#),
        };
        let printed = format!("{response:?}");
        assert!(!printed.contains("jane"), "{printed}");
        assert!(printed.contains("<28 bytes>"), "{printed}");

        let error = UpstreamError::Status {
            api: "braze",
            status: StatusCode::BAD_REQUEST,
            class: FailureClass::Permanent,
            reason: GiveUpReason::NotRetryable,
            attempts: 1,
            retry_after: None,
            content_type: Some("application/json".to_owned()),
            body: response.body.clone(),
        };
        let printed = format!("{error:?}");
        assert!(!printed.contains("jane"), "{printed}");
        assert!(printed.contains("<28 bytes>"), "{printed}");
    }
}
