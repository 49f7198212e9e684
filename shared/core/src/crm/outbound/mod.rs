//! The sending side of the CRM webhooks: the request each CRM would send to
//! `/webhooks/{source}`, built from a resolved [`Source`] and signed with its secrets, so an
//! operator can check a deployment (`relay webhook send`) and the demo can play each CRM.
//!
//! [`build_request`] takes a body, either raw bytes sent and signed as they are
//! ([`OutboundBody::Raw`]) or a contact given by its canonical field names
//! ([`OutboundBody::Contact`], [`ContactFields`]), which is placed where the source's mapping
//! reads each field and wrapped in the payload shape its CRM sends:
//!
//! - Standard Webhooks: the contact object itself; signed with `webhook-id`,
//!   `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   id.timestamp.body>` under the decoded `whsec_` key.
//! - HubSpot: a workflow webhook in the legacy contact shape, `{"vid", "properties": {name:
//!   {"value": ..}}}`, which carries the properties itself. (App subscription events only name
//!   contact ids, which the relay then reads from HubSpot's API; send those with a raw body.)
//!   Signed with the first signature version the source accepts (v3 by default:
//!   `X-HubSpot-Signature-v3` over `POST` + the source's configured public URL + body +
//!   `X-HubSpot-Request-Timestamp` in milliseconds). The signed URI is the one the relay is
//!   configured with, wherever the request is actually posted.
//! - Salesforce Outbound Message: the SOAP envelope (`notifications` with the source's
//!   `OrganizationId` and one `Notification` whose `sObject` holds the fields), with
//!   `?token=<url token>` when the source has one.
//! - Pipedrive: a webhooks v2 event (`meta.action` `create` when the source syncs creations,
//!   `meta.entity` `person`, the person in `data`) with HTTP Basic credentials.
//!
//! Time and the message id come from the caller ([`Stamp`]): nothing here reads a clock or
//! draws a random number. The signing primitives live beside their verifiers in
//! [`crate::crm::signature`]; one module per scheme here holds its payload shape.

mod contact;
mod hubspot;
mod pipedrive;
mod salesforce;
mod standard_webhooks;
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::InboundRequest;
use super::mapping::Pointer;
use super::signature::redact_url_token;
use super::sources::{SchemeSettings, Source};

pub use contact::{CONTACT_FIELDS, CUSTOM_PREFIX, ContactFields};

/// The route every source is served under: `/webhooks/{source}`.
pub const WEBHOOKS_PATH: &str = "/webhooks";

/// The path of a source's webhook: `/webhooks/{name}`.
pub fn webhook_path(name: &str) -> String {
    format!("{WEBHOOKS_PATH}/{name}")
}

/// A source's webhook URL under the relay's public base URL (`RELAY_PUBLIC_URL`):
/// `{base}/webhooks/{name}`, without doubling a trailing `/`.
pub fn webhook_url(public_base: &str, name: &str) -> String {
    format!(
        "{}{}",
        public_base.trim_end_matches('/'),
        webhook_path(name)
    )
}

impl Source {
    /// The URL this source's CRM must call: a HubSpot source's configured public URL (the one
    /// its signatures cover), otherwise [`webhook_url`] under `public_base`; `None` when there
    /// is neither.
    pub fn webhook_url(&self, public_base: Option<&str>) -> Option<String> {
        match &self.settings {
            SchemeSettings::Hubspot { public_url, .. } => Some(public_url.clone()),
            _ => public_base.map(|base| webhook_url(base, &self.name)),
        }
    }
}

/// What the caller decides for one request: the send time (every timestamp and signature
/// uses it) and a message id (Standard Webhooks' `webhook-id`, the Salesforce notification
/// `Id`, Pipedrive's `correlation_id`). Give each request a new id: Salesforce notifications
/// are handled once per id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The send time.
    pub now: SystemTime,
    /// The message id (visible ASCII).
    pub id: String,
}

/// The body to send.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboundBody {
    /// Bytes sent and signed exactly as given (a payload captured from the CRM, a file).
    Raw(Vec<u8>),
    /// One contact, placed where the source's mapping reads each field and wrapped in the
    /// CRM's payload shape.
    Contact(ContactFields),
}

/// A webhook request as the CRM would send it.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// Always `POST`.
    pub method: Method,
    /// `/webhooks/{source}`.
    pub path: String,
    /// The raw query without `?` (empty when none): Salesforce's URL token travels here.
    pub query: String,
    /// Every header the CRM sets, `Content-Type` included.
    pub headers: HeaderMap,
    /// The body bytes, exactly as signed.
    pub body: Vec<u8>,
}

impl OutboundRequest {
    /// `path` plus `?query` when there is one.
    pub fn path_and_query(&self) -> String {
        with_query(&self.path, &self.query)
    }

    /// The query with secret parameters (Salesforce's `token`) shown as `***`, for output.
    pub fn redacted_query(&self) -> String {
        redact_url_token(&self.query)
    }

