//! A small job queue over SQS. Handlers are generic over [`JobQueue`] so unit tests can use
//! [`MemoryQueue`]; everything else uses [`SqsQueue`] (moto on loopback in tests).
//!
//! CONTRACT (filled in by the store/queue work): `SqsQueue::send` packs bodies into
//! `SendMessageBatch` calls (at most 10 entries and 256 KiB per call), sends the calls
//! concurrently, retries the entries SQS reports as failed with `SenderFault = false` a few
//! times, and returns which inputs could not be sent. A body over 256 KiB is refused
//! (permanent) without being sent.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::stream::{self, StreamExt};

use crate::store::{classify_sdk_error, timeouts};
use relay_clients::upstream::FailureClass;

/// Largest SQS message body, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Outcome of [`JobQueue::send`]: which of the caller's bodies were not enqueued.
#[derive(Debug, Default)]
pub struct SendReport {
    /// Bodies enqueued.
    pub sent: usize,
    /// Indexes (into the caller's slice) of bodies not enqueued, with why.
    pub failed: Vec<(usize, QueueError)>,
}

impl SendReport {
    /// Whether every body was enqueued.
    pub fn all_sent(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Why a message was not enqueued.
#[derive(Debug, Clone, thiserror::Error)]
#[error("queue send failed ({class:?}): {detail}")]
pub struct QueueError {
    /// Transient (retry later) or permanent (e.g. too large).
    pub class: FailureClass,
    /// The service's error code and message (never the body).
    pub detail: String,
}

/// The operation the functions need from SQS.
pub trait JobQueue: Send + Sync {
    /// Enqueues every body; see [`SendReport`].
    fn send(&self, bodies: &[String]) -> impl Future<Output = SendReport> + Send;
}

/// Most entries SQS accepts in one `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// Largest sum of bodies SQS accepts in one `SendMessageBatch` call, in bytes.
pub const MAX_BATCH_BYTES: usize = MAX_MESSAGE_BYTES;

/// How many `SendMessageBatch` calls [`SqsQueue::send`] runs at once.
const CONCURRENT_CALLS: usize = 8;

/// Waits before the further tries of entries (or calls) that failed without being the sender's
/// fault: one wait per extra try.
const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(200),
];

impl QueueError {
    /// A queue error of `class`.
    pub fn new(class: FailureClass, detail: impl Into<String>) -> QueueError {
        QueueError {
            class,
            detail: detail.into(),
        }
    }
}

/// Refuses what SQS would refuse for a body in any case: empty, larger than
/// [`MAX_MESSAGE_BYTES`], or holding characters outside SQS's allowed set (`#x9 | #xA | #xD |
/// #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`). Checked before sending so one bad body
/// cannot fail the other entries of its batch call.
pub fn check_body(body: &str) -> Result<(), QueueError> {
    if body.is_empty() {
        return Err(QueueError::new(
            FailureClass::Permanent,
            "message body is empty",
        ));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::new(
            FailureClass::Permanent,
            format!(
                "message body is {} bytes, over the SQS limit of {MAX_MESSAGE_BYTES}",
                body.len()
            ),
        ));
    }
    let allowed = |c: char| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    if let Some(at) = body.find(|c: char| !allowed(c)) {
        return Err(QueueError::new(
            FailureClass::Permanent,
            format!("message body holds a character SQS refuses at byte {at}"),
        ));
    }
    Ok(())
}

