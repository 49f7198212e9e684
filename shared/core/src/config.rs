//! Reading the functions' configuration from the environment, with errors that name the
//! variable, and building the vendor clients every function shares.
//!
//! API keys are given either as a plain variable (`BRAZE_API_KEY`, local runs) or as a
//! secret reference (`BRAZE_API_KEY_SECRET=arn:aws:secretsmanager:...`, deployed), never both.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use secrecy::SecretString;

use crate::secrets::{SecretRef, SecretResolver};
use relay_clients::braze::{BrazeClient, BrazeConfig, BrazeEndpoint};
use relay_clients::upstream::{Rate, RetryPolicy};
use relay_clients::userflow::{Region, UserflowClient, UserflowConfig};

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable (or setting) at fault.
    pub variable: String,
    /// What is wrong with it (never its value when it may be a secret).
    pub problem: String,
}

impl ConfigError {
    /// An error about `variable`.
    pub fn new(variable: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            variable: variable.into(),
            problem: problem.into(),
        }
    }
}

/// Where settings are read from: the process environment, or a map in tests. `Debug` names
/// no value: variables hold keys and secrets.
#[derive(Clone, Default)]
pub struct Env {
    overrides: Option<HashMap<String, String>>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.overrides {
            None => f.write_str("Env(process)"),
            Some(map) => write!(f, "Env(fixed map of {} variables)", map.len()),
        }
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env { overrides: None }
    }

    /// A fixed set of variables (tests).
    pub fn from_map(map: HashMap<String, String>) -> Env {
        Env {
            overrides: Some(map),
        }
    }

    /// Whether this reads the process environment.
    pub fn is_process(&self) -> bool {
        self.overrides.is_none()
    }

    /// The variable's value; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.overrides {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// The variable's value, or an error saying it is required.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::new(name, "is required but not set"))
    }

    /// The variable parsed as `T`, or `default` when unset. Only for non-secret settings:
    /// the error quotes the value.
    pub fn parsed<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| ConfigError::new(name, format!("`{}` is not valid: {e}", raw.trim()))),
        }
    }

    /// A duration given in milliseconds.
    pub fn millis(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        let millis = self.parsed(name, default.as_millis() as u64)?;
        Ok(Duration::from_millis(millis))
    }

    /// A boolean: `true`/`false`/`1`/`0`.
    pub fn flag(&self, name: &str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::trim) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ConfigError::new(
                name,
                format!("`{other}` is not a boolean (true, false, 1, 0)"),
            )),
        }
    }

    /// A rate in requests per second (at least 1).
    pub fn rate(&self, name: &str, default_per_second: u32) -> Result<Rate, ConfigError> {
        let per_second: u32 = self.parsed(name, default_per_second)?;
        NonZeroU32::new(per_second)
            .map(Rate::per_second)
            .ok_or_else(|| ConfigError::new(name, "must be at least 1"))
    }

    /// A secret given as `NAME` (the value itself) or `NAME_SECRET` (a reference such as an
    /// ARN); exactly one of them must be set.
    pub async fn secret(
        &self,
        name: &str,
        secrets: &SecretResolver,
    ) -> Result<SecretString, ConfigError> {
        let reference_name = format!("{name}_SECRET");
        match (self.get(name), self.get(&reference_name)) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                name,
                format!("set either {name} or {reference_name}, not both"),
            )),
            (Some(value), None) => Ok(SecretString::from(value)),
            (None, Some(reference)) => {
                let reference = SecretRef::parse(&reference)
                    .map_err(|e| ConfigError::new(&reference_name, e.to_string()))?;
                secrets
                    .resolve(&reference)
                    .await
                    .map_err(|e| ConfigError::new(&reference_name, e.to_string()))
            }
            (None, None) => Err(ConfigError::new(
                name,
                format!(
                    "is required: set {name} (local runs) or {reference_name} (a secret reference)"
                ),
            )),
        }
    }
}

/// The AWS SDK configuration every function uses: the standard environment (region,
/// credentials, `AWS_ENDPOINT_URL` for moto), over an HTTPS client that trusts Mozilla's
/// roots compiled into the binary instead of reading the system certificate store at cold
/// start (the same roots as [`relay_clients::upstream::http_client`]).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_sdk_loader().load().await
}

