//! sync-worker's handler with real SQS event JSON, against the sandbox and an in-memory store.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use lambda_runtime::LambdaEvent;
use relay_clients::upstream::{FailureClass, HttpTimeouts, http_client};
use relay_core::contact::Contact;
use relay_core::env::Env;
use relay_core::jobs::{ContactsJob, Job, ParkedContact};
use relay_core::queue::MemoryQueue;
use relay_core::queue::dead_letters::FailedAttempt;
use relay_core::secrets::SecretResolver;
use relay_core::store::{MemoryStore, ObjectStore};
use relay_lambda::metrics::{MemoryMetrics, Metric, MetricSet};
use relay_tests::sqs::failures;
use relay_tests::webhooks::relay_variables;
use sandbox::{Api, FaultKind, FaultRule, Sandbox, SandboxConfig};
use serde_json::{Value, json};
use sync_worker::{Config, Deps, FAILED_ATTEMPTS_PREFIX, handler};

struct Stack {
    sandbox: Sandbox,
    deps: Deps<MemoryStore, MemoryQueue>,
}

/// An S3 client that is never called: these tests queue no `export_file` job (and set no
/// `EXPORT_BUCKET`).
fn unused_s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build(),
    )
}

async fn stack() -> Stack {
    let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
    let vars = relay_variables(sandbox.info());
    let deps = Config::from_env(
        &Env::from_map(vars.clone()),
        &SecretResolver::from_env_map(vars),
    )
    .await
    .expect("valid configuration")
    .into_deps(
        http_client(HttpTimeouts::default()),
        MemoryStore::new(),
        MemoryQueue::new(),
        unused_s3(),
        |_| MemoryQueue::new(),
    )
    .unwrap();
    Stack { sandbox, deps }
}

impl Stack {
    /// Sends the batches' metrics to the returned list.
    fn record_metrics(&mut self) -> MemoryMetrics {
        let metrics = MemoryMetrics::new();
        self.deps.metrics = metrics.sink();
        metrics
    }

    /// Makes Userflow refuse the key (401, misconfigured) for the next user upsert only: that
    /// contact stays unfinished, the others of its message are delivered.
    async fn refuse_one_userflow_upsert(&self) {
        let once = FaultRule::new(
            Api::Userflow,
            "POST",
            "/users",
            FaultKind::status(401, false),
        )
        .times(1);
        self.sandbox.admin().add_fault(&once).await.unwrap();
    }

    /// Makes the sandbox answer every `POST path` of `api` with `kind`.
    async fn fail(&self, api: Api, path: &str, kind: FaultKind) {
        let rule = FaultRule::new(api, "POST", path, kind);
        self.sandbox.admin().add_fault(&rule).await.unwrap();
    }
}

fn job(external_id: &str, minute: u32) -> String {
    job_of(external_id, minute, true)
}

fn job_of(external_id: &str, minute: u32, is_signup: bool) -> String {
    contacts_job(&[external_id], minute, is_signup)
}

/// One message parking `external_ids` from one request.
fn contacts_job(external_ids: &[&str], minute: u32, is_signup: bool) -> String {
    let contacts = external_ids
        .iter()
        .map(|external_id| {
            let mut contact = Contact::new(*external_id);
            contact.email = Some(format!("{external_id}@example.com"));
            contact.first_name = Some(format!("v{minute}"));
            ParkedContact { is_signup, contact }
        })
        .collect();
    Job::Contacts(ContactsJob {
        source: "hubspot".into(),
        request_id: "req-1".into(),
        received_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, minute, 0).unwrap(),
        contacts,
    })
    .encode()
}

/// The contacts of the messages parked again on the queue.
fn reparked(queue: &MemoryQueue) -> Vec<Vec<String>> {
    queue
        .messages()
        .iter()
        .map(|body| {
            let Job::Contacts(job) = Job::decode(body).unwrap() else {
                panic!("a contacts job");
            };
            job.contacts
                .into_iter()
                .map(|parked| parked.contact.external_id)
                .collect()
        })
        .collect()
}

