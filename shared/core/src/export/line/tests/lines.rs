//! Lines through `map_line`: what is sent, omitted, dropped and rejected.

use relay_clients::braze::validation::Rule;
use serde_json::{Value, json};

use super::super::{BrazeId, ExportMapping, ExternalIdProblem, LineError, MappedLine};
use super::{REALISTIC, attributes, mapping_of, rejected, upsert};

/// A mapping reading every standard field under its own name, plus `name`.
fn every_field() -> ExportMapping {
    mapping_of(
        r#"{"attributes": {"email": "email", "name": "name", "signed_up_at": "created_at",
            "first_name": "first_name", "last_name": "last_name", "phone": "phone",
            "country": "country", "language": "language", "time_zone": "time_zone",
            "dob": "dob", "gender": "gender", "home_city": "home_city",
            "email_subscribe": "email_subscribe", "push_subscribe": "push_subscribe"}}"#,
    )
}

#[test]
fn when_a_realistic_line_meets_the_defaults_then_email_name_and_signed_up_at_are_sent() {
    let (upsert, dropped, braze_id) = upsert(&ExportMapping::default(), REALISTIC);
    assert_eq!(upsert.id, "A8i3mkd99");
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[
            ("email", json!("jane@example.com")),
            ("name", json!("Jane Doe")),
            ("signed_up_at", json!("2020-07-10T15:00:00.000Z")),
        ]))
    );
    assert_eq!(upsert.memberships, None);
    assert!(dropped.is_empty(), "{dropped:?}");
    assert_eq!(
        braze_id,
        Some(BrazeId::Packed(
            hex::decode("5fbd99bac125ca40511f2cb1")
                .unwrap()
                .try_into()
                .unwrap()
        ))
    );
}

#[test]
fn when_custom_attributes_have_mixed_types_then_plain_values_pass_and_objects_are_dropped() {
    let mapping = ExportMapping::default()
        .with_custom_attributes([
            "plan", "seats", "trial", "score", "tags", "company", "teams", "renewal", "nothing",
            "absent",
        ])
        .unwrap();
    let (upsert, dropped, _) = upsert(&mapping, REALISTIC);
    let sent = upsert.attributes.unwrap();
    let expected = attributes(&[
        ("email", json!("jane@example.com")),
        ("name", json!("Jane Doe")),
        ("signed_up_at", json!("2020-07-10T15:00:00.000Z")),
        ("plan", json!("pro")),
        // A number stored as a string stays a string.
        ("seats", json!("12")),
        ("trial", json!(true)),
        ("score", json!(4.5)),
        ("tags", json!(["a", "b"])),
        ("renewal", json!("2024-01-01T00:00:00.000Z")),
    ]);
    assert_eq!(sent, expected);
    assert_eq!(dropped, ["company", "teams"]);
}

#[test]
fn when_every_standard_field_is_mapped_then_each_is_sent_as_text_and_time_zone_unchanged() {
    let (upsert, dropped, _) = upsert(&every_field(), REALISTIC);
    let sent = upsert.attributes.unwrap();
    assert_eq!(sent.len(), 14, "{sent:?}");
    assert_eq!(
        sent["time_zone"],
        json!("Eastern Time (US & Canada)").into()
    );
    assert_eq!(sent["phone"], json!("+442086661124").into());
    assert_eq!(sent["email_subscribe"], json!("opted_in").into());
    assert_eq!(sent["dob"], json!("1980-12-21").into());
    assert!(dropped.is_empty());
}

#[test]
fn when_a_standard_field_is_a_number_or_boolean_then_it_is_sent_as_its_text() {
    let line = r#"{"external_id":"u1","phone":442086661124,"home_city":true,"dob":null}"#;
    let (upsert, _, _) = upsert(&every_field(), line);
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[
            ("home_city", json!("true")),
            ("phone", json!("442086661124")),
        ]))
    );
}

