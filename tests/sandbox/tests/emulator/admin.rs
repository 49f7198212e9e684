//! The admin API: request counts and log, reset, settings, segment seeding, state readers.

use reqwest::Method;
use sandbox::{
    Api, BrazeUserQuery, ExportSettingsPatch, FaultKind, FaultRule, SeedSegment, SettingsPatch,
};
use serde_json::{Value, json};

use crate::common::Env;

#[tokio::test]
async fn when_requests_are_made_then_counts_are_kept_per_api_method_route_and_status() {
    let env = Env::start().await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "a"}]}),
    )
    .await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "b"}]}),
    )
    .await;
    env.braze("/users/track", json!({"attributes": []})).await;
    env.userflow(Method::GET, "/users/a", None).await;
    env.userflow(Method::GET, "/users/b", None).await;
    env.userflow(Method::POST, "/users/b", Some(json!({})))
        .await;

    let admin = &env.admin;
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(201))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(400))
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "GET", "/users/{id}", Some(404))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users/{id}", None)
            .await
            .expect("count"),
        1
    );
    let braze_only = admin
        .request_counts(Some(Api::Braze))
        .await
        .expect("counts");
    assert!(braze_only.iter().all(|c| c.api == Api::Braze));

    admin.reset_requests().await.expect("reset");
    assert!(admin.request_counts(None).await.expect("counts").is_empty());
}

#[tokio::test]
async fn when_the_log_is_read_then_it_has_selected_headers_and_never_keys_or_query_strings() {
    let env = Env::start().await;
    env.scim(
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22secret%40example.com%22",
        None,
    )
    .await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "a", "email": "a@example.com"}]}),
    )
    .await;
    let log = env.admin.request_log(None, 10).await.expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].api, Api::Scim);
    assert_eq!(log[0].path, "/scim/v2/Users");
    assert_eq!(
        log[0].headers.get("x-request-origin"),
        Some(&env.info.scim_origin)
    );
    assert_eq!(log[1].route, "/users/track");
    assert_eq!(
        log[1].headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let text = serde_json::to_string(&log).expect("json");
    for secret in [
        &env.info.braze_key,
        &env.info.scim_token,
        &"secret%40example.com".to_owned(),
    ] {
        assert!(!text.contains(secret.as_str()), "log leaks {secret}");
    }
    assert!(!text.contains("a@example.com"));
    assert!(log[0].seq < log[1].seq);
}

#[tokio::test]
async fn when_reset_then_stores_faults_counts_and_settings_are_back_to_start() {
    let env = Env::start().await;
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "a"}]}),
    )
    .await;
    env.userflow(Method::POST, "/users", Some(json!({"id": "u"})))
        .await;
    env.admin
        .add_fault(&FaultRule::new(
            Api::Braze,
            "*",
            "/nothing",
            FaultKind::Drop,
        ))
        .await
        .expect("fault");
    env.admin
        .update_settings(&SettingsPatch {
            track_max_objects: Some(5),
            ..Default::default()
        })
        .await
        .expect("settings");
    env.admin.reset().await.expect("reset");
    assert_eq!(env.braze_count().await, 0);
    assert!(env.admin.userflow_users().await.expect("users").is_empty());
    assert!(env.admin.faults().await.expect("faults").is_empty());
    assert!(
        env.admin
            .request_counts(None)
            .await
            .expect("counts")
            .is_empty()
    );
    assert_eq!(
        env.admin
            .settings()
            .await
            .expect("settings")
            .track_max_objects,
        75
    );
}

#[tokio::test]
async fn when_track_max_objects_is_lowered_then_track_enforces_it() {
    let env = Env::start().await;
    env.admin
        .update_settings(&SettingsPatch {
            track_max_objects: Some(50),
            ..Default::default()
        })
        .await
        .expect("settings");
    let attributes: Vec<Value> = (0..51)
        .map(|i| json!({"external_id": format!("u{i}")}))
        .collect();
    let answer = env
        .braze("/users/track", json!({"attributes": attributes}))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["message"], "Max Input Length Exceeded");
}

