//! `SecretResolver` against moto's Secrets Manager: plain and JSON secrets by ARN and by
//! `ARN#key`, missing secrets and keys, and one fetch per ARN.

use std::collections::HashMap;

use relay_core::secrets::{SecretError, SecretRef, SecretResolver};
use relay_tests::{Moto, unique_name};
use secrecy::ExposeSecret;

async fn client(moto: &Moto) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await)
}

/// Creates a secret holding `value` and returns its ARN.
async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = unique_name("relay/secret");
    let created = client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create secret {name} on moto: {e:?}"));
    created.arn().expect("moto returns the ARN").to_owned()
}

fn reference(raw: &str) -> SecretRef {
    SecretRef::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

#[tokio::test]
async fn when_secrets_are_read_by_arn_and_key_then_the_values_resolve() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let plain = create_secret(&client, "plain-value\n").await;
    let json = create_secret(&client, r#"{"client_secret": "hs-secret", "port": 443}"#).await;
    let resolver = SecretResolver::with_secrets_manager(client);

    let value = resolver.resolve(&reference(&plain)).await.unwrap();
    assert_eq!(value.expose_secret(), "plain-value");

    let field = resolver
        .resolve(&reference(&format!("{json}#client_secret")))
        .await
        .unwrap();
    assert_eq!(field.expose_secret(), "hs-secret");

    let missing_key = resolver
        .resolve(&reference(&format!("{json}#nope")))
        .await
        .unwrap_err();
    assert!(matches!(missing_key, SecretError::MissingKey { .. }));
    let message = missing_key.to_string();
    assert!(message.contains(&format!("{json}#nope")), "{message}");
    assert!(!message.contains("hs-secret"), "{message}");

    let not_string = resolver
        .resolve(&reference(&format!("{json}#port")))
        .await
        .unwrap_err();
    assert!(matches!(not_string, SecretError::KeyNotString { .. }));

    let not_json = resolver
        .resolve(&reference(&format!("{plain}#key")))
        .await
        .unwrap_err();
    assert!(matches!(not_json, SecretError::NotJsonObject { .. }));
    assert!(!not_json.to_string().contains("plain-value"));
}

#[tokio::test]
async fn when_the_arn_does_not_exist_then_the_error_names_it() {
    let moto = Moto::start();
    let resolver = SecretResolver::with_secrets_manager(client(&moto).await);
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:relay/absent-AbCdEf";
    let error = resolver.resolve(&reference(arn)).await.unwrap_err();
    assert_eq!(error, SecretError::NotFound { arn: arn.into() });
    assert!(error.to_string().contains(arn));
}

#[tokio::test]
async fn when_an_arn_is_resolved_twice_then_it_is_fetched_once() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let arn = create_secret(&client, r#"{"a": "first", "b": "second"}"#).await;
    let resolver = SecretResolver::with_secrets_manager(client.clone());

    let a = resolver
        .resolve(&reference(&format!("{arn}#a")))
        .await
        .unwrap();
    assert_eq!(a.expose_secret(), "first");

    // Change the secret behind the resolver's back: the cached value is still used.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"a": "changed", "b": "changed"}"#)
        .send()
        .await
        .expect("put secret value");
    let b = resolver
        .resolve(&reference(&format!("{arn}#b")))
        .await
        .unwrap();
    assert_eq!(b.expose_secret(), "second");

    // A new resolver (a new cold start) reads the new value.
    let fresh = SecretResolver::with_secrets_manager(client);
    let a = fresh
        .resolve(&reference(&format!("{arn}#a")))
        .await
        .unwrap();
    assert_eq!(a.expose_secret(), "changed");
}

#[tokio::test]
async fn when_sources_name_secrets_manager_arns_then_they_resolve_at_cold_start() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let arn = create_secret(
        &client,
        r#"{"password": "pd-password", "whsec": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#,
    )
    .await;
    let relay_sources = format!(
        r#"{{"pipedrive": {{"secret": "{arn}#password"}},
            "crm-eu": {{"scheme": "standard-webhooks", "secret": "{arn}#whsec"}}}}"#
    );
    let resolver =
        SecretResolver::from_env_map(HashMap::from([("RELAY_SOURCES".to_owned(), relay_sources)]))
            .and_secrets_manager(client);
    let sources = relay_core::crm::Sources::load(&resolver).await.unwrap();
    let enabled: Vec<&str> = sources.enabled().map(|s| s.name.as_str()).collect();
    assert_eq!(enabled, ["crm-eu", "pipedrive"]);
}

#[tokio::test]
async fn when_the_client_is_built_on_first_use_then_an_arn_still_resolves() {
    let moto = Moto::start();
    let arn = create_secret(&client(&moto).await, "lazy-value").await;
    let resolver = SecretResolver::with_secrets_manager_from(&moto.sdk_config().await);
    let value = resolver.resolve(&reference(&arn)).await.unwrap();
    assert_eq!(value.expose_secret(), "lazy-value");
}
