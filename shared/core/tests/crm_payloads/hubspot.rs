//! HubSpot

use super::*;

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
        id: Some("98765".into()),
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
        errors[4].message,
        format!("country (from /country) {}", Rule::Country.describe())
    );
    for error in &errors {
        for value in ["not an email", "12", "Britain", "Acme", "tuesday"] {
            assert!(!error.message.contains(value), "{}", error.message);
        }
    }
}
