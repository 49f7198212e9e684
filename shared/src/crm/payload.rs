//! Payload parsers: a verified body becomes contact-shaped [`Record`]s.
//!
//! CONTRACT (filled in by the payload/mapping work):
//! `pub fn parse(scheme: Scheme, content_type: Option<&str>, body: &[u8]) -> Result<Payload, PayloadError>`

use serde_json::Value;

/// One contact-shaped JSON value taken out of a payload, with where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The contact's fields, as the mapping's pointers expect them.
    pub value: Value,
    /// Where in the payload it was (`/contacts/3`, `Notification[2]`), for error reports.
    pub location: String,
    /// A delivery-level id that identifies a repeat (Salesforce notification `Id`).
    pub dedupe_key: Option<String>,
}

/// What a payload holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    /// Contacts carried in the body.
    pub records: Vec<Record>,
    /// HubSpot object ids whose contacts must be read from HubSpot (events carry no fields).
    pub fetch: Vec<String>,
    /// Events or items deliberately ignored (other subscription types, other actions).
    pub ignored: usize,
    /// Salesforce's `OrganizationId`, checked against the source's configuration.
    pub organization_id: Option<String>,
}

/// Why a body cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    /// The content type is not one this scheme sends (415).
    #[error("content type {found} is not accepted; send {expected}")]
    UnsupportedMediaType {
        /// What the request said (or `none`).
        found: String,
        /// What the scheme sends.
        expected: &'static str,
    },
    /// The body is not well-formed or not the expected shape (400).
    #[error("{message} at {location}")]
    Malformed {
        /// Where: `line 3, column 14`, a JSON pointer, or an XML element path.
        location: String,
        /// What is wrong (never quotes a value).
        message: String,
    },
}
