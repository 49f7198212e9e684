//! crm-signup's metrics: one set per request, from the same counts as its log line, read from
//! an in-memory sink.

mod common;

use common::*;
use relay_lambda::metrics::{MemoryMetrics, Metric, MetricSet};
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule};
use serde_json::json;

/// A stack whose metrics go to the returned list.
async fn stack_with_metrics() -> (Stack, MemoryMetrics) {
    let mut stack = Stack::start().await;
    let metrics = MemoryMetrics::new();
    stack.deps.metrics = metrics.sink();
    (stack, metrics)
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

#[tokio::test]
async fn when_a_webhook_holds_one_invalid_contact_then_one_set_reports_it_rejected() {
    let (stack, metrics) = stack_with_metrics().await;
    let body = json!([contact_json("m-1"), invalid_contact("m-2")]).to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let emitted = metrics.emitted();
    assert_eq!(emitted.len(), 1, "one set per request: {emitted:?}");
    assert_eq!(
        counts(&emitted[0]),
        [Some(1), Some(0), Some(1), Some(0)],
        "delivered 1, parked 0 (still reported), rejected 1, no 429"
    );
    assert_eq!(emitted[0].metrics().count(), 4, "{:?}", emitted[0]);
}

#[tokio::test]
async fn when_every_contact_is_invalid_then_the_422_still_reports_them_rejected() {
    let (stack, metrics) = stack_with_metrics().await;
    let mut bad = contact_json("m-3");
    bad["email"] = "nope".into();
    let answer = stack
        .call(standard_webhook(&json!([bad]).to_string()).request())
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    let set = metrics.last().expect("a set for the refused request");
    assert_eq!(counts(&set), [Some(0), Some(0), Some(1), Some(0)]);
}

#[tokio::test]
async fn when_braze_and_userflow_answer_429_then_each_is_counted_though_the_retries_succeed() {
    let (stack, metrics) = stack_with_metrics().await;
    let admin = stack.sandbox.admin();
    for (api, path) in [(Api::Braze, "/users/track"), (Api::Userflow, "/users")] {
        let once =
            FaultRule::new(api, "POST", path, FaultKind::Throttle { retry_after: 1 }).times(1);
        admin.add_fault(&once).await.unwrap();
    }
    let answer = stack
        .call(standard_webhook(&contact_json("m-4").to_string()).request())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let set = metrics.last().expect("a set");
    assert_eq!(
        counts(&set),
        [Some(1), Some(0), Some(0), Some(2)],
        "delivered after one 429 from each vendor"
    );
}

#[tokio::test]
async fn when_braze_is_down_then_the_parked_contacts_are_reported() {
    let (stack, metrics) = stack_with_metrics().await;
    let down = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/track",
        FaultKind::status(503, true),
    );
    stack.sandbox.admin().add_fault(&down).await.unwrap();
    let body = json!([contact_json("m-5"), contact_json("m-6")]).to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let set = metrics.last().expect("a set");
    assert_eq!(counts(&set), [Some(0), Some(2), Some(0), Some(0)]);
}

/// A contact the intake rejects (its email is not one).
fn invalid_contact(id: &str) -> serde_json::Value {
    let mut contact = contact_json(id);
    contact["email"] = "not-an-email".into();
    contact
}

/// Userflow refuses the next `times` upserts for good (401: the contacts are parked).
async fn userflow_refuses_upserts(stack: &Stack, times: u64) {
    let refused = FaultRule::new(
        Api::Userflow,
        "POST",
        "/users",
        FaultKind::status(401, false),
    )
    .times(times);
    stack.sandbox.admin().add_fault(&refused).await.unwrap();
}

#[tokio::test]
async fn when_parking_fails_for_part_of_the_contacts_then_the_503_still_reports_what_was_done() {
    let (stack, metrics) = stack_with_metrics().await;
    // 101 of 102 valid contacts fail Userflow (a refused key: parked), one is delivered; the
    // queue takes the first message (100 contacts) and refuses the second (1 contact).
    userflow_refuses_upserts(&stack, 101).await;
    stack
        .deps
        .queue
        .fail_indexes([1], relay_clients::upstream::FailureClass::Transient);
    let mut contacts: Vec<_> = (0..102).map(|n| contact_json(&format!("pp-{n}"))).collect();
    contacts.push(invalid_contact("pp-bad"));
    let answer = stack
        .call(standard_webhook(&json!(contacts).to_string()).request())
        .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.problem(), Some("parking-failed"));
    assert_eq!(stack.deps.queue.messages().len(), 1, "one message parked");

    let emitted = metrics.emitted();
    assert_eq!(emitted.len(), 1, "one set per request: {emitted:?}");
    assert_eq!(
        counts(&emitted[0]),
        [Some(1), Some(100), Some(1), Some(0)],
        "delivered 1, parked 100 (the refused message's contact is not), rejected 1"
    );
}

#[tokio::test]
async fn when_the_queue_refuses_every_message_then_the_503_reports_nothing_parked() {
    let (stack, metrics) = stack_with_metrics().await;
    userflow_refuses_upserts(&stack, 1).await;
    stack.deps.queue.fail_next_sends(1);
    let body = json!([
        contact_json("pq-1"),
        contact_json("pq-2"),
        invalid_contact("pq-bad")
    ])
    .to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.problem(), Some("parking-failed"));
    let set = metrics.last().expect("a set for the failed request");
    assert_eq!(
        counts(&set),
        [Some(1), Some(0), Some(1), Some(0)],
        "the contact delivered before the failure and the rejected one still count"
    );
}
