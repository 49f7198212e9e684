//! 2xx answers: a write is done whatever its body says, and is sent exactly once; what the
//! relay reads (a user, a list page) is decoded tolerantly, and an answer without it is a
//! permanent decode error, not a reason to ask again.

use super::*;

/// 2xx answers whose bodies are not the documented object.
fn unexpected_2xx_answers() -> Vec<(&'static str, ResponseTemplate)> {
    vec![
        ("200 {}", ok_json(json!({}))),
        (
            "201 with another body",
            ResponseTemplate::new(201).set_body_json(json!({"ok": true, "id": 7})),
        ),
        ("204 without a body", ResponseTemplate::new(204)),
        (
            "200 with an HTML page",
            ResponseTemplate::new(200).set_body_raw("<html><body>Saved</body></html>", "text/html"),
        ),
        (
            "200 with a user of other fields",
            ok_json(json!({"object": "user", "uid": "crm-42", "attributes": [1, 2]})),
        ),
    ]
}

/// A server answering `answer` to `verb path`, expecting exactly one request.
async fn answering_once(verb: &str, at: &str, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    server
}

async fn assert_sent_once(server: &MockServer, case: &str) {
    assert_eq!(requests(server).await.len(), 1, "{case}: sent once");
    server.verify().await;
}

#[tokio::test]
async fn when_a_user_upsert_gets_any_2xx_body_then_it_succeeded_and_was_sent_once() {
    for (case, answer) in unexpected_2xx_answers() {
        let server = answering_once("POST", "/users", answer).await;
        let outcome = client_for(server.uri())
            .upsert_user("crm-42")
            .attribute("plan", "pro")
            .groups([GroupUpsert::new("acme")])
            .send()
            .await
            .map(drop);
        assert!(outcome.is_ok(), "{case}: {outcome:?}");
        assert_sent_once(&server, case).await;
    }
}

#[tokio::test]
async fn when_a_group_upsert_gets_any_2xx_body_then_it_succeeded_and_was_sent_once() {
    for (case, answer) in unexpected_2xx_answers() {
        let server = answering_once("POST", "/groups", answer).await;
        let outcome = client_for(server.uri())
            .upsert_group("acme")
            .attribute("name", "Acme Inc")
            .send()
            .await
            .map(drop);
        assert!(outcome.is_ok(), "{case}: {outcome:?}");
        assert_sent_once(&server, case).await;
    }
}

#[tokio::test]
async fn when_an_event_gets_any_2xx_body_then_it_succeeded_and_was_sent_once() {
    for (case, answer) in unexpected_2xx_answers() {
        let server = answering_once("POST", "/events", answer).await;
        let outcome = client_for(server.uri())
            .track_event("signed_up", EventSubject::User("crm-42".into()))
            .send()
            .await;
        assert!(outcome.is_ok(), "{case}: {outcome:?}");
        assert_sent_once(&server, case).await;
    }
}

#[tokio::test]
async fn when_a_delete_gets_any_2xx_body_then_it_succeeded_and_was_sent_once() {
    for (case, answer) in unexpected_2xx_answers() {
        let server = answering_once("DELETE", "/users/crm-42", answer.clone()).await;
        let outcome = client_for(server.uri()).delete_user("crm-42").await;
        assert!(outcome.is_ok(), "{case}: {outcome:?}");
        assert_sent_once(&server, case).await;

        let server = answering_once("DELETE", "/groups/acme", answer).await;
        let outcome = client_for(server.uri()).delete_group("acme").await;
        assert!(outcome.is_ok(), "{case}: {outcome:?}");
        assert_sent_once(&server, case).await;
    }
}

#[tokio::test]
async fn when_a_user_answer_has_unknown_or_missing_optional_fields_then_it_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/crm-42"))
        .respond_with(ok_json(json!({
            "id": "crm-42",
            "attributes": {"plan": "pro"},
            "flows": [{"id": 1}],
            "object": null
        })))
        .expect(1)
        .mount(&server)
        .await;

    let user = client_for(server.uri()).get_user("crm-42").await.unwrap();

    assert_eq!(user.id, "crm-42");
    assert_eq!(user.attributes["plan"], json!("pro"));
    assert_eq!(user.created_at, None);
    assert_eq!(user.memberships, None);
}

#[tokio::test]
async fn when_a_read_answer_lacks_what_is_used_then_the_decode_error_is_permanent_and_not_retried()
{
    let html = || ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html");
    let cases = [
        ("user: HTML", "/users/crm-42", html(), "user"),
        (
            "user: no id",
            "/users/crm-42",
            ok_json(json!({"object": "user"})),
            "user",
        ),
        (
            "group: empty",
            "/groups/acme",
            ResponseTemplate::new(204),
            "group",
        ),
        ("list: HTML", "/users", html(), "list"),
        (
            "list: no data",
            "/users",
            ok_json(json!({"object": "list", "has_more": false})),
            "list",
        ),
        (
            "list: no has_more",
            "/users",
            ok_json(json!({"object": "list", "data": [{"id": "u1"}]})),
            "list",
        ),
        (
            "list: an item without id",
            "/users",
            ok_json(json!({"data": [{"object": "user"}], "has_more": false})),
            "list",
        ),
    ];
    for (case, at, answer, expected) in cases {
        let server = answering_once("GET", at, answer).await;
        let client = client_for(server.uri());
        let outcome = match at {
            "/users" => {
                let items: Vec<_> = client.list_users(ListUsers::default()).collect().await;
                assert_eq!(items.len(), 1, "{case}: one error, then the end");
                items.into_iter().next().unwrap().map(drop)
            }
            "/groups/acme" => client.get_group("acme").await.map(drop),
            _ => client.get_user("crm-42").await.map(drop),
        };
        let error = outcome.expect_err(case);
        match &error {
            UserflowError::Decode { what, .. } => assert_eq!(*what, expected, "{case}"),
            other => panic!("{case}: expected Decode, got {other:?}"),
        }
        assert_eq!(error.class(), FailureClass::Permanent, "{case}");
        assert_sent_once(&server, case).await;
    }
}

#[tokio::test]
async fn when_a_list_page_is_minimal_then_data_and_has_more_are_enough() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(ok_json(json!({
            "data": [{"id": "u1"}, {"id": "u2", "attributes": null, "extra": true}],
            "has_more": false,
            "total": 2
        })))
        .expect(1)
        .mount(&server)
        .await;

    let ids: Vec<String> = client_for(server.uri())
        .list_users(ListUsers::default())
        .map(|user| user.unwrap().id)
        .collect()
        .await;

    assert_eq!(ids, ["u1", "u2"]);
}
