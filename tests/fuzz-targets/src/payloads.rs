//! The webhook body parsers (`relay_core::crm::payload::parse`) per scheme, and the XML
//! reader under Salesforce's parser.
//!
//! Whatever the bytes, a parse ends in `Ok` or a `Malformed` error whose location has one of
//! the documented forms and whose message is short (it names the problem, never a value).
//! A parse that succeeds yields records that are JSON objects, no deeper than the reader
//! allows (serde_json's 128 levels; 32 XML elements), holding no more text than the body
//! carried (nothing is expanded: no entity, no DTD), with the scheme's own rules (Salesforce:
//! at most 100 notifications, an organization id, one record per notification id; HubSpot:
//! fetched ids unique and not empty).

use std::collections::HashSet;

use relay_core::crm::Scheme;
use relay_core::crm::payload::{
    MAX_SALESFORCE_NOTIFICATIONS, ParseOptions, Payload, PayloadError, parse,
};
use serde_json::Value;

/// Longest error message a parser may give: messages name the problem, never a value.
pub const MAX_MESSAGE_CHARS: usize = 160;
/// serde_json's recursion limit: no JSON record nests deeper.
pub const MAX_JSON_DEPTH: usize = 128;
/// The XML reader's element depth limit, less the SOAP levels above a record.
pub const MAX_XML_RECORD_DEPTH: usize = 32;

/// A Standard Webhooks body (one contact, an array, or `{"contacts": [..]}`).
pub fn standard_webhooks_payload(data: &[u8]) {
    check_json_scheme(Scheme::StandardWebhooks, data);
}

/// A HubSpot body (subscription events, a workflow body, an object).
pub fn hubspot_payload(data: &[u8]) {
    check_json_scheme(Scheme::Hubspot, data);
}

/// A Pipedrive body (webhooks v1 or v2), with `create` and `change` taken.
pub fn pipedrive_payload(data: &[u8]) {
    check_json_scheme(Scheme::Pipedrive, data);
}

/// The inside of a Salesforce Outbound Message's `notifications` element (after a valid
/// `OrganizationId`), wrapped in a real SOAP envelope, so the fuzzer works on notifications.
pub fn salesforce_payload(data: &[u8]) {
    let mut body = Vec::with_capacity(data.len() + SOAP_HEAD.len() + SOAP_TAIL.len());
    body.extend_from_slice(SOAP_HEAD.as_bytes());
    body.extend_from_slice(data);
    body.extend_from_slice(SOAP_TAIL.as_bytes());
    check_xml(&body);
}

/// Any bytes as a Salesforce body: the XML reader itself (declaration, DTDs, entities,
/// encodings, nesting).
pub fn xml_reader(data: &[u8]) {
    check_xml(data);
}

const SOAP_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5e000000AbCdEAK</OrganizationId>"#;
const SOAP_TAIL: &str = "</notifications></soapenv:Body></soapenv:Envelope>";

fn options() -> ParseOptions {
    ParseOptions {
        pipedrive_actions: vec!["create".to_owned(), "change".to_owned()],
    }
}

fn check_json_scheme(scheme: Scheme, data: &[u8]) {
    let result = parse(scheme, Some("application/json"), data, &options());
    let payload = check_result(data, result, MAX_JSON_DEPTH);
    let Some(payload) = payload else { return };
    // What serde_json can read, the parser read: a body serde_json refuses never parses.
    assert!(
        serde_json::from_slice::<Value>(data).is_ok(),
        "a body serde_json refuses parsed"
    );
    if scheme == Scheme::Hubspot {
        let unique: HashSet<&String> = payload.fetch.iter().collect();
        assert_eq!(unique.len(), payload.fetch.len(), "a fetched id repeats");
        assert!(payload.fetch.iter().all(|id| !id.is_empty()), "empty id");
        assert!(
            payload.fetch_updates.iter().all(|id| unique.contains(id)),
            "an update names an id that is not fetched"
        );
    } else {
        assert!(payload.fetch.is_empty(), "only HubSpot names ids to fetch");
    }
    assert_eq!(payload.organization_id, None, "only Salesforce has one");
}

