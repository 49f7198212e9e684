//! crm-signup's logs: one line per request (contacts counted, never listed) and per upstream
//! call that failed, and never a contact's data or a secret, whatever happens.

mod common;

use common::*;
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule};
use serde_json::json;

#[tokio::test]
async fn when_requests_succeed_fail_and_retry_then_logs_hold_no_personal_data_or_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The only test of this binary, so the subscriber can be global: a thread-local one
    // misses events whose callsites other threads registered first.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let stack = Stack::start().await;
    let flaky = FaultRule::new(
        Api::Userflow,
        "POST",
        "/users",
        FaultKind::status(503, true),
    )
    .times(2);
    stack.sandbox.admin().add_fault(&flaky).await.unwrap();
    let mut bad = contact_json("log-2");
    bad["email"] = "broken-address".into();
    let body = json!([contact_json("log-1"), bad]).to_string();
    assert_eq!(
        stack.call(standard_webhook(&body).request()).await.status,
        200
    );
    for case in bad_input_cases() {
        stack.call(case.event.request()).await;
    }
    // Thirty contacts Userflow refuses the key for: one request line counts them.
    let refused = FaultRule::new(
        Api::Userflow,
        "POST",
        "/users",
        FaultKind::status(401, false),
    );
    stack.sandbox.admin().add_fault(&refused).await.unwrap();
    let many: Vec<_> = (0..30)
        .map(|n| contact_json(&format!("many-{n}")))
        .collect();
    let answer = stack
        .call(standard_webhook(&json!(many).to_string()).request())
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);

    let logs = captured.text();
    assert!(
        logs.contains("webhook handled"),
        "the request line is logged"
    );
    assert!(
        logs.contains("upstream retry"),
        "the upstream failure is logged"
    );
    let parked_line = logs
        .lines()
        .find(|line| line.contains("webhook handled") && line.contains("parked=30"))
        .expect("the thirty contacts' request line");
    assert!(
        parked_line.contains("userflow:misconfigured=30"),
        "failures counted on the request line: {parked_line}"
    );
    let per_contact = logs
        .lines()
        .filter(|line| line.contains("not delivered"))
        .count();
    assert_eq!(per_contact, 0, "no line per contact");
    for secret in [
        "@example.com",
        "broken-address",
        "Ada",
        "Lovelace",
        "Grace",
        "Hopper",
        STANDARD_SECRET,
        HUBSPOT_SECRET,
        PIPEDRIVE_PASSWORD,
        SALESFORCE_TOKEN,
        stack.sandbox.info().braze_key.as_str(),
        stack.sandbox.info().userflow_key.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` appears in the logs:\n{logs}"
        );
    }
}
