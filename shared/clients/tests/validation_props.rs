//! Properties of Braze's validation over generated values: nesting is refused exactly when it
//! passes the depth limit (once, at the value's path), strings and arrays exactly past their
//! limits, whatever the depth they sit at; ids exactly when empty, holding a control
//! character or too long; no message ever quotes the value.

use proptest::prelude::*;
use relay_clients::braze::validation::{
    MAX_ARRAY_ITEMS, MAX_EXTERNAL_ID_BYTES, MAX_NESTING_DEPTH, MAX_STRING_CHARS, Rule,
    check_external_id, validate_custom_attribute,
};
use serde_json::{Value, json};

/// `leaf` inside `depth` levels, alternating objects and arrays (`{"k": [ {"k": ..} ]}`).
fn nest(leaf: Value, depth: usize) -> Value {
    (0..depth).fold(leaf, |inner, level| {
        if level % 2 == 0 {
            json!([inner])
        } else {
            json!({ "k": inner })
        }
    })
}

fn rules(key: &str, value: &Value) -> Vec<Rule> {
    validate_custom_attribute(key, value)
        .into_iter()
        .map(|error| error.rule)
        .collect()
}

/// Any JSON value with canary strings, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "zq7.{0,300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z$]{1,6}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn when_a_value_nests_past_the_limit_then_it_is_refused_once_at_its_path(
        depth in 0..(MAX_NESTING_DEPTH * 3),
    ) {
        let refused = rules("plan", &nest(json!("a"), depth));
        let too_deep = refused.iter().filter(|rule| **rule == Rule::NestedTooDeep).count();
        prop_assert_eq!(too_deep, usize::from(depth > MAX_NESTING_DEPTH), "depth {}", depth);
        if depth > MAX_NESTING_DEPTH {
            prop_assert_eq!(refused, vec![Rule::NestedTooDeep]);
        }
    }

    #[test]
    fn when_a_string_or_array_is_past_its_limit_at_any_depth_then_it_is_refused(
        chars in (MAX_STRING_CHARS - 3)..(MAX_STRING_CHARS + 3),
        items in (MAX_ARRAY_ITEMS - 2)..(MAX_ARRAY_ITEMS + 2),
        depth in 0..(MAX_NESTING_DEPTH - 2),
    ) {
        let text = "é".repeat(chars);
        let refused = rules("plan", &nest(Value::from(text), depth));
        prop_assert_eq!(refused.contains(&Rule::StringTooLong), chars > MAX_STRING_CHARS);
        // Inside an object: an array inside an array is reported as such, not looked into.
        let list = json!({ "list": vec![json!(1); items] });
        let refused = rules("plan", &nest(list, depth));
        prop_assert_eq!(refused.contains(&Rule::ArrayTooLong), items > MAX_ARRAY_ITEMS);
    }

    #[test]
    fn when_any_value_is_validated_then_paths_stay_under_the_key_and_no_value_is_quoted(
        value in any_json(),
    ) {
        for error in validate_custom_attribute("plan", &value) {
            prop_assert!(error.path.starts_with("custom.plan"), "{}", error.path);
            prop_assert!(!error.message.contains("zq7"), "{}", error.message);
        }
    }

    #[test]
    fn when_an_external_id_is_checked_then_it_is_refused_exactly_when_a_rule_says_so(
        id in prop_oneof![".{0,40}", "[a-z]{980,990}", Just(String::new())],
    ) {
        let expected = if id.is_empty() {
            Err(Rule::Required)
        } else if id.chars().any(char::is_control) {
            Err(Rule::ControlCharacter)
        } else if id.len() > MAX_EXTERNAL_ID_BYTES {
            Err(Rule::ExternalIdTooLong)
        } else {
            Ok(())
        };
        prop_assert_eq!(check_external_id(&id), expected);
    }
}
