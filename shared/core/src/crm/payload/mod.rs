//! Payload parsers: a verified body becomes contact-shaped [`Record`]s.
//!
//! CONTRACT:
//! `pub fn parse(scheme: Scheme, content_type: Option<&str>, body: &[u8], options: &ParseOptions)
//! -> Result<Payload, PayloadError>`
//!
//! - The content type is checked first: the JSON schemes (Standard Webhooks, HubSpot,
//!   Pipedrive) take `application/json` and `application/*+json`, Salesforce takes `text/xml`
//!   and `application/soap+xml`; parameters (`charset`) are ignored, matching is
//!   case-insensitive. Anything else, or none, is [`PayloadError::UnsupportedMediaType`].
//! - Every other failure is [`PayloadError::Malformed`], whose `location` is one of:
//!   `line L, column C` (JSON syntax, serde_json's position), a JSON pointer (`/3`,
//!   `/contacts/3`, `/meta/action`; the empty pointer `""` is the whole body), `byte N` (XML
//!   syntax, 0-based byte offset), an XML element path (`Envelope/Body/notifications`) or
//!   `Notification[i]` (0-based). Messages name what is wrong, never a value from the body.
//! - [`Record::location`] uses the same forms: `""` for a record that is the whole body,
//!   `/3`, `/contacts/3`, `/properties`, `/data`, `/current`, `/previous`, `Notification[i]`.
//!
//! Per scheme:
//! - Standard Webhooks: one contact object, an array of them, or `{"contacts": [..]}` (an
//!   object with a `contacts` key is that wrapper; other top-level keys are ignored). Zero
//!   contacts is malformed.
//! - HubSpot: an array of app subscription events (contact creations / property changes,
//!   and `object.*` events with `objectTypeId` `0-1`, become [`Payload::fetch`] ids; every
//!   other event, and a repeat of an id already listed, is counted in [`Payload::ignored`];
//!   only fetched events need an `objectId`); a legacy workflow body
//!   (`{"vid", "properties": {"email": {"value": ..}}}`, flattened to one record with
//!   `hs_object_id`); a new-style object (`{"id", "properties": {..}}`: `properties` is the
//!   record, with `hs_object_id`); or any other object, taken as it is.
//! - Salesforce Outbound Messages: one record per `Notification` (the `sObject`'s fields by
//!   local name, `xsi:nil` as `null`), deduplicated on the notification `Id`, which is also the
//!   record's [`Record::dedupe_key`]. DTDs are refused.
//! - Pipedrive: webhooks v2 (`meta.entity`, `data`) and v1 (`meta.object`, `current`; v1
//!   actions `added` / `updated` / `deleted` read as `create` / `change` / `delete`). An event
//!   for another entity, or an action not in [`ParseOptions::pipedrive_actions`], parses to
//!   `ignored: 1` and no record.
//!
//! The schemes' parsers are one module each: `standard_webhooks`, `hubspot`, `salesforce`,
//! `pipedrive`; this module holds the public types, the content-type check and the JSON
//! reading they share.

mod hubspot;
mod pipedrive;
mod salesforce;
mod standard_webhooks;

use serde_json::Value;

use super::sources::Scheme;

pub use salesforce::MAX_SALESFORCE_NOTIFICATIONS;

/// One contact-shaped JSON value taken out of a payload, with where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The contact's fields, as the mapping's pointers expect them.
    pub value: Value,
    /// Where in the payload it was (`/contacts/3`, `Notification[2]`), for error reports;
    /// `""` when the record is the whole body.
    pub location: String,
    /// A delivery-level id that identifies a repeat (Salesforce notification `Id`).
    pub dedupe_key: Option<String>,
    /// Whether the record announces a new person, so the one-time `signed_up` event is due:
    /// false for updates (a Pipedrive `change`), which must not start onboarding for someone
    /// who signed up long ago.
    pub signup: bool,
}

/// What a payload holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    /// Contacts carried in the body.
    pub records: Vec<Record>,
    /// HubSpot object ids whose contacts must be read from HubSpot (events carry no fields).
    pub fetch: Vec<String>,
    /// The ids of [`Payload::fetch`] that only `propertyChange` events named: updates, not
    /// signups.
    pub fetch_updates: Vec<String>,
    /// Events or items deliberately ignored (other subscription types, other actions,
    /// repeated Salesforce notifications).
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
        /// The media type the request named, lower case and without parameters (or `none`).
        found: String,
        /// What the scheme sends.
        expected: &'static str,
    },
    /// The body is not well-formed or not the expected shape (400).
    #[error("{message}{}", at(location))]
    Malformed {
        /// Where: `line 3, column 14`, a JSON pointer (`""` is the whole body), `byte N`, or
        /// an XML element path.
        location: String,
        /// What is wrong (never quotes a value).
        message: String,
    },
}

fn at(location: &str) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!(" at {location}")
    }
}

/// Per-source choices the parsers need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Pipedrive: the `meta.action`s (v2 names: `create`, `change`, `delete`) whose person is
    /// a contact to sync; others are ignored. Compared case-insensitively.
    pub pipedrive_actions: Vec<String>,
}

