//! Standard Webhooks

use super::*;

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
        id: Some("acme".into()),
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
