//! sync-worker: consumes the SQS sync queue with partial batch failures.
//!
//! `export_file` jobs (one file of a Braze segment export each) are read into Userflow while
//! the contacts are delivered: see [`export_files`].
//!
//! `contacts` jobs (contacts crm-signup parked, several per message) are replayed through the
//! same delivery path as the webhook ([`relay_core::delivery`]). Per contact:
//! - delivered: done;
//! - refused for good (a vendor rejected the contact): the contact and why are recorded under
//!   `failed/contacts/` in the state bucket: done;
//! - unfinished (transient failure, throttling, misconfiguration, the invocation's deadline).
//!
//! Per message: when every contact is done, it is acknowledged. When some are done and others
//! unfinished, the unfinished ones are parked again as a new, smaller message and the original
//! is acknowledged, so a message larger than one invocation can finish still makes progress
//! instead of being redone from its start until it reaches the dead-letter queue. When none is
//! done (or the new message cannot be sent), it is a batch item failure: SQS redelivers it
//! and, after `maxReceiveCount`, moves it to the dead-letter queue, from where
//! `relay dlq replay` brings it back. Every re-park is strictly smaller, so a message is
//! re-parked fewer times than it has contacts. A message that is not a job this relay can
//! read is recorded under `failed/messages/` and acknowledged.
//!
//! Every batch item failure also writes why, as `failed/attempts/<message id>.json`
//! ([`FailedAttempt`]: when, the receive count, the failures counted by step and class; no
//! contact data). SQS keeps the message id when it moves the message to the dead-letter
//! queue, so `relay dlq list` shows each dead letter's last failure. Writing it is best
//! effort: the message is redelivered either way.
//!
//! A message is acknowledged only after its records are written and its remainder parked;
//! if either fails, it is a batch item failure instead, so nothing is lost. One log line per
//! batch counts what happened, and one metrics document ([`Deps::metrics`]) reports the same
//! counts: `Delivered` (contacts delivered plus export users upserted), `Parked` (contacts
//! parked again), `Rejected` (contacts refused and recorded, unreadable messages, rejected
//! export lines), `UpstreamThrottles` (Braze and Userflow 429s), and, when an export file was
//! read, `ExportUsers` and `ExportUsersPerSecond`.

pub mod config;
pub mod export_files;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_runtime::LambdaEvent;
use relay_core::delivery::{Deliverer, Delivery, FailureTally, Outcome, StepFailure};
use relay_core::jobs::{ContactsJob, Job, ParkedContact};
use relay_core::parking::{ParkedFrom, park};
use relay_core::queue::JobQueue;
use relay_core::queue::dead_letters::{FailedAttempt, message_key};
use relay_core::store::ObjectStore;
use relay_lambda::metrics::{Metric, MetricSet, MetricsSink};
use relay_lambda::sqs::{BatchTiming, acknowledged_redeliveries, receive_count};
use serde::Serialize;
use tokio::time::Instant;

pub use config::Config;
pub use export_files::ExportFiles;
use export_files::{ExportWork, FileMessage, FileVerdict, sync_files};

/// Key prefix of refused contacts.
pub const FAILED_CONTACTS_PREFIX: &str = "failed/contacts/";
/// Key prefix of messages that are not readable jobs.
pub const FAILED_MESSAGES_PREFIX: &str = "failed/messages/";
/// Key prefix of the records of failed attempts ([`FailedAttempt::key`]).
pub use relay_core::queue::dead_letters::FAILED_ATTEMPTS_PREFIX;

/// Timing of one invocation. Re-parking gets at most half of the deadline margin.
pub type Settings = BatchTiming;

/// The default timing: 3 s kept before the Lambda deadline, batches of at most 60 s.
pub const DEFAULT_SETTINGS: Settings = BatchTiming {
    deadline_margin: Duration::from_secs(3),
    max_batch_time: Duration::from_secs(60),
};

/// Everything the handler uses, built once per cold start.
pub struct Deps<S, Q> {
    /// Braze + Userflow delivery; its store also receives the failure records.
    pub deliverer: Deliverer<S>,
    /// The sync queue itself, where unfinished remainders of messages are parked again.
    pub queue: Q,
    /// Timing.
    pub settings: Settings,
    /// Export files (`export_file` jobs); `None` when `EXPORT_BUCKET` is not set, and then
    /// such jobs are handed back to SQS (they end in the dead-letter queue, to be replayed).
    pub exports: Option<ExportFiles>,
    /// The erasure queue, for exports whose action is `erase`; `None` without
    /// `ERASURE_QUEUE_URL` (their files are then handed back the same way).
    pub erasures: Option<Q>,
    /// Where each batch's metrics go: EMF on stdout on Lambda (`main.rs`); discarded unless
    /// set ([`Deps::with_metrics`]).
    pub metrics: MetricsSink,
}

impl<S, Q> Deps<S, Q> {
    /// The same dependencies, reporting each batch's metrics to `metrics`.
    pub fn with_metrics(self, metrics: MetricsSink) -> Deps<S, Q> {
        Deps { metrics, ..self }
    }
}

