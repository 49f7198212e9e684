//! export-callback's configuration: one typed [`Config::from_env`] whose errors name the
//! variable.

use relay_core::env::{ConfigError, Env};
use relay_core::export::callback::CallbackSigner;
use relay_core::export::location::ExportLocation;
use relay_core::secrets::SecretResolver;
use relay_lambda::metrics::MetricsSink;

use crate::Deps;

/// Everything export-callback reads from its environment: `STATE_BUCKET` (manifests),
/// `EXPORT_BUCKET` (where Braze writes the files), `EXPORT_BUCKET_FOLDER` (optional folder
/// before `segment-export/`), `SYNC_QUEUE_URL` (where the file jobs go) and
/// `EXPORT_CALLBACK_SECRET` (see [`CallbackSigner::from_env`]).
pub struct Config {
    /// State bucket name.
    pub state_bucket: String,
    /// Export bucket name.
    pub export_bucket: String,
    /// The export bucket's layout.
    pub location: ExportLocation,
    /// The sync queue's URL.
    pub sync_queue_url: String,
    /// Verifies the callback URLs.
    pub signer: CallbackSigner,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("state_bucket", &self.state_bucket)
            .field("export_bucket", &self.export_bucket)
            .field("location", &self.location)
            .field("sync_queue_url", &self.sync_queue_url)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and checks everything; the secret is resolved through `secrets`.
    pub async fn from_env(env: &Env, secrets: &SecretResolver) -> Result<Config, ConfigError> {
        Ok(Config {
            state_bucket: env.required("STATE_BUCKET")?,
            export_bucket: env.required("EXPORT_BUCKET")?,
            location: ExportLocation::in_folder(
                &env.get("EXPORT_BUCKET_FOLDER").unwrap_or_default(),
            ),
            sync_queue_url: env.required("SYNC_QUEUE_URL")?,
            signer: CallbackSigner::from_env(env, secrets).await?,
        })
    }

    /// The handler's dependencies over the given stores and queue. Metrics are discarded
    /// until [`Deps::with_metrics`] says where they go.
    pub fn into_deps<S, E, Q>(self, state: S, exports: E, queue: Q) -> Deps<S, E, Q> {
        Deps {
            state,
            exports,
            queue,
            location: self.location,
            signer: self.signer,
            metrics: MetricsSink::discard(),
        }
    }
}
