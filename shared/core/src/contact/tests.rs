//! Unit tests of the contact: normalisation, validation and the Braze and Userflow payloads.

use super::*;
use chrono::TimeZone;
use serde_json::json;

fn full() -> Contact {
    let mut contact = Contact::new("u-1");
    contact.email = Some("ada@example.com".into());
    contact.first_name = Some("Ada".into());
    contact.last_name = Some("Lovelace".into());
    contact.phone = Some("+14155550100".into());
    contact.country = Some("GB".into());
    contact.language = Some("en".into());
    contact.time_zone = Some("Europe/London".into());
    contact.dob = Some("1815-12-10".into());
    contact.company = Some(Company {
        id: Some("acme".into()),
        name: Some("Acme".into()),
        plan: Some("pro".into()),
    });
    contact.signed_up_at = Some(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap());
    contact.custom.insert("seats".into(), json!(5));
    contact
}

#[test]
fn when_contact_is_complete_then_it_validates() {
    assert_eq!(full().validate(), vec![]);
}

#[test]
fn when_fields_are_malformed_then_each_error_names_its_field() {
    let mut contact = full();
    contact.external_id = String::new();
    contact.email = Some("not-an-email".into());
    contact.phone = Some("0415".into());
    contact.country = Some("Britain".into());
    contact.dob = Some("1815-13-10".into());
    contact.company = Some(Company::new(""));
    contact.custom.insert("company_id".into(), json!("x"));
    contact.custom.insert("nested".into(), json!({"a": 1}));
    let paths: Vec<(String, Rule)> = contact
        .validate()
        .into_iter()
        .map(|e| (e.path, e.rule))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("external_id".into(), Rule::Required),
            ("email".into(), Rule::Email),
            ("phone".into(), Rule::Phone),
            ("country".into(), Rule::Country),
            ("dob".into(), Rule::Date),
            ("company.id".into(), Rule::Required),
            ("custom.company_id".into(), Rule::KeyReserved),
            ("custom.nested".into(), Rule::WrongType),
        ]
    );
}

#[test]
fn when_crm_values_are_untidy_then_normalising_fixes_format_only() {
    let mut contact = Contact::new("  u-2 ");
    contact.email = Some(" ada@example.com ".into());
    contact.first_name = Some("".into());
    contact.country = Some("gb".into());
    contact.language = Some("EN".into());
    contact.phone = Some("+1 (415) 555-0100".into());
    let contact = contact.normalised();
    assert_eq!(contact.external_id, "u-2");
    assert_eq!(contact.email.as_deref(), Some("ada@example.com"));
    assert_eq!(contact.first_name, None);
    assert_eq!(contact.country.as_deref(), Some("GB"));
    assert_eq!(contact.language.as_deref(), Some("en"));
    assert_eq!(contact.phone.as_deref(), Some("+14155550100"));
    assert_eq!(contact.validate(), vec![]);
}

#[test]
fn when_mapped_to_braze_then_company_and_signup_become_custom_attributes() {
    let body = serde_json::to_value(full().to_braze()).unwrap();
    assert_eq!(
        body,
        json!({
            "external_id": "u-1",
            "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "phone": "+14155550100", "country": "GB", "language": "en",
            "time_zone": "Europe/London", "dob": "1815-12-10",
            "company_id": "acme", "company_name": "Acme", "company_plan": "pro",
            "signed_up_at": "2026-11-01T09:30:00Z", "seats": 5
        })
    );
}

#[test]
fn when_mapped_to_userflow_then_company_is_a_group_and_name_is_joined() {
    let body = serde_json::to_value(full().to_userflow(&userflow_client()).into_body()).unwrap();
    assert_eq!(
        body,
        json!({
            "id": "u-1",
            "attributes": {
                "name": "Ada Lovelace", "email": "ada@example.com",
                "first_name": "Ada", "last_name": "Lovelace", "phone": "+14155550100",
                "country": "GB", "language": "en", "time_zone": "Europe/London",
                "dob": "1815-12-10", "signed_up_at": "2026-11-01T09:30:00Z", "seats": 5
            },
            "groups": [{"id": "acme", "attributes": {"name": "Acme", "plan": "pro"}}]
        })
    );
}

