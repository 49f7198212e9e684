//! Fault rules: status (JSON and HTML), throttle, latency, drop; count and probability; no
//! state change while faulted.

use std::time::{Duration, Instant};

use reqwest::Method;
use sandbox::{Api, FaultKind, FaultRule};
use serde_json::json;

use crate::common::{Env, send};

fn track_body(id: &str) -> serde_json::Value {
    json!({"attributes": [{"external_id": id, "first_name": "Ada"}]})
}

#[tokio::test]
async fn when_status_fault_with_html_then_braze_answers_503_html_and_state_is_unchanged() {
    let env = Env::start().await;
    let rule = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/track",
        FaultKind::status(503, true),
    )
    .times(1);
    env.admin.add_fault(&rule).await.expect("fault added");

    let faulted = env.braze("/users/track", track_body("u1")).await;
    assert_eq!(faulted.status, 503);
    assert_eq!(faulted.header("content-type"), Some("text/html"));
    assert!(faulted.text.contains("<html>"), "{}", faulted.text);
    assert!(env.braze_user("u1").await.is_none());

    let next = env.braze("/users/track", track_body("u1")).await;
    assert_eq!(next.status, 201, "{}", next.text);
    assert!(env.braze_user("u1").await.is_some());
    let faults = env.admin.faults().await.expect("faults");
    assert_eq!((faults[0].fired, faults[0].exhausted), (1, true));
}

#[tokio::test]
async fn when_status_fault_without_html_then_the_api_error_shape_is_used() {
    let env = Env::start().await;
    let kind = FaultKind::status(500, false);
    env.admin
        .add_fault(&FaultRule::new(Api::Userflow, "*", "/users", kind))
        .await
        .expect("fault added");
    let answer = env
        .userflow(Method::POST, "/users", Some(json!({"id": "u1"})))
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.json()["error"]["code"], "internal_error");
    assert!(env.userflow_user("u1").await.is_none());
}

#[tokio::test]
async fn when_status_fault_has_a_literal_body_then_it_is_sent_as_is() {
    let env = Env::start().await;
    let kind = FaultKind::Status {
        status: 202,
        html: false,
        body: Some(r#"{"message":"queued"}"#.into()),
        content_type: None,
    };
    env.admin
        .add_fault(&FaultRule::new(Api::Braze, "POST", "/users/delete", kind))
        .await
        .expect("fault added");
    let answer = env
        .braze("/users/delete", json!({"external_ids": ["x"]}))
        .await;
    assert_eq!(answer.status, 202);
    assert_eq!(answer.json(), json!({"message": "queued"}));
}

#[tokio::test]
async fn when_throttle_fault_then_braze_answers_429_with_retry_after_and_rate_headers() {
    let env = Env::start().await;
    let rule =
        FaultRule::new(Api::Braze, "*", "*", FaultKind::Throttle { retry_after: 7 }).times(3);
    env.admin.add_fault(&rule).await.expect("fault added");
    for _ in 0..3 {
        let answer = env.braze("/users/track", track_body("u1")).await;
        assert_eq!(answer.status, 429);
        assert_eq!(answer.header("x-ratelimit-retry-after"), Some("7"));
        assert_eq!(answer.header("x-ratelimit-remaining"), Some("0"));
        assert!(answer.header("x-ratelimit-reset").is_some());
    }
    assert!(env.braze_user("u1").await.is_none());
    let answer = env.braze("/users/track", track_body("u1")).await;
    assert_eq!(answer.status, 201);
}

#[tokio::test]
async fn when_throttle_fault_on_userflow_then_retry_after_is_sent() {
    let env = Env::start().await;
    let rule = FaultRule::new(
        Api::Userflow,
        "GET",
        "/users/*",
        FaultKind::Throttle { retry_after: 3 },
    );
    env.admin.add_fault(&rule).await.expect("fault added");
    let answer = env.userflow(Method::GET, "/users/u1", None).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), Some("3"));
    assert_eq!(answer.json()["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn when_latency_fault_then_the_request_is_delayed_and_still_applied() {
    let env = Env::start().await;
    let rule = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/track",
        FaultKind::Latency { ms: 300 },
    );
    env.admin.add_fault(&rule).await.expect("fault added");
    let started = Instant::now();
    let answer = env.braze("/users/track", track_body("slow")).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.status, 201);
    assert!(env.braze_user("slow").await.is_some());
    let log = env
        .admin
        .request_log(Some(Api::Braze), 1)
        .await
        .expect("log");
    assert_eq!(log[0].fault.as_deref(), Some("latency"));
    assert!(log[0].duration_ms >= 300);
}

