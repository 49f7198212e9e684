//! Properties over generated lines: extra fields never matter, nothing is ever sent as
//! `null`, and a numeric `external_id` is the same id as its text.

use proptest::prelude::*;
use relay_clients::userflow::AttributeValue;
use serde_json::{Map, Value, json};

use super::super::{ExportField, ExportMapping, MappedLine};
use super::{REALISTIC, sent};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Names that are no field the mapping reads (at top level or among custom attributes).
fn extra_name() -> impl Strategy<Value = String> {
    ".{0,16}".prop_map(|name| format!("x_{name}"))
}

/// Every standard field plus a few custom attributes, so that every extra is truly extra.
fn wide_mapping() -> ExportMapping {
    let mut document = Map::new();
    for field in ExportField::ALL {
        document.insert(field.as_str().to_owned(), field.as_str().into());
    }
    document.insert("name".into(), "name".into());
    for custom in ["plan", "seats", "tags", "company"] {
        document.insert(custom.into(), format!("custom_attributes.{custom}").into());
    }
    ExportMapping::from_json(&json!({ "attributes": document }).to_string()).unwrap()
}

/// What a generated field is: left out, `null`, or a value.
#[derive(Debug, Clone)]
enum Presence {
    Missing,
    Null,
    Present(Value),
}

fn presence(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Presence> {
    prop_oneof![
        Just(Presence::Missing),
        Just(Presence::Null),
        value.prop_map(Presence::Present),
    ]
}

fn put(object: &mut Map<String, Value>, key: &str, presence: Presence) {
    match presence {
        Presence::Missing => {}
        Presence::Null => {
            object.insert(key.into(), Value::Null);
        }
        Presence::Present(value) => {
            object.insert(key.into(), value);
        }
    }
}

proptest! {
    #[test]
    fn when_a_line_has_arbitrary_extra_fields_then_the_result_is_unchanged(
        top in prop::collection::vec((extra_name(), any_json()), 0..6),
        custom in prop::collection::vec((extra_name(), any_json()), 0..6),
    ) {
        let mapping = wide_mapping();
        let mut line: Map<String, Value> = serde_json::from_str(REALISTIC).unwrap();
        let expected = mapping.map_line(REALISTIC.as_bytes()).unwrap();
        for (name, value) in top {
            line.insert(name, value);
        }
        let attributes = line["custom_attributes"].as_object_mut().unwrap();
        for (name, value) in custom {
            attributes.insert(name, value);
        }
        let text = serde_json::to_string(&line).unwrap();
        prop_assert_eq!(mapping.map_line(text.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn when_fields_are_missing_or_null_then_nothing_is_ever_sent_as_null(
        fields in prop::collection::vec(presence(any_json()), ExportField::COUNT),
        custom in prop::collection::vec(presence(any_json()), 4),
    ) {
        let mapping = wide_mapping();
        let mut line = Map::new();
        line.insert("external_id".into(), "u1".into());
        let mut absent = Vec::new();
        for (field, presence) in ExportField::ALL.into_iter().zip(fields) {
            // Values of the checked fields are kept valid: this property is about absence.
            let presence = match (field, presence) {
                (ExportField::Email, Presence::Present(_)) => Presence::Present("a@b.co".into()),
                (ExportField::CreatedAt, Presence::Present(_)) => {
                    Presence::Present("2020-07-10 15:00:00.000 UTC".into())
                }
                (_, other) => other,
            };
            if !matches!(presence, Presence::Present(_)) {
                absent.push(field.as_str().to_owned());
            }
            put(&mut line, field.as_str(), presence);
        }
        let mut attributes = Map::new();
        for (name, presence) in ["plan", "seats", "tags", "company"].into_iter().zip(custom) {
            if !matches!(presence, Presence::Present(_)) {
                absent.push(name.to_owned());
            }
            put(&mut attributes, name, presence);
        }
        line.insert("custom_attributes".into(), attributes.into());
        let text = serde_json::to_string(&line).unwrap();
        let Ok(MappedLine::Upsert { body, .. }) = mapping.map_line(text.as_bytes()) else {
            panic!("expected an upsert for {text}");
        };
        let sent = sent(&body).attributes.unwrap_or_default();
        for (name, value) in &sent {
            prop_assert_ne!(value, &AttributeValue::Plain(Value::Null), "{} in {}", name, text);
        }
        for name in absent {
            prop_assert!(!sent.contains_key(&name), "{} sent from {}", name, text);
        }
    }

    #[test]
    fn when_external_id_is_a_number_then_it_maps_like_its_text(id in any::<i64>()) {
        let mapping = ExportMapping::default();
        let number = format!(r#"{{"external_id":{id},"email":"a@b.co"}}"#);
        let text = format!(r#"{{"external_id":"{id}","email":"a@b.co"}}"#);
        let from_number = mapping.map_line(number.as_bytes()).unwrap();
        prop_assert_eq!(&from_number, &mapping.map_line(text.as_bytes()).unwrap());
        let MappedLine::Upsert { body, .. } = from_number else {
            panic!("expected an upsert");
        };
        prop_assert_eq!(sent(&body).id, id.to_string());
    }

    #[test]
    fn when_external_id_is_a_large_unsigned_number_then_it_maps_like_its_text(id in any::<u64>()) {
        let mapping = ExportMapping::default();
        let number = format!(r#"{{"external_id":{id}}}"#);
        let text = format!(r#"{{"external_id":"{id}"}}"#);
        prop_assert_eq!(
            mapping.map_line(number.as_bytes()).unwrap(),
            mapping.map_line(text.as_bytes()).unwrap()
        );
    }
}
