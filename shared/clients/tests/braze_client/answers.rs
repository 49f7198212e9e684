//! 2xx answers of writes: whatever the body, the request succeeded and is not sent again.
//! Braze answers `202 {"message":"queued"}` during maintenance, and a load balancer or proxy
//! may put anything in front of a success.

use super::*;

/// 2xx answers whose bodies are not Braze's documented object, and whether the body is
/// unreadable (an empty body or `queued` is readable, just without counts).
fn unexpected_2xx_answers() -> Vec<(&'static str, ResponseTemplate, usize)> {
    vec![
        (
            "200 with an HTML page",
            ResponseTemplate::new(200).set_body_raw("<html><body>OK</body></html>", "text/html"),
            1,
        ),
        (
            "201 with a JSON string",
            ResponseTemplate::new(201).set_body_json(json!("success")),
            1,
        ),
        (
            "201 with counts of other types",
            ResponseTemplate::new(201).set_body_json(
                json!({"message": 1, "deleted": "some", "attributes_processed": {}}),
            ),
            0,
        ),
        ("204 without a body", ResponseTemplate::new(204), 0),
        (
            "202 queued",
            ResponseTemplate::new(202)
                .set_body_raw(fixture("track_queued.json"), "application/json"),
            0,
        ),
    ]
}

async fn answering_once(at: &str, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn when_a_track_chunk_gets_any_2xx_body_then_its_items_are_accepted_and_sent_once() {
    let mut answers = unexpected_2xx_answers();
    answers.push((
        "201 with errors of another shape",
        ResponseTemplate::new(201).set_body_json(json!({"message": "success", "errors": "none"})),
        1,
    ));
    for (case, answer, unreadable) in answers {
        let server = answering_once("/users/track", answer).await;

        let report = client_for(&server)
            .track()
            .attributes(attrs(3))
            .events([event(0, "u-0")])
            .send()
            .await
            .unwrap();

        assert!(report.is_success(), "{case}: {report:?}");
        assert_eq!(
            (report.requests, report.sent, report.accepted()),
            (1, 4, 4),
            "{case}"
        );
        assert_eq!(report.unreadable_answers, unreadable, "{case}");
        assert_eq!(received(&server).await.len(), 1, "{case}: sent once");
        server.verify().await;
    }
}

#[tokio::test]
async fn when_a_delete_or_merge_gets_any_2xx_body_then_the_batch_succeeded_and_was_sent_once() {
    for (case, answer, unreadable) in unexpected_2xx_answers() {
        let server = answering_once("/users/delete", answer.clone()).await;
        let report = client_for(&server)
            .delete()
            .external_ids(["u-1", "u-2"])
            .send()
            .await
            .unwrap();
        assert!(report.is_success(), "{case}: {report:?}");
        assert_eq!(report.unreadable_answers, unreadable, "{case}");
        assert_eq!(received(&server).await.len(), 1, "{case}: sent once");
        server.verify().await;

        let server = answering_once("/users/alias/new", answer).await;
        let report = client_for(&server)
            .new_aliases()
            .aliases([NewAlias {
                external_id: Some("u-1".into()),
                alias_name: "crm-1".into(),
                alias_label: "hubspot".into(),
            }])
            .send()
            .await
            .unwrap();
        assert!(report.is_success(), "{case}: {report:?}");
        assert_eq!(received(&server).await.len(), 1, "{case}: sent once");
        server.verify().await;
    }
}
