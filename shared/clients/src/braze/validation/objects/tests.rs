//! Tests of whole objects and custom attribute values.

use super::*;
use crate::braze::models::UserAlias;
use crate::braze::validation::{
    MAX_ARRAY_ITEMS, MAX_NESTED_BYTES, MAX_NESTING_DEPTH, MAX_STRING_CHARS,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

fn rules(errors: &[ValidationError]) -> Vec<Rule> {
    errors.iter().map(|e| e.rule).collect()
}

#[test]
fn when_each_attribute_rule_is_met_or_broken_then_the_table_holds() {
    let long = "x".repeat(256);
    let max = "x".repeat(255);
    let many: Vec<Value> = (0..501).map(|i| json!(i)).collect();
    let enough: Vec<Value> = (0..500).map(|i| json!(i)).collect();
    // 500 strings of 250 characters: every string and array within its limit, the whole
    // over 100 KB.
    let blob = vec![json!("y".repeat(250)); MAX_ARRAY_ITEMS];
    let big_object = json!({ "blob": blob });
    let big_objects = json!([{ "blob": blob }]);
    #[rustfmt::skip]
    let table: Vec<(&str, &str, Value, Option<Rule>)> = vec![
        ("email ok", "email", json!("ada@example.com"), None),
        ("email plus tag ok", "email", json!("ada+news@mail.example.co.uk"), None),
        ("email without at", "email", json!("ada.example.com"), Some(Rule::Email)),
        ("email without tld", "email", json!("ada@localhost"), Some(Rule::Email)),
        ("email display name", "email", json!("Ada <ada@example.com>"), Some(Rule::Email)),
        ("email removed", "email", Value::Null, None),
        ("email as number", "email", json!(42), Some(Rule::WrongType)),
        ("phone ok", "phone", json!("+14155550100"), None),
        ("phone shortest", "phone", json!("+12"), None),
        ("phone longest", "phone", json!("+123456789012345"), None),
        ("phone too long", "phone", json!("+1234567890123456"), Some(Rule::Phone)),
        ("phone too short", "phone", json!("+1"), Some(Rule::Phone)),
        ("phone without plus", "phone", json!("14155550100"), Some(Rule::Phone)),
        ("phone leading zero", "phone", json!("+04155550100"), Some(Rule::Phone)),
        ("phone with spaces", "phone", json!("+1 415 555 0100"), Some(Rule::Phone)),
        ("country ok", "country", json!("DE"), None),
        ("country lower case", "country", json!("de"), Some(Rule::Country)),
        ("country alpha-3", "country", json!("DEU"), Some(Rule::Country)),
        ("country unassigned", "country", json!("XX"), Some(Rule::Country)),
        ("language ok", "language", json!("pt"), None),
        ("language upper case", "language", json!("EN"), Some(Rule::Language)),
        ("language alpha-3", "language", json!("eng"), Some(Rule::Language)),
        ("language unassigned", "language", json!("qq"), Some(Rule::Language)),
        ("time zone ok", "time_zone", json!("America/New_York"), None),
        ("time zone utc ok", "time_zone", json!("UTC"), None),
        ("time zone offset", "time_zone", json!("+02:00"), Some(Rule::TimeZone)),
        ("time zone made up", "time_zone", json!("Mars/Olympus_Mons"), Some(Rule::TimeZone)),
        ("dob ok", "dob", json!("1990-02-28"), None),
        ("dob leap day ok", "dob", json!("2000-02-29"), None),
        ("dob not a leap year", "dob", json!("1999-02-29"), Some(Rule::Date)),
        ("dob unpadded", "dob", json!("1990-2-28"), Some(Rule::Date)),
        ("dob other format", "dob", json!("28/02/1990"), Some(Rule::Date)),
        ("dob with time", "dob", json!("1990-02-28T00:00:00Z"), Some(Rule::Date)),
        ("gender ok", "gender", json!("P"), None),
        ("gender lower case ok", "gender", json!("f"), None),
        ("gender word", "gender", json!("female"), Some(Rule::Gender)),
        ("email_subscribe ok", "email_subscribe", json!("opted_in"), None),
        ("push_subscribe ok", "push_subscribe", json!("unsubscribed"), None),
        ("subscription unknown", "email_subscribe", json!("opted-in"), Some(Rule::SubscriptionState)),
        ("image_url ok", "image_url", json!("https://cdn.example.com/a.png"), None),
        ("image_url not http", "image_url", json!("ftp://cdn.example.com/a.png"), Some(Rule::Url)),
        ("first_name at limit", "first_name", json!(max), None),
        ("first_name too long", "first_name", json!(long), Some(Rule::StringTooLong)),
        ("home_city too long", "home_city", json!(long), Some(Rule::StringTooLong)),
        ("custom string at limit", "plan", json!(max), None),
        ("custom string too long", "plan", json!(long), Some(Rule::StringTooLong)),
        ("custom key at limit", &max, json!(1), None),
        ("custom key too long", &long, json!(1), Some(Rule::KeyTooLong)),
        ("custom key with dollar", "$plan", json!(1), Some(Rule::KeyStartsWithDollar)),
        ("custom key empty", "", json!(1), Some(Rule::Required)),
        ("custom remove", "plan", Value::Null, None),
        ("array at limit", "tags", Value::Array(enough), None),
        ("array too long", "tags", Value::Array(many), Some(Rule::ArrayTooLong)),
        ("array item too long", "tags", json!(["ok", long]), Some(Rule::StringTooLong)),
        ("nested object ok", "address", json!({"city": "Berlin", "zip": "10115"}), None),
        ("nested object too large", "address", big_object, Some(Rule::NestedTooLarge)),
        ("array of objects too large", "pets", big_objects, Some(Rule::NestedTooLarge)),
        ("inc ok", "logins", json!({"inc": 1}), None),
        ("inc not a number", "logins", json!({"inc": "1"}), Some(Rule::Operator)),
        ("add ok", "tags", json!({"add": ["a", "b"]}), None),
        ("add of objects", "tags", json!({"add": [{"a": 1}]}), Some(Rule::Operator)),
        ("remove item too long", "tags", json!({"remove": [long]}), Some(Rule::StringTooLong)),
        ("$add ok", "pets", json!({"$add": [{"name": "Rex"}]}), None),
        ("$update not an array", "pets", json!({"$update": {"name": "Rex"}}), Some(Rule::Operator)),
    ];
    for (name, key, value, expected) in table {
        let errors = validate_attribute(key, &value);
        assert_eq!(
            rules(&errors),
            expected.into_iter().collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn when_an_attributes_object_is_checked_then_paths_name_the_fields() {
    let mut attrs = UserAttributes::new(UserIdentifier::external_id("u-1"))
        .with_custom("plan", "x".repeat(300))
        .with_custom("email", "dup@example.com")
        .with_custom("weird key.with dots", "y".repeat(300));
    attrs.email = Update::Set("not-an-email".into());
    attrs.country = Update::Set("XX".into());
    attrs.dob = Update::Remove;
    let errors = validate_attributes(&attrs);
    let found: Vec<(&str, Rule)> = errors.iter().map(|e| (e.path.as_str(), e.rule)).collect();
    assert_eq!(
        found,
        vec![
            ("email", Rule::Email),
            ("country", Rule::Country),
            ("custom.email", Rule::KeyReserved),
            ("custom.plan", Rule::StringTooLong),
            ("custom[\"weird key.with dots\"]", Rule::StringTooLong),
        ]
    );
    let prefixed = errors[3].clone().under("attributes[3]");
    assert_eq!(prefixed.path, "attributes[3].custom.plan");
    assert!(
        prefixed.message.starts_with("attributes[3].custom.plan "),
        "{}",
        prefixed.message
    );
    assert!(
        !errors.iter().any(|e| e.message.contains("not-an-email")),
        "messages quote no value"
    );
}

#[test]
fn when_identifiers_are_checked_then_empty_and_oversized_ids_fail() {
    #[rustfmt::skip]
    let table: Vec<(&str, UserIdentifier, Vec<Rule>)> = vec![
        ("external id ok", UserIdentifier::external_id("u-1"), vec![]),
        ("external id at 987 bytes", UserIdentifier::external_id("é".repeat(493) + "x"), vec![]),
        ("external id over 987 bytes", UserIdentifier::external_id("é".repeat(494)), vec![Rule::ExternalIdTooLong]),
        ("external id empty", UserIdentifier::external_id(""), vec![Rule::Required]),
        ("braze id empty", UserIdentifier::braze_id(""), vec![Rule::Required]),
        ("alias ok", UserIdentifier::alias("n", "l"), vec![]),
        ("alias empty", UserIdentifier::UserAlias(UserAlias::new("", "")), vec![Rule::Required, Rule::Required]),
    ];
    for (name, id, expected) in table {
        assert_eq!(rules(&validate_identifier(&id)), expected, "{name}");
    }
}

#[test]
fn when_events_and_purchases_are_checked_then_their_rules_apply() {
    let time = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let id = UserIdentifier::external_id("u-1");
    let mut event = Event::new(id.clone(), "signed_up", time);
    assert!(validate_event(&event).is_empty());
    event.name = String::new();
    event.properties = Some(
        json!({"$source": "crm", "note": "z".repeat(256)})
            .as_object()
            .unwrap()
            .clone(),
    );
    let found: Vec<(String, Rule)> = validate_event(&event)
        .into_iter()
        .map(|e| (e.path, e.rule))
        .collect();
    assert_eq!(
        found,
        vec![
            ("name".to_owned(), Rule::Required),
            ("properties.$source".to_owned(), Rule::KeyStartsWithDollar),
            ("properties.note".to_owned(), Rule::StringTooLong),
        ]
    );

    let mut purchase = Purchase {
        id,
        product_id: "seat".into(),
        currency: "USD".into(),
        price: 12.5,
        quantity: Some(3),
        time,
        properties: None,
        app_id: None,
        update_existing_only: None,
    };
    assert!(validate_purchase(&purchase).is_empty());
    purchase.currency = "usd".into();
    purchase.price = f64::NAN;
    purchase.quantity = Some(101);
    assert_eq!(
        rules(&validate_purchase(&purchase)),
        vec![Rule::Currency, Rule::Price, Rule::Quantity]
    );
}

/// Each error as its path and rule.
type Found<'e> = Vec<(&'e str, Rule)>;

fn found(errors: &[ValidationError]) -> Found<'_> {
    errors.iter().map(|e| (e.path.as_str(), e.rule)).collect()
}

/// `levels` objects, one inside the other, around a number: `{"a": {"a": 1}}` for 2.
fn nested_objects(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!({ "a": inner }))
}

/// `levels` arrays, one inside the other, around a number: `[[1]]` for 2.
fn nested_arrays(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn when_custom_values_take_each_shape_then_braze_rules_apply_at_every_depth() {
    let long = "x".repeat(256);
    let scalars = |n: usize| Value::Array((0..n).map(|i| json!(i)).collect());
    let objects = |n: usize| Value::Array((0..n).map(|i| json!({ "n": i })).collect());
    #[rustfmt::skip]
    let table: Vec<(&str, Value, Found)> = vec![
        ("501 arrays", Value::Array(vec![json!([1]); 501]),
            vec![("custom.x", Rule::ArrayTooLong), ("custom.x", Rule::ArrayOfArrays)]),
        ("array of arrays", json!([[1], [2]]), vec![("custom.x", Rule::ArrayOfArrays)]),
        ("array of empty arrays", json!([[]]), vec![("custom.x", Rule::ArrayOfArrays)]),
        ("arrays nested 100 deep", nested_arrays(100), vec![("custom.x", Rule::NestedTooDeep)]),
        ("arrays nested 3 deep", nested_arrays(3), vec![("custom.x", Rule::ArrayOfArrays)]),
        ("500 scalars", scalars(500), vec![]),
        ("500 objects", objects(500), vec![]),
        ("501 objects", objects(501), vec![("custom.x", Rule::ArrayTooLong)]),
        ("scalars and objects", json!([1, {"a": 1}]), vec![("custom.x", Rule::MixedArray)]),
        ("objects and null", json!([{"a": 1}, null]), vec![("custom.x", Rule::MixedArray)]),
        ("objects and an array", json!([{"a": 1}, [1]]), vec![("custom.x", Rule::ArrayOfArrays)]),
        ("array of arrays inside an array of objects", json!([{"a": [[1]]}]),
            vec![("custom.x[0].a", Rule::ArrayOfArrays)]),
        ("501 items inside an object", json!({"tags": scalars(501)}),
            vec![("custom.x.tags", Rule::ArrayTooLong)]),
        ("501 objects two levels down", json!({"a": {"pets": objects(501)}}),
            vec![("custom.x.a.pets", Rule::ArrayTooLong)]),
        ("mixed array inside an object", json!({"a": {"b": [1, {"c": 2}]}}),
            vec![("custom.x.a.b", Rule::MixedArray)]),
        ("long string inside an object", json!({"bio": long}),
            vec![("custom.x.bio", Rule::StringTooLong)]),
        ("long string inside an array of objects", json!([{"bio": long}]),
            vec![("custom.x[0].bio", Rule::StringTooLong)]),
        ("long string in an array inside an object", json!({"tags": ["ok", long]}),
            vec![("custom.x.tags[1]", Rule::StringTooLong)]),
        ("nested date", json!({"d": {"$time": "2024-05-01T00:00:00Z"}}), vec![]),
        ("objects nested 50 deep", nested_objects(50), vec![]),
        ("objects nested 51 deep", nested_objects(51), vec![("custom.x", Rule::NestedTooDeep)]),
        ("arrays of objects nested 51 deep", (0..51).fold(json!(1), |inner, level| {
            if level % 2 == 0 { json!({ "a": inner }) } else { json!([inner]) }
        }), vec![("custom.x", Rule::NestedTooDeep)]),
        ("$add of 500 objects", json!({"$add": objects(500)}), vec![]),
        ("$add of 501 objects", json!({"$add": objects(501)}), vec![("custom.x.$add", Rule::ArrayTooLong)]),
        ("$add of scalars", json!({"$add": [1, 2]}), vec![("custom.x.$add", Rule::Operator)]),
        ("$remove of arrays", json!({"$remove": [[1]]}), vec![("custom.x.$remove", Rule::Operator)]),
        ("$update holding an array of arrays", json!({"$update": [{"a": [[1]]}]}),
            vec![("custom.x.$update[0].a", Rule::ArrayOfArrays)]),
        ("add of 501 scalars", json!({"add": scalars(501)}), vec![("custom.x.add", Rule::ArrayTooLong)]),
        ("add of arrays", json!({"add": [[1]]}), vec![("custom.x.add", Rule::Operator)]),
    ];
    for (name, value, expected) in table {
        let errors = validate_attribute("x", &value);
        assert_eq!(found(&errors), expected, "{name}");
    }
}

#[test]
fn when_an_event_property_nests_arrays_then_the_same_rules_apply() {
    let time = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let mut event = Event::new(UserIdentifier::external_id("u-1"), "ordered", time);
    let properties = json!({"items": [[1, 2]], "deep": nested_objects(60)});
    event.properties = properties.as_object().cloned();
    assert_eq!(
        found(&validate_event(&event)),
        vec![
            ("properties.deep", Rule::NestedTooDeep),
            ("properties.items", Rule::ArrayOfArrays),
        ]
    );
}

/// SplitMix64: a tiny seeded generator, so every run checks the same values and a failure
/// can be replayed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn arbitrary_scalar(rng: &mut Seeded) -> Value {
    match rng.below(6) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(1000)),
        3 => json!("x".repeat(250 + rng.below(10))),
        _ => json!("tag"),
    }
}

