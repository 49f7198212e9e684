//! export-callback's Lambda entry point: reads the configuration, builds the clients once,
//! serves. Each request the handler answers reports its metrics as one EMF line on stdout,
//! for `METRICS_NAMESPACE` (default `LifecycleRelay`) and `AWS_LAMBDA_FUNCTION_NAME`.

use export_callback::{Config, handler};
use lambda_http::Error;
use relay_core::aws::{aws_sdk_config, s3_client};
use relay_core::env::Env;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_lambda::http_edge::run_http;
use relay_lambda::metrics::{EmfTarget, MetricsSink};
use relay_lambda::problem::Problem;
use relay_lambda::startup::or_report_init_error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = aws_sdk_config().await;
    let secrets = SecretResolver::with_secrets_manager_from(&sdk);
    let env = Env::process();
    let config = or_report_init_error(Config::from_env(&env, &secrets).await).await;
    let metrics = or_report_init_error(EmfTarget::from_lookup(
        |name| env.get(name),
        "export-callback",
    ))
    .await;
    let s3 = s3_client(&sdk);
    let state = S3Store::new(s3.clone(), config.state_bucket.clone());
    let exports = S3Store::new(s3, config.export_bucket.clone());
    let queue = SqsQueue::connect_on_first_send(&sdk, config.sync_queue_url.clone());
    let deps = config
        .into_deps(state, exports, queue)
        .with_metrics(MetricsSink::emf_stdout(metrics));
    run_http(
        |request| handler(&deps, request),
        |error| Problem::from(error).into_response(),
    )
    .await
}