/// The record written for a refused contact.
#[derive(Debug, Serialize)]
struct FailedContact<'a> {
    message_id: &'a str,
    recorded_at: String,
    failures: &'a [StepFailure],
    source: &'a str,
    request_id: &'a str,
    received_at: DateTime<Utc>,
    parked: &'a ParkedContact,
}

/// The record written for an unreadable message (its body kept so it can be repaired).
#[derive(Debug, Serialize)]
struct FailedMessage<'a> {
    message_id: &'a str,
    recorded_at: String,
    error: String,
    body: &'a str,
}

/// One contact of the batch: which message, which position in it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    message: usize,
    contact: usize,
}

/// Handles one SQS batch; the response lists only the messages to redeliver.
pub async fn handler<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = Instant::from_std(deps.settings.deadline(event.context.deadline()));
    Ok(handle_messages(deps, &event.payload.records, deadline).await)
}

/// The work of [`handler`], with the deadline given (tests).
pub async fn handle_messages<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    messages: &[SqsMessage],
    deadline: Instant,
) -> SqsBatchResponse {
    let started = std::time::Instant::now();
    let throttles = deps.deliverer.watch_throttles();
    let mut response = SqsBatchResponse::default();
    let mut counts = Counts::default();
    let mut jobs: Vec<(String, ContactsJob)> = Vec::new();
    let mut receive_counts: HashMap<String, Option<u64>> = HashMap::new();
    let mut attempts: Vec<FailedAttempt> = Vec::new();
    let mut files: Vec<FileMessage> = Vec::new();
    for message in messages {
        let id = message.message_id.clone().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or("");
        match Job::decode(body) {
            Ok(Job::Contacts(job)) => {
                receive_counts.insert(id.clone(), receive_count(message));
                jobs.push((id, job));
            }
            Ok(Job::ExportFile(job)) => {
                receive_counts.insert(id.clone(), receive_count(message));
                files.push(FileMessage {
                    message_id: id,
                    receipt_handle: message.receipt_handle.clone(),
                    job,
                });
            }
            Err(error) => {
                tracing::warn!(message_id = %id, error = %error, "unreadable message; recording it");
                let record = FailedMessage {
                    message_id: &id,
                    recorded_at: now(),
                    error: error.to_string(),
                    body,
                };
                let key = format!("{FAILED_MESSAGES_PREFIX}{}.json", message_key(&id));
                if record_json(deps, &key, &record).await {
                    counts.unreadable += 1;
                } else {
                    attempts.push(FailedAttempt {
                        message_id: id.clone(),
                        recorded_at: Utc::now(),
                        receive_count: receive_count(message),
                        reason: "not a readable job, and its failed/messages record could not be written".into(),
                        failures: String::new(),
                        contacts: 0,
                        unfinished: 0,
                    });
                    response.add_failure(id);
                    counts.retry_messages += 1;
                }
            }
        }
    }

    let slots: Vec<Slot> = jobs
        .iter()
        .enumerate()
        .flat_map(|(message, (_, job))| {
            (0..job.contacts.len()).map(move |contact| Slot { message, contact })
        })
        .collect();
    let parked = |slot: &Slot| &jobs[slot.message].1.contacts[slot.contact];
    let received_at = |slot: &Slot| jobs[slot.message].1.received_at;
    let external_id = |slot: &Slot| parked(slot).contact.external_id.as_str();

    // One delivery per external id: the latest job's fields win and its outcome answers for
    // all; the signup event is due if any of the id's contacts is a signup (a creation parked
    // before an update must still send it).
    let signing_up: HashSet<&str> = slots
        .iter()
        .filter(|slot| parked(slot).is_signup)
        .map(external_id)
        .collect();
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for (position, slot) in slots.iter().enumerate() {
        let entry = latest.entry(external_id(slot)).or_insert(position);
        if received_at(slot) >= received_at(&slots[*entry]) {
            *entry = position;
        }
    }
    let mut chosen: Vec<usize> = latest.values().copied().collect();
    chosen.sort_unstable();
    let deliveries: Vec<Delivery> = chosen
        .iter()
        .map(|&at| Delivery {
            contact: parked(&slots[at]).contact.clone(),
            track_signup: signing_up.contains(external_id(&slots[at])),
        })
        .collect();
    // Export files are read while the contacts are delivered; both end by the deadline, and
    // a file's lease lasts until the invocation's own end.
    let lease_until = Utc::now()
        + chrono::Duration::from_std(
            deadline.saturating_duration_since(Instant::now()) + deps.settings.deadline_margin,
        )
        .unwrap_or_default();
    let (outcomes, (verdicts, export_work)) = tokio::join!(
        deps.deliverer.deliver(&deliveries, deadline),
        sync_files(deps, &files, deadline, lease_until),
    );
    for (file, verdict) in files.iter().zip(verdicts) {
        match verdict {
            FileVerdict::Done => counts.export_files += 1,
            FileVerdict::Retry(reason) => {
                attempts.push(FailedAttempt {
                    message_id: file.message_id.clone(),
                    recorded_at: Utc::now(),
                    receive_count: receive_counts.get(&file.message_id).copied().flatten(),
                    reason,
                    failures: String::new(),
                    contacts: 0,
                    unfinished: 0,
                });
                response.add_failure(file.message_id.clone());
                counts.retry_messages += 1;
            }
        }
    }
    let failures = FailureTally::of(&outcomes);
    let outcome_of: HashMap<&str, &Outcome> = chosen
        .iter()
        .zip(&outcomes)
        .map(|(&at, outcome)| (external_id(&slots[at]), outcome))
        .collect();

    let park_by = deadline + deps.settings.deadline_margin / 2;
    for (id, job) in &jobs {
        let mut unfinished: Vec<ParkedContact> = Vec::new();
        let mut unfinished_failures = FailureTally::default();
        for (index, contact) in job.contacts.iter().enumerate() {
            let outcome = outcome_of[contact.contact.external_id.as_str()];
            let done = match outcome {
                Outcome::Delivered => {
                    counts.delivered += 1;
                    true
                }
                Outcome::Retry(_) => false,
                Outcome::Rejected(failures) => {
                    let recorded = record_rejected(deps, id, index, job, contact, failures).await;
                    counts.rejected += usize::from(recorded);
                    recorded
                }
            };
            if !done {
                unfinished_failures.add(outcome);
                unfinished.push(contact.clone());
            }
        }
        if unfinished.is_empty() {
            continue;
        }
        let progressed = unfinished.len() < job.contacts.len();
        let remainder = unfinished.len();
        if progressed && repark(deps, job, unfinished, park_by).await {
            counts.reparked += remainder;
            continue;
        }
        attempts.push(FailedAttempt {
            message_id: id.clone(),
            recorded_at: Utc::now(),
            receive_count: receive_counts.get(id).copied().flatten(),
            reason: if progressed {
                "the unfinished remainder could not be parked again".into()
            } else {
                "no contact finished".into()
            },
            failures: unfinished_failures.to_string(),
            contacts: job.contacts.len(),
            unfinished: remainder,
        });
        response.add_failure(id.clone());
        counts.retry_messages += 1;
        counts.retry_contacts += remainder;
    }
    let store = deps.deliverer.store();
    FailedAttempt::record_all(store, &attempts).await;
    FailedAttempt::forget_all(store, &acknowledged_redeliveries(messages, &response)).await;
    tracing::info!(
        messages = messages.len(),
        contacts = slots.len(),
        delivered = counts.delivered,
        rejected = counts.rejected,
        unreadable = counts.unreadable,
        reparked = counts.reparked,
        export_files = counts.export_files,
        retry_messages = counts.retry_messages,
        retry_contacts = counts.retry_contacts,
        failures = (!failures.is_empty()).then(|| failures.to_string()),
        duration_ms = started.elapsed().as_millis() as u64,
        "sync batch handled"
    );
    deps.metrics
        .emit(&counts.metrics(&export_work, throttles.seen()));
    response
}

