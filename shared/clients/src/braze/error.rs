//! The one error type at the Braze client's boundary.
//!
//! `Display` is safe to log: it never contains a request or response body, an email address,
//! a phone number or a key. Braze's own `message` is included only when it carries none of
//! those (see [`BrazeError::braze_message`] for the raw text).

use http::StatusCode;

use crate::upstream::{DecodeError, FailureClass, UpstreamError};

/// Everything that can go wrong talking to Braze's REST API.
#[derive(Debug, thiserror::Error)]
pub enum BrazeError {
    /// Braze answered 401. A wrong cluster answers exactly like a wrong key (a REST key
    /// belongs to one workspace, which lives on one cluster), so the message says both and
    /// names the cluster the key was tried against.
    #[error(
        "key rejected by {cluster} ({host}, HTTP 401): wrong cluster or wrong key; a REST key belongs to one workspace, which lives on one cluster: check the key, and that the REST endpoint is that workspace's cluster"
    )]
    KeyRejected {
        /// Cluster name (`US-03`), or the host for a custom endpoint.
        cluster: String,
        /// REST host the request went to.
        host: String,
    },

    /// Braze answered 403: the key lacks the endpoint's permission (or the path is wrong,
    /// e.g. a trailing slash).
    #[error(
        "Braze refused {endpoint} (HTTP 403) on {cluster}: give the REST key the `{permission}` permission"
    )]
    PermissionDenied {
        /// Path called, e.g. `/users/track`.
        endpoint: &'static str,
        /// Permission Braze checks for this endpoint, e.g. `users.track`.
        permission: &'static str,
        /// Cluster name, or the host for a custom endpoint.
        cluster: String,
    },

    /// The configured REST endpoint is not a known Braze cluster host (and custom endpoints
    /// were not allowed), or it is unusable.
    #[error("Braze endpoint `{endpoint}` refused: {reason}")]
    EndpointNotAllowed {
        /// The configured value (credentials removed).
        endpoint: String,
        /// Why, and how to allow it when that is an option.
        reason: String,
    },

    /// The client configuration is unusable (batch size, concurrency).
    #[error("invalid Braze client configuration: {0}")]
    InvalidConfig(String),

    /// The request cannot be sent as given (too many ids for one request, an empty id,
    /// a missing required field). Nothing was sent.
    #[error("invalid Braze request: {0}")]
    InvalidRequest(String),

    /// Braze (or the network) failed after the retry policy gave up.
    #[error("Braze {endpoint}: {source}{}", display_message(.braze_message))]
    Upstream {
        /// Path called, e.g. `/users/delete`.
        endpoint: &'static str,
        /// Braze's `message` field, decoded only when the response said it was JSON.
        braze_message: Option<String>,
        /// The final failure, with its status, class and attempts (boxed: it is large).
        #[source]
        source: Box<UpstreamError>,
    },

    /// A 2xx answer of a lookup (`/users/export/ids`, a segment export start) whose body did
    /// not have the documented shape. Answers of writes (track, delete, merge, alias,
    /// identify) never fail this way: a write Braze accepted is done whatever its body says.
    #[error("could not decode the Braze {endpoint} response {source}")]
    Decode {
        /// Path called.
        endpoint: &'static str,
        /// Where the body did not fit.
        #[source]
        source: DecodeError,
    },
}

impl BrazeError {
    /// The class that decides what the caller does next: retry later, fail the item, or
    /// alert an operator.
    pub fn class(&self) -> FailureClass {
        match self {
            BrazeError::KeyRejected { .. }
            | BrazeError::PermissionDenied { .. }
            | BrazeError::EndpointNotAllowed { .. }
            | BrazeError::InvalidConfig(_) => FailureClass::Misconfigured,
            BrazeError::InvalidRequest(_) => FailureClass::Permanent,
            BrazeError::Upstream { source, .. } => source.class(),
            // Braze accepted the request but its answer was unreadable, like a garbled 502:
            // a later attempt may read a proper answer (every Braze call we make is safe to
            // repeat, see the client).
            BrazeError::Decode { .. } => FailureClass::Transient,
        }
    }

    /// The HTTP status Braze answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            BrazeError::KeyRejected { .. } => Some(StatusCode::UNAUTHORIZED),
            BrazeError::PermissionDenied { .. } => Some(StatusCode::FORBIDDEN),
            BrazeError::Upstream { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Braze's `message` from an error response, raw (may echo request data: do not log it).
    pub fn braze_message(&self) -> Option<&str> {
        match self {
            BrazeError::Upstream { braze_message, .. } => braze_message.as_deref(),
            _ => None,
        }
    }

    /// Wraps a final upstream failure of `endpoint`, decoding Braze's `message` from the body
    /// only when the response declared JSON (a 502 from a load balancer is HTML).
    pub(crate) fn upstream(endpoint: &'static str, source: UpstreamError) -> BrazeError {
        let braze_message = source
            .json_body()
            .and_then(|body| serde_json::from_slice::<MessageOnly>(body).ok())
            .and_then(|m| m.message);
        BrazeError::Upstream {
            endpoint,
            braze_message,
            source: Box::new(source),
        }
    }

    /// Wraps a 2xx body of `endpoint` that did not have the documented shape.
    pub(crate) fn decode(endpoint: &'static str, source: DecodeError) -> BrazeError {
        BrazeError::Decode { endpoint, source }
    }
}

#[derive(serde::Deserialize)]
struct MessageOnly {
    #[serde(default)]
    message: Option<String>,
}

/// Braze's message for `Display`: short fixed texts such as "Max Input Length Exceeded" are
/// kept; anything that could quote personal data (an `@`, digits runs, long text) is not.
fn display_message(message: &Option<String>) -> String {
    match message {
        Some(text) if is_safe_to_display(text) => format!(" (Braze: {text})"),
        Some(_) => " (Braze sent a message; see braze_message())".to_owned(),
        None => String::new(),
    }
}

fn is_safe_to_display(text: &str) -> bool {
    let longest_digit_run = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    text.len() <= 160 && !text.contains('@') && !text.contains('+') && longest_digit_run < 6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_braze_message_could_hold_personal_data_then_display_leaves_it_out() {
        assert!(is_safe_to_display("Max Input Length Exceeded"));
        assert!(!is_safe_to_display("user jane@example.com not found"));
        assert!(!is_safe_to_display("phone +15551234567 is invalid"));
        assert!(!is_safe_to_display(&"x".repeat(200)));
    }
}
