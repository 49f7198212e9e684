//! deletion-worker's configuration: one typed [`Config::from_env`] whose errors name the
//! variable.

use relay_core::config::VendorConfig;
use relay_core::env::{ConfigError, Env};
use relay_core::erasure::{ComplianceArchive, Eraser};
use relay_core::secrets::SecretResolver;
use relay_core::store::ObjectStore;
use relay_lambda::metrics::MetricsSink;

use crate::{Deps, Settings};

/// Everything the deletion-worker reads from its environment: [`VendorConfig::from_env`]
/// (Braze, with `BRAZE_EXPORT_IDS_PER_MINUTE` and `BRAZE_USERS_PER_MINUTE`, and Userflow),
/// `STATE_BUCKET` (progress, receipts, rejected messages; required), `ERASURE_ARCHIVE`
/// (`true` to archive what discovery exported before deleting; default `false`) with
/// `COMPLIANCE_BUCKET` (required when archiving) and `COMPLIANCE_KMS_KEY_ID` (the KMS key the
/// archive is encrypted with; default the account's `aws/s3` key),
/// `ERASURE_USERFLOW_CONCURRENCY` (Userflow deletions in flight, default 4),
/// `ERASURE_DEADLINE_MARGIN_MS` (time kept before the Lambda deadline, default 3000) and
/// `ERASURE_MAX_BATCH_MS` (default 600000).
#[derive(Debug)]
pub struct Config {
    /// Braze and Userflow.
    pub vendors: VendorConfig,
    /// The state bucket.
    pub state_bucket: String,
    /// The compliance archive; `None` when archiving is off.
    pub archive: Option<ArchiveConfig>,
    /// Userflow deletions in flight at once.
    pub userflow_concurrency: usize,
    /// Timing.
    pub settings: Settings,
}

/// Where the compliance archive goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// The compliance bucket.
    pub bucket: String,
    /// The KMS key (id, ARN or alias); `None`: the account's `aws/s3` key.
    pub kms_key_id: Option<String>,
}

impl Config {
    /// Reads and checks everything; secrets are resolved through `secrets`.
    pub async fn from_env(env: &Env, secrets: &SecretResolver) -> Result<Config, ConfigError> {
        let defaults = crate::DEFAULT_SETTINGS;
        let archive = if env.flag("ERASURE_ARCHIVE")? {
            Some(ArchiveConfig {
                bucket: env.required("COMPLIANCE_BUCKET").map_err(|_| {
                    ConfigError::new(
                        "COMPLIANCE_BUCKET",
                        "is required when ERASURE_ARCHIVE is true (where the archive goes)",
                    )
                })?,
                kms_key_id: env.get("COMPLIANCE_KMS_KEY_ID"),
            })
        } else {
            None
        };
        let userflow_concurrency = env.parsed("ERASURE_USERFLOW_CONCURRENCY", 4usize)?;
        if userflow_concurrency == 0 {
            return Err(ConfigError::new(
                "ERASURE_USERFLOW_CONCURRENCY",
                "must be above 0",
            ));
        }
        Ok(Config {
            vendors: VendorConfig::from_env(env, secrets).await?,
            state_bucket: env.required("STATE_BUCKET")?,
            archive,
            userflow_concurrency,
            settings: Settings {
                deadline_margin: env
                    .millis("ERASURE_DEADLINE_MARGIN_MS", defaults.deadline_margin)?,
                max_batch_time: env.millis("ERASURE_MAX_BATCH_MS", defaults.max_batch_time)?,
            },
        })
    }

    /// Builds the handler's dependencies: `state` over the state bucket, and, when archiving
    /// is on, the compliance bucket's store made by `archive_store`. Metrics are discarded
    /// until [`Deps::with_metrics`](crate::Deps::with_metrics) says where they go.
    pub fn into_deps<S: ObjectStore, A: ObjectStore>(
        self,
        http: reqwest::Client,
        state: S,
        archive_store: impl FnOnce(&ArchiveConfig) -> A,
    ) -> Result<Deps<S, A>, ConfigError> {
        let (braze, userflow) = self.vendors.clients(http)?;
        let archive = self.archive.map(|config| ComplianceArchive {
            store: archive_store(&config),
            bucket: config.bucket,
        });
        Ok(Deps {
            eraser: Eraser {
                braze,
                userflow,
                state,
                archive,
                userflow_concurrency: self.userflow_concurrency,
            },
            settings: self.settings,
            metrics: MetricsSink::discard(),
        })
    }
}
