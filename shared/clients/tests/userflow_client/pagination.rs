//! Listing users: cursor pagination, page sizes, failures mid-stream.

use super::*;

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
