//! sync-worker's Lambda entry point: reads the configuration, builds the clients once, serves.
//!
//! A configuration error ends the cold start as one readable line, reported to Lambda
//! (`relay_lambda::startup`).

use lambda_runtime::{Error, run, service_fn};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{aws_sdk_config, s3_client};
use relay_core::env::Env;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_lambda::startup::or_report_init_error;
use sync_worker::{Config, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = aws_sdk_config().await;
    let secrets = SecretResolver::with_secrets_manager_from(&sdk);
    let config = or_report_init_error(Config::from_env(&Env::process(), &secrets).await).await;
    let s3 = s3_client(&sdk);
    let store = S3Store::new(s3.clone(), config.state_bucket.clone());
    let queue = SqsQueue::connect_on_first_send(&sdk, config.sync_queue_url.clone());
    let http = http_client(HttpTimeouts::default());
    let erasure_queue = |url| SqsQueue::connect_on_first_send(&sdk, url);
    let deps = or_report_init_error(config.into_deps(http, store, queue, s3, erasure_queue)).await;
    run(service_fn(|event| handler(&deps, event))).await
}