/// Any JSON value over the keys `a`, `b`, `c` (never an operator), with now and then an
/// array near the 500-item limit, a value near 100 KB, arrays of arrays, mixed arrays and
/// long strings.
fn arbitrary_value(rng: &mut Seeded, depth: usize) -> Value {
    let leaf = depth > 6 || rng.below(3) == 0;
    if leaf {
        return arbitrary_scalar(rng);
    }
    if rng.below(2) == 0 {
        let object = (0..rng.below(4))
            .map(|i| {
                (
                    ["a", "b", "c"][i].to_owned(),
                    arbitrary_value(rng, depth + 1),
                )
            })
            .collect();
        return Value::Object(object);
    }
    let long = rng.below(8) == 0;
    let len = if long {
        495 + rng.below(11)
    } else {
        rng.below(4)
    };
    let items = match rng.below(4) {
        0 => (0..len).map(|_| arbitrary_scalar(rng)).collect(),
        1 => (0..len).map(|i| json!({ "n": i })).collect(),
        // About 100 KB of strings: on either side of the size limit.
        2 if long => (0..len)
            .map(|_| json!("y".repeat(190 + rng.below(20))))
            .collect(),
        3 if long => (0..len).map(|i| json!([i])).collect(),
        _ => (0..len).map(|_| arbitrary_value(rng, depth + 1)).collect(),
    };
    Value::Array(items)
}

