//! The one error type of the HubSpot client, and HubSpot's error body.

use http::StatusCode;
use serde::Deserialize;

use super::client::REQUIRED_SCOPE;
use super::models::null_as_default;
use crate::upstream::{DecodeError, FailureClass, UpstreamError};

/// HubSpot's error body (`{"status":"error","message",..,"category",..}`), decoded tolerantly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubspotErrorBody {
    /// `INVALID_AUTHENTICATION`, `MISSING_SCOPES`, `VALIDATION_ERROR`, `OBJECT_NOT_FOUND`, ...
    #[serde(default, deserialize_with = "null_as_default")]
    pub category: Option<String>,
    /// `RATE_LIMIT` on a 429.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_type: Option<String>,
    /// `TEN_SECONDLY_ROLLING`, `DAILY`, ... on a 429.
    #[serde(default, deserialize_with = "null_as_default")]
    pub policy_name: Option<String>,
    /// HubSpot's request id, for support tickets.
    #[serde(default, deserialize_with = "null_as_default")]
    pub correlation_id: Option<String>,
    /// Human-readable message. May echo request data: keep it out of logs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: Option<String>,
}

/// Everything a HubSpot call can fail with. `Display` and `Debug` never carry the token, a
/// response body, or HubSpot's message: only statuses, categories and JSON paths.
#[derive(Debug, thiserror::Error)]
pub enum HubspotError {
    /// 401 or 403: the token is wrong, revoked, or lacks the `crm.objects.contacts.read`
    /// scope. An operator must fix the private app.
    #[error(
        "HubSpot refused the token (HTTP {}{}): check the private app token and that it has the `{REQUIRED_SCOPE}` scope{}",
        .status.as_u16(),
        .category.as_deref().map(|c| format!(", {c}")).unwrap_or_default(),
        .correlation_id.as_deref().map(|c| format!(" (correlation id {c})")).unwrap_or_default()
    )]
    Unauthorized {
        /// 401 or 403.
        status: StatusCode,
        /// HubSpot's category (`INVALID_AUTHENTICATION`, `MISSING_SCOPES`), when the body was
        /// JSON.
        category: Option<String>,
        /// HubSpot's correlation id, when the body was JSON.
        correlation_id: Option<String>,
    },

    /// Any other failure after the shared retry policy gave up (429, 5xx, 400, transport).
    /// HubSpot's category, when its body was JSON, is added to the message.
    #[error("{}{}", .0, category_suffix(.0))]
    Upstream(UpstreamError),

    /// A 2xx response did not have the expected shape. The read may be repeated.
    #[error("could not decode the HubSpot contacts response {0}")]
    Decode(DecodeError),

    /// Refused before sending (an id that cannot be placed in a path).
    #[error("invalid HubSpot request, not sent: {0}")]
    InvalidRequest(&'static str),

    /// The client could not be built from its configuration.
    #[error("invalid HubSpot configuration: {0}")]
    InvalidConfig(&'static str),
}

impl From<UpstreamError> for HubspotError {
    /// 401 and 403 become [`HubspotError::Unauthorized`]; everything else is kept as is.
    fn from(error: UpstreamError) -> Self {
        match error.status() {
            Some(status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => {
                let body = error_body(&error);
                HubspotError::Unauthorized {
                    status,
                    category: body.as_ref().and_then(|b| b.category.clone()),
                    correlation_id: body.and_then(|b| b.correlation_id),
                }
            }
            _ => HubspotError::Upstream(error),
        }
    }
}

fn category_suffix(error: &UpstreamError) -> String {
    match error_body(error).and_then(|body| body.category.or(body.error_type)) {
        Some(category) => format!(" (HubSpot category `{category}`)"),
        None => String::new(),
    }
}

fn error_body(error: &UpstreamError) -> Option<HubspotErrorBody> {
    error
        .json_body()
        .and_then(|body| serde_json::from_slice(body).ok())
}

impl HubspotError {
    /// The class that decides retry-later, park, or fail for good.
    pub fn class(&self) -> FailureClass {
        match self {
            HubspotError::Unauthorized { .. } | HubspotError::InvalidConfig(_) => {
                FailureClass::Misconfigured
            }
            HubspotError::InvalidRequest(_) => FailureClass::Permanent,
            // HubSpot answered 2xx but unreadably, like a garbled 502; reads are safe to repeat.
            HubspotError::Decode(_) => FailureClass::Transient,
            HubspotError::Upstream(error) => error.class(),
        }
    }

    /// The final HTTP status, when HubSpot answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HubspotError::Unauthorized { status, .. } => Some(*status),
            HubspotError::Upstream(error) => error.status(),
            _ => None,
        }
    }

    /// The upstream failure behind this error, if any.
    pub fn upstream(&self) -> Option<&UpstreamError> {
        match self {
            HubspotError::Upstream(error) => Some(error),
            _ => None,
        }
    }

    /// HubSpot's decoded error body, when the final answer declared JSON (never for an HTML
    /// 502 page). Its `message` may echo input: keep it out of logs.
    pub fn vendor_error(&self) -> Option<HubspotErrorBody> {
        self.upstream().and_then(error_body)
    }
}
