//! `/users/delete`, `/users/export/ids`, `/users/merge`, `/users/alias/new`, `/users/identify`.

use sandbox::BrazeUserQuery;
use serde_json::{Value, json};

use crate::common::Env;

async fn track(env: &Env, attributes: Value) {
    let answer = env
        .braze("/users/track", json!({ "attributes": attributes }))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

async fn alias_only(env: &Env, name: &str, email: &str) {
    let answer = env
        .braze(
            "/users/alias/new",
            json!({"user_aliases": [{"alias_name": name, "alias_label": "crm"}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    track(
        env,
        json!([{"user_alias": {"alias_name": name, "alias_label": "crm"}, "email": email}]),
    )
    .await;
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}")).collect()
}

#[tokio::test]
async fn when_deleting_by_external_ids_then_deleted_counts_the_users_found() {
    let env = Env::start().await;
    track(&env, json!([{"external_id": "a"}, {"external_id": "b"}])).await;
    let answer = env
        .braze(
            "/users/delete",
            json!({"external_ids": ["a", "b", "missing"]}),
        )
        .await;
    assert!(answer.status / 100 == 2, "{}", answer.status);
    assert_eq!(answer.json(), json!({"deleted": 2, "message": "success"}));
    assert_eq!(env.braze_count().await, 0);
}

#[tokio::test]
async fn when_delete_mixes_identifier_types_then_400_and_nothing_is_deleted() {
    let env = Env::start().await;
    track(&env, json!([{"external_id": "a"}])).await;
    let braze_id = env.braze_user("a").await.expect("a").braze_id;
    let answer = env
        .braze(
            "/users/delete",
            json!({"external_ids": ["a"], "braze_ids": [braze_id]}),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.message().contains("one identifier type"));
    assert!(env.braze_user("a").await.is_some());
}

#[tokio::test]
async fn when_delete_has_more_than_50_identifiers_then_400() {
    let env = Env::start().await;
    track(&env, json!([{"external_id": "u0"}])).await;
    let answer = env
        .braze("/users/delete", json!({"external_ids": ids(51)}))
        .await;
    assert_eq!(answer.status, 400);
    assert!(env.braze_user("u0").await.is_some());
    let ok = env
        .braze("/users/delete", json!({"external_ids": ids(50)}))
        .await;
    assert_eq!(ok.json()["deleted"], 1);
}

#[tokio::test]
async fn when_delete_has_no_identifiers_then_400() {
    let env = Env::start().await;
    assert_eq!(env.braze("/users/delete", json!({})).await.status, 400);
}

#[tokio::test]
async fn when_deleting_by_alias_and_by_email_then_the_targeted_profiles_go() {
    let env = Env::start().await;
    alias_only(&env, "lead", "x@example.com").await;
    track(
        &env,
        json!([{"external_id": "known", "email": "x@example.com"}]),
    )
    .await;
    let by_alias = env
        .braze(
            "/users/delete",
            json!({"user_aliases": [{"alias_name": "lead", "alias_label": "crm"}]}),
        )
        .await;
    assert_eq!(by_alias.json()["deleted"], 1);
    let by_email = env
        .braze(
            "/users/delete",
            json!({"email_addresses": [{"email": "x@example.com", "prioritization": ["identified"]}]}),
        )
        .await;
    assert_eq!(by_email.json()["deleted"], 1);
    assert_eq!(env.braze_count().await, 0);
}

#[tokio::test]
async fn when_export_ids_lacks_fields_to_export_then_400() {
    let env = Env::start().await;
    let answer = env
        .braze("/users/export/ids", json!({"external_ids": ["a"]}))
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.message().contains("fields_to_export"));
}

#[tokio::test]
async fn when_export_ids_then_only_requested_fields_come_back_and_unknown_ids_are_listed() {
    let env = Env::start().await;
    track(
        &env,
        json!([{"external_id": "a", "first_name": "Ada", "email": "a@example.com", "plan": "pro", "seats": "3"}]),
    )
    .await;
    let answer = env
        .braze(
            "/users/export/ids",
            json!({"external_ids": ["a", "zz"], "fields_to_export": ["external_id", "email", "custom_attributes", "braze_id", "home_city"]}),
        )
        .await;
    assert!(answer.status / 100 == 2);
    let json = answer.json();
    assert_eq!(json["message"], "success");
    let user = json["users"][0].as_object().expect("user");
    let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec!["braze_id", "custom_attributes", "email", "external_id"]
    );
    assert_eq!(
        user["custom_attributes"],
        json!({"plan": "pro", "seats": "3"})
    );
    assert_eq!(json["invalid_user_ids"], json!(["zz"]));
}

#[tokio::test]
async fn when_export_ids_by_email_then_every_profile_with_it_comes_back_including_alias_only() {
    let env = Env::start().await;
    track(
        &env,
        json!([{"external_id": "a", "email": "dup@example.com"}]),
    )
    .await;
    alias_only(&env, "lead-a", "DUP@example.com").await;
    alias_only(&env, "lead-b", "other@example.com").await;
    let answer = env
        .braze(
            "/users/export/ids",
            json!({"email_address": "dup@example.com", "fields_to_export": ["external_id", "user_aliases", "braze_id"]}),
        )
        .await;
    let users = answer.json()["users"].as_array().expect("users").clone();
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0]["external_id"], "a");
    assert!(users[1].get("external_id").is_none());
    assert_eq!(users[1]["user_aliases"][0]["alias_name"], "lead-a");
}

