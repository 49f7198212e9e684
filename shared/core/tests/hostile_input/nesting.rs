//! JSON nested 10,000 deep: every JSON reader refuses it with its own error.

use relay_clients::braze::validation::{Rule, validate_custom_attribute};
use relay_core::crm::payload::{ParseOptions, parse};
use relay_core::crm::{PayloadError, Scheme};
use relay_core::export::line::{ExportMapping, LineError, MappedLine};
use serde_json::Value;

use super::{DEEP, nested_arrays, nested_objects, on_worker_stack};

#[test]
fn when_a_webhook_body_nests_10000_deep_then_every_json_scheme_answers_malformed() {
    on_worker_stack(|| {
        for scheme in [Scheme::StandardWebhooks, Scheme::Hubspot, Scheme::Pipedrive] {
            for body in [
                nested_arrays(DEEP),
                nested_objects(DEEP),
                format!(r#"{{"external_id":"x","custom":{}}}"#, nested_arrays(DEEP)),
            ] {
                let result = parse(
                    scheme,
                    Some("application/json"),
                    body.as_bytes(),
                    &ParseOptions::default(),
                );
                match result {
                    Err(PayloadError::Malformed { location, message }) => {
                        assert!(message.contains("recursion limit"), "{scheme:?}: {message}");
                        assert!(location.starts_with("line 1, column "), "{location}");
                    }
                    other => panic!("{scheme:?} read a 10,000-deep body: {other:?}"),
                }
            }
        }
    });
}

#[test]
fn when_an_export_line_nests_10000_deep_then_it_is_skipped_or_refused_without_overflow() {
    on_worker_stack(|| {
        let mapping = ExportMapping::from_json(
            r#"{"attributes": {"plan": "custom_attributes.plan", "email": "email"}}"#,
        )
        .unwrap();
        let deep = nested_arrays(DEEP);
        // A line that is no object is refused before anything nested is read.
        assert!(matches!(
            mapping.map_line(deep.as_bytes()),
            Err(LineError::NotAnObject { shape: "an array" })
        ));
        let line = |rest: &str| format!(r#"{{"external_id":"u1",{rest}}}"#);
        // Skipped values are skipped without recursion, however deep: the user is read.
        for skipped in [
            format!(r#""devices":{deep}"#),
            format!(r#""custom_attributes":{{"other":{deep}}}"#),
        ] {
            match mapping.map_line(line(&skipped).as_bytes()) {
                Ok(MappedLine::Upsert { dropped, .. }) => assert!(dropped.is_empty()),
                other => panic!("{other:?}"),
            }
        }
        // A standard field is read as a scalar: the array is its wrong shape.
        assert!(matches!(
            mapping.map_line(line(&format!(r#""email":{deep}"#)).as_bytes()),
            Err(LineError::BadEmail { shape: "an array" })
        ));
        // A mapped custom attribute is materialised: sonic-rs's depth limit refuses it.
        let custom = line(&format!(r#""custom_attributes":{{"plan":{deep}}}"#));
        match mapping.map_line(custom.as_bytes()) {
            Err(error @ LineError::InvalidJson { .. }) => {
                assert_eq!(error.reason(), "invalid_json")
            }
            other => panic!("a 10,000-deep attribute was read: {other:?}"),
        }
        // Within the parser's limit, a nested custom attribute is only dropped.
        let line = format!(
            r#"{{"external_id":"u1","custom_attributes":{{"plan":[{}]}}}}"#,
            nested_arrays(100)
        );
        match mapping.map_line(line.as_bytes()) {
            Ok(MappedLine::Upsert { dropped, .. }) => assert_eq!(dropped, ["plan"]),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn when_a_custom_attribute_nests_10000_deep_then_braze_validation_refuses_it_once() {
    on_worker_stack(|| {
        // Built without a parser (a parser stops at 128 levels): the check must not recurse
        // through it, and the value is taken apart without recursion either.
        let mut value = Value::from(1);
        for _ in 0..DEEP {
            value = Value::Array(vec![value]);
        }
        let errors = validate_custom_attribute("plan", &value);
        let rules: Vec<Rule> = errors.iter().map(|e| e.rule).collect();
        assert_eq!(rules, [Rule::NestedTooDeep]);
        assert_eq!(errors[0].path, "custom.plan");
        dismantle(value);
    });
}

/// Drops a deep value level by level (serde_json's own drop recurses).
fn dismantle(mut value: Value) {
    while let Value::Array(mut items) = value {
        value = items.pop().unwrap_or(Value::Null);
    }
}
