//! Failures part way: the message is retried, and the retry repeats no finished step.

use relay_core::erasure::RequestId;
use relay_core::erasure::progress::progress_key;
use relay_core::queue::dead_letters::FailedAttempt;
use relay_core::store::ObjectStore;
use relay_tests::erasure::Person;
use sandbox::{Api, FaultKind, FaultRule};

use super::{external_id, failures, messages_of, request, stack};

#[tokio::test]
async fn when_userflow_deletes_fail_then_the_retry_deletes_only_in_userflow() {
    let stack = stack().await;
    stack
        .seed(&[Person::new("hal", 1), Person::new("ivy", 1)])
        .await;
    let failing = FaultRule::new(
        Api::Userflow,
        "DELETE",
        "/users/hal",
        FaultKind::status(503, true),
    );
    let fault = stack.sandbox.admin().add_fault(&failing).await.unwrap();
    let requests = [
        request("r-hal", external_id("hal")),
        request("r-ivy", external_id("ivy")),
    ];

    let first = stack.erase(&requests).await;

    // Only hal's message comes back; ivy is done.
    assert_eq!(failures(&first), ["m-r-hal"]);
    assert!(stack.receipt("r-ivy").await.is_some());
    assert!(stack.receipt("r-hal").await.is_none());
    // Braze already deleted hal's profiles, and the progress says so.
    assert_eq!(stack.braze_with_email("hal@example.com").await, 0);
    let state = &stack.deps.eraser.state;
    let progress = state
        .get(&progress_key(&RequestId::new("r-hal").unwrap()))
        .await
        .unwrap()
        .expect("progress kept");
    let progress: serde_json::Value = serde_json::from_slice(&progress).unwrap();
    assert!(
        progress["discovered"]["braze"][0]["deleted_at"].is_string(),
        "{progress}"
    );
    let attempt: FailedAttempt = serde_json::from_slice(
        &state
            .get(&FailedAttempt::key("m-r-hal"))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(attempt.failures.starts_with("Userflow:"), "{attempt:?}");

    stack.sandbox.admin().remove_fault(&fault.id).await.unwrap();
    stack.sandbox.admin().reset_requests().await.unwrap();
    let retry = stack.invoke_received(&messages_of(&requests[..1]), 2).await;

    assert!(failures(&retry).is_empty(), "{retry:?}");
    assert!(!stack.in_userflow("hal").await);
    // No lookup and no Braze delete again: only the Userflow step was left.
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/export/ids", None)
            .await,
        0
    );
    assert_eq!(
        stack.calls(Api::Braze, "POST", "/users/delete", None).await,
        0
    );
    assert_eq!(
        stack
            .calls(Api::Userflow, "DELETE", "/users/{id}", None)
            .await,
        1
    );
    let receipt = stack.receipt("r-hal").await.unwrap();
    assert_eq!(receipt.attempts, 2);
    assert_eq!(receipt.counts.braze_profiles, 2);
    assert_eq!(receipt.counts.userflow_deleted, 1);
    // The acknowledged redelivery's failure record is gone.
    assert!(
        state
            .get(&FailedAttempt::key("m-r-hal"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn when_braze_deletes_fail_then_the_retry_does_not_look_the_subjects_up_again() {
    let stack = stack().await;
    stack.seed(&[Person::new("jo", 2)]).await;
    let failing = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/delete",
        FaultKind::status(502, true),
    );
    let fault = stack.sandbox.admin().add_fault(&failing).await.unwrap();
    let requests = [request("r-jo", external_id("jo"))];

    let first = stack.erase(&requests).await;

    assert_eq!(failures(&first), ["m-r-jo"]);
    assert_eq!(stack.braze_with_email("jo@example.com").await, 3);
    // Userflow waits for Braze: nothing deleted there yet.
    assert!(stack.in_userflow("jo").await);

    stack.sandbox.admin().remove_fault(&fault.id).await.unwrap();
    stack.sandbox.admin().reset_requests().await.unwrap();
    let retry = stack.invoke_received(&messages_of(&requests), 2).await;

    assert!(failures(&retry).is_empty(), "{retry:?}");
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/export/ids", None)
            .await,
        0
    );
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/delete", Some(201))
            .await,
        1
    );
    assert_eq!(stack.braze_with_email("jo@example.com").await, 0);
    assert!(!stack.in_userflow("jo").await);
}
