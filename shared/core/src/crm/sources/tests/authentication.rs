//! No source is enabled without the secret that authenticates it: Salesforce's URL token
//! (unless its configuration opts out explicitly), HubSpot's client secret with v3 only by
//! default, Pipedrive's password, the Standard Webhooks key.

use std::time::SystemTime;

use http::{HeaderMap, HeaderValue};

use super::*;
use crate::crm::InboundRequest;
use crate::crm::signature::{AuthError, hubspot_v2_signature};

fn without(env: &[(&'static str, &'static str)], name: &str) -> Vec<(&'static str, &'static str)> {
    env.iter().filter(|(k, _)| *k != name).copied().collect()
}

fn disabled_reason<'a>(sources: &'a Sources, name: &str) -> &'a str {
    match sources.get(name) {
        SourceLookup::Disabled(reason) => reason,
        other => panic!("{name}: expected Disabled, got {other:?}"),
    }
}

#[tokio::test]
async fn when_salesforce_has_no_url_token_then_it_is_disabled_saying_what_to_set() {
    let env = without(&all_env(), "SALESFORCE_URL_TOKEN");
    let sources = resolve(None, &env).await.unwrap();
    assert_eq!(
        disabled_reason(&sources, "salesforce-outbound"),
        "source salesforce-outbound is not enabled: set SALESFORCE_URL_TOKEN (or allow_unauthenticated in RELAY_SOURCES)"
    );
    assert_eq!(
        sources.enabled().count(),
        3,
        "the other sources are enabled"
    );

    let sources = resolve(None, &[]).await.unwrap();
    assert_eq!(
        disabled_reason(&sources, "salesforce-outbound"),
        "source salesforce-outbound is not enabled: set SALESFORCE_URL_TOKEN (or allow_unauthenticated in RELAY_SOURCES) and SALESFORCE_ORGANIZATION_ID (or organization_id in RELAY_SOURCES)"
    );
}

