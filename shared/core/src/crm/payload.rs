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

use std::borrow::Cow;
use std::collections::HashSet;

use quick_xml::Reader;
use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use super::sources::Scheme;

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

/// The most notifications one Salesforce Outbound Message carries.
pub const MAX_SALESFORCE_NOTIFICATIONS: usize = 100;

/// How deep XML elements may nest (a SOAP notification needs 6 levels).
const MAX_XML_DEPTH: usize = 32;

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
        Scheme::StandardWebhooks => parse_standard(read_json(body)?),
        Scheme::Hubspot => parse_hubspot(read_json(body)?),
        Scheme::Pipedrive => parse_pipedrive(read_json(body)?, options),
        Scheme::SalesforceOutbound => parse_salesforce(body),
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

fn parse_standard(body: Value) -> Result<Payload, PayloadError> {
    let (items, prefix) = match body {
        Value::Object(mut object) => match object.remove("contacts") {
            Some(Value::Array(items)) => (items, "/contacts"),
            Some(other) => {
                return Err(malformed(
                    "/contacts",
                    format!("`contacts` must be an array, found {}", kind(&other)),
                ));
            }
            None => {
                return Ok(Payload {
                    records: vec![Record {
                        value: Value::Object(object),
                        location: String::new(),
                        dedupe_key: None,
                        signup: true,
                    }],
                    ..Payload::default()
                });
            }
        },
        Value::Array(items) => (items, ""),
        other => {
            return Err(malformed(
                "",
                format!(
                    "body must be a contact object or an array of them, found {}",
                    kind(&other)
                ),
            ));
        }
    };
    if items.is_empty() {
        return Err(malformed(prefix, "no contacts"));
    }
    let records = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let location = format!("{prefix}/{i}");
            if item.is_object() {
                Ok(Record {
                    value: item,
                    location,
                    dedupe_key: None,
                    signup: true,
                })
            } else {
                Err(malformed(
                    location,
                    format!("a contact must be an object, found {}", kind(&item)),
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Payload {
        records,
        ..Payload::default()
    })
}

// ---------------------------------------------------------------------------------------------
// HubSpot
// ---------------------------------------------------------------------------------------------

/// The HubSpot object type id of contacts.
const HUBSPOT_CONTACT_TYPE: &str = "0-1";

fn parse_hubspot(body: Value) -> Result<Payload, PayloadError> {
    match body {
        Value::Array(events) => parse_hubspot_events(events),
        Value::Object(object) => Ok(Payload {
            records: vec![hubspot_object(object)?],
            ..Payload::default()
        }),
        other => Err(malformed(
            "",
            format!(
                "body must be an array of events or a contact object, found {}",
                kind(&other)
            ),
        )),
    }
}

fn parse_hubspot_events(events: Vec<Value>) -> Result<Payload, PayloadError> {
    if events.is_empty() {
        return Err(malformed("", "no events"));
    }
    let mut payload = Payload::default();
    let mut seen = HashSet::new();
    let mut created = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        let location = format!("/{i}");
        let Value::Object(event) = event else {
            return Err(malformed(
                location,
                format!("an event must be an object, found {}", kind(event)),
            ));
        };
        let Some(Value::String(subscription)) = event.get("subscriptionType") else {
            return Err(malformed(location, "event has no subscriptionType string"));
        };
        let is_contact = match subscription.as_str() {
            "contact.creation" | "contact.propertyChange" => true,
            "object.creation" | "object.propertyChange" => {
                event.get("objectTypeId").and_then(Value::as_str) == Some(HUBSPOT_CONTACT_TYPE)
            }
            _ => false,
        };
        if !is_contact {
            // Some event types (association changes) carry no objectId: only the events
            // that are fetched need one.
            payload.ignored += 1;
            continue;
        }
        let id = match event.get("objectId") {
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => {
                return Err(malformed(
                    location,
                    "contact event has no objectId (an integer or a string)",
                ));
            }
        };
        if subscription.ends_with(".creation") {
            created.insert(id.clone());
        }
        if seen.insert(id.clone()) {
            payload.fetch.push(id);
        } else {
            // HubSpot may deliver several events for one contact: one read is enough.
            payload.ignored += 1;
        }
    }
    payload.fetch_updates = payload
        .fetch
        .iter()
        .filter(|id| !created.contains(*id))
        .cloned()
        .collect();
    Ok(payload)
}

/// A workflow body: legacy contact, new-style object or a custom flat body.
fn hubspot_object(mut object: Map<String, Value>) -> Result<Record, PayloadError> {
    let legacy_marker = object.contains_key("vid") || object.contains_key("canonical-vid");
    let properties = match object.remove("properties") {
        Some(Value::Object(properties)) => properties,
        other => {
            if let Some(other) = other {
                object.insert("properties".into(), other);
            }
            return Ok(Record {
                value: Value::Object(object),
                location: String::new(),
                dedupe_key: None,
                signup: true,
            });
        }
    };
    let has_value_objects = properties
        .values()
        .any(|v| v.as_object().is_some_and(|o| o.contains_key("value")));
    if legacy_marker || has_value_objects {
        let mut record: Map<String, Value> = properties
            .into_iter()
            .map(|(name, property)| match property {
                Value::Object(mut p) if p.contains_key("value") => {
                    (name, p.remove("value").unwrap_or(Value::Null))
                }
                other => (name, other),
            })
            .collect();
        if !record.contains_key("hs_object_id")
            && let Some(id) = ["vid", "canonical-vid"]
                .iter()
                .find_map(|key| id_text(object.get(*key)))
        {
            record.insert("hs_object_id".into(), Value::String(id));
        }
        return Ok(Record {
            value: Value::Object(record),
            location: String::new(),
            dedupe_key: None,
            signup: true,
        });
    }
    let mut record = properties;
    if !record.contains_key("hs_object_id")
        && let Some(id) = id_text(object.get("id"))
    {
        record.insert("hs_object_id".into(), Value::String(id));
    }
    Ok(Record {
        value: Value::Object(record),
        location: "/properties".into(),
        dedupe_key: None,
        signup: true,
    })
}

/// An id given as an integer or a non-empty string, as text.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Pipedrive
// ---------------------------------------------------------------------------------------------

fn parse_pipedrive(body: Value, options: &ParseOptions) -> Result<Payload, PayloadError> {
    let Value::Object(mut body) = body else {
        return Err(malformed(
            "",
            format!("body must be an object, found {}", kind(&body)),
        ));
    };
    let Some(Value::Object(meta)) = body.get("meta") else {
        return Err(malformed("/meta", "no `meta` object"));
    };
    // v2 names the entity `entity`; v1 names it `object` and uses past-tense actions.
    let v1 = !meta.contains_key("entity") && meta.contains_key("object");
    let entity_key = if v1 { "object" } else { "entity" };
    let Some(entity) = meta.get(entity_key).and_then(Value::as_str) else {
        return Err(malformed(
            format!("/meta/{entity_key}"),
            "no entity name string",
        ));
    };
    let Some(action) = meta.get("action").and_then(Value::as_str) else {
        return Err(malformed("/meta/action", "no action string"));
    };
    let action = if v1 {
        match action {
            "added" => "create",
            "updated" => "change",
            "deleted" => "delete",
            other => other,
        }
    } else {
        action
    };
    let signup = action == "create";
    let wanted = entity == "person"
        && options
            .pipedrive_actions
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(action));
    if !wanted {
        return Ok(Payload {
            ignored: 1,
            ..Payload::default()
        });
    }
    // A deletion carries the person in `previous` (v2) when `data` is null.
    let candidates: &[&str] = if v1 {
        &["current", "previous"]
    } else {
        &["data", "previous"]
    };
    for key in candidates {
        match body.remove(*key) {
            Some(Value::Object(person)) => {
                return Ok(Payload {
                    records: vec![Record {
                        value: Value::Object(person),
                        location: format!("/{key}"),
                        dedupe_key: None,
                        signup,
                    }],
                    ..Payload::default()
                });
            }
            None | Some(Value::Null) => continue,
            Some(other) => {
                return Err(malformed(
                    format!("/{key}"),
                    format!("the person must be an object, found {}", kind(&other)),
                ));
            }
        }
    }
    Err(malformed(
        format!("/{}", candidates[0]),
        "no person object in the event",
    ))
}

