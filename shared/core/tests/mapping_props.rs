//! Properties of the CRM field mapping and the contact's validation over generated records:
//! whatever the record, `apply` ends in a contact or in errors that name fields and never
//! quote a value; a contact it accepts is one Braze's validation accepts, survives the trip
//! through a parked job unchanged, and is already normalised.

use proptest::prelude::*;
use relay_clients::braze::validation::validate_attributes;
use relay_core::contact::Contact;
use relay_core::crm::FieldMapping;
use serde_json::{Map, Value, json};

/// Marks every generated personal value: a message holding it leaked the value.
const CANARY: &str = "zq7";

fn mapping() -> FieldMapping {
    serde_json::from_value(json!({
        "external_id": "/id", "email": "/email", "first_name": "/first", "last_name": "/last",
        "phone": "/phone", "country": "/country", "language": "/language", "time_zone": "/tz",
        "dob": "/dob", "company_id": "/company/id", "company_name": "/company/name",
        "company_plan": "/company/plan", "signed_up_at": "/created",
        "custom": {"plan": "/plan", "seats": "/seats", "tags": "/tags"}
    }))
    .expect("the mapping is valid")
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "zq7.{0,300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A value that is often what the field wants, sometimes anything.
fn field(good: &'static str) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        5 => good.prop_map(|text| Some(Value::from(format!("{CANARY}{text}")))),
        2 => any_json().prop_map(Some),
    ]
}

fn plain(good: &'static str) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        5 => good.prop_map(|text| Some(Value::from(text))),
        2 => any_json().prop_map(Some),
    ]
}

fn record() -> impl Strategy<Value = Value> {
    (
        (
            field("[A-Za-z0-9_-]{1,30}"),
            field("[a-z]{1,10}@example\\.(com|org)"),
            field("[A-Za-z ]{1,20}"),
            field("[A-Za-z ]{1,20}"),
            plain("\\+[1-9][0-9]{7,13}"),
            plain("[A-Z]{2}"),
            plain("[a-z]{2}"),
        ),
        (
            plain("(Europe/London|America/New_York|UTC|Mars/Olympus)"),
            plain("(19[0-9]{2}|20[0-2][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"),
            plain("[a-z0-9]{1,12}"),
            plain("20[0-2][0-9]-0[1-9]-1[0-9]T10:00:00Z"),
            any_json(),
        ),
    )
        .prop_map(
            |(
                (id, email, first, last, phone, country, language),
                (tz, dob, company, created, custom),
            )| {
                let mut record = Map::new();
                for (key, value) in [
                    ("id", id),
                    ("email", email),
                    ("first", first),
                    ("last", last),
                    ("phone", phone),
                    ("country", country),
                    ("language", language),
                    ("tz", tz),
                    ("dob", dob),
                    ("created", created),
                ] {
                    if let Some(value) = value {
                        record.insert(key.into(), value);
                    }
                }
                if let Some(company) = company {
                    record.insert(
                        "company".into(),
                        json!({"id": company, "name": "Acme", "plan": "pro"}),
                    );
                }
                record.insert("plan".into(), custom);
                record.insert("seats".into(), json!(5));
                Value::Object(record)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn when_a_record_maps_to_a_contact_then_braze_accepts_it_and_a_parked_job_keeps_it(
        record in record(),
    ) {
        if let Ok(contact) = mapping().apply(&record) {
            prop_assert!(contact.validate().is_empty());
            prop_assert_eq!(validate_attributes(&contact.to_braze()), vec![]);
            prop_assert_eq!(&contact.clone().normalised(), &contact, "normalised twice differs");
            let parked = serde_json::to_string(&contact).unwrap();
            let back: Contact = serde_json::from_str(&parked).unwrap();
            prop_assert_eq!(back, contact);
        }
    }

    #[test]
    fn when_a_record_is_refused_then_every_error_names_a_field_and_quotes_no_value(
        record in record(),
    ) {
        if let Err(errors) = mapping().apply(&record) {
            prop_assert!(!errors.is_empty());
            for error in errors {
                prop_assert!(!error.message.contains(CANARY), "{}", error.message);
                prop_assert!(!error.path.contains(CANARY), "{}", error.path);
                let field = error.path.split(['.', '[']).next().unwrap_or_default();
                prop_assert!(
                    ["external_id", "email", "first_name", "last_name", "phone", "country",
                     "language", "time_zone", "dob", "company", "signed_up_at", "custom"]
                        .contains(&field),
                    "{}", error.path
                );
            }
        }
    }

    #[test]
    fn when_a_contact_debug_prints_then_no_personal_value_shows(record in record()) {
        if let Ok(contact) = mapping().apply(&record) {
            let shown = format!("{contact:?}");
            prop_assert!(!shown.contains(CANARY), "{}", shown);
        }
    }
}
