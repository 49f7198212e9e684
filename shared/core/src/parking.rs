//! Parking: contacts that could not be delivered in time (or failed transiently) become
//! `contacts` jobs on the sync queue, where the sync-worker replays them through the same
//! delivery path.
//!
//! Contacts are packed several to a message (at most [`MAX_CONTACTS_PER_MESSAGE`], and under
//! SQS's 256 KiB body limit), the messages sent ten to a `SendMessageBatch` call, and the
//! whole of it bounded by a deadline: parking 1,000 contacts is one or two calls, not a
//! thousand, and a slow queue cannot hold the webhook's answer past its deadline.

use chrono::{DateTime, Utc};
use tokio::time::{Instant, timeout_at};

use crate::jobs::{ContactsJob, Job, ParkedContact};
use crate::queue::{JobQueue, MAX_MESSAGE_BYTES, QueueError};

/// Most contacts in one message: the unit of work the sync-worker retries as a whole, kept
/// small enough to finish well inside one invocation.
pub const MAX_CONTACTS_PER_MESSAGE: usize = 100;

/// Where parked contacts came from, written into every job for logs and replays.
#[derive(Debug, Clone, Copy)]
pub struct ParkedFrom<'a> {
    /// The CRM source.
    pub source: &'a str,
    /// The request that carried them (API Gateway request id).
    pub request_id: &'a str,
    /// When that request was received.
    pub received_at: DateTime<Utc>,
}

/// How much was parked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parked {
    /// Contacts parked.
    pub contacts: usize,
    /// Messages they were packed into.
    pub messages: usize,
}

/// Some contacts may not be parked: the caller must not acknowledge them (answer 503 so
/// the CRM sends them again; a contact parked twice is delivered twice, which is safe).
#[derive(Debug, thiserror::Error)]
pub enum ParkError {
    /// The queue refused or failed some messages.
    #[error("{contacts} contact(s) could not be parked on the sync queue: {first}")]
    NotSent {
        /// Contacts in the messages not sent.
        contacts: usize,
        /// The first failure.
        #[source]
        first: QueueError,
    },
    /// Sending did not finish by the deadline; what was sent is unknown.
    #[error("parking {contacts} contact(s) on the sync queue did not finish by the deadline")]
    TimedOut {
        /// Contacts that were being parked.
        contacts: usize,
    },
    /// One contact alone is larger than a message may be.
    #[error(
        "a contact serialises to {bytes} bytes; with its job it does not fit in one {MAX_MESSAGE_BYTES}-byte message"
    )]
    ContactTooLarge {
        /// The contact's serialised size.
        bytes: usize,
    },
}

impl ParkError {
    /// How many contacts may not be parked.
    pub fn contacts(&self) -> usize {
        match self {
            ParkError::NotSent { contacts, .. } | ParkError::TimedOut { contacts } => *contacts,
            ParkError::ContactTooLarge { .. } => 1,
        }
    }
}

/// Parks `contacts` as `contacts` jobs, each contact keeping whether its signup event is
/// due, and gives up at `deadline`. All of them are parked, or an error says how many may
/// not be.
pub async fn park<Q: JobQueue>(
    queue: &Q,
    from: ParkedFrom<'_>,
    contacts: Vec<ParkedContact>,
    deadline: Instant,
) -> Result<Parked, ParkError> {
    if contacts.is_empty() {
        return Ok(Parked::default());
    }
    let total = contacts.len();
    let messages = pack(from, contacts)?;
    let bodies: Vec<String> = messages.iter().map(|(body, _)| body.clone()).collect();
    let Ok(mut sent) = timeout_at(deadline, queue.send(&bodies)).await else {
        tracing::error!(
            contacts = total,
            messages = bodies.len(),
            "parking on the sync queue did not finish by the deadline"
        );
        return Err(ParkError::TimedOut { contacts: total });
    };
    if sent.all_sent() {
        return Ok(Parked {
            contacts: total,
            messages: bodies.len(),
        });
    }
    let contacts = sent
        .failed
        .iter()
        .map(|(index, _)| messages[*index].1)
        .sum();
    let failed_messages = sent.failed.len();
    let (_, first) = sent.failed.swap_remove(0);
    tracing::error!(
        contacts,
        messages = failed_messages,
        class = ?first.class,
        "parking on the sync queue failed"
    );
    Err(ParkError::NotSent { contacts, first })
}

