//! /users/delete

use super::*;

/// Answers `deleted` = the number of ids, after checking the one-type rule like Braze should.
fn braze_delete(request: &Request) -> ResponseTemplate {
    let body = body_of(request);
    let object = body.as_object().unwrap();
    let ids = object
        .values()
        .next()
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if object.len() != 1 || ids > 50 {
        return ResponseTemplate::new(400)
            .set_body_json(json!({"message": "one identifier type, 50 ids"}));
    }
    ResponseTemplate::new(200).set_body_json(json!({"deleted": ids, "message": "success"}))
}

#[tokio::test]
async fn when_deleting_mixed_identifiers_then_requests_are_split_by_type_and_by_50() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/delete"))
        .respond_with(braze_delete)
        .mount(&server)
        .await;
    let mut external: Vec<String> = (0..120).map(|i| format!("u-{i}")).collect();
    external.push("u-7".into()); // a duplicate is sent once

    let report = client_for(&server)
        .delete()
        .external_ids(external)
        .user_aliases((0..3).map(|i| UserAlias::new(format!("crm-{i}"), "hubspot")))
        .braze_ids(["b-1", "b-2"])
        .emails([EmailToDelete {
            email: "ada@example.com".into(),
            prioritization: vec![
                Prioritization::Unidentified,
                Prioritization::MostRecentlyUpdated,
            ],
        }])
        .phones(["+14155550100"])
        .send()
        .await
        .unwrap();

    let mut shapes: Vec<(String, usize)> = received(&server)
        .await
        .iter()
        .map(|r| {
            let body = body_of(r);
            let object = body.as_object().unwrap();
            assert_eq!(object.len(), 1, "one identifier type per request: {body}");
            let (key, ids) = object.iter().next().unwrap();
            (key.clone(), ids.as_array().unwrap().len())
        })
        .collect();
    shapes.sort();
    let expected: Vec<(String, usize)> = [
        ("braze_ids", 2),
        ("email_addresses", 1),
        ("external_ids", 20),
        ("external_ids", 50),
        ("external_ids", 50),
        ("phone_numbers", 1),
        ("user_aliases", 3),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), *n))
    .collect();
    assert_eq!(shapes, expected);
    assert_eq!(report.requests, 7);
    assert_eq!(report.deleted(), 127);
    assert!(report.is_success());
}

#[tokio::test]
async fn when_a_delete_batch_keeps_failing_then_it_is_reported_with_its_ids() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/delete"))
        .respond_with(|request: &Request| {
            if body_of(request).get("braze_ids").is_some() {
                ResponseTemplate::new(503)
            } else {
                braze_delete(request)
            }
        })
        .mount(&server)
        .await;

    let report = client_for(&server)
        .delete()
        .external_ids(["u-1", "u-2"])
        .braze_ids(["b-1", "b-2"])
        .send()
        .await
        .unwrap();

    assert_eq!(report.deleted(), 2);
    assert_eq!(report.failed_batches.len(), 1);
    let failed = &report.failed_batches[0];
    assert_eq!(
        failed.items,
        vec![
            DeleteTarget::BrazeId("b-1".into()),
            DeleteTarget::BrazeId("b-2".into())
        ]
    );
    assert_eq!(failed.error.class(), FailureClass::Transient);
}

#[tokio::test]
async fn when_a_delete_target_is_empty_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(braze_delete)
        .expect(0)
        .mount(&server)
        .await;

    let err = client_for(&server)
        .delete()
        .external_ids(["u-1", ""])
        .send()
        .await
        .unwrap_err();

    assert!(matches!(err, BrazeError::InvalidRequest(_)), "{err}");
    assert!(err.to_string().contains("target 1"), "{err}");
    server.verify().await;
}
