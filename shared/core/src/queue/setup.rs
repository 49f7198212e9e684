//! Creating a queue and its dead-letter queue, idempotently: what `relay local` does at start
//! (a deployment gets its queues from the template instead).
//!
//! Each queue is looked up by name first; a missing one is created with its attributes, an
//! existing one gets them set, so a second run with other settings (a shorter visibility
//! timeout, another `maxReceiveCount`) applies them instead of failing on `QueueNameExists`.
//! The dead-letter move itself is SQS's own `RedrivePolicy`: after `maxReceiveCount` receives
//! without a delete, SQS moves the message.

use crate::queue::SqsCallError;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;

/// Error codes SQS answers for a queue name that does not exist (query and JSON protocols).
const NO_SUCH_QUEUE: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];

/// The longest visibility timeout SQS accepts: 12 hours.
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);
/// The largest `maxReceiveCount` SQS accepts.
pub const MAX_RECEIVE_COUNT: u32 = 1000;

/// A queue with a dead-letter queue behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWithDlq {
    /// The queue's name.
    pub name: String,
    /// The dead-letter queue's name.
    pub dlq_name: String,
    /// How long a received message stays invisible (whole seconds, at most 12 hours).
    pub visibility_timeout: Duration,
    /// Receives without a delete after which SQS moves a message to the dead-letter queue
    /// (1 to 1000).
    pub max_receive_count: u32,
}

/// The URLs and ARNs of a queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePair {
    /// The queue's URL.
    pub queue_url: String,
    /// The queue's ARN (an event source mapping's `eventSourceARN`).
    pub queue_arn: String,
    /// The dead-letter queue's URL.
    pub dlq_url: String,
    /// The dead-letter queue's ARN.
    pub dlq_arn: String,
}

/// A queue that could not be looked up, created or configured.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SetupError {
    /// The request itself is out of SQS's limits; names the setting.
    #[error("{setting}: {problem}")]
    Invalid {
        /// `visibility_timeout` or `max_receive_count`.
        setting: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// An SQS call failed (`GetQueueUrl`, `CreateQueue`, `SetQueueAttributes`,
    /// `GetQueueAttributes`).
    #[error(transparent)]
    Sqs(#[from] SqsCallError),
}

/// Creates (or updates) `spec`'s dead-letter queue, then the queue with a `RedrivePolicy`
/// pointing at it and the visibility timeout; returns both URLs and ARNs.
pub async fn ensure_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    spec: &QueueWithDlq,
) -> Result<QueuePair, SetupError> {
    if spec.visibility_timeout > MAX_VISIBILITY_TIMEOUT {
        return Err(SetupError::Invalid {
            setting: "visibility_timeout",
            problem: format!(
                "{} s is over SQS's limit of 43200 s",
                spec.visibility_timeout.as_secs()
            ),
        });
    }
    if !(1..=MAX_RECEIVE_COUNT).contains(&spec.max_receive_count) {
        return Err(SetupError::Invalid {
            setting: "max_receive_count",
            problem: format!(
                "{} is outside SQS's range 1 to {MAX_RECEIVE_COUNT}",
                spec.max_receive_count
            ),
        });
    }
    let dlq_url = ensure_queue(client, &spec.dlq_name, HashMap::new()).await?;
    let dlq_arn = queue_arn(client, &dlq_url).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": spec.max_receive_count.to_string(),
    });
    let attributes = HashMap::from([
        (
            QueueAttributeName::VisibilityTimeout,
            spec.visibility_timeout.as_secs().to_string(),
        ),
        (QueueAttributeName::RedrivePolicy, redrive.to_string()),
    ]);
    let queue_url = ensure_queue(client, &spec.name, attributes).await?;
    let queue_arn = queue_arn(client, &queue_url).await?;
    Ok(QueuePair {
        queue_url,
        queue_arn,
        dlq_url,
        dlq_arn,
    })
}

/// The URL of queue `name` with `attributes` set: created when missing, updated otherwise.
pub async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, SetupError> {
    match client.get_queue_url().queue_name(name).send().await {
        Ok(found) => {
            let url = found.queue_url().unwrap_or_default().to_owned();
            if !attributes.is_empty() {
                client
                    .set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(attributes))
                    .send()
                    .await
                    .map_err(|e| SqsCallError::from_sdk("SetQueueAttributes", name, &e))?;
            }
            Ok(url)
        }
        Err(error)
            if error
                .code()
                .is_some_and(|code| NO_SUCH_QUEUE.contains(&code)) =>
        {
            let created = client
                .create_queue()
                .queue_name(name)
                .set_attributes((!attributes.is_empty()).then_some(attributes))
                .send()
                .await
                .map_err(|e| SqsCallError::from_sdk("CreateQueue", name, &e))?;
            created.queue_url().map(str::to_owned).ok_or_else(|| {
                SqsCallError::incomplete_answer("CreateQueue", name, "queue URL").into()
            })
        }
        Err(error) => Err(SqsCallError::from_sdk("GetQueueUrl", name, &error).into()),
    }
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, SetupError> {
    let answer = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| SqsCallError::from_sdk("GetQueueAttributes", url, &e))?;
    answer
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| {
            SqsCallError::incomplete_answer("GetQueueAttributes", url, "QueueArn").into()
        })
}