#[tokio::test]
async fn when_drop_fault_then_the_client_sees_a_broken_connection_and_nothing_is_stored() {
    let env = Env::start().await;
    let rule = FaultRule::new(Api::Userflow, "POST", "/users", FaultKind::Drop).times(1);
    env.admin.add_fault(&rule).await.expect("fault added");

    let result = env
        .userflow_request(Method::POST, "/users")
        .body(json!({"id": "u1"}).to_string())
        .send()
        .await;
    // The connection closes before any status line: no answer at all.
    let err = result.expect_err("the client must see a transport error");
    assert!(err.status().is_none(), "{err}");
    assert!(env.userflow_user("u1").await.is_none());
    let counts = env
        .admin
        .count(Api::Userflow, "POST", "/users", Some(0))
        .await;
    assert_eq!(counts.expect("counts"), 1);

    let answer = env
        .userflow(Method::POST, "/users", Some(json!({"id": "u1"})))
        .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn when_probability_fault_with_seed_then_the_same_requests_fail_on_every_run() {
    async fn run() -> Vec<u16> {
        let env = Env::start().await;
        let kind = FaultKind::status(502, true);
        let rule = FaultRule::new(Api::Scim, "*", "*", kind).with_probability(0.5, 99);
        env.admin.add_fault(&rule).await.expect("fault added");
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let answer = env
                .scim(
                    Method::GET,
                    "/scim/v2/Users?filter=userName%20eq%20%22a%40b.com%22",
                    None,
                )
                .await;
            statuses.push(answer.status);
        }
        statuses
    }
    let first = run().await;
    assert_eq!(first, run().await);
    let failed = first.iter().filter(|s| **s == 502).count();
    assert!((3..=17).contains(&failed), "{first:?}");
    assert!(first.iter().all(|s| *s == 502 || *s == 200), "{first:?}");
}

#[tokio::test]
async fn when_rule_targets_another_path_then_requests_elsewhere_are_untouched() {
    let env = Env::start().await;
    env.admin
        .add_fault(&FaultRule::new(
            Api::Braze,
            "*",
            "/users/delete",
            FaultKind::Drop,
        ))
        .await
        .expect("fault added");
    let answer = env.braze("/users/track", track_body("u1")).await;
    assert_eq!(answer.status, 201);
    let faults = env.admin.faults().await.expect("faults");
    assert_eq!(faults[0].matched, 0);
}

#[tokio::test]
async fn when_fault_rule_is_removed_then_requests_succeed_again() {
    let env = Env::start().await;
    let kind = FaultKind::status(503, false);
    let added = env
        .admin
        .add_fault(&FaultRule::new(Api::Braze, "*", "*", kind))
        .await
        .expect("fault added");
    assert_eq!(env.braze("/users/track", track_body("a")).await.status, 503);
    env.admin.remove_fault(&added.id).await.expect("removed");
    assert_eq!(env.braze("/users/track", track_body("a")).await.status, 201);
    assert!(env.admin.remove_fault(&added.id).await.is_err());
}

#[tokio::test]
async fn when_fault_rule_is_invalid_then_admin_refuses_it() {
    let env = Env::start().await;
    let rule = FaultRule::new(Api::Braze, "*", "*", FaultKind::Drop).with_probability(2.0, 1);
    let err = env.admin.add_fault(&rule).await.expect_err("refused");
    assert!(
        matches!(err, sandbox::AdminError::Status { status: 400, .. }),
        "{err}"
    );
    let raw = send(
        env.http
            .post(format!("{}/faults", env.info.admin))
            .json(&json!({"api": "braze", "fault": {"kind": "explode"}})),
    )
    .await;
    assert_eq!(raw.status, 400);
    let misspelt = send(
        env.http
            .post(format!("{}/faults", env.info.admin))
            .json(&json!({
                "api": "braze",
                "fault": {"kind": "drop"},
                "probabilty": 0.1
            })),
    )
    .await;
    assert_eq!(misspelt.status, 400);
    assert!(
        misspelt.text.contains("unknown field `probabilty`"),
        "{}",
        misspelt.text
    );
    let misspelt_kind_field = send(env.http.post(format!("{}/faults", env.info.admin)).json(
        &json!({
            "api": "braze",
            "fault": {"kind": "status", "statuss": 503}
        }),
    ))
    .await;
    assert_eq!(misspelt_kind_field.status, 400);
    assert!(
        env.admin.faults().await.expect("faults").is_empty(),
        "nothing was added"
    );
}
