//! The messages a poller's handlers are working on, by message id, with the receipt handle of
//! their latest receive: a message SQS hands out again while its handler still runs (its
//! visibility timeout ran out despite the heartbeat) is not given to a second handler, and
//! the delete or visibility change when the first one finishes uses the latest handle (SQS
//! honours only the latest).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_sqs::types::Message;

/// Message ids in flight and their latest receipt handles.
#[derive(Debug, Default)]
pub struct InFlight {
    messages: Mutex<HashMap<String, String>>,
}

impl InFlight {
    /// The messages of `received` that are not in flight, now recorded as in flight; for the
    /// others only the receipt handle is updated (they are skipped). Messages without an id
    /// or a receipt handle are dropped.
    pub fn admit(&self, received: Vec<Message>) -> Vec<Message> {
        let mut messages = self.lock();
        let mut admitted = Vec::with_capacity(received.len());
        for message in received {
            let (Some(id), Some(handle)) = (message.message_id(), message.receipt_handle()) else {
                continue;
            };
            match messages.get_mut(id) {
                Some(latest) => {
                    *latest = handle.to_owned();
                    tracing::warn!(
                        target: "relay_local",
                        message_id = id,
                        "message received again while its handler still runs; not run twice"
                    );
                }
                None => {
                    messages.insert(id.to_owned(), handle.to_owned());
                    admitted.push(message);
                }
            }
        }
        admitted
    }

    /// The latest receipt handle of message `id`, while it is in flight.
    pub fn receipt(&self, id: &str) -> Option<String> {
        self.lock().get(id).cloned()
    }

    /// Forgets `ids`: their handlers are done.
    pub fn finish<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut messages = self.lock();
        for id in ids {
            messages.remove(id);
        }
    }

    /// How many messages are in flight.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, handle: &str) -> Message {
        Message::builder()
            .message_id(id)
            .receipt_handle(handle)
            .body("b")
            .build()
    }

    #[test]
    fn when_a_message_in_flight_is_received_again_then_it_is_skipped_and_its_handle_kept() {
        let in_flight = InFlight::default();
        let first = in_flight.admit(vec![message("a", "h1"), message("b", "h1")]);
        assert_eq!(first.len(), 2);
        let again = in_flight.admit(vec![message("a", "h2"), message("c", "h1")]);
        assert_eq!(
            again
                .iter()
                .map(|m| m.message_id().unwrap())
                .collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(in_flight.receipt("a").as_deref(), Some("h2"));
        in_flight.finish(["a"]);
        assert_eq!(in_flight.admit(vec![message("a", "h3")]).len(), 1);
        assert_eq!(in_flight.len(), 3);
    }
}
