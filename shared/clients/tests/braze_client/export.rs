//! /users/export/ids and /users/export/segment

use super::*;

#[tokio::test]
async fn when_exporting_ids_then_ids_are_chunked_by_50_and_each_email_gets_its_own_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/ids"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(fixture("export_ids_users.json"), "application/json"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .export_ids()
        .external_ids((0..60).map(|i| format!("u-{i}")))
        .user_aliases([UserAlias::new("crm-1", "hubspot")])
        .emails(["ada@example.com", "ada@example.org"])
        .phones(["+14155550100"])
        .send()
        .await
        .unwrap();

    let bodies: Vec<Value> = received(&server).await.iter().map(body_of).collect();
    assert_eq!(bodies.len(), 5);
    assert_eq!(report.requests, 5);
    let mut shapes: Vec<(usize, usize, bool, bool)> = bodies
        .iter()
        .map(|b| {
            assert!(
                b["fields_to_export"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()),
                "fields_to_export always sent: {b}"
            );
            (
                len_of(b, "external_ids"),
                len_of(b, "user_aliases"),
                b.get("email_address").is_some(),
                b.get("phone").is_some(),
            )
        })
        .collect();
    shapes.sort();
    assert_eq!(
        shapes,
        vec![
            (0, 0, false, true),
            (0, 0, true, false),
            (0, 0, true, false),
            (10, 0, false, false),
            (50, 1, false, false),
        ]
    );
    for b in bodies.iter().filter(|b| b.get("email_address").is_some()) {
        assert!(
            b["email_address"].is_string(),
            "exactly one email per request: {b}"
        );
    }
    // Every request found the same two profiles: deduplicated by braze_id.
    assert_eq!(report.users.len(), 2);
    assert_eq!(report.invalid_user_ids.len(), 10);
}

#[tokio::test]
async fn when_exported_users_carry_numbers_as_strings_then_they_decode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/ids"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(fixture("export_ids_users.json"), "application/json"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .export_ids()
        .external_ids(["u-1"])
        .fields(["external_id", "braze_id", "custom_attributes"])
        .send()
        .await
        .unwrap();

    let sent = body_of(&received(&server).await[0]);
    assert_eq!(
        sent["fields_to_export"],
        json!(["external_id", "braze_id", "custom_attributes"])
    );
    let ada = &report.users[0];
    assert_eq!(ada.random_bucket, Some(2784));
    assert_eq!(ada.total_revenue, Some(42.5));
    assert_eq!(ada.custom_attributes["seats"], "12");
    assert_eq!(ada.custom_events[0].count, Some(1));
    assert_eq!(ada.user_aliases, vec![UserAlias::new("crm-1", "hubspot")]);
    assert!(ada.other.contains_key("devices") && ada.other.contains_key("unknown_future_field"));
    assert_eq!(report.users[1].external_id.as_deref(), Some("20002"));
    assert_eq!(
        report.invalid_user_ids,
        vec!["u-gone".to_owned(), "404".to_owned()]
    );
}

#[tokio::test]
async fn when_one_export_ids_request_fails_then_the_whole_lookup_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/ids"))
        .respond_with(|request: &Request| {
            if body_of(request).get("email_address").is_some() {
                ResponseTemplate::new(400).set_body_json(json!({"message": "bad email"}))
            } else {
                ResponseTemplate::new(201)
                    .set_body_raw(fixture("export_ids_users.json"), "application/json")
            }
        })
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_ids()
        .external_ids(["u-1"])
        .emails(["ada@example.com"])
        .send()
        .await
        .unwrap_err();

    assert_eq!(err.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_a_segment_export_starts_then_the_body_is_typed_and_the_prefix_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/segment"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(fixture("export_segment_started.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let callback = "https://relay.example.com/braze/export-callback?job=j1&exp=1&sig=abc";

    let started = client_for(&server)
        .export_segment("seg-1")
        .fields(["external_id", "braze_id", "email"])
        .callback_endpoint(callback)
        .custom_attributes(["plan"])
        .output_format(OutputFormat::Gzip)
        .send()
        .await
        .unwrap();

    assert_eq!(
        started.object_prefix,
        "bb8e2a91-c4aa-478b-b3f2-a3ee3ff3ac4b-1464728599"
    );
    assert_eq!(started.url, None);
    assert_eq!(
        body_of(&received(&server).await[0]),
        json!({
            "segment_id": "seg-1",
            "fields_to_export": ["external_id", "braze_id", "email"],
            "callback_endpoint": callback,
            "custom_attributes_to_export": ["plan"],
            "output_format": "gzip",
        })
    );
}

#[tokio::test]
async fn when_a_segment_export_lists_over_500_custom_attributes_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_segment("seg-1")
        .custom_attributes((0..501).map(|i| format!("attr_{i}")))
        .send()
        .await
        .unwrap_err();

    assert!(matches!(err, BrazeError::InvalidRequest(_)), "{err}");
    server.verify().await;
}

#[tokio::test]
async fn when_a_segment_export_answer_lacks_the_prefix_then_the_decode_error_names_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/segment"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"message": "success", "url": 7})),
        )
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_segment("seg-1")
        .send()
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            BrazeError::Decode {
                endpoint: "/users/export/segment",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("missing field `object_prefix`"),
        "{err}"
    );
}