#[test]
fn when_a_standard_field_is_an_object_then_it_is_dropped_and_named() {
    let line = r#"{"external_id":"u1","country":{"code":"GB"},"language":["en"]}"#;
    let (upsert, dropped, _) = upsert(&every_field(), line);
    assert_eq!(upsert.attributes, None);
    assert_eq!(dropped, ["country", "language"]);
}

#[test]
fn when_user_aliases_is_an_object_or_array_then_the_line_decodes_the_same() {
    let as_object = REALISTIC.replace(
        r#""user_aliases":[{"alias_name":"user_123","alias_label":"amplitude_id"}]"#,
        r#""user_aliases":{"alias_name":"user_123","alias_label":"amplitude_id"}"#,
    );
    assert_ne!(as_object, REALISTIC);
    assert_eq!(
        every_field().map_line(as_object.as_bytes()).unwrap(),
        every_field().map_line(REALISTIC.as_bytes()).unwrap()
    );
}

#[test]
fn when_external_id_is_a_number_then_its_text_is_the_user_id() {
    let (upsert, _, braze_id) = upsert(
        &ExportMapping::default(),
        r#"{"external_id":12345,"braze_id":987}"#,
    );
    assert_eq!(upsert.id, "12345");
    assert_eq!(braze_id, Some(BrazeId::Text("987".into())));
}

#[test]
fn when_external_id_is_missing_or_null_then_the_user_is_skipped_with_its_braze_id() {
    for line in [
        r#"{"braze_id":"b1","email":"a@b.co"}"#,
        r#"{"external_id":null,"braze_id":"b1","created_at":"garbage"}"#,
    ] {
        assert_eq!(
            ExportMapping::default().map_line(line.as_bytes()).unwrap(),
            MappedLine::NoExternalId {
                braze_id: Some("b1".into())
            },
            "{line}"
        );
    }
}

#[test]
fn when_only_one_name_part_is_present_then_the_name_is_that_part_alone() {
    let mapping = ExportMapping::default();
    let first = upsert(&mapping, r#"{"external_id":"u","first_name":"Jane"}"#).0;
    assert_eq!(
        first.attributes,
        Some(attributes(&[("name", json!("Jane"))]))
    );
    let last = upsert(
        &mapping,
        r#"{"external_id":"u","first_name":null,"last_name":"Doe"}"#,
    )
    .0;
    assert_eq!(last.attributes, Some(attributes(&[("name", json!("Doe"))])));
}

#[test]
fn when_fields_are_missing_null_or_blank_then_no_attribute_is_sent() {
    let mapping = ExportMapping::default();
    for line in [
        r#"{"external_id":"u"}"#,
        r#"{"external_id":"u","email":null,"first_name":null,"last_name":null,"created_at":null}"#,
        r#"{"external_id":"u","email":"","first_name":" ","created_at":""}"#,
    ] {
        let (upsert, dropped, braze_id) = upsert(&mapping, line);
        assert_eq!(upsert.attributes, None, "{line}");
        assert!(dropped.is_empty());
        assert_eq!(braze_id, None);
    }
}

#[test]
fn when_strings_hold_escapes_then_they_are_unescaped() {
    let line = r#"{"external_id":"u\u00e9","first_name":"J\u00e9r\u00f4me","last_name":"O\"Neil"}"#;
    let (upsert, _, _) = upsert(&ExportMapping::default(), line);
    assert_eq!(upsert.id, "ué");
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[("name", json!("Jérôme O\"Neil"))]))
    );
}

#[test]
fn when_created_at_is_iso_with_offset_then_signed_up_at_is_utc() {
    let line = r#"{"external_id":"u","created_at":"2020-07-10T17:00:00+02:00"}"#;
    let (upsert, _, _) = upsert(&ExportMapping::default(), line);
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[(
            "signed_up_at",
            json!("2020-07-10T15:00:00.000Z")
        )]))
    );
}

