//! Unit tests of the field mapping: pointer parsing, coercion of each field, error paths and
//! messages, HubSpot property names.

use chrono::TimeZone;
use serde_json::json;

use super::*;

fn pointer(raw: &str) -> Pointer {
    Pointer::parse(raw).unwrap()
}

fn mapping() -> FieldMapping {
    FieldMapping {
        external_id: pointer("/id"),
        email: Some(pointer("/email")),
        first_name: Some(pointer("/first")),
        last_name: None,
        phone: Some(pointer("/phone")),
        country: Some(pointer("/country")),
        language: None,
        time_zone: None,
        dob: None,
        company_id: Some(pointer("/company/id")),
        company_name: Some(pointer("/company/name")),
        company_plan: None,
        signed_up_at: Some(pointer("/created")),
        custom: BTreeMap::from([
            ("seats".to_owned(), pointer("/seats")),
            ("tags".to_owned(), pointer("/tags")),
        ]),
    }
}

fn errors(record: Value) -> Vec<(String, Rule, String)> {
    mapping()
        .apply(&record)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.path, e.rule, e.message))
        .collect()
}

#[test]
fn when_values_have_crm_types_then_they_are_coerced() {
    let contact = mapping()
        .apply(&json!({
            "id": 4711, "email": " ada@example.com ", "first": "Ada",
            "phone": "+44 20 7946 0958", "country": "gb",
            "company": {"id": 99, "name": "Acme"}, "created": "1700000000000",
            "seats": 5, "tags": ["a", "b"]
        }))
        .unwrap();
    assert_eq!(contact.external_id, "4711");
    assert_eq!(contact.email.as_deref(), Some("ada@example.com"));
    assert_eq!(contact.phone.as_deref(), Some("+442079460958"));
    assert_eq!(contact.country.as_deref(), Some("GB"));
    let company = contact.company.unwrap();
    assert_eq!(
        (company.id.as_deref(), company.name.as_deref()),
        (Some("99"), Some("Acme"))
    );
    assert_eq!(
        contact.signed_up_at,
        Some(Utc.with_ymd_and_hms(2023, 11, 14, 22, 13, 20).unwrap())
    );
    assert_eq!(
        contact.custom,
        json!({"seats": 5, "tags": ["a", "b"]})
            .as_object()
            .cloned()
            .unwrap()
    );
}

#[test]
fn when_signup_time_has_any_supported_form_then_it_is_read_as_utc() {
    let cases = [
        (json!("2024-03-01T10:15:00+01:00"), (2024, 3, 1, 9, 15, 0)),
        (json!("2024-03-01T09:15:00Z"), (2024, 3, 1, 9, 15, 0)),
        (json!("2024-03-01"), (2024, 3, 1, 0, 0, 0)),
        (json!("2024-03-01 09:15:00"), (2024, 3, 1, 9, 15, 0)),
        (json!(1709284500000_i64), (2024, 3, 1, 9, 15, 0)),
        (json!("1709284500000"), (2024, 3, 1, 9, 15, 0)),
    ];
    for (value, (y, mo, d, h, mi, s)) in cases {
        let expected = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        assert_eq!(read_time(&value), Ok(Some(expected)), "{value}");
    }
    assert_eq!(read_time(&json!("")), Ok(None));
    assert_eq!(read_time(&json!("yesterday")), Err(Rule::Date));
    assert_eq!(read_time(&json!("2024-02-30")), Err(Rule::Date));
    assert_eq!(read_time(&json!(1.5)), Err(Rule::Date));
    assert_eq!(read_time(&json!(true)), Err(Rule::WrongType));
}

#[test]
fn when_external_id_is_missing_null_or_blank_then_it_is_required() {
    for record in [json!({}), json!({"id": null}), json!({"id": "  "})] {
        assert_eq!(
            errors(record),
            vec![(
                "external_id".into(),
                Rule::Required,
                "external_id is required: nothing at /id".into()
            )]
        );
    }
}

#[test]
fn when_values_have_wrong_types_then_each_is_reported_once_without_the_value() {
    let found = errors(json!({
        "id": 1.5, "email": 42, "first": true, "phone": ["+14155550100"],
        "country": {"code": "GB"}, "company": {"id": false}, "created": "someday"
    }));
    assert_eq!(
        found,
        vec![
            (
                "external_id".into(),
                Rule::WrongType,
                "external_id (from /id) has the wrong type: expected a string or an integer".into()
            ),
            (
                "email".into(),
                Rule::WrongType,
                "email (from /email) has the wrong type: expected a string".into()
            ),
            (
                "first_name".into(),
                Rule::WrongType,
                "first_name (from /first) has the wrong type: expected a string".into()
            ),
            (
                "phone".into(),
                Rule::WrongType,
                "phone (from /phone) has the wrong type: expected a string or an integer".into()
            ),
            (
                "country".into(),
                Rule::WrongType,
                "country (from /country) has the wrong type: expected a string".into()
            ),
            (
                "company.id".into(),
                Rule::WrongType,
                "company.id (from /company/id) has the wrong type: expected a string or an \
                 integer"
                    .into()
            ),
            (
                "signed_up_at".into(),
                Rule::Date,
                "signed_up_at (from /created) is not a date: expected RFC 3339, YYYY-MM-DD, \
                 YYYY-MM-DD HH:MM:SS (UTC) or epoch milliseconds"
                    .into()
            ),
        ]
    );
}

#[test]
fn when_values_break_contact_rules_then_messages_name_field_and_pointer() {
    let found = errors(json!({
        "id": "u-1", "email": "ada-at-example", "phone": "0415 555", "seats": {"n": 1}
    }));
    assert_eq!(
        found,
        vec![
            (
                "email".into(),
                Rule::Email,
                "email (from /email) is not a valid email address".into()
            ),
            (
                "phone".into(),
                Rule::Phone,
                format!("phone (from /phone) {}", Rule::Phone.describe())
            ),
            (
                "custom.seats".into(),
                Rule::WrongType,
                "custom.seats (from /seats) has the wrong type".into()
            ),
        ]
    );
    for (_, _, message) in &found {
        assert!(
            !message.contains("ada-at") && !message.contains("0415"),
            "{message}"
        );
    }
}

#[test]
fn when_company_has_a_name_but_no_id_then_it_is_kept_without_an_id() {
    let contact = mapping()
        .apply(&json!({"id": "u-1", "company": {"id": "", "name": "Acme"}}))
        .unwrap();
    let company = contact.company.expect("the name is kept");
    assert_eq!((company.id, company.name.as_deref()), (None, Some("Acme")));
}

#[test]
fn when_optional_fields_are_missing_or_empty_then_they_stay_unset() {
    let contact = mapping()
        .apply(&json!({"id": " u-1 ", "email": "", "first": null, "company": {"id": " "}, "seats": null}))
        .unwrap();
    assert_eq!(contact, Contact::new("u-1"));
}

#[test]
fn when_listing_property_names_then_first_tokens_are_unescaped_deduped_and_sorted() {
    let mut mapping = mapping();
    mapping.external_id = pointer("/app~1user~0id");
    mapping.custom.insert("whole".into(), pointer(""));
    assert_eq!(
        mapping.property_names(),
        vec![
            "app/user~id",
            "company",
            "country",
            "created",
            "email",
            "first",
            "phone",
            "seats",
            "tags"
        ]
    );
}
