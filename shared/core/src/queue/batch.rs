//! Packing bodies into `SendMessageBatch` calls and the send loop around them: concurrent
//! calls, retries of what failed without being the sender's fault, and a report of what was
//! never sent. Independent of SQS (the call is a parameter), so it is tested without one.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::{MAX_MESSAGE_BYTES, QueueError, SendReport, check_body};
use relay_clients::upstream::FailureClass;

/// Most entries SQS accepts in one `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// Largest sum of bodies SQS accepts in one `SendMessageBatch` call, in bytes.
pub const MAX_BATCH_BYTES: usize = MAX_MESSAGE_BYTES;

/// How many `SendMessageBatch` calls [`send_packed`] runs at once.
const CONCURRENT_CALLS: usize = 8;

/// Waits before the further tries of entries (or calls) that failed without being the sender's
/// fault: one wait per extra try.
pub(super) const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(200),
];

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
pub(super) struct BatchAnswer {
    pub(super) successful: Vec<usize>,
    pub(super) failed: Vec<EntryFailure>,
}

/// One entry SQS listed under `Failed`.
#[derive(Debug)]
pub(super) struct EntryFailure {
    pub(super) index: usize,
    pub(super) sender_fault: bool,
    pub(super) detail: String,
}

/// The send loop, independent of SQS: checks and packs `bodies`, runs `call` per batch
/// ([`CONCURRENT_CALLS`] at once), retries what failed without being the sender's fault after
/// each wait in `backoff`, and reports what was never sent.
pub(super) async fn send_packed<F, Fut>(
    bodies: &[String],
    backoff: &[Duration],
    call: F,
) -> SendReport
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    const KIB: usize = 1024;

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

    /// A scripted `SendMessageBatch`: records every call's indexes, answers with `answer`.
    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<Mutex<Vec<Vec<usize>>>>,
    }

    impl Fake {
        fn calls(&self) -> Vec<Vec<usize>> {
            self.calls
                .lock()
                .expect("no test panicked holding it")
                .clone()
        }

        /// Calls `answer(call number, batch)`.
        fn call(
            &self,
            answer: impl Fn(usize, &[usize]) -> Result<BatchAnswer, QueueError>,
        ) -> impl Fn(Vec<usize>) -> std::future::Ready<Result<BatchAnswer, QueueError>> {
            let calls = self.calls.clone();
            move |batch| {
                let mut calls = calls.lock().expect("no test panicked holding it");
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
}