#[test]
fn when_custom_attributes_is_not_an_object_then_mapped_custom_attributes_are_omitted() {
    let mapping = ExportMapping::default()
        .with_custom_attributes(["plan"])
        .unwrap();
    for shape in ["null", "\"pro\"", "[\"plan\"]", "3"] {
        let line = format!(r#"{{"external_id":"u","custom_attributes":{shape}}}"#);
        let (upsert, dropped, _) = upsert(&mapping, &line);
        assert_eq!(upsert.attributes, None, "{line}");
        assert!(dropped.is_empty());
    }
}

#[test]
fn when_a_field_is_not_mapped_then_its_bad_value_is_not_looked_at() {
    let mapping = mapping_of(r#"{"attributes": {"plan": "custom_attributes.plan"}}"#);
    let line = r#"{"external_id":"u","email":42,"created_at":"yesterday","custom_attributes":{"plan":"pro"}}"#;
    let (upsert, _, _) = upsert(&mapping, line);
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[("plan", json!("pro"))]))
    );
}

#[test]
fn when_a_line_ends_with_a_carriage_return_then_it_is_accepted() {
    let (upsert, _, _) = upsert(&ExportMapping::default(), "{\"external_id\":\"u\"}\r\n");
    assert_eq!(upsert.id, "u");
}

