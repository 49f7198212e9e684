//! Reading settings from the environment, with errors that name the variable.
//!
//! [`Env`] is the one way the relay reads its environment: the process's variables when
//! deployed, a fixed map in tests (no process-wide mutation). [`ConfigError`] is what every
//! setting fails with, whichever module reads it; it depends on nothing else in the crate, so
//! the secret resolver and the vendor configuration can both build on it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use relay_clients::upstream::Rate;

/// The error another component gave for a setting it refused, kept whole as the cause.
pub type CauseError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A configuration problem, naming the variable (or setting) at fault.
///
/// Where another component's error is the reason (a number that does not parse, a secret
/// reference that does not resolve, a vendor endpoint a client refuses), that error is kept
/// as the [`source`](std::error::Error::source) rather than flattened into text, so callers
/// can inspect it (`downcast_ref::<SecretError>()` and the like).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unset when required, out of range, or not one of the accepted words.
    #[error("{variable}: {problem}")]
    Invalid {
        /// The environment variable (or setting) at fault.
        variable: String,
        /// What is wrong with it (never its value when it may be a secret).
        problem: String,
    },
    /// Not parseable as the type the setting needs (only non-secret settings are parsed, so
    /// quoting the value is safe).
    #[error("{variable}: `{value}` is not valid: {source}")]
    Malformed {
        /// The environment variable at fault.
        variable: String,
        /// The value as given, trimmed.
        value: String,
        /// Why it does not parse.
        #[source]
        source: CauseError,
    },
    /// Refused by the component it configures; that component's error says why.
    #[error("{variable}: {source}")]
    Unusable {
        /// The environment variable (or setting) at fault.
        variable: String,
        /// The component's error (never holding a secret's value).
        #[source]
        source: CauseError,
    },
}

impl ConfigError {
    /// An error about `variable`, described by `problem`.
    pub fn new(variable: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            variable: variable.into(),
            problem: problem.into(),
        }
    }

    /// `variable` was refused by a component whose error, `cause`, says why.
    pub fn unusable(variable: impl Into<String>, cause: impl Into<CauseError>) -> ConfigError {
        ConfigError::Unusable {
            variable: variable.into(),
            source: cause.into(),
        }
    }

    /// The environment variable (or setting) at fault.
    pub fn variable(&self) -> &str {
        match self {
            ConfigError::Invalid { variable, .. }
            | ConfigError::Malformed { variable, .. }
            | ConfigError::Unusable { variable, .. } => variable,
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

    /// A fixed set of variables given as `(name, value)` pairs (tests, tools).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        )
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
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => {
                let value = raw.trim();
                value.parse().map_err(|source| ConfigError::Malformed {
                    variable: name.to_owned(),
                    value: value.to_owned(),
                    source: Box::new(source),
                })
            }
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

    /// A rate in requests per second (at least 1), with a burst of one second's worth.
    pub fn rate(&self, name: &str, default_per_second: u32) -> Result<Rate, ConfigError> {
        self.count(name, default_per_second).map(Rate::per_second)
    }

    /// A limit of requests in any one second (at least 1), paced so that no one-second
    /// interval holds more ([`Rate::within_any_second`]): for a vendor whose windows are
    /// unknown.
    pub fn limit_in_any_second(
        &self,
        name: &str,
        default_per_second: u32,
    ) -> Result<Rate, ConfigError> {
        self.count(name, default_per_second)
            .map(Rate::within_any_second)
    }

    /// A limit of requests in any one minute (at least 1), paced so that no minute holds
    /// more ([`Rate::within_any_window`]): Braze's per-minute limits.
    pub fn limit_in_any_minute(
        &self,
        name: &str,
        default_per_minute: u32,
    ) -> Result<Rate, ConfigError> {
        self.count(name, default_per_minute)
            .map(|limit| Rate::within_any_window(limit, Duration::from_secs(60)))
    }

    /// A count of requests (at least 1).
    fn count(&self, name: &str, default: u32) -> Result<NonZeroU32, ConfigError> {
        let count: u32 = self.parsed(name, default)?;
        NonZeroU32::new(count).ok_or_else(|| ConfigError::new(name, "must be at least 1"))
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
        assert_eq!(error.variable(), "WEBHOOK_DEADLINE_MS");
        assert!(error.to_string().contains("`4s` is not valid"), "{error}");
        assert_eq!(
            env.required("STATE_BUCKET").unwrap_err().to_string(),
            "STATE_BUCKET: is required but not set"
        );
    }

    #[test]
    fn when_a_number_is_malformed_then_the_parse_error_is_the_source() {
        let env = Env::from_map(HashMap::from([("BRAZE_TRACK_RATE".into(), " -3 ".into())]));
        let error = env.rate("BRAZE_TRACK_RATE", 100).unwrap_err();
        let source = std::error::Error::source(&error).expect("a cause");
        assert!(
            source.downcast_ref::<std::num::ParseIntError>().is_some(),
            "{source:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("BRAZE_TRACK_RATE: `-3` is not valid: {source}")
        );
    }
}