/// [`aws_sdk_config`] before loading, for callers (tests against moto) that set more.
pub fn aws_sdk_loader() -> aws_config::ConfigLoader {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(MOZILLA_ROOTS_PEM);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("the compiled-in roots are valid certificates");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https();
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ConnectorOnFirstUse(http));
    // On Lambda the region and the role's credentials are environment variables: reading them
    // directly skips building the default provider chains (profile files, IMDS, SSO), which
    // took a millisecond of every cold start. Elsewhere the default chains apply.
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    match std::env::var("AWS_REGION") {
        Ok(region) if on_lambda => loader
            .region(aws_config::Region::new(region))
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
        _ => loader,
    }
}

/// Mozilla's root certificates (`webpki-root-certs`) in PEM, encoded by the build script.
const MOZILLA_ROOTS_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mozilla-roots.pem"));

/// The SDK's HTTPS client, minus the TLS connector it builds and drops whenever a service
/// client is constructed (its `validate_base_client_config` does that to load the system's
/// roots early, which we do not use). Parsing the trust store for nothing cost each S3 or
/// SQS client about 0.7 ms of cold start. Connectors are still built on first use, once per
/// timeout setting, and shared by every client of the config.
#[derive(Debug)]
struct ConnectorOnFirstUse(SharedHttpClient);

impl HttpClient for ConnectorOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Braze and Userflow settings shared by the functions.
#[derive(Debug, Clone)]
pub struct VendorConfig {
    /// Braze client configuration.
    pub braze: BrazeConfig,
    /// Userflow client configuration.
    pub userflow: UserflowConfig,
}

impl VendorConfig {
    /// Reads `BRAZE_REST_ENDPOINT`, `BRAZE_ALLOW_CUSTOM_ENDPOINT`, `BRAZE_API_KEY[_SECRET]`,
    /// `BRAZE_TRACK_BATCH`, `BRAZE_TRACK_RATE`, `USERFLOW_API_KEY[_SECRET]`,
    /// `USERFLOW_REGION` (`us`/`eu`) or `USERFLOW_BASE_URL`, `USERFLOW_RATE`, and
    /// `UPSTREAM_RETRY_DEADLINE_MS` (how long one vendor call may keep retrying).
    pub async fn from_env(
        env: &Env,
        secrets: &SecretResolver,
    ) -> Result<VendorConfig, ConfigError> {
        let allow_custom = env.flag("BRAZE_ALLOW_CUSTOM_ENDPOINT")?;
        let endpoint = BrazeEndpoint::parse(&env.required("BRAZE_REST_ENDPOINT")?, allow_custom)
            .map_err(|e| ConfigError::new("BRAZE_REST_ENDPOINT", e.to_string()))?;
        let retry = RetryPolicy {
            deadline: env.millis(
                "UPSTREAM_RETRY_DEADLINE_MS",
                RetryPolicy::default().deadline,
            )?,
            ..RetryPolicy::default()
        };
        let mut braze = BrazeConfig::new(endpoint, env.secret("BRAZE_API_KEY", secrets).await?);
        braze.track_batch = env.parsed("BRAZE_TRACK_BATCH", BrazeConfig::DEFAULT_TRACK_BATCH)?;
        if !(1..=relay_clients::braze::MAX_TRACK_BATCH).contains(&braze.track_batch) {
            return Err(ConfigError::new(
                "BRAZE_TRACK_BATCH",
                "must be between 1 and 75 (Braze rejects larger requests whole)",
            ));
        }
        braze.rates.track = env.rate("BRAZE_TRACK_RATE", 100)?;
        braze.retry = retry;
        let userflow_key = env.secret("USERFLOW_API_KEY", secrets).await?;
        let mut userflow = match env.get("USERFLOW_BASE_URL") {
            Some(base_url) => UserflowConfig::with_base_url(base_url, userflow_key),
            None => {
                let region = match env.get("USERFLOW_REGION").as_deref() {
                    None | Some("us") => Region::Us,
                    Some("eu") => Region::Eu,
                    Some(other) => {
                        return Err(ConfigError::new(
                            "USERFLOW_REGION",
                            format!("`{other}` is not a region (us, eu)"),
                        ));
                    }
                };
                UserflowConfig::for_region(region, userflow_key)
            }
        };
        userflow.rate = env.rate(
            "USERFLOW_RATE",
            relay_clients::userflow::DEFAULT_RATE_PER_SECOND,
        )?;
        userflow.retry = retry;
        Ok(VendorConfig { braze, userflow })
    }