#[tokio::test]
async fn when_export_ids_has_more_than_50_or_mixes_single_lookups_then_400() {
    let env = Env::start().await;
    let over = env
        .braze(
            "/users/export/ids",
            json!({"external_ids": ids(51), "fields_to_export": ["external_id"]}),
        )
        .await;
    assert_eq!(over.status, 400);
    let mixed = env
        .braze(
            "/users/export/ids",
            json!({"external_ids": ["a"], "email_address": "a@example.com", "fields_to_export": ["external_id"]}),
        )
        .await;
    assert_eq!(mixed.status, 400);
    let two_singles = env
        .braze(
            "/users/export/ids",
            json!({"phone": "+1", "braze_id": "x", "fields_to_export": ["external_id"]}),
        )
        .await;
    assert_eq!(two_singles.status, 400);
}

#[tokio::test]
async fn when_merging_then_the_kept_profile_gains_missing_fields_and_the_merged_one_is_removed() {
    let env = Env::start().await;
    track(
        &env,
        json!([
            {"external_id": "keep", "first_name": "Keep", "plan": "pro"},
            {"external_id": "old", "first_name": "Old", "plan": "free", "city_code": "LYS"},
        ]),
    )
    .await;
    let answer = env
        .braze(
            "/users/merge",
            json!({"merge_updates": [{"identifier_to_merge": {"external_id": "old"}, "identifier_to_keep": {"external_id": "keep"}}]}),
        )
        .await;
    assert_eq!(answer.status, 202);
    assert_eq!(answer.json()["message"], "success");
    assert!(env.braze_user("old").await.is_none());
    let keep = env.braze_user("keep").await.expect("kept");
    assert_eq!(keep.attributes["first_name"], "Keep");
    assert_eq!(keep.custom_attributes["plan"], "pro");
    assert_eq!(keep.custom_attributes["city_code"], "LYS");
}

