//! deletion-worker's handler with real SQS event JSON, against the sandbox (Braze and
//! Userflow) and in-memory buckets.

mod erase;
mod messages;
mod metrics;
mod retries;

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::Utc;
use deletion_worker::{Config, Deps, handler};
use relay_clients::braze::BrazeClient;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_clients::userflow::UserflowClient;
use relay_core::config::VendorConfig;
use relay_core::env::Env;
use relay_core::erasure::receipt::receipt_key;
use relay_core::erasure::{ErasureRequest, Receipt, RequestId, Subject};
use relay_core::secrets::SecretResolver;
use relay_core::store::{MemoryStore, ObjectStore};
use relay_tests::erasure::{Person, seed_people};
use relay_tests::webhooks::relay_variables;
use sandbox::{Api, BrazeUserQuery, Sandbox, SandboxConfig};

struct Stack {
    sandbox: Sandbox,
    deps: Deps<MemoryStore, MemoryStore>,
    braze: BrazeClient,
    userflow: UserflowClient,
}

/// The relay's settings against `sandbox`, with `extra` on top.
fn variables(sandbox: &Sandbox, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars = relay_variables(sandbox.info());
    // No test here makes more than the sandbox's 250 lookups a minute: no need to pace them
    // at Braze's rate.
    vars.insert("BRAZE_EXPORT_IDS_PER_MINUTE".into(), "2500".into());
    for (name, value) in extra {
        vars.insert((*name).into(), (*value).into());
    }
    vars
}

async fn stack() -> Stack {
    stack_with(&[]).await
}

async fn stack_with(extra: &[(&str, &str)]) -> Stack {
    let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
    let vars = variables(&sandbox, extra);
    let env = Env::from_map(vars.clone());
    let secrets = SecretResolver::from_env_map(vars);
    let deps = Config::from_env(&env, &secrets)
        .await
        .expect("valid configuration")
        .into_deps(
            http_client(HttpTimeouts::default()),
            MemoryStore::new(),
            |_| MemoryStore::new(),
        )
        .unwrap();
    let (braze, userflow) = VendorConfig::from_env(&env, &secrets)
        .await
        .unwrap()
        .clients(http_client(HttpTimeouts::default()))
        .unwrap();
    Stack {
        sandbox,
        deps,
        braze,
        userflow,
    }
}

/// A request for `subject` under `id`.
fn request(id: &str, subject: Subject) -> ErasureRequest {
    ErasureRequest {
        request_id: RequestId::new(id).unwrap(),
        subject,
        requested_at: Utc::now(),
        origin: "worker tests".into(),
    }
}

fn external_id(id: &str) -> Subject {
    Subject::ExternalId(id.into())
}

fn email(address: &str) -> Subject {
    Subject::Email(address.into())
}

/// `(message id, body)` of each request: `m-<request id>`.
fn messages_of(requests: &[ErasureRequest]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| (format!("m-{}", r.request_id), r.encode()))
        .collect()
}

use relay_tests::sqs::failures;

impl Stack {
    /// Sends the batches' metrics to the returned list.
    fn record_metrics(&mut self) -> relay_lambda::metrics::MemoryMetrics {
        let metrics = relay_lambda::metrics::MemoryMetrics::new();
        self.deps.metrics = metrics.sink();
        metrics
    }

    async fn seed(&self, people: &[Person]) {
        seed_people(&self.braze, &self.userflow, people).await;
    }

    /// Invokes the handler with one SQS batch of `messages`, each received for the first
    /// time.
    async fn invoke(&self, messages: &[(String, String)]) -> SqsBatchResponse {
        self.invoke_received(messages, 1).await
    }

    /// Invokes the handler with one SQS batch of `messages`, each received `count` times.
    async fn invoke_received(&self, messages: &[(String, String)], count: u32) -> SqsBatchResponse {
        let messages: Vec<(&str, &str)> = messages
            .iter()
            .map(|(id, body)| (id.as_str(), body.as_str()))
            .collect();
        let event = relay_tests::sqs::invocation(&messages, count, Duration::from_secs(60));
        handler(&self.deps, event).await.unwrap()
    }

    /// Invokes the handler with `requests` as one batch.
    async fn erase(&self, requests: &[ErasureRequest]) -> SqsBatchResponse {
        self.invoke(&messages_of(requests)).await
    }

    async fn receipt(&self, id: &str) -> Option<Receipt> {
        let key = receipt_key(&RequestId::new(id).unwrap());
        let body = self.deps.eraser.state.get(&key).await.unwrap()?;
        Some(serde_json::from_slice(&body).expect("a receipt"))
    }

    /// Braze profiles holding `email`.
    async fn braze_with_email(&self, email: &str) -> usize {
        let query = BrazeUserQuery {
            email: Some(email.into()),
            limit: Some(0),
            ..BrazeUserQuery::default()
        };
        self.sandbox
            .admin()
            .braze_users(&query)
            .await
            .unwrap()
            .total
    }

    async fn in_userflow(&self, id: &str) -> bool {
        self.sandbox
            .admin()
            .userflow_user(id)
            .await
            .unwrap()
            .is_some()
    }

    /// Requests to `api` `method` `route` answered `status` (any status: `None`).
    async fn calls(&self, api: Api, method: &str, route: &str, status: Option<u16>) -> u64 {
        self.sandbox
            .admin()
            .count(api, method, route, status)
            .await
            .unwrap()
    }
}
