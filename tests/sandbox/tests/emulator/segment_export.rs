//! `/users/export/segment` request validation (the files themselves are checked against moto in
//! the workspace's `tests/tests/sandbox_exports.rs`).

use serde_json::{Value, json};

use crate::common::{Answer, Env};

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
