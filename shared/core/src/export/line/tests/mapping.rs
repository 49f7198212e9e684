//! The mapping settings: defaults, the JSON document, the shortcut list, their errors, and
//! what an export must request.

use crate::env::{ConfigError, Env};

use super::super::mapping::{CUSTOM_PREFIX, NameLengths};
use super::super::{
    CUSTOM_ATTRIBUTES_VARIABLE, ExportField, ExportMapping, MAPPING_VARIABLE, MappingError, Source,
};

fn from_env(pairs: &[(&str, &str)]) -> Result<ExportMapping, ConfigError> {
    ExportMapping::from_env(&Env::from_pairs(pairs))
}

/// The [`MappingError`] a setting was refused with, and the variable it names.
fn mapping_error(error: &ConfigError) -> (&str, &MappingError) {
    let cause = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<MappingError>())
        .unwrap_or_else(|| panic!("expected a MappingError cause: {error:?}"));
    (error.variable(), cause)
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn when_nothing_is_set_then_email_name_and_signed_up_at_are_mapped() {
    let mapping = from_env(&[]).unwrap();
    let attributes: Vec<_> = mapping.attributes().collect();
    assert_eq!(
        attributes,
        [
            ("email", &Source::Field(ExportField::Email)),
            ("name", &Source::Name),
            ("signed_up_at", &Source::Field(ExportField::CreatedAt)),
        ]
    );
    assert_eq!(mapping, ExportMapping::default());
}

#[test]
fn when_defaults_then_the_export_requests_ids_and_the_sources_only() {
    let mapping = ExportMapping::default();
    assert_eq!(
        mapping.fields_to_export(),
        owned(&[
            "external_id",
            "braze_id",
            "email",
            "first_name",
            "last_name",
            "created_at"
        ])
    );
    assert!(mapping.custom_attributes_to_export().is_empty());
}

#[test]
fn when_export_custom_attributes_is_set_then_they_are_added_to_the_defaults() {
    let mapping = from_env(&[(CUSTOM_ATTRIBUTES_VARIABLE, " seats, plan,,")]).unwrap();
    let attributes: Vec<_> = mapping.attributes().map(|(name, _)| name).collect();
    assert_eq!(
        attributes,
        ["email", "name", "plan", "seats", "signed_up_at"]
    );
    assert_eq!(
        mapping.attributes().find(|(name, _)| *name == "plan"),
        Some(("plan", &Source::Custom("plan".into())))
    );
    assert_eq!(
        mapping.custom_attributes_to_export(),
        owned(&["plan", "seats"])
    );
    assert!(
        !mapping
            .fields_to_export()
            .contains(&"custom_attributes".to_owned()),
        "naming custom_attributes would export all of them"
    );
}

#[test]
fn when_the_mapping_document_is_set_then_it_replaces_the_defaults() {
    let document = r#"{"attributes": {"email": "email", "name": "name",
        "signed_up_at": "created_at", "country": "country", "plan": "custom_attributes.plan"}}"#;
    let mapping = from_env(&[(MAPPING_VARIABLE, document)]).unwrap();
    assert_eq!(
        mapping.fields_to_export(),
        owned(&[
            "external_id",
            "braze_id",
            "email",
            "first_name",
            "last_name",
            "country",
            "created_at",
        ])
    );
    let only_plan = from_env(&[(
        MAPPING_VARIABLE,
        r#"{"attributes": {"tier": "custom_attributes.plan"}}"#,
    )])
    .unwrap();
    assert_eq!(
        only_plan.attributes().collect::<Vec<_>>(),
        [("tier", &Source::Custom("plan".into()))]
    );
    assert_eq!(
        only_plan.fields_to_export(),
        owned(&["external_id", "braze_id"])
    );
}