impl Default for ParseOptions {
    /// Pipedrive `create` only.
    fn default() -> ParseOptions {
        ParseOptions {
            pipedrive_actions: vec!["create".to_owned()],
        }
    }
}

const JSON_TYPES: &str = "application/json";
const XML_TYPES: &str = "text/xml or application/soap+xml";

/// Reads a verified body of `scheme`: see the module documentation for the shapes.
pub fn parse(
    scheme: Scheme,
    content_type: Option<&str>,
    body: &[u8],
    options: &ParseOptions,
) -> Result<Payload, PayloadError> {
    check_content_type(scheme, content_type)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("", "empty body"));
    }
    match scheme {
        Scheme::StandardWebhooks => standard_webhooks::parse(read_json(body)?),
        Scheme::Hubspot => hubspot::parse(read_json(body)?),
        Scheme::Pipedrive => pipedrive::parse(read_json(body)?, options),
        Scheme::SalesforceOutbound => salesforce::parse(body),
    }
}

fn malformed(location: impl Into<String>, message: impl Into<String>) -> PayloadError {
    PayloadError::Malformed {
        location: location.into(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Content type
// ---------------------------------------------------------------------------------------------

fn check_content_type(scheme: Scheme, content_type: Option<&str>) -> Result<(), PayloadError> {
    let essence = content_type.map(|raw| {
        raw.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let (accepted, expected) = match (scheme, essence.as_deref()) {
        (Scheme::SalesforceOutbound, essence) => (
            matches!(essence, Some("text/xml" | "application/soap+xml")),
            XML_TYPES,
        ),
        (_, essence) => (
            essence.is_some_and(|essence| {
                essence == JSON_TYPES
                    || essence
                        .strip_prefix("application/")
                        .and_then(|subtype| subtype.strip_suffix("+json"))
                        .is_some_and(|prefix| !prefix.is_empty() && !prefix.contains('/'))
            }),
            "application/json",
        ),
    };
    if accepted {
        return Ok(());
    }
    let found = match essence {
        None => "none".to_owned(),
        Some(essence) if essence.is_empty() => "(empty)".to_owned(),
        // A header is not personal data, but keep what is echoed short and printable.
        Some(essence) => essence
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(100)
            .collect(),
    };
    Err(PayloadError::UnsupportedMediaType { found, expected })
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

fn read_json(body: &[u8]) -> Result<Value, PayloadError> {
    serde_json::from_slice(body).map_err(|error| {
        let location = format!("line {}, column {}", error.line(), error.column());
        let message = match error.classify() {
            // serde_json's syntax and EOF messages name the problem, never the data; its
            // Display appends the position, which `location` carries instead.
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                let full = error.to_string();
                let suffix = format!(" at line {} column {}", error.line(), error.column());
                full.strip_suffix(&suffix).unwrap_or(&full).to_owned()
            }
            serde_json::error::Category::Data => "unexpected JSON value".to_owned(),
            serde_json::error::Category::Io => "unreadable body".to_owned(),
        };
        malformed(location, message)
    })
}

/// The name of a JSON value's type, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_json_content_type_has_parameters_or_suffix_then_it_is_accepted() {
        for accepted in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/vnd.api+json",
            " application/cloudevents+json ;charset=utf-8",
        ] {
            assert_eq!(
                check_content_type(Scheme::Hubspot, Some(accepted)),
                Ok(()),
                "{accepted}"
            );
        }
    }

    #[test]
    fn when_content_type_is_missing_or_other_then_it_is_unsupported() {
        for (scheme, given, found) in [
            (Scheme::Pipedrive, None, "none"),
            (Scheme::StandardWebhooks, Some("text/plain"), "text/plain"),
            (
                Scheme::StandardWebhooks,
                Some("application/+json"),
                "application/+json",
            ),
            (
                Scheme::SalesforceOutbound,
                Some("application/json"),
                "application/json",
            ),
            (Scheme::Hubspot, Some("text/xml; charset=utf-8"), "text/xml"),
        ] {
            let error = check_content_type(scheme, given).unwrap_err();
            assert!(
                matches!(&error, PayloadError::UnsupportedMediaType { found: f, .. } if f == found),
                "{error:?}"
            );
        }
        assert_eq!(
            check_content_type(Scheme::SalesforceOutbound, Some("TEXT/XML; charset=utf-8")),
            Ok(())
        );
        assert_eq!(
            check_content_type(Scheme::SalesforceOutbound, Some("application/soap+xml")),
            Ok(())
        );
    }

    #[test]
    fn when_location_is_the_whole_body_then_the_message_has_no_position() {
        assert_eq!(malformed("", "empty body").to_string(), "empty body");
        assert_eq!(
            malformed("/3", "a contact must be an object, found a number").to_string(),
            "a contact must be an object, found a number at /3"
        );
    }

    #[test]
    fn when_json_error_is_reported_then_position_moves_to_location() {
        let error = read_json(br#"{"email": "ada@example.com",}"#).unwrap_err();
        assert_eq!(error, malformed("line 1, column 29", "trailing comma"));
    }
}
