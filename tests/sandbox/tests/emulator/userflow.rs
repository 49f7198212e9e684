//! Userflow users, groups, memberships, events and list pagination.

use reqwest::Method;
use sandbox::{Api, Bucket, RateLimit};
use serde_json::{Value, json};

use crate::common::{Env, send};

async fn upsert(env: &Env, body: Value) -> Value {
    let answer = env.userflow(Method::POST, "/users", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

#[tokio::test]
async fn when_key_is_missing_then_401_unauthorized() {
    let env = Env::start().await;
    let answer = send(
        env.http
            .post(format!("{}/users", env.info.userflow))
            .header("content-type", "application/json")
            .body(json!({"id": "u1"}).to_string()),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"]["code"], "unauthorized");
    let braze_key = send(
        env.http
            .get(format!("{}/users/u1", env.info.userflow))
            .bearer_auth(&env.info.braze_key),
    )
    .await;
    assert_eq!(braze_key.status, 401);
}

#[tokio::test]
async fn when_version_header_is_wrong_then_400_and_the_version_sent_is_logged() {
    let env = Env::start().await;
    let answer = send(
        env.http
            .post(format!("{}/users", env.info.userflow))
            .bearer_auth(&env.info.userflow_key)
            .header("userflow-version", "2024-01-01")
            .body(json!({"id": "u1"}).to_string()),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["code"], "invalid_version");
    assert!(env.userflow_user("u1").await.is_none());
    upsert(&env, json!({"id": "u1"})).await;
    let log = env
        .admin
        .request_log(Some(Api::Userflow), 10)
        .await
        .expect("log");
    let versions: Vec<Option<&str>> = log
        .iter()
        .map(|r| r.headers.get("userflow-version").map(String::as_str))
        .collect();
    assert_eq!(versions, vec![Some("2024-01-01"), Some("2020-01-03")]);
}

#[tokio::test]
async fn when_post_users_has_no_id_then_400_invalid_params() {
    let env = Env::start().await;
    let answer = env
        .userflow(
            Method::POST,
            "/users",
            Some(json!({"attributes": {"name": "A"}})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["code"], "invalid_params");
}

#[tokio::test]
async fn when_upserting_then_attributes_merge_and_null_removes() {
    let env = Env::start().await;
    let created = upsert(
        &env,
        json!({"id": "u1", "attributes": {"name": "Ada", "email": "ada@example.com", "plan": "pro"}}),
    )
    .await;
    assert_eq!(created["object"], "user");
    assert_eq!(created["id"], "u1");
    assert!(created["created_at"].is_string());
    let updated = upsert(
        &env,
        json!({"id": "u1", "attributes": {"plan": null, "logins": {"add": 2}}}),
    )
    .await;
    assert_eq!(
        updated["attributes"],
        json!({"name": "Ada", "email": "ada@example.com", "logins": 2})
    );
    let stored = env.userflow_user("u1").await.expect("u1");
    assert!(!stored.attributes.contains_key("plan"));
    assert_eq!(created["created_at"], updated["created_at"]);
}

#[tokio::test]
async fn when_posting_to_users_id_or_groups_id_then_404_no_route() {
    let env = Env::start().await;
    let user = env
        .userflow(
            Method::POST,
            "/users/u1",
            Some(json!({"attributes": {"name": "A"}})),
        )
        .await;
    assert_eq!(user.status, 404);
    assert_eq!(user.json()["error"]["code"], "not_found");
    let group = env
        .userflow(
            Method::POST,
            "/groups/g1",
            Some(json!({"attributes": {"name": "G"}})),
        )
        .await;
    assert_eq!(group.status, 404);
    let memberships = env
        .userflow(
            Method::POST,
            "/group_memberships",
            Some(json!({"user_id": "u1", "group_id": "g1"})),
        )
        .await;
    assert_eq!(memberships.status, 404);
    assert!(env.admin.userflow_users().await.expect("admin").is_empty());
    assert!(env.admin.userflow_groups().await.expect("admin").is_empty());
}

#[tokio::test]
async fn when_groups_and_memberships_are_both_given_then_400_and_nothing_is_stored() {
    let env = Env::start().await;
    let answer = env
        .userflow(
            Method::POST,
            "/users",
            Some(json!({"id": "u1", "groups": [{"id": "g1"}], "memberships": [{"group": {"id": "g2"}}]})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["code"], "invalid_params");
    assert!(env.admin.userflow_users().await.expect("admin").is_empty());
    assert!(env.admin.userflow_groups().await.expect("admin").is_empty());
}

#[tokio::test]
async fn when_groups_are_given_then_groups_are_upserted_and_memberships_kept_unless_pruned() {
    let env = Env::start().await;
    upsert(
        &env,
        json!({"id": "u1", "groups": [{"id": "g1", "attributes": {"name": "Acme"}}]}),
    )
    .await;
    upsert(&env, json!({"id": "u1", "groups": [{"id": "g2"}]})).await;
    let user = env.userflow_user("u1").await.expect("u1");
    assert_eq!(
        user.memberships.keys().collect::<Vec<_>>(),
        vec!["g1", "g2"]
    );
    let groups = env.admin.userflow_groups().await.expect("admin");
    assert_eq!(groups[0].attributes["name"], "Acme");

    upsert(
        &env,
        json!({"id": "u1", "groups": [{"id": "g2"}], "prune_memberships": true}),
    )
    .await;
    let user = env.userflow_user("u1").await.expect("u1");
    assert_eq!(user.memberships.keys().collect::<Vec<_>>(), vec!["g2"]);
}

#[tokio::test]
async fn when_memberships_are_given_then_membership_attributes_show_with_expand() {
    let env = Env::start().await;
    upsert(
        &env,
        json!({"id": "u1", "memberships": [{"attributes": {"role": "admin"}, "group": {"id": "g1", "attributes": {"plan": "pro"}}}]}),
    )
    .await;
    let plain = env.userflow(Method::GET, "/users/u1", None).await;
    assert!(plain.json().get("memberships").is_none());
    let expanded = env
        .userflow(Method::GET, "/users/u1?expand=memberships", None)
        .await;
    let json = expanded.json();
    assert_eq!(json["memberships"][0]["attributes"]["role"], "admin");
    assert_eq!(json["memberships"][0]["group"]["id"], "g1");
    assert_eq!(json["memberships"][0]["group"]["attributes"]["plan"], "pro");
}

#[tokio::test]
async fn when_user_is_unknown_then_get_and_delete_answer_404_not_found() {
    let env = Env::start().await;
    let get = env.userflow(Method::GET, "/users/nobody", None).await;
    assert_eq!(get.status, 404);
    assert_eq!(get.json()["error"]["code"], "not_found");
    assert_eq!(
        env.userflow(Method::DELETE, "/users/nobody", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn when_deleting_a_user_then_deleted_true_and_the_user_and_its_events_are_gone() {
    let env = Env::start().await;
    upsert(&env, json!({"id": "u 1/x"})).await;
    env.userflow(
        Method::POST,
        "/events",
        Some(json!({"name": "e", "user_id": "u 1/x"})),
    )
    .await;
    let answer = env.userflow(Method::DELETE, "/users/u%201%2Fx", None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"id": "u 1/x", "object": "user", "deleted": true})
    );
    assert!(env.userflow_user("u 1/x").await.is_none());
    assert!(
        env.admin
            .userflow_events(Some("u 1/x"), None)
            .await
            .expect("admin")
            .is_empty()
    );
    assert_eq!(
        env.userflow(Method::DELETE, "/users/u%201%2Fx", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn when_listing_users_then_cursor_pages_cover_everyone_once_in_a_stable_order() {
    let env = Env::start().await;
    for i in (0..25).rev() {
        upsert(&env, json!({"id": format!("user-{i:02}")})).await;
    }
    let mut seen = Vec::new();
    let mut path = "/users?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let page = env.userflow(Method::GET, &path, None).await.json();
        pages += 1;
        assert_eq!(page["object"], "list");
        assert_eq!(page["url"], "/users");
        for user in page["data"].as_array().expect("data") {
            seen.push(user["id"].as_str().expect("id").to_owned());
        }
        if !page["has_more"].as_bool().expect("has_more") {
            assert!(page["next_page_url"].is_null());
            break;
        }
        path = page["next_page_url"].as_str().expect("next").to_owned();
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("user-{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn when_limit_is_over_100_then_400() {
    let env = Env::start().await;
    let answer = env.userflow(Method::GET, "/users?limit=101", None).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["code"], "invalid_params");
    assert_eq!(
        env.userflow(Method::GET, "/users?limit=100", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn when_listing_by_email_then_only_matching_users_come_back() {
    let env = Env::start().await;
    upsert(
        &env,
        json!({"id": "a", "attributes": {"email": "a@example.com"}}),
    )
    .await;
    upsert(
        &env,
        json!({"id": "b", "attributes": {"email": "b@example.com"}}),
    )
    .await;
    let page = env
        .userflow(Method::GET, "/users?email=A%40example.com&limit=10", None)
        .await
        .json();
    let ids: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec!["a"]);
}

#[tokio::test]
async fn when_event_has_neither_user_nor_group_then_400() {
    let env = Env::start().await;
    let answer = env
        .userflow(Method::POST, "/events", Some(json!({"name": "signed_up"})))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["code"], "invalid_params");
    assert!(
        env.admin
            .userflow_events(None, None)
            .await
            .expect("admin")
            .is_empty()
    );
}

#[tokio::test]
async fn when_the_same_event_is_sent_twice_then_both_are_stored() {
    let env = Env::start().await;
    let event = json!({"name": "signed_up", "user_id": "u1", "attributes": {"source": "crm"}});
    for _ in 0..2 {
        let answer = env
            .userflow(Method::POST, "/events", Some(event.clone()))
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["object"], "event");
    }
    env.userflow(
        Method::POST,
        "/events",
        Some(json!({"name": "Signed_Up", "group_id": "g1"})),
    )
    .await;
    let events = env
        .admin
        .userflow_events(Some("u1"), Some("signed_up"))
        .await
        .expect("admin");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].attributes["source"], "crm");
    assert_eq!(
        env.admin
            .userflow_events(None, None)
            .await
            .expect("admin")
            .len(),
        3
    );
}

#[tokio::test]
async fn when_groups_are_managed_directly_then_post_get_list_and_delete_work() {
    let env = Env::start().await;
    let created = env
        .userflow(
            Method::POST,
            "/groups",
            Some(json!({"id": "g1", "attributes": {"name": "Acme"}})),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.json()["object"], "group");
    env.userflow(Method::POST, "/groups", Some(json!({"id": "g2"})))
        .await;
    upsert(&env, json!({"id": "u1", "groups": [{"id": "g1"}]})).await;
    let got = env.userflow(Method::GET, "/groups/g1", None).await.json();
    assert_eq!(got["attributes"]["name"], "Acme");
    let list = env
        .userflow(Method::GET, "/groups?limit=1", None)
        .await
        .json();
    assert_eq!(list["data"][0]["id"], "g1");
    assert_eq!(list["has_more"], true);
    let deleted = env.userflow(Method::DELETE, "/groups/g1", None).await;
    assert_eq!(deleted.json()["deleted"], true);
    assert_eq!(
        env.userflow(Method::GET, "/groups/g1", None).await.status,
        404
    );
    let user = env.userflow_user("u1").await.expect("u1");
    assert!(user.memberships.is_empty());
    let no_id = env
        .userflow(Method::POST, "/groups", Some(json!({"attributes": {}})))
        .await;
    assert_eq!(no_id.status, 400);
}

#[tokio::test]
async fn when_a_userflow_rate_limit_is_set_then_429_with_retry_after() {
    let env = Env::start().await;
    for _ in 0..5 {
        assert_eq!(
            env.userflow(Method::GET, "/users?limit=1", None)
                .await
                .status,
            200
        );
    }
    env.admin
        .set_rate_limit(
            Bucket::Userflow,
            Some(RateLimit {
                limit: 1,
                window_secs: 60,
            }),
        )
        .await
        .expect("set");
    assert_eq!(
        env.userflow(Method::GET, "/users?limit=1", None)
            .await
            .status,
        200
    );
    let limited = env
        .userflow(Method::POST, "/users", Some(json!({"id": "late"})))
        .await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    assert!(env.userflow_user("late").await.is_none());
}

#[tokio::test]
async fn when_posting_malformed_json_to_users_id_then_404_because_the_route_is_checked_first() {
    let env = Env::start().await;
    let answer = send(
        env.userflow_request(Method::POST, "/users/u1")
            .body("{not json"),
    )
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["error"]["code"], "not_found");
    let on_users = send(
        env.userflow_request(Method::POST, "/users")
            .body("{not json"),
    )
    .await;
    assert_eq!(on_users.status, 400);
    assert_eq!(on_users.json()["error"]["code"], "invalid_params");
}

#[tokio::test]
async fn when_a_user_is_deleted_then_only_its_events_go() {
    let env = Env::start().await;
    for user in ["a", "b", "a"] {
        let event = json!({"name": "signed_up", "user_id": user});
        env.userflow(Method::POST, "/events", Some(event)).await;
    }
    env.userflow(
        Method::POST,
        "/events",
        Some(json!({"name": "g", "group_id": "a"})),
    )
    .await;
    upsert(&env, json!({"id": "a"})).await;
    assert_eq!(
        env.userflow(Method::DELETE, "/users/a", None).await.status,
        200
    );
    let left: Vec<(Option<String>, String)> = env
        .admin
        .userflow_events(None, None)
        .await
        .expect("admin")
        .into_iter()
        .map(|e| (e.user_id, e.name))
        .collect();
    assert_eq!(
        left,
        vec![(Some("b".into()), "signed_up".into()), (None, "g".into())]
    );
}

#[tokio::test]
async fn when_paging_with_an_email_filter_then_next_pages_keep_it_and_skip_other_users() {
    let env = Env::start().await;
    for i in 0..6 {
        let email = if i % 2 == 0 {
            "same@example.com"
        } else {
            "other@example.com"
        };
        upsert(
            &env,
            json!({"id": format!("u{i}"), "attributes": {"email": email}}),
        )
        .await;
    }
    let first = env
        .userflow(Method::GET, "/users?email=same%40example.com&limit=2", None)
        .await
        .json();
    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|u| u["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&first), vec!["u0", "u2"]);
    assert_eq!(first["has_more"], true);
    let next = first["next_page_url"].as_str().expect("next page");
    assert!(next.contains("email=same%40example.com"), "{next}");
    let second = env.userflow(Method::GET, next, None).await.json();
    assert_eq!(ids(&second), vec!["u4"]);
    assert_eq!(second["has_more"], false);
    assert!(second["next_page_url"].is_null());
}
