//! Sources: decoding, merging and resolving. Authentication rules and the environment
//! defaults of the HubSpot API have modules of their own.

mod authentication;
mod hubspot_api;

use std::collections::HashMap;

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::crm::mapping::Pointer;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ORG: &str = "00D000000000062";

fn resolver(vars: &[(&str, &str)]) -> SecretResolver {
    SecretResolver::from_env_map(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    )
}

fn all_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("RELAY_STANDARD_WEBHOOKS_SECRET", WHSEC),
        ("HUBSPOT_CLIENT_SECRET", "hubspot-secret"),
        ("HUBSPOT_ACCESS_TOKEN", "pat-token"),
        ("RELAY_PUBLIC_URL", "https://relay.example.com/"),
        ("SALESFORCE_ORGANIZATION_ID", ORG),
        ("SALESFORCE_URL_TOKEN", "sf-token"),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", "pd-password"),
    ]
}

async fn resolve(raw: Option<&str>, env: &[(&str, &str)]) -> Result<Sources, SourcesError> {
    SourcesConfig::from_env_json(raw)?
        .resolve(&resolver(env))
        .await
}

fn decode_error(raw: &str) -> (String, String) {
    match SourcesConfig::from_env_json(Some(raw)).unwrap_err() {
        SourcesError::Decode { path, message, .. } => (path, message),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

fn found<'a>(sources: &'a Sources, name: &str) -> &'a Source {
    match sources.get(name) {
        SourceLookup::Found(source) => source,
        other => panic!("{name}: expected Found, got {other:?}"),
    }
}

fn pointer(raw: &str) -> Option<Pointer> {
    Some(Pointer::parse(raw).unwrap())
}

#[test]
fn when_no_relay_sources_then_the_four_defaults_parse() {
    let config = SourcesConfig::from_env_json(None).unwrap();
    assert_eq!(
        config.names().collect::<Vec<_>>(),
        [
            "hubspot",
            "pipedrive",
            "salesforce-outbound",
            "standard-webhooks"
        ]
    );
    assert!(SourcesConfig::from_env_json(Some("  ")).is_ok());
}

#[tokio::test]
async fn when_every_variable_is_set_then_every_default_is_enabled_with_its_settings() {
    let sources = resolve(None, &all_env()).await.unwrap();
    assert_eq!(sources.enabled().count(), 4);

    let standard = found(&sources, "standard-webhooks");
    assert_eq!(standard.scheme(), Scheme::StandardWebhooks);
    assert_eq!(standard.mapping.company_id, pointer("/company/id"));
    assert!(standard.send_signup_event);
    let SchemeSettings::StandardWebhooks { key, tolerance } = &standard.settings else {
        panic!("scheme")
    };
    assert_eq!(key.expose_secret().len(), 24);
    assert_eq!(*tolerance, Duration::from_secs(300));

    let hubspot = found(&sources, "hubspot");
    assert_eq!(hubspot.mapping.external_id.as_str(), "/hs_object_id");
    assert_eq!(hubspot.mapping.country, None);
    let SchemeSettings::Hubspot {
        public_url,
        versions,
        api,
        ..
    } = &hubspot.settings
    else {
        panic!("scheme")
    };
    assert_eq!(public_url, "https://relay.example.com/webhooks/hubspot");
    assert_eq!(versions, &[HubspotVersion::V3]);
    let api = api.as_ref().unwrap();
    assert_eq!(api.base_url, "https://api.hubapi.com");
    assert_eq!(api.token.expose_secret(), "pat-token");

    let salesforce = found(&sources, "salesforce-outbound");
    assert_eq!(salesforce.mapping.company_id, pointer("/AccountId"));
    let SchemeSettings::SalesforceOutbound {
        organization_id,
        url_token,
    } = &salesforce.settings
    else {
        panic!("scheme")
    };
    assert_eq!(organization_id, ORG);
    assert_eq!(url_token.as_ref().unwrap().expose_secret(), "sf-token");

    let pipedrive = found(&sources, "pipedrive");
    assert_eq!(pipedrive.mapping.email, pointer("/emails/0/value"));
    let SchemeSettings::Pipedrive {
        username,
        password,
        actions,
    } = &pipedrive.settings
    else {
        panic!("scheme")
    };
    assert_eq!(actions, &["create"]);
    assert_eq!(username, "pipedrive");
    assert_eq!(password.expose_secret(), "pd-password");
}

