//! Dead-letter queues: finding a queue's DLQ, and listing, replaying and purging its
//! messages (what `relay dlq` runs).
//!
//! - this module: [`DeadLetterQueue`] (found from the source queue's `RedrivePolicy`, or
//!   given), [`DeadLetter`], the reports, [`queue_depth`] and [`DeadLetterError`];
//! - `held`: reading a queue without consuming it (receive under a visibility timeout, then
//!   delete or release);
//! - `attempts`: [`FailedAttempt`], the record sync-worker writes at every failed attempt
//!   (`failed/attempts/<message id>.json`), which `relay dlq list` shows;
//! - `summary`: [`JobSummary`], what a message is, read with the relay's own job decoder.
//!
//! SQS has no way to look at a message without receiving it. Listing receives every message
//! under a short visibility timeout ([`LIST_VISIBILITY`]) and then makes them all visible
//! again at once; each listing therefore adds one to every message's `ApproximateReceiveCount`
//! (harmless on a DLQ, which has no redrive policy of its own).

mod attempts;
mod held;
mod summary;

use crate::queue::SqsCallError;
use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{JobQueue, SqsQueue};
use held::Holder;
use relay_clients::upstream::FailureClass;

pub use attempts::{FAILED_ATTEMPTS_PREFIX, FailedAttempt, message_key};
pub use summary::JobSummary;

/// How long [`DeadLetterQueue::list`] hides each message it reads: if the listing dies, the
/// messages are visible again after this.
pub const LIST_VISIBILITY: Duration = Duration::from_secs(30);

/// How long replay and purge hide the messages they hold until they are moved, deleted or
/// released at the end of the run.
pub const HOLD_VISIBILITY: Duration = Duration::from_secs(300);

/// What can go wrong with a dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The source queue has no `RedrivePolicy`: it has no dead-letter queue.
    #[error("queue {queue_url} has no RedrivePolicy, so no dead-letter queue")]
    NoRedrivePolicy {
        /// The source queue.
        queue_url: String,
    },
    /// The `RedrivePolicy` does not name a dead-letter queue this relay can read.
    #[error("the RedrivePolicy of {queue_url} cannot be read: {reason}")]
    BadRedrivePolicy {
        /// The source queue.
        queue_url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An SQS call failed.
    #[error(transparent)]
    Sqs(#[from] SqsCallError),
    /// A request could not be built (a missing receipt handle).
    #[error("SQS request could not be built: {0}")]
    Request(String),
}

impl DeadLetterError {
    /// Transient (try again), misconfigured (fix the queues or the access) or permanent.
    pub fn class(&self) -> FailureClass {
        match self {
            DeadLetterError::NoRedrivePolicy { .. } | DeadLetterError::BadRedrivePolicy { .. } => {
                FailureClass::Misconfigured
            }
            DeadLetterError::Sqs(error) => error.class,
            DeadLetterError::Request(_) => FailureClass::Permanent,
        }
    }
}

/// One message of a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The SQS message id (the same as on the source queue: SQS keeps it when redriving).
    pub message_id: String,
    /// The body.
    pub body: String,
    /// SQS's `ApproximateReceiveCount`, this run's receive included.
    pub receive_count: Option<u64>,
    /// When the message was first sent (to the source queue).
    pub sent_at: Option<DateTime<Utc>>,
}

/// Messages in a queue, from `GetQueueAttributes` (approximate, as SQS says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Visible messages (`ApproximateNumberOfMessages`).
    pub visible: u64,
    /// Received and not yet deleted or released (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: u64,
}

/// What [`DeadLetterQueue::replay`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Messages sent to the source queue and then deleted from the DLQ (their DLQ ids).
    pub moved: Vec<String>,
    /// Messages not moved, with why: not sent (still in the DLQ), or sent but not deleted
    /// (now in both queues; the reason says which).
    pub failed: Vec<(String, String)>,
    /// Ids asked for that the DLQ did not hold.
    pub not_found: Vec<String>,
    /// Messages left in the DLQ because they reached it during this run (sent to the source
    /// queue after the run started: most often a message this run replayed that failed
    /// again). A later run replays them.
    pub arrived: Vec<String>,
    /// Why the run stopped before reading the whole queue, if it did.
    pub stopped: Option<String>,
}