#[tokio::test]
async fn when_salesforce_is_declared_without_a_url_token_then_the_cold_start_fails_saying_what_to_set()
 {
    let raw = r#"{"salesforce-outbound": {"send_signup_event": false}}"#;
    let env = without(&all_env(), "SALESFORCE_URL_TOKEN");
    let error = resolve(Some(raw), &env).await.unwrap_err();
    assert!(
        matches!(&error, SourcesError::Unusable { name, .. } if name == "salesforce-outbound"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("SALESFORCE_URL_TOKEN"), "{message}");
    assert!(message.contains("allow_unauthenticated"), "{message}");
}

#[test]
fn when_a_new_salesforce_source_has_no_secret_then_it_is_invalid_unless_it_opts_out() {
    let raw = format!(r#"{{"sf-eu": {{"scheme": "salesforce", "organization_id": "{ORG}"}}}}"#);
    let error = SourcesConfig::from_env_json(Some(&raw)).unwrap_err();
    assert!(
        matches!(&error, SourcesError::Invalid { name, .. } if name == "sf-eu"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("needs a secret"), "{message}");
    assert!(message.contains("allow_unauthenticated"), "{message}");

    let opted_out = format!(
        r#"{{"sf-eu": {{"scheme": "salesforce", "organization_id": "{ORG}", "allow_unauthenticated": true}}}}"#
    );
    assert!(SourcesConfig::from_env_json(Some(&opted_out)).is_ok());
}

#[tokio::test]
async fn when_salesforce_allows_unauthenticated_then_it_is_enabled_without_a_token() {
    let raw = r#"{"salesforce-outbound": {"allow_unauthenticated": true}}"#;
    let env = without(&all_env(), "SALESFORCE_URL_TOKEN");
    let sources = resolve(Some(raw), &env).await.unwrap();
    let SchemeSettings::SalesforceOutbound { url_token, .. } =
        &found(&sources, "salesforce-outbound").settings
    else {
        panic!("scheme")
    };
    assert!(url_token.is_none());
    let unauthenticated: Vec<&str> = sources.unauthenticated().map(|s| s.name.as_str()).collect();
    assert_eq!(
        unauthenticated,
        ["salesforce-outbound"],
        "the cold start logs it"
    );
}

#[tokio::test]
async fn when_salesforce_allows_unauthenticated_and_has_a_token_then_the_token_is_checked() {
    let raw = r#"{"salesforce-outbound": {"allow_unauthenticated": false}}"#;
    let sources = resolve(Some(raw), &all_env()).await.unwrap();
    let SchemeSettings::SalesforceOutbound { url_token, .. } =
        &found(&sources, "salesforce-outbound").settings
    else {
        panic!("scheme")
    };
    assert_eq!(url_token.as_ref().unwrap().expose_secret(), "sf-token");

    let raw = r#"{"salesforce-outbound": {"allow_unauthenticated": true}}"#;
    let sources = resolve(Some(raw), &all_env()).await.unwrap();
    let SchemeSettings::SalesforceOutbound { url_token, .. } =
        &found(&sources, "salesforce-outbound").settings
    else {
        panic!("scheme")
    };
    assert!(url_token.is_some(), "a token that is set is always checked");
    assert_eq!(sources.unauthenticated().count(), 0);
    assert_eq!(
        resolve(None, &all_env())
            .await
            .unwrap()
            .unauthenticated()
            .count(),
        0
    );

    // A token written in RELAY_SOURCES must resolve, opt-out or not.
    let raw =
        r#"{"salesforce-outbound": {"allow_unauthenticated": true, "secret": "env:SF_TOKEN"}}"#;
    let error = resolve(Some(raw), &all_env()).await.unwrap_err();
    assert!(
        matches!(&error, SourcesError::Secret { reference, .. } if reference == "env:SF_TOKEN")
    );
}

#[test]
fn when_a_signed_scheme_is_given_allow_unauthenticated_then_the_configuration_is_refused() {
    for raw in [
        r#"{"hubspot": {"allow_unauthenticated": true}}"#,
        r#"{"pipedrive": {"allow_unauthenticated": true}}"#,
        r#"{"standard-webhooks": {"allow_unauthenticated": false}}"#,
        r#"{"crm-eu": {"scheme": "standard-webhooks", "secret": "env:X", "allow_unauthenticated": true}}"#,
    ] {
        let error = SourcesConfig::from_env_json(Some(raw)).unwrap_err();
        assert!(
            matches!(error, SourcesError::Invalid { .. }),
            "{raw}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("allow_unauthenticated applies to salesforce-outbound sources only"),
            "{raw}: {message}"
        );
        assert!(message.contains("signed"), "{raw}: {message}");
    }
}

#[tokio::test]
async fn when_a_secret_is_blank_then_its_source_is_not_enabled() {
    for (variable, source) in [
        ("RELAY_STANDARD_WEBHOOKS_SECRET", "standard-webhooks"),
        ("HUBSPOT_CLIENT_SECRET", "hubspot"),
        ("SALESFORCE_URL_TOKEN", "salesforce-outbound"),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", "pipedrive"),
    ] {
        let mut env = without(&all_env(), variable);
        env.push((variable, "  "));
        let sources = resolve(None, &env).await.unwrap();
        let reason = disabled_reason(&sources, source);
        assert!(reason.contains(variable), "{source}: {reason}");
        assert_eq!(sources.enabled().count(), 3, "{source}");
    }
}

#[tokio::test]
async fn when_hubspot_signature_versions_are_not_configured_then_only_v3_is_accepted() {
    let raw = r#"{"hubspot-eu": {"scheme": "hubspot", "secret": "env:HUBSPOT_CLIENT_SECRET"}}"#;
    let sources = resolve(Some(raw), &all_env()).await.unwrap();
    for name in ["hubspot", "hubspot-eu"] {
        let SchemeSettings::Hubspot { versions, .. } = &found(&sources, name).settings else {
            panic!("scheme")
        };
        assert_eq!(versions, &[HubspotVersion::V3], "{name}");
    }

    // A request signed with v2, as HubSpot would sign it for the default source.
    let body = br#"{"hs_object_id": "501", "email": "w@example.com"}"#;
    let uri = "https://relay.example.com/webhooks/hubspot";
    let signature = hubspot_v2_signature("hubspot-secret", "POST", uri, body);
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hubspot-signature",
        HeaderValue::from_str(&signature).unwrap(),
    );
    headers.insert(
        "x-hubspot-signature-version",
        HeaderValue::from_static("v2"),
    );
    let request = InboundRequest {
        method: "POST",
        raw_query: "",
        headers: &headers,
        body,
        now: SystemTime::now(),
    };
    let refused = found(&sources, "hubspot")
        .settings
        .verify(&request)
        .unwrap_err();
    assert_eq!(
        refused,
        AuthError::MissingHeader {
            header: "X-HubSpot-Signature-v3"
        }
    );

    let raw = r#"{"hubspot": {"signature_versions": ["v3", "v2"]}}"#;
    let opted_in = resolve(Some(raw), &all_env()).await.unwrap();
    assert!(
        found(&opted_in, "hubspot")
            .settings
            .verify(&request)
            .is_ok(),
        "v2 is accepted once configured"
    );
}
