//! CRM payloads end to end: a body as each CRM sends it is parsed into records, and a field
//! mapping turns each record into the exact contact.

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

// ---------------------------------------------------------------------------------------------
// Standard Webhooks
// ---------------------------------------------------------------------------------------------

#[test]
fn when_standard_body_wraps_contacts_then_each_maps_to_a_contact() {
    let payload = parse_default(
        Scheme::StandardWebhooks,
        JSON,
        &fixture("standard_contacts.json"),
    )
    .unwrap();
    assert_eq!(payload.fetch, Vec::<String>::new());
    assert_eq!(
        (payload.ignored, payload.organization_id.as_deref()),
        (0, None)
    );
    let locations: Vec<&str> = payload
        .records
        .iter()
        .map(|r| r.location.as_str())
        .collect();
    assert_eq!(locations, ["/contacts/0", "/contacts/1"]);

    let mapping = mapping(json!({
        "external_id": "/user_id", "email": "/email", "first_name": "/first_name",
        "last_name": "/last_name", "phone": "/phone", "country": "/country",
        "language": "/language", "time_zone": "/time_zone", "dob": "/birthday",
        "company_id": "/company/id", "company_name": "/company/name",
        "company_plan": "/company/plan", "signed_up_at": "/signed_up_at",
        "custom": {"seats": "/attributes/seats", "beta_features": "/attributes/beta_features"}
    }));
    let contacts: Vec<Contact> = payload
        .records
        .iter()
        .map(|r| mapping.apply(&r.value).unwrap())
        .collect();

    let mut ada = Contact::new("usr_9001");
    ada.email = Some("ada@example.com".into());
    ada.first_name = Some("Ada".into());
    ada.last_name = Some("Lovelace".into());
    ada.phone = Some("+442079460958".into());
    ada.country = Some("GB".into());
    ada.language = Some("en".into());
    ada.time_zone = Some("Europe/London".into());
    ada.dob = Some("1815-12-10".into());
    ada.company = Some(Company {
        id: "acme".into(),
        name: Some("Acme Analytical".into()),
        plan: Some("pro".into()),
    });
    ada.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    ada.custom.insert("seats".into(), json!(12));
    ada.custom
        .insert("beta_features".into(), json!(["reports", "sso"]));

    let mut grace = Contact::new("9002");
    grace.email = Some("grace@example.com".into());
    grace.first_name = Some("Grace".into());
    grace.signed_up_at = at(2024, 3, 2, 0, 0, 0);

    assert_eq!(contacts, vec![ada, grace]);
}

