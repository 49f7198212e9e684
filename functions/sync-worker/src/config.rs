//! sync-worker's configuration: one typed [`Config::from_env`] whose errors name the variable.

use relay_core::config::VendorConfig;
use relay_core::delivery::{Deliverer, DeliveryOptions};
use relay_core::env::{ConfigError, Env};
use relay_core::queue::JobQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::ObjectStore;

use crate::{Deps, Settings};

/// Everything the sync-worker reads from its environment: `STATE_BUCKET` and
/// `SYNC_QUEUE_URL` (its own queue, where unfinished remainders are parked again; required),
/// `SYNC_DEADLINE_MARGIN_MS` (time kept before the Lambda deadline, default 3000),
/// `SYNC_MAX_BATCH_MS` (default 60000), plus [`VendorConfig::from_env`] and
/// [`DeliveryOptions::from_env`].
#[derive(Debug)]
pub struct Config {
    /// Braze and Userflow.
    pub vendors: VendorConfig,
    /// State bucket name (markers, failure records).
    pub state_bucket: String,
    /// The sync queue's URL.
    pub sync_queue_url: String,
    /// Timing.
    pub settings: Settings,
    /// Delivery tunables.
    pub delivery: DeliveryOptions,
}

impl Config {
    /// Reads and checks everything; secrets are resolved through `secrets`.
    pub async fn from_env(env: &Env, secrets: &SecretResolver) -> Result<Config, ConfigError> {
        let defaults = Settings::default();
        Ok(Config {
            vendors: VendorConfig::from_env(env, secrets).await?,
            state_bucket: env.required("STATE_BUCKET")?,
            sync_queue_url: env.required("SYNC_QUEUE_URL")?,
            settings: Settings {
                deadline_margin: env.millis("SYNC_DEADLINE_MARGIN_MS", defaults.deadline_margin)?,
                max_batch_time: env.millis("SYNC_MAX_BATCH_MS", defaults.max_batch_time)?,
            },
            delivery: DeliveryOptions::from_env(env)?,
        })
    }

    /// Builds the handler's dependencies.
    pub fn into_deps<S: ObjectStore, Q: JobQueue>(
        self,
        http: reqwest::Client,
        store: S,
        queue: Q,
    ) -> Result<Deps<S, Q>, ConfigError> {
        let (braze, userflow) = self.vendors.clients(http)?;
        Ok(Deps {
            deliverer: Deliverer::new(braze, userflow, store, self.delivery),
            queue,
            settings: self.settings,
        })
    }
}
