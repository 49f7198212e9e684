//! The environment `infra/template.yaml` gives each function is one the function accepts.
//!
//! The template is expanded offline (`infra/checks/expand.py`, as `make infra-check` does),
//! each function's `Environment.Variables` rendered with stand-ins for what CloudFormation
//! would create (bucket names, queue URLs, the key's ARN) and real secrets on moto's Secrets
//! Manager, and then handed to that function's own `Config::from_env`, the code its cold
//! start runs. So a misspelt required variable, a malformed `RELAY_SOURCES`, a secret
//! reference the resolver cannot read or a value a parser refuses fails here, not at the
//! first cold start in AWS. Every variable the template sets must also be documented in
//! docs/configuration.md, which lists every variable the relay reads.
//!
//! Needs the checkers' venv (`make infra-check` or `make infra-venv` creates it).

mod intrinsics;

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use intrinsics::{Rendered, Stack};
use relay_core::env::Env;
use relay_core::secrets::SecretResolver;
use relay_tests::{Moto, unique_name, workspace_root};
use serde_json::Value;

const FUNCTIONS: [&str; 4] = [
    "CrmSignupFunction",
    "ExportCallbackFunction",
    "SyncWorkerFunction",
    "DeletionWorkerFunction",
];
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The template expanded by aws-sam-translator, as JSON.
fn expanded_template() -> Value {
    let root = workspace_root();
    let python = root.join(".venv/infra/bin/python");
    assert!(
        python.exists(),
        "{} not found: run make infra-venv (make test does) first",
        python.display()
    );
    let out = tempfile::tempdir().expect("temp dir");
    let target = out.path().join("expanded.json");
    let output = Command::new(&python)
        .arg(root.join("infra/checks/expand.py"))
        .arg(root.join("infra/template.yaml"))
        .arg(&target)
        .output()
        .expect("expand.py runs");
    assert!(
        output.status.success(),
        "expand.py failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(&target).expect("expanded template")).expect("JSON")
}

/// The stack's secrets, created on moto with `webhook_secrets` as the webhook JSON.
struct Secrets {
    client: aws_sdk_secretsmanager::Client,
    arns: HashMap<&'static str, String>,
}

async fn create_secrets(moto: &Moto, webhook_secrets: &str) -> Secrets {
    let client = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let mut arns = HashMap::new();
    for (logical_id, value) in [
        ("BrazeApiKeySecret", "braze-rest-key-0123456789"),
        ("UserflowApiKeySecret", "ct_userflow_key_0123456789"),
        ("WebhookSecrets", webhook_secrets),
        (
            "ExportCallbackSecret",
            "GeneratedBySecretsManager48CharactersLongAbcdefgh",
        ),
    ] {
        let created = client
            .create_secret()
            .name(unique_name(&format!("relay/{logical_id}")))
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create {logical_id} on moto: {e:?}"));
        arns.insert(logical_id, created.arn().expect("an ARN").to_owned());
    }
    Secrets { client, arns }
}

/// Every function's variables, rendered for `parameters`.
fn function_environments(
    template: &Value,
    secrets: &Secrets,
    overrides: &[(&str, &str)],
) -> HashMap<&'static str, HashMap<String, String>> {
    let queue_url = |name: &str| format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}");
    let mut refs: HashMap<String, String> = secrets
        .arns
        .iter()
        .map(|(id, arn)| ((*id).to_owned(), arn.clone()))
        .collect();
    for (id, physical) in [
        ("StateBucket", "relay-state-bucket".to_owned()),
        ("ExportBucket", "relay-export-bucket".to_owned()),
        ("ComplianceBucket", "relay-compliance-bucket".to_owned()),
        ("SyncQueue", queue_url("relay-sync")),
        ("ErasureQueue", queue_url("relay-erasure")),
        (
            "RelayKey",
            "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
        ),
    ] {
        refs.insert(id.to_owned(), physical);
    }
    let attributes = HashMap::from([("RelayKey.Arn".to_owned(), KEY_ARN.to_owned())]);
    let stack = Stack {
        template,
        parameters: Stack::parameters_with(template, overrides),
        refs,
        attributes,
    };
    FUNCTIONS
        .iter()
        .map(|function| {
            let resource = &template["Resources"][function];
            assert_eq!(resource["Type"], "AWS::Lambda::Function", "{function}");
            let variables = resource["Properties"]["Environment"]["Variables"]
                .as_object()
                .unwrap_or_else(|| panic!("{function} has environment variables"));
            let rendered = variables
                .iter()
                .filter_map(|(name, value)| {
                    match stack
                        .render(value)
                        .unwrap_or_else(|e| panic!("{function} {name}: {e}"))
                    {
                        Rendered::Text(text) => Some((name.clone(), text)),
                        Rendered::NoValue => None,
                    }
                })
                .collect();
            (*function, rendered)
        })
        .collect()
}

