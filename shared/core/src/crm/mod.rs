//! CRM webhook sources: who may call (signature schemes), what they send (payload parsers),
//! and how it becomes a [`Contact`](crate::contact::Contact) (field mapping).
//!
//! - [`sources`]: the named sources (embedded defaults plus `RELAY_SOURCES`), with their
//!   secrets resolved at cold start.
//! - [`signature`]: Standard Webhooks, HubSpot v3 (v2 / v1 when configured), Salesforce URL
//!   token, HTTP Basic.
//! - [`replay`]: the markers that let an untimed (HubSpot v1 / v2) request be handled once.
//! - [`payload`]: turns a verified body into [`Record`]s (or HubSpot object ids to fetch).
//! - [`mapping`]: JSON pointers from a record to the contact's fields.
//! - [`fetch`]: reads the contacts HubSpot events only name.
//! - [`intake`](mod@intake): the intake step (record -> contact -> validated -> deduplicated, with why
//!   each refused record was refused), shared by every path that takes contacts in.
//! - [`salesforce`]: the SOAP Ack and the markers that skip redelivered notifications.
//! - [`outbound`]: the sending side: the request each CRM would send, built and signed from a
//!   resolved source (`relay webhook send`).

pub mod fetch;
pub mod intake;
pub mod mapping;
pub mod outbound;
pub mod payload;
pub mod replay;
pub mod salesforce;
pub mod signature;
pub mod sources;

use std::time::SystemTime;

pub use intake::{FieldError, Intake, IntakeContact, RejectedContact, intake};
pub use mapping::{FieldMapping, Pointer};
pub use payload::{Payload, PayloadError, Record};
pub use signature::{AuthError, Verified};
pub use sources::{
    Scheme, SchemeSettings, Source, SourceLookup, SourceState, SourceStatus, Sources, SourcesError,
};

/// A webhook as received, before anything is trusted: what verification needs.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The raw query string without `?` (empty when none); part of HubSpot's signed URI and
    /// where Salesforce's URL token travels.
    pub raw_query: &'a str,
    /// Request headers (names match case-insensitively).
    pub headers: &'a http::HeaderMap,
    /// The raw body bytes, exactly as sent (base64-decoded when API Gateway encoded them).
    pub body: &'a [u8],
    /// The receive time, for timestamp tolerance.
    pub now: SystemTime,
}
