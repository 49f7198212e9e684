//! The Userflow client against a wiremock server: paths, headers, bodies, pagination, error
//! mapping and the retry rules of the shared upstream policy.

mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use futures::StreamExt;
use relay_clients::upstream::{FailureClass, HttpTimeouts, Rate, UpstreamError, http_client};
use relay_clients::userflow::{
    AttributeOperation, EventSubject, GroupUpsert, ListUsers, Membership, PageSize, Region,
    UserflowClient, UserflowConfig, UserflowError, UserflowResource,
};
use serde_json::{Value, json};
use wiremock::matchers::{
    body_json, header, method, path, path_regex, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API_KEY: &str = "ak_test_0123456789";

fn fixture(name: &str) -> Value {
    support::fixture_json("userflow", name)
}

fn config(base_url: impl Into<String>) -> UserflowConfig {
    UserflowConfig {
        rate: Rate::per_second(NonZeroU32::new(1000).unwrap()),
        retry: support::fast_retry(),
        ..UserflowConfig::with_base_url(base_url, API_KEY.to_owned().into())
    }
}

fn client_for(base_url: impl Into<String>) -> UserflowClient {
    UserflowClient::new(config(base_url), http_client(HttpTimeouts::default())).unwrap()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn header_value<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

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

    let user = client_for(server.uri())
        .upsert_user("crm-42")
        .attribute("email", json!("ada@example.com"))
        .attribute("logins", AttributeOperation::add(1))
        .groups([GroupUpsert::new("acme")])
        .send()
        .await
        .unwrap();

    assert_eq!(user.id, "crm-42");
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

/// Page 1 has no next_page_url (cursor = last id), page 2 has a relative next_page_url
/// without the email filter, page 3 ends the list.
async fn mount_three_pages(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(ok_json(fixture("users_page_1.json")))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("starting_after", "u2"))
        .respond_with(ok_json(fixture("users_page_2.json")))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("starting_after", "u4"))
        .respond_with(ok_json(fixture("users_page_3.json")))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn when_users_span_three_pages_then_the_stream_follows_the_cursor_and_sends_limit() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;

    let query = ListUsers::default()
        .with_page_size(PageSize::new(2).unwrap())
        .with_email("ada+ops@example.com");
    let ids: Vec<String> = client_for(server.uri())
        .list_users(query)
        .map(|user| user.unwrap().id)
        .collect()
        .await;

    assert_eq!(ids, ["u1", "u2", "u3", "u4", "u5"]);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 3);
    for request in &sent {
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("limit".into(), "2".into())), "{pairs:?}");
        assert!(
            pairs.contains(&("email".into(), "ada+ops@example.com".into())),
            "{pairs:?}"
        );
    }
}

#[tokio::test]
async fn when_no_page_size_is_given_then_limit_100_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("email"))
        .respond_with(ok_json(fixture("users_page_3.json")))
        .expect(1)
        .mount(&server)
        .await;

    let users: Vec<_> = client_for(server.uri())
        .list_users(ListUsers::default())
        .collect()
        .await;

    assert_eq!(users.len(), 1);
    assert!(users[0].is_ok());
}

