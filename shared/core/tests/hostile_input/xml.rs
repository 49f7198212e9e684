//! Salesforce bodies with XML's dangerous features: quick-xml expands no custom entity, and
//! the reader refuses every DTD before anything is read from it.

use relay_core::crm::payload::{ParseOptions, parse};
use relay_core::crm::{PayloadError, Scheme};

use super::{DEEP, on_worker_stack};

fn refusal(body: &str) -> (String, String) {
    match parse(
        Scheme::SalesforceOutbound,
        Some("text/xml"),
        body.as_bytes(),
        &ParseOptions::default(),
    ) {
        Err(PayloadError::Malformed { location, message }) => (location, message),
        other => panic!("accepted: {other:?}"),
    }
}

const NOTIFICATION: &str = "<OrganizationId>00D5e000000AbCdEAK</OrganizationId><Notification><Id>n1</Id><sObject><Email>&e;</Email></sObject></Notification>";

fn envelope(doctype: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>{doctype}<Envelope><Body><notifications>{NOTIFICATION}</notifications></Body></Envelope>"
    )
}

#[test]
fn when_a_body_declares_a_billion_laughs_then_the_dtd_is_refused_before_any_expansion() {
    let mut entities = String::from(r#"<!ENTITY e0 "lol">"#);
    for level in 1..10 {
        let previous = format!("&e{};", level - 1);
        entities.push_str(&format!(r#"<!ENTITY e{level} "{}">"#, previous.repeat(10)));
    }
    entities.push_str(r#"<!ENTITY e "&e9;">"#);
    let body = envelope(&format!("<!DOCTYPE Envelope [{entities}]>"));
    assert_eq!(
        refusal(&body),
        ("byte 21".to_owned(), "DTDs are not accepted".to_owned())
    );
}

#[test]
fn when_a_body_declares_an_external_entity_then_the_dtd_is_refused() {
    for doctype in [
        r#"<!DOCTYPE Envelope [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#,
        r#"<!DOCTYPE Envelope [<!ENTITY % p SYSTEM "http://169.254.169.254/latest/meta-data/"> %p;]>"#,
        r#"<!DOCTYPE Envelope SYSTEM "file:///etc/passwd">"#,
        r#"<!DOCTYPE Envelope PUBLIC "-//X//DTD X//EN" "http://localhost/x.dtd">"#,
    ] {
        let (_, message) = refusal(&envelope(doctype));
        assert_eq!(message, "DTDs are not accepted", "{doctype}");
    }
}

#[test]
fn when_a_dtd_appears_inside_the_envelope_then_it_is_refused_too() {
    let body = "<Envelope><!DOCTYPE x [<!ENTITY e \"y\">]><Body/></Envelope>";
    assert_eq!(refusal(body).1, "DTDs are not accepted");
}

#[test]
fn when_an_entity_is_used_without_a_declaration_then_it_is_left_unexpanded_and_refused() {
    let body = envelope("");
    let (location, message) = refusal(&body);
    assert_eq!(message, "unknown entity reference");
    let at: usize = location.strip_prefix("byte ").unwrap().parse().unwrap();
    assert_eq!(&body[at..at + 3], "&e;");
}

#[test]
fn when_the_predefined_entities_and_character_references_are_used_then_they_are_read() {
    let body = envelope("").replace("&e;", "a&amp;b&lt;&#64;&#x41;");
    let payload = parse(
        Scheme::SalesforceOutbound,
        Some("text/xml"),
        body.as_bytes(),
        &ParseOptions::default(),
    )
    .expect("predefined entities are XML's own");
    assert_eq!(payload.records[0].value["Email"], "a&b<@A");
}

#[test]
fn when_elements_nest_10000_deep_then_the_body_is_refused_without_recursion() {
    on_worker_stack(|| {
        let body = format!(
            "<Envelope><Body>{}{}</Body></Envelope>",
            "<a>".repeat(DEEP),
            "</a>".repeat(DEEP)
        );
        assert_eq!(refusal(&body).1, "elements nest too deeply");
    });
}
