//! S3 and SQS for the local stack: `AWS_ENDPOINT_URL` when set, otherwise moto started from
//! the project's `.venv` on a free port; then the state bucket, the sync queue and its
//! dead-letter queue, created idempotently by relay-core ([`relay_core::store::setup`],
//! [`relay_core::queue::setup`]).

use aws_config::SdkConfig;
use std::path::PathBuf;

use relay_core::aws::moto::{
    MOTO_ACCESS_KEY_ID, MOTO_REGION, MOTO_SECRET_ACCESS_KEY, Moto, PYTHON_VARIABLE,
};
use relay_core::aws::{s3_client, sqs_client};
use relay_core::queue::setup::{QueuePair, QueueWithDlq, ensure_queue_with_dlq};
use relay_core::store::setup::ensure_bucket;

use super::LocalError;
use super::config::LocalConfig;
use crate::Settings;
use crate::aws::{AWS_ENDPOINT_URL, AwsTarget, StaticCredentials};

/// S3 and SQS as the stack uses them.
#[derive(Debug)]
pub struct Aws {
    /// moto, when the stack started it (killed by PID when dropped).
    pub moto: Option<Moto>,
    /// The SDK configuration every client of the stack is built from.
    pub sdk: SdkConfig,
    /// Where that configuration points (always with an endpoint and a region).
    pub target: AwsTarget,
}

/// The state bucket and the sync queues, created.
#[derive(Debug, Clone)]
pub struct Resources {
    /// The state bucket's name.
    pub state_bucket: String,
    /// The export bucket's name.
    pub export_bucket: String,
    /// The compliance bucket's name.
    pub compliance_bucket: String,
    /// The sync queue and its dead-letter queue.
    pub sync: QueuePair,
    /// The erasure queue and its dead-letter queue.
    pub erasure: QueuePair,
}

impl Aws {
    /// `AWS_ENDPOINT_URL` from the settings, or moto started now (blocking work in
    /// `spawn_blocking`) with the settings' `RELAY_PYTHON` (so `--env-file`/`--set` reach it),
    /// else the project's `.venv`.
    pub async fn start(settings: &Settings) -> Result<Aws, LocalError> {
        let given = AwsTarget::from_settings(settings);
        let (target, moto) = match given.endpoint {
            Some(_) => (
                AwsTarget {
                    region: given.region.or_else(|| Some(MOTO_REGION.to_owned())),
                    ..given
                },
                None,
            ),
            None => {
                let python = settings.get(PYTHON_VARIABLE).map(PathBuf::from);
                let moto = tokio::task::spawn_blocking(move || Moto::start_with_python(python))
                    .await
                    .map_err(|error| {
                        LocalError::Moto(relay_core::aws::moto::MotoError::NotReady {
                            reason: format!("the starting thread failed: {error}"),
                        })
                    })??;
                let target = AwsTarget {
                    endpoint: Some(moto.endpoint().to_owned()),
                    region: Some(MOTO_REGION.to_owned()),
                    credentials: Some(StaticCredentials {
                        access_key_id: MOTO_ACCESS_KEY_ID.to_owned(),
                        secret_access_key: MOTO_SECRET_ACCESS_KEY.to_owned(),
                        session_token: None,
                    }),
                };
                (target, Some(moto))
            }
        };
        Ok(Aws {
            sdk: target.sdk_config().await,
            target,
            moto,
        })
    }

    /// The endpoint URL (set in every target [`Aws::start`] builds).
    pub fn endpoint(&self) -> &str {
        self.target.endpoint.as_deref().unwrap_or_default()
    }

    /// The region (set in every target [`Aws::start`] builds).
    pub fn region(&self) -> &str {
        self.target.region.as_deref().unwrap_or(MOTO_REGION)
    }

    /// moto's process id, when the stack started moto.
    pub fn moto_pid(&self) -> Option<u32> {
        self.moto.as_ref().map(Moto::pid)
    }

    /// Creates (or updates) the state, export and compliance buckets, and the sync and
    /// erasure queues with their dead-letter queues.
    pub async fn create_resources(&self, config: &LocalConfig) -> Result<Resources, LocalError> {
        let s3 = s3_client(&self.sdk);
        for bucket in [
            &config.state_bucket,
            &config.export_bucket,
            &config.compliance_bucket,
        ] {
            ensure_bucket(&s3, bucket).await?;
        }
        let sqs = sqs_client(&self.sdk);
        let queue = |name: &String, dlq_name: &String| QueueWithDlq {
            name: name.clone(),
            dlq_name: dlq_name.clone(),
            visibility_timeout: config.poll.visibility_timeout,
            max_receive_count: config.max_receive_count,
        };
        let sync =
            ensure_queue_with_dlq(&sqs, &queue(&config.sync_queue, &config.sync_dlq)).await?;
        let erasure =
            ensure_queue_with_dlq(&sqs, &queue(&config.erasure_queue, &config.erasure_dlq)).await?;
        Ok(Resources {
            state_bucket: config.state_bucket.clone(),
            export_bucket: config.export_bucket.clone(),
            compliance_bucket: config.compliance_bucket.clone(),
            sync,
            erasure,
        })
    }

    /// The variables other processes need to reach the same S3 and SQS.
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        if let Some(endpoint) = &self.target.endpoint {
            vars.push((AWS_ENDPOINT_URL.to_owned(), endpoint.clone()));
        }
        if let Some(region) = &self.target.region {
            vars.push(("AWS_REGION".to_owned(), region.clone()));
        }
        if let Some(credentials) = &self.target.credentials {
            vars.push((
                "AWS_ACCESS_KEY_ID".to_owned(),
                credentials.access_key_id.clone(),
            ));
            vars.push((
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                credentials.secret_access_key.clone(),
            ));
            if let Some(token) = &credentials.session_token {
                vars.push(("AWS_SESSION_TOKEN".to_owned(), token.clone()));
            }
        }
        vars
    }
}
