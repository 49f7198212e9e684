//! The Braze SCIM client against a wiremock server: headers, the userName filter, status
//! classification with Braze's text/html error bodies, id spelling aliases, PUT shape.

mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use relay_clients::braze::scim::{
    AppGroupPermissions, NewScimUser, Permissions, RoleRef, ScimClient, ScimConfig, ScimError,
    ScimName, ScimUser, ScimUserUpdate,
};
use relay_clients::upstream::{FailureClass, HttpTimeouts, Rate, RetryPolicy, http_client};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "scim-token-0123456789";
const ORIGIN: &str = "relay.example.com";
const USER_ID: &str = "dfa245b7-24195aec-887bb3ad-602b3340";

fn fixture_text(name: &str) -> String {
    support::fixture_text("scim", name)
}

fn fixture(name: &str) -> Value {
    support::fixture_json("scim", name)
}

fn client_for(base_url: impl Into<String>) -> ScimClient {
    let config = ScimConfig {
        rate: Rate::per_second(NonZeroU32::new(1000).unwrap()),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            deadline: Duration::from_secs(5),
        },
        ..ScimConfig::new(base_url, TOKEN.to_owned().into(), ORIGIN)
    };
    ScimClient::new(config, http_client(HttpTimeouts::default())).unwrap()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn user_path() -> String {
    format!("/scim/v2/Users/{USER_ID}")
}

/// Braze sends SCIM errors as JSON labelled text/html.
fn html_error(status: u16, fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(fixture_text(fixture_name), "text/html")
}

fn new_user() -> NewScimUser {
    NewScimUser {
        user_name: "ada@example.com".into(),
        name: ScimName::new("Ada", "Lovelace"),
        department: "finance".into(),
        permissions: None,
    }
}

#[tokio::test]
async fn when_any_method_is_called_then_auth_origin_and_content_type_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("list_empty.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("user.json")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    let client = client_for(server.uri());
    assert!(
        client
            .find_by_user_name("ada@example.com")
            .await
            .unwrap()
            .is_none()
    );
    client.get(USER_ID).await.unwrap();
    client.create(&new_user()).await.unwrap();
    let update = ScimUserUpdate {
        name: ScimName::new("Ada", "Lovelace"),
        department: "finance".into(),
        permissions: Permissions::default(),
    };
    client.replace(USER_ID, &update).await.unwrap();
    client.delete(USER_ID).await.unwrap();

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 5);
    for request in &sent {
        let what = format!("{} {}", request.method, request.url.path());
        let value = |name| request.headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(
            value("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{what}"
        );
        assert_eq!(value("x-request-origin"), Some(ORIGIN), "{what}");
        assert_eq!(value("content-type"), Some("application/json"), "{what}");
    }
}

#[tokio::test]
async fn when_finding_by_email_then_the_filter_is_exactly_username_eq_quoted_email() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param(
            "filter",
            r#"userName eq "ada+ops@example.com""#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("list_one.json")))
        .expect(1)
        .mount(&server)
        .await;

    let user = client_for(server.uri())
        .find_by_user_name("ada+ops@example.com")
        .await
        .unwrap()
        .expect("one match");

    assert_eq!(user.id, USER_ID);
    let sent = requests(&server).await;
    // Spaces as %20 and the plus sign as %2B, so no server reads "+" as a space.
    assert_eq!(
        sent[0].url.query(),
        Some("filter=userName%20eq%20%22ada%2Bops%40example.com%22")
    );
}

#[tokio::test]
async fn when_the_list_holds_another_user_name_then_find_returns_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("list_one.json")))
        .mount(&server)
        .await;

    let found = client_for(server.uri())
        .find_by_user_name("someone-else@example.com")
        .await
        .unwrap();

    assert!(found.is_none());
}