// ---------------------------------------------------------------------------------------------
// Salesforce
// ---------------------------------------------------------------------------------------------

/// An XML element reduced to what Outbound Messages need.
#[derive(Debug, Default)]
struct XmlElement {
    /// Local name (namespace prefix dropped).
    name: String,
    /// `xsi:nil="true"`.
    nil: bool,
    /// Concatenated, unescaped character data directly inside the element.
    text: String,
    children: Vec<XmlElement>,
}

impl XmlElement {
    fn child(&self, name: &str) -> Option<&XmlElement> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Text (trimmed) of a child that has no children of its own; `None` when missing,
    /// nil or empty.
    fn child_text(&self, name: &str) -> Option<String> {
        let child = self.child(name)?;
        let text = child.text.trim();
        (!child.nil && child.children.is_empty() && !text.is_empty()).then(|| text.to_owned())
    }

    /// An element as JSON: children become an object (first of a repeated name wins),
    /// `xsi:nil` becomes null, anything else its text.
    fn to_json(&self) -> Value {
        if self.nil {
            Value::Null
        } else if self.children.is_empty() {
            Value::String(self.text.clone())
        } else {
            Value::Object(self.fields())
        }
    }

    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        for child in &self.children {
            if !fields.contains_key(&child.name) {
                fields.insert(child.name.clone(), child.to_json());
            }
        }
        fields
    }
}