#[tokio::test]
async fn when_export_settings_are_patched_then_only_given_fields_change() {
    let env = Env::start().await;
    let settings = env
        .admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(100),
            date_shift_days: Some(-1),
            ..Default::default()
        })
        .await
        .expect("settings");
    assert_eq!(settings.export.users_per_file, 100);
    assert_eq!(settings.export.date_shift_days, -1);
    assert_eq!(settings.export.duplicate_every, 1_000);
}

#[tokio::test]
async fn when_a_segment_is_seeded_then_its_profiles_are_real_braze_profiles() {
    let env = Env::start().await;
    let summary = env
        .admin
        .seed_segment(&SeedSegment::new("seg-a", 500))
        .await
        .expect("seeded");
    assert_eq!(summary.size, 500);
    assert_eq!(env.braze_count().await, 500);
    let segments = env.admin.segments().await.expect("segments");
    assert_eq!(
        (segments[0].segment_id.as_str(), segments[0].size),
        ("seg-a", 500)
    );

    let ext_users = env
        .admin
        .braze_users(&BrazeUserQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .expect("users");
    let identified = ext_users
        .users
        .iter()
        .filter(|u| u.external_id.is_some())
        .count();
    assert_eq!(identified, summary.with_external_id);
    let some_id = ext_users
        .users
        .iter()
        .find_map(|u| u.external_id.clone())
        .expect("an identified user");
    assert!(some_id.starts_with("seg-a-"), "{some_id}");

    let export = env
        .braze("/users/export/ids", json!({"external_ids": [some_id], "fields_to_export": ["external_id", "email", "custom_attributes"]}))
        .await;
    assert_eq!(export.json()["users"][0]["external_id"], some_id.as_str());
    assert!(export.json()["users"][0]["custom_attributes"]["plan"].is_string());

    let deleted = env
        .braze("/users/delete", json!({"external_ids": [some_id]}))
        .await;
    assert_eq!(deleted.json()["deleted"], 1);
    assert_eq!(env.braze_count().await, 499);
}

#[tokio::test]
async fn when_seeded_users_share_an_email_then_export_ids_by_email_returns_the_duplicates() {
    let env = Env::start().await;
    let summary = env
        .admin
        .seed_segment(&SeedSegment::new("seg-b", 400))
        .await
        .expect("seeded");
    assert!(summary.email_duplicates > 0, "{summary:?}");
    let users = env
        .admin
        .braze_users(&BrazeUserQuery {
            alias_label: Some("crm_lead".into()),
            ..Default::default()
        })
        .await
        .expect("users");
    let duplicate = users
        .users
        .iter()
        .find(|u| u.external_id.is_none())
        .expect("an alias-only duplicate");
    let email = duplicate.attributes["email"].as_str().expect("email");
    let export = env
        .braze(
            "/users/export/ids",
            json!({"email_address": email, "fields_to_export": ["external_id", "braze_id"]}),
        )
        .await;
    let found = export.json()["users"].as_array().expect("users").clone();
    assert!(found.len() >= 2, "{found:?}");
    assert!(found.iter().any(|u| u.get("external_id").is_some()));
    assert!(
        found
            .iter()
            .any(|u| u["braze_id"] == duplicate.braze_id.as_str())
    );
}

#[tokio::test]
async fn when_braze_users_are_queried_by_email_then_every_profile_with_it_comes_back() {
    let env = Env::start().await;
    env.braze(
        "/users/track",
        json!({"attributes": [
            {"external_id": "a", "email": "Dup@Example.com"},
            {"external_id": "b", "email": "dup@example.com"},
            {"external_id": "c", "email": "other@example.com"},
        ]}),
    )
    .await;
    let page = env
        .admin
        .braze_users(&BrazeUserQuery {
            email: Some("DUP@example.com".into()),
            ..Default::default()
        })
        .await
        .expect("users");
    assert_eq!(page.total, 2);
    let ids: Vec<Option<&str>> = page
        .users
        .iter()
        .map(|u| u.external_id.as_deref())
        .collect();
    assert_eq!(ids, vec![Some("a"), Some("b")]);
}
