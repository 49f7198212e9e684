//! The functions' dependencies, built as their `main.rs` builds them: `Config::from_env` over
//! the merged settings plus what the local stack adds, then `into_deps` on the relay's HTTP
//! client, the S3 store and the SQS queue (both on the stack's SDK configuration).
//!
//! One difference: metrics are discarded. On Lambda each invocation prints an EMF line on
//! stdout; here stdout carries the stack's own JSON line, and there is no CloudWatch.

use aws_config::SdkConfig;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{s3_client, secrets_manager_client, sqs_client};
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::{Encryption, S3Store};
use relay_lambda::metrics::MetricsSink;

use super::LocalError;
use crate::Settings;

/// crm-signup's dependencies on S3 and SQS.
pub type SignupDeps = crm_signup::Deps<S3Store, SqsQueue>;
/// sync-worker's dependencies on S3 and SQS.
pub type WorkerDeps = sync_worker::Deps<S3Store, SqsQueue>;
/// deletion-worker's dependencies on S3 (state and compliance buckets).
pub type DeletionDeps = deletion_worker::Deps<S3Store, S3Store>;
/// export-callback's dependencies on S3 (state and export buckets) and SQS.
pub type CallbackDeps = export_callback::Deps<S3Store, S3Store, SqsQueue>;

/// The resolver the functions get: the settings for `NAME` / `env:` references, and Secrets
/// Manager on the stack's endpoint for ARNs.
fn secrets(settings: &Settings, sdk: &SdkConfig) -> SecretResolver {
    settings
        .secrets()
        .and_secrets_manager(secrets_manager_client(sdk))
}

/// crm-signup's [`crm_signup::Config`] and deps from `settings` (the functions' variables).
pub async fn crm_signup(settings: &Settings, sdk: &SdkConfig) -> Result<SignupDeps, LocalError> {
    let config = crm_signup::Config::from_env(&settings.env(), &secrets(settings, sdk))
        .await
        .map_err(signup_error)?;
    let store = S3Store::new(s3_client(sdk), config.state_bucket.clone());
    let queue = SqsQueue::new(sqs_client(sdk), config.sync_queue_url.clone());
    let deps = config
        .into_deps(http_client(HttpTimeouts::default()), store, queue)
        .map_err(signup_error)?;
    Ok(deps.with_metrics(MetricsSink::discard()))
}

/// sync-worker's [`sync_worker::Config`] and deps from `settings`.
pub async fn sync_worker(settings: &Settings, sdk: &SdkConfig) -> Result<WorkerDeps, LocalError> {
    let config = sync_worker::Config::from_env(&settings.env(), &secrets(settings, sdk)).await?;
    let s3 = s3_client(sdk);
    let store = S3Store::new(s3.clone(), config.state_bucket.clone());
    let sqs = sqs_client(sdk);
    let queue = SqsQueue::new(sqs.clone(), config.sync_queue_url.clone());
    let erasure_queue = |url| SqsQueue::new(sqs, url);
    let deps = config.into_deps(
        http_client(HttpTimeouts::default()),
        store,
        queue,
        s3,
        erasure_queue,
    )?;
    Ok(deps.with_metrics(MetricsSink::discard()))
}

/// deletion-worker's [`deletion_worker::Config`] and deps from `settings`: the compliance
/// archive (when `ERASURE_ARCHIVE` is on) asks for SSE-KMS as it does on AWS.
pub async fn deletion_worker(
    settings: &Settings,
    sdk: &SdkConfig,
) -> Result<DeletionDeps, LocalError> {
    let config =
        deletion_worker::Config::from_env(&settings.env(), &secrets(settings, sdk)).await?;
    let s3 = s3_client(sdk);
    let state = S3Store::new(s3.clone(), config.state_bucket.clone());
    let deps = config.into_deps(http_client(HttpTimeouts::default()), state, |archive| {
        S3Store::new(s3, archive.bucket.clone())
            .with_encryption(Encryption::Kms(archive.kms_key_id.clone()))
    })?;
    Ok(deps.with_metrics(MetricsSink::discard()))
}

/// export-callback's [`export_callback::Config`] and deps from `settings`.
pub async fn export_callback(
    settings: &Settings,
    sdk: &SdkConfig,
) -> Result<CallbackDeps, LocalError> {
    let config =
        export_callback::Config::from_env(&settings.env(), &secrets(settings, sdk)).await?;
    let s3 = s3_client(sdk);
    let state = S3Store::new(s3.clone(), config.state_bucket.clone());
    let exports = S3Store::new(s3, config.export_bucket.clone());
    let queue = SqsQueue::new(sqs_client(sdk), config.sync_queue_url.clone());
    Ok(config
        .into_deps(state, exports, queue)
        .with_metrics(MetricsSink::discard()))
}

/// A configuration error keeps its variable (exit 2 naming it); the sources' errors name
/// their own setting in the message.
fn signup_error(error: crm_signup::StartupError) -> LocalError {
    match error {
        crm_signup::StartupError::Config(config) => LocalError::Config(config),
        other => LocalError::Function {
            function: "crm-signup",
            message: other.to_string(),
        },
    }
}