/// Packs bodies of the given sizes (bytes) into `SendMessageBatch` calls of at most
/// [`MAX_BATCH_ENTRIES`] entries and [`MAX_BATCH_BYTES`] bytes, keeping input order. Returns
/// indexes into `sizes`; a size over [`MAX_MESSAGE_BYTES`] is in no batch (the caller refuses
/// it).
pub fn pack_batches(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = 0;
    for (index, &size) in sizes.iter().enumerate() {
        if size > MAX_MESSAGE_BYTES {
            continue;
        }
        if current.len() == MAX_BATCH_ENTRIES || current_bytes + size > MAX_BATCH_BYTES {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// What one `SendMessageBatch` call said about its entries (by input index).
#[derive(Debug, Default)]
struct BatchAnswer {
    successful: Vec<usize>,
    failed: Vec<EntryFailure>,
}

/// One entry SQS listed under `Failed`.
#[derive(Debug)]
struct EntryFailure {
    index: usize,
    sender_fault: bool,
    detail: String,
}

/// The send loop, independent of SQS: checks and packs `bodies`, runs `call` per batch
/// ([`CONCURRENT_CALLS`] at once), retries what failed without being the sender's fault after
/// each wait in `backoff`, and reports what was never sent.
async fn send_packed<F, Fut>(bodies: &[String], backoff: &[Duration], call: F) -> SendReport
where
    F: Fn(Vec<usize>) -> Fut,
    Fut: Future<Output = Result<BatchAnswer, QueueError>>,
{
    let mut report = SendReport::default();
    let mut valid = Vec::with_capacity(bodies.len());
    for (index, body) in bodies.iter().enumerate() {
        match check_body(body) {
            Ok(()) => valid.push(index),
            Err(err) => report.failed.push((index, err)),
        }
    }
    let sizes: Vec<usize> = valid.iter().map(|&index| bodies[index].len()).collect();
    let batches = pack_batches(&sizes)
        .into_iter()
        .map(|batch| batch.into_iter().map(|at| valid[at]).collect::<Vec<_>>());
    let outcomes: Vec<(usize, Vec<(usize, QueueError)>)> = stream::iter(batches)
        .map(|batch| send_batch(batch, backoff, &call))
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    for (sent, failed) in outcomes {
        report.sent += sent;
        report.failed.extend(failed);
    }
    report.failed.sort_by_key(|(index, _)| *index);
    report
}

/// Sends one batch, retrying its retryable failures; returns how many were sent and the rest.
async fn send_batch<F, Fut>(
    mut pending: Vec<usize>,
    backoff: &[Duration],
    call: &F,
) -> (usize, Vec<(usize, QueueError)>)
where
    F: Fn(Vec<usize>) -> Fut,
    Fut: Future<Output = Result<BatchAnswer, QueueError>>,
{
    let mut sent = 0;
    let mut failed = Vec::new();
    let mut waits = backoff.iter();
    loop {
        let mut retry: Vec<(usize, QueueError)> = Vec::new();
        match call(pending.clone()).await {
            Ok(answer) => {
                let mut open: BTreeSet<usize> = pending.iter().copied().collect();
                for index in answer.successful {
                    if open.remove(&index) {
                        sent += 1;
                    }
                }
                for entry in answer.failed {
                    if !open.remove(&entry.index) {
                        continue;
                    }
                    if entry.sender_fault {
                        failed.push((
                            entry.index,
                            QueueError::new(FailureClass::Permanent, entry.detail),
                        ));
                    } else {
                        retry.push((
                            entry.index,
                            QueueError::new(FailureClass::Transient, entry.detail),
                        ));
                    }
                }
                retry.extend(open.into_iter().map(|index| {
                    let detail = "entry missing from the SendMessageBatch answer";
                    (index, QueueError::new(FailureClass::Transient, detail))
                }));
            }
            Err(err) if err.class.is_retryable_later() => {
                retry.extend(pending.iter().map(|&index| (index, err.clone())));
            }
            Err(err) => {
                failed.extend(pending.iter().map(|&index| (index, err.clone())));
            }
        }
        if retry.is_empty() {
            break;
        }
        match waits.next() {
            Some(wait) => {
                tokio::time::sleep(*wait).await;
                retry.sort_by_key(|(index, _)| *index);
                pending = retry.into_iter().map(|(index, _)| index).collect();
            }
            None => {
                failed.extend(retry);
                break;
            }
        }
    }
    (sent, failed)
}

// ---------------------------------------------------------------------------------------------
// SQS
// ---------------------------------------------------------------------------------------------

/// An SQS client from the shared config with the relay's timeouts (see
/// [`crate::store::DEFAULT_ATTEMPT_TIMEOUT`], [`crate::store::DEFAULT_OPERATION_TIMEOUT`]);
/// the SDK's own retries are kept.
pub fn sqs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(timeouts(sdk))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// An SQS client built when first used.
type LazyClient = LazyLock<aws_sdk_sqs::Client, Box<dyn FnOnce() -> aws_sdk_sqs::Client + Send>>;

/// [`JobQueue`] over one SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Arc<LazyClient>,
    queue_url: String,
}

impl SqsQueue {
    /// A queue at `queue_url`; build the client with [`sqs_client`].
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsQueue {
        SqsQueue::with_client(Box::new(move || client), queue_url.into())
    }

    /// A queue at `queue_url` whose client ([`sqs_client`] of `sdk`) is built on the first
    /// send: for a function that only sends when something goes wrong (crm-signup parks),
    /// which then does not pay for an SQS client at every cold start.
    pub fn connect_on_first_send(
        sdk: &aws_config::SdkConfig,
        queue_url: impl Into<String>,
    ) -> SqsQueue {
        let sdk = sdk.clone();
        SqsQueue::with_client(Box::new(move || sqs_client(&sdk)), queue_url.into())
    }

    fn with_client(
        client: Box<dyn FnOnce() -> aws_sdk_sqs::Client + Send>,
        queue_url: String,
    ) -> SqsQueue {
        SqsQueue {
            client: Arc::new(LazyLock::new(client)),
            queue_url,
        }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// One `SendMessageBatch` call for `batch` (indexes into `bodies`, also the entry ids).
    async fn call(&self, bodies: &[String], batch: Vec<usize>) -> Result<BatchAnswer, QueueError> {
        let entries = batch
            .iter()
            .map(|&index| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(bodies[index].clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::new(FailureClass::Permanent, e.to_string()))?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                let (class, detail) = classify_sdk_error(&e);
                QueueError::new(class, format!("SendMessageBatch: {detail}"))
            })?;
        Ok(BatchAnswer {
            successful: output
                .successful()
                .iter()
                .filter_map(|entry| entry.id().parse().ok())
                .collect(),
            failed: output
                .failed()
                .iter()
                .filter_map(|entry| {
                    Some(EntryFailure {
                        index: entry.id().parse().ok()?,
                        sender_fault: entry.sender_fault(),
                        detail: format!(
                            "{}: {}",
                            entry.code(),
                            entry.message().unwrap_or("no message")
                        ),
                    })
                })
                .collect(),
        })
    }
}

impl JobQueue for SqsQueue {
    async fn send(&self, bodies: &[String]) -> SendReport {
        send_packed(bodies, &RETRY_BACKOFF, |batch| self.call(bodies, batch)).await
    }
}

// ---------------------------------------------------------------------------------------------
// In memory
// ---------------------------------------------------------------------------------------------

/// [`JobQueue`] in memory, for handler unit tests: the enqueued bodies in order, and injected
/// failures. Bodies are checked like [`SqsQueue`] checks them ([`check_body`]).
#[derive(Debug, Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<String>>,
    faults: Mutex<MemoryFaults>,
}

#[derive(Debug, Default)]
struct MemoryFaults {
    failing_sends: usize,
    failing_indexes: BTreeMap<usize, FailureClass>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    /// Every body enqueued so far, in order.
    pub fn messages(&self) -> Vec<String> {
        lock(&self.messages).clone()
    }

    /// Removes and returns every body enqueued so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.messages))
    }

    /// Makes the next `n` calls of `send` enqueue nothing: every body fails as transient.
    pub fn fail_next_sends(&self, n: usize) {
        lock(&self.faults).failing_sends += n;
    }

    /// Makes the next call of `send` fail the bodies at these indexes with `class` (the others
    /// are enqueued): a partial failure.
    pub fn fail_indexes(&self, indexes: impl IntoIterator<Item = usize>, class: FailureClass) {
        lock(&self.faults)
            .failing_indexes
            .extend(indexes.into_iter().map(|index| (index, class)));
    }
}

