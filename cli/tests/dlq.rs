//! `relay dlq list|replay|purge` end to end: the relay binary against moto, with a sync queue
//! and its dead-letter queue linked by a `RedrivePolicy`, as `relay local` and the
//! deployment create them.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use common::{code, json, queue_with_dlq, relay};
use relay_core::contact::Contact;
use relay_core::jobs::{ContactsJob, Job, ParkedContact};
use relay_core::queue::dead_letters::FailedAttempt;
use relay_tests::Moto;

/// One moto for the whole file (it stops when this process ends); names are unique per test.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// A source queue whose `RedrivePolicy` sends a message to its dead-letter queue on the
/// receive after `max_receive_count`, and a state bucket.
struct Queues {
    source: String,
    dlq: String,
    bucket: String,
    sqs: aws_sdk_sqs::Client,
}

async fn queues(max_receive_count: u32) -> Queues {
    let moto = moto();
    let sqs = moto.sqs_client().await;
    let pair = queue_with_dlq(&sqs, "relay-sync", max_receive_count).await;
    let bucket = moto.create_bucket("relay-state").await;
    Queues {
        source: pair.queue_url,
        dlq: pair.dlq_url,
        bucket,
        sqs,
    }
}

impl Queues {
    /// The settings of a deployed relay for these queues (no `SYNC_DLQ_URL`: found from the
    /// RedrivePolicy).
    fn env(&self) -> HashMap<String, String> {
        let mut env = aws_env();
        env.insert("SYNC_QUEUE_URL".into(), self.source.clone());
        env.insert("STATE_BUCKET".into(), self.bucket.clone());
        env
    }

    /// Sends `body` to the source queue and receives it until SQS moves it to the DLQ, as
    /// sync-worker's failures would; returns its message id.
    async fn dead_letter(&self, body: &str) -> String {
        let id = self
            .sqs
            .send_message()
            .queue_url(&self.source)
            .message_body(body)
            .send()
            .await
            .unwrap()
            .message_id()
            .unwrap()
            .to_owned();
        for _ in 0..10 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.source)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
            if received.messages().is_empty() {
                return id;
            }
        }
        panic!("message {id} never reached the dead-letter queue");
    }

    /// Sends `body` straight to the dead-letter queue; returns its message id.
    async fn put_in_dlq(&self, body: &str) -> String {
        self.sqs
            .send_message()
            .queue_url(&self.dlq)
            .message_body(body)
            .send()
            .await
            .unwrap()
            .message_id()
            .unwrap()
            .to_owned()
    }

    /// Writes the failure record sync-worker would have written for `message_id`.
    async fn record_attempt(&self, message_id: &str, failures: &str) {
        let record = FailedAttempt {
            message_id: message_id.into(),
            recorded_at: Utc::now(),
            receive_count: Some(1),
            reason: "no contact finished".into(),
            failures: failures.into(),
            contacts: 2,
            unfinished: 2,
        };
        moto()
            .s3_client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(FailedAttempt::key(message_id))
            .body(serde_json::to_vec(&record).unwrap().into())
            .send()
            .await
            .unwrap();
    }

    /// Whether the failure record of `message_id` exists.
    async fn has_attempt(&self, message_id: &str) -> bool {
        moto()
            .s3_client()
            .await
            .head_object()
            .bucket(&self.bucket)
            .key(FailedAttempt::key(message_id))
            .send()
            .await
            .is_ok()
    }
}