fn parse_salesforce(body: &[u8]) -> Result<Payload, PayloadError> {
    let root = read_xml(body)?;
    let mut path = String::from("Envelope");
    if root.name != "Envelope" {
        return Err(malformed(path, "the root element is not a SOAP Envelope"));
    }
    let body_element = root
        .child("Body")
        .ok_or_else(|| malformed(path.clone(), "no SOAP Body"))?;
    path.push_str("/Body");
    let notifications = body_element
        .child("notifications")
        .ok_or_else(|| malformed(path.clone(), "no `notifications` element"))?;
    path.push_str("/notifications");
    let organization_id = notifications
        .child_text("OrganizationId")
        .ok_or_else(|| malformed(path.clone(), "no OrganizationId"))?;

    let items: Vec<&XmlElement> = notifications
        .children
        .iter()
        .filter(|c| c.name == "Notification")
        .collect();
    if items.is_empty() {
        return Err(malformed(path, "no notifications"));
    }
    if items.len() > MAX_SALESFORCE_NOTIFICATIONS {
        return Err(malformed(
            path,
            format!("more than {MAX_SALESFORCE_NOTIFICATIONS} notifications"),
        ));
    }
    let mut payload = Payload {
        organization_id: Some(organization_id),
        ..Payload::default()
    };
    let mut seen = HashSet::new();
    for (i, notification) in items.into_iter().enumerate() {
        let location = format!("Notification[{i}]");
        let id = notification
            .child_text("Id")
            .ok_or_else(|| malformed(location.clone(), "notification has no Id"))?;
        let sobject = notification
            .child("sObject")
            .ok_or_else(|| malformed(location.clone(), "notification has no sObject"))?;
        if !seen.insert(id.clone()) {
            payload.ignored += 1;
            continue;
        }
        payload.records.push(Record {
            value: Value::Object(sobject.fields()),
            location,
            dedupe_key: Some(id),
            signup: true,
        });
    }
    Ok(payload)
}

/// Reads a whole XML document into a tree of [`XmlElement`]s. Namespace prefixes are
/// dropped; DTDs, unknown entities and content outside the root element are refused.
fn read_xml(body: &[u8]) -> Result<XmlElement, PayloadError> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    loop {
        let start = reader.buffer_position();
        let byte = |at: u64| format!("byte {at}");
        let event = reader
            .read_event()
            .map_err(|error| xml_error(&error, reader.error_position()))?;
        let opened = match &event {
            Event::Start(tag) | Event::Empty(tag) => {
                if root.is_some() && stack.is_empty() {
                    return Err(malformed(byte(start), "content after the root element"));
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(malformed(byte(start), "elements nest too deeply"));
                }
                Some(element(tag).map_err(|message| malformed(byte(start), message))?)
            }
            _ => None,
        };
        let text: Option<Cow<'_, str>> = match event {
            Event::Start(_) => {
                stack.extend(opened);
                None
            }
            Event::Empty(_) | Event::End(_) => {
                let closed = match opened {
                    Some(element) => element,
                    None => stack
                        .pop()
                        .ok_or_else(|| malformed(byte(start), "closing tag without opening tag"))?,
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(closed),
                    None => root = Some(closed),
                }
                None
            }
            Event::Text(text) => Some(
                text.xml10_content()
                    .map_err(|_| malformed(byte(start), "text is not valid UTF-8"))?,
            ),
            Event::CData(data) => Some(
                data.xml10_content()
                    .map_err(|_| malformed(byte(start), "CDATA is not valid UTF-8"))?,
            ),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|_| {
                            malformed(byte(start), "entity reference is not valid UTF-8")
                        })?;
                        quick_xml::escape::resolve_xml_entity(&name)
                            .ok_or_else(|| malformed(byte(start), "unknown entity reference"))?
                            .to_owned()
                    }
                    Err(_) => return Err(malformed(byte(start), "invalid character reference")),
                };
                Some(Cow::Owned(resolved))
            }
            Event::DocType(_) => return Err(malformed(byte(start), "DTDs are not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => None,
            Event::Eof => break,
        };
        if let Some(text) = text {
            match stack.last_mut() {
                Some(open) => open.text.push_str(&text),
                None if text.trim().is_empty() => {}
                None => return Err(malformed(byte(start), "text outside the root element")),
            }
        }
    }
    if !stack.is_empty() {
        return Err(malformed(
            format!("byte {}", body.len()),
            "the document ends inside an element",
        ));
    }
    root.ok_or_else(|| malformed("byte 0", "no root element"))
}