    /// Builds both clients on one HTTP client.
    pub fn clients(
        self,
        http: reqwest::Client,
    ) -> Result<(BrazeClient, UserflowClient), ConfigError> {
        let braze = BrazeClient::new(self.braze, http.clone())
            .map_err(|e| ConfigError::new("BRAZE_*", e.to_string()))?;
        let userflow = UserflowClient::new(self.userflow, http)
            .map_err(|e| ConfigError::new("USERFLOW_*", e.to_string()))?;
        Ok((braze, userflow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_s3::config::ConfigBag;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;

    /// What the SDK asked of an HTTP client.
    #[derive(Debug, Default)]
    struct Asked {
        validations: AtomicUsize,
        connectors: AtomicUsize,
    }

    /// An HTTP client that records what it is asked and connects to nothing.
    #[derive(Debug)]
    struct Recording(Arc<Asked>);

    impl HttpClient for Recording {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.0.connectors.fetch_add(1, Ordering::SeqCst);
            SharedHttpConnector::new(NoNetwork)
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            self.0.validations.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[derive(Debug)]
    struct NoNetwork;

    impl HttpConnector for NoNetwork {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Err(ConnectorError::other("no network here".into(), None)))
        }
    }

    #[tokio::test]
    async fn when_service_clients_are_built_then_no_connector_is_made_before_a_request() {
        let asked = Arc::new(Asked::default());
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "key", "secret", None, None, "test",
            )))
            .http_client(ConnectorOnFirstUse(SharedHttpClient::new(Recording(
                asked.clone(),
            ))))
            .build();

        let s3 = crate::store::s3_client(&sdk);
        let _sqs = crate::queue::sqs_client(&sdk);
        assert_eq!(asked.validations.load(Ordering::SeqCst), 0);
        assert_eq!(asked.connectors.load(Ordering::SeqCst), 0);

        let answer = s3.head_bucket().bucket("relay-state").send().await;

        assert!(answer.is_err(), "nothing can connect");
        assert!(
            asked.connectors.load(Ordering::SeqCst) >= 1,
            "the request asked for one"
        );
        assert_eq!(asked.validations.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn when_the_build_time_pem_bundle_is_decoded_then_it_is_exactly_the_compiled_in_roots() {
        use base64::Engine;
        let pem = std::str::from_utf8(MOZILLA_ROOTS_PEM).expect("PEM is ASCII");
        let decoded: Vec<Vec<u8>> = pem
            .split("-----END CERTIFICATE-----\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let body = block
                    .strip_prefix("-----BEGIN CERTIFICATE-----\n")
                    .expect("every block starts with a BEGIN line");
                assert!(body.lines().all(|line| line.len() <= 64), "{body}");
                base64::engine::general_purpose::STANDARD
                    .decode(body.replace('\n', ""))
                    .expect("valid base64")
            })
            .collect();
        let expected: Vec<&[u8]> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| der.as_ref())
            .collect();
        assert!(expected.len() > 100, "{} roots", expected.len());
        assert_eq!(decoded, expected);
    }

    #[test]
    fn when_settings_are_debug_printed_then_no_value_appears() {
        let env = Env::from_map(HashMap::from([(
            "BRAZE_API_KEY".into(),
            "sk-live-123".into(),
        )]));
        let printed = format!("{env:?}");
        assert!(!printed.contains("sk-live-123"), "{printed}");
        assert!(printed.contains("1 variables"), "{printed}");
    }

    #[test]
    fn when_a_number_is_malformed_then_the_error_names_the_variable() {
        let env = Env::from_map(HashMap::from([("WEBHOOK_DEADLINE_MS".into(), "4s".into())]));
        let error = env
            .millis("WEBHOOK_DEADLINE_MS", Duration::from_secs(4))
            .unwrap_err();
        assert_eq!(error.variable, "WEBHOOK_DEADLINE_MS");
        assert!(error.to_string().contains("`4s` is not valid"), "{error}");
        assert_eq!(
            env.required("STATE_BUCKET").unwrap_err().to_string(),
            "STATE_BUCKET: is required but not set"
        );
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
        let key = env.secret("KEY", &secrets).await.unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&key), "k-1");
        let (env, secrets) = vars(&[("KEY", "a"), ("KEY_SECRET", "env:B")]);
        let both = env.secret("KEY", &secrets).await.unwrap_err().to_string();
        assert!(both.contains("either KEY or KEY_SECRET"), "{both}");
        let (env, secrets) = vars(&[]);
        let neither = env.secret("KEY", &secrets).await.unwrap_err();
        assert_eq!(neither.variable, "KEY");
    }
}