#[tokio::test]
async fn when_a_page_fails_then_the_error_is_yielded_once_and_the_stream_ends() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(ok_json(fixture("users_page_1.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("starting_after", "u2"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("error_invalid_params.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let items: Vec<_> = client_for(server.uri())
        .list_users(ListUsers::default())
        .collect()
        .await;

    assert_eq!(items.len(), 3, "two users, then one error, then the end");
    assert!(items[0].is_ok() && items[1].is_ok());
    let error = items[2].as_ref().unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn when_next_page_url_points_to_another_host_then_the_cursor_is_used_instead() {
    let server = MockServer::start().await;
    let mut page = fixture("users_page_1.json");
    page["next_page_url"] = json!("https://attacker.example/users?starting_after=u2");
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(ok_json(page))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("starting_after", "u2"))
        .respond_with(ok_json(fixture("users_page_3.json")))
        .expect(1)
        .mount(&server)
        .await;

    let ids: Vec<String> = client_for(server.uri())
        .list_users(ListUsers::default())
        .map(|user| user.unwrap().id)
        .collect()
        .await;

    assert_eq!(ids, ["u1", "u2", "u5"]);
}

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

    let user = client_for(server.uri())
        .upsert_user("crm-42")
        .send()
        .await
        .unwrap();

    assert_eq!(user.id, "crm-42");
    assert_eq!(requests(&server).await.len(), 2);
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
async fn when_a_group_is_upserted_then_post_groups_carries_the_id_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/groups"))
        .and(body_json(
            json!({"id": "acme", "attributes": {"name": "Acme Inc"}}),
        ))
        .respond_with(ok_json(fixture("group.json")))
        .expect(1)
        .mount(&server)
        .await;

    let group = client_for(server.uri())
        .upsert_group("acme")
        .attribute("name", "Acme Inc")
        .send()
        .await
        .unwrap();

    assert_eq!(group.attributes["plan"], json!("enterprise"));
}

#[tokio::test]
async fn when_ids_have_reserved_characters_then_they_are_percent_encoded_in_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(fixture("user.json")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    let client = client_for(server.uri());
    client.get_user("a/b c?d#e+f%é").await.unwrap();
    client.delete_user("../admin").await.unwrap();

    let paths: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["/users/a%2Fb%20c%3Fd%23e%2Bf%25%C3%A9", "/users/..%2Fadmin"]
    );
}

#[tokio::test]
async fn when_an_id_is_empty_or_a_dot_segment_then_nothing_is_sent() {
    let server = MockServer::start().await;
    let client = client_for(server.uri());

    for id in ["", ".", ".."] {
        let error = client.get_user(id).await.unwrap_err();
        assert!(
            matches!(error, UserflowError::InvalidRequest { .. }),
            "{id}"
        );
    }
    let error = client.upsert_user("").send().await.unwrap_err();
    assert!(matches!(error, UserflowError::InvalidRequest { .. }));
    let error = client
        .track_event("", EventSubject::User("crm-42".into()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, UserflowError::InvalidRequest { .. }));

    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn when_the_base_url_has_a_prefix_and_trailing_slash_then_paths_join_cleanly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/userflow/users"))
        .respond_with(ok_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    let client = client_for(format!("{}/userflow//", server.uri()));
    assert_eq!(client.base_url(), format!("{}/userflow", server.uri()));
    client.upsert_user("crm-42").send().await.unwrap();
}

#[test]
fn when_a_region_is_chosen_then_the_base_url_is_userflows_host() {
    let http = http_client(HttpTimeouts::default());
    let us = UserflowConfig::for_region(Region::Us, API_KEY.to_owned().into());
    let eu = UserflowConfig::for_region(Region::Eu, API_KEY.to_owned().into());
    assert_eq!(us.base_url, "https://api.userflow.com");
    assert_eq!(eu.base_url, "https://api.eu.userflow.com");
    assert_eq!(
        UserflowClient::new(eu, http.clone()).unwrap().base_url(),
        "https://api.eu.userflow.com"
    );
    assert_eq!(
        UserflowClient::new(us, http).unwrap().base_url(),
        "https://api.userflow.com"
    );
}

#[test]
fn when_the_api_key_is_empty_then_the_client_is_misconfigured() {
    let config = UserflowConfig::for_region(Region::Us, String::new().into());
    let error = UserflowClient::new(config, http_client(HttpTimeouts::default())).unwrap_err();
    assert_eq!(error.class(), FailureClass::Misconfigured);
}

#[test]
fn when_a_config_is_debug_printed_then_the_key_is_redacted() {
    let shown = format!("{:?}", config("https://api.userflow.com"));
    assert!(!shown.contains(API_KEY), "{shown}");
    let client = client_for("https://api.userflow.com");
    let shown = format!("{client:?}");
    assert!(!shown.contains(API_KEY), "{shown}");
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
