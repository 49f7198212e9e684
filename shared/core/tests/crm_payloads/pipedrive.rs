//! Pipedrive

use super::*;

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
