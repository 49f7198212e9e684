//! [`JobQueue`] in memory: the test double handler tests use instead of SQS.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{JobQueue, QueueError, SendReport, check_body};
use relay_clients::upstream::FailureClass;

/// [`JobQueue`] in memory, for handler unit tests: the enqueued bodies in order, and injected
/// failures. Bodies are checked like [`SqsQueue`](super::SqsQueue) checks them ([`check_body`]).
#[derive(Debug, Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<String>>,
    hidden: Mutex<Vec<(String, std::time::Duration)>>,
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
    /// Every `keep_hidden` asked for: receipt handle and duration, in order.
    pub fn kept_hidden(&self) -> Vec<(String, std::time::Duration)> {
        lock(&self.hidden).clone()
    }

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
    async fn keep_hidden(
        &self,
        receipt_handles: &[String],
        hidden_for: std::time::Duration,
    ) -> usize {
        let mut hidden = lock(&self.hidden);
        hidden.extend(receipt_handles.iter().map(|h| (h.clone(), hidden_for)));
        receipt_handles.len()
    }

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
    use crate::queue::MAX_MESSAGE_BYTES;

    fn bodies(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("body-{i}")).collect()
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
