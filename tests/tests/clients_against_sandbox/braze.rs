//! Braze /users/track through faults, throttling, dropped connections and a tight budget.

use super::*;

#[tokio::test]
async fn when_160_profiles_are_tracked_then_three_requests_create_every_profile() {
    let stack = Stack::start().await;
    let report = stack
        .braze
        .track()
        .attributes((0..160).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.requests, 3);
    assert_eq!(report.attributes_processed, 160);
    let admin = stack.admin();
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(201))
            .await
            .unwrap(),
        3
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 160);
    let stored = admin
        .braze_user("user-42")
        .await
        .unwrap()
        .expect("profile exists");
    assert_eq!(stored.attributes["email"], json!("user42@example.com"));
    assert_eq!(stored.custom_attributes["seats"], json!(42));
    assert_eq!(stored.custom_attributes["plan"], json!("pro"));
}

#[tokio::test]
async fn when_an_item_is_invalid_then_it_is_never_sent_and_the_report_names_its_index() {
    let stack = Stack::start().await;
    let mut items: Vec<UserAttributes> = (0..10).map(profile).collect();
    items[7].email = Update::Set("not-an-email".into());
    items[3] = items[3].clone().with_custom("$reserved", "x");

    let report = stack
        .braze
        .track()
        .attributes(items)
        .send()
        .await
        .expect("track");

    let invalid: Vec<usize> = report.invalid.iter().map(|i| i.item.index).collect();
    assert_eq!(invalid, vec![3, 7]);
    let item = |index| ItemRef {
        array: TrackArray::Attributes,
        index,
    };
    assert!(
        matches!(report.outcome(item(7)), ItemOutcome::Invalid(errors) if errors[0].path.contains("email"))
    );
    assert!(matches!(report.outcome(item(0)), ItemOutcome::Accepted));
    let admin = stack.admin();
    assert_eq!(admin.braze_user_count().await.unwrap(), 8);
    assert!(admin.braze_user("user-7").await.unwrap().is_none());
    assert!(admin.braze_user("user-3").await.unwrap().is_none());
}

#[tokio::test]
async fn when_braze_answers_html_503_twice_then_the_chunk_is_retried_and_applied_once() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let html_503 = FaultKind::status(503, true);
    admin
        .add_fault(&FaultRule::new(Api::Braze, "POST", "/users/track", html_503).times(2))
        .await
        .unwrap();

    let report = stack
        .braze
        .track()
        .attributes((0..10).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(503))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(201))
            .await
            .unwrap(),
        1
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 10);
}

#[tokio::test]
async fn when_braze_throttles_then_the_client_waits_as_told_and_succeeds() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    admin
        .add_fault(
            &FaultRule::new(
                Api::Braze,
                "POST",
                "/users/track",
                FaultKind::Throttle { retry_after: 1 },
            )
            .times(1),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let report = stack
        .braze
        .track()
        .attributes((0..5).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "X-Ratelimit-Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(429))
            .await
            .unwrap(),
        1
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 5);
}

#[tokio::test]
async fn when_the_connection_drops_then_the_request_is_retried() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    admin
        .add_fault(&FaultRule::new(Api::Braze, "POST", "/users/track", FaultKind::Drop).times(1))
        .await
        .unwrap();

    let report = stack
        .braze
        .track()
        .attributes((0..3).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(admin.braze_user_count().await.unwrap(), 3);
}

#[tokio::test]
async fn when_braze_keeps_failing_then_the_chunk_is_reported_transient_with_its_items() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let status_500 = FaultKind::status(500, false);
    admin
        .add_fault(&FaultRule::new(
            Api::Braze,
            "POST",
            "/users/track",
            status_500,
        ))
        .await
        .unwrap();

    let report = stack
        .braze
        .track()
        .attributes((0..80).map(profile))
        .send()
        .await
        .expect("report");

    assert_eq!(report.failed_chunks.len(), 2);
    let failed: usize = report.failed_chunks.iter().map(|c| c.items.len()).sum();
    assert_eq!(failed, 80);
    assert!(
        report
            .failed_chunks
            .iter()
            .all(|c| c.error.class() == FailureClass::Transient)
    );
    assert_eq!(
        admin.braze_user_count().await.unwrap(),
        0,
        "faulted requests change nothing"
    );
}

#[tokio::test]
async fn when_the_key_is_wrong_then_the_error_says_which_endpoint_rejected_it() {
    let stack = Stack::start().await;
    let info = stack.sandbox.info();
    let wrong = braze_client(
        &info.braze,
        "not-the-key",
        http_client(HttpTimeouts::default()),
    );

    let error = wrong
        .track()
        .attributes([profile(1)])
        .send()
        .await
        .expect_err("401");

    assert!(matches!(error, BrazeError::KeyRejected { .. }), "{error:?}");
    assert_eq!(error.class(), FailureClass::Misconfigured);
    let host = info.braze.trim_start_matches("http://");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("key rejected by {host}")),
        "{message}"
    );
    assert!(message.contains("wrong cluster or wrong key"), "{message}");
    assert_eq!(
        stack
            .admin()
            .count(Api::Braze, "POST", "/users/track", Some(401))
            .await
            .unwrap(),
        1
    );
}

/// Braze allows 10 track requests per 1 s window here; 40 one-object chunks go out 16 at a
/// time. The first burst meets 429s; after that the shared limiter pauses every task and
/// resumes them at the vendor's rate, so refusals stay bounded and every profile lands once.
/// (The exact resume spacing is pinned by upstream's unit tests on a paused clock.)
#[tokio::test]
async fn when_braze_budget_is_tight_then_the_client_paces_itself_and_loses_nothing() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    admin
        .set_rate_limit(
            Bucket::BrazeTrack,
            Some(RateLimit {
                limit: 10,
                window_secs: 1,
            }),
        )
        .await
        .unwrap();
    let info = stack.sandbox.info();
    let endpoint = BrazeEndpoint::parse(&info.braze, true).unwrap();
    let mut config = BrazeConfig::new(endpoint, SecretString::from(info.braze_key.clone()));
    config.track_batch = 1;
    config.concurrency = 16;
    config.rates.track = generous(1_000);
    config.retry = RetryPolicy {
        max_attempts: 20,
        ..relay_tests::fast_retry()
    };
    let braze = BrazeClient::new(config, http_client(HttpTimeouts::default())).unwrap();

    let report = braze
        .track()
        .attributes((0..40).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.requests, 40);
    assert_eq!(admin.braze_user_count().await.unwrap(), 40);
    let refused = admin
        .count(Api::Braze, "POST", "/users/track", Some(429))
        .await
        .unwrap();
    assert!(
        refused >= 1,
        "the tight budget was never hit: the test proves nothing"
    );
    assert!(
        refused <= 24,
        "{refused} refusals for 40 requests: the client is hammering"
    );
}
