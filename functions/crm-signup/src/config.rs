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
use relay_lambda::metrics::MetricsSink;

use crate::{
    DEFAULT_DEADLINE, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONTACTS, DEFAULT_PARKING_TIME, Deps,
    Settings,
};

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

/// One INFO line per source that is not enabled, with what to set: the operator learns it
/// here, while a caller of such a source gets the same 404 as for an unknown name.
fn log_disabled(sources: &Sources) {
    for (source, reason) in sources.disabled() {
        tracing::info!(source, reason, "source not enabled");
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
/// | `WEBHOOK_DEADLINE_MS` | the answer's deadline | 4000 |
/// | `WEBHOOK_PARKING_MS` | the end of the deadline kept for parking | 1000, at most a quarter of the deadline |
/// | `WEBHOOK_MAX_BODY_BYTES` | largest body | 1048576 |
/// | `WEBHOOK_MAX_CONTACTS` | most records per request | 1000 |
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
        log_disabled(&sources);
        let settings = settings_from_env(env)?;
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

    /// Builds the handler's dependencies on the given HTTP client, store and queue. Metrics
    /// are discarded until [`Deps::with_metrics`] says where they go.
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
            metrics: MetricsSink::discard(),
        })
    }
}

/// The request limits and timing; the parking time must leave time to deliver.
fn settings_from_env(env: &Env) -> Result<Settings, ConfigError> {
    let deadline = env.millis("WEBHOOK_DEADLINE_MS", DEFAULT_DEADLINE)?;
    let settings = Settings {
        max_body_bytes: env.parsed("WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
        max_contacts: env.parsed("WEBHOOK_MAX_CONTACTS", DEFAULT_MAX_CONTACTS)?,
        deadline,
        // A shorter deadline keeps a proportionate share for parking.
        parking_time: env.millis("WEBHOOK_PARKING_MS", DEFAULT_PARKING_TIME.min(deadline / 4))?,
    };
    if settings.max_contacts == 0 {
        return Err(ConfigError::new(
            "WEBHOOK_MAX_CONTACTS",
            "must be at least 1",
        ));
    }
    if settings.parking_time.is_zero() || settings.parking_time >= settings.deadline {
        return Err(ConfigError::new(
            "WEBHOOK_PARKING_MS",
            format!(
                "must be above 0 and below WEBHOOK_DEADLINE_MS ({} ms), so some of the deadline is left to deliver",
                settings.deadline.as_millis()
            ),
        ));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    #[test]
    fn when_nothing_is_set_then_the_documented_defaults_apply() {
        let settings = settings_from_env(&env(&[])).unwrap();
        assert_eq!(settings.max_contacts, 1000);
        assert_eq!(settings.parking_time.as_millis(), 1000);
        assert_eq!(settings.deadline.as_millis(), 4000);
    }

    #[test]
    fn when_only_a_short_deadline_is_set_then_parking_keeps_a_quarter_of_it() {
        let settings = settings_from_env(&env(&[("WEBHOOK_DEADLINE_MS", "300")])).unwrap();
        assert_eq!(settings.parking_time.as_millis(), 75);
    }

    #[test]
    fn when_parking_time_leaves_no_time_to_deliver_then_the_variable_is_named() {
        for (deadline, parking) in [("4000", "4000"), ("2000", "3000"), ("4000", "0")] {
            let error = settings_from_env(&env(&[
                ("WEBHOOK_DEADLINE_MS", deadline),
                ("WEBHOOK_PARKING_MS", parking),
            ]))
            .unwrap_err();
            assert_eq!(
                error.variable(),
                "WEBHOOK_PARKING_MS",
                "{deadline}/{parking}"
            );
        }
    }

    #[test]
    fn when_max_contacts_is_zero_then_the_variable_is_named() {
        let error = settings_from_env(&env(&[("WEBHOOK_MAX_CONTACTS", "0")])).unwrap_err();
        assert_eq!(error.variable(), "WEBHOOK_MAX_CONTACTS");
    }
}
