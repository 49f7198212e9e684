//! crm-signup under many contacts per request: capped, parked several to a message before
//! the deadline; and the unknown-source answer tells an anonymous caller nothing.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use relay_core::jobs::Job;
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule};
use serde_json::{Value, json};

fn contacts(count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|n| contact_json(&format!("f-{n}")))
            .collect(),
    )
}

#[tokio::test]
async fn when_a_request_carries_more_contacts_than_the_cap_then_413_and_nothing_is_sent() {
    let stack = Stack::start_with(|vars| {
        vars.insert("WEBHOOK_MAX_CONTACTS".into(), "5".into());
    })
    .await;

    let answer = stack
        .call(standard_webhook(&contacts(6).to_string()).request())
        .await;

    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.problem(), Some("too-many-contacts"));
    let detail = answer.json["detail"].as_str().unwrap();
    assert!(
        detail.contains('6') && detail.contains('5') && detail.contains("WEBHOOK_MAX_CONTACTS"),
        "{detail}"
    );
    let admin = stack.sandbox.admin();
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users", None)
            .await
            .unwrap(),
        0
    );
    assert!(stack.deps.queue.messages().is_empty());

    let at_the_cap = stack
        .call(standard_webhook(&contacts(5).to_string()).request())
        .await;
    assert_eq!(at_the_cap.status, 200, "{}", at_the_cap.text);
}

#[tokio::test]
async fn when_a_thousand_contacts_are_not_delivered_in_time_then_they_are_parked_in_few_messages() {
    let stack = Stack::start_with(|vars| {
        vars.insert("WEBHOOK_DEADLINE_MS".into(), "1500".into());
    })
    .await;
    let stuck = FaultRule::new(
        Api::Userflow,
        "POST",
        "/users",
        FaultKind::Latency { ms: 10_000 },
    );
    stack.sandbox.admin().add_fault(&stuck).await.unwrap();

    let started = Instant::now();
    let answer = stack
        .call(standard_webhook(&contacts(1000).to_string()).request())
        .await;

    assert!(
        started.elapsed() < Duration::from_millis(3_000),
        "answered by the deadline, not after parking 1,000 messages"
    );
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json["parked"], 1000);
    let messages = stack.deps.queue.messages();
    assert_eq!(messages.len(), 10, "100 contacts per message");
    let mut parked = BTreeSet::new();
    for body in &messages {
        let Job::Contacts(job) = Job::decode(body).unwrap() else {
            panic!("a contacts job");
        };
        assert!(job.contacts.len() <= 100);
        parked.extend(job.contacts.into_iter().map(|c| c.contact.external_id));
    }
    let expected: BTreeSet<String> = (0..1000).map(|n| format!("f-{n}")).collect();
    assert_eq!(parked, expected, "every contact parked exactly once");
}

#[tokio::test]
async fn when_the_source_is_unknown_then_the_answer_lists_no_configured_source() {
    let stack = Stack::start().await;

    let answer = stack
        .call(Event::new("zoho", "application/json", json!({}).to_string()).request())
        .await;

    assert_eq!(answer.status, 404);
    assert_eq!(answer.problem(), Some("unknown-source"));
    for configured in ["standard-webhooks", "hubspot", "salesforce", "pipedrive"] {
        assert!(!answer.text.contains(configured), "{}", answer.text);
    }
}
