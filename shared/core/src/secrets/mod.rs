//! Secret references, resolved once at cold start.
//!
//! Configuration never holds a secret itself, only where to find it: a [`SecretRef`] is
//! `env:NAME` (an environment variable, for local runs and simple deployments) or a Secrets
//! Manager ARN, optionally followed by `#key` to pick one field of a JSON secret.
//! [`SecretResolver::resolve`] turns a reference into a [`SecretString`], fetching each ARN
//! at most once per process (a cold start reads every secret it needs, then never again).
//! [`SecretResolver::resolve_setting`] reads a setting given either as its value (`NAME`) or
//! as a reference (`NAME_SECRET`).
//!
//! Errors name the reference (the variable or the ARN), never the value; a string that is not
//! a reference is not echoed at all, in case a raw secret was pasted where a reference belongs.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::aws::secrets_manager_client;
use crate::env::{ConfigError, Env};

const ENV_PREFIX: &str = "env:";
const ARN_PREFIX: &str = "arn:";

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SecretRef {
    /// `env:NAME`: the environment variable `NAME`.
    Env(String),
    /// `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[#key]`: a Secrets Manager secret,
    /// the whole secret string, or the string field `key` of a JSON secret.
    SecretsManager {
        /// The secret's ARN (without `#key`).
        arn: String,
        /// The field of a JSON secret to use, when given.
        json_key: Option<String>,
    },
}

/// Why a string is not a secret reference. Messages never quote the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    /// Neither `env:` nor a Secrets Manager ARN.
    #[error(
        "a secret reference must start with env: or arn:aws:secretsmanager: (optionally followed by #key to pick a field of a JSON secret)"
    )]
    UnknownForm,
    /// `env:` followed by something that is not a variable name.
    #[error(
        "the variable name after env: must be ASCII letters, digits and _, not starting with a digit"
    )]
    BadVariableName,
    /// An ARN that is not a Secrets Manager secret's.
    #[error(
        "not a Secrets Manager secret ARN: expected arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
    )]
    BadArn,
    /// `ARN#` with nothing after `#`.
    #[error("the #key after the ARN is empty")]
    EmptyKey,
}

impl SecretRef {
    /// Parses `env:NAME`, `arn:aws:secretsmanager:...:secret:NAME` or the same ARN followed by
    /// `#key`. Surrounding whitespace is ignored.
    pub fn parse(raw: &str) -> Result<SecretRef, SecretRefError> {
        let raw = raw.trim();
        if let Some(name) = raw.strip_prefix(ENV_PREFIX) {
            return if is_variable_name(name) {
                Ok(SecretRef::Env(name.to_owned()))
            } else {
                Err(SecretRefError::BadVariableName)
            };
        }
        if !raw.starts_with(ARN_PREFIX) {
            return Err(SecretRefError::UnknownForm);
        }
        let (arn, json_key) = match raw.split_once('#') {
            Some((_, "")) => return Err(SecretRefError::EmptyKey),
            Some((arn, key)) => (arn, Some(key.to_owned())),
            None => (raw, None),
        };
        if !is_secret_arn(arn) {
            // Only `arn:` was recognised; anything looking like `arn:aws:s3:...` lands here.
            return Err(if arn.split(':').nth(2) == Some("secretsmanager") {
                SecretRefError::BadArn
            } else {
                SecretRefError::UnknownForm
            });
        }
        Ok(SecretRef::SecretsManager {
            arn: arn.to_owned(),
            json_key,
        })
    }
}

/// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`, every part non-empty.
fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "secretsmanager"
        && parts[5] == "secret"
        && parts.iter().all(|part| !part.is_empty())
        && !arn.chars().any(char::is_whitespace)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "{ENV_PREFIX}{name}"),
            SecretRef::SecretsManager {
                arn,
                json_key: None,
            } => f.write_str(arn),
            SecretRef::SecretsManager {
                arn,
                json_key: Some(key),
            } => write!(f, "{arn}#{key}"),
        }
    }
}

impl std::str::FromStr for SecretRef {
    type Err = SecretRefError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        SecretRef::parse(raw)
    }
}

impl TryFrom<String> for SecretRef {
    type Error = SecretRefError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        SecretRef::parse(&raw)
    }
}

impl From<SecretRef> for String {
    fn from(reference: SecretRef) -> String {
        reference.to_string()
    }
}

