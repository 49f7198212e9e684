//! `/users/track` and the checks every Braze REST request goes through.

use serde_json::{Value, json};

use crate::common::{Env, send};

fn attrs(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"external_id": format!("u{i}"), "first_name": "A"}))
        .collect()
}

#[tokio::test]
async fn when_key_is_missing_or_wrong_then_401_with_a_braze_message_and_rate_headers() {
    let env = Env::start().await;
    let url = format!("{}/users/track", env.info.braze);
    let body = json!({"attributes": attrs(1)}).to_string();
    let missing = send(
        env.http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone()),
    )
    .await;
    assert_eq!(missing.status, 401);
    assert!(
        missing.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("API key"))
    );
    assert!(missing.header("x-ratelimit-limit").is_some());
    let wrong = send(
        env.http
            .post(&url)
            .bearer_auth("not-the-key")
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert!(env.braze_user("u0").await.is_none());
}

#[tokio::test]
async fn when_content_type_is_not_json_then_415() {
    let env = Env::start().await;
    let answer = send(
        env.http
            .post(format!("{}/users/track", env.info.braze))
            .bearer_auth(&env.info.braze_key)
            .header("content-type", "text/plain")
            .body(json!({"attributes": attrs(1)}).to_string()),
    )
    .await;
    assert_eq!(answer.status, 415);
    let no_header = send(
        env.http
            .post(format!("{}/users/track", env.info.braze))
            .bearer_auth(&env.info.braze_key)
            .body(json!({"attributes": attrs(1)}).to_string()),
    )
    .await;
    assert_eq!(no_header.status, 415);
    let with_charset = send(
        env.http
            .post(format!("{}/users/track", env.info.braze))
            .bearer_auth(&env.info.braze_key)
            .header("content-type", "application/json; charset=utf-8")
            .body(json!({"attributes": attrs(1)}).to_string()),
    )
    .await;
    assert_eq!(with_charset.status, 201);
}

#[tokio::test]
async fn when_path_has_a_trailing_slash_then_403_access_denied_for_every_route() {
    let env = Env::start().await;
    for path in [
        "/users/track/",
        "/users/delete/",
        "/users/export/ids/",
        "/users/export/segment/",
    ] {
        let answer = env.braze(path, json!({"attributes": attrs(1)})).await;
        assert_eq!(answer.status, 403, "{path}");
        assert_eq!(answer.json()["message"], "Access Denied");
    }
    assert!(env.braze_user("u0").await.is_none());
}

#[tokio::test]
async fn when_body_is_over_4_mb_then_413() {
    let env = Env::start().await;
    let big = "x".repeat(4_100_000);
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [{"external_id": "u", "blob": big}]}),
        )
        .await;
    assert_eq!(answer.status, 413);
    assert!(env.braze_user("u").await.is_none());
}

#[tokio::test]
async fn when_body_is_malformed_json_then_400() {
    let env = Env::start().await;
    let answer = send(env.braze_request("/users/track").body("{\"attributes\": [")).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("JSON"))
    );
}

#[tokio::test]
async fn when_route_is_unknown_then_404_and_get_on_a_route_is_405() {
    let env = Env::start().await;
    assert_eq!(env.braze("/users/nothing", json!({})).await.status, 404);
    let get = send(
        env.http
            .get(format!("{}/users/track", env.info.braze))
            .bearer_auth(&env.info.braze_key),
    )
    .await;
    assert_eq!(get.status, 405);
}

#[tokio::test]
async fn when_more_than_75_objects_combined_then_400_max_input_length_and_nothing_applied() {
    let env = Env::start().await;
    let events: Vec<Value> = (0..36)
        .map(|i| json!({"external_id": "e", "name": format!("ev{i}"), "time": "2024-01-01T00:00:00Z"}))
        .collect();
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": attrs(40), "events": events}),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["message"], "Max Input Length Exceeded");
    assert_eq!(env.braze_count().await, 0);
}

#[tokio::test]
async fn when_exactly_75_objects_then_all_are_processed() {
    let env = Env::start().await;
    let purchases = vec![json!({
        "external_id": "u0", "product_id": "p", "currency": "USD", "price": 1.5,
        "time": "2024-01-01T00:00:00Z"
    })];
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": attrs(74), "purchases": purchases}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["attributes_processed"], 74);
    assert_eq!(body["purchases_processed"], 1);
    assert!(body.get("errors").is_none());
    assert_eq!(env.braze_count().await, 74);
}