/// What [`DeadLetterQueue::purge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Messages deleted.
    pub purged: Vec<String>,
    /// Messages that could not be deleted, with why (still in the DLQ).
    pub failed: Vec<(String, String)>,
    /// Why the run stopped before reading the whole queue, if it did.
    pub stopped: Option<String>,
}

/// A source queue's dead-letter queue.
#[derive(Debug, Clone)]
pub struct DeadLetterQueue {
    sqs: aws_sdk_sqs::Client,
    source_url: String,
    url: String,
    max_receive_count: Option<u64>,
}

/// The `RedrivePolicy` attribute: `maxReceiveCount` may be a number or a string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedrivePolicy {
    dead_letter_target_arn: String,
    #[serde(default)]
    max_receive_count: Option<serde_json::Value>,
}

/// The DLQ's name and owning account from a `RedrivePolicy`, and its `maxReceiveCount`.
fn redrive_target(policy: &str) -> Result<(String, String, Option<u64>), String> {
    let policy: RedrivePolicy =
        serde_json::from_str(policy).map_err(|e| format!("not the expected JSON: {e}"))?;
    // arn:aws:sqs:<region>:<account>:<name>
    let parts: Vec<&str> = policy.dead_letter_target_arn.split(':').collect();
    let (account, name) = match parts.as_slice() {
        ["arn", _, "sqs", _, account, name] if !account.is_empty() && !name.is_empty() => {
            (*account, *name)
        }
        _ => {
            return Err(format!(
                "deadLetterTargetArn `{}` is not an SQS queue ARN",
                policy.dead_letter_target_arn
            ));
        }
    };
    let max = policy.max_receive_count.and_then(|value| match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    Ok((name.to_owned(), account.to_owned(), max))
}

/// How many messages `queue_url` holds (`GetQueueAttributes`, which changes nothing): also a
/// check that the queue exists and is readable with the caller's credentials.
pub async fn queue_depth(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<QueueDepth, DeadLetterError> {
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| SqsCallError::from_sdk("GetQueueAttributes", queue_url, &e))?;
    let count = |name: QueueAttributeName| {
        output
            .attributes()
            .and_then(|attributes| attributes.get(&name))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    Ok(QueueDepth {
        visible: count(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    })
}

impl DeadLetterQueue {
    /// The dead-letter queue of `source_url`, from its `RedrivePolicy` (`deadLetterTargetArn`,
    /// then `GetQueueUrl`).
    pub async fn of_source(
        sqs: aws_sdk_sqs::Client,
        source_url: impl Into<String>,
    ) -> Result<DeadLetterQueue, DeadLetterError> {
        let source_url = source_url.into();
        let output = sqs
            .get_queue_attributes()
            .queue_url(&source_url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| SqsCallError::from_sdk("GetQueueAttributes", &source_url, &e))?;
        let Some(policy) = output
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::RedrivePolicy))
        else {
            return Err(DeadLetterError::NoRedrivePolicy {
                queue_url: source_url,
            });
        };
        let (name, account, max_receive_count) =
            redrive_target(policy).map_err(|reason| DeadLetterError::BadRedrivePolicy {
                queue_url: source_url.clone(),
                reason,
            })?;
        let url = sqs
            .get_queue_url()
            .queue_name(&name)
            .queue_owner_aws_account_id(&account)
            .send()
            .await
            .map_err(|e| SqsCallError::from_sdk("GetQueueUrl", &name, &e))?
            .queue_url()
            .map(str::to_owned)
            .ok_or_else(|| DeadLetterError::BadRedrivePolicy {
                queue_url: source_url.clone(),
                reason: format!("SQS gave no URL for the dead-letter queue `{name}`"),
            })?;
        Ok(DeadLetterQueue {
            sqs,
            source_url,
            url,
            max_receive_count,
        })
    }

    /// The dead-letter queue at `url` for `source_url`, as given (no call is made).
    pub fn at(
        sqs: aws_sdk_sqs::Client,
        source_url: impl Into<String>,
        url: impl Into<String>,
    ) -> DeadLetterQueue {
        DeadLetterQueue {
            sqs,
            source_url: source_url.into(),
            url: url.into(),
            max_receive_count: None,
        }
    }

    /// The dead-letter queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The source queue's URL (where replayed messages go).
    pub fn source_url(&self) -> &str {
        &self.source_url
    }

    /// The source queue's `maxReceiveCount`, when found from its `RedrivePolicy`.
    pub fn max_receive_count(&self) -> Option<u64> {
        self.max_receive_count
    }

    /// How many messages the dead-letter queue holds.
    pub async fn depth(&self) -> Result<QueueDepth, DeadLetterError> {
        queue_depth(&self.sqs, &self.url).await
    }

    /// Every visible message, without consuming any: each is received under
    /// [`LIST_VISIBILITY`], and all are made visible again before this returns. Messages
    /// another consumer holds at the time are not seen.
    pub async fn list(&self) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let mut holder = Holder::new(&self.sqs, &self.url, LIST_VISIBILITY);
        let mut letters = Vec::new();
        let outcome = loop {
            match holder.next_round().await {
                Ok(Some(round)) => letters.extend(round),
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            }
        };
        let unreleased = holder.release_all().await;
        if unreleased > 0 {
            tracing::warn!(
                unreleased,
                "some listed messages stay hidden until their visibility timeout"
            );
        }
        outcome.map(|()| letters)
    }

    /// Moves messages back to the source queue: every message that was in the DLQ when the
    /// run started, or only those whose ids are in `only`. Each message is sent first (`SendMessageBatch`, through [`SqsQueue`]) and
    /// deleted from the DLQ only once its send succeeded; a message whose send failed stays
    /// in the DLQ. `on_moved(n)` is called as messages are moved (for a progress bar).
    ///
    /// `Err` only when the first read of the DLQ fails (nothing was done); a later failure
    /// ends the run with [`ReplayReport::stopped`] set.
    ///
    /// A replayed message gets a new id on the source queue. If it fails again while the
    /// run goes on, SQS moves it to the DLQ keeping that id and its `SentTimestamp` (the time
    /// of this run's send), so it looks like a message the run has not seen: replaying it
    /// too could go on without end. Without `only`, a message whose `SentTimestamp` is at or
    /// after the start of the run is therefore not replayed but left in the DLQ and reported
    /// in [`ReplayReport::arrived`]. (The comparison is between SQS's clock and this
    /// machine's: a skew of a few seconds only matters for messages sent within those seconds
    /// of the start, and cannot make a run endless, as every resend is stamped later.)
    pub async fn replay(
        &self,
        only: Option<&[String]>,
        mut on_moved: impl FnMut(usize),
    ) -> Result<ReplayReport, DeadLetterError> {
        let source = SqsQueue::new(self.sqs.clone(), self.source_url.clone());
        let mut wanted: Option<HashSet<&str>> =
            only.map(|ids| ids.iter().map(String::as_str).collect());
        let mut holder = Holder::new(&self.sqs, &self.url, HOLD_VISIBILITY);
        let mut report = ReplayReport::default();
        // SentTimestamp has whole milliseconds.
        let now = Utc::now();
        let started = DateTime::<Utc>::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let mut first = true;
        loop {
            if wanted.as_ref().is_some_and(HashSet::is_empty) {
                break;
            }
            let round = match holder.next_round().await {
                Ok(Some(round)) => round,
                Ok(None) => break,
                Err(error) if first => {
                    holder.release_all().await;
                    return Err(error);
                }
                Err(error) => {
                    report.stopped = Some(error.to_string());
                    break;
                }
            };
            first = false;
            let chosen: Vec<DeadLetter> = round
                .into_iter()
                .filter(|letter| match wanted.as_mut() {
                    Some(wanted) => wanted.remove(letter.message_id.as_str()),
                    None if arrived_since(letter, started) => {
                        report.arrived.push(letter.message_id.clone());
                        false
                    }
                    None => true,
                })
                .collect();
            if chosen.is_empty() {
                continue;
            }
            let bodies: Vec<String> = chosen.iter().map(|letter| letter.body.clone()).collect();
            let sent = source.send(&bodies).await;
            let mut unsent: HashSet<usize> = HashSet::new();
            for (index, error) in sent.failed {
                unsent.insert(index);
                report.failed.push((
                    chosen[index].message_id.clone(),
                    format!("not sent to the source queue, kept in the DLQ: {error}"),
                ));
            }
            let to_delete: Vec<String> = chosen
                .iter()
                .enumerate()
                .filter(|(index, _)| !unsent.contains(index))
                .map(|(_, letter)| letter.message_id.clone())
                .collect();
            let (deleted, not_deleted) = holder.delete(&to_delete).await;
            on_moved(deleted.len());
            report.moved.extend(deleted);
            report.failed.extend(not_deleted.into_iter().map(|(id, why)| {
                (
                    id,
                    format!("sent to the source queue but not deleted from the DLQ (it is now in both): {why}"),
                )
            }));
        }
        let unreleased = holder.release_all().await;
        if unreleased > 0 {
            tracing::warn!(
                unreleased,
                "some messages stay hidden until their visibility timeout"
            );
        }
        if let Some(wanted) = wanted {
            let mut missing: Vec<String> = wanted.into_iter().map(str::to_owned).collect();
            missing.sort_unstable();
            report.not_found = missing;
        }
        Ok(report)
    }

    /// Deletes every visible message of the dead-letter queue, counting them (SQS's own
    /// `PurgeQueue` counts nothing and may take a minute). `on_deleted(n)` is called as
    /// messages are deleted.
    ///
    /// `Err` only when the first read fails (nothing was deleted).
    pub async fn purge(
        &self,
        mut on_deleted: impl FnMut(usize),
    ) -> Result<PurgeReport, DeadLetterError> {
        let mut holder = Holder::new(&self.sqs, &self.url, HOLD_VISIBILITY);
        let mut report = PurgeReport::default();
        let mut first = true;
        loop {
            let round = match holder.next_round().await {
                Ok(Some(round)) => round,
                Ok(None) => break,
                Err(error) if first => return Err(error),
                Err(error) => {
                    report.stopped = Some(error.to_string());
                    break;
                }
            };
            first = false;
            let ids: Vec<String> = round.into_iter().map(|letter| letter.message_id).collect();
            let (deleted, failed) = holder.delete(&ids).await;
            on_deleted(deleted.len());
            report.purged.extend(deleted);
            report.failed.extend(failed);
        }
        holder.release_all().await;
        Ok(report)
    }
}