/// Packs contacts, in order, into message bodies of at most [`MAX_CONTACTS_PER_MESSAGE`]
/// contacts and [`MAX_MESSAGE_BYTES`] bytes; each with its contact count.
pub fn pack(
    from: ParkedFrom<'_>,
    contacts: Vec<ParkedContact>,
) -> Result<Vec<(String, usize)>, ParkError> {
    let envelope = |contacts| {
        Job::Contacts(ContactsJob {
            source: from.source.to_owned(),
            request_id: from.request_id.to_owned(),
            received_at: from.received_at,
            contacts,
        })
    };
    // The body is the envelope with the contacts' JSON, comma-separated, inside its list.
    let envelope_bytes = envelope(Vec::new()).encode().len();
    let mut messages = Vec::new();
    let mut current: Vec<ParkedContact> = Vec::new();
    let mut current_bytes = envelope_bytes;
    for contact in contacts {
        let bytes = serde_json::to_string(&contact)
            .expect("contacts serialise")
            .len();
        if envelope_bytes + bytes > MAX_MESSAGE_BYTES {
            return Err(ParkError::ContactTooLarge { bytes });
        }
        let separator = usize::from(!current.is_empty());
        let full = current.len() == MAX_CONTACTS_PER_MESSAGE
            || current_bytes + separator + bytes > MAX_MESSAGE_BYTES;
        if full {
            let count = current.len();
            messages.push((envelope(std::mem::take(&mut current)).encode(), count));
            current_bytes = envelope_bytes;
        }
        current_bytes += usize::from(!current.is_empty()) + bytes;
        current.push(contact);
    }
    if !current.is_empty() {
        let count = current.len();
        messages.push((envelope(current).encode(), count));
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::contact::Contact;
    use crate::queue::{MemoryQueue, SendReport};
    use serde_json::Value;

    fn from() -> ParkedFrom<'static> {
        ParkedFrom {
            source: "hubspot",
            request_id: "req-1",
            received_at: Utc::now(),
        }
    }

    fn contacts(count: usize, padding: usize) -> Vec<ParkedContact> {
        (0..count)
            .map(|n| {
                let mut contact = Contact::new(format!("u-{n}"));
                contact.first_name = Some("x".repeat(padding));
                ParkedContact {
                    is_signup: n % 2 == 0,
                    contact,
                }
            })
            .collect()
    }

    fn decoded(body: &str) -> ContactsJob {
        match Job::decode(body).expect("a job") {
            Job::Contacts(job) => job,
            other => panic!("parking writes contacts jobs, not {}", other.kind()),
        }
    }

    #[test]
    fn when_contacts_are_many_then_messages_hold_at_most_the_per_message_count_in_order() {
        let messages = pack(from(), contacts(250, 10)).unwrap();

        let counts: Vec<usize> = messages.iter().map(|(_, count)| *count).collect();
        assert_eq!(counts, [100, 100, 50]);
        let ids: Vec<String> = messages
            .iter()
            .flat_map(|(body, _)| decoded(body).contacts)
            .map(|parked| parked.contact.external_id)
            .collect();
        let expected: Vec<String> = (0..250).map(|n| format!("u-{n}")).collect();
        assert_eq!(ids, expected, "every contact once, in order");
    }

    #[test]
    fn when_contacts_are_large_then_every_message_stays_under_the_sqs_limit() {
        // 90 contacts of about 10 KB: 25 fit in 256 KiB.
        let messages = pack(from(), contacts(90, 10_000)).unwrap();

        assert!(messages.len() >= 4, "{} messages", messages.len());
        for (body, count) in &messages {
            assert!(body.len() <= MAX_MESSAGE_BYTES, "{} bytes", body.len());
            assert_eq!(decoded(body).contacts.len(), *count);
        }
        let largest = messages.iter().map(|(body, _)| body.len()).max().unwrap();
        assert!(largest > MAX_MESSAGE_BYTES - 11_000, "messages are filled");
        let total: usize = messages.iter().map(|(_, count)| count).sum();
        assert_eq!(total, 90);
    }

    #[test]
    fn when_one_contact_cannot_fit_a_message_then_packing_says_so() {
        let error = pack(from(), contacts(1, MAX_MESSAGE_BYTES)).unwrap_err();
        assert!(
            matches!(error, ParkError::ContactTooLarge { .. }),
            "{error}"
        );
    }

    #[test]
    fn when_packed_then_each_contact_keeps_its_signup_flag() {
        let (body, _) = &pack(from(), contacts(3, 1)).unwrap()[0];
        let raw: Value = serde_json::from_str(body).unwrap();
        assert_eq!(raw["kind"], "contacts");
        let flags: Vec<bool> = decoded(body).contacts.iter().map(|c| c.is_signup).collect();
        assert_eq!(flags, [true, false, true]);
    }

    #[tokio::test]
    async fn when_contacts_are_parked_then_the_queue_gets_one_body_per_message() {
        let queue = MemoryQueue::default();
        let deadline = Instant::now() + Duration::from_secs(5);

        let parked = park(&queue, from(), contacts(201, 5), deadline)
            .await
            .unwrap();

        assert_eq!(
            parked,
            Parked {
                contacts: 201,
                messages: 3
            }
        );
        assert_eq!(queue.messages().len(), 3);
    }

    /// A queue whose sends never finish.
    struct StuckQueue;

    impl JobQueue for StuckQueue {
        async fn send(&self, _bodies: &[String]) -> SendReport {
            std::future::pending().await
        }

        async fn keep_hidden(&self, _handles: &[String], _for: Duration) -> usize {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_queue_does_not_answer_then_parking_gives_up_at_the_deadline() {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(800);

        let error = park(&StuckQueue, from(), contacts(3, 1), deadline)
            .await
            .unwrap_err();

        assert!(
            matches!(error, ParkError::TimedOut { contacts: 3 }),
            "{error}"
        );
        assert_eq!(started.elapsed(), Duration::from_millis(800));
    }
}