#[test]
fn when_standard_body_is_one_object_or_an_array_then_locations_follow_the_shape() {
    let single = parse_default(Scheme::StandardWebhooks, JSON, br#"{"user_id": "u-1"}"#).unwrap();
    assert_eq!(
        single.records,
        vec![Record {
            value: json!({"user_id": "u-1"}),
            location: String::new(),
            dedupe_key: None,
            signup: true,
        }]
    );
    let array = parse_default(
        Scheme::StandardWebhooks,
        Some("application/vnd.relay+json"),
        br#"[{"user_id": "u-1"}, {"user_id": "u-2"}]"#,
    )
    .unwrap();
    let locations: Vec<&str> = array.records.iter().map(|r| r.location.as_str()).collect();
    assert_eq!(locations, ["/0", "/1"]);
}

#[test]
fn when_standard_body_is_malformed_then_the_location_is_exact() {
    let cases: [(&[u8], &str, &str); 7] = [
        (b"", "", "empty body"),
        (b"  \n", "", "empty body"),
        (b"[]", "", "no contacts"),
        (br#"{"contacts": []}"#, "/contacts", "no contacts"),
        (
            br#"[{"user_id": "u-1"}, {"user_id": "u-2"}, {}, 5]"#,
            "/3",
            "a contact must be an object, found a number",
        ),
        (
            br#"{"contacts": [{}, "ada@example.com"]}"#,
            "/contacts/1",
            "a contact must be an object, found a string",
        ),
        (
            br#"{"contacts": {"user_id": "u-1"}}"#,
            "/contacts",
            "`contacts` must be an array, found an object",
        ),
    ];
    for (body, location, message) in cases {
        assert_eq!(
            malformed(Scheme::StandardWebhooks, JSON, body),
            (location.to_owned(), message.to_owned()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn when_json_is_not_well_formed_then_the_location_is_line_and_column_and_no_value_is_quoted() {
    let (location, message) = malformed(
        Scheme::StandardWebhooks,
        JSON,
        b"{\n  \"email\": \"ada@example.com\",\n  \"first_name\": Ada\n}",
    );
    assert_eq!(location, "line 3, column 17");
    assert_eq!(message, "expected value");
    assert!(!message.contains("Ada") && !message.contains("ada@"));

    let (location, message) =
        malformed(Scheme::Pipedrive, JSON, br#"{"meta": {"action": "create""#);
    assert_eq!(
        (location.as_str(), message.as_str()),
        ("line 1, column 28", "EOF while parsing an object")
    );
}

#[test]
fn when_content_type_is_wrong_then_it_is_unsupported_media_type() {
    let body = fixture("standard_contacts.json");
    for (scheme, content_type, found, expected) in [
        (Scheme::StandardWebhooks, None, "none", "application/json"),
        (
            Scheme::Hubspot,
            Some("text/plain; charset=utf-8"),
            "text/plain",
            "application/json",
        ),
        (
            Scheme::Pipedrive,
            Some("application/x-www-form-urlencoded"),
            "application/x-www-form-urlencoded",
            "application/json",
        ),
        (
            Scheme::SalesforceOutbound,
            JSON,
            "application/json",
            "text/xml or application/soap+xml",
        ),
    ] {
        assert_eq!(
            parse_default(scheme, content_type, &body),
            Err(PayloadError::UnsupportedMediaType {
                found: found.into(),
                expected
            })
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HubSpot
// ---------------------------------------------------------------------------------------------

#[test]
fn when_hubspot_sends_events_then_contact_ids_are_fetched_once_and_others_ignored() {
    let payload = parse_default(
        Scheme::Hubspot,
        Some("application/json"),
        &fixture("hubspot_events.json"),
    )
    .unwrap();
    assert_eq!(
        payload,
        Payload {
            records: vec![],
            fetch: vec!["1001".into(), "1002".into(), "1003".into(), "1005".into()],
            // named by property changes only: updates, not signups
            fetch_updates: vec!["1002".into(), "1005".into()],
            // company.creation, object.creation 0-2, contact.deletion, the repeat of 1001
            ignored: 4,
            organization_id: None,
        }
    );
}

#[test]
fn when_hubspot_event_lacks_type_or_contact_id_then_the_event_index_is_reported() {
    let cases: [(&[u8], &str, &str); 4] = [
        (br#"[{"subscriptionType": "contact.creation", "objectId": 1}, {"subscriptionType": "contact.creation"}]"#, "/1", "contact event has no objectId (an integer or a string)"),
        (br#"[{"objectId": 1}]"#, "/0", "event has no subscriptionType string"),
        (br#"[{"subscriptionType": "object.creation", "objectTypeId": "0-1", "objectId": 1.5}]"#, "/0", "contact event has no objectId (an integer or a string)"),
        (br#"[{"subscriptionType": "contact.creation", "objectId": 1}, 7]"#, "/1", "an event must be an object, found a number"),
    ];
    for (body, location, message) in cases {
        assert_eq!(
            malformed(Scheme::Hubspot, JSON, body),
            (location.to_owned(), message.to_owned()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // Events that are ignored need no objectId (association changes carry none).
    let payload = parse_default(
        Scheme::Hubspot,
        JSON,
        br#"[{"subscriptionType": "contact.associationChange", "fromObjectId": 1, "toObjectId": 2}]"#,
    )
    .unwrap();
    assert_eq!((payload.fetch.len(), payload.ignored), (0, 1));
}

#[test]
fn when_hubspot_sends_more_than_100_events_then_all_are_read() {
    let events: Vec<Value> = (0..150)
        .map(|i| json!({"subscriptionType": "contact.creation", "objectId": i, "eventId": i}))
        .collect();
    let payload =
        parse_default(Scheme::Hubspot, JSON, &serde_json::to_vec(&events).unwrap()).unwrap();
    assert_eq!(payload.fetch.len(), 150);
}

fn hubspot_mapping() -> FieldMapping {
    mapping(json!({
        "external_id": "/app_user_id", "email": "/email", "first_name": "/firstname",
        "last_name": "/lastname", "phone": "/phone", "country": "/country",
        "language": "/hs_language", "company_id": "/associatedcompanyid",
        "company_name": "/company", "signed_up_at": "/createdate",
        "custom": {"hubspot_id": "/hs_object_id", "lifecycle_stage": "/lifecyclestage"}
    }))
}

#[test]
fn when_hubspot_workflow_sends_a_legacy_contact_then_properties_are_flattened() {
    let payload = parse_default(
        Scheme::Hubspot,
        JSON,
        &fixture("hubspot_legacy_workflow.json"),
    )
    .unwrap();
    assert_eq!((payload.fetch.len(), payload.ignored), (0, 0));
    let [record] = payload.records.as_slice() else {
        panic!("one record")
    };
    assert_eq!(record.location, "");
    assert_eq!(record.value["hs_object_id"], json!("3201"));
    assert_eq!(record.value["email"], json!("ada@example.com"));

    let contact = hubspot_mapping().apply(&record.value).unwrap();
    let mut expected = Contact::new("usr_3201");
    expected.email = Some("ada@example.com".into());
    expected.first_name = Some("Ada".into());
    expected.last_name = Some("Lovelace".into());
    expected.phone = Some("+442079460958".into());
    expected.country = Some("GB".into());
    expected.language = Some("en".into());
    expected.company = Some(Company {
        id: "98765".into(),
        name: Some("Analytical Engines Ltd".into()),
        plan: None,
    });
    expected.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    expected.custom.insert("hubspot_id".into(), json!("3201"));
    expected
        .custom
        .insert("lifecycle_stage".into(), json!("lead"));
    assert_eq!(contact, expected);
}

#[test]
fn when_hubspot_workflow_sends_a_flat_body_then_it_is_the_record() {
    let payload = parse_default(Scheme::Hubspot, JSON, &fixture("hubspot_flat.json")).unwrap();
    let [record] = payload.records.as_slice() else {
        panic!("one record")
    };
    assert_eq!(record.location, "");
    let contact = hubspot_mapping().apply(&record.value).unwrap();
    let mut expected = Contact::new("7");
    expected.email = Some("grace@example.com".into());
    expected.first_name = Some("Grace".into());
    expected.last_name = Some("Hopper".into());
    expected.phone = Some("+14155550100".into());
    expected.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    expected.custom.insert("hubspot_id".into(), json!("1007"));
    assert_eq!(contact, expected);
}

#[test]
fn when_hubspot_sends_a_v3_object_then_properties_are_the_record_with_its_id() {
    let payload = parse_default(Scheme::Hubspot, JSON, &fixture("hubspot_v3_object.json")).unwrap();
    let [record] = payload.records.as_slice() else {
        panic!("one record")
    };
    assert_eq!(record.location, "/properties");
    assert_eq!(record.value["hs_object_id"], json!("512"));
    let contact = hubspot_mapping().apply(&record.value).unwrap();
    let mut expected = Contact::new("usr_512");
    expected.email = Some("katherine@example.com".into());
    expected.first_name = Some("Katherine".into());
    expected.last_name = Some("Johnson".into());
    expected.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    expected.custom.insert("hubspot_id".into(), json!("512"));
    assert_eq!(contact, expected);
}

#[test]
fn when_mapping_reads_hubspot_properties_then_property_names_lists_them() {
    assert_eq!(
        hubspot_mapping().property_names(),
        [
            "app_user_id",
            "associatedcompanyid",
            "company",
            "country",
            "createdate",
            "email",
            "firstname",
            "hs_language",
            "hs_object_id",
            "lastname",
            "lifecyclestage",
            "phone"
        ]
    );
}

#[test]
fn when_record_breaks_rules_then_errors_name_fields_and_pointers_only() {
    let record = json!({
        "email": "not an email", "firstname": 12, "country": "Britain",
        "company": "Acme", "createdate": "last tuesday"
    });
    let errors = hubspot_mapping().apply(&record).unwrap_err();
    let found: Vec<(&str, Rule)> = errors.iter().map(|e| (e.path.as_str(), e.rule)).collect();
    assert_eq!(
        found,
        [
            ("external_id", Rule::Required),
            ("first_name", Rule::WrongType),
            ("company.id", Rule::Required),
            ("signed_up_at", Rule::Date),
            ("email", Rule::Email),
            ("country", Rule::Country),
        ]
    );
    assert_eq!(
        errors[0].message,
        "external_id is required: nothing at /app_user_id"
    );
    assert_eq!(
        errors[5].message,
        format!("country (from /country) {}", Rule::Country.describe())
    );
    for error in &errors {
        for value in ["not an email", "12", "Britain", "Acme", "tuesday"] {
            assert!(!error.message.contains(value), "{}", error.message);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Salesforce
// ---------------------------------------------------------------------------------------------

fn salesforce_mapping() -> FieldMapping {
    mapping(json!({
        "external_id": "/App_User_Id__c", "email": "/Email", "first_name": "/FirstName",
        "last_name": "/LastName", "phone": "/MobilePhone", "country": "/MailingCountryCode",
        "signed_up_at": "/CreatedDate", "custom": {"salesforce_id": "/Id"}
    }))
}

#[test]
fn when_salesforce_sends_outbound_messages_then_each_notification_is_a_record() {
    let payload = parse(
        Scheme::SalesforceOutbound,
        XML,
        &fixture("salesforce_outbound.xml"),
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(
        payload.organization_id.as_deref(),
        Some("00D5e000000AbCdEAK")
    );
    assert_eq!((payload.fetch.len(), payload.ignored), (0, 0));
    let keys: Vec<(&str, Option<&str>)> = payload
        .records
        .iter()
        .map(|r| (r.location.as_str(), r.dedupe_key.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("Notification[0]", Some("04l5e00000A1b2cAAB")),
            ("Notification[1]", Some("04l5e00000A1b2dAAB")),
            ("Notification[2]", Some("04l5e00000A1b2eAAB")),
        ]
    );
    assert_eq!(
        payload.records[1].value,
        json!({
            "Id": "0035e00000Qx1AcAAJ", "App_User_Id__c": "usr_1002",
            "CreatedDate": "2024-03-01T10:00:00.000Z", "Email": "conor@example.com",
            "FirstName": "Conor", "LastName": "O'Brien & Sons", "MailingCountryCode": "IE",
            "MobilePhone": null
        })
    );

    let contacts: Vec<Contact> = payload
        .records
        .iter()
        .map(|r| salesforce_mapping().apply(&r.value).unwrap())
        .collect();
    let contact = |id: &str, email: &str, first: &str, last: &str, country: &str| {
        let mut c = Contact::new(id);
        c.email = Some(email.into());
        c.first_name = Some(first.into());
        c.last_name = Some(last.into());
        c.country = Some(country.into());
        c
    };
    let mut ada = contact("usr_1001", "ada@example.com", "Ada", "Lovelace", "GB");
    ada.phone = Some("+442079460958".into());
    ada.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    ada.custom
        .insert("salesforce_id".into(), json!("0035e00000Qx1AbAAJ"));
    let mut conor = contact(
        "usr_1002",
        "conor@example.com",
        "Conor",
        "O'Brien & Sons",
        "IE",
    );
    conor.signed_up_at = at(2024, 3, 1, 10, 0, 0);
    conor
        .custom
        .insert("salesforce_id".into(), json!("0035e00000Qx1AcAAJ"));
    let mut mae = contact("usr_1003", "mae@example.com", "Mae", "Jemison", "US");
    mae.phone = Some("+14155550100".into());
    mae.signed_up_at = at(2024, 3, 1, 11, 30, 0);
    mae.custom
        .insert("salesforce_id".into(), json!("0035e00000Qx1AdAAJ"));
    assert_eq!(contacts, vec![ada, conor, mae]);
}

fn soap(notifications: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">{notifications}</notifications></soapenv:Body></soapenv:Envelope>"#
    )
    .into_bytes()
}

fn notification(id: &str) -> String {
    format!(
        r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003{id}</sf:Id><sf:Email>a@example.com</sf:Email></sObject></Notification>"#
    )
}

const ORG: &str = "<OrganizationId>00D000000000001</OrganizationId>";

#[test]
fn when_salesforce_repeats_a_notification_id_then_the_first_is_kept() {
    let body = soap(&format!(
        "{ORG}{}{}{}",
        notification("n1"),
        notification("n2"),
        notification("n1")
    ));
    let payload = parse_default(
        Scheme::SalesforceOutbound,
        Some("application/soap+xml"),
        &body,
    )
    .unwrap();
    let keys: Vec<(&str, Option<&str>)> = payload
        .records
        .iter()
        .map(|r| (r.location.as_str(), r.dedupe_key.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("Notification[0]", Some("n1")),
            ("Notification[1]", Some("n2"))
        ]
    );
    assert_eq!(payload.ignored, 1);
}

#[test]
fn when_salesforce_message_is_malformed_then_the_location_is_exact() {
    let too_many: String = (0..101).map(|i| notification(&format!("n{i}"))).collect();
    let header = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            soap(&notification("n1")),
            "Envelope/Body/notifications",
            "no OrganizationId",
        ),
        (soap(ORG), "Envelope/Body/notifications", "no notifications"),
        (
            soap(&format!("{ORG}{too_many}")),
            "Envelope/Body/notifications",
            "more than 100 notifications",
        ),
        (
            soap(&format!("{ORG}<Notification><sObject/></Notification>")),
            "Notification[0]",
            "notification has no Id",
        ),
        (
            soap(&format!(
                "{ORG}{}<Notification><Id>n2</Id></Notification>",
                notification("n1")
            )),
            "Notification[1]",
            "notification has no sObject",
        ),
        (
            b"<Envelope><Header/></Envelope>".to_vec(),
            "Envelope",
            "no SOAP Body",
        ),
        (
            b"<root/>".to_vec(),
            "Envelope",
            "the root element is not a SOAP Envelope",
        ),
        (
            format!("{header}\n<!DOCTYPE e [<!ENTITY x \"y\">]><Envelope/>").into_bytes(),
            "byte 39",
            "DTDs are not accepted",
        ),
        (
            b"<Envelope><Body></Envelope>".to_vec(),
            "byte 16",
            "closing tag does not match the open element",
        ),
        (
            b"<Envelope><Body>".to_vec(),
            "byte 16",
            "the document ends inside an element",
        ),
        (
            b"<Envelope><Body><a>&bogus;</a></Body></Envelope>".to_vec(),
            "byte 19",
            "unknown entity reference",
        ),
        (
            b"<Envelope/><Envelope/>".to_vec(),
            "byte 11",
            "content after the root element",
        ),
        (
            b"<Envelope><Body x=></Body></Envelope>".to_vec(),
            "byte 10",
            "malformed attribute",
        ),
        (
            b"<Envelope><Body".to_vec(),
            "byte 10",
            "tag not closed: `>` not found before end of input",
        ),
    ];
    for (body, location, message) in cases {
        assert_eq!(
            malformed(Scheme::SalesforceOutbound, XML, &body),
            (location.to_owned(), message.to_owned()),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Pipedrive
// ---------------------------------------------------------------------------------------------

fn pipedrive_mapping() -> FieldMapping {
    mapping(json!({
        "external_id": "/custom_fields/9dc80c50d78a15643bfc4ca79d76156a73a1ca0e/value",
        "email": "/emails/0/value", "first_name": "/first_name", "last_name": "/last_name",
        "phone": "/phones/0/value", "company_id": "/org_id", "signed_up_at": "/add_time",
        "custom": {"pipedrive_id": "/id"}
    }))
}

#[test]
fn when_pipedrive_adds_a_person_then_data_maps_to_a_contact() {
    let payload = parse_default(
        Scheme::Pipedrive,
        JSON,
        &fixture("pipedrive_person_added_v2.json"),
    )
    .unwrap();
    assert_eq!(payload.ignored, 0);
    let [record] = payload.records.as_slice() else {
        panic!("one record")
    };
    assert_eq!(
        (record.location.as_str(), record.dedupe_key.as_deref()),
        ("/data", None)
    );
    let contact = pipedrive_mapping().apply(&record.value).unwrap();
    let mut expected = Contact::new("usr_312");
    expected.email = Some("ada@example.com".into());
    expected.first_name = Some("Ada".into());
    expected.last_name = Some("Lovelace".into());
    expected.phone = Some("+442079460958".into());
    expected.company = Some(Company::new("77"));
    expected.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    expected.custom.insert("pipedrive_id".into(), json!(312));
    assert_eq!(contact, expected);
}

#[test]
fn when_pipedrive_changes_a_person_then_it_is_ignored_unless_change_is_allowed() {
    let body = fixture("pipedrive_person_change_v2.json");
    assert_eq!(
        parse_default(Scheme::Pipedrive, JSON, &body).unwrap(),
        Payload {
            ignored: 1,
            ..Payload::default()
        }
    );
    let options = ParseOptions {
        pipedrive_actions: vec!["create".into(), "Change".into()],
    };
    let payload = parse(Scheme::Pipedrive, JSON, &body, &options).unwrap();
    let [record] = payload.records.as_slice() else {
        panic!("one record")
    };
    assert!(!record.signup, "a change is an update: no signup event");
    let contact = pipedrive_mapping().apply(&record.value).unwrap();
    assert_eq!(contact.email.as_deref(), Some("ada.lovelace@example.com"));
    assert_eq!(contact.last_name.as_deref(), Some("King"));
    assert_eq!(contact.phone, None);
}

#[test]
fn when_pipedrive_sends_v1_added_then_current_maps_to_a_contact() {
    let payload = parse_default(
        Scheme::Pipedrive,
        JSON,
        &fixture("pipedrive_person_added_v1.json"),
    )
    .unwrap();
    let [record] = payload.records.as_slice() else {
        panic!("one record")
    };
    assert_eq!(record.location, "/current");
    let mapping = mapping(json!({
        "external_id": "/9dc80c50d78a15643bfc4ca79d76156a73a1ca0e", "email": "/email/0/value",
        "first_name": "/first_name", "last_name": "/last_name", "phone": "/phone/0/value",
        "company_id": "/org_id", "signed_up_at": "/add_time"
    }));
    let mut expected = Contact::new("usr_313");
    expected.email = Some("grace@example.com".into());
    expected.first_name = Some("Grace".into());
    expected.last_name = Some("Hopper".into());
    expected.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    assert_eq!(mapping.apply(&record.value).unwrap(), expected);
}

#[test]
fn when_pipedrive_event_is_for_another_entity_then_it_is_ignored() {
    let body = br#"{"meta": {"action": "create", "entity": "deal", "entity_id": "9", "version": "2.0"}, "data": {"id": 9}, "previous": null}"#;
    assert_eq!(
        parse_default(Scheme::Pipedrive, JSON, body).unwrap(),
        Payload {
            ignored: 1,
            ..Payload::default()
        }
    );
}

#[test]
fn when_pipedrive_body_is_malformed_then_the_location_is_exact() {
    let cases: [(&[u8], &str, &str); 5] = [
        (br#"{"data": {"id": 1}}"#, "/meta", "no `meta` object"),
        (
            br#"{"meta": {"entity": "person"}, "data": {}}"#,
            "/meta/action",
            "no action string",
        ),
        (
            br#"{"meta": {"action": "create"}, "data": {}}"#,
            "/meta/entity",
            "no entity name string",
        ),
        (
            br#"{"meta": {"action": "create", "entity": "person"}, "data": [1]}"#,
            "/data",
            "the person must be an object, found an array",
        ),
        (
            br#"{"meta": {"action": "create", "entity": "person"}, "data": null}"#,
            "/data",
            "no person object in the event",
        ),
    ];
    for (body, location, message) in cases {
        assert_eq!(
            malformed(Scheme::Pipedrive, JSON, body),
            (location.to_owned(), message.to_owned()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
