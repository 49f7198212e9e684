//! Test harness for Lifecycle Relay's integration tests: starts moto (S3 + SQS) on a free
//! loopback port from the project's `.venv`, and the Braze + Userflow sandbox in-process;
//! runs a function's binary against a loopback Lambda Runtime API ([`runtime_api`]).
//!
//! Nothing here skips: a missing tool is a panic that says how to install it, because a test
//! that quietly does nothing would pass in CI while proving nothing.

pub mod erasure;
pub mod exports;
pub mod lambda_zip;
pub mod runtime_api;
pub mod sqs;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A retry policy for clients talking to the sandbox: six attempts 10 to 200 ms apart within
/// 20 s, so tests spend their time on behaviour, not on backoff.
pub fn fast_retry() -> relay_clients::upstream::RetryPolicy {
    relay_clients::upstream::RetryPolicy {
        max_attempts: 6,
        base_delay: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(200),
        deadline: std::time::Duration::from_secs(20),
    }
}

/// The workspace root (the folder holding `Cargo.lock` and `.venv`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf()
}

/// The Python that has moto: `RELAY_PYTHON` if set, else the project's `.venv`
/// ([`relay_core::aws::moto::find_python`] from the workspace root).
pub fn python() -> PathBuf {
    relay_core::aws::moto::find_python(&workspace_root()).unwrap_or_else(|e| panic!("{e}"))
}

/// A name unique within this machine and run, for buckets and queues shared by one moto.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Region used against moto; moto accepts any.
pub const TEST_REGION: &str = relay_core::aws::moto::MOTO_REGION;

/// A moto server process on a free loopback port, killed (by its PID) when dropped: relay-core's
/// [`relay_core::aws::moto::Moto`] (shared with `relay local`), started from the workspace's
/// `.venv`, plus what the tests need to create and drain buckets and queues.
#[derive(Debug)]
pub struct Moto {
    inner: relay_core::aws::moto::Moto,
}

impl Moto {
    /// Starts moto and waits until it serves. Panics with the reason when it cannot.
    pub fn start() -> Moto {
        let inner = relay_core::aws::moto::Moto::start_from(&workspace_root())
            .unwrap_or_else(|e| panic!("{e}"));
        Moto { inner }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` or an SDK `endpoint_url`.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint()
    }

    /// The process id, for tools that stop it themselves.
    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Shared SDK config pointing at this moto with static test credentials, over the
    /// functions' own HTTP client ([`relay_core::aws::aws_sdk_loader`]).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.inner.sdk_config().await
    }

    /// An S3 client for this moto (path-style addressing, as loopback endpoints need).
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Creates a bucket with a name unique to this run and returns the name.
    pub async fn create_bucket(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.s3_client()
            .await
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name} on moto: {e:?}"));
        name
    }

    /// An SQS client for this moto.
    pub async fn sqs_client(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    /// Creates a standard queue with a name unique to this run and returns its URL.
    pub async fn create_queue(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        let created = self
            .sqs_client()
            .await
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create queue {name} on moto: {e:?}"));
        created
            .queue_url()
            .unwrap_or_else(|| panic!("moto answered no URL for queue {name}"))
            .to_owned()
    }

    /// Receives and deletes every message on the queue until two receives in a row come back
    /// empty; returns the bodies in the order received.
    pub async fn receive_all(&self, queue_url: &str) -> Vec<String> {
        let sqs = self.sqs_client().await;
        let mut bodies = Vec::new();
        let mut empty_in_a_row = 0;
        while empty_in_a_row < 2 {
            let received = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap_or_else(|e| panic!("receive from {queue_url} on moto: {e:?}"));
            let messages = received.messages();
            if messages.is_empty() {
                empty_in_a_row += 1;
                continue;
            }
            empty_in_a_row = 0;
            let mut deletes = Vec::with_capacity(messages.len());
            for (at, message) in messages.iter().enumerate() {
                bodies.push(message.body().unwrap_or_default().to_owned());
                let handle = message
                    .receipt_handle()
                    .expect("a received message has a handle");
                deletes.push(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(at.to_string())
                        .receipt_handle(handle)
                        .build()
                        .expect("id and receipt handle are set"),
                );
            }
            let deleted = sqs
                .delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(deletes))
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete from {queue_url} on moto: {e:?}"));
            assert!(
                deleted.failed().is_empty(),
                "moto failed deletes: {:?}",
                deleted.failed()
            );
        }
        bodies
    }
}
