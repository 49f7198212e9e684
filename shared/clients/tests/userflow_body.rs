//! `UserUpsertBodyWriter`: the body it writes is what the equivalent `UserUpsert`
//! serialises to, and it refuses what `send_user_upsert` refuses.

use std::collections::BTreeMap;

use proptest::prelude::*;
use relay_clients::userflow::{AttributeValue, UserUpsert, UserUpsertBodyWriter, UserflowError};
use serde_json::{Number, Value, json};

/// What `send_user_upsert` would send for `id` and `attributes`.
fn serialised(id: &str, attributes: &BTreeMap<String, Value>) -> Vec<u8> {
    let mut upsert = UserUpsert::new(id);
    if !attributes.is_empty() {
        upsert.attributes = Some(
            attributes
                .iter()
                .map(|(name, value)| (name.clone(), AttributeValue::Plain(value.clone())))
                .collect(),
        );
    }
    serde_json::to_vec(&upsert).unwrap()
}

fn refused_reason(error: UserflowError) -> &'static str {
    match error {
        UserflowError::InvalidRequest { reason } => reason,
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

/// Any text, escapes and astral characters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,12}",
        any::<String>(),
        Just("quote \" backslash \\ tab \t nul \u{0} emoji 😀".to_owned()),
    ]
}

/// A plain value Userflow reads as written: a scalar or a list of scalars.
fn plain_value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<bool>().prop_map(Value::Bool),
    ];
    prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..4).prop_map(Value::Array),
    ]
    .prop_filter("null is never written", |value| !value.is_null())
}

proptest! {
    #[test]
    fn when_attributes_are_written_in_order_then_the_body_is_the_serialised_upsert(
        id in "[^\\p{Cc}]{1,40}",
        attributes in prop::collection::btree_map(text(), plain_value(), 0..8),
    ) {
        let mut writer = UserUpsertBodyWriter::new(&id).unwrap();
        for (name, value) in &attributes {
            match value {
                Value::String(text) => writer.text(name, text),
                other => writer.value(name, other).unwrap(),
            }
        }
        let body = writer.finish();
        let expected = serialised(&id, &attributes);
        prop_assert_eq!(
            String::from_utf8_lossy(body.json()),
            String::from_utf8_lossy(&expected)
        );
    }

    #[test]
    fn when_a_value_or_id_is_checked_then_it_is_refused_exactly_when_userflow_would_misread_it(
        id in prop_oneof!["[a-z]{1,8}", ".{0,8}"],
        value in any_value(),
    ) {
        let misread = match &value {
            Value::Object(_) => true,
            Value::Array(items) => items.iter().any(|item| item.is_array() || item.is_object()),
            _ => false,
        };
        match UserUpsertBodyWriter::new(&id) {
            Ok(mut writer) => {
                prop_assert!(!id.is_empty() && !id.chars().any(char::is_control));
                prop_assert_eq!(writer.value("attribute", &value).is_err(), misread);
            }
            Err(error) => {
                prop_assert!(id.is_empty() || id.chars().any(char::is_control));
                prop_assert!(!refused_reason(error).contains(&id) || id.is_empty());
            }
        }
    }
}

/// Any JSON value, objects and lists of lists included.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[test]
fn when_numbers_and_booleans_are_written_as_text_then_they_are_strings() {
    let mut writer = UserUpsertBodyWriter::new("u").unwrap();
    writer.text("a", 12);
    writer.text("b", true);
    writer.text("c", Number::from_f64(4.5).unwrap());
    let body: Value = serde_json::from_slice(writer.finish().json()).unwrap();
    assert_eq!(
        body,
        json!({"id": "u", "attributes": {"a": "12", "b": "true", "c": "4.5"}})
    );
}

#[test]
fn when_no_attribute_is_written_then_the_body_holds_only_the_id() {
    let body = UserUpsertBodyWriter::new("crm-42").unwrap().finish();
    assert_eq!(&body.json()[..], br#"{"id":"crm-42"}"#);
}

#[test]
fn when_the_id_is_empty_or_holds_a_control_character_then_the_writer_refuses_it() {
    for (id, reason) in [
        ("", "user id is empty"),
        ("crm\n42", "user id contains a control character"),
    ] {
        let error = UserUpsertBodyWriter::new(id).unwrap_err();
        assert_eq!(refused_reason(error), reason, "{id:?}");
    }
}

#[test]
fn when_a_value_would_be_misread_then_it_is_refused_and_nothing_is_written() {
    let mut writer = UserUpsertBodyWriter::new("u").unwrap();
    for value in [json!({"name": "Acme"}), json!([1, [2]]), json!([{"id": 1}])] {
        let error = writer.value("company", &value).unwrap_err();
        assert!(refused_reason(error).contains("misread"), "{value}");
    }
    writer.value("tags", &json!(["a", 1, true])).unwrap();
    let body: Value = serde_json::from_slice(writer.finish().json()).unwrap();
    assert_eq!(
        body,
        json!({"id": "u", "attributes": {"tags": ["a", 1, true]}})
    );
}

#[test]
#[should_panic(expected = "ascending order")]
fn when_a_name_is_written_twice_then_the_writer_panics() {
    let mut writer = UserUpsertBodyWriter::new("u").unwrap();
    writer.text("email", "a@example.com");
    writer.text("email", "b@example.com");
}

#[test]
#[should_panic(expected = "ascending order")]
fn when_names_are_out_of_order_then_the_writer_panics() {
    let mut writer = UserUpsertBodyWriter::new("u").unwrap();
    writer.text("name", "Ada");
    writer.text("email", "a@example.com");
}