/// The element's local name and whether it is `xsi:nil="true"`.
fn element(tag: &BytesStart<'_>) -> Result<XmlElement, &'static str> {
    let name = std::str::from_utf8(tag.local_name().into_inner())
        .map_err(|_| "element name is not valid UTF-8")?
        .to_owned();
    let mut nil = false;
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|_| "malformed attribute")?;
        if attribute.key.local_name().as_ref() == b"nil" {
            nil = matches!(attribute.value.as_ref().trim_ascii(), b"true" | b"1");
        }
    }
    Ok(XmlElement {
        name,
        nil,
        ..XmlElement::default()
    })
}

fn xml_error(error: &XmlError, position: u64) -> PayloadError {
    let message: Cow<'static, str> = match error {
        // Syntax messages describe the markup, never its content.
        XmlError::Syntax(syntax) => syntax.to_string().into(),
        XmlError::IllFormed(ill) => match ill {
            IllFormedError::MissingDoctypeName => "DTDs are not accepted".into(),
            IllFormedError::MissingEndTag(_) => "an element is not closed".into(),
            IllFormedError::UnmatchedEndTag(_) => "closing tag without opening tag".into(),
            IllFormedError::MismatchedEndTag { .. } => {
                "closing tag does not match the open element".into()
            }
            IllFormedError::MissingDeclVersion(_) => "XML declaration has no version".into(),
            IllFormedError::DoubleHyphenInComment => "`--` inside a comment".into(),
            IllFormedError::UnclosedReference => "entity reference is not closed".into(),
        },
        XmlError::InvalidAttr(_) => "malformed attribute".into(),
        XmlError::Encoding(_) => "not valid UTF-8".into(),
        XmlError::Escape(_) => "invalid escape".into(),
        XmlError::Namespace(_) => "namespace error".into(),
        XmlError::Io(_) => "unreadable body".into(),
    };
    malformed(format!("byte {position}"), message)
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

    #[test]
    fn when_xml_has_a_bom_nested_fields_and_char_refs_then_they_are_read() {
        let body = "\u{feff}<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"urn:e\"><e:Body>\
            <notifications><OrganizationId> 00Dx </OrganizationId><Notification><Id>n1</Id>\
            <sObject><Name>A&#233;&#x41;</Name><Account><Id>001</Id><Name/></Account>\
            <Phone></Phone></sObject></Notification></notifications></e:Body></e:Envelope>";
        let payload = parse_salesforce(body.as_bytes()).unwrap();
        assert_eq!(payload.organization_id.as_deref(), Some("00Dx"));
        assert_eq!(
            payload.records[0].value,
            serde_json::json!({"Name": "A\u{e9}A", "Account": {"Id": "001", "Name": ""}, "Phone": ""})
        );
    }

    #[test]
    fn when_hubspot_properties_is_not_an_object_then_the_body_is_taken_as_it_is() {
        let record = hubspot_object(
            serde_json::json!({"email": "x", "properties": "none"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            record.value,
            serde_json::json!({"email": "x", "properties": "none"})
        );
        assert_eq!(record.location, "");
    }
}