/// Records a refused contact; whether the record was written.
async fn record_rejected<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    message_id: &str,
    index: usize,
    job: &ContactsJob,
    parked: &ParkedContact,
    failures: &[StepFailure],
) -> bool {
    let record = FailedContact {
        message_id,
        recorded_at: now(),
        failures,
        source: &job.source,
        request_id: &job.request_id,
        received_at: job.received_at,
        parked,
    };
    let key = format!(
        "{FAILED_CONTACTS_PREFIX}{}/{}-{index}.json",
        Utc::now().format("%Y-%m-%d"),
        message_key(message_id)
    );
    record_json(deps, &key, &record).await
}

/// Parks a message's unfinished contacts as a new message; whether that worked.
async fn repark<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    job: &ContactsJob,
    unfinished: Vec<ParkedContact>,
    park_by: Instant,
) -> bool {
    let from = ParkedFrom {
        source: &job.source,
        request_id: &job.request_id,
        received_at: job.received_at,
    };
    park(&deps.queue, from, unfinished, park_by).await.is_ok()
}

#[derive(Default)]
struct Counts {
    delivered: usize,
    rejected: usize,
    unreadable: usize,
    reparked: usize,
    export_files: usize,
    retry_messages: usize,
    retry_contacts: usize,
}

impl Counts {
    /// The batch's metrics: these counts, the export files' and the 429s met.
    fn metrics(&self, export: &ExportWork, throttles: u64) -> MetricSet {
        let mut metrics = MetricSet::new();
        metrics
            .add(
                Metric::Delivered,
                self.delivered as u64 + export.counts.upserted,
            )
            .add(Metric::Parked, self.reparked as u64)
            .add(
                Metric::Rejected,
                (self.rejected + self.unreadable) as u64 + export.counts.rejected,
            )
            .add(Metric::UpstreamThrottles, throttles);
        if export.read {
            metrics
                .add(Metric::ExportUsers, export.counts.users)
                .per_second(
                    Metric::ExportUsersPerSecond,
                    export.counts.users,
                    export.elapsed,
                );
        }
        metrics
    }
}

async fn record_json<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    key: &str,
    record: &impl Serialize,
) -> bool {
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

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}