/// What every required parameter without a default is set to.
const REQUIRED: [(&str, &str); 3] = [
    ("BrazeRestEndpoint", "https://rest.iad-01.braze.com"),
    ("BrazeAwsAccountId", "210987654321"),
    ("BrazeExternalId", "braze-external-id"),
];

/// Every source enabled, archives on.
const EVERYTHING_ON: [(&str, &str); 7] = [
    ("EnableStandardWebhooks", "true"),
    ("EnableHubspot", "true"),
    ("EnableSalesforce", "true"),
    ("EnablePipedrive", "true"),
    ("RelayPublicUrl", "https://relay.example.com"),
    ("SalesforceOrganizationId", "00D5g000004abcd"),
    ("ErasureArchive", "true"),
];

const ALL_WEBHOOK_SECRETS: &str = r#"{"standard_webhooks":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  "hubspot_client_secret":"hs-client-secret","hubspot_access_token":"pat-na1-token",
  "salesforce_url_token":"sf-url-token-0123456789","pipedrive_password":"pd-password"}"#;

fn resolver(variables: &HashMap<String, String>, secrets: &Secrets) -> (Env, SecretResolver) {
    (
        Env::from_map(variables.clone()),
        SecretResolver::from_env_map(variables.clone()).and_secrets_manager(secrets.client.clone()),
    )
}

/// Each function's own cold-start configuration on its rendered variables; for crm-signup,
/// the names of the enabled sources.
async fn configure_every_function(
    environments: &HashMap<&'static str, HashMap<String, String>>,
    secrets: &Secrets,
) -> BTreeSet<String> {
    let (env, resolver_) = resolver(&environments["ExportCallbackFunction"], secrets);
    export_callback::Config::from_env(&env, &resolver_)
        .await
        .unwrap_or_else(|e| panic!("export-callback refuses the template's variables: {e}"));
    let (env, resolver_) = resolver(&environments["SyncWorkerFunction"], secrets);
    let sync = sync_worker::Config::from_env(&env, &resolver_)
        .await
        .unwrap_or_else(|e| panic!("sync-worker refuses the template's variables: {e}"));
    assert!(
        sync.exports.is_some(),
        "the sync-worker reads the export bucket"
    );
    let (env, resolver_) = resolver(&environments["DeletionWorkerFunction"], secrets);
    deletion_worker::Config::from_env(&env, &resolver_)
        .await
        .unwrap_or_else(|e| panic!("deletion-worker refuses the template's variables: {e}"));
    // Every main.rs also reads its metrics target at cold start.
    for (function, variables) in environments {
        relay_lambda::metrics::EmfTarget::from_lookup(
            |name| variables.get(name).cloned(),
            function,
        )
        .unwrap_or_else(|e| panic!("{function} refuses the template's metrics settings: {e}"));
    }
    let (env, resolver_) = resolver(&environments["CrmSignupFunction"], secrets);
    let signup = crm_signup::Config::from_env(&env, &resolver_)
        .await
        .unwrap_or_else(|e| panic!("crm-signup refuses the template's variables: {e}"));
    signup
        .sources
        .enabled()
        .map(|source| source.name.clone())
        .collect()
}

