//! The AWS checks: the state bucket (`HeadBucket`), the sync queue and its dead-letter queue
//! (`GetQueueAttributes`). None changes anything.

use aws_sdk_s3::error::DisplayErrorContext;
use relay_core::queue::dead_letters::{DeadLetterError, DeadLetterQueue, queue_depth};

use super::Row;
use crate::Settings;
use crate::aws::sdk_config;
use crate::commands::dlq::QueueName;

const STATE_BUCKET: &str = "state bucket";
const SYNC_QUEUE: &str = "sync queue";
const SYNC_DLQ: &str = "sync dead-letter queue";

/// Every AWS row.
pub(super) async fn checks(settings: &Settings) -> Vec<Row> {
    let sdk = sdk_config(settings).await;
    let (bucket, queues) = tokio::join!(bucket(settings, &sdk), queues(settings, &sdk));
    let mut rows = vec![bucket];
    rows.extend(queues);
    rows
}

async fn bucket(settings: &Settings, sdk: &aws_config::SdkConfig) -> Row {
    let bucket = match settings.required("STATE_BUCKET") {
        Ok(bucket) => bucket,
        Err(error) => return Row::setting(STATE_BUCKET, error),
    };
    let answer = relay_core::aws::s3_client(sdk)
        .head_bucket()
        .bucket(bucket)
        .send()
        .await;
    match answer {
        Ok(_) => Row::pass(STATE_BUCKET, format!("{bucket} reachable")),
        Err(error) => {
            let status = error.raw_response().map(|raw| raw.status().as_u16());
            let reason = match status {
                Some(404) => format!("{bucket} does not exist (HTTP 404)"),
                Some(403) => format!("{bucket}: access denied (HTTP 403)"),
                _ => format!("{bucket}: {}", DisplayErrorContext(&error)),
            };
            Row::fail(STATE_BUCKET, reason)
        }
    }
}

async fn queues(settings: &Settings, sdk: &aws_config::SdkConfig) -> Vec<Row> {
    let queue = QueueName::Sync;
    let source_url = match settings.required(queue.url_variable()) {
        Ok(url) => url.to_owned(),
        Err(error) => {
            return vec![
                Row::setting(SYNC_QUEUE, &error),
                Row::fail(SYNC_DLQ, format!("not checked: {error}")),
            ];
        }
    };
    let sqs = relay_core::aws::sqs_client(sdk);
    let source = match queue_depth(&sqs, &source_url).await {
        Ok(depth) => Row::pass(
            SYNC_QUEUE,
            format!(
                "reachable: {} visible, {} in flight",
                depth.visible, depth.in_flight
            ),
        ),
        Err(error) => Row::fail(SYNC_QUEUE, error.to_string()),
    };
    let dlq = match settings.get(queue.dlq_variable()) {
        Some(url) => Ok(DeadLetterQueue::at(sqs, source_url, url)),
        None => DeadLetterQueue::of_source(sqs, source_url).await,
    };
    let dlq = match dlq {
        Ok(dlq) => match dlq.depth().await {
            Ok(depth) => Row::pass(
                SYNC_DLQ,
                format!(
                    "{} reachable: {} message(s) waiting{}",
                    dlq.url(),
                    depth.visible,
                    dlq.max_receive_count()
                        .map(|n| format!(" (maxReceiveCount {n})"))
                        .unwrap_or_default()
                ),
            ),
            Err(error) => Row::fail(SYNC_DLQ, error.to_string()),
        },
        Err(
            error @ (DeadLetterError::NoRedrivePolicy { .. }
            | DeadLetterError::BadRedrivePolicy { .. }),
        ) => Row::setting(
            SYNC_DLQ,
            format!("{}: not set, and {error}", queue.dlq_variable()),
        ),
        Err(error) => Row::fail(SYNC_DLQ, error.to_string()),
    };
    vec![source, dlq]
}
