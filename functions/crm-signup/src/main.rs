//! crm-signup's Lambda entry point: reads the configuration, builds the clients once, serves.
//!
//! A configuration error ends the cold start as one readable line, reported to Lambda
//! (`relay_lambda::startup`); an event that cannot become a request is answered 400
//! problem+json (`relay_lambda::http_edge`), never an invocation error. Each request the
//! handler answers reports its metrics as one EMF line on stdout, for `METRICS_NAMESPACE`
//! (default `LifecycleRelay`) and `AWS_LAMBDA_FUNCTION_NAME`.

use crm_signup::{Config, Problem, handler};
use lambda_http::Error;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{aws_sdk_config, s3_client};
use relay_core::env::Env;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_lambda::http_edge::run_http;
use relay_lambda::metrics::{EmfTarget, MetricsSink};
use relay_lambda::startup::or_report_init_error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = aws_sdk_config().await;
    let secrets = SecretResolver::with_secrets_manager_from(&sdk);
    let env = Env::process();
    let config = or_report_init_error(Config::from_env(&env, &secrets).await).await;
    let metrics =
        or_report_init_error(EmfTarget::from_lookup(|name| env.get(name), "crm-signup")).await;
    let store = S3Store::new(s3_client(&sdk), config.state_bucket.clone());
    let queue = SqsQueue::connect_on_first_send(&sdk, config.sync_queue_url.clone());
    let deps =
        or_report_init_error(config.into_deps(http_client(HttpTimeouts::default()), store, queue))
            .await
            .with_metrics(MetricsSink::emf_stdout(metrics));
    run_http(
        |request| handler(&deps, request),
        |error| Problem::from(error).into_response(),
    )
    .await
}