#[tokio::test]
async fn when_the_user_exists_then_create_is_a_conflict_with_braze_detail() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(html_error(409, "error_409.json"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .create(&new_user())
        .await
        .unwrap_err();

    match &error {
        ScimError::Conflict { detail } => assert_eq!(
            detail.as_deref(),
            Some("User already exists in the database.")
        ),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(error.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_create_succeeds_then_the_body_has_the_user_schema_and_user_name() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "department": "finance",
            "permissions": {
                "companyPermissions": [],
                "roles": [{"roleName": "Analyst"}],
                "appGroup": [{"appGroupName": "Some Workspace", "appGroupPermissions": ["basic_access"]}]
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    let user = NewScimUser {
        permissions: Some(Permissions {
            company_permissions: vec![],
            roles: vec![RoleRef::by_name("Analyst")],
            app_group: vec![AppGroupPermissions {
                app_group_name: Some("Some Workspace".into()),
                app_group_permissions: vec!["basic_access".into()],
                ..AppGroupPermissions::default()
            }],
        }),
        ..new_user()
    };
    let created = client_for(server.uri())
        .create(&user)
        .await
        .unwrap()
        .expect("the answer is the user");

    assert_eq!(created.user_name, "ada@example.com");
}

#[tokio::test]
async fn when_create_gets_a_500_then_it_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .create(&new_user())
        .await
        .unwrap_err();

    assert!(matches!(error, ScimError::Upstream(_)), "{error:?}");
    assert_eq!(error.class(), FailureClass::Transient);
}

#[tokio::test]
async fn when_a_404_comes_as_text_html_then_it_is_not_found_with_the_detail() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(html_error(404, "error_404.json"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri()).get(USER_ID).await.unwrap_err();

    match &error {
        ScimError::NotFound { detail } => assert_eq!(detail.as_deref(), Some("User not found")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(error.detail(), Some("User not found"));
}

#[tokio::test]
async fn when_a_404_body_is_real_html_then_it_is_still_not_found_without_detail() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(user_path()))
        .respond_with(
            ResponseTemplate::new(404).set_body_raw("<html>Not Found</html>", "text/html"),
        )
        .mount(&server)
        .await;

    let error = client_for(server.uri()).delete(USER_ID).await.unwrap_err();

    assert!(
        matches!(error, ScimError::NotFound { detail: None }),
        "{error:?}"
    );
}

#[tokio::test]
async fn when_braze_answers_401_then_the_error_is_unauthorized_and_names_the_causes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(html_error(401, "error_401.json"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_for(server.uri()).get(USER_ID).await.unwrap_err();

    assert!(matches!(error, ScimError::Unauthorized { .. }), "{error:?}");
    assert_eq!(error.class(), FailureClass::Misconfigured);
    let shown = error.to_string();
    for cause in ["token", "X-Request-Origin", "IP"] {
        assert!(shown.contains(cause), "{shown}");
    }
    assert!(!shown.contains(TOKEN));
}

#[tokio::test]
async fn when_braze_answers_400_then_the_error_is_bad_request_with_detail() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(html_error(400, "error_400.json"))
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .find_by_user_name("ada@example.com")
        .await
        .unwrap_err();

    match &error {
        ScimError::BadRequest { detail } => assert_eq!(detail.as_deref(), Some("Invalid filter")),
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn when_ids_are_spelled_id_or_capital_id_then_both_decode() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("user_other_id_spelling.json")),
        )
        .mount(&server)
        .await;

    let fetched = client_for(server.uri()).get(USER_ID).await.unwrap();
    let documented: ScimUser = serde_json::from_str(&fixture_text("user.json")).unwrap();

    for user in [&fetched, &documented] {
        let permissions = &user.permissions;
        assert_eq!(
            permissions.roles[0].role_id.as_deref(),
            Some("23125dad23dfaae7")
        );
        let app_group = &permissions.app_group[0];
        assert_eq!(
            app_group.app_group_id.as_deref(),
            Some("241adcd25789fabcded")
        );
        assert_eq!(
            app_group.app_group_permission_sets[0]
                .app_group_permission_set_id
                .as_deref(),
            Some("dfa385109bc38ab")
        );
        assert_eq!(
            app_group.team[0].team_id.as_deref(),
            Some("2519dafcdba238ae7")
        );
        assert_eq!(app_group.team[0].team_permissions, ["admin"]);
    }
    assert_eq!(fetched.last_sign_in_at, None);
    assert_eq!(
        documented.last_sign_in_at.as_deref(),
        Some("Thursday, January 1, 1970 12:00:00 AM")
    );
    assert_eq!(documented.name, ScimName::new("Ada", "Lovelace"));
}

#[tokio::test]
async fn when_a_user_is_replaced_then_the_put_body_has_every_field_but_user_name() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(user_path()))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    let update = ScimUserUpdate {
        name: ScimName::new("Ada", "King"),
        department: "engineering".into(),
        permissions: Permissions {
            company_permissions: vec!["manage_company_settings".into()],
            ..Permissions::default()
        },
    };
    client_for(server.uri())
        .replace(USER_ID, &update)
        .await
        .unwrap();

    let body: Value = serde_json::from_slice(&requests(&server).await[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "name": {"givenName": "Ada", "familyName": "King"},
            "department": "engineering",
            "permissions": {"companyPermissions": ["manage_company_settings"], "appGroup": []}
        })
    );
    assert!(body.get("userName").is_none());
}

#[tokio::test]
async fn when_delete_answers_204_or_200_then_both_are_success() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(204))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;

    let client = client_for(server.uri());
    client.delete(USER_ID).await.unwrap();
    client.delete(USER_ID).await.unwrap();
}

#[tokio::test]
async fn when_a_get_meets_a_503_then_it_is_retried_within_the_small_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw("<html>maintenance</html>", "text/html"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .mount(&server)
        .await;

    let user = client_for(server.uri()).get(USER_ID).await.unwrap();

    assert_eq!(user.id, USER_ID);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn when_the_base_url_has_a_trailing_slash_then_scim_v2_is_appended_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    let client = client_for(format!("{}/", server.uri()));
    assert_eq!(
        client.users_url(),
        format!("{}/scim/v2/Users", server.uri())
    );
    client.get(USER_ID).await.unwrap();
}

#[tokio::test]
async fn when_an_id_has_reserved_characters_then_it_is_percent_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/a%2Fb%20c"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user.json")))
        .expect(1)
        .mount(&server)
        .await;

    client_for(server.uri()).get("a/b c").await.unwrap();
}

#[test]
fn when_the_origin_or_token_is_missing_then_the_client_is_misconfigured() {
    let http = http_client(HttpTimeouts::default());
    let no_origin = ScimConfig::new("https://rest.iad-01.braze.com", TOKEN.to_owned().into(), "");
    let no_token = ScimConfig::new(
        "https://rest.iad-01.braze.com",
        String::new().into(),
        ORIGIN,
    );
    for config in [no_origin, no_token] {
        let error = ScimClient::new(config, http.clone()).unwrap_err();
        assert!(
            matches!(error, ScimError::InvalidConfig { .. }),
            "{error:?}"
        );
        assert_eq!(error.class(), FailureClass::Misconfigured);
    }
}

#[tokio::test]
async fn when_a_2xx_body_has_the_wrong_shape_then_decode_names_the_path_but_not_the_value() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(user_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": USER_ID, "userName": 42})),
        )
        .mount(&server)
        .await;

    let error = client_for(server.uri()).get(USER_ID).await.unwrap_err();

    match &error {
        ScimError::Decode { source, .. } => assert_eq!(source.path, "userName"),
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(!error.to_string().contains("42"), "{error}");
}