#[tokio::test]
async fn when_merge_has_more_than_50_updates_then_400() {
    let env = Env::start().await;
    let update = json!({"identifier_to_merge": {"external_id": "a"}, "identifier_to_keep": {"external_id": "b"}});
    let answer = env
        .braze("/users/merge", json!({"merge_updates": vec![update; 51]}))
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn when_alias_pair_already_exists_then_alias_new_answers_success_and_changes_nothing() {
    let env = Env::start().await;
    track(&env, json!([{"external_id": "a"}, {"external_id": "b"}])).await;
    let first = env
        .braze(
            "/users/alias/new",
            json!({"user_aliases": [{"external_id": "a", "alias_name": "n", "alias_label": "l"}]}),
        )
        .await;
    assert_eq!(first.status, 201);
    let again = env
        .braze(
            "/users/alias/new",
            json!({"user_aliases": [{"external_id": "b", "alias_name": "n", "alias_label": "l"}]}),
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(
        again.json(),
        json!({"aliases_processed": 1, "message": "success"})
    );
    let a = env.braze_user("a").await.expect("a");
    let b = env.braze_user("b").await.expect("b");
    assert_eq!(a.user_aliases.len(), 1);
    assert!(b.user_aliases.is_empty());
}

#[tokio::test]
async fn when_alias_new_names_an_unknown_external_id_then_success_and_nothing_is_added() {
    let env = Env::start().await;
    let answer = env
        .braze(
            "/users/alias/new",
            json!({"user_aliases": [{"external_id": "nobody", "alias_name": "n", "alias_label": "l"}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.json()["aliases_processed"], 1);
    assert_eq!(env.braze_count().await, 0);
}

#[tokio::test]
async fn when_alias_new_has_no_external_id_then_an_alias_only_user_is_created() {
    let env = Env::start().await;
    env.braze(
        "/users/alias/new",
        json!({"user_aliases": [{"alias_name": "anon-1", "alias_label": "web"}]}),
    )
    .await;
    let page = env
        .admin
        .braze_users(&BrazeUserQuery {
            alias_name: Some("anon-1".into()),
            ..Default::default()
        })
        .await
        .expect("admin");
    assert_eq!(page.total, 1);
    assert!(page.users[0].external_id.is_none());
    let over = env
        .braze(
            "/users/alias/new",
            json!({"user_aliases": vec![json!({"alias_name": "x", "alias_label": "y"}); 51]}),
        )
        .await;
    assert_eq!(over.status, 400);
}

#[tokio::test]
async fn when_identifying_an_alias_only_user_then_it_gets_the_external_id() {
    let env = Env::start().await;
    alias_only(&env, "anon", "p@example.com").await;
    let answer = env
        .braze(
            "/users/identify",
            json!({"aliases_to_identify": [{"external_id": "p1", "user_alias": {"alias_name": "anon", "alias_label": "crm"}}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    let user = env.braze_user("p1").await.expect("identified");
    assert_eq!(user.attributes["email"], "p@example.com");
    assert_eq!(env.braze_count().await, 1);
}

#[tokio::test]
async fn when_identify_alias_name_does_not_match_then_success_and_nothing_changes() {
    let env = Env::start().await;
    alias_only(&env, "anon", "p@example.com").await;
    let answer = env
        .braze(
            "/users/identify",
            json!({"aliases_to_identify": [{"external_id": "p1", "user_alias": {"alias_name": "ANON", "alias_label": "crm"}}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.json()["message"], "success");
    assert!(env.braze_user("p1").await.is_none());
}

#[tokio::test]
async fn when_identifying_into_an_existing_external_id_then_the_alias_profile_is_merged() {
    let env = Env::start().await;
    track(&env, json!([{"external_id": "p1", "first_name": "P"}])).await;
    alias_only(&env, "anon", "p@example.com").await;
    env.braze(
        "/users/identify",
        json!({"aliases_to_identify": [{"external_id": "p1", "user_alias": {"alias_name": "anon", "alias_label": "crm"}}]}),
    )
    .await;
    assert_eq!(env.braze_count().await, 1);
    let user = env.braze_user("p1").await.expect("p1");
    assert_eq!(user.attributes["email"], "p@example.com");
    assert_eq!(user.user_aliases[0].alias_name, "anon");
}
