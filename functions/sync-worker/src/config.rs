//! sync-worker's configuration: one typed [`Config::from_env`] whose errors name the variable.

use relay_core::config::VendorConfig;
use relay_core::delivery::{Deliverer, DeliveryOptions};
use relay_core::env::{ConfigError, Env};
use relay_core::export::line::ExportMapping;
use relay_core::export::reader::ReaderLimits;
use relay_core::export::sync::FileSyncSettings;
use relay_core::queue::JobQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::ObjectStore;
use relay_lambda::metrics::MetricsSink;

use crate::{Deps, ExportFiles, Settings};

/// Everything the sync-worker reads from its environment: `STATE_BUCKET` and
/// `SYNC_QUEUE_URL` (its own queue, where unfinished remainders are parked again; required),
/// `SYNC_DEADLINE_MARGIN_MS` (time kept before the Lambda deadline, default 3000),
/// `SYNC_MAX_BATCH_MS` (default 60000), plus [`VendorConfig::from_env`] and
/// [`DeliveryOptions::from_env`]; for `export_file` jobs, [`ExportConfig::from_env`], and
/// `ERASURE_QUEUE_URL` for those of exports whose action is `erase`.
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
    /// Export files; `None` without `EXPORT_BUCKET`.
    pub exports: Option<ExportConfig>,
    /// The erasure queue's URL (`ERASURE_QUEUE_URL`), for exports whose action is `erase`.
    pub erasure_queue_url: Option<String>,
}

/// How `export_file` jobs are read: `EXPORT_BUCKET` (where Braze writes; without it the
/// worker reads no export), the mapping ([`ExportMapping::from_env`]:
/// `EXPORT_USERFLOW_MAPPING`, `EXPORT_CUSTOM_ATTRIBUTES`), `EXPORT_USERFLOW_CONCURRENCY`
/// (upserts in flight per file, default 8), `EXPORT_CHECKPOINT_LINES` (default 2000),
/// `EXPORT_CHECKPOINT_MS` (default 10000), and the guards `EXPORT_MAX_LINE_BYTES` (default
/// 1 MiB), `EXPORT_MAX_INFLATED_BYTES` (per member, default 4 GiB) and `EXPORT_MAX_RATIO`
/// (inflated / compressed, default 200).
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// The export bucket.
    pub bucket: String,
    /// Export lines to Userflow upserts.
    pub mapping: ExportMapping,
    /// Concurrency, checkpoints, guards.
    pub settings: FileSyncSettings,
}

impl ExportConfig {
    /// `None` when `EXPORT_BUCKET` is unset.
    pub fn from_env(env: &Env) -> Result<Option<ExportConfig>, ConfigError> {
        let Some(bucket) = env.get("EXPORT_BUCKET") else {
            return Ok(None);
        };
        let defaults = FileSyncSettings::default();
        let limits = ReaderLimits::default();
        let settings = FileSyncSettings {
            concurrency: positive(env, "EXPORT_USERFLOW_CONCURRENCY", defaults.concurrency)?,
            checkpoint_lines: positive(env, "EXPORT_CHECKPOINT_LINES", defaults.checkpoint_lines)?,
            checkpoint_interval: env
                .millis("EXPORT_CHECKPOINT_MS", defaults.checkpoint_interval)?,
            limits: ReaderLimits {
                max_line_bytes: positive(env, "EXPORT_MAX_LINE_BYTES", limits.max_line_bytes)?,
                max_inflated_bytes: positive(
                    env,
                    "EXPORT_MAX_INFLATED_BYTES",
                    limits.max_inflated_bytes,
                )?,
                max_ratio: positive(env, "EXPORT_MAX_RATIO", limits.max_ratio)?,
                ..limits
            },
            ..defaults
        };
        Ok(Some(ExportConfig {
            bucket,
            mapping: ExportMapping::from_env(env)?,
            settings,
        }))
    }
}

/// A number setting that must be above zero.
fn positive<T>(env: &Env, name: &str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Default + Copy,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value = env.parsed(name, default)?;
    if value <= T::default() {
        return Err(ConfigError::new(name, "must be above 0"));
    }
    Ok(value)
}

impl Config {
    /// Reads and checks everything; secrets are resolved through `secrets`.
    pub async fn from_env(env: &Env, secrets: &SecretResolver) -> Result<Config, ConfigError> {
        let defaults = crate::DEFAULT_SETTINGS;
        Ok(Config {
            vendors: VendorConfig::from_env(env, secrets).await?,
            state_bucket: env.required("STATE_BUCKET")?,
            sync_queue_url: env.required("SYNC_QUEUE_URL")?,
            settings: Settings {
                deadline_margin: env.millis("SYNC_DEADLINE_MARGIN_MS", defaults.deadline_margin)?,
                max_batch_time: env.millis("SYNC_MAX_BATCH_MS", defaults.max_batch_time)?,
            },
            delivery: DeliveryOptions::from_env(env)?,
            exports: ExportConfig::from_env(env)?,
            erasure_queue_url: env.get("ERASURE_QUEUE_URL"),
        })
    }

    /// Builds the handler's dependencies; `s3` reads the export bucket, and `erasure_queue`
    /// makes the erasure queue's client from its URL when one is configured. Metrics are
    /// discarded until [`Deps::with_metrics`] says where they go.
    pub fn into_deps<S: ObjectStore, Q: JobQueue>(
        self,
        http: reqwest::Client,
        store: S,
        queue: Q,
        s3: aws_sdk_s3::Client,
        erasure_queue: impl FnOnce(String) -> Q,
    ) -> Result<Deps<S, Q>, ConfigError> {
        let (braze, userflow) = self.vendors.clients(http)?;
        Ok(Deps {
            deliverer: Deliverer::new(braze, userflow, store, self.delivery),
            queue,
            settings: self.settings,
            erasures: self.erasure_queue_url.map(erasure_queue),
            exports: self.exports.map(|exports| ExportFiles {
                s3,
                bucket: exports.bucket,
                mapping: exports.mapping,
                settings: exports.settings,
            }),
            metrics: MetricsSink::discard(),
        })
    }
}
