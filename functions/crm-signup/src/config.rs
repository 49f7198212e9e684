//! crm-signup's configuration: one typed [`Config::from_env`] whose errors name the variable.

use relay_core::config::VendorConfig;
use relay_core::crm::fetch::hubspot_clients;
use relay_core::crm::sources::{RELAY_SOURCES, SourcesConfig};
use relay_core::crm::{Sources, SourcesError};
use relay_core::delivery::{Deliverer, DeliveryOptions};
use relay_core::env::{ConfigError, Env};
use relay_core::queue::JobQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::ObjectStore;

use crate::{DEFAULT_DEADLINE, DEFAULT_MAX_BODY_BYTES, Deps, Settings};

/// Why crm-signup cannot start: a setting, or the webhook sources, named in the message.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A variable is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `RELAY_SOURCES` (or a source's secret) is not usable.
    #[error(transparent)]
    Sources(#[from] SourcesError),
}

/// One WARN line per source that its configuration lets accept requests without a secret
/// (`allow_unauthenticated`): the name only, never a secret or the organization id.
fn warn_unauthenticated(sources: &Sources) {
    for source in sources.unauthenticated() {
        tracing::warn!(
            source = %source.name,
            "source accepts requests authenticated only by the organization id (allow_unauthenticated, no URL token): anyone who knows the id can create or overwrite contacts"
        );
    }
}

/// Everything crm-signup reads from its environment.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `STATE_BUCKET` | S3 bucket for markers | required |
/// | `SYNC_QUEUE_URL` | SQS queue contacts are parked on | required |
/// | `RELAY_SOURCES` | JSON overriding / adding webhook sources | embedded defaults |
/// | `RELAY_PUBLIC_URL`, `HUBSPOT_API_BASE_URL`, the sources' secrets | see [`relay_core::crm::sources`] | |
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
    pub async fn from_env(env: &Env, secrets: &SecretResolver) -> Result<Config, StartupError> {
        let vendors = VendorConfig::from_env(env, secrets).await?;
        // The sources' errors name the variable (or the embedded defaults) themselves.
        let sources = SourcesConfig::from_env_json(env.get(RELAY_SOURCES).as_deref())?
            .resolve(secrets)
            .await?;
        warn_unauthenticated(&sources);
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
    ) -> Result<Deps<S, Q>, StartupError> {
        let (braze, userflow) = self.vendors.clients(http.clone())?;
        let hubspot = hubspot_clients(&self.sources, &http)?;
        Ok(Deps {
            sources: self.sources,
            hubspot,
            deliverer: Deliverer::new(braze, userflow, store, self.delivery),
            queue,
            settings: self.settings,
        })
    }
}
