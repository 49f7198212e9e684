//! Users: upsert bodies, memberships, reads and deletes, the headers every call sends.

use super::*;

#[tokio::test]
async fn when_a_user_is_upserted_then_post_users_carries_the_id_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .and(header("userflow-version", "2020-01-03"))
        .and(body_json(json!({
            "id": "crm-42",
            "attributes": {"email": "ada@example.com", "logins": {"add": 1}},
            "groups": [{"id": "acme"}]
        })))
        .respond_with(ok_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    client_for(server.uri())
        .upsert_user("crm-42")
        .attribute("email", json!("ada@example.com"))
        .attribute("logins", AttributeOperation::add(1))
        .groups([GroupUpsert::new("acme")])
        .send()
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        header_value(&sent[0], "content-type"),
        Some("application/json")
    );
}

#[tokio::test]
async fn when_upserting_with_an_id_that_has_slashes_then_post_never_targets_users_slash_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/users/.+"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    client_for(server.uri())
        .upsert_user("tenant/crm-42")
        .send()
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert!(sent.iter().all(|r| r.url.path() == "/users"));
    assert_eq!(json_body(&sent[0]), json!({"id": "tenant/crm-42"}));
}

#[tokio::test]
async fn when_every_endpoint_is_called_then_each_request_sends_version_auth_and_accept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("user.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/crm-42"))
        .respond_with(ok_json(fixture("user.json")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/users/crm-42"))
        .respond_with(ok_json(fixture("user_deleted.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("users_page_3.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(ok_json(fixture("event.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/groups"))
        .respond_with(ok_json(fixture("group.json")))
        .mount(&server)
        .await;

    let client = client_for(server.uri());
    client.upsert_user("crm-42").send().await.unwrap();
    client.get_user("crm-42").await.unwrap();
    client.delete_user("crm-42").await.unwrap();
    let listed: Vec<_> = client.list_users(ListUsers::default()).collect().await;
    assert_eq!(listed.len(), 1);
    client
        .track_event("signed_up", EventSubject::User("crm-42".into()))
        .send()
        .await
        .unwrap();
    client
        .upsert_group("acme")
        .attribute("name", "Acme Inc")
        .send()
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 6);
    for request in &sent {
        let what = format!("{} {}", request.method, request.url.path());
        assert_eq!(
            header_value(request, "userflow-version"),
            Some("2020-01-03"),
            "{what}"
        );
        assert_eq!(
            header_value(request, "authorization"),
            Some(format!("Bearer {API_KEY}").as_str()),
            "{what}"
        );
        assert_eq!(
            header_value(request, "accept"),
            Some("application/json"),
            "{what}"
        );
        let has_body = !request.body.is_empty();
        assert_eq!(
            header_value(request, "content-type"),
            has_body.then_some("application/json"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn when_memberships_follow_groups_on_the_builder_then_only_memberships_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("user.json")))
        .mount(&server)
        .await;

    client_for(server.uri())
        .upsert_user("crm-42")
        .groups([GroupUpsert::new("old")])
        .prune_memberships()
        .memberships([Membership::new(GroupUpsert::new("acme")).attribute("role", "admin")])
        .send()
        .await
        .unwrap();

    let body = json_body(&requests(&server).await[0]);
    assert_eq!(
        body,
        json!({
            "id": "crm-42",
            "memberships": [{"attributes": {"role": "admin"}, "group": {"id": "acme"}}],
            "prune_memberships": true
        })
    );
    assert!(body.get("groups").is_none());
}

#[tokio::test]
async fn when_prune_is_requested_without_groups_then_it_is_not_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("user.json")))
        .mount(&server)
        .await;

    client_for(server.uri())
        .upsert_user("crm-42")
        .prune_memberships()
        .send()
        .await
        .unwrap();

    assert_eq!(
        json_body(&requests(&server).await[0]),
        json!({"id": "crm-42"})
    );
}

#[tokio::test]
async fn when_get_user_answers_404_then_the_error_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/ghost"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "not_found", "message": "No such user"}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .get_user("ghost")
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            UserflowError::NotFound {
                resource: UserflowResource::User
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_delete_user_answers_404_then_the_error_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/users/ghost"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .delete_user("ghost")
        .await
        .unwrap_err();

    assert!(matches!(error, UserflowError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn when_delete_answers_200_or_204_then_both_are_success() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/users/with-body"))
        .respond_with(ok_json(fixture("user_deleted.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/users/no-body"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let client = client_for(server.uri());
    let with_body = client.delete_user("with-body").await;
    let no_body = client.delete_user("no-body").await;

    assert!(with_body.is_ok(), "{with_body:?}");
    assert!(no_body.is_ok(), "{no_body:?}");
    server.verify().await;
}

#[tokio::test]
async fn when_get_user_expands_memberships_then_the_query_asks_for_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/crm-42"))
        .and(query_param("expand", "memberships"))
        .respond_with(ok_json(fixture("user_with_memberships.json")))
        .expect(1)
        .mount(&server)
        .await;

    let user = client_for(server.uri())
        .get_user_with_memberships("crm-42")
        .await
        .unwrap();

    assert_eq!(user.memberships.map(|m| m.len()), Some(1));
}

#[tokio::test]
async fn when_an_attribute_value_would_be_misread_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ok_json(fixture("user.json")))
        .expect(0)
        .mount(&server)
        .await;
    let client = client_for(server.uri());
    let misread = [
        ("an object (read as an operation)", json!({"plan": "pro"})),
        ("a list of objects", json!([{"name": "Rex"}])),
        ("a list of lists", json!([["a"], ["b"]])),
        ("a list mixing strings and objects", json!(["a", {"b": 1}])),
    ];

    for (shape, value) in misread {
        let outcomes = [
            (
                "user attribute",
                client
                    .upsert_user("crm-42")
                    .attribute("x", value.clone())
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "set operation",
                client
                    .upsert_user("crm-42")
                    .attribute("x", AttributeOperation::set(value.clone()))
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "group attribute in a user upsert",
                client
                    .upsert_user("crm-42")
                    .groups([GroupUpsert::new("acme").attribute("x", value.clone())])
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "membership attribute",
                client
                    .upsert_user("crm-42")
                    .memberships([
                        Membership::new(GroupUpsert::new("acme")).attribute("x", value.clone())
                    ])
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "group attribute",
                client
                    .upsert_group("acme")
                    .attribute("x", value.clone())
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "event attribute",
                client
                    .track_event("signed_up", EventSubject::User("crm-42".into()))
                    .attribute("x", value.clone())
                    .send()
                    .await,
            ),
        ];
        for (call, outcome) in outcomes {
            let error = outcome.expect_err(call);
            assert!(
                matches!(error, UserflowError::InvalidRequest { .. }),
                "{call} with {shape}: {error:?}"
            );
            assert_eq!(
                error.class(),
                FailureClass::Permanent,
                "{call} with {shape}"
            );
        }
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn when_attribute_values_are_userflow_types_then_they_are_sent_as_they_are() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ok_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;
    let attributes = json!({
        "name": "Ada",
        "seats": 5,
        "trial": false,
        "signed_up_at": "2024-05-01T10:00:00Z",
        "tags": ["beta", 2, true],
        "none": [],
        "gone": null
    });

    client_for(server.uri())
        .upsert_user("crm-42")
        .attributes(attributes.as_object().unwrap().clone())
        .attribute("logins", AttributeOperation::add(1))
        .attribute("labels", AttributeOperation::append(json!(["new"])))
        .send()
        .await
        .unwrap();

    let mut expected = attributes;
    expected["logins"] = json!({"add": 1});
    expected["labels"] = json!({"append": ["new"]});
    assert_eq!(
        json_body(&requests(&server).await[0])["attributes"],
        expected
    );
}

#[tokio::test]
async fn when_a_written_body_is_sent_then_post_users_carries_it_as_written() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .and(header("userflow-version", "2020-01-03"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(body_json(json!({
            "id": "crm-42",
            "attributes": {"email": "ada@example.com", "seats": 12}
        })))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let mut writer = UserUpsertBodyWriter::new("crm-42").unwrap();
    writer.text("email", "ada@example.com");
    writer.value("seats", &json!(12)).unwrap();

    client_for(server.uri())
        .send_user_upsert_body(&writer.finish())
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert_eq!(
        header_value(&sent[0], "content-type"),
        Some("application/json")
    );
}
