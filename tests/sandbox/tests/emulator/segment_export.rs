//! `/users/export/segment` request validation (the files themselves are checked against moto in
//! the workspace's `tests/tests/sandbox_exports/`).

use serde_json::{Value, json};

use crate::common::{self, Answer, Env};

/// `POST /users/export/segment`.
async fn export(env: &Env, body: Value) -> Answer {
    env.braze("/users/export/segment", body).await
}

#[tokio::test]
async fn when_no_bucket_is_configured_then_export_answers_400_naming_the_flag_and_env() {
    let env = Env::seeded(10).await;
    let answer = export(
        &env,
        json!({"segment_id": "seg", "fields_to_export": ["external_id"]}),
    )
    .await;
    assert_eq!(answer.status, 400);
    let message = answer.message();
    assert!(message.contains("no S3 export bucket"), "{message}");
    assert!(message.contains("--export-bucket") && message.contains("SANDBOX_EXPORT_BUCKET"));
    assert!(env.admin.exports().await.expect("exports").is_empty());
}

#[tokio::test]
async fn when_segment_id_or_fields_are_missing_then_400() {
    let env = Env::seeded(10).await;
    let no_fields = export(&env, json!({"segment_id": "seg"})).await;
    assert_eq!(no_fields.status, 400);
    assert!(no_fields.message().contains("fields_to_export"));
    let no_segment = export(&env, json!({"fields_to_export": ["external_id"]})).await;
    assert_eq!(no_segment.status, 400);
    assert!(no_segment.message().contains("segment_id"));
}

#[tokio::test]
async fn when_segment_is_unknown_or_format_invalid_then_400() {
    let env = Env::seeded(10).await;
    let unknown = export(
        &env,
        json!({"segment_id": "nope", "fields_to_export": ["external_id"]}),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.message().contains("segment_id"));
    let format = export(
        &env,
        json!({"segment_id": "seg", "fields_to_export": ["external_id"], "output_format": "csv"}),
    )
    .await;
    assert_eq!(format.status, 400);
    assert!(format.message().contains("output_format"));
}

#[tokio::test]
async fn when_cancel_finds_no_running_export_then_400() {
    let env = Env::seeded(10).await;
    let answer = env
        .braze("/export/segment/cancel", json!({"segment_id": "seg"}))
        .await;
    assert_eq!(answer.status, 400);
    let missing = env.braze("/export/segment/cancel", json!({})).await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn when_export_storage_is_set_through_admin_then_it_is_reported_and_can_be_removed() {
    let env = Env::seeded(10).await;
    let storage = sandbox::ExportStorage {
        bucket: "exports".into(),
        endpoint: Some("http://localhost:1".into()),
        region: "eu-west-1".into(),
    };
    env.admin.set_export_storage(&storage).await.expect("set");
    assert_eq!(
        env.admin.export_storage().await.expect("get"),
        Some(storage)
    );
    env.admin.clear_export_storage().await.expect("cleared");
    assert_eq!(env.admin.export_storage().await.expect("get"), None);
    let answer = export(
        &env,
        json!({"segment_id": "seg", "fields_to_export": ["external_id"]}),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.message().contains("no S3 export bucket"));
}

#[tokio::test]
async fn when_fault_settings_are_patched_then_settings_show_them_and_defaults_are_off() {
    let env = Env::start().await;
    let defaults = env.admin.settings().await.expect("settings").export;
    assert_eq!(
        (
            defaults.malformed_every,
            defaults.members_per_zip,
            defaults.empty_files,
            defaults.truncate_files
        ),
        (0, 1, 0, 0)
    );
    let patched = env
        .admin
        .set_export_settings(sandbox::ExportSettingsPatch {
            malformed_every: Some(7),
            members_per_zip: Some(3),
            empty_files: Some(2),
            truncate_files: Some(1),
            ..Default::default()
        })
        .await
        .expect("patched")
        .export;
    assert_eq!(
        (
            patched.malformed_every,
            patched.members_per_zip,
            patched.empty_files,
            patched.truncate_files
        ),
        (7, 3, 2, 1)
    );
    assert_eq!(
        patched.duplicate_every, defaults.duplicate_every,
        "untouched"
    );
    env.admin.reset().await.expect("reset");
    let after_reset = env.admin.settings().await.expect("settings").export;
    assert_eq!(after_reset, defaults);
}

#[tokio::test]
async fn when_malformed_every_is_1_or_members_per_zip_is_0_then_400_and_nothing_changes() {
    let env = Env::start().await;
    let url = format!("{}/settings", env.info.admin);
    for export in [json!({"malformed_every": 1}), json!({"members_per_zip": 0})] {
        let answer = common::send(env.http.patch(&url).json(&json!({ "export": export }))).await;
        assert_eq!(answer.status, 400, "{export}: {}", answer.text);
        let field = export.as_object().and_then(|o| o.keys().next().cloned());
        assert!(
            answer.text.contains(&field.expect("one field")),
            "{}",
            answer.text
        );
    }
    let export = env.admin.settings().await.expect("settings").export;
    assert_eq!((export.malformed_every, export.members_per_zip), (0, 1));
}

#[tokio::test]
async fn when_a_synthetic_export_is_asked_without_a_bucket_then_400_naming_the_flag() {
    let env = Env::start().await;
    let err = env
        .admin
        .synthetic_export(&sandbox::SyntheticExport::new("bench", 10))
        .await
        .expect_err("no bucket");
    match err {
        sandbox::AdminError::Status { status, body } => {
            assert_eq!(status, 400);
            assert!(body.contains("--export-bucket"), "{body}");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(env.admin.exports().await.expect("exports").is_empty());
}

#[tokio::test]
async fn when_a_synthetic_export_has_zero_users_per_file_or_an_unknown_field_then_400() {
    let env = Env::start().await;
    let url = format!("{}/braze/exports/synthetic", env.info.admin);
    let zero = common::send(
        env.http
            .post(&url)
            .json(&json!({"segment_id": "b", "users": 10, "users_per_file": 0, "seed": 1})),
    )
    .await;
    assert_eq!(zero.status, 400, "{}", zero.text);
    assert!(zero.text.contains("users_per_file"), "{}", zero.text);
    let typo = common::send(
        env.http
            .post(&url)
            .json(&json!({"segment_id": "b", "users": 10, "user_per_file": 5})),
    )
    .await;
    assert_eq!(typo.status, 400, "{}", typo.text);
    assert!(typo.text.contains("user_per_file"), "{}", typo.text);
}
