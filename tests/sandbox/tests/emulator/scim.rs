//! Braze SCIM v2 under `/scim/v2/Users`.

use reqwest::Method;
use sandbox::{Bucket, RateLimit};
use serde_json::{Value, json};

use crate::common::{Env, send};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn new_user(email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": "Test", "familyName": "User"},
        "department": "finance",
        "permissions": {"companyPermissions": ["manage_company_settings"]},
    })
}

fn full_update() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "name": {"givenName": "New", "familyName": "Name"},
        "department": "engineering",
        "permissions": {"companyPermissions": []},
    })
}

async fn create(env: &Env, email: &str) -> String {
    let answer = env
        .scim(Method::POST, "/scim/v2/Users", Some(new_user(email)))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json()["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn when_token_or_origin_is_wrong_then_401_with_a_scim_error() {
    let env = Env::start().await;
    let url = format!("{}/scim/v2/Users", env.info.braze);
    let no_origin = send(
        env.http
            .post(&url)
            .bearer_auth(&env.info.scim_token)
            .header("content-type", "application/json")
            .body(new_user("a@example.com").to_string()),
    )
    .await;
    assert_eq!(no_origin.status, 401);
    assert_eq!(no_origin.json()["schemas"][0], ERROR_SCHEMA);
    let rest_key = send(
        env.http
            .post(&url)
            .bearer_auth(&env.info.braze_key)
            .header("x-request-origin", &env.info.scim_origin)
            .body(new_user("a@example.com").to_string()),
    )
    .await;
    assert_eq!(rest_key.status, 401);
    assert!(env.admin.scim_users().await.expect("admin").is_empty());
}

#[tokio::test]
async fn when_a_user_is_created_then_201_with_id_and_dates() {
    let env = Env::start().await;
    let answer = env
        .scim(
            Method::POST,
            "/scim/v2/Users",
            Some(new_user("a@example.com")),
        )
        .await;
    assert_eq!(answer.status, 201);
    let json = answer.json();
    assert_eq!(json["userName"], "a@example.com");
    assert_eq!(json["id"].as_str().expect("id").len(), 35);
    assert!(json["createdAt"].is_string());
    assert!(json["lastSignInAt"].is_string());
    assert_eq!(json["department"], "finance");
    assert_eq!(env.admin.scim_users().await.expect("admin").len(), 1);
}

#[tokio::test]
async fn when_username_already_exists_then_409_with_braze_detail() {
    let env = Env::start().await;
    create(&env, "a@example.com").await;
    let answer = env
        .scim(
            Method::POST,
            "/scim/v2/Users",
            Some(new_user("A@example.com")),
        )
        .await;
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.json(),
        json!({"schemas": [ERROR_SCHEMA], "detail": "User already exists in the database.", "status": 409})
    );
}

#[tokio::test]
async fn when_create_lacks_a_required_attribute_then_400_naming_it() {
    let env = Env::start().await;
    let mut body = new_user("a@example.com");
    body.as_object_mut().expect("object").remove("department");
    let answer = env.scim(Method::POST, "/scim/v2/Users", Some(body)).await;
    assert_eq!(answer.status, 400);
    assert!(answer.detail().contains("department"));
}

#[tokio::test]
async fn when_user_is_unknown_then_get_answers_404_as_text_html() {
    let env = Env::start().await;
    let answer = env.scim(Method::GET, "/scim/v2/Users/nope", None).await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    let body: Value = serde_json::from_str(&answer.text).expect("JSON text despite the type");
    assert_eq!(body["status"], 404);
    assert_eq!(body["schemas"][0], ERROR_SCHEMA);
}

#[tokio::test]
async fn when_user_exists_then_get_by_id_returns_it() {
    let env = Env::start().await;
    let id = create(&env, "a@example.com").await;
    let answer = env
        .scim(Method::GET, &format!("/scim/v2/Users/{id}"), None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["userName"], "a@example.com");
}

#[tokio::test]
async fn when_filtering_by_username_then_a_list_response_and_any_other_filter_is_400() {
    let env = Env::start().await;
    let id = create(&env, "a@example.com").await;
    let found = env
        .scim(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22a%40example.com%22",
            None,
        )
        .await;
    assert_eq!(found.status, 200);
    let json = found.json();
    assert_eq!(
        json["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(json["totalResults"], 1);
    assert_eq!(json["Resources"][0]["id"], id.as_str());
    let none = env
        .scim(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22b%40example.com%22",
            None,
        )
        .await;
    assert_eq!(none.json()["totalResults"], 0);
    let other = env
        .scim(
            Method::GET,
            "/scim/v2/Users?filter=department%20eq%20%22finance%22",
            None,
        )
        .await;
    assert_eq!(other.status, 400);
    let missing = env.scim(Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn when_put_lacks_any_required_attribute_then_400_naming_it() {
    let env = Env::start().await;
    let id = create(&env, "a@example.com").await;
    for field in ["schemas", "name", "department", "permissions"] {
        let mut body = full_update();
        body.as_object_mut().expect("object").remove(field);
        let answer = env
            .scim(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(body))
            .await;
        assert_eq!(answer.status, 400, "{field}");
        assert!(answer.detail().contains(field));
    }
    let stored = env.admin.scim_users().await.expect("admin");
    assert_eq!(stored[0].department, json!("finance"));
}

#[tokio::test]
async fn when_put_changes_username_then_400_and_otherwise_the_user_is_replaced() {
    let env = Env::start().await;
    let id = create(&env, "a@example.com").await;
    let mut body = full_update();
    body["userName"] = json!("b@example.com");
    let refused = env
        .scim(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(body))
        .await;
    assert_eq!(refused.status, 400);
    let ok = env
        .scim(
            Method::PUT,
            &format!("/scim/v2/Users/{id}"),
            Some(full_update()),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["department"], "engineering");
    assert_eq!(ok.json()["userName"], "a@example.com");
    let unknown = env
        .scim(Method::PUT, "/scim/v2/Users/nope", Some(full_update()))
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn when_deleting_then_204_and_a_second_delete_is_404() {
    let env = Env::start().await;
    let id = create(&env, "a@example.com").await;
    let path = format!("/scim/v2/Users/{id}");
    assert_eq!(env.scim(Method::DELETE, &path, None).await.status, 204);
    assert_eq!(env.scim(Method::DELETE, &path, None).await.status, 404);
    assert!(env.admin.scim_users().await.expect("admin").is_empty());
}

#[tokio::test]
async fn when_patch_is_sent_then_405() {
    let env = Env::start().await;
    let id = create(&env, "a@example.com").await;
    let answer = env
        .scim(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({"Operations": []})),
        )
        .await;
    assert_eq!(answer.status, 405);
}

#[tokio::test]
async fn when_the_daily_scim_limit_is_used_up_then_429() {
    let env = Env::start().await;
    let settings = env.admin.settings().await.expect("settings");
    assert_eq!(
        settings.rate_limits[&Bucket::Scim],
        Some(RateLimit {
            limit: 5_000,
            window_secs: 86_400
        })
    );
    env.admin
        .set_rate_limit(
            Bucket::Scim,
            Some(RateLimit {
                limit: 2,
                window_secs: 86_400,
            }),
        )
        .await
        .expect("set");
    create(&env, "a@example.com").await;
    create(&env, "b@example.com").await;
    let answer = env
        .scim(
            Method::POST,
            "/scim/v2/Users",
            Some(new_user("c@example.com")),
        )
        .await;
    assert_eq!(answer.status, 429);
    assert!(answer.header("x-ratelimit-retry-after").is_some());
    assert_eq!(env.admin.scim_users().await.expect("admin").len(), 2);
}
