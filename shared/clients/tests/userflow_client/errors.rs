//! Error bodies, retries by status, deadlines and the limiter.

use super::*;

#[tokio::test]
async fn when_userflow_answers_a_json_error_then_code_and_message_are_decoded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("error_invalid_params.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .upsert_user("crm-42")
        .attribute("email", "ada@example")
        .send()
        .await
        .unwrap_err();

    let vendor = error.vendor_error().expect("decoded error body");
    assert_eq!(vendor.code.as_deref(), Some("invalid_params"));
    assert!(
        vendor
            .message
            .as_deref()
            .unwrap()
            .contains("not a valid email")
    );
    assert_eq!(error.class(), FailureClass::Permanent);
    let shown = error.to_string();
    assert!(shown.contains("invalid_params"), "{shown}");
    assert!(
        !shown.contains("ada@example"),
        "no email in Display: {shown}"
    );
}

#[tokio::test]
async fn when_an_error_body_is_not_json_then_it_is_not_decoded() {
    let server = MockServer::start().await;
    let body = serde_json::to_vec(&fixture("error_invalid_params.json")).unwrap();
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(body, "text/html"))
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .upsert_user("crm-42")
        .send()
        .await
        .unwrap_err();

    assert!(error.vendor_error().is_none(), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn when_a_5xx_html_page_precedes_success_then_the_upsert_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_raw("<html><body>Service Unavailable</body></html>", "text/html"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("user.json")))
        .mount(&server)
        .await;

    client_for(server.uri())
        .upsert_user("crm-42")
        .send()
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        json_body(&sent[0]),
        json_body(&sent[1]),
        "the same upsert again"
    );
}

#[tokio::test]
async fn when_5xx_persists_then_the_error_is_transient_after_all_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/crm-42"))
        .respond_with(ResponseTemplate::new(500).set_body_raw("<html>oops</html>", "text/html"))
        .expect(3)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .get_user("crm-42")
        .await
        .unwrap_err();

    assert_eq!(error.class(), FailureClass::Transient);
    assert!(error.vendor_error().is_none());
}

#[tokio::test]
async fn when_an_event_gets_a_502_then_it_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .track_event("signed_up", EventSubject::User("crm-42".into()))
        .send()
        .await
        .unwrap_err();

    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn when_an_event_gets_a_429_then_it_is_retried_and_sent_once_more() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .and(body_json(json!({
            "name": "signed_up",
            "user_id": "crm-42",
            "group_id": "acme",
            "attributes": {"source": "hubspot"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("event.json")))
        .expect(1)
        .mount(&server)
        .await;

    client_for(server.uri())
        .track_event(
            "signed_up",
            EventSubject::UserInGroup {
                user_id: "crm-42".into(),
                group_id: "acme".into(),
            },
        )
        .attribute("source", "hubspot")
        .send()
        .await
        .unwrap();

    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn when_an_event_cannot_connect_then_it_is_retried_and_the_error_hides_the_url() {
    // Bind then drop a listener: the port is closed, so every attempt is refused before
    // anything is sent, which makes even an event safe to repeat.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);

    let error = client_for(format!("http://{address}"))
        .track_event("signed_up", EventSubject::User("ada@example.com".into()))
        .send()
        .await
        .unwrap_err();

    match error.upstream() {
        Some(UpstreamError::Transport { attempts, .. }) => assert_eq!(*attempts, 3),
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(error.class(), FailureClass::Transient);
    let shown = format!("{error}");
    assert!(!shown.contains(&address.to_string()), "{shown}");
}

#[tokio::test]
async fn when_a_2xx_body_has_the_wrong_shape_then_decode_names_the_path_but_not_the_value() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/crm-42"))
        .respond_with(ok_json(
            json!({"id": "crm-42", "attributes": "ada@example.com"}),
        ))
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .get_user("crm-42")
        .await
        .unwrap_err();

    match &error {
        UserflowError::Decode { source, .. } => assert_eq!(source.path, "attributes"),
        other => panic!("expected Decode, got {other:?}"),
    }
    let shown = error.to_string();
    assert!(shown.contains("`attributes`"), "{shown}");
    assert!(!shown.contains("ada@example.com"), "{shown}");
}

#[tokio::test]
async fn when_a_429_asks_to_wait_past_the_deadline_then_the_event_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .mount(&server)
        .await;
    let client = client_for(server.uri());
    let started = std::time::Instant::now();
    let until = tokio::time::Instant::now() + Duration::from_millis(500);
    let error = client
        .track_event("signed_up", EventSubject::User("u-1".into()))
        .send_before(until)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "no wait past the deadline"
    );
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429), "{error}");
    assert_eq!(requests(&server).await.len(), 1);
    assert_eq!(
        client.throttles().total(),
        1,
        "a 429 met under a deadline counts on the client"
    );
}

#[tokio::test]
async fn when_the_limiter_is_paused_past_the_deadline_then_the_event_is_not_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let client = client_for(server.uri());
    // A first event meets a 429: every request of this client now waits 3 s.
    let _ = client
        .track_event("signed_up", EventSubject::User("u-1".into()))
        .send_before(tokio::time::Instant::now() + Duration::from_millis(100))
        .await;
    let error = client
        .track_event("signed_up", EventSubject::User("u-2".into()))
        .send_before(tokio::time::Instant::now() + Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.upstream(),
            Some(UpstreamError::NotSent { attempts: 0, .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(
        requests(&server).await.len(),
        1,
        "the second event never left"
    );
}
