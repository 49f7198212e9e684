//! The settings every command reads, under the functions' own variable names: the process
//! environment, then `--env-file` (dotenv), then `--set NAME=VALUE`, each overriding the one
//! before. Commands read them through relay-core's [`Env`] and [`SecretResolver`], so a
//! missing or malformed setting is the same error, naming the variable, as in a function.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use relay_core::env::{ConfigError, Env};
use relay_core::secrets::SecretResolver;

use crate::error::CliError;

/// Merged settings. `Debug` shows names only: values hold keys and secrets.
#[derive(Clone, Default)]
pub struct Settings {
    vars: HashMap<String, String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Settings").field("names", &names).finish()
    }
}

impl Settings {
    /// The process environment, overridden by `env_file`, overridden by `set` (`NAME=VALUE`).
    pub fn load(env_file: Option<&Path>, set: &[String]) -> Result<Settings, CliError> {
        let mut vars: HashMap<String, String> = std::env::vars().collect();
        if let Some(path) = env_file {
            let entries = dotenvy::from_path_iter(path).map_err(|error| {
                CliError::usage(format!("--env-file {}: {error}", path.display()))
            })?;
            for entry in entries {
                let (name, value) = entry.map_err(|error| {
                    CliError::usage(format!("--env-file {}: {error}", path.display()))
                })?;
                vars.insert(name, value);
            }
        }
        for pair in set {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| CliError::usage(format!("--set {pair:?}: expected NAME=VALUE")))?;
            if name.trim().is_empty() {
                return Err(CliError::usage(format!(
                    "--set {pair:?}: the name is empty"
                )));
            }
            vars.insert(name.trim().to_owned(), value.to_owned());
        }
        Ok(Settings { vars })
    }

    /// Settings from a map only (tests, and `relay local` building a function's variables).
    pub fn from_map(vars: HashMap<String, String>) -> Settings {
        Settings { vars }
    }

    /// One setting; empty counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }

    /// One setting that must be present: the error names the variable.
    pub fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::new(name, "is not set (environment, --env-file or --set)"))
    }

    /// A copy with `name` set to `value` (what `relay local` adds for the functions).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Settings {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    /// Every variable, for a function's configuration.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// relay-core's environment reader over these settings.
    pub fn env(&self) -> Env {
        Env::from_map(self.vars.clone())
    }

    /// A secret resolver reading these settings (and no secrets manager): `NAME` or
    /// `NAME_SECRET` as the functions read them.
    pub fn secrets(&self) -> SecretResolver {
        SecretResolver::from_env_map(self.vars.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_setting_is_given_three_ways_then_set_beats_file_beats_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relay.env");
        std::fs::write(&file, "RELAY_TEST_FROM_FILE=file\nRELAY_TEST_BOTH=file\n").unwrap();
        let settings = Settings::load(
            Some(&file),
            &[
                "RELAY_TEST_BOTH=flag".to_owned(),
                "RELAY_TEST_EQ=a=b".to_owned(),
            ],
        )
        .unwrap();
        assert_eq!(settings.get("RELAY_TEST_FROM_FILE"), Some("file"));
        assert_eq!(settings.get("RELAY_TEST_BOTH"), Some("flag"));
        assert_eq!(settings.get("RELAY_TEST_EQ"), Some("a=b"));
    }

    #[test]
    fn when_a_required_setting_is_missing_then_the_error_names_it() {
        let settings = Settings::from_map(HashMap::new());
        let error = settings.required("BRAZE_API_KEY").unwrap_err();
        assert_eq!(error.variable(), "BRAZE_API_KEY");
    }

    #[test]
    fn when_the_env_file_is_missing_or_a_set_has_no_equals_then_it_is_a_usage_error() {
        let missing = Settings::load(Some(Path::new("/nonexistent/relay.env")), &[]).unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/relay.env"),
            "{missing}"
        );
        let bad = Settings::load(None, &["NOEQUALS".to_owned()]).unwrap_err();
        assert!(bad.to_string().contains("NAME=VALUE"), "{bad}");
    }
}