#[tokio::test]
async fn when_default_secret_env_is_missing_then_the_source_is_disabled_with_the_variable() {
    let sources = resolve(None, &[]).await.unwrap();
    assert_eq!(sources.enabled().count(), 0);
    assert_eq!(sources.names().count(), 4);
    let SourceLookup::Disabled(reason) = sources.get("hubspot") else {
        panic!("expected disabled")
    };
    assert_eq!(
        reason,
        "source hubspot is not enabled: set HUBSPOT_CLIENT_SECRET and RELAY_PUBLIC_URL (or public_url in RELAY_SOURCES)"
    );
    let SourceLookup::Disabled(reason) = sources.get("standard-webhooks") else {
        panic!("expected disabled")
    };
    assert_eq!(
        reason,
        "source standard-webhooks is not enabled: set RELAY_STANDARD_WEBHOOKS_SECRET"
    );
    assert!(matches!(sources.get("nope"), SourceLookup::Unknown));
}

#[tokio::test]
async fn when_optional_values_are_unset_then_sources_still_enable_without_them() {
    let env = [
        ("HUBSPOT_CLIENT_SECRET", "s"),
        ("RELAY_PUBLIC_URL", "https://relay.example.com"),
    ];
    let sources = resolve(None, &env).await.unwrap();
    let SchemeSettings::Hubspot { api, .. } = &found(&sources, "hubspot").settings else {
        panic!("scheme")
    };
    assert!(api.is_none(), "no HUBSPOT_ACCESS_TOKEN: no API client");
}

#[tokio::test]
async fn when_a_default_is_overridden_then_given_fields_replace_and_others_stay() {
    let raw = r#"{"hubspot": {
        "public_url": "https://hooks.example.com/hs",
        "signature_versions": ["v3"],
        "send_signup_event": false,
        "tolerance_secs": 60,
        "mapping": {"external_id": "/user_id", "email": "/email"},
        "hubspot_api": {"base_url": "http://127.0.0.1:9999"}
    }}"#;
    let sources = resolve(Some(raw), &all_env()).await.unwrap();
    let hubspot = found(&sources, "hubspot");
    assert!(!hubspot.send_signup_event);
    assert_eq!(hubspot.mapping.external_id.as_str(), "/user_id");
    assert_eq!(hubspot.mapping.first_name, None, "mapping replaced whole");
    let SchemeSettings::Hubspot {
        public_url,
        versions,
        tolerance,
        client_secret,
        api,
    } = &hubspot.settings
    else {
        panic!("scheme")
    };
    assert_eq!(public_url, "https://hooks.example.com/hs");
    assert_eq!(versions, &[HubspotVersion::V3]);
    assert_eq!(*tolerance, Duration::from_secs(60));
    assert_eq!(client_secret.expose_secret(), "hubspot-secret");
    let api = api.as_ref().unwrap();
    assert_eq!(api.base_url, "http://127.0.0.1:9999");
    assert_eq!(api.token.expose_secret(), "pat-token", "default token kept");
}

#[tokio::test]
async fn when_a_new_source_is_added_then_it_starts_from_its_schemes_defaults() {
    let raw = r#"{"crm-eu": {"scheme": "pipedrive", "secret": "env:EU_PASSWORD",
                  "actions": ["create", "change"]}}"#;
    let mut env = all_env();
    env.push(("EU_PASSWORD", "eu"));
    let sources = resolve(Some(raw), &env).await.unwrap();
    let eu = found(&sources, "crm-eu");
    assert_eq!(eu.scheme(), Scheme::Pipedrive);
    assert_eq!(eu.mapping.external_id.as_str(), "/id");
    let SchemeSettings::Pipedrive {
        username,
        password,
        actions,
    } = &eu.settings
    else {
        panic!("scheme")
    };
    assert_eq!(actions, &["create", "change"]);
    assert_eq!(username, "pipedrive");
    assert_eq!(password.expose_secret(), "eu");
    assert_eq!(sources.names().count(), 5);
}