#[test]
fn when_a_line_is_not_json_then_invalid_json_with_the_column() {
    let error = rejected(&ExportMapping::default(), r#"{"external_id":"u","email":"#);
    assert_eq!(error.reason(), "invalid_json");
    assert!(
        matches!(error, LineError::InvalidJson { column: 27, .. }),
        "{error:?}"
    );
    let trailing = rejected(&ExportMapping::default(), r#"{"external_id":"u"} x"#);
    assert!(
        matches!(trailing, LineError::InvalidJson { column: 21, .. }),
        "{trailing:?}"
    );
    assert_eq!(
        rejected(&ExportMapping::default(), "").reason(),
        "invalid_json"
    );
    assert_eq!(
        rejected(&ExportMapping::default(), "{\"a\":\"\u{1}\"}").reason(),
        "invalid_json"
    );
}

#[test]
fn when_a_line_is_json_but_not_an_object_then_not_an_object_with_its_shape() {
    for (line, shape) in [
        ("[{\"external_id\":\"u\"}]", "an array"),
        ("\"u\"", "a string"),
        ("12", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ] {
        let error = rejected(&ExportMapping::default(), line);
        assert_eq!(error.reason(), "not_an_object");
        assert!(
            matches!(error, LineError::NotAnObject { shape: s } if s == shape),
            "{line}: {error:?}"
        );
    }
}

#[test]
fn when_external_id_is_an_object_array_or_boolean_then_bad_external_id() {
    for (value, shape) in [
        ("{}", "an object"),
        ("[\"u\"]", "an array"),
        ("true", "a boolean"),
    ] {
        let error = rejected(
            &ExportMapping::default(),
            &format!(r#"{{"external_id":{value}}}"#),
        );
        assert_eq!(error.reason(), "bad_external_id");
        assert!(
            matches!(
                error,
                LineError::BadExternalId { problem: ExternalIdProblem::WrongType(s) } if s == shape
            ),
            "{value}: {error:?}"
        );
    }
}

#[test]
fn when_external_id_breaks_a_braze_rule_then_bad_external_id_names_the_rule() {
    let too_long = "x".repeat(988);
    for (id, rule) in [
        ("", Rule::Required),
        (too_long.as_str(), Rule::ExternalIdTooLong),
        ("a\\tb", Rule::ControlCharacter),
        ("a\\u0000", Rule::ControlCharacter),
    ] {
        let error = rejected(
            &ExportMapping::default(),
            &format!(r#"{{"external_id":"{id}"}}"#),
        );
        assert!(
            matches!(
                error,
                LineError::BadExternalId { problem: ExternalIdProblem::Rule(r) } if r == rule
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains(rule.as_str()), "{error}");
    }
    let longest = "x".repeat(987);
    let (upsert, _, _) = upsert(
        &ExportMapping::default(),
        &format!(r#"{{"external_id":"{longest}"}}"#),
    );
    assert_eq!(upsert.id.len(), 987);
}

#[test]
fn when_email_is_not_a_string_then_bad_email_without_its_value() {
    for (value, shape) in [
        ("42", "a number"),
        ("{\"a\":1}", "an object"),
        ("false", "a boolean"),
    ] {
        let error = rejected(
            &ExportMapping::default(),
            &format!(r#"{{"external_id":"u","email":{value}}}"#),
        );
        assert_eq!(error.reason(), "bad_email");
        assert_eq!(error.to_string(), format!("email is {shape}, not a string"));
    }
}

#[test]
fn when_email_syntax_is_odd_then_it_is_sent_as_is() {
    let (upsert, _, _) = upsert(
        &ExportMapping::default(),
        r#"{"external_id":"u","email":"not an email"}"#,
    );
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[("email", json!("not an email"))]))
    );
}

#[test]
fn when_created_at_is_no_known_format_then_bad_created_at_quoting_it() {
    let error = rejected(
        &ExportMapping::default(),
        r#"{"external_id":"u","created_at":"10/07/2020"}"#,
    );
    assert_eq!(error.reason(), "bad_created_at");
    assert!(error.to_string().contains("`10/07/2020`"), "{error}");
    let number = rejected(
        &ExportMapping::default(),
        r#"{"external_id":"u","created_at":1594393200}"#,
    );
    assert!(
        matches!(&number, LineError::BadCreatedAt { found } if found == "a number"),
        "{number:?}"
    );
}

#[test]
fn when_mapped_then_the_body_holds_no_null() {
    let Ok(MappedLine::Upsert { body, .. }) = every_field().map_line(REALISTIC.as_bytes()) else {
        panic!("expected an upsert");
    };
    let body: Value = serde_json::from_slice(body.json()).unwrap();
    assert_eq!(body["id"], "A8i3mkd99");
    let sent = body["attributes"].as_object().unwrap();
    assert!(sent.values().all(|v| !v.is_null()), "{body}");
    assert_eq!(sent["name"], Value::from("Jane Doe"));
}

#[test]
fn when_two_attributes_read_the_same_source_then_both_get_its_value() {
    let mapping = ExportMapping::from_json(
        r#"{"attributes": {
            "signed_up_at": "created_at", "created": "created_at",
            "plan": "custom_attributes.plan", "tier": "custom_attributes.plan"
        }}"#,
    )
    .unwrap();
    let (upsert, dropped, _) = upsert(&mapping, REALISTIC);
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[
            ("created", json!("2020-07-10T15:00:00.000Z")),
            ("plan", json!("pro")),
            ("signed_up_at", json!("2020-07-10T15:00:00.000Z")),
            ("tier", json!("pro")),
        ]))
    );
    assert!(dropped.is_empty(), "{dropped:?}");
}

#[test]
fn when_custom_names_are_long_or_share_a_length_then_each_is_found() {
    let long = "a".repeat(70);
    let longer = "b".repeat(90);
    let mapping = ExportMapping::new(Default::default())
        .with_custom_attributes([long.as_str(), longer.as_str(), "tier", "plan"])
        .unwrap();
    let line = format!(
        r#"{{"external_id":"u1","custom_attributes":{{"{long}":1,"{longer}":2,"{}":3,"tier":"x","plan":"y","seat":9}}}}"#,
        "c".repeat(80)
    );
    let (upsert, _, _) = upsert(&mapping, &line);
    assert_eq!(
        upsert.attributes,
        Some(attributes(&[
            (long.as_str(), json!(1)),
            (longer.as_str(), json!(2)),
            ("plan", json!("y")),
            ("tier", json!("x")),
        ]))
    );
}
