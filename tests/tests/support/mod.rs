//! What the integration tests that run both functions share: crm-signup and the sync-worker
//! built from one variable map over moto's S3 and SQS, and SQS events as Lambda delivers them.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use aws_lambda_events::event::sqs::SqsEvent;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{s3_client, sqs_client};
use relay_core::env::Env;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_tests::Moto;
use serde_json::{Value, json};

/// Both functions, configured as deployed: state in `bucket`, parking on `queue_url`.
pub struct Functions {
    /// crm-signup's handler dependencies.
    pub signup: crm_signup::Deps<S3Store, SqsQueue>,
    /// The sync-worker's handler dependencies.
    pub worker: sync_worker::Deps<S3Store, SqsQueue>,
}

/// Builds both functions from `vars` (plus `STATE_BUCKET` and `SYNC_QUEUE_URL`) through their
/// real configuration path, over moto.
pub async fn functions_on_moto(
    moto: &Moto,
    mut vars: HashMap<String, String>,
    bucket: &str,
    queue_url: &str,
) -> Functions {
    vars.insert("STATE_BUCKET".into(), bucket.to_owned());
    vars.insert("SYNC_QUEUE_URL".into(), queue_url.to_owned());
    let env = Env::from_map(vars.clone());
    let secrets = SecretResolver::from_env_map(vars);
    let sdk = moto.sdk_config().await;
    let http = http_client(HttpTimeouts::default());
    let signup = crm_signup::Config::from_env(&env, &secrets)
        .await
        .unwrap()
        .into_deps(
            http.clone(),
            S3Store::new(s3_client(&sdk), bucket),
            SqsQueue::new(sqs_client(&sdk), queue_url),
        )
        .unwrap();
    let worker = sync_worker::Config::from_env(&env, &secrets)
        .await
        .unwrap()
        .into_deps(
            http,
            S3Store::new(s3_client(&sdk), bucket),
            SqsQueue::new(sqs_client(&sdk), queue_url),
            s3_client(&sdk),
            |url| SqsQueue::new(sqs_client(&sdk), url),
        )
        .unwrap();
    Functions { signup, worker }
}

/// An SQS event as Lambda's event source mapping delivers it: one record per
/// `(message id, receipt handle, body)`.
pub fn sqs_event<'a>(messages: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> SqsEvent {
    let records: Vec<Value> = messages
        .into_iter()
        .map(|(id, receipt, body)| {
            json!({
                "messageId": id, "receiptHandle": receipt,
                "body": body, "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sync",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}