/// Why a reference cannot be resolved. Names the reference, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset, or empty.
    #[error("environment variable {name} is not set (or is empty)")]
    EnvUnset {
        /// The variable's name.
        name: String,
    },
    /// An ARN was given but this resolver has no Secrets Manager client (local runs).
    #[error(
        "{arn}: Secrets Manager is not available in this run; use an env: reference for local runs"
    )]
    NoSecretsManager {
        /// The secret's ARN.
        arn: String,
    },
    /// Secrets Manager has no such secret (or no current version of it).
    #[error("{arn}: no such secret in Secrets Manager")]
    NotFound {
        /// The secret's ARN.
        arn: String,
    },
    /// Secrets Manager could not be read (permissions, network, throttling).
    #[error("{arn}: cannot read the secret from Secrets Manager: {message}")]
    Fetch {
        /// The secret's ARN.
        arn: String,
        /// The SDK's description of the failure (never contains the secret).
        message: String,
    },
    /// The secret has no string value (it was stored as binary).
    #[error("{arn}: the secret holds binary data; store it as a secret string")]
    NotText {
        /// The secret's ARN.
        arn: String,
    },
    /// `#key` was given but the secret is not a JSON object.
    #[error("{arn}#{key}: the secret is not a JSON object, so it has no field {key}")]
    NotJsonObject {
        /// The secret's ARN.
        arn: String,
        /// The requested field.
        key: String,
    },
    /// The JSON secret has no such field.
    #[error("{arn}#{key}: the JSON secret has no field {key}")]
    MissingKey {
        /// The secret's ARN.
        arn: String,
        /// The requested field.
        key: String,
    },
    /// The JSON secret's field is not a string.
    #[error("{arn}#{key}: the field {key} is not a string")]
    KeyNotString {
        /// The secret's ARN.
        arn: String,
        /// The requested field.
        key: String,
    },
    /// The secret (or the field) is empty.
    #[error("{reference}: the secret is empty")]
    Empty {
        /// The reference as written (`arn` or `arn#key`).
        reference: String,
    },
}

impl SecretError {
    /// Whether the reference is an environment variable that is simply not set: for optional
    /// features this means "not configured" rather than "misconfigured".
    pub fn is_unset_env(&self) -> bool {
        matches!(self, SecretError::EnvUnset { .. })
    }
}

/// Resolves [`SecretRef`]s: environment variables from the process (or a fixed map in
/// tests), ARNs from Secrets Manager, each ARN fetched once and cached for the process's life.
///
/// Clones share the cache.
#[derive(Clone)]
pub struct SecretResolver {
    env: Env,
    client: Option<SecretsManager>,
    cache: Arc<Mutex<HashMap<String, SecretString>>>,
}

/// The Secrets Manager client, or what builds it on the first ARN: building an SDK client
/// costs about a millisecond of cold start, wasted when every secret comes from `env:`.
#[derive(Clone)]
enum SecretsManager {
    Ready(aws_sdk_secretsmanager::Client),
    Lazy(
        Arc<aws_config::SdkConfig>,
        Arc<std::sync::OnceLock<aws_sdk_secretsmanager::Client>>,
    ),
}

impl SecretsManager {
    fn client(&self) -> &aws_sdk_secretsmanager::Client {
        match self {
            SecretsManager::Ready(client) => client,
            SecretsManager::Lazy(sdk, client) => client.get_or_init(|| secrets_manager_client(sdk)),
        }
    }
}

