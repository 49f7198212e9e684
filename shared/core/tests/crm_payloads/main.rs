//! CRM payloads end to end: a body as each CRM sends it is parsed into records, and a field
//! mapping turns each record into the exact contact.

mod hubspot;
mod pipedrive;
mod salesforce;
mod standard_webhooks;

#[path = "../support/mod.rs"]
mod support;

use chrono::{TimeZone, Utc};
use relay_clients::braze::validation::Rule;
use relay_core::contact::{Company, Contact};
use relay_core::crm::payload::{ParseOptions, parse};
use relay_core::crm::{FieldMapping, Payload, PayloadError, Record, Scheme};
use serde_json::{Value, json};

const JSON: Option<&str> = Some("application/json; charset=utf-8");
const XML: Option<&str> = Some("text/xml; charset=utf-8");

fn fixture(name: &str) -> Vec<u8> {
    support::fixture_bytes("crm", name)
}

fn mapping(value: Value) -> FieldMapping {
    serde_json::from_value(value).expect("mapping")
}

fn parse_default(
    scheme: Scheme,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Payload, PayloadError> {
    parse(scheme, content_type, body, &ParseOptions::default())
}

fn malformed(scheme: Scheme, content_type: Option<&str>, body: &[u8]) -> (String, String) {
    match parse_default(scheme, content_type, body) {
        Err(PayloadError::Malformed { location, message }) => (location, message),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<chrono::DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap())
}
