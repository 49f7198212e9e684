//! Upstream policy shared by every vendor client (Braze REST, Braze SCIM, Userflow, HubSpot).
//!
//! Three parts, each usable on its own:
//! - [`RetryPolicy::decide`]: a pure function from what one attempt observed (status and
//!   headers, or a transport error), the attempt number, the time spent so far and a jitter
//!   sample to a [`Decision`]: succeed, retry after a delay, or give up with a [`FailureClass`].
//! - [`RateLimiter`]: a client-side limiter per API (governor) that also slows down when the
//!   vendor's `X-RateLimit-Remaining` runs low, and pauses every caller after a 429.
//! - [`Upstream::execute`]: the one send loop that applies both. It reads the body as bytes
//!   only; callers decode it after looking at the status, so an HTML 502 is never parsed as JSON.
//!
//! One module per concern, all re-exported here:
//! - `retry`: [`FailureClass`], [`RetryPolicy`] and the [`Decision`] it makes.
//! - `headers`: the vendor's retry hints ([`server_retry_after`], [`rate_limit_reset`]) and
//!   its remaining [`Budget`].
//! - `rate_limit`: [`Rate`] and [`RateLimiter`].
//! - `send`: [`Upstream`], the send loop.
//! - `throttles`: [`ThrottleCount`], the 429s an API received, and [`ThrottleWatch`], those
//!   of one invocation.
//! - `http_helpers`: [`http_client`], [`BaseUrl`], [`bearer_header`], JSON bodies and the
//!   2xx [`Response`].
//! - `error`: [`UpstreamError`] and [`DecodeError`], whose `Debug` never shows a body.

mod error;
mod headers;
mod http_helpers;
mod rate_limit;
mod retry;
mod send;
#[cfg(test)]
mod test_support;
mod throttles;

pub use error::{DecodeError, UpstreamError};
pub use headers::{Budget, rate_limit_reset, server_retry_after};
pub use http_helpers::{
    BadCredential, BaseUrl, HttpTimeouts, Response, bearer_header, decode_json, encode_component,
    http_client, is_json_content_type, json_bytes,
};
pub use rate_limit::{Rate, RateLimiter};
pub use retry::{
    AttemptContext, Decision, FailureClass, GiveUpReason, Idempotency, Observed, RetryPolicy,
};
pub use send::Upstream;
pub use throttles::{ThrottleCount, ThrottleWatch};