/// `(Delivered, Parked, Rejected, UpstreamThrottles)` of a set.
fn counts(set: &MetricSet) -> [Option<u64>; 4] {
    set.counts([
        Metric::Delivered,
        Metric::Parked,
        Metric::Rejected,
        Metric::UpstreamThrottles,
    ])
}

/// An SQS event with one record per `(message id, body)`, from the real event fixture.
fn sqs_event(messages: &[(&str, String)]) -> LambdaEvent<SqsEvent> {
    let messages: Vec<(&str, &str)> = messages
        .iter()
        .map(|(id, body)| (*id, body.as_str()))
        .collect();
    relay_tests::sqs::invocation(&messages, 1, Duration::from_secs(30))
}

#[tokio::test]
async fn when_a_parked_contact_is_replayed_then_it_is_delivered_and_acknowledged() {
    let stack = stack().await;
    let response = handler(&stack.deps, sqs_event(&[("m-1", job("u-1", 0))]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let admin = stack.sandbox.admin();
    assert!(admin.braze_user("u-1").await.unwrap().is_some());
    assert!(admin.userflow_user("u-1").await.unwrap().is_some());
    assert_eq!(
        admin
            .userflow_events(Some("u-1"), Some("signed_up"))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn when_a_parked_update_follows_a_parked_creation_in_one_batch_then_the_signup_is_sent_once()
{
    let stack = stack().await;
    let response = handler(
        &stack.deps,
        sqs_event(&[
            ("m-created", job_of("u-7", 0, true)),
            ("m-updated", job_of("u-7", 5, false)),
            ("m-only-updated", job_of("u-8", 5, false)),
        ]),
    )
    .await
    .unwrap();
    assert!(failures(&response).is_empty());
    let admin = stack.sandbox.admin();
    let user = admin.userflow_user("u-7").await.unwrap().unwrap();
    assert_eq!(user.attributes["name"], "v5", "the latest fields win");
    for (id, expected, why) in [
        ("u-7", 1, "the creation's event is kept"),
        ("u-8", 0, "an update alone sends none"),
    ] {
        let events = admin.userflow_events(Some(id), Some("signed_up")).await;
        assert_eq!(events.unwrap().len(), expected, "{id}: {why}");
    }
}

#[tokio::test]
async fn when_messages_are_not_jobs_then_they_are_recorded_and_acknowledged() {
    let stack = stack().await;
    let newer = job("u-2", 0).replace(r#""v":1"#, r#""v":9"#);
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-garbage", "hello".into()), ("m-newer", newer)]),
    )
    .await
    .unwrap();
    assert!(failures(&response).is_empty());
    let store = stack.deps.deliverer.store();
    let record: Value =
        serde_json::from_slice(&store.get_now("failed/messages/m-newer.json").unwrap()).unwrap();
    assert!(
        record["error"].as_str().unwrap().contains("version 9"),
        "{record}"
    );
    assert!(store.get_now("failed/messages/m-garbage.json").is_some());
}

#[tokio::test]
async fn when_userflow_refuses_a_contact_then_it_is_recorded_and_acknowledged() {
    let stack = stack().await;
    stack
        .fail(Api::Userflow, "/users", FaultKind::status(400, false))
        .await;
    let response = handler(&stack.deps, sqs_event(&[("m-3", job("u-3", 0))]))
        .await
        .unwrap();
    assert!(
        failures(&response).is_empty(),
        "a permanent failure is not retried"
    );
    let keys = stack.deps.deliverer.store().keys();
    let key = keys
        .iter()
        .find(|k| k.starts_with("failed/contacts/") && k.ends_with("/m-3-0.json"))
        .expect("the refusal is recorded");
    let record: Value =
        serde_json::from_slice(&stack.deps.deliverer.store().get_now(key).unwrap()).unwrap();
    assert_eq!(record["parked"]["contact"]["external_id"], "u-3");
    assert_eq!(record["source"], "hubspot");
    assert_eq!(record["failures"][0]["step"], "userflow");
    assert_eq!(record["failures"][0]["class"], "permanent");
}

#[tokio::test]
async fn when_braze_keeps_failing_then_only_that_message_is_a_batch_item_failure() {
    let stack = stack().await;
    stack
        .fail(Api::Braze, "/users/track", FaultKind::status(503, true))
        .await;
    let response = handler(&stack.deps, sqs_event(&[("m-4", job("u-4", 0))]))
        .await
        .unwrap();
    assert_eq!(failures(&response), ["m-4"]);
    let keys = stack.deps.deliverer.store().keys();
    assert!(
        keys.iter()
            .all(|k| !k.starts_with("failed/contacts/") && !k.starts_with("failed/messages/")),
        "nothing refused for good: {keys:?}"
    );
    let failed: Vec<&String> = keys.iter().filter(|k| k.starts_with("failed/")).collect();
    assert_eq!(
        failed,
        ["failed/attempts/m-4.json"],
        "only the attempt is recorded"
    );
}

#[tokio::test]
async fn when_a_message_that_failed_before_succeeds_then_its_attempt_record_is_deleted() {
    let stack = stack().await;
    let store = stack.deps.deliverer.store();
    for id in ["m-healed", "m-first"] {
        store
            .put(
                &FailedAttempt::key(id),
                b"{}".to_vec().into(),
                "application/json",
            )
            .await
            .unwrap();
    }
    let mut event = sqs_event(&[("m-healed", job("h-1", 0)), ("m-first", job("h-2", 0))]);
    event.payload.records[0]
        .attributes
        .insert("ApproximateReceiveCount".into(), "3".into());
    event.payload.records[1]
        .attributes
        .insert("ApproximateReceiveCount".into(), "1".into());

    let response = handler(&stack.deps, event).await.unwrap();

    assert!(failures(&response).is_empty(), "{response:?}");
    assert!(
        store.get_now(&FailedAttempt::key("m-healed")).is_none(),
        "the record of a redelivered message that succeeded is deleted"
    );
    assert!(
        store.get_now(&FailedAttempt::key("m-first")).is_some(),
        "a first delivery cannot have a record, so none is looked for"
    );
}

/// The attempt record of `message_id`, decoded.
fn attempt(stack: &Stack, message_id: &str) -> FailedAttempt {
    let key = FailedAttempt::key(message_id);
    let body = stack
        .deps
        .deliverer
        .store()
        .get_now(&key)
        .unwrap_or_else(|| panic!("{key} is written"));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn when_a_message_is_handed_back_to_sqs_then_its_attempt_is_recorded_without_contact_data() {
    let stack = stack().await;
    stack
        .fail(Api::Braze, "/users/track", FaultKind::status(503, true))
        .await;
    let mut event = sqs_event(&[("m-tried", contacts_job(&["t-1", "t-2"], 0, true))]);
    event.payload.records[0]
        .attributes
        .insert("ApproximateReceiveCount".into(), "4".into());

    let response = handler(&stack.deps, event).await.unwrap();

    assert_eq!(failures(&response), ["m-tried"]);
    let record = attempt(&stack, "m-tried");
    assert_eq!(record.message_id, "m-tried");
    assert_eq!(record.receive_count, Some(4));
    assert_eq!(record.reason, "no contact finished");
    assert_eq!((record.contacts, record.unfinished), (2, 2));
    assert!(
        record.failures.starts_with("braze:transient=2"),
        "{}",
        record.failures
    );
    let raw = String::from_utf8(
        stack
            .deps
            .deliverer
            .store()
            .get_now(&FailedAttempt::key("m-tried"))
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for personal in ["t-1", "t-2", "example.com"] {
        assert!(!raw.contains(personal), "{personal} in {raw}");
    }
}

#[tokio::test]
async fn when_the_remainder_cannot_be_parked_then_the_attempt_says_so() {
    let stack = stack().await;
    stack.refuse_one_userflow_upsert().await;
    stack.deps.queue.fail_next_sends(1);
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-rest", contacts_job(&["r-1", "r-2"], 0, true))]),
    )
    .await
    .unwrap();

    assert_eq!(failures(&response), ["m-rest"]);
    let record = attempt(&stack, "m-rest");
    assert_eq!(
        record.reason,
        "the unfinished remainder could not be parked again"
    );
    assert_eq!((record.contacts, record.unfinished), (2, 1));
    assert_eq!(record.receive_count, Some(1), "from the event's attributes");
    assert!(
        record.failures.starts_with("userflow:misconfigured=1"),
        "{}",
        record.failures
    );
}

#[tokio::test]
async fn when_every_message_is_acknowledged_then_no_attempt_is_recorded() {
    let stack = stack().await;
    let response = handler(&stack.deps, sqs_event(&[("m-ok", job("ok-1", 0))]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    assert!(
        stack
            .deps
            .deliverer
            .store()
            .keys()
            .iter()
            .all(|k| !k.starts_with(FAILED_ATTEMPTS_PREFIX))
    );
}

#[tokio::test]
async fn when_the_failure_record_cannot_be_written_then_the_message_is_kept() {
    let stack = stack().await;
    stack
        .fail(Api::Userflow, "/users", FaultKind::status(400, false))
        .await;
    stack
        .deps
        .deliverer
        .store()
        .fail_next("put", FailureClass::Transient);
    let response = handler(&stack.deps, sqs_event(&[("m-5", job("u-5", 0))]))
        .await
        .unwrap();
    assert_eq!(
        failures(&response),
        ["m-5"],
        "not acknowledged without its record"
    );
}

#[tokio::test]
async fn when_one_batch_holds_two_jobs_for_a_user_then_the_latest_is_delivered_once() {
    let stack = stack().await;
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-old", job("u-6", 5)), ("m-new", job("u-6", 9))]),
    )
    .await
    .unwrap();
    assert!(failures(&response).is_empty());
    let admin = stack.sandbox.admin();
    let profile = admin.braze_user("u-6").await.unwrap().unwrap();
    assert_eq!(profile.attributes["first_name"], "v9");
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users", None)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn when_a_message_holds_many_contacts_then_all_are_delivered_and_it_is_acknowledged() {
    let stack = stack().await;
    let ids: Vec<String> = (0..30).map(|n| format!("many-{n}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-many", contacts_job(&ids, 0, true))]),
    )
    .await
    .unwrap();
    assert!(failures(&response).is_empty());
    let admin = stack.sandbox.admin();
    for id in ids {
        assert!(admin.userflow_user(id).await.unwrap().is_some(), "{id}");
    }
    assert!(
        stack.deps.queue.messages().is_empty(),
        "nothing parked again"
    );
}

#[tokio::test]
async fn when_a_batch_delivers_a_contact_and_holds_a_message_that_is_no_job_then_its_metrics_count_both()
 {
    let mut stack = stack().await;
    let metrics = stack.record_metrics();
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-ok", job("mt-1", 0)), ("m-garbage", "hello".into())]),
    )
    .await
    .unwrap();
    assert!(failures(&response).is_empty());

    let emitted = metrics.emitted();
    assert_eq!(emitted.len(), 1, "one set per batch: {emitted:?}");
    assert_eq!(
        counts(&emitted[0]),
        [Some(1), Some(0), Some(1), Some(0)],
        "delivered 1, parked 0, rejected 1 (the unreadable message), no 429"
    );
    for export_only in [Metric::ExportUsers, Metric::ExportUsersPerSecond] {
        assert!(
            emitted[0].metrics().all(|metric| metric != export_only),
            "no export file was read: no {}",
            export_only.name()
        );
    }
}

#[tokio::test]
async fn when_braze_answers_429_once_then_the_batch_counts_it_and_still_delivers() {
    let mut stack = stack().await;
    let metrics = stack.record_metrics();
    let once = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/track",
        FaultKind::Throttle { retry_after: 1 },
    )
    .times(1);
    stack.sandbox.admin().add_fault(&once).await.unwrap();
    let response = handler(&stack.deps, sqs_event(&[("m-429", job("mt-2", 0))]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let set = metrics.last().expect("a set");
    assert_eq!(counts(&set), [Some(1), Some(0), Some(0), Some(1)]);
}

#[tokio::test]
async fn when_part_of_a_message_is_unfinished_then_only_that_part_is_parked_again() {
    let mut stack = stack().await;
    let metrics = stack.record_metrics();
    stack.refuse_one_userflow_upsert().await;
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-part", contacts_job(&["p-1", "p-2"], 0, true))]),
    )
    .await
    .unwrap();

    assert!(
        failures(&response).is_empty(),
        "the original is acknowledged once its remainder is parked"
    );
    let reparked = reparked(&stack.deps.queue);
    assert_eq!(reparked.len(), 1, "one new message");
    assert_eq!(reparked[0].len(), 1, "holding only the unfinished contact");
    let admin = stack.sandbox.admin();
    let left = reparked[0][0].as_str();
    let done = if left == "p-1" { "p-2" } else { "p-1" };
    assert!(admin.userflow_user(done).await.unwrap().is_some());
    assert!(admin.userflow_user(left).await.unwrap().is_none());
    let set = metrics.last().expect("a set");
    assert_eq!(
        counts(&set),
        [Some(1), Some(1), Some(0), Some(0)],
        "one delivered, the other parked again"
    );
}

#[tokio::test]
async fn when_no_contact_of_a_message_finishes_then_it_is_a_batch_item_failure_and_not_reparked() {
    let stack = stack().await;
    stack
        .fail(Api::Userflow, "/users", FaultKind::status(401, false))
        .await;
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-stuck", contacts_job(&["s-1", "s-2"], 0, true))]),
    )
    .await
    .unwrap();

    assert_eq!(failures(&response), ["m-stuck"]);
    assert!(
        stack.deps.queue.messages().is_empty(),
        "SQS redelivers it and counts its receives, so it can reach the DLQ"
    );
}

#[tokio::test]
async fn when_the_remainder_cannot_be_parked_then_the_message_is_kept() {
    let stack = stack().await;
    stack.refuse_one_userflow_upsert().await;
    stack.deps.queue.fail_next_sends(1);
    let response = handler(
        &stack.deps,
        sqs_event(&[("m-kept", contacts_job(&["k-1", "k-2"], 0, true))]),
    )
    .await
    .unwrap();

    assert_eq!(
        failures(&response),
        ["m-kept"],
        "redelivered whole: nothing lost"
    );
}

#[tokio::test]
async fn when_an_earlier_relay_parked_one_contact_per_message_then_it_is_still_replayed() {
    let stack = stack().await;
    let legacy = json!({
        "v": 1, "kind": "contact", "source": "hubspot", "request_id": "req-0",
        "received_at": "2026-11-22T10:00:00Z", "is_signup": true,
        "contact": {"external_id": "legacy-1", "email": "legacy-1@example.com"},
    })
    .to_string();
    let response = handler(&stack.deps, sqs_event(&[("m-legacy", legacy)]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let admin = stack.sandbox.admin();
    assert!(admin.userflow_user("legacy-1").await.unwrap().is_some());
    let events = admin.userflow_events(Some("legacy-1"), Some("signed_up"));
    assert_eq!(events.await.unwrap().len(), 1);
}
