//! Where HubSpot sources read contacts: `hubspot_api.base_url`, else `HUBSPOT_API_BASE_URL`,
//! else HubSpot's API; setting the variable declares nothing.

use super::*;

fn api_base_url(sources: &Sources, name: &str) -> String {
    let SchemeSettings::Hubspot { api, .. } = &found(sources, name).settings else {
        panic!("{name}: scheme")
    };
    api.as_ref().expect("an API client").base_url.clone()
}

fn with(
    env: &[(&'static str, &'static str)],
    more: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    env.iter().chain(more).copied().collect()
}

#[tokio::test]
async fn when_hubspot_api_base_url_is_set_then_hubspot_sources_read_contacts_there() {
    let env = with(
        &all_env(),
        &[("HUBSPOT_API_BASE_URL", "http://127.0.0.1:9999")],
    );
    let raw = r#"{"hubspot-eu": {"scheme": "hubspot", "secret": "env:HUBSPOT_CLIENT_SECRET"}}"#;
    let sources = resolve(Some(raw), &env).await.unwrap();
    assert_eq!(api_base_url(&sources, "hubspot"), "http://127.0.0.1:9999");
    assert_eq!(
        api_base_url(&sources, "hubspot-eu"),
        "http://127.0.0.1:9999"
    );
}

#[tokio::test]
async fn when_hubspot_api_base_url_is_unset_then_hubspots_api_is_used() {
    let sources = resolve(None, &all_env()).await.unwrap();
    assert_eq!(api_base_url(&sources, "hubspot"), "https://api.hubapi.com");
}

#[tokio::test]
async fn when_relay_sources_gives_a_base_url_then_it_wins_over_the_variable() {
    let env = with(
        &all_env(),
        &[("HUBSPOT_API_BASE_URL", "http://127.0.0.1:9999")],
    );
    let raw = r#"{"hubspot": {"hubspot_api": {"base_url": "https://proxy.example.com"}}}"#;
    let sources = resolve(Some(raw), &env).await.unwrap();
    assert_eq!(
        api_base_url(&sources, "hubspot"),
        "https://proxy.example.com"
    );
}

#[tokio::test]
async fn when_only_hubspot_api_base_url_is_set_then_hubspot_stays_optional() {
    let env = [("HUBSPOT_API_BASE_URL", "http://127.0.0.1:9999")];
    let sources = resolve(None, &env).await.unwrap();
    let SourceLookup::Disabled(reason) = sources.get("hubspot") else {
        panic!("expected disabled")
    };
    assert!(reason.contains("HUBSPOT_CLIENT_SECRET"), "{reason}");
}

#[tokio::test]
async fn when_hubspot_api_base_url_is_not_an_http_url_then_the_cold_start_fails_naming_it() {
    for bad in ["ftp://hubapi.example.com", "api.hubapi.com", "https://"] {
        let env = with(&all_env(), &[("HUBSPOT_API_BASE_URL", bad)]);
        let error = resolve(None, &env).await.unwrap_err();
        assert!(
            matches!(&error, SourcesError::Unusable { name, .. } if name == "hubspot"),
            "{bad}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("HUBSPOT_API_BASE_URL must be an absolute http or https URL"),
            "{bad}: {message}"
        );
    }
}
