//! The one error type of the SCIM client, and the SCIM error body it reads `detail` from.

use http::StatusCode;
use serde::Deserialize;

use super::models::null_as_default;
use crate::upstream::{DecodeError, FailureClass, UpstreamError};

/// A SCIM error body: `{"schemas":[..Error],"status":..,"detail":..}`. `status` may be a
/// number or a string, so it is kept as raw JSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScimErrorBody {
    /// SCIM schemas of the answer (the error schema).
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// The HTTP status as Braze wrote it (number or string).
    #[serde(default)]
    pub status: Option<serde_json::Value>,
    /// Braze's message. May quote the email: keep it out of logs.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Everything a SCIM call can fail with. The kind comes from the HTTP status; `detail` is
/// Braze's text from the body, kept out of `Display` because it can echo the email.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// 404: no dashboard user with that id.
    #[error("Braze SCIM: user not found (404)")]
    NotFound {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// 409: a dashboard user with that userName already exists
    /// ("User already exists in the database.").
    #[error("Braze SCIM: user already exists (409)")]
    Conflict {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// 401: the SCIM token is wrong, `X-Request-Origin` does not match the origin set with
    /// the token, or this caller's IP is not on the allow list.
    #[error(
        "Braze SCIM rejected the request (401): wrong SCIM token, X-Request-Origin mismatch, or caller IP not allowed"
    )]
    Unauthorized {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// 400: the request is invalid (e.g. an unsupported filter or a bad permission name).
    #[error("Braze SCIM rejected the request as invalid (400)")]
    BadRequest {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// Any other failure after the retry policy gave up (429, 5xx, 403, transport).
    #[error(transparent)]
    Upstream(UpstreamError),

    /// A 2xx response did not have the expected shape.
    #[error("could not decode the Braze SCIM {what} response {source}")]
    Decode {
        /// Which answer: `user` or `list`.
        what: &'static str,
        /// Where the body did not fit.
        #[source]
        source: DecodeError,
    },

    /// Refused before sending.
    #[error("invalid Braze SCIM request, not sent: {reason}")]
    InvalidRequest {
        /// What is wrong with the request.
        reason: &'static str,
    },

    /// The client could not be built from its configuration.
    #[error("invalid Braze SCIM configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with the configuration.
        reason: &'static str,
    },
}

impl From<UpstreamError> for ScimError {
    /// Classifies by HTTP status; the SCIM error body is decoded for its `detail` whatever
    /// the content type (Braze labels JSON errors `text/html`).
    fn from(error: UpstreamError) -> ScimError {
        let detail = || {
            serde_json::from_slice::<ScimErrorBody>(error.body())
                .ok()
                .and_then(|body| body.detail)
        };
        match error.status() {
            Some(StatusCode::NOT_FOUND) => ScimError::NotFound { detail: detail() },
            Some(StatusCode::CONFLICT) => ScimError::Conflict { detail: detail() },
            Some(StatusCode::UNAUTHORIZED) => ScimError::Unauthorized { detail: detail() },
            Some(StatusCode::BAD_REQUEST) => ScimError::BadRequest { detail: detail() },
            _ => ScimError::Upstream(error),
        }
    }
}

impl ScimError {
    /// The class that decides retry-later, park, or fail for good.
    pub fn class(&self) -> FailureClass {
        match self {
            ScimError::NotFound { .. }
            | ScimError::Conflict { .. }
            | ScimError::BadRequest { .. }
            | ScimError::InvalidRequest { .. } => FailureClass::Permanent,
            // The request was accepted but the answer unreadable: like a garbled 502.
            ScimError::Decode { .. } => FailureClass::Transient,
            ScimError::Unauthorized { .. } | ScimError::InvalidConfig { .. } => {
                FailureClass::Misconfigured
            }
            ScimError::Upstream(error) => error.class(),
        }
    }

    /// Braze's `detail` text, when the error body had one. May contain an email: keep it out
    /// of logs.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ScimError::NotFound { detail }
            | ScimError::Conflict { detail }
            | ScimError::Unauthorized { detail }
            | ScimError::BadRequest { detail } => detail.as_deref(),
            _ => None,
        }
    }
}
