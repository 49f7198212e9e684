//! deletion-worker: consumes the SQS erasure queue with partial batch failures.
//!
//! Each message is one erasure request (`{"v":1,"request_id","subject","requested_at",
//! "origin"}`, [`ErasureRequest`]). The work is [`Eraser::erase`]'s, for the whole batch at
//! once so Braze's calls are shared; this shell reads the messages and shapes the answer:
//! - a message that is not a readable request is recorded under `erasure/rejected/` with the
//!   reason and acknowledged; if the record cannot be written, it is a batch item failure
//!   (nothing is dropped unrecorded);
//! - a request that is done (now, or by an earlier attempt: its receipt exists) is
//!   acknowledged;
//! - a request that stopped at a step is a batch item failure: SQS redelivers it and the next
//!   attempt resumes from its progress; after `maxReceiveCount` it moves to the dead-letter
//!   queue, from where `relay dlq replay` brings it back. Its last failure is recorded as
//!   `failed/attempts/<message id>.json` (the step and class, no personal data), so
//!   `relay dlq list` shows why.
//!
//! One log line per batch counts what happened; no subject is ever logged. One metrics
//! document ([`Deps::metrics`]) reports `ErasuresDone` (requests finished with their receipt
//! in this batch, each once however many of its messages the batch holds), `Rejected`
//! (unreadable messages recorded) and `UpstreamThrottles` (Braze and Userflow 429s).

pub mod config;

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use relay_core::erasure::rejected::RejectedMessage;
use relay_core::erasure::{Eraser, Erasure, ErasureRequest, ReceiptCounts, RequestId};
use relay_core::queue::dead_letters::FailedAttempt;
use relay_core::store::ObjectStore;
use relay_lambda::metrics::{Metric, MetricSet, MetricsSink};
use relay_lambda::sqs::{BatchTiming, acknowledged_redeliveries, receive_count};
use tokio::time::Instant;

pub use config::Config;

/// Timing of one invocation: the margin is kept to save progress, write receipts and answer.
pub type Settings = BatchTiming;

/// The default timing: 3 s kept before the Lambda deadline, batches of at most 600 s (an
/// erasure batch waits on Braze's 250 lookups a minute).
pub const DEFAULT_SETTINGS: Settings = BatchTiming {
    deadline_margin: Duration::from_secs(3),
    max_batch_time: Duration::from_secs(600),
};

/// Everything the handler uses, built once per cold start.
pub struct Deps<S, A> {
    /// The erasure steps (Braze, Userflow, the state bucket, the compliance archive).
    pub eraser: Eraser<S, A>,
    /// Timing.
    pub settings: Settings,
    /// Where each batch's metrics go: EMF on stdout on Lambda (`main.rs`); discarded unless
    /// set ([`Deps::with_metrics`]).
    pub metrics: MetricsSink,
}

impl<S, A> Deps<S, A> {
    /// The same dependencies, reporting each batch's metrics to `metrics`.
    pub fn with_metrics(self, metrics: MetricsSink) -> Deps<S, A> {
        Deps { metrics, ..self }
    }
}

/// Handles one SQS batch; the response lists only the messages to redeliver.
pub async fn handler<S: ObjectStore, A: ObjectStore>(
    deps: &Deps<S, A>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = Instant::from_std(deps.settings.deadline(event.context.deadline()));
    Ok(handle_messages(deps, &event.payload.records, deadline).await)
}

/// What a batch came to, for its log line.
#[derive(Debug, Default)]
struct Counts {
    /// Distinct requests finished in this batch.
    erased: usize,
    /// Further messages of a request finished in this batch (the eraser works a request
    /// once and answers each of its messages with the same outcome).
    repeated: usize,
    done_before: usize,
    rejected: usize,
    retried: usize,
    braze_profiles: usize,
    userflow_deleted: usize,
    userflow_already_gone: usize,
    /// The requests counted in `erased`.
    erased_ids: HashSet<RequestId>,
}

impl Counts {
    /// Counts `request` finished in this batch with the receipt's totals `done`, once: a
    /// repeat of a request already counted adds only to `repeated`.
    fn finished(&mut self, request: &RequestId, done: &ReceiptCounts) {
        if !self.erased_ids.insert(request.clone()) {
            self.repeated += 1;
            return;
        }
        self.erased += 1;
        self.braze_profiles += done.braze_profiles;
        self.userflow_deleted += done.userflow_deleted;
        self.userflow_already_gone += done.userflow_already_gone;
    }

