//! The errors of the send loop and of body decoding. Neither carries a vendor body or value in
//! `Display` or `Debug`: vendor bodies can echo personal data.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use super::http_helpers::is_json_content_type;
use super::retry::{FailureClass, GiveUpReason};

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
        /// The API's name, as given to [`Upstream::new`](super::Upstream::new).
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
        /// The API's name, as given to [`Upstream::new`](super::Upstream::new).
        api: &'static str,
        /// Why the loop stopped.
        reason: GiveUpReason,
        /// Attempts made, the first included.
        attempts: u32,
        /// reqwest's error, with the URL removed (it can carry an email filter).
        #[source]
        source: reqwest::Error,
    },
    /// Nothing was sent: the caller's deadline
    /// ([`Upstream::until`](super::Upstream::until)) passed while the request waited for the
    /// rate limiter or for its next attempt.
    #[error("{api} request not sent before the caller's deadline (after {attempts} attempt(s))")]
    NotSent {
        /// The API's name, as given to [`Upstream::new`](super::Upstream::new).
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
pub(super) struct RedactedBody<'b>(pub(super) &'b Bytes);

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

#[cfg(test)]
mod tests {
    use http::HeaderMap;

    use super::*;
    use crate::upstream::http_helpers::{Response, decode_json};

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