impl fmt::Debug for SecretResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env = if self.env.is_process() {
            "process"
        } else {
            "fixed map"
        };
        f.debug_struct("SecretResolver")
            .field("env", &env)
            .field("secrets_manager", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl SecretResolver {
    fn new(env: Env, client: Option<SecretsManager>) -> SecretResolver {
        SecretResolver {
            env,
            client,
            cache: Arc::default(),
        }
    }

    /// Reads the process environment only (local runs); an ARN reference is an error that
    /// says so.
    pub fn env_only() -> SecretResolver {
        SecretResolver::new(Env::process(), None)
    }

    /// Reads the process environment and Secrets Manager through `client` (deployed runs).
    pub fn with_secrets_manager(client: aws_sdk_secretsmanager::Client) -> SecretResolver {
        SecretResolver::new(Env::process(), Some(SecretsManager::Ready(client)))
    }

    /// Reads the process environment, and Secrets Manager through a client built from `sdk`
    /// when the first ARN is resolved (deployed runs: no client is built when every secret
    /// is an `env:` reference).
    pub fn with_secrets_manager_from(sdk: &aws_config::SdkConfig) -> SecretResolver {
        let lazy = SecretsManager::Lazy(Arc::new(sdk.clone()), Arc::default());
        SecretResolver::new(Env::process(), Some(lazy))
    }

    /// Reads environment variables from `vars` instead of the process (tests: no process-wide
    /// mutation); ARNs are errors.
    pub fn from_env_map(vars: HashMap<String, String>) -> SecretResolver {
        SecretResolver::new(Env::from_map(vars), None)
    }

    /// The same resolver, also reading Secrets Manager through `client` (e.g. a fixed map of
    /// variables plus moto in tests).
    pub fn and_secrets_manager(self, client: aws_sdk_secretsmanager::Client) -> SecretResolver {
        SecretResolver {
            client: Some(SecretsManager::Ready(client)),
            ..self
        }
    }

    /// A (non-secret) environment variable from the same source the resolver reads `env:`
    /// references from; unset and blank are the same (`None`). Lets configuration that
    /// depends on plain variables (`RELAY_PUBLIC_URL`) be tested without touching the process.
    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).map(|value| value.trim().to_owned())
    }

    /// Resolves `reference`. Surrounding whitespace (a pasted newline) is trimmed; an empty
    /// value is an error.
    pub async fn resolve(&self, reference: &SecretRef) -> Result<SecretString, SecretError> {
        match reference {
            SecretRef::Env(name) => self
                .env_var(name)
                .map(SecretString::from)
                .ok_or_else(|| SecretError::EnvUnset { name: name.clone() }),
            SecretRef::SecretsManager { arn, json_key } => {
                let whole = self.fetch(arn).await?;
                let value = match json_key {
                    None => whole,
                    Some(key) => json_field(arn, key, whole.expose_secret())?,
                };
                if value.expose_secret().trim().is_empty() {
                    return Err(SecretError::Empty {
                        reference: reference.to_string(),
                    });
                }
                Ok(SecretString::from(value.expose_secret().trim()))
            }
        }
    }

    /// A setting that is a secret, given as `NAME` (the value itself) or `NAME_SECRET` (a
    /// reference such as an ARN, resolved here); exactly one of them must be set in `env`.
    /// A reference that does not parse or resolve is kept as the error's source.
    pub async fn resolve_setting(
        &self,
        env: &Env,
        name: &str,
    ) -> Result<SecretString, ConfigError> {
        let reference_name = format!("{name}_SECRET");
        match (env.get(name), env.get(&reference_name)) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                name,
                format!("set either {name} or {reference_name}, not both"),
            )),
            (Some(value), None) => Ok(SecretString::from(value)),
            (None, Some(reference)) => {
                let reference = SecretRef::parse(&reference)
                    .map_err(|e| ConfigError::unusable(&reference_name, e))?;
                self.resolve(&reference)
                    .await
                    .map_err(|e| ConfigError::unusable(&reference_name, e))
            }
            (None, None) => Err(ConfigError::new(
                name,
                format!(
                    "is required: set {name} (local runs) or {reference_name} (a secret reference)"
                ),
            )),
        }
    }

    /// The whole secret string behind `arn`, from the cache or from Secrets Manager. The lock
    /// is held across the fetch so concurrent resolutions of one ARN fetch it once.
    async fn fetch(&self, arn: &str) -> Result<SecretString, SecretError> {
        let mut cache = self.cache.lock().await;
        if let Some(value) = cache.get(arn) {
            return Ok(value.clone());
        }
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| SecretError::NoSecretsManager {
                arn: arn.to_owned(),
            })?
            .client();
        let output = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|error| {
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    SecretError::NotFound {
                        arn: arn.to_owned(),
                    }
                } else {
                    SecretError::Fetch {
                        arn: arn.to_owned(),
                        message: aws_sdk_secretsmanager::error::DisplayErrorContext(&error)
                            .to_string(),
                    }
                }
            })?;
        let value = output
            .secret_string()
            .map(SecretString::from)
            .ok_or_else(|| SecretError::NotText {
                arn: arn.to_owned(),
            })?;
        tracing::debug!(arn, "read a secret from Secrets Manager");
        cache.insert(arn.to_owned(), value.clone());
        Ok(value)
    }
}

fn json_field(arn: &str, key: &str, whole: &str) -> Result<SecretString, SecretError> {
    let names = || (arn.to_owned(), key.to_owned());
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(whole).map_err(|_| {
            let (arn, key) = names();
            SecretError::NotJsonObject { arn, key }
        })?;
    match object.get(key) {
        Some(serde_json::Value::String(value)) => Ok(SecretString::from(value.as_str())),
        Some(_) => {
            let (arn, key) = names();
            Err(SecretError::KeyNotString { arn, key })
        }
        None => {
            let (arn, key) = names();
            Err(SecretError::MissingKey { arn, key })
        }
    }
}

#[cfg(test)]
mod tests;