/// Whether `letter` was sent (to the source queue) at or after `started`: it reached the DLQ
/// during the run that started then. A message without a `SentTimestamp` counts as older.
fn arrived_since(letter: &DeadLetter, started: DateTime<Utc>) -> bool {
    letter.sent_at.is_some_and(|sent_at| sent_at >= started)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(at: Option<DateTime<Utc>>) -> DeadLetter {
        DeadLetter {
            message_id: "m".into(),
            body: String::new(),
            receive_count: Some(2),
            sent_at: at,
        }
    }

    #[test]
    fn when_a_message_was_sent_after_the_run_started_then_it_arrived_during_the_run() {
        // SentTimestamp has whole milliseconds.
        let now = Utc::now();
        let started = DateTime::<Utc>::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let later = started + chrono::Duration::milliseconds(1);
        let earlier = started - chrono::Duration::seconds(60);

        assert!(arrived_since(&sent(Some(later)), started));
        assert!(arrived_since(&sent(Some(started)), started));
        assert!(!arrived_since(&sent(Some(earlier)), started));
        assert!(!arrived_since(&sent(None), started));
    }

    #[test]
    fn when_the_redrive_policy_names_a_queue_arn_then_its_name_account_and_count_are_read() {
        let (name, account, max) = redrive_target(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:relay-sync-dlq","maxReceiveCount":"5"}"#,
        )
        .unwrap();
        assert_eq!(
            (name.as_str(), account.as_str(), max),
            ("relay-sync-dlq", "123456789012", Some(5))
        );
        let (_, _, max) = redrive_target(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:q","maxReceiveCount":3}"#,
        )
        .unwrap();
        assert_eq!(max, Some(3));
    }

    #[test]
    fn when_the_redrive_policy_is_not_a_queue_arn_then_it_says_so() {
        let error = redrive_target(r#"{"deadLetterTargetArn":"arn:aws:sns:us-east-1:1:topic"}"#)
            .unwrap_err();
        assert!(error.contains("not an SQS queue ARN"), "{error}");
        assert!(redrive_target("maxReceiveCount=5").is_err());
    }
}