#[tokio::test]
async fn when_a_declared_source_secret_is_unset_then_the_cold_start_fails_naming_it() {
    let raw = r#"{"crm-eu": {"scheme": "standard", "secret": "env:EU_SECRET"}}"#;
    let error = resolve(Some(raw), &[]).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "source crm-eu: cannot resolve env:EU_SECRET: environment variable EU_SECRET is not set (or is empty)"
    );
    // Overriding a built-in declares it too.
    let raw = r#"{"pipedrive": {"username": "crm"}}"#;
    let error = resolve(Some(raw), &[]).await.unwrap_err();
    assert!(matches!(&error, SourcesError::Secret { name, .. } if name == "pipedrive"));
}

#[tokio::test]
async fn when_a_source_is_disabled_in_config_then_its_secret_is_not_needed() {
    let raw = r#"{"hubspot": {"enabled": false}}"#;
    let sources = resolve(Some(raw), &[]).await.unwrap();
    assert!(matches!(
        sources.get("hubspot"),
        SourceLookup::Disabled("source hubspot is disabled in RELAY_SOURCES")
    ));
}

#[tokio::test]
async fn when_a_declared_hubspot_source_has_no_public_url_then_the_error_says_what_to_set() {
    let raw = r#"{"hubspot": {"signature_versions": ["v3"]}}"#;
    let env = [("HUBSPOT_CLIENT_SECRET", "s")];
    let error = resolve(Some(raw), &env).await.unwrap_err();
    assert!(matches!(&error, SourcesError::Unusable { name, .. } if name == "hubspot"));
    assert!(error.to_string().contains("RELAY_PUBLIC_URL"), "{error}");
}

#[tokio::test]
async fn when_standard_webhooks_secret_is_not_base64_then_the_error_names_the_reference_only() {
    let env = [("RELAY_STANDARD_WEBHOOKS_SECRET", "whsec_not*base64")];
    let error = resolve(None, &env).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("env:RELAY_STANDARD_WEBHOOKS_SECRET"),
        "{message}"
    );
    assert!(!message.contains("not*base64"), "{message}");
}

