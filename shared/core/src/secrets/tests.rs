//! Unit tests of secret references and their resolution (environment variables, the Secrets
//! Manager cache, JSON fields), and that no error echoes a secret.

use super::*;

const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay/hubspot-AbCdEf";

fn resolver(vars: &[(&str, &str)]) -> SecretResolver {
    SecretResolver::from_env_map(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn when_reference_is_env_then_it_names_the_variable() {
    assert_eq!(
        SecretRef::parse("env:HUBSPOT_CLIENT_SECRET"),
        Ok(SecretRef::Env("HUBSPOT_CLIENT_SECRET".into()))
    );
    assert_eq!(
        SecretRef::parse("env:").unwrap_err(),
        SecretRefError::BadVariableName
    );
    assert_eq!(
        SecretRef::parse("env:1X").unwrap_err(),
        SecretRefError::BadVariableName
    );
}

#[test]
fn when_reference_is_an_arn_with_a_key_then_the_key_is_split_off() {
    assert_eq!(
        SecretRef::parse(&format!("{ARN}#client_secret")),
        Ok(SecretRef::SecretsManager {
            arn: ARN.into(),
            json_key: Some("client_secret".into())
        })
    );
    assert_eq!(
        SecretRef::parse(ARN),
        Ok(SecretRef::SecretsManager {
            arn: ARN.into(),
            json_key: None
        })
    );
    assert_eq!(
        SecretRef::parse(&format!("{ARN}#")).unwrap_err(),
        SecretRefError::EmptyKey
    );
}

#[test]
fn when_reference_round_trips_through_display_then_it_is_unchanged() {
    for raw in ["env:A_B", ARN, &format!("{ARN}#k")] {
        assert_eq!(SecretRef::parse(raw).unwrap().to_string(), raw);
    }
}

#[test]
fn when_string_is_not_a_reference_then_the_error_does_not_echo_it() {
    for raw in [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "arn:aws:s3:::bucket",
        "",
    ] {
        let error = SecretRef::parse(raw).unwrap_err();
        assert_eq!(error, SecretRefError::UnknownForm);
        let message = error.to_string();
        assert!(message.contains("env:") && message.contains("arn:aws:secretsmanager:"));
        assert!(raw.is_empty() || !message.contains(raw));
    }
    assert_eq!(
        SecretRef::parse("arn:aws:secretsmanager:eu-west-1:123:secret:").unwrap_err(),
        SecretRefError::BadArn
    );
}

#[tokio::test]
async fn when_env_var_is_set_then_it_resolves_trimmed() {
    let secret = resolver(&[("X", " value\n")])
        .resolve(&SecretRef::Env("X".into()))
        .await
        .unwrap();
    assert_eq!(secret.expose_secret(), "value");
}

#[tokio::test]
async fn when_env_var_is_missing_or_blank_then_the_error_names_it() {
    let resolver = resolver(&[("BLANK", "  ")]);
    for name in ["MISSING", "BLANK"] {
        let error = resolver
            .resolve(&SecretRef::Env(name.into()))
            .await
            .unwrap_err();
        assert!(error.is_unset_env());
        assert!(error.to_string().contains(name));
    }
}

#[tokio::test]
async fn when_arn_is_resolved_without_secrets_manager_then_it_says_so() {
    let error = resolver(&[])
        .resolve(&SecretRef::parse(ARN).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error, SecretError::NoSecretsManager { arn: ARN.into() });
    assert!(error.to_string().contains("env:"));
}

#[tokio::test]
async fn when_a_key_is_given_by_value_or_by_reference_then_exactly_one_is_accepted() {
    let vars = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        (
            Env::from_map(map.clone()),
            SecretResolver::from_env_map(map),
        )
    };
    let (env, secrets) = vars(&[("KEY_SECRET", "env:REAL_KEY"), ("REAL_KEY", "k-1")]);
    let key = secrets.resolve_setting(&env, "KEY").await.unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&key), "k-1");
    let (env, secrets) = vars(&[("KEY", "a"), ("KEY_SECRET", "env:B")]);
    let both = secrets
        .resolve_setting(&env, "KEY")
        .await
        .unwrap_err()
        .to_string();
    assert!(both.contains("either KEY or KEY_SECRET"), "{both}");
    let (env, secrets) = vars(&[]);
    let neither = secrets.resolve_setting(&env, "KEY").await.unwrap_err();
    assert_eq!(neither.variable(), "KEY");
}

#[tokio::test]
async fn when_a_setting_reference_fails_then_the_secret_error_is_the_source() {
    let vars: HashMap<String, String> = HashMap::from([
        ("A_SECRET".into(), "not-a-reference".into()),
        ("B_SECRET".into(), "env:UNSET".into()),
    ]);
    let (env, secrets) = (
        Env::from_map(vars.clone()),
        SecretResolver::from_env_map(vars),
    );
    let unparsed = secrets.resolve_setting(&env, "A").await.unwrap_err();
    assert_eq!(unparsed.variable(), "A_SECRET");
    let source = std::error::Error::source(&unparsed).expect("a cause");
    assert_eq!(
        source.downcast_ref::<SecretRefError>(),
        Some(&SecretRefError::UnknownForm)
    );
    assert_eq!(
        unparsed.to_string(),
        format!("A_SECRET: {}", SecretRefError::UnknownForm)
    );
    let unresolved = secrets.resolve_setting(&env, "B").await.unwrap_err();
    let source = std::error::Error::source(&unresolved).expect("a cause");
    assert_eq!(
        source.downcast_ref::<SecretError>(),
        Some(&SecretError::EnvUnset {
            name: "UNSET".into()
        })
    );
    assert_eq!(
        unresolved.to_string(),
        "B_SECRET: environment variable UNSET is not set (or is empty)"
    );
}

#[test]
fn when_json_field_is_missing_or_not_a_string_then_the_error_names_arn_and_key() {
    let whole = r#"{"a": "x", "n": 3}"#;
    assert_eq!(json_field(ARN, "a", whole).unwrap().expose_secret(), "x");
    let missing = json_field(ARN, "b", whole).unwrap_err();
    assert!(matches!(missing, SecretError::MissingKey { .. }));
    assert!(missing.to_string().contains(&format!("{ARN}#b")));
    assert!(matches!(
        json_field(ARN, "n", whole).unwrap_err(),
        SecretError::KeyNotString { .. }
    ));
    let not_json = json_field(ARN, "a", "plain-secret").unwrap_err();
    assert!(matches!(not_json, SecretError::NotJsonObject { .. }));
    assert!(!not_json.to_string().contains("plain-secret"));
}