#[tokio::test]
async fn when_some_objects_are_invalid_then_errors_name_array_and_index_and_the_rest_is_applied() {
    let env = Env::start().await;
    let body = json!({
        "attributes": [
            {"external_id": "ok1", "first_name": "A"},
            {"first_name": "no identifier"},
            {"external_id": "two", "braze_id": "x"},
            {"external_id": "x".repeat(988)},
            {"external_id": "ok2", "email_subscribe": "maybe"},
            {"external_id": "ok3"},
        ],
        "events": [
            {"external_id": "ok1", "time": "2024-01-01T00:00:00Z"},
            {"external_id": "ok1", "name": "opened", "time": "2024-01-01T00:00:00Z"},
        ],
    });
    let answer = env.braze("/users/track", body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let json = answer.json();
    assert_eq!(json["message"], "success");
    assert_eq!(json["attributes_processed"], 2);
    assert_eq!(json["events_processed"], 1);
    let errors: Vec<(String, i64)> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["input_array"].as_str().expect("input_array").to_owned(),
                e["index"].as_i64().expect("index"),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("attributes".into(), 1),
            ("attributes".into(), 2),
            ("attributes".into(), 3),
            ("attributes".into(), 4),
            ("events".into(), 0),
        ]
    );
    assert_eq!(
        json["errors"][0]["type"],
        "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
    );
    assert!(
        json["errors"][2]["type"]
            .as_str()
            .expect("type")
            .contains("987")
    );
    for (id, exists) in [("ok1", true), ("ok3", true), ("two", false), ("ok2", false)] {
        let found = env.braze_user(id).await.is_some();
        assert_eq!(found, exists, "{id}");
    }
}

#[tokio::test]
async fn when_every_object_is_invalid_then_400_with_the_errors() {
    let env = Env::start().await;
    let answer = env
        .braze("/users/track", json!({"attributes": [{"first_name": "A"}]}))
        .await;
    assert_eq!(answer.status, 400);
    let json = answer.json();
    assert!(
        json["message"]
            .as_str()
            .expect("message")
            .starts_with("Valid data must be provided")
    );
    assert_eq!(json["errors"][0]["index"], 0);
}

#[tokio::test]
async fn when_external_id_is_unknown_then_a_profile_is_created_unless_update_existing_only() {
    let env = Env::start().await;
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [
                {"external_id": "new", "first_name": "Ada", "plan": "pro"},
                {"external_id": "ghost", "_update_existing_only": true, "first_name": "G"},
            ]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.json()["attributes_processed"], 2);
    let user = env.braze_user("new").await.expect("created");
    assert_eq!(user.braze_id.len(), 24);
    assert_eq!(user.attributes["first_name"], "Ada");
    assert_eq!(user.custom_attributes["plan"], "pro");
    assert!(!user.custom_attributes.contains_key("external_id"));
    assert!(env.braze_user("ghost").await.is_none());

    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "new", "_update_existing_only": true, "last_name": "L"}]}),
    )
    .await;
    let user = env.braze_user("new").await.expect("kept");
    assert_eq!(user.attributes["last_name"], "L");
    assert_eq!(user.attributes["first_name"], "Ada");
}

#[tokio::test]
async fn when_null_is_sent_then_the_attribute_is_removed_and_empty_string_is_kept() {
    let env = Env::start().await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "u", "first_name": "Ada", "plan": "pro", "nick": "a"}]}),
    )
    .await;
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [{"external_id": "u", "first_name": null, "plan": null, "nick": ""}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    let user = env.braze_user("u").await.expect("user");
    assert!(!user.attributes.contains_key("first_name"));
    assert!(!user.custom_attributes.contains_key("plan"));
    assert_eq!(user.custom_attributes["nick"], "");
}

