//! The typed vendor configuration every function shares: Braze and Userflow settings read
//! from the environment, and the clients built from them.
//!
//! API keys are given either as a plain variable (`BRAZE_API_KEY`, local runs) or as a
//! secret reference (`BRAZE_API_KEY_SECRET=arn:aws:secretsmanager:...`, deployed), never both
//! (see [`SecretResolver::resolve_setting`]).

use crate::env::{ConfigError, Env};
use crate::secrets::SecretResolver;
use relay_clients::braze::{BrazeClient, BrazeConfig, BrazeEndpoint};
use relay_clients::upstream::RetryPolicy;
use relay_clients::userflow::{Region, UserflowClient, UserflowConfig};

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
    /// `BRAZE_TRACK_BATCH`, `BRAZE_TRACK_RATE`, `BRAZE_USERS_PER_MINUTE`,
    /// `BRAZE_EXPORT_IDS_PER_MINUTE`, `USERFLOW_API_KEY[_SECRET]`,
    /// `USERFLOW_REGION` (`us`/`eu`) or `USERFLOW_BASE_URL`, `USERFLOW_RATE`, and
    /// `UPSTREAM_RETRY_DEADLINE_MS` (how long one vendor call may keep retrying).
    pub async fn from_env(
        env: &Env,
        secrets: &SecretResolver,
    ) -> Result<VendorConfig, ConfigError> {
        Ok(VendorConfig {
            braze: VendorConfig::braze_from_env(env, secrets).await?,
            userflow: VendorConfig::userflow_from_env(env, secrets).await?,
        })
    }

    /// The Braze half of [`VendorConfig::from_env`]: `BRAZE_REST_ENDPOINT`,
    /// `BRAZE_ALLOW_CUSTOM_ENDPOINT`, `BRAZE_API_KEY[_SECRET]`, `BRAZE_TRACK_BATCH`,
    /// `BRAZE_TRACK_RATE`, `BRAZE_USERS_PER_MINUTE` (delete, merge, alias, identify; at most
    /// that many in any minute, default 2,000), `BRAZE_EXPORT_IDS_PER_MINUTE` (default 250),
    /// `UPSTREAM_RETRY_DEADLINE_MS`.
    pub async fn braze_from_env(
        env: &Env,
        secrets: &SecretResolver,
    ) -> Result<BrazeConfig, ConfigError> {
        let allow_custom = env.flag("BRAZE_ALLOW_CUSTOM_ENDPOINT")?;
        let endpoint = BrazeEndpoint::parse(&env.required("BRAZE_REST_ENDPOINT")?, allow_custom)
            .map_err(|e| ConfigError::unusable("BRAZE_REST_ENDPOINT", e))?;
        let braze_key = secrets.resolve_setting(env, "BRAZE_API_KEY").await?;
        let mut braze = BrazeConfig::new(endpoint, braze_key);
        braze.track_batch = env.parsed("BRAZE_TRACK_BATCH", BrazeConfig::DEFAULT_TRACK_BATCH)?;
        if !(1..=relay_clients::braze::MAX_TRACK_BATCH).contains(&braze.track_batch) {
            return Err(ConfigError::new(
                "BRAZE_TRACK_BATCH",
                "must be between 1 and 75 (Braze rejects larger requests whole)",
            ));
        }
        braze.rates.track = env.rate("BRAZE_TRACK_RATE", 100)?;
        braze.rates.users = env.limit_in_any_minute(
            "BRAZE_USERS_PER_MINUTE",
            relay_clients::braze::BrazeRates::USERS_PER_MINUTE,
        )?;
        braze.rates.export_ids = env.limit_in_any_minute(
            "BRAZE_EXPORT_IDS_PER_MINUTE",
            relay_clients::braze::BrazeRates::EXPORT_IDS_PER_MINUTE,
        )?;
        braze.retry = retry_policy(env)?;
        Ok(braze)
    }

    /// The Userflow half of [`VendorConfig::from_env`]: `USERFLOW_API_KEY[_SECRET]`,
    /// `USERFLOW_REGION` or `USERFLOW_BASE_URL`, `USERFLOW_RATE`, `UPSTREAM_RETRY_DEADLINE_MS`;
    /// read on its own by tools that check one vendor (`relay check`).
    pub async fn userflow_from_env(
        env: &Env,
        secrets: &SecretResolver,
    ) -> Result<UserflowConfig, ConfigError> {
        let userflow_key = secrets.resolve_setting(env, "USERFLOW_API_KEY").await?;
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
        userflow.rate = env.limit_in_any_second(
            "USERFLOW_RATE",
            relay_clients::userflow::DEFAULT_RATE_PER_SECOND,
        )?;
        userflow.retry = retry_policy(env)?;
        Ok(userflow)
    }

    /// Builds both clients on one HTTP client.
    pub fn clients(
        self,
        http: reqwest::Client,
    ) -> Result<(BrazeClient, UserflowClient), ConfigError> {
        let braze = BrazeClient::new(self.braze, http.clone())
            .map_err(|e| ConfigError::unusable("BRAZE_*", e))?;
        let userflow = UserflowClient::new(self.userflow, http)
            .map_err(|e| ConfigError::unusable("USERFLOW_*", e))?;
        Ok((braze, userflow))
    }
}

/// The retry policy of every vendor call, with `UPSTREAM_RETRY_DEADLINE_MS`.
fn retry_policy(env: &Env) -> Result<RetryPolicy, ConfigError> {
    Ok(RetryPolicy {
        deadline: env.millis(
            "UPSTREAM_RETRY_DEADLINE_MS",
            RetryPolicy::default().deadline,
        )?,
        ..RetryPolicy::default()
    })
}
