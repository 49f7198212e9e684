//! Reading the functions' configuration from the environment, with errors that name the
//! variable, and building the vendor clients every function shares.
//!
//! API keys are given either as a plain variable (`BRAZE_API_KEY`, local runs) or as a
//! secret reference (`BRAZE_API_KEY_SECRET=arn:aws:secretsmanager:...`, deployed), never both.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::braze::{BrazeClient, BrazeConfig, BrazeEndpoint};
use crate::secrets::{SecretRef, SecretResolver};
use crate::upstream::{Rate, RetryPolicy};
use crate::userflow::{Region, UserflowClient, UserflowConfig};

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
/// start (the same roots as [`crate::upstream::http_client`]).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    use base64::Engine;
    let mut pem = String::new();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem.into_bytes());
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
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    // On Lambda the region and the role's credentials are environment variables: reading them
    // directly skips building the default provider chains (profile files, IMDS, SSO), which
    // took a millisecond of every cold start. Elsewhere the default chains apply.
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let loader = match std::env::var("AWS_REGION") {
        Ok(region) if on_lambda => loader
            .region(aws_config::Region::new(region))
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
        _ => loader,
    };
    loader.load().await
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
        if !(1..=crate::braze::MAX_TRACK_BATCH).contains(&braze.track_batch) {
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
        userflow.rate = env.rate("USERFLOW_RATE", crate::userflow::DEFAULT_RATE_PER_SECOND)?;
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