/// AWS settings for moto only: nothing from the test's own environment.
fn aws_env() -> HashMap<String, String> {
    [
        ("AWS_ENDPOINT_URL", moto().endpoint()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A `contacts` job of `n` contacts from request `request_id`.
fn job(request_id: &str, n: usize) -> String {
    Job::Contacts(ContactsJob {
        source: "hubspot".into(),
        request_id: request_id.into(),
        received_at: Utc::now(),
        contacts: (0..n)
            .map(|i| ParkedContact {
                is_signup: true,
                contact: Contact::new(format!("{request_id}-{i}")),
            })
            .collect(),
    })
    .encode()
}

#[tokio::test]
async fn when_the_dlq_is_empty_then_list_says_no_messages_and_exits_0() {
    let queues = queues(1).await;

    let text = relay(&["dlq", "list", "--queue", "sync"], &queues.env()).await;
    let document = relay(&["--json", "dlq", "list", "--queue", "sync"], &queues.env()).await;

    assert_eq!(code(&text), 0);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("no messages"),
        "{text:?}"
    );
    let document = json(&document);
    assert_eq!(document["messages"], serde_json::json!([]));
    assert_eq!(document["dead_letter_queue"], queues.dlq.as_str());
    assert_eq!(document["queue"], queues.source.as_str());
}

#[tokio::test]
async fn when_messages_reached_the_dlq_then_list_shows_them_with_their_recorded_failure() {
    let queues = queues(1).await;
    let redriven = queues.dead_letter(&job("req-7", 3)).await;
    queues
        .record_attempt(&redriven, "braze:transient=2 (first: status 503)")
        .await;
    let garbage = queues.put_in_dlq("not a job").await;

    let output = relay(&["--json", "dlq", "list", "--queue", "sync"], &queues.env()).await;

    assert_eq!(code(&output), 0, "{output:?}");
    let document = json(&output);
    let messages = document["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{document}");
    let by_id = |id: &str| {
        messages
            .iter()
            .find(|m| m["message_id"] == id)
            .unwrap_or_else(|| panic!("{id} listed: {document}"))
    };
    let job = by_id(&redriven);
    assert_eq!(job["kind"], "contacts");
    assert_eq!(job["contacts"], 3);
    assert_eq!(job["request_id"], "req-7");
    assert!(job["receive_count"].as_u64().unwrap() >= 2, "{job}");
    assert!(job["sent_at"].as_str().unwrap().ends_with('Z'), "{job}");
    assert_eq!(
        job["failure"],
        "no contact finished: braze:transient=2 (first: status 503)"
    );
    let unreadable = by_id(&garbage);
    assert_eq!(unreadable["kind"], "unreadable");
    assert!(
        unreadable["failure"]
            .as_str()
            .unwrap()
            .contains("not a relay job"),
        "{unreadable}"
    );

    let again = json(&relay(&["--json", "dlq", "list", "--queue", "sync"], &queues.env()).await);
    assert_eq!(
        again["messages"].as_array().unwrap().len(),
        2,
        "listing consumed nothing"
    );
}

#[tokio::test]
async fn when_sync_queue_url_is_missing_then_every_subcommand_exits_2_naming_it() {
    for args in [
        &["--json", "dlq", "list", "--queue", "sync"][..],
        &["--json", "dlq", "replay", "--queue", "sync"],
        &["--json", "dlq", "purge", "--queue", "sync", "--yes"],
    ] {
        let output = relay(args, &aws_env()).await;
        assert_eq!(code(&output), 2, "{args:?}: {output:?}");
        assert_eq!(
            json(&output)["error"]["variable"],
            "SYNC_QUEUE_URL",
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn when_the_queue_has_no_redrive_policy_and_no_dlq_setting_then_exit_2_names_sync_dlq_url() {
    let plain = moto().create_queue("relay-no-redrive").await;
    let mut env = aws_env();
    env.insert("SYNC_QUEUE_URL".into(), plain);
    env.insert("STATE_BUCKET".into(), "unused".into());

    let output = relay(&["dlq", "list", "--queue", "sync"], &env).await;

    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SYNC_DLQ_URL"), "{stderr}");
    assert!(stderr.contains("RedrivePolicy"), "{stderr}");
}

#[tokio::test]
async fn when_replayed_then_every_message_is_back_on_the_source_queue_and_the_dlq_is_empty() {
    let queues = queues(1).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(queues.dead_letter(&job(&format!("req-{n}"), 1)).await);
    }
    queues.record_attempt(&ids[0], "").await;

    let output = relay(
        &["--json", "dlq", "replay", "--queue", "sync"],
        &queues.env(),
    )
    .await;

    assert_eq!(code(&output), 0, "{output:?}");
    let document = json(&output);
    assert_eq!(document["moved"], 3);
    assert_eq!(document["failed"], serde_json::json!([]));
    assert!(moto().receive_all(&queues.dlq).await.is_empty());
    let mut back = request_ids(&moto().receive_all(&queues.source).await);
    back.sort();
    assert_eq!(back, ["req-0", "req-1", "req-2"]);
    assert!(
        !queues.has_attempt(&ids[0]).await,
        "the record of a moved message is removed"
    );
}

#[tokio::test]
async fn when_replayed_messages_fail_again_during_the_run_then_they_are_left_in_the_dlq_and_it_ends()
 {
    let queues = queues(1).await;
    let mut originals = Vec::new();
    for n in 0..3 {
        originals.push(queues.dead_letter(&job(&format!("again-{n}"), 1)).await);
    }
    // A consumer that fails every message on the source queue at once, so each replayed one
    // is back in the DLQ (under a new id) while the replay still reads it.
    let stop = Arc::new(AtomicBool::new(false));
    let failing = tokio::spawn({
        let (sqs, source, stop) = (queues.sqs.clone(), queues.source.clone(), stop.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                sqs.receive_message()
                    .queue_url(&source)
                    .max_number_of_messages(10)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            }
        }
    });

    let output = relay(
        &["--json", "dlq", "replay", "--queue", "sync"],
        &queues.env(),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    failing.await.unwrap();

    assert_eq!(code(&output), 0, "{output:?}");
    let document = json(&output);
    assert_eq!(document["moved"], 3, "{document}");
    for arrived in document["arrived"].as_array().unwrap() {
        assert!(
            !originals.iter().any(|id| arrived == id),
            "only messages that arrived during the run are left: {document}"
        );
    }
}

#[tokio::test]
async fn when_replay_names_messages_then_only_those_move_and_an_unknown_one_makes_it_partial() {
    let queues = queues(1).await;
    let chosen = queues.put_in_dlq(&job("chosen", 1)).await;
    let other = queues.put_in_dlq(&job("other", 1)).await;

    let output = relay(
        &[
            "--json",
            "dlq",
            "replay",
            "--queue",
            "sync",
            "--message",
            &chosen,
            "--message",
            "no-such-id",
        ],
        &queues.env(),
    )
    .await;

    assert_eq!(code(&output), 3, "{output:?}");
    let document = json(&output);
    assert_eq!(document["moved"], 1);
    assert_eq!(document["failed"][0]["message_id"], "no-such-id");
    assert_eq!(
        request_ids(&moto().receive_all(&queues.source).await),
        ["chosen"]
    );
    assert_eq!(dlq_ids(&queues).await, [other]);
}

/// The request ids of `contacts` job bodies.
fn request_ids(bodies: &[String]) -> Vec<String> {
    bodies
        .iter()
        .map(|body| match Job::decode(body).unwrap() {
            Job::Contacts(job) => job.request_id,
            other => panic!("these tests queue contacts jobs, not {}", other.kind()),
        })
        .collect()
}

/// The ids of the messages left in the DLQ (consumed).
async fn dlq_ids(queues: &Queues) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let received = queues
            .sqs
            .receive_message()
            .queue_url(&queues.dlq)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            return ids;
        }
        for message in received.messages() {
            ids.push(message.message_id().unwrap().to_owned());
            queues
                .sqs
                .delete_message()
                .queue_url(&queues.dlq)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn when_the_source_queue_cannot_be_sent_to_then_replay_keeps_every_message_and_exits_1() {
    let queues = queues(1).await;
    for n in 0..2 {
        queues.put_in_dlq(&job(&format!("kept-{n}"), 1)).await;
    }
    let mut env = queues.env();
    let broken = format!("{}/123456789012/no-such-queue", moto().endpoint());
    env.insert("SYNC_QUEUE_URL".into(), broken);
    env.insert("SYNC_DLQ_URL".into(), queues.dlq.clone());

    let output = relay(&["--json", "dlq", "replay", "--queue", "sync"], &env).await;

    assert_eq!(code(&output), 1, "{output:?}");
    let document = json(&output);
    assert_eq!(document["moved"], 0);
    assert_eq!(document["failed"].as_array().unwrap().len(), 2);
    assert_eq!(
        moto().receive_all(&queues.dlq).await.len(),
        2,
        "nothing is deleted from the DLQ before its send succeeded"
    );
}

#[tokio::test]
async fn when_purge_has_no_terminal_and_no_yes_then_it_exits_2_and_deletes_nothing() {
    let queues = queues(1).await;
    queues.put_in_dlq(&job("stay", 1)).await;

    let output = relay(&["dlq", "purge", "--queue", "sync"], &queues.env()).await;

    assert_eq!(code(&output), 2);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--yes"),
        "{output:?}"
    );
    assert_eq!(moto().receive_all(&queues.dlq).await.len(), 1);
}

#[tokio::test]
async fn when_purge_is_given_yes_then_it_deletes_every_message_and_says_how_many() {
    let queues = queues(1).await;
    for n in 0..12 {
        queues.put_in_dlq(&job(&format!("gone-{n}"), 1)).await;
    }

    let output = relay(
        &["--json", "dlq", "purge", "--queue", "sync", "--yes"],
        &queues.env(),
    )
    .await;

    assert_eq!(code(&output), 0, "{output:?}");
    assert_eq!(json(&output)["purged"], 12);
    assert!(moto().receive_all(&queues.dlq).await.is_empty());
    assert!(
        moto().receive_all(&queues.source).await.is_empty(),
        "nothing is sent anywhere"
    );
}
