//! One poller per queue, acting as Lambda's SQS event source mapping.
//!
//! - Long polls (`WaitTimeSeconds`) for up to `batch_size` messages with every system
//!   attribute and message attribute; after the first message, keeps gathering for the
//!   batching window or until the batch is full.
//! - Invokes the handler with a real [`SqsEvent`] and a [`lambda_runtime::Context`] whose
//!   deadline is the function timeout away, at most `concurrency` batches at once.
//! - `Ok(SqsBatchResponse)`: deletes every message except the `batchItemFailures` (a failure
//!   naming no message of the batch fails the whole batch, as on Lambda). `Err`, a panic or
//!   the timeout: deletes nothing. What is not deleted comes back after the visibility
//!   timeout, and SQS's own `RedrivePolicy` moves it to the dead-letter queue after
//!   `maxReceiveCount` receives; the poller never copies a message anywhere.
//! - While a batch runs, a heartbeat extends its messages' visibility
//!   (`ChangeMessageVisibilityBatch`, every third of the timeout), so a handler slower than
//!   the visibility timeout neither sees its messages run a second time nor has their receive
//!   count raised towards the dead-letter queue by redeliveries it never saw. Should SQS
//!   still hand a message out again (a late heartbeat), [`in_flight`] keeps it from a second
//!   concurrent handler and the delete uses its latest receipt handle.
//! - Stopping cancels a long poll that has received nothing yet; messages already received
//!   (a batching window under way) are invoked and drained like any batch. A batch the drain
//!   abandons is dropped with its heartbeat, so its messages return after the visibility
//!   timeout.
//! - Lambda itself does not extend visibility (AWS advises a visibility timeout of six times
//!   the function timeout instead): locally, short visibility timeouts then stay usable.

pub mod event;
pub mod in_flight;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_runtime::LambdaEvent;
use relay_core::queue::{MAX_BATCH_ENTRIES, receipts};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::config::PollSettings;
use super::invocation::{Function, new_trace_id};
pub use event::QueueSource;
use in_flight::InFlight;

/// An SQS function's handler, as `lambda_runtime` gets it.
pub type SqsHandler = Arc<
    dyn Fn(
            LambdaEvent<SqsEvent>,
        ) -> BoxFuture<'static, Result<SqsBatchResponse, lambda_runtime::Error>>
        + Send
        + Sync,
>;

/// The shortest pause between heartbeats.
const MIN_HEARTBEAT: Duration = Duration::from_millis(200);
/// Time a receive may take beyond its long poll before the client gives up on it.
const RECEIVE_SLACK: Duration = Duration::from_secs(5);
/// The pause after a failed receive.
const RECEIVE_BACKOFF: Duration = Duration::from_secs(1);

/// What every task of one poller shares.
struct Shared {
    client: aws_sdk_sqs::Client,
    source: QueueSource,
    function: Function,
    settings: PollSettings,
    handler: SqsHandler,
    in_flight: InFlight,
}

