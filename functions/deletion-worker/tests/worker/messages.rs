//! Messages that are not requests, repeated messages and requests done before.

use relay_clients::upstream::FailureClass;
use relay_core::erasure::rejected::rejected_prefix;
use relay_core::store::ObjectStore;
use relay_tests::erasure::Person;
use sandbox::Api;

use super::{external_id, failures, messages_of, request, stack};

#[tokio::test]
async fn when_messages_are_not_requests_then_each_is_recorded_with_its_reason_and_acknowledged() {
    let stack = stack().await;
    let valid = request("r-ok", external_id("ok")).encode();
    let cases = [
        (
            "m-text",
            "erase jane@example.com please".to_owned(),
            "not a JSON object",
        ),
        (
            "m-version",
            valid.replace("\"v\":1", "\"v\":2"),
            "version 2 is not supported",
        ),
        (
            "m-unknown",
            valid.replace("\"origin\"", "\"reason\":\"x\",\"origin\""),
            "`reason` is not a field of the request",
        ),
        (
            "m-email",
            request("r-bad", super::email("jane.example.com")).encode(),
            "subject email",
        ),
        (
            "m-id",
            valid.replace("\"r-ok\"", "\"../r\""),
            "request_id must be",
        ),
        (
            "m-two",
            valid.replace(
                "{\"external_id\":\"ok\"}",
                "{\"external_id\":\"ok\",\"email\":\"jane@example.com\"}",
            ),
            "erasure request",
        ),
    ];
    let messages: Vec<(String, String)> = cases
        .iter()
        .map(|(id, body, _)| ((*id).to_owned(), body.clone()))
        .collect();

    let response = stack.invoke(&messages).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let state = &stack.deps.eraser.state;
    for (id, body, reason) in &cases {
        let key = format!("{}{id}.json", rejected_prefix());
        let record: serde_json::Value =
            serde_json::from_slice(&state.get(&key).await.unwrap().expect(id)).unwrap();
        let recorded = record["reason"].as_str().unwrap();
        assert!(recorded.contains(reason), "{id}: {recorded}");
        // The reason never quotes the subject; the body is kept to repair the request.
        assert!(!recorded.contains("jane"), "{id}: {recorded}");
        assert_eq!(record["body"], body.as_str(), "{id}");
    }
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/export/ids", None)
            .await,
        0
    );
}

#[tokio::test]
async fn when_a_rejected_message_cannot_be_recorded_then_it_is_kept_for_redelivery() {
    let stack = stack().await;
    stack
        .deps
        .eraser
        .state
        .fail_next("put", FailureClass::Transient);

    let response = stack
        .invoke(&[("m-garbage".into(), "garbage".into())])
        .await;

    assert_eq!(failures(&response), ["m-garbage"]);
    assert!(
        stack
            .deps
            .eraser
            .state
            .keys()
            .iter()
            .all(|key| !key.starts_with(&rejected_prefix()))
    );
}

#[tokio::test]
async fn when_a_batch_holds_one_request_twice_then_it_is_erased_once_and_both_are_acknowledged() {
    let mut stack = stack().await;
    let metrics = stack.record_metrics();
    stack.seed(&[Person::new("fay", 1)]).await;
    let twice = request("r-fay", external_id("fay"));
    let mut messages = messages_of(std::slice::from_ref(&twice));
    messages.push(("m-r-fay-again".into(), twice.encode()));

    let response = stack.invoke(&messages).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/export/ids", Some(201))
            .await,
        2
    );
    assert_eq!(
        stack
            .calls(Api::Userflow, "DELETE", "/users/{id}", None)
            .await,
        1
    );
    assert_eq!(
        stack.receipt("r-fay").await.unwrap().counts.braze_profiles,
        2
    );
    let set = metrics.last().expect("the batch's set");
    assert_eq!(
        set.count(relay_lambda::metrics::Metric::ErasuresDone),
        Some(1),
        "one request erased, however many of its messages: {set:?}"
    );
}

#[tokio::test]
async fn when_the_receipt_exists_then_the_request_is_acknowledged_without_any_upstream_call() {
    let stack = stack().await;
    stack.seed(&[Person::new("gus", 0)]).await;
    let gus = request("r-gus", external_id("gus"));
    stack.erase(std::slice::from_ref(&gus)).await;
    let receipt = stack.receipt("r-gus").await.unwrap();
    stack.sandbox.admin().reset_requests().await.unwrap();

    let response = stack.erase(&[gus]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let calls: u64 = stack
        .sandbox
        .admin()
        .request_counts(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(calls, 0);
    assert_eq!(stack.receipt("r-gus").await.unwrap(), receipt);
    assert!(
        !stack
            .deps
            .eraser
            .state
            .keys()
            .iter()
            .any(|key| key.starts_with(relay_core::queue::dead_letters::FAILED_ATTEMPTS_PREFIX))
    );
}