#[test]
fn when_both_settings_are_set_then_the_list_adds_to_the_document() {
    let mapping = from_env(&[
        (MAPPING_VARIABLE, r#"{"attributes": {"email": "email"}}"#),
        (CUSTOM_ATTRIBUTES_VARIABLE, "plan"),
    ])
    .unwrap();
    assert_eq!(
        mapping
            .attributes()
            .map(|(name, _)| name)
            .collect::<Vec<_>>(),
        ["email", "plan"]
    );
}

#[test]
fn when_a_source_is_unknown_then_the_error_names_the_variable_and_the_path() {
    let error = from_env(&[(
        MAPPING_VARIABLE,
        r#"{"attributes": {"email": "email", "plan": "custom.plan"}}"#,
    )])
    .unwrap_err();
    let (variable, cause) = mapping_error(&error);
    assert_eq!(variable, MAPPING_VARIABLE);
    assert_eq!(cause.path, "attributes.plan");
    assert!(
        cause.problem.contains("unknown source `custom.plan`"),
        "{cause}"
    );
    assert!(
        error
            .to_string()
            .starts_with("EXPORT_USERFLOW_MAPPING: at `attributes.plan`: "),
        "{error}"
    );
}

#[test]
fn when_a_source_is_not_a_string_then_the_error_names_its_path() {
    let error = ExportMapping::from_json(r#"{"attributes": {"seats": 5}}"#).unwrap_err();
    assert_eq!(error.path, "attributes.seats");
}

#[test]
fn when_a_custom_source_names_no_attribute_then_the_error_names_its_path() {
    let error =
        ExportMapping::from_json(&format!(r#"{{"attributes": {{"x": "{CUSTOM_PREFIX}"}}}}"#))
            .unwrap_err();
    assert_eq!(error.path, "attributes.x");
    assert!(
        error.problem.contains("names no custom attribute"),
        "{error}"
    );
}

#[test]
fn when_the_document_has_an_unknown_key_or_no_attributes_then_it_is_refused() {
    let unknown = ExportMapping::from_json(r#"{"attributes": {}, "extra": 1}"#).unwrap_err();
    assert!(
        unknown.problem.contains("unknown field `extra`"),
        "{unknown}"
    );
    let missing = ExportMapping::from_json(r#"{}"#).unwrap_err();
    assert!(
        missing.problem.contains("missing field `attributes`"),
        "{missing}"
    );
    let not_object = ExportMapping::from_json(r#"{"attributes": ["email"]}"#).unwrap_err();
    assert_eq!(not_object.path, "attributes");
}

#[test]
fn when_the_document_is_not_json_then_it_is_refused() {
    let error = from_env(&[(MAPPING_VARIABLE, "{attributes: }")]).unwrap_err();
    let (variable, cause) = mapping_error(&error);
    assert_eq!(variable, MAPPING_VARIABLE);
    assert!(cause.problem.contains("line 1"), "{cause}");
}

#[test]
fn when_an_attribute_name_is_empty_then_it_is_refused() {
    let error = ExportMapping::from_json(r#"{"attributes": {"": "email"}}"#).unwrap_err();
    assert_eq!(error.path, "attributes");
}

#[test]
fn when_a_listed_custom_attribute_is_already_mapped_otherwise_then_the_error_names_it() {
    let error = from_env(&[(CUSTOM_ATTRIBUTES_VARIABLE, "plan,email")]).unwrap_err();
    let (variable, cause) = mapping_error(&error);
    assert_eq!(variable, CUSTOM_ATTRIBUTES_VARIABLE);
    assert_eq!(cause.path, "email");
    assert!(
        cause.problem.contains("already mapped from `email`"),
        "{cause}"
    );
}

#[test]
fn when_a_listed_custom_attribute_is_already_mapped_the_same_then_it_is_accepted() {
    let mapping = from_env(&[
        (
            MAPPING_VARIABLE,
            r#"{"attributes": {"plan": "custom_attributes.plan"}}"#,
        ),
        (CUSTOM_ATTRIBUTES_VARIABLE, "plan"),
    ])
    .unwrap();
    assert_eq!(mapping.custom_attributes_to_export(), owned(&["plan"]));
}

#[test]
fn when_more_than_500_custom_attributes_are_mapped_then_it_is_refused() {
    let names: Vec<String> = (0..501).map(|i| format!("a{i}")).collect();
    let error = from_env(&[(CUSTOM_ATTRIBUTES_VARIABLE, &names.join(","))]).unwrap_err();
    assert_eq!(error.variable(), CUSTOM_ATTRIBUTES_VARIABLE);
    assert!(error.to_string().contains("501"), "{error}");
    let fits = from_env(&[(CUSTOM_ATTRIBUTES_VARIABLE, &names[..500].join(","))]).unwrap();
    assert_eq!(fits.custom_attributes_to_export().len(), 500);
}

#[test]
fn when_a_source_is_written_out_then_it_parses_back() {
    for source in ExportField::ALL
        .map(Source::Field)
        .into_iter()
        .chain([Source::Name, Source::Custom("a.b".into())])
    {
        assert_eq!(source.to_string().parse::<Source>(), Ok(source.clone()));
    }
}

#[test]
fn when_a_standard_field_name_is_looked_up_then_it_is_the_field_of_that_name() {
    for field in ExportField::ALL {
        assert_eq!(ExportField::from_name(field.as_str()), Some(field));
    }
    assert_eq!(ExportField::from_name("external_id"), None);
    assert_eq!(ExportField::from_name("Email"), None);
}

#[test]
fn when_the_keys_acted_on_are_known_then_only_their_lengths_may_match() {
    let default = ExportMapping::default().needs.top_lengths;
    // external_id, braze_id, email, first_name, last_name, created_at.
    for key in [
        "external_id",
        "braze_id",
        "email",
        "first_name",
        "last_name",
        "created_at",
    ] {
        assert!(default.may_hold(key.as_bytes()), "{key}");
    }
    for key in ["dob", "apps", "gender", "devices", "custom_attributes"] {
        assert!(!default.may_hold(key.as_bytes()), "{key}");
    }
    let with_custom = ExportMapping::default()
        .with_custom_attributes(["plan"])
        .unwrap()
        .needs;
    assert!(with_custom.top_lengths.may_hold(b"custom_attributes"));
    assert!(with_custom.custom_lengths.may_hold(b"tier"));
    assert!(!with_custom.custom_lengths.may_hold(b"seats"));
}

#[test]
fn when_names_are_63_bytes_or_longer_then_they_share_one_length() {
    let long = "x".repeat(70);
    let lengths = NameLengths::of(["ab", long.as_str()]);
    assert!(lengths.may_hold(b"cd"));
    assert!(lengths.may_hold("y".repeat(63).as_bytes()));
    assert!(lengths.may_hold("y".repeat(200).as_bytes()));
    assert!(!lengths.may_hold(b"abc"));
    assert!(!lengths.may_hold("y".repeat(62).as_bytes()));
}
