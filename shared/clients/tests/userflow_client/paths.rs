//! Groups, path encoding, base URLs, regions and configuration.

use super::*;

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

    client_for(server.uri())
        .upsert_group("acme")
        .attribute("name", "Acme Inc")
        .send()
        .await
        .unwrap();

    assert_eq!(requests(&server).await.len(), 1);
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
async fn when_an_id_holds_a_control_character_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ok_json(fixture("user.json")))
        .expect(0)
        .mount(&server)
        .await;
    let client = client_for(server.uri());

    for id in [
        "crm\n42",
        "crm\r42",
        "crm\0-42",
        "\tcrm42",
        "crm42\u{7f}",
        "crm\u{85}42",
    ] {
        let in_group = |group: &str| EventSubject::UserInGroup {
            user_id: "ok".into(),
            group_id: group.into(),
        };
        let outcomes = [
            ("upsert user", client.upsert_user(id).send().await.map(drop)),
            (
                "upsert user, group",
                client
                    .upsert_user("ok")
                    .groups([GroupUpsert::new(id)])
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "upsert user, membership",
                client
                    .upsert_user("ok")
                    .memberships([Membership::new(GroupUpsert::new(id))])
                    .send()
                    .await
                    .map(drop),
            ),
            (
                "upsert group",
                client.upsert_group(id).send().await.map(drop),
            ),
            ("get user", client.get_user(id).await.map(drop)),
            (
                "get user, memberships",
                client.get_user_with_memberships(id).await.map(drop),
            ),
            ("delete user", client.delete_user(id).await),
            ("get group", client.get_group(id).await.map(drop)),
            ("delete group", client.delete_group(id).await),
            (
                "event for the user",
                client
                    .track_event("signed_up", EventSubject::User(id.into()))
                    .send()
                    .await,
            ),
            (
                "event for the group",
                client
                    .track_event("signed_up", EventSubject::Group(id.into()))
                    .send()
                    .await,
            ),
            (
                "event in the group",
                client.track_event("signed_up", in_group(id)).send().await,
            ),
        ];
        for (call, outcome) in outcomes {
            let error = outcome.expect_err(call);
            assert!(
                matches!(error, UserflowError::InvalidRequest { .. }),
                "{call} {id:?}: {error:?}"
            );
            assert_eq!(error.class(), FailureClass::Permanent, "{call}");
            let shown = error.to_string();
            assert!(shown.contains("control character"), "{call}: {shown}");
            assert!(
                !shown.contains("crm"),
                "{call}: the id is not quoted: {shown}"
            );
        }
    }

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
