//! sync-worker's Lambda entry point: reads the configuration, builds the clients once, serves.
//!
//! A configuration error ends the cold start as one readable line, reported to Lambda
//! (`relay_lambda::startup`). Each batch's metrics are one EMF line on stdout, for
//! `METRICS_NAMESPACE` (default `LifecycleRelay`) and `AWS_LAMBDA_FUNCTION_NAME`.

use lambda_runtime::{Error, run, service_fn};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{aws_sdk_config, s3_client};
use relay_core::env::Env;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_lambda::metrics::{EmfTarget, MetricsSink};
use relay_lambda::startup::or_report_init_error;
use sync_worker::{Config, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = aws_sdk_config().await;
    let secrets = SecretResolver::with_secrets_manager_from(&sdk);
    let env = Env::process();
    let config = or_report_init_error(Config::from_env(&env, &secrets).await).await;
    let metrics =
        or_report_init_error(EmfTarget::from_lookup(|name| env.get(name), "sync-worker")).await;
    let s3 = s3_client(&sdk);
    let store = S3Store::new(s3.clone(), config.state_bucket.clone());
    let queue = SqsQueue::connect_on_first_send(&sdk, config.sync_queue_url.clone());
    let http = http_client(HttpTimeouts::default());
    let erasure_queue = |url| SqsQueue::connect_on_first_send(&sdk, url);
    let deps = or_report_init_error(config.into_deps(http, store, queue, s3, erasure_queue))
        .await
        .with_metrics(MetricsSink::emf_stdout(metrics));
    run(service_fn(|event| handler(&deps, event))).await
}