/// A running poller.
pub struct Poller {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Poller {
    /// Starts polling `source` for `function`'s `handler`.
    pub fn start(
        client: aws_sdk_sqs::Client,
        source: QueueSource,
        function: Function,
        settings: PollSettings,
        handler: SqsHandler,
    ) -> Poller {
        let shared = Arc::new(Shared {
            client,
            source,
            function,
            settings,
            handler,
            in_flight: InFlight::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(poll(shared, stopped));
        Poller { stop, task }
    }

    /// Stops receiving, lets the batches in flight finish (up to the drain setting; the rest
    /// is abandoned and comes back after the visibility timeout) and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The receive loop.
async fn poll(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(shared.settings.concurrency));
    let mut batches = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        while batches.try_join_next().is_some() {}
        let gathered = gather(&shared, &mut stopped).await;
        if !gathered.is_empty() {
            let shared = shared.clone();
            batches.spawn(async move {
                invoke(shared, gathered).await;
                drop(permit);
            });
        }
        if *stopped.borrow() {
            break;
        }
    }
    let drained = tokio::time::timeout(shared.settings.drain, async {
        while batches.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            target: "relay_local",
            function = shared.function.name,
            batches = batches.len(),
            "stopped before these batches finished; their messages return after the visibility timeout"
        );
        batches.abort_all();
    }
}

/// One batch: a long poll, then more receives for the batching window until the batch is
/// full. Receive errors are logged; what was gathered is kept.
///
/// A stop cancels the long poll (nothing received yet), but never a receive in the window:
/// it ends the window early, and the messages gathered so far are returned to be invoked
/// (and drained) like any batch; cancelling them would leave them hidden for the visibility
/// timeout with their receive count raised.
async fn gather(shared: &Shared, stopped: &mut watch::Receiver<bool>) -> Vec<Message> {
    let size = usize::from(shared.settings.batch_size);
    let first = tokio::select! {
        received = receive(shared, size, shared.settings.wait_seconds) => received,
        _ = stopped.wait_for(|stop| *stop) => return Vec::new(),
    };
    let mut batch = match first {
        Ok(received) => shared.in_flight.admit(received),
        Err(()) => {
            tokio::select! {
                _ = tokio::time::sleep(RECEIVE_BACKOFF) => {}
                _ = stopped.wait_for(|stop| *stop) => {}
            }
            return Vec::new();
        }
    };
    if batch.is_empty() {
        return batch;
    }
    let window_ends = Instant::now() + shared.settings.batch_window;
    while batch.len() < size && Instant::now() < window_ends && !*stopped.borrow() {
        match receive(shared, size - batch.len(), 0).await {
            Ok(received) => {
                let admitted = shared.in_flight.admit(received);
                if admitted.is_empty() {
                    let left = window_ends.saturating_duration_since(Instant::now());
                    tokio::select! {
                        _ = tokio::time::sleep(left.min(Duration::from_millis(100))) => {}
                        _ = stopped.wait_for(|stop| *stop) => {}
                    }
                }
                batch.extend(admitted);
            }
            Err(()) => break,
        }
    }
    batch
}

/// One `ReceiveMessage` of up to `max` messages, every attribute asked for.
///
/// The long poll outlasts the relay's usual per-attempt timeout (5 s), so this call gets its
/// own: the wait plus [`RECEIVE_SLACK`]. A receive abandoned by the client while SQS was
/// still answering would take the messages it received out of sight for the whole
/// visibility timeout.
async fn receive(shared: &Shared, max: usize, wait_seconds: u8) -> Result<Vec<Message>, ()> {
    let wait = Duration::from_secs(u64::from(wait_seconds));
    let timeouts = aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(wait + RECEIVE_SLACK)
        .operation_timeout(wait + 2 * RECEIVE_SLACK)
        .build();
    let received = shared
        .client
        .receive_message()
        .queue_url(&shared.source.queue_url)
        .max_number_of_messages(max.clamp(1, MAX_BATCH_ENTRIES) as i32)
        .wait_time_seconds(i32::from(wait_seconds))
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .customize()
        .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(timeouts))
        .send()
        .await;
    match received {
        Ok(output) => Ok(output.messages.unwrap_or_default()),
        Err(error) => {
            tracing::warn!(
                target: "relay_local",
                queue = %shared.source.queue_url,
                error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                "receive failed"
            );
            Err(())
        }
    }
}

/// How an invocation ended.
enum Ended {
    /// The handler answered; these message ids are to be redelivered.
    Answered(Vec<String>),
    /// The whole batch is to be redelivered, and why.
    Failed(&'static str),
}

/// One invocation of the handler with `messages`, then the deletes; one log line.
async fn invoke(shared: Arc<Shared>, messages: Vec<Message>) {
    let started = Instant::now();
    let ids: Vec<String> = messages
        .iter()
        .filter_map(|message| message.message_id().map(str::to_owned))
        .collect();
    let records = messages
        .iter()
        .filter_map(|message| {
            let id = message.message_id()?;
            let handle = shared.in_flight.receipt(id)?;
            Some(event::record(message, &handle, &shared.source))
        })
        .collect();
    let context = shared.function.context(&new_trace_id());
    let request_id = context.request_id.clone();
    let ended = match event::sqs_event(records) {
        Ok(payload) => {
            // Aborted when this invocation ends, or is dropped (an abandoned drain).
            let heartbeat = AbortOnDrop(tokio::spawn(heartbeat(Arc::clone(&shared), ids.clone())));
            let invocation = (shared.handler)(LambdaEvent::new(payload, context));
            let outcome = tokio::time::timeout(
                shared.settings.function_timeout,
                AssertUnwindSafe(invocation).catch_unwind(),
            )
            .await;
            drop(heartbeat);
            match outcome {
                Ok(Ok(Ok(response))) => redeliveries(&response, &ids),
                Ok(Ok(Err(error))) => {
                    tracing::warn!(target: "relay_local", function = shared.function.name, request_id = %request_id, error = %error, "handler error");
                    Ended::Failed("error")
                }
                Ok(Err(_)) => Ended::Failed("panic"),
                Err(_) => Ended::Failed("timeout"),
            }
        }
        Err(error) => {
            tracing::error!(target: "relay_local", %error, "cannot build the SQS event");
            Ended::Failed("event")
        }
    };
    let (failures, outcome) = match &ended {
        Ended::Answered(failed) => {
            let done: Vec<&String> = ids.iter().filter(|id| !failed.contains(id)).collect();
            delete(&shared, &done).await;
            (failed.len(), "answered")
        }
        Ended::Failed(why) => (ids.len(), *why),
    };
    shared.in_flight.finish(ids.iter().map(String::as_str));
    tracing::info!(
        target: "relay_local",
        function = shared.function.name,
        request_id = %request_id,
        batch = ids.len(),
        failures,
        outcome,
        duration_ms = started.elapsed().as_millis() as u64,
        "invocation"
    );
}

/// The messages to redeliver for `response`: its `batchItemFailures`, or the whole batch
/// when one of them names no message of the batch (Lambda's rule).
fn redeliveries(response: &SqsBatchResponse, ids: &[String]) -> Ended {
    let mut failed = Vec::with_capacity(response.batch_item_failures.len());
    for failure in &response.batch_item_failures {
        match ids.iter().find(|id| **id == failure.item_identifier) {
            Some(id) => failed.push(id.clone()),
            None => return Ended::Failed("unknown batch item failure"),
        }
    }
    Ended::Answered(failed)
}

/// Aborts its task when dropped: a heartbeat must not outlive its batch, also when the
/// batch's invocation is dropped without finishing (a drain that ran out).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `ids` with their latest receipt handles (those no longer in flight are left out).
fn receipts_of<'i>(
    shared: &Shared,
    ids: impl IntoIterator<Item = &'i String>,
) -> Vec<(String, String)> {
    ids.into_iter()
        .filter_map(|id| Some((id.clone(), shared.in_flight.receipt(id)?)))
        .collect()
}

/// Keeps `ids` invisible while their handler runs: every third of the visibility timeout,
/// their visibility is set to the full timeout again (with their latest receipt handles).
async fn heartbeat(shared: Arc<Shared>, ids: Vec<String>) {
    let timeout = shared.settings.visibility_timeout;
    let every = (timeout / 3).max(MIN_HEARTBEAT);
    loop {
        tokio::time::sleep(every).await;
        let entries = receipts_of(&shared, &ids);
        if entries.is_empty() {
            continue;
        }
        let report = receipts::change_visibility(
            &shared.client,
            &shared.source.queue_url,
            &entries,
            timeout,
        )
        .await;
        if let Some((_, error)) = report.failed.first() {
            tracing::warn!(
                target: "relay_local",
                queue = %shared.source.queue_url,
                failed = report.failed.len(),
                %error,
                "visibility heartbeat failed"
            );
        }
    }
}

/// Deletes `ids` (with their latest receipt handles), in batches; failures are logged (the
/// message then comes back after the visibility timeout, as on Lambda).
async fn delete(shared: &Shared, ids: &[&String]) {
    let entries = receipts_of(shared, ids.iter().copied());
    if entries.is_empty() {
        return;
    }
    let report = receipts::delete(&shared.client, &shared.source.queue_url, &entries).await;
    if let Some((_, error)) = report.failed.first() {
        tracing::warn!(
            target: "relay_local",
            queue = %shared.source.queue_url,
            failed = report.failed.len(),
            %error,
            "some deletes failed; those messages come back after the visibility timeout"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(failures: &[&str]) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for id in failures {
            response.add_failure(*id);
        }
        response
    }

    #[test]
    fn when_failures_name_messages_of_the_batch_then_only_they_are_redelivered() {
        let ids = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        match redeliveries(&response(&["b"]), &ids) {
            Ended::Answered(failed) => assert_eq!(failed, ["b"]),
            Ended::Failed(why) => panic!("whole batch failed: {why}"),
        }
    }

    #[test]
    fn when_a_failure_names_no_message_of_the_batch_then_the_whole_batch_is_redelivered() {
        let ids = vec!["a".to_owned()];
        for failures in [&["x"][..], &[""][..]] {
            assert!(matches!(
                redeliveries(&response(failures), &ids),
                Ended::Failed(_)
            ));
        }
    }
}