    /// The request as the relay receives it at `now`, for verifying it with
    /// [`SchemeSettings::verify`].
    pub fn inbound(&self, now: SystemTime) -> InboundRequest<'_> {
        InboundRequest {
            method: self.method.as_str(),
            raw_query: &self.query,
            headers: &self.headers,
            body: &self.body,
            now,
        }
    }
}

/// `base` plus `?query` when `query` is not empty.
pub fn with_query(base: &str, query: &str) -> String {
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

/// Why a request cannot be built. Names the field or header, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// A `field=value` pair without `=`.
    #[error("contact field {position} is not field=value")]
    NotAPair {
        /// 1-based position among the pairs.
        position: usize,
    },
    /// A field name that is not a contact field.
    #[error(
        "`{field}` is not a contact field: use one of {}, or {CUSTOM_PREFIX}<name>",
        CONTACT_FIELDS.join(", ")
    )]
    UnknownField {
        /// The name given.
        field: String,
    },
    /// The same field given twice.
    #[error("contact field `{field}` is given twice")]
    RepeatedField {
        /// The field.
        field: String,
    },
    /// The source's mapping does not read this field, so the relay would never see it.
    #[error("source {source_name}'s mapping does not read `{field}`")]
    NotMapped {
        /// The source.
        source_name: String,
        /// The field.
        field: String,
    },
    /// Two fields' pointers overlap (one inside the other, or the same place).
    #[error("`{field}` is read from {pointer}, where another field already is")]
    Overlap {
        /// The field placed second.
        field: String,
        /// Its pointer.
        pointer: String,
    },
    /// The field's place cannot be written in this scheme's payload.
    #[error("`{field}` (read from {pointer}) cannot be sent: {reason}")]
    Unplaceable {
        /// The field.
        field: String,
        /// Its pointer.
        pointer: String,
        /// Why.
        reason: &'static str,
    },
    /// A header value would not be valid HTTP (the message id, a user name).
    #[error("the {header} header would not be a valid header value")]
    InvalidHeader {
        /// The header.
        header: &'static str,
    },
}

/// The content type of the JSON schemes' bodies.
const JSON_CONTENT_TYPE: &str = "application/json";

/// Builds the request `source`'s CRM would send with `body` at `stamp`, signed with the
/// source's secrets. See the module documentation for each scheme's shape.
pub fn build_request(
    source: &Source,
    body: OutboundBody,
    stamp: &Stamp,
) -> Result<OutboundRequest, OutboundError> {
    let body = match body {
        OutboundBody::Raw(bytes) => bytes,
        OutboundBody::Contact(fields) => {
            let check: fn(&str, &Pointer) -> Result<(), OutboundError> = match &source.settings {
                SchemeSettings::SalesforceOutbound { .. } => salesforce::check_pointer,
                _ => |_, _| Ok(()),
            };
            let record = fields.record(source, check)?;
            match &source.settings {
                SchemeSettings::StandardWebhooks { .. } => standard_webhooks::body(record),
                SchemeSettings::Hubspot { .. } => hubspot::body(record)?,
                SchemeSettings::SalesforceOutbound {
                    organization_id, ..
                } => salesforce::body(record, organization_id, stamp),
                SchemeSettings::Pipedrive { actions, .. } => {
                    pipedrive::body(record, actions, stamp)
                }
            }
        }
    };
    let mut request = OutboundRequest {
        method: Method::POST,
        path: webhook_path(&source.name),
        query: String::new(),
        headers: HeaderMap::new(),
        body,
    };
    let content_type = match &source.settings {
        SchemeSettings::SalesforceOutbound { .. } => salesforce::CONTENT_TYPE,
        _ => JSON_CONTENT_TYPE,
    };
    set_header(&mut request.headers, CONTENT_TYPE.as_str(), content_type)?;
    match &source.settings {
        SchemeSettings::StandardWebhooks { key, .. } => {
            standard_webhooks::sign(&mut request, key, stamp)?
        }
        SchemeSettings::Hubspot {
            client_secret,
            public_url,
            versions,
            ..
        } => hubspot::sign(&mut request, client_secret, public_url, versions, stamp)?,
        SchemeSettings::SalesforceOutbound { url_token, .. } => {
            salesforce::sign(&mut request, url_token.as_ref())?
        }
        SchemeSettings::Pipedrive {
            username, password, ..
        } => pipedrive::sign(&mut request, username, password)?,
    }
    Ok(request)
}

/// Sets `name: value` (names in any case), or names the header that would be invalid.
fn set_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), OutboundError> {
    let invalid = || OutboundError::InvalidHeader { header: name };
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
    let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
    headers.insert(header, value);
    Ok(())
}

/// The time since the Unix epoch (zero for a time before it).
fn since_epoch(now: SystemTime) -> Duration {
    now.duration_since(UNIX_EPOCH).unwrap_or_default()
}
