//! The one error type of the Userflow client.
//!
//! `Display` never carries an API key, an email, a name or an error message written by
//! Userflow (those can echo input): only resource kinds, statuses, Userflow's error *code* and
//! JSON paths. The vendor message stays reachable through [`UserflowError::vendor_error`].

use http::StatusCode;
use serde::Deserialize;

use crate::upstream::{DecodeError, FailureClass, UpstreamError};

/// Which kind of Userflow object a request was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserflowResource {
    /// A user (`/users`).
    User,
    /// A group (`/groups`).
    Group,
}

impl std::fmt::Display for UserflowResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UserflowResource::User => "user",
            UserflowResource::Group => "group",
        })
    }
}

/// Userflow's error body `{"error": {"code": .., "message": ..}}`, decoded tolerantly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct UserflowErrorBody {
    /// Machine-readable code, e.g. `invalid_params`.
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable message. May echo request data: keep it out of logs.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: UserflowErrorBody,
}

/// Everything a Userflow call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum UserflowError {
    /// Userflow answered 404 for a single object (`GET` / `DELETE /users/{id}` or groups).
    /// For a delete this means the object is already gone.
    #[error("Userflow {resource} not found")]
    NotFound {
        /// What kind of object was missing.
        resource: UserflowResource,
    },

    /// The request was refused before sending because Userflow would reject or misread it.
    #[error("invalid Userflow request, not sent: {reason}")]
    InvalidRequest {
        /// What is wrong with the request.
        reason: &'static str,
    },

    /// The client could not be built from its configuration.
    #[error("invalid Userflow configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with the configuration.
        reason: &'static str,
    },

    /// The request failed after the shared retry policy gave up. `vendor` holds Userflow's
    /// decoded error body when the response was JSON.
    #[error("{error}{}", code_suffix(.vendor.as_deref()))]
    Upstream {
        /// The final failure, with its status, class and attempts.
        error: UpstreamError,
        /// Boxed: it is rare, and keeps the error (and every `Result`) small.
        vendor: Option<Box<UserflowErrorBody>>,
    },

    /// A 2xx answer the caller reads (a user, a group, a list page) lacks what is used (an
    /// id, a page's `data` or `has_more`), or is not JSON at all. Only reads are decoded: a
    /// write answered 2xx is a success whatever its body.
    #[error("could not decode the Userflow {what} response {source}")]
    Decode {
        /// Which answer: `user`, `group` or `list`.
        what: &'static str,
        /// Where the body did not fit.
        #[source]
        source: DecodeError,
    },
}

fn code_suffix(vendor: Option<&UserflowErrorBody>) -> String {
    match vendor.and_then(|body| body.code.as_deref()) {
        Some(code) => format!(" (Userflow error code `{code}`)"),
        None => String::new(),
    }
}

impl From<UpstreamError> for UserflowError {
    /// Keeps the upstream failure, decoding Userflow's JSON error body when there is one.
    fn from(error: UpstreamError) -> Self {
        let vendor = error
            .json_body()
            .and_then(|body| serde_json::from_slice::<ErrorEnvelope>(body).ok())
            .map(|envelope| Box::new(envelope.error));
        UserflowError::Upstream { error, vendor }
    }
}

impl UserflowError {
    /// The class that decides retry-later, park, or fail for good.
    pub fn class(&self) -> FailureClass {
        match self {
            // An answer without what the caller reads: asking again gets the same answer, so
            // it is not retried, parked or dead-lettered as if Userflow were down.
            UserflowError::NotFound { .. }
            | UserflowError::InvalidRequest { .. }
            | UserflowError::Decode { .. } => FailureClass::Permanent,
            UserflowError::InvalidConfig { .. } => FailureClass::Misconfigured,
            UserflowError::Upstream { error, .. } => error.class(),
        }
    }

    /// The final HTTP status, when Userflow answered (404 for [`UserflowError::NotFound`]).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            UserflowError::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            UserflowError::Upstream { error, .. } => error.status(),
            _ => None,
        }
    }

    /// Userflow's decoded error body, when it sent one.
    pub fn vendor_error(&self) -> Option<&UserflowErrorBody> {
        match self {
            UserflowError::Upstream { vendor, .. } => vendor.as_deref(),
            _ => None,
        }
    }

    /// The upstream failure behind this error, if any.
    pub fn upstream(&self) -> Option<&UpstreamError> {
        match self {
            UserflowError::Upstream { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Turns a 404 answer about a single object into [`UserflowError::NotFound`].
    pub(crate) fn not_found_as(self, resource: UserflowResource) -> UserflowError {
        match self.status() {
            Some(StatusCode::NOT_FOUND) => UserflowError::NotFound { resource },
            _ => self,
        }
    }
}
