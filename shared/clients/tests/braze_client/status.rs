//! Status handling

use super::*;

#[tokio::test]
async fn when_braze_answers_401_then_key_rejected_names_the_cluster_and_nothing_else_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(fixture("error_invalid_key.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cluster = Cluster::by_name("US-03").unwrap();
    let endpoint = BrazeEndpoint::proxied(&server.uri(), cluster).unwrap();
    let client = build(BrazeConfig {
        concurrency: 1,
        ..config(endpoint)
    });

    let err = client
        .track()
        .attributes(attrs(160))
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "key rejected by US-03 (rest.iad-03.braze.com, HTTP 401): wrong cluster or wrong key; a REST key belongs to one workspace, which lives on one cluster: check the key, and that the REST endpoint is that workspace's cluster"
    );
    assert!(matches!(err, BrazeError::KeyRejected { .. }));
    assert_eq!(err.class(), FailureClass::Misconfigured);
    assert_eq!(
        received(&server).await.len(),
        1,
        "not retried, later chunks not sent"
    );
}

#[tokio::test]
async fn when_a_custom_endpoint_answers_401_then_key_rejected_names_the_host() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let host = server.address().to_string();

    let err = client_for(&server)
        .delete()
        .external_ids(["u-1"])
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "key rejected by {host} ({host}, HTTP 401): wrong cluster or wrong key; a REST key belongs to one workspace, which lives on one cluster: check the key, and that the REST endpoint is that workspace's cluster"
        )
    );
}

#[tokio::test]
async fn when_braze_answers_403_then_the_error_names_the_missing_permission() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_ids()
        .emails(["a@example.com"])
        .send()
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            BrazeError::PermissionDenied {
                permission: "users.export.ids",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("users.export.ids"), "{err}");
    assert!(!err.to_string().contains("a@example.com"));
}

#[tokio::test]
async fn when_braze_answers_an_html_502_then_it_is_retried_without_decoding_the_html() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(fixture("bad_gateway.html"), "text/html"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_track(&server).await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(3))
        .send()
        .await
        .unwrap();

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.attributes_processed, 3);
    assert_eq!(report.requests, 1);
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn when_html_502s_persist_then_the_chunk_fails_as_transient_without_a_braze_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(fixture("bad_gateway.html"), "text/html"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(3))
        .send()
        .await
        .unwrap();

    assert_eq!(received(&server).await.len(), 3, "max_attempts");
    let error = &report.failed_chunks[0].error;
    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(error.braze_message(), None);
    assert!(!error.to_string().contains("nginx"), "{error}");
}

#[tokio::test]
async fn when_braze_answers_429_with_a_retry_header_then_the_client_waits_that_long() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(ResponseTemplate::new(429).insert_header("X-Ratelimit-Retry-After", "0.4"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_track(&server).await;

    let client = client_for(&server);
    let watch = ThrottleWatch::start([client.throttles().clone()]);
    let started = Instant::now();
    let report = client.track().attributes(attrs(1)).send().await.unwrap();

    assert!(report.is_success(), "{report:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received(&server).await.len(), 2);
    assert_eq!(
        (client.throttles().total(), watch.seen()),
        (1, 1),
        "the 429 is counted although the retry succeeded"
    );
}

#[tokio::test]
async fn when_braze_answers_400_then_it_is_not_retried_and_its_message_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_raw(fixture("error_max_input_length.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(1))
        .send()
        .await
        .unwrap();

    let error = &report.failed_chunks[0].error;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(error.class(), FailureClass::Permanent);
    assert!(
        error
            .to_string()
            .contains("(Braze: Max Input Length Exceeded)"),
        "{error}"
    );
    server.verify().await;
}

#[tokio::test]
async fn when_any_request_is_sent_then_it_carries_the_bearer_key_and_json_content_type() {
    let server = MockServer::start().await;
    let ok = |status: u16, body: Value| {
        Mock::given(method("POST"))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
    };
    ok(
        201,
        json!({"message": "success", "attributes_processed": 1}),
    )
    .named("track")
    .mount(&server)
    .await;
    // Anything without the headers falls through to wiremock's 404: a permanent failure.
    let client = client_for(&server);

    let track = client.track().attributes(attrs(1)).send().await.unwrap();
    let delete = client.delete().external_ids(["u-1"]).send().await.unwrap();
    let export = client
        .export_ids()
        .external_ids(["u-1"])
        .send()
        .await
        .unwrap();
    client.cancel_segment_export("seg-1").await.unwrap();

    assert!(track.is_success(), "{track:?}");
    assert!(delete.is_success(), "{delete:?}");
    assert_eq!(export.requests, 1);
    let requests = received(&server).await;
    assert_eq!(requests.len(), 4);
    for request in requests {
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {KEY}").as_str()
        );
        assert_eq!(request.headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn when_the_endpoint_has_trailing_slashes_or_a_pasted_path_then_requests_use_the_exact_path()
{
    let server = MockServer::start().await;
    mount_track(&server).await;
    for configured in [
        format!("{}//", server.uri()),
        format!("{}/users/track/", server.uri()),
    ] {
        let client = build(config(BrazeEndpoint::parse(&configured, true).unwrap()));
        let report = client.track().attributes(attrs(1)).send().await.unwrap();
        assert!(report.is_success(), "{configured}: {report:?}");
    }
    for request in received(&server).await {
        assert_eq!(request.url.path(), "/users/track");
    }
}