    /// The batch's metrics: requests erased now, messages rejected, and the 429s met.
    fn metrics(&self, throttles: u64) -> MetricSet {
        let mut metrics = MetricSet::new();
        metrics
            .add(Metric::ErasuresDone, self.erased as u64)
            .add(Metric::Rejected, self.rejected as u64)
            .add(Metric::UpstreamThrottles, throttles);
        metrics
    }
}

/// The work of [`handler`], with the deadline given (tests).
pub async fn handle_messages<S: ObjectStore, A: ObjectStore>(
    deps: &Deps<S, A>,
    messages: &[SqsMessage],
    deadline: Instant,
) -> SqsBatchResponse {
    let started = std::time::Instant::now();
    let throttles = deps.eraser.watch_throttles();
    let state = &deps.eraser.state;
    let mut response = SqsBatchResponse::default();
    let mut counts = Counts::default();
    let mut attempts = Vec::new();
    let mut requests: Vec<(&SqsMessage, ErasureRequest)> = Vec::new();
    for message in messages {
        let id = message.message_id.as_deref().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or_default();
        match ErasureRequest::decode(body) {
            Ok(request) => requests.push((message, request)),
            Err(error) => {
                let record = RejectedMessage {
                    message_id: id,
                    recorded_at: Utc::now(),
                    reason: error.to_string(),
                    body,
                };
                match record.record(state).await {
                    Ok(()) => {
                        tracing::warn!(message_id = id, reason = %error, "erasure message rejected and recorded");
                        counts.rejected += 1;
                    }
                    Err(store) => {
                        tracing::error!(message_id = id, class = ?store.class, "rejected erasure message not recorded; kept for redelivery");
                        attempts.push(attempt(
                            message,
                            "not a readable erasure request, and its record could not be written",
                        ));
                        response.add_failure(id);
                        counts.retried += 1;
                    }
                }
            }
        }
    }

    let batch: Vec<&ErasureRequest> = requests.iter().map(|(_, request)| request).collect();
    let outcomes = deps.eraser.erase(&batch, deadline).await;
    for ((message, request), outcome) in requests.iter().zip(outcomes) {
        match outcome {
            Erasure::Done { earlier: true, .. } => counts.done_before += 1,
            Erasure::Done {
                earlier: false,
                counts: done,
            } => counts.finished(&request.request_id, &done),
            Erasure::Unfinished {
                step,
                class,
                reason,
            } => {
                let id = message.message_id.as_deref().unwrap_or_default();
                tracing::warn!(request_id = %request.request_id, step = ?step, class = ?class, reason, "erasure unfinished; message kept for redelivery");
                let mut failed = attempt(message, &format!("stopped at {step:?}"));
                failed.failures = format!("{step:?}:{class:?}: {reason}");
                attempts.push(failed);
                response.add_failure(id);
                counts.retried += 1;
            }
        }
    }
    FailedAttempt::record_all(state, &attempts).await;
    FailedAttempt::forget_all(state, &acknowledged_redeliveries(messages, &response)).await;
    tracing::info!(
        messages = messages.len(),
        erased = counts.erased,
        repeated = counts.repeated,
        done_before = counts.done_before,
        rejected = counts.rejected,
        retried = counts.retried,
        braze_profiles = counts.braze_profiles,
        userflow_deleted = counts.userflow_deleted,
        userflow_already_gone = counts.userflow_already_gone,
        duration_ms = started.elapsed().as_millis() as u64,
        "erasure batch handled"
    );
    deps.metrics.emit(&counts.metrics(throttles.seen()));
    response
}

/// The record of a message handed back to SQS.
fn attempt(message: &SqsMessage, reason: &str) -> FailedAttempt {
    FailedAttempt {
        message_id: message.message_id.clone().unwrap_or_default(),
        recorded_at: Utc::now(),
        receive_count: receive_count(message),
        reason: reason.to_owned(),
        failures: String::new(),
        contacts: 0,
        unfinished: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(braze_profiles: usize) -> ReceiptCounts {
        ReceiptCounts {
            braze_profiles,
            userflow_deleted: 1,
            userflow_already_gone: 1,
        }
    }

    #[test]
    fn when_one_request_finishes_for_two_messages_then_it_and_its_totals_count_once() {
        let mut counts = Counts::default();
        let twice = RequestId::new("r-twice").unwrap();
        counts.finished(&twice, &totals(2));
        counts.finished(&twice, &totals(2));
        counts.finished(&RequestId::new("r-other").unwrap(), &totals(3));

        assert_eq!(
            (
                counts.erased,
                counts.repeated,
                counts.braze_profiles,
                counts.userflow_deleted,
                counts.userflow_already_gone,
            ),
            (2, 1, 5, 2, 2)
        );
        assert_eq!(counts.metrics(0).count(Metric::ErasuresDone), Some(2));
    }
}