/// Wraps `value` in `levels` single-key objects or single-item arrays, chosen at random.
fn wrapped(rng: &mut Seeded, value: Value, levels: usize) -> Value {
    (0..levels).fold(value, |inner, _| {
        if rng.below(2) == 0 {
            json!({ "a": inner })
        } else {
            json!([inner])
        }
    })
}

/// Containers from the value down to its deepest leaf.
fn depth_of(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth_of).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether every array (at any depth) has at most 500 items, no array item and is all
/// scalars or all objects, and every string has at most 255 characters.
fn shapes_hold(value: &Value) -> bool {
    match value {
        Value::String(text) => text.chars().count() <= MAX_STRING_CHARS,
        Value::Array(items) => {
            let objects = items.iter().filter(|v| v.is_object()).count();
            items.len() <= MAX_ARRAY_ITEMS
                && !items.iter().any(Value::is_array)
                && (objects == 0 || objects == items.len())
                && items.iter().all(shapes_hold)
        }
        Value::Object(map) => map.values().all(shapes_hold),
        _ => true,
    }
}

#[test]
fn when_random_values_are_validated_then_accepted_means_within_every_limit() {
    let mut rng = Seeded(0x5EED);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..3_000 {
        let value = arbitrary_value(&mut rng, 0);
        let value = if rng.below(4) == 0 {
            let levels = 44 + rng.below(12);
            wrapped(&mut rng, value, levels)
        } else {
            value
        };
        let within = depth_of(&value) <= MAX_NESTING_DEPTH
            && shapes_hold(&value)
            && serialized_len(&value) <= MAX_NESTED_BYTES;
        let errors = validate_attribute("x", &value);
        assert_eq!(
            errors.is_empty(),
            within,
            "case {case}: {:?} for {}",
            found(&errors),
            serde_json::to_string(&value)
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect::<String>()
        );
        if within {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // Both sides of the property were exercised.
    assert!(
        accepted > 300 && refused > 300,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn when_identifiers_hold_control_characters_then_they_are_refused_without_quoting_them() {
    let controls = [
        "sec\0ret",
        "sec\rret",
        "sec\nret",
        "sec\tret",
        "sec\u{1b}ret",
        "sec\u{7f}ret",
        "sec\u{85}ret",
        "sec\u{9f}ret",
        "\nsecret",
        "secret\0",
    ];
    for id in controls {
        assert_eq!(check_external_id(id), Err(Rule::ControlCharacter), "{id:?}");
        #[rustfmt::skip]
        let table: Vec<(UserIdentifier, Found)> = vec![
            (UserIdentifier::external_id(id), vec![("external_id", Rule::ControlCharacter)]),
            (UserIdentifier::braze_id(id), vec![("braze_id", Rule::ControlCharacter)]),
            (UserIdentifier::alias(id, "crm"), vec![("user_alias.alias_name", Rule::ControlCharacter)]),
            (UserIdentifier::alias("crm", id), vec![("user_alias.alias_label", Rule::ControlCharacter)]),
        ];
        for (identifier, expected) in table {
            let errors = validate_identifier(&identifier);
            assert_eq!(found(&errors), expected, "{id:?} in {identifier:?}");
            for error in &errors {
                assert!(!error.message.contains("sec"), "{}", error.message);
                assert!(
                    error.message.contains("control character"),
                    "{}",
                    error.message
                );
            }
        }
    }
    for id in ["u-1", "u 1", "ü-ß", "a\u{a0}b", "😀"] {
        assert_eq!(check_external_id(id), Ok(()), "{id:?}");
        assert!(
            validate_identifier(&UserIdentifier::braze_id(id)).is_empty(),
            "{id:?}"
        );
        assert!(
            validate_identifier(&UserIdentifier::alias(id, id)).is_empty(),
            "{id:?}"
        );
    }
}