fn check_xml(data: &[u8]) {
    let result = parse(
        Scheme::SalesforceOutbound,
        Some("text/xml; charset=utf-8"),
        data,
        &options(),
    );
    let Some(payload) = check_result(data, result, MAX_XML_RECORD_DEPTH) else {
        return;
    };
    assert!(
        payload.records.len() <= MAX_SALESFORCE_NOTIFICATIONS,
        "more than {MAX_SALESFORCE_NOTIFICATIONS} notifications"
    );
    let organization = payload.organization_id.as_deref().unwrap_or_default();
    assert!(!organization.trim().is_empty(), "no organization id");
    let mut keys = HashSet::new();
    for record in &payload.records {
        let key = record.dedupe_key.as_deref().expect("a notification id");
        assert!(keys.insert(key), "a notification id repeats");
        assert!(record.location.starts_with("Notification["));
    }
    let xml_markup = [b"<!DOCTYPE".as_slice(), b"<!ENTITY"];
    if xml_markup
        .iter()
        .any(|m| data.windows(m.len()).any(|w| w == *m))
    {
        // A DTD is refused before the root; a `<!...` inside an element is not markup quick-xml
        // reads as one. Either way nothing it declares may reach a record (the text bound).
        assert!(total_text(&payload) <= data.len());
    }
}

/// The common checks; `Some(payload)` when the parse succeeded.
fn check_result(
    data: &[u8],
    result: Result<Payload, PayloadError>,
    max_depth: usize,
) -> Option<Payload> {
    match result {
        Err(PayloadError::Malformed { location, message }) => {
            assert!(
                location_is_documented(&location),
                "undocumented location {location:?}"
            );
            assert!(
                !message.is_empty() && message.chars().count() <= MAX_MESSAGE_CHARS,
                "message too long or empty: {message:?}"
            );
            None
        }
        Err(PayloadError::UnsupportedMediaType { .. }) => {
            panic!("the content type sent is the scheme's own")
        }
        Ok(payload) => {
            assert!(
                !data.iter().all(u8::is_ascii_whitespace),
                "empty body parsed"
            );
            for record in &payload.records {
                assert!(record.value.is_object(), "a record is not an object");
                assert!(depth(&record.value) <= max_depth, "record nests too deeply");
                assert!(record_location_is_documented(&record.location));
            }
            // Nothing is expanded: every character of a record came from the body (HubSpot
            // adds `hs_object_id` and the id it copies, at most 64 bytes a record).
            let added = 64 * payload.records.len();
            assert!(
                total_text(&payload) <= data.len() + added,
                "records hold more text ({}) than the body ({})",
                total_text(&payload),
                data.len()
            );
            Some(payload)
        }
    }
}

fn location_is_documented(location: &str) -> bool {
    let numbered = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    location.is_empty()
        || location.starts_with('/')
        || location.starts_with("Envelope")
        || location.strip_prefix("byte ").is_some_and(numbered)
        || location
            .strip_prefix("line ")
            .and_then(|rest| rest.split_once(", column "))
            .is_some_and(|(line, column)| numbered(line) && numbered(column))
        || record_location_is_documented(location)
}

fn record_location_is_documented(location: &str) -> bool {
    location.is_empty()
        || location.starts_with('/')
        || location
            .strip_prefix("Notification[")
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|n| n.parse::<usize>().is_ok())
}

/// Bytes of every string (keys and values) in the payload's records.
fn total_text(payload: &Payload) -> usize {
    fn text(value: &Value) -> usize {
        match value {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(text).sum(),
            Value::Object(map) => map.iter().map(|(k, v)| k.len() + text(v)).sum(),
            _ => 0,
        }
    }
    payload.records.iter().map(|r| text(&r.value)).sum()
}

/// Levels of arrays and objects (`{"a": [1]}` is 2).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