#[tokio::test]
async fn when_user_alias_is_unknown_then_nothing_is_created_unless_update_existing_only_is_false() {
    let env = Env::start().await;
    let alias = json!({"alias_name": "lead-1", "alias_label": "crm"});
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [{"user_alias": alias, "first_name": "A"}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.json()["attributes_processed"], 1);
    assert_eq!(env.braze_count().await, 0);

    env.braze(
        "/users/track",
        json!({"attributes": [{"user_alias": alias, "_update_existing_only": false, "first_name": "A"}]}),
    )
    .await;
    let page = env
        .admin
        .braze_users(&sandbox::BrazeUserQuery {
            alias_name: Some("lead-1".into()),
            alias_label: Some("crm".into()),
            ..Default::default()
        })
        .await
        .expect("admin");
    assert_eq!(page.total, 1);
    assert!(page.users[0].external_id.is_none());
}

#[tokio::test]
async fn when_array_operators_inc_and_merge_objects_are_sent_then_they_are_applied() {
    let env = Env::start().await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "u", "tags": ["a", "b"], "logins": 2,
            "address": {"city": "Lyon", "zip": "69001"}}]}),
    )
    .await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "u", "tags": {"add": ["c"], "remove": ["a"]},
            "logins": {"inc": 3}, "address": {"zip": "69002"}, "_merge_objects": true}]}),
    )
    .await;
    let user = env.braze_user("u").await.expect("user");
    assert_eq!(user.custom_attributes["tags"], json!(["b", "c"]));
    assert_eq!(user.custom_attributes["logins"], json!(5));
    assert_eq!(
        user.custom_attributes["address"],
        json!({"city": "Lyon", "zip": "69002"})
    );
}

#[tokio::test]
async fn when_only_an_email_is_given_then_the_existing_profile_with_it_is_updated() {
    let env = Env::start().await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "u", "email": "ada@example.com"}]}),
    )
    .await;
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [{"email": "ADA@example.com", "plan": "pro"}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(env.braze_count().await, 1);
    let user = env.braze_user("u").await.expect("user");
    assert_eq!(user.custom_attributes["plan"], "pro");
}

#[tokio::test]
async fn when_events_and_purchases_are_tracked_then_they_are_stored_on_the_user() {
    let env = Env::start().await;
    let answer = env
        .braze(
            "/users/track",
            json!({
                "events": [
                    {"external_id": "u", "name": "signed_up", "time": "2024-01-01T00:00:00Z", "properties": {"src": "crm"}},
                    {"external_id": "u", "name": "signed_up", "time": "2024-01-02T00:00:00Z"},
                ],
                "purchases": [
                    {"external_id": "u", "product_id": "seat", "currency": "EUR", "price": 9.5,
                     "quantity": 2, "time": "2024-01-03T00:00:00Z"},
                    {"external_id": "u", "product_id": "seat", "currency": "EURO", "price": 1,
                     "time": "2024-01-03T00:00:00Z"},
                ],
            }),
        )
        .await;
    assert_eq!(answer.status, 201);
    let json = answer.json();
    assert_eq!(json["events_processed"], 2);
    assert_eq!(json["purchases_processed"], 1);
    assert_eq!(json["errors"][0]["input_array"], "purchases");
    let user = env.braze_user("u").await.expect("created by event");
    assert_eq!(user.events.len(), 2);
    assert_eq!(user.events[0].properties, Some(json!({"src": "crm"})));
    assert_eq!(user.purchases.len(), 1);
    assert_eq!(user.purchases[0].quantity, Some(json!(2)));
}

#[tokio::test]
async fn when_attributes_is_not_an_array_then_400() {
    let env = Env::start().await;
    let answer = env
        .braze("/users/track", json!({"attributes": {"external_id": "u"}}))
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.message().contains("attributes"));
}

#[tokio::test]
async fn when_a_custom_string_is_over_255_chars_or_an_array_over_500_items_then_that_object_fails()
{
    let env = Env::start().await;
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [
                {"external_id": "long", "bio": "x".repeat(256)},
                {"external_id": "many", "tags": vec!["t"; 501]},
                {"external_id": "fits", "bio": "x".repeat(255), "tags": vec!["t"; 500]},
            ]}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let json = answer.json();
    assert_eq!(json["attributes_processed"], 1);
    let failed: Vec<i64> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["index"].as_i64().expect("index"))
        .collect();
    assert_eq!(failed, vec![0, 1]);
    assert!(env.braze_user("long").await.is_none());
    assert!(env.braze_user("many").await.is_none());
    assert!(env.braze_user("fits").await.is_some());
}