#[tokio::test]
async fn when_the_template_is_deployed_with_its_defaults_then_every_function_accepts_its_environment_and_no_source_is_enabled()
 {
    let template = expanded_template();
    let moto = Moto::start();
    let secrets = create_secrets(&moto, "{}").await;
    let environments = function_environments(&template, &secrets, &REQUIRED);

    let enabled = configure_every_function(&environments, &secrets).await;
    assert!(
        enabled.is_empty(),
        "no source is enabled by default: {enabled:?}"
    );
    let deletion = &environments["DeletionWorkerFunction"];
    assert_eq!(deletion["ERASURE_ARCHIVE"], "false");
}

#[tokio::test]
async fn when_every_source_and_the_archive_are_enabled_then_each_function_accepts_its_environment_with_the_secrets_it_names()
 {
    let template = expanded_template();
    let moto = Moto::start();
    let secrets = create_secrets(&moto, ALL_WEBHOOK_SECRETS).await;
    let overrides: Vec<_> = REQUIRED.iter().chain(&EVERYTHING_ON).copied().collect();
    let environments = function_environments(&template, &secrets, &overrides);

    let enabled = configure_every_function(&environments, &secrets).await;
    assert_eq!(
        enabled,
        BTreeSet::from(
            [
                "hubspot",
                "pipedrive",
                "salesforce-outbound",
                "standard-webhooks"
            ]
            .map(String::from)
        )
    );
    let (env, resolver_) = resolver(&environments["DeletionWorkerFunction"], &secrets);
    let deletion = deletion_worker::Config::from_env(&env, &resolver_)
        .await
        .expect("config");
    assert!(
        deletion.archive.is_some(),
        "ErasureArchive=true turns the archive on"
    );
}

#[tokio::test]
async fn when_an_enabled_source_has_no_field_in_the_webhook_secret_then_crm_signup_names_the_missing_field()
 {
    let template = expanded_template();
    let moto = Moto::start();
    // Pipedrive is enabled, but its field was never put into the secret.
    let secrets = create_secrets(&moto, r#"{"hubspot_client_secret":"x"}"#).await;
    let overrides: Vec<_> = REQUIRED
        .iter()
        .chain(&[("EnablePipedrive", "true")])
        .copied()
        .collect();
    let environments = function_environments(&template, &secrets, &overrides);

    let (env, resolver_) = resolver(&environments["CrmSignupFunction"], &secrets);
    let error = crm_signup::Config::from_env(&env, &resolver_)
        .await
        .expect_err("a source without its secret cannot start")
        .to_string();
    let reference = format!("{}#pipedrive_password", secrets.arns["WebhookSecrets"]);
    assert!(error.contains(&reference), "names {reference}: {error}");
}

#[tokio::test]
async fn when_the_template_sets_a_variable_then_docs_configuration_documents_it() {
    let template = expanded_template();
    let documented =
        std::fs::read_to_string(workspace_root().join("docs/configuration.md")).expect("docs");
    let mut undocumented = Vec::new();
    for function in FUNCTIONS {
        let variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
            .as_object()
            .expect("variables");
        for name in variables.keys() {
            if !documented.contains(&format!("`{name}`")) {
                undocumented.push(format!("{function}: {name}"));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "set by the template but not in docs/configuration.md: {undocumented:?}"
    );
}

#[tokio::test]
async fn when_the_metrics_namespace_parameter_is_reserved_for_aws_then_the_cold_start_refuses_it() {
    let template = expanded_template();
    let moto = Moto::start();
    let secrets = create_secrets(&moto, "{}").await;
    let overrides: Vec<_> = REQUIRED
        .iter()
        .chain(&[("MetricsNamespace", "AWS/Lambda")])
        .copied()
        .collect();
    let environments = function_environments(&template, &secrets, &overrides);
    for (function, variables) in &environments {
        assert_eq!(variables["METRICS_NAMESPACE"], "AWS/Lambda", "{function}");
        let refused = relay_lambda::metrics::EmfTarget::from_lookup(
            |name| variables.get(name).cloned(),
            function,
        );
        assert!(refused.is_err(), "{function} must refuse an AWS/ namespace");
    }
}