fn userflow_client() -> UserflowClient {
    UserflowClient::new(
        relay_clients::userflow::UserflowConfig::with_base_url(
            "http://127.0.0.1:9",
            secrecy::SecretString::from("ak_test"),
        ),
        reqwest::Client::new(),
    )
    .unwrap()
}

#[test]
fn when_only_the_company_name_is_known_then_it_is_a_user_attribute_and_no_group() {
    let mut contact = Contact::new("u-3");
    contact.company = Some(Company {
        id: None,
        name: Some("Acme".into()),
        plan: Some("pro".into()),
    });
    assert_eq!(contact.validate(), vec![], "a name alone is valid");

    let braze = serde_json::to_value(contact.to_braze()).unwrap();
    assert_eq!(
        braze,
        json!({"external_id": "u-3", "company_name": "Acme", "company_plan": "pro"})
    );
    let userflow = serde_json::to_value(contact.to_userflow(&userflow_client()).into_body());
    assert_eq!(
        userflow.unwrap(),
        json!({"id": "u-3", "attributes": {"company_name": "Acme", "company_plan": "pro"}})
    );
}

#[test]
fn when_a_job_holds_a_company_with_an_id_then_it_still_decodes() {
    let contact: Contact = serde_json::from_value(
        json!({"external_id": "u", "company": {"id": "acme", "name": "Acme"}}),
    )
    .unwrap();
    assert_eq!(
        contact.company,
        Some(Company {
            name: Some("Acme".into()),
            ..Company::new("acme")
        })
    );
}

#[test]
fn when_debug_printed_then_no_personal_value_appears() {
    let printed = format!("{:?}", full());
    for secret in ["ada@example.com", "Ada", "Lovelace", "+1415", "u-1", "acme"] {
        assert!(!printed.contains(secret), "{secret} leaked into {printed}");
    }
}

#[test]
fn when_job_json_has_an_unknown_field_then_decoding_fails() {
    let error = serde_json::from_value::<Contact>(json!({"external_id": "u", "emial": "x"}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("emial"), "{error}");
}

#[test]
fn when_external_id_holds_a_control_character_then_the_contact_is_refused_by_slug() {
    for id in ["u\n1", "u\r1", "u\u{0}1", "u\t1", "\u{0}u-1", "u-1\u{0}"] {
        let mut contact = full();
        contact.external_id = id.into();
        let errors = contact.normalised().validate();
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(found, vec![("external_id", "control_character")], "{id:?}");
        assert!(!errors[0].message.contains("u1"), "{}", errors[0].message);
    }
}

#[test]
fn when_external_id_has_surrounding_whitespace_then_it_is_trimmed_and_accepted() {
    for id in ["  u-1 ", "\tu-1", "u-1\r\n", " \n u-1 \n "] {
        let mut contact = full();
        contact.external_id = id.into();
        let contact = contact.normalised();
        assert_eq!(contact.external_id, "u-1", "{id:?}");
        assert_eq!(contact.validate(), vec![], "{id:?}");
    }
}

#[test]
fn when_company_id_holds_a_control_character_then_the_contact_is_refused_by_slug() {
    let mut contact = full();
    contact.company = Some(Company::new("ac\nme"));
    let errors = contact.normalised().validate();
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(found, vec![("company.id", "control_character")]);
}

#[test]
fn when_a_custom_attribute_is_a_list_of_objects_then_it_is_refused_before_either_vendor() {
    let mut contact = Contact::new("u-4");
    contact
        .custom
        .insert("pets".into(), json!([{"name": "Rex"}, {"name": "Tom"}]));
    contact.custom.insert("tags".into(), json!(["a", "b"]));
    let errors: Vec<(String, Rule)> = contact
        .validate()
        .into_iter()
        .map(|e| (e.path, e.rule))
        .collect();
    assert_eq!(errors, vec![("custom.pets".into(), Rule::WrongType)]);
}
