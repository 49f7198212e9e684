//! HubSpot CRM contacts client: reads the contacts a webhook event only names.
//!
//! HubSpot's webhook events carry an object id and no contact fields, so the relay reads the
//! contacts with `POST /crm/v3/objects/contacts/batch/read`: at most 100 inputs per request
//! (chunks are sent [`BATCH_READ_CONCURRENCY`] at a time), ids deduplicated, through the
//! shared [`Upstream`](crate::upstream::Upstream) retry and rate-limit loop (reads are
//! idempotent, so 429, 5xx and dropped connections are retried).
//!
//! HubSpot answers 200 when every input was found and 207 Multi-Status with an `errors` list
//! (`OBJECT_NOT_FOUND`, `context.ids`) when some were not. Decoding is tolerant: unknown
//! fields are ignored, `null` lists and objects read as empty. Which ids are missing is
//! worked out from the results themselves (requested minus found), whatever shape the errors
//! take.
//!
//! Nothing here logs or displays the token, a contact's properties, or HubSpot's error
//! messages (they can echo input); only categories, statuses and counts.
//!
//! - `client`: [`HubspotConfig`], [`HubspotClient`] and its [`BatchReadRequest`] builder.
//! - `models`: [`HubspotContact`], [`ContactsRead`] and the batch-read bodies on the wire.
//! - `error`: [`HubspotError`], classified into a [`crate::upstream::FailureClass`].

mod client;
mod error;
mod models;

pub use client::{
    BATCH_READ_CONCURRENCY, BATCH_READ_MAX_INPUTS, BatchReadRequest, DEFAULT_BASE_URL,
    DEFAULT_PROPERTIES, DEFAULT_RATE_PER_SECOND, HubspotClient, HubspotConfig, REQUIRED_SCOPE,
};
pub use error::{HubspotError, HubspotErrorBody};
pub use models::{ContactsRead, HubspotContact, OBJECT_ID_PROPERTY};
