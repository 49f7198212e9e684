//! Invalid UTF-8 in bodies and export lines: a located, value-free error.

use relay_core::crm::payload::{ParseOptions, parse};
use relay_core::crm::{PayloadError, Scheme};
use relay_core::export::line::{ExportMapping, LineError};

#[test]
fn when_a_json_body_holds_invalid_utf8_then_it_is_malformed_at_its_position() {
    let body = b"{\"external_id\":\"u1\",\"email\":\"\xff\xfe@example.com\"}";
    for scheme in [Scheme::StandardWebhooks, Scheme::Hubspot, Scheme::Pipedrive] {
        match parse(
            scheme,
            Some("application/json"),
            body,
            &ParseOptions::default(),
        ) {
            Err(PayloadError::Malformed { location, message }) => {
                assert_eq!(location, "line 1, column 30", "{scheme:?}");
                assert!(
                    message.contains("invalid unicode") || message.contains("UTF-8"),
                    "{message}"
                );
                assert!(!message.contains("example.com"));
            }
            other => panic!("{scheme:?}: {other:?}"),
        }
    }
}

#[test]
fn when_an_xml_body_holds_invalid_utf8_then_it_is_malformed_without_the_bytes() {
    let body = b"<Envelope><Body><notifications><OrganizationId>\xff\xfe</OrganizationId></notifications></Body></Envelope>";
    match parse(
        Scheme::SalesforceOutbound,
        Some("text/xml"),
        body,
        &ParseOptions::default(),
    ) {
        Err(PayloadError::Malformed { location, message }) => {
            assert!(location.starts_with("byte "), "{location}");
            assert!(message.contains("UTF-8"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn when_an_export_line_holds_invalid_utf8_then_it_is_invalid_json() {
    let mapping = ExportMapping::default();
    for line in [
        &b"{\"external_id\":\"u\xff1\"}"[..],
        b"{\"external_id\":\"u1\",\"devices\":[\"\xc3\x28\"]}",
        b"\xef\xbb\xbf\xff",
    ] {
        match mapping.map_line(line) {
            Err(error @ LineError::InvalidJson { .. }) => {
                assert_eq!(error.reason(), "invalid_json");
            }
            other => panic!("{other:?}"),
        }
    }
}
