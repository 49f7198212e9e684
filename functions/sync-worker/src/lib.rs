//! sync-worker: consumes the SQS sync queue with partial batch failures.
//!
//! `contact` jobs (contacts crm-signup parked) are replayed through the same delivery path as
//! the webhook ([`relay_core::delivery`]). Per message:
//! - delivered: acknowledged;
//! - refused for good (a vendor rejected the contact): the job and why are recorded under
//!   `failed/contacts/` in the state bucket, then acknowledged;
//! - unfinished (transient failure, throttling, misconfiguration, the invocation's deadline):
//!   reported as a batch item failure, so SQS redelivers it and, after `maxReceiveCount`,
//!   moves it to the dead-letter queue, from where `relay dlq replay` brings it back;
//! - not a job this relay can read: recorded under `failed/messages/` and acknowledged.
//!
//! A message is acknowledged only after its record is written; if that write fails, it is a
//! batch item failure instead, so nothing is lost.

pub mod config;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use lambda_runtime::LambdaEvent;
use relay_core::delivery::{Deliverer, Delivery, Outcome, StepFailure};
use relay_core::jobs::{ContactJob, Job};
use relay_core::store::ObjectStore;
use serde::Serialize;
use tokio::time::Instant;

pub use config::Config;

/// Key prefix of refused contacts.
pub const FAILED_CONTACTS_PREFIX: &str = "failed/contacts/";
/// Key prefix of messages that are not readable jobs.
pub const FAILED_MESSAGES_PREFIX: &str = "failed/messages/";

/// Timing of one invocation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Time kept free before the Lambda deadline to record outcomes and answer.
    pub deadline_margin: Duration,
    /// Longest a batch is worked on, whatever the Lambda deadline.
    pub max_batch_time: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            deadline_margin: Duration::from_secs(3),
            max_batch_time: Duration::from_secs(60),
        }
    }
}

/// Everything the handler uses, built once per cold start.
pub struct Deps<S> {
    /// Braze + Userflow delivery; its store also receives the failure records.
    pub deliverer: Deliverer<S>,
    /// Timing.
    pub settings: Settings,
}

/// The record written for a refused contact.
#[derive(Debug, Serialize)]
struct FailedContact<'a> {
    message_id: &'a str,
    recorded_at: String,
    failures: &'a [StepFailure],
    job: &'a ContactJob,
}

/// The record written for an unreadable message (its body kept so it can be repaired).
#[derive(Debug, Serialize)]
struct FailedMessage<'a> {
    message_id: &'a str,
    recorded_at: String,
    error: String,
    body: &'a str,
}

/// Handles one SQS batch; the response lists only the messages to redeliver.
pub async fn handler<S: ObjectStore>(
    deps: &Deps<S>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = batch_deadline(&deps.settings, event.context.deadline());
    Ok(handle_messages(deps, &event.payload.records, deadline).await)
}

/// The work of [`handler`], with the deadline given (tests).
pub async fn handle_messages<S: ObjectStore>(
    deps: &Deps<S>,
    messages: &[SqsMessage],
    deadline: Instant,
) -> SqsBatchResponse {
    let started = std::time::Instant::now();
    let mut response = SqsBatchResponse::default();
    let mut counts = Counts::default();
    let mut jobs: Vec<(String, ContactJob)> = Vec::new();
    for message in messages {
        let id = message.message_id.clone().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or("");
        match Job::decode(body) {
            Ok(Job::Contact(job)) => jobs.push((id, job)),
            Err(error) => {
                tracing::warn!(message_id = %id, error = %error, "unreadable message; recording it");
                let record = FailedMessage {
                    message_id: &id,
                    recorded_at: now(),
                    error: error.to_string(),
                    body,
                };
                let key = format!("{FAILED_MESSAGES_PREFIX}{}.json", safe_key(&id));
                if record_json(deps, &key, &record).await {
                    counts.unreadable += 1;
                } else {
                    response.add_failure(id);
                    counts.retry += 1;
                }
            }
        }
    }

    // One delivery per external id: the latest job's fields win and its outcome answers for
    // all; the signup event is due if any of the id's jobs is a signup (a creation parked
    // before an update must still send it).
    let signing_up: HashSet<&str> = jobs
        .iter()
        .filter(|(_, job)| job.is_signup)
        .map(|(_, job)| job.contact.external_id.as_str())
        .collect();
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for (position, (_, job)) in jobs.iter().enumerate() {
        let entry = latest
            .entry(job.contact.external_id.as_str())
            .or_insert(position);
        if job.received_at >= jobs[*entry].1.received_at {
            *entry = position;
        }
    }
    let mut chosen: Vec<usize> = latest.values().copied().collect();
    chosen.sort_unstable();
    let deliveries: Vec<Delivery> = chosen
        .iter()
        .map(|&at| Delivery {
            contact: jobs[at].1.contact.clone(),
            track_signup: signing_up.contains(jobs[at].1.contact.external_id.as_str()),
        })
        .collect();
    let outcomes = deps.deliverer.deliver(&deliveries, deadline).await;
    let outcome_of: HashMap<&str, &Outcome> = chosen
        .iter()
        .zip(&outcomes)
        .map(|(&at, outcome)| (jobs[at].1.contact.external_id.as_str(), outcome))
        .collect();

    for (id, job) in &jobs {
        let outcome = outcome_of[job.contact.external_id.as_str()];
        outcome.log(id);
        match outcome {
            Outcome::Delivered => counts.delivered += 1,
            Outcome::Retry(_) => {
                response.add_failure(id.clone());
                counts.retry += 1;
            }
            Outcome::Rejected(failures) => {
                let record = FailedContact {
                    message_id: id,
                    recorded_at: now(),
                    failures,
                    job,
                };
                let key = format!(
                    "{FAILED_CONTACTS_PREFIX}{}/{}.json",
                    Utc::now().format("%Y-%m-%d"),
                    safe_key(id)
                );
                if record_json(deps, &key, &record).await {
                    counts.rejected += 1;
                } else {
                    response.add_failure(id.clone());
                    counts.retry += 1;
                }
            }
        }
    }
    tracing::info!(
        messages = messages.len(),
        delivered = counts.delivered,
        rejected = counts.rejected,
        unreadable = counts.unreadable,
        retry = counts.retry,
        duration_ms = started.elapsed().as_millis() as u64,
        "sync batch handled"
    );
    response
}

#[derive(Default)]
struct Counts {
    delivered: usize,
    rejected: usize,
    unreadable: usize,
    retry: usize,
}

/// The invocation's deadline less the margin, and never more than `max_batch_time` away.
pub fn batch_deadline(settings: &Settings, lambda_deadline: SystemTime) -> Instant {
    let left = lambda_deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(settings.deadline_margin)
        .min(settings.max_batch_time);
    Instant::now() + left
}

async fn record_json<S: ObjectStore>(deps: &Deps<S>, key: &str, record: &impl Serialize) -> bool {
    let body = Bytes::from(serde_json::to_vec_pretty(record).expect("records serialise"));
    match deps
        .deliverer
        .store()
        .put(key, body, "application/json")
        .await
    {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(key, class = ?error.class, "failure record not written; message kept for redelivery");
            false
        }
    }
}

/// SQS message ids are UUIDs; anything else is reduced to `[A-Za-z0-9-]`.
fn safe_key(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(128)
        .collect();
    if cleaned.is_empty() {
        "no-message-id".into()
    } else {
        cleaned
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}