impl JobQueue for MemoryQueue {
    async fn send(&self, bodies: &[String]) -> SendReport {
        let (fail_all, failing_indexes) = {
            let mut faults = lock(&self.faults);
            let fail_all = faults.failing_sends > 0;
            if fail_all {
                faults.failing_sends -= 1;
                (true, BTreeMap::new())
            } else {
                (false, std::mem::take(&mut faults.failing_indexes))
            }
        };
        let mut report = SendReport::default();
        let mut messages = lock(&self.messages);
        for (index, body) in bodies.iter().enumerate() {
            let injected = if fail_all {
                Some(FailureClass::Transient)
            } else {
                failing_indexes.get(&index).copied()
            };
            let outcome = match injected {
                Some(class) => Err(QueueError::new(class, "injected fault")),
                None => check_body(body),
            };
            match outcome {
                Ok(()) => {
                    messages.push(body.clone());
                    report.sent += 1;
                }
                Err(err) => report.failed.push((index, err)),
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const KIB: usize = 1024;

    #[test]
    fn when_a_queue_builds_its_client_on_first_send_then_clones_share_one_build() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let queue = SqsQueue::with_client(
            Box::new(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                sqs_client(&aws_config::SdkConfig::builder().build())
            }),
            "https://sqs.example/123/q".into(),
        );
        let copy = queue.clone();
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before use");

        LazyLock::force(&copy.client);
        LazyLock::force(&queue.client);

        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn when_bodies_are_small_then_batches_hold_ten_entries() {
        let batches = pack_batches(&[10; 25]);
        let lens: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(lens, [10, 10, 5]);
        assert_eq!(batches.concat(), (0..25).collect::<Vec<_>>());
    }

    #[test]
    fn when_ten_bodies_exceed_256_kib_then_they_are_split_by_bytes() {
        let batches = pack_batches(&[30 * KIB; 10]);
        assert_eq!(batches, [(0..8).collect::<Vec<_>>(), vec![8, 9]]);
    }

    #[test]
    fn when_bodies_fill_the_limit_exactly_then_they_share_a_batch() {
        let batches = pack_batches(&[128 * KIB, 128 * KIB, 1]);
        assert_eq!(batches, [vec![0, 1], vec![2]]);
        assert_eq!(pack_batches(&[MAX_MESSAGE_BYTES]), [vec![0]]);
    }

    #[test]
    fn when_a_body_is_over_the_limit_then_it_is_in_no_batch() {
        let batches = pack_batches(&[10, MAX_MESSAGE_BYTES + 1, 10]);
        assert_eq!(batches, [vec![0, 2]]);
    }

    #[test]
    fn when_there_are_no_bodies_then_there_are_no_batches() {
        assert!(pack_batches(&[]).is_empty());
    }

    #[test]
    fn when_a_body_is_empty_too_large_or_has_a_refused_character_then_it_is_permanent() {
        assert!(check_body("{\"job\":1}\n\t").is_ok());
        assert!(check_body("emoji \u{1F600} and é").is_ok());
        for bad in [
            String::new(),
            "x".repeat(MAX_MESSAGE_BYTES + 1),
            "a\u{0}b".into(),
        ] {
            let err = check_body(&bad).expect_err("refused");
            assert_eq!(err.class, FailureClass::Permanent);
        }
    }

    /// A scripted `SendMessageBatch`: records every call's indexes, answers with `answer`.
    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<Mutex<Vec<Vec<usize>>>>,
    }

    impl Fake {
        fn calls(&self) -> Vec<Vec<usize>> {
            lock(&self.calls).clone()
        }

        /// Calls `answer(call number, batch)`.
        fn call(
            &self,
            answer: impl Fn(usize, &[usize]) -> Result<BatchAnswer, QueueError>,
        ) -> impl Fn(Vec<usize>) -> std::future::Ready<Result<BatchAnswer, QueueError>> {
            let calls = self.calls.clone();
            move |batch| {
                let mut calls = lock(&calls);
                let result = answer(calls.len(), &batch);
                calls.push(batch);
                std::future::ready(result)
            }
        }
    }

    fn bodies(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("body-{i}")).collect()
    }