#[test]
fn when_a_field_is_unknown_then_the_error_gives_its_path() {
    let (path, message) =
        decode_error(r#"{"hubspot": {"mapping": {"external_id": "/id", "emial": "/e"}}}"#);
    assert_eq!(path, "hubspot.mapping.emial");
    assert!(message.starts_with("unknown field `emial`"), "{message}");
    let error = SourcesConfig::from_env_json(Some(r#"{"hubspot": {"secrt": "env:X"}}"#))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("RELAY_SOURCES: at hubspot.secrt: unknown field `secrt`"),
        "{error}"
    );
}

#[test]
fn when_a_pointer_is_bad_then_the_error_gives_its_path() {
    let (path, message) = decode_error(r#"{"hubspot": {"mapping": {"external_id": "id"}}}"#);
    assert_eq!(path, "hubspot.mapping.external_id");
    assert!(
        message.contains("must be empty or start with `/`"),
        "{message}"
    );
}

#[test]
fn when_a_scheme_is_unknown_then_the_error_lists_the_schemes() {
    let (path, message) = decode_error(r#"{"zoho": {"scheme": "zoho", "secret": "env:Z"}}"#);
    assert_eq!(path, "zoho.scheme");
    assert!(message.contains("unknown variant `zoho`"), "{message}");
    assert!(message.contains("standard-webhooks"), "{message}");
}

#[test]
fn when_a_secret_is_not_a_reference_then_the_error_does_not_echo_it() {
    let (path, message) = decode_error(r#"{"hubspot": {"secret": "raw-secret-value"}}"#);
    assert_eq!(path, "hubspot.secret");
    assert!(
        message.contains("env: or arn:aws:secretsmanager:"),
        "{message}"
    );
    assert!(!message.contains("raw-secret-value"), "{message}");
}

#[test]
fn when_a_name_is_invalid_or_repeated_then_decoding_fails() {
    let (_, message) = decode_error(r#"{"Crm_EU": {"scheme": "pipedrive"}}"#);
    assert!(message.contains("a-z, 0-9 and -"), "{message}");
    let (_, message) = decode_error(
        r#"{"a": {"scheme": "pipedrive", "secret": "env:A"}, "a": {"scheme": "pipedrive", "secret": "env:A"}}"#,
    );
    assert!(message.contains("twice"), "{message}");
    let long = "a".repeat(65);
    decode_error(&format!(r#"{{"{long}": {{}}}}"#));
}

#[test]
fn when_json_is_not_an_object_then_the_error_says_so() {
    let (path, message) = decode_error("[1]");
    assert_eq!(path, ".");
    assert!(
        message.contains("an object of sources by name"),
        "{message}"
    );
    decode_error(r#"{"hubspot": {}} trailing"#);
}

#[test]
fn when_a_new_source_lacks_scheme_or_secret_then_it_is_invalid() {
    let missing_scheme =
        SourcesConfig::from_env_json(Some(r#"{"x": {"secret": "env:X"}}"#)).unwrap_err();
    assert!(
        missing_scheme.to_string().contains("needs a scheme"),
        "{missing_scheme}"
    );
    let missing_secret =
        SourcesConfig::from_env_json(Some(r#"{"x": {"scheme": "hubspot"}}"#)).unwrap_err();
    assert!(
        missing_secret.to_string().contains("needs a secret"),
        "{missing_secret}"
    );
    let salesforce = r#"{"x": {"scheme": "salesforce", "organization_id": "00D000000000062"}}"#;
    let missing_token = SourcesConfig::from_env_json(Some(salesforce)).unwrap_err();
    assert!(
        missing_token.to_string().contains("needs a secret"),
        "{missing_token}"
    );
}

#[test]
fn when_a_field_does_not_fit_the_scheme_or_is_out_of_range_then_it_is_invalid() {
    for (raw, expected) in [
        (
            r#"{"pipedrive": {"public_url": "https://x.test"}}"#,
            "public_url applies to hubspot",
        ),
        (r#"{"hubspot": {"scheme": "pipedrive"}}"#, "cannot change"),
        (
            r#"{"hubspot": {"tolerance_secs": 0}}"#,
            "tolerance_secs must be between",
        ),
        (
            r#"{"salesforce-outbound": {"tolerance_secs": 10}}"#,
            "tolerance_secs applies",
        ),
        (
            r#"{"hubspot": {"public_url": "https://x.test/a?b=c"}}"#,
            "query",
        ),
        (
            r#"{"hubspot": {"public_url": "/webhooks/hubspot"}}"#,
            "absolute",
        ),
        (
            r#"{"hubspot": {"signature_versions": []}}"#,
            "must not be empty",
        ),
        (
            r#"{"pipedrive": {"actions": ["delete"]}}"#,
            "create, change",
        ),
        (r#"{"pipedrive": {"username": "a:b"}}"#, "username"),
        (
            r#"{"salesforce-outbound": {"organization_id": "00D000000000062XXX"}}"#,
            "checksum",
        ),
    ] {
        let error = SourcesConfig::from_env_json(Some(raw))
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{raw}: {error}");
    }
}

#[test]
fn when_sources_are_built_for_tests_then_lookup_finds_them() {
    let source = Source {
        name: "t".into(),
        settings: SchemeSettings::Pipedrive {
            username: "u".into(),
            password: SecretString::from("p"),
            actions: vec!["create".into()],
        },
        mapping: FieldMapping {
            external_id: Pointer::parse("/id").unwrap(),
            email: None,
            first_name: None,
            last_name: None,
            phone: None,
            country: None,
            language: None,
            time_zone: None,
            dob: None,
            company_id: None,
            company_name: None,
            company_plan: None,
            signed_up_at: None,
            custom: BTreeMap::new(),
        },
        send_signup_event: true,
    };
    let sources = Sources::for_tests(vec![source]).with_disabled("off", Scheme::Hubspot, "because");
    assert!(matches!(sources.get("t"), SourceLookup::Found(s) if s.name == "t"));
    assert!(matches!(
        sources.get("off"),
        SourceLookup::Disabled("because")
    ));
    assert_eq!(sources.names().collect::<Vec<_>>(), ["off", "t"]);
    let statuses: Vec<(&str, Scheme, bool)> = sources
        .statuses()
        .map(|status| {
            let enabled = matches!(status.state, SourceState::Enabled(_));
            (status.name, status.scheme, enabled)
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("off", Scheme::Hubspot, false),
            ("t", Scheme::Pipedrive, true)
        ]
    );
}
