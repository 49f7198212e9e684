//! crm-signup's configuration: one typed [`Config::from_env`] whose errors name the variable.

use std::collections::HashMap;

use relay_clients::hubspot::{HubspotClient, HubspotConfig};
use relay_core::config::VendorConfig;
use relay_core::crm::Sources;
use relay_core::crm::sources::{RELAY_SOURCES, SourcesConfig};
use relay_core::delivery::{Deliverer, DeliveryOptions};
use relay_core::env::{ConfigError, Env};
use relay_core::queue::JobQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::ObjectStore;

use crate::{DEFAULT_DEADLINE, DEFAULT_MAX_BODY_BYTES, Deps, Settings};

/// Everything crm-signup reads from its environment.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `STATE_BUCKET` | S3 bucket for markers | required |
/// | `SYNC_QUEUE_URL` | SQS queue contacts are parked on | required |
/// | `RELAY_SOURCES` | JSON overriding / adding webhook sources | embedded defaults |
/// | `WEBHOOK_DEADLINE_MS` | per-request deadline | 4000 |
/// | `WEBHOOK_MAX_BODY_BYTES` | largest body | 1048576 |
///
/// plus the vendor settings of [`VendorConfig::from_env`] and the delivery settings of
/// [`DeliveryOptions::from_env`].
#[derive(Debug)]
pub struct Config {
    /// Braze and Userflow.
    pub vendors: VendorConfig,
    /// Webhook sources, secrets resolved.
    pub sources: Sources,
    /// State bucket name.
    pub state_bucket: String,
    /// Sync queue URL.
    pub sync_queue_url: String,
    /// Limits and timing.
    pub settings: Settings,
    /// Delivery tunables.
    pub delivery: DeliveryOptions,
}

impl Config {
    /// Reads and checks everything; secrets are resolved through `secrets`.
    pub async fn from_env(env: &Env, secrets: &SecretResolver) -> Result<Config, ConfigError> {
        let vendors = VendorConfig::from_env(env, secrets).await?;
        // The sources' errors name the variable (or the embedded defaults) themselves.
        let sources_error = |e: relay_core::crm::sources::ConfigError| {
            let message = e.to_string();
            match message.split_once(": ") {
                Some((variable, problem)) if variable == RELAY_SOURCES => {
                    ConfigError::new(variable, problem)
                }
                _ => ConfigError::new(RELAY_SOURCES, message),
            }
        };
        let sources = SourcesConfig::from_env_json(env.get(RELAY_SOURCES).as_deref())
            .map_err(sources_error)?
            .resolve(secrets)
            .await
            .map_err(sources_error)?;
        let settings = Settings {
            max_body_bytes: env.parsed("WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            deadline: env.millis("WEBHOOK_DEADLINE_MS", DEFAULT_DEADLINE)?,
        };
        let delivery = DeliveryOptions::from_env(env)?;
        Ok(Config {
            vendors,
            sources,
            state_bucket: env.required("STATE_BUCKET")?,
            sync_queue_url: env.required("SYNC_QUEUE_URL")?,
            settings,
            delivery,
        })
    }

    /// Builds the handler's dependencies on the given HTTP client, store and queue.
    pub fn into_deps<S: ObjectStore, Q: JobQueue>(
        self,
        http: reqwest::Client,
        store: S,
        queue: Q,
    ) -> Result<Deps<S, Q>, ConfigError> {
        let (braze, userflow) = self.vendors.clients(http.clone())?;
        let mut hubspot = HashMap::new();
        for source in self.sources.enabled() {
            if let Some(api) = &source.hubspot_api {
                let name = source.name.clone();
                let config = HubspotConfig::new(api.base_url.clone(), api.token.clone());
                let client = HubspotClient::new(config, http.clone()).map_err(|e| {
                    ConfigError::new(format!("RELAY_SOURCES ({name}.hubspot_api)"), e.to_string())
                })?;
                hubspot.insert(name, client);
            }
        }
        Ok(Deps {
            sources: self.sources,
            hubspot,
            deliverer: Deliverer::new(braze, userflow, store, self.delivery),
            queue,
            settings: self.settings,
        })
    }
}
