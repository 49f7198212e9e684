//! S3 and SQS for the local stack: `AWS_ENDPOINT_URL` when set, otherwise moto started from
//! the project's `.venv` on a free port; then the state bucket, the sync queue and its
//! dead-letter queue, created idempotently by relay-core ([`relay_core::store::setup`],
//! [`relay_core::queue::setup`]).

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use relay_core::aws::moto::{MOTO_ACCESS_KEY_ID, MOTO_REGION, MOTO_SECRET_ACCESS_KEY, Moto};
use relay_core::aws::{aws_sdk_loader, s3_client, sqs_client};
use relay_core::queue::setup::{QueuePair, QueueWithDlq, ensure_queue_with_dlq};
use relay_core::store::setup::ensure_bucket;

use super::LocalError;
use super::config::LocalConfig;
use crate::Settings;

/// The endpoint variable every AWS SDK honours.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// S3 and SQS as the stack uses them.
#[derive(Debug)]
pub struct Aws {
    /// moto, when the stack started it (killed by PID when dropped).
    pub moto: Option<Moto>,
    /// The SDK configuration every client of the stack is built from.
    pub sdk: SdkConfig,
    /// The endpoint URL.
    pub endpoint: String,
    /// The region.
    pub region: String,
    /// Static credentials to hand on (moto's test keys, or the ones given in the settings).
    pub credentials: Option<(String, String)>,
}

/// The state bucket and the sync queues, created.
#[derive(Debug, Clone)]
pub struct Resources {
    /// The state bucket's name.
    pub state_bucket: String,
    /// The sync queue and its dead-letter queue.
    pub sync: QueuePair,
}

impl Aws {
    /// `AWS_ENDPOINT_URL` from the settings, or moto started now (blocking work in
    /// `spawn_blocking`).
    pub async fn start(settings: &Settings) -> Result<Aws, LocalError> {
        let given = settings
            .get("AWS_ACCESS_KEY_ID")
            .zip(settings.get("AWS_SECRET_ACCESS_KEY"))
            .map(|(id, secret)| (id.to_owned(), secret.to_owned()));
        match settings.get(AWS_ENDPOINT_URL) {
            Some(endpoint) => {
                let region = settings
                    .get("AWS_REGION")
                    .or_else(|| settings.get("AWS_DEFAULT_REGION"))
                    .unwrap_or(MOTO_REGION)
                    .to_owned();
                let sdk = sdk_config(endpoint, &region, given.as_ref()).await;
                Ok(Aws {
                    moto: None,
                    sdk,
                    endpoint: endpoint.to_owned(),
                    region,
                    credentials: given,
                })
            }
            None => {
                let moto = tokio::task::spawn_blocking(Moto::start)
                    .await
                    .map_err(|error| {
                        LocalError::Moto(relay_core::aws::moto::MotoError::NotReady {
                            reason: format!("the starting thread failed: {error}"),
                        })
                    })??;
                let credentials = (
                    MOTO_ACCESS_KEY_ID.to_owned(),
                    MOTO_SECRET_ACCESS_KEY.to_owned(),
                );
                let sdk = sdk_config(moto.endpoint(), MOTO_REGION, Some(&credentials)).await;
                Ok(Aws {
                    endpoint: moto.endpoint().to_owned(),
                    moto: Some(moto),
                    sdk,
                    region: MOTO_REGION.to_owned(),
                    credentials: Some(credentials),
                })
            }
        }
    }

    /// moto's process id, when the stack started moto.
    pub fn moto_pid(&self) -> Option<u32> {
        self.moto.as_ref().map(Moto::pid)
    }

    /// Creates (or updates) the state bucket, the sync queue and its dead-letter queue.
    pub async fn create_resources(&self, config: &LocalConfig) -> Result<Resources, LocalError> {
        ensure_bucket(&s3_client(&self.sdk), &config.state_bucket).await?;
        let sync = ensure_queue_with_dlq(
            &sqs_client(&self.sdk),
            &QueueWithDlq {
                name: config.sync_queue.clone(),
                dlq_name: config.sync_dlq.clone(),
                visibility_timeout: config.poll.visibility_timeout,
                max_receive_count: config.max_receive_count,
            },
        )
        .await?;
        Ok(Resources {
            state_bucket: config.state_bucket.clone(),
            sync,
        })
    }

    /// The variables other processes need to reach the same S3 and SQS.
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            (AWS_ENDPOINT_URL.to_owned(), self.endpoint.clone()),
            ("AWS_REGION".to_owned(), self.region.clone()),
        ];
        if let Some((id, secret)) = &self.credentials {
            vars.push(("AWS_ACCESS_KEY_ID".to_owned(), id.clone()));
            vars.push(("AWS_SECRET_ACCESS_KEY".to_owned(), secret.clone()));
        }
        vars
    }
}

/// The relay's SDK configuration ([`aws_sdk_loader`]) pointed at `endpoint`, with static
/// credentials when given (the default chain otherwise).
async fn sdk_config(
    endpoint: &str,
    region: &str,
    credentials: Option<&(String, String)>,
) -> SdkConfig {
    let mut loader = aws_sdk_loader()
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()));
    if let Some((id, secret)) = credentials {
        loader = loader.credentials_provider(Credentials::new(
            id.clone(),
            secret.clone(),
            None,
            None,
            "relay-local",
        ));
    }
    loader.load().await
}