    fn all_ok(batch: &[usize]) -> Result<BatchAnswer, QueueError> {
        Ok(BatchAnswer {
            successful: batch.to_vec(),
            failed: Vec::new(),
        })
    }

    fn entry_failure(index: usize, sender_fault: bool) -> EntryFailure {
        EntryFailure {
            index,
            sender_fault,
            detail: "InternalError: try again".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn when_every_entry_succeeds_then_each_batch_is_one_call() {
        let fake = Fake::default();
        let report = send_packed(&bodies(25), &RETRY_BACKOFF, fake.call(|_, b| all_ok(b))).await;
        assert!(report.all_sent());
        assert_eq!(report.sent, 25);
        let mut calls = fake.calls();
        calls.sort();
        assert_eq!(calls.concat().len(), 25);
        assert_eq!(calls.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn when_there_are_no_bodies_then_no_call_is_made() {
        let fake = Fake::default();
        let report = send_packed(&[], &RETRY_BACKOFF, fake.call(|_, b| all_ok(b))).await;
        assert_eq!(report.sent, 0);
        assert!(report.all_sent());
        assert!(fake.calls().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn when_an_entry_fails_without_sender_fault_then_it_is_retried_until_sent() {
        let fake = Fake::default();
        let report = send_packed(
            &bodies(3),
            &RETRY_BACKOFF,
            fake.call(|call, batch| {
                if call < 2 {
                    Ok(BatchAnswer {
                        successful: batch.iter().copied().filter(|&i| i != 1).collect(),
                        failed: vec![entry_failure(1, false)],
                    })
                } else {
                    all_ok(batch)
                }
            }),
        )
        .await;
        assert!(report.all_sent(), "{:?}", report.failed);
        assert_eq!(report.sent, 3);
        assert_eq!(fake.calls(), [vec![0, 1, 2], vec![1], vec![1]]);
    }

    #[tokio::test(start_paused = true)]
    async fn when_an_entry_keeps_failing_then_it_is_tried_four_times_and_reported_transient() {
        let fake = Fake::default();
        let started = tokio::time::Instant::now();
        let report = send_packed(
            &bodies(2),
            &RETRY_BACKOFF,
            fake.call(|_, batch| {
                Ok(BatchAnswer {
                    successful: batch.iter().copied().filter(|&i| i != 0).collect(),
                    failed: vec![entry_failure(0, false)],
                })
            }),
        )
        .await;
        assert_eq!(report.sent, 1);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0, 0);
        assert_eq!(report.failed[0].1.class, FailureClass::Transient);
        assert!(report.failed[0].1.detail.contains("InternalError"));
        assert_eq!(fake.calls().len(), 4, "one try and three retries");
        assert_eq!(started.elapsed(), Duration::from_millis(350));
    }

    #[tokio::test(start_paused = true)]
    async fn when_an_entry_fails_by_sender_fault_then_it_is_permanent_and_not_retried() {
        let fake = Fake::default();
        let report = send_packed(
            &bodies(2),
            &RETRY_BACKOFF,
            fake.call(|_, _| {
                Ok(BatchAnswer {
                    successful: vec![1],
                    failed: vec![entry_failure(0, true)],
                })
            }),
        )
        .await;
        assert_eq!(report.sent, 1);
        assert_eq!(report.failed[0].0, 0);
        assert_eq!(report.failed[0].1.class, FailureClass::Permanent);
        assert_eq!(fake.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn when_an_entry_is_missing_from_the_answer_then_it_is_retried() {
        let fake = Fake::default();
        let report = send_packed(
            &bodies(2),
            &RETRY_BACKOFF,
            fake.call(|call, batch| {
                if call == 0 {
                    Ok(BatchAnswer {
                        successful: vec![0],
                        failed: Vec::new(),
                    })
                } else {
                    all_ok(batch)
                }
            }),
        )
        .await;
        assert!(report.all_sent());
        assert_eq!(report.sent, 2);
        assert_eq!(fake.calls(), [vec![0, 1], vec![1]]);
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_whole_call_is_throttled_then_it_is_retried() {
        let fake = Fake::default();
        let report = send_packed(
            &bodies(4),
            &RETRY_BACKOFF,
            fake.call(|call, batch| {
                if call == 0 {
                    Err(QueueError::new(FailureClass::Transient, "SlowDown"))
                } else {
                    all_ok(batch)
                }
            }),
        )
        .await;
        assert!(report.all_sent());
        assert_eq!(report.sent, 4);
        assert_eq!(fake.calls().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_whole_call_fails_permanently_then_every_entry_fails_at_once() {
        let fake = Fake::default();
        let report = send_packed(
            &bodies(3),
            &RETRY_BACKOFF,
            fake.call(|_, _| {
                Err(QueueError::new(
                    FailureClass::Misconfigured,
                    "QueueDoesNotExist",
                ))
            }),
        )
        .await;
        assert_eq!(report.sent, 0);
        let indexes: Vec<usize> = report.failed.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [0, 1, 2]);
        assert!(
            report
                .failed
                .iter()
                .all(|(_, e)| e.class == FailureClass::Misconfigured)
        );
        assert_eq!(fake.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_body_is_too_large_then_it_fails_without_a_call_and_the_rest_are_sent() {
        let fake = Fake::default();
        let mut input = bodies(3);
        input[1] = "x".repeat(300 * KIB);
        let report = send_packed(&input, &RETRY_BACKOFF, fake.call(|_, b| all_ok(b))).await;
        assert_eq!(report.sent, 2);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0, 1);
        assert_eq!(report.failed[0].1.class, FailureClass::Permanent);
        assert_eq!(fake.calls(), [vec![0, 2]]);
    }

    #[tokio::test]
    async fn when_bodies_are_sent_to_memory_then_messages_and_take_return_them() {
        let queue = MemoryQueue::new();
        let report = queue.send(&bodies(3)).await;
        assert!(report.all_sent());
        assert_eq!(report.sent, 3);
        assert_eq!(queue.messages(), bodies(3));
        assert_eq!(queue.take(), bodies(3));
        assert!(queue.messages().is_empty());
    }

    #[tokio::test]
    async fn when_memory_sends_are_made_to_fail_then_only_the_next_ones_fail() {
        let queue = MemoryQueue::new();
        queue.fail_next_sends(1);
        let report = queue.send(&bodies(2)).await;
        assert_eq!(report.sent, 0);
        assert_eq!(report.failed.len(), 2);
        assert!(
            report
                .failed
                .iter()
                .all(|(_, e)| e.class == FailureClass::Transient)
        );
        assert!(queue.messages().is_empty());
        assert!(queue.send(&bodies(2)).await.all_sent());
        assert_eq!(queue.messages().len(), 2);
    }

    #[tokio::test]
    async fn when_memory_indexes_are_made_to_fail_then_the_send_is_partial() {
        let queue = MemoryQueue::new();
        queue.fail_indexes([1], FailureClass::Throttled);
        let mut input = bodies(3);
        input.push("y".repeat(MAX_MESSAGE_BYTES + 1));
        let report = queue.send(&input).await;
        assert_eq!(report.sent, 2);
        let failed: Vec<(usize, FailureClass)> =
            report.failed.iter().map(|(i, e)| (*i, e.class)).collect();
        assert_eq!(
            failed,
            [(1, FailureClass::Throttled), (3, FailureClass::Permanent)]
        );
        assert_eq!(queue.messages(), ["body-0", "body-2"]);
        assert!(queue.send(&bodies(3)).await.all_sent(), "one send only");
    }
}
