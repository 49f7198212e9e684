//! `/users/export/segment` request validation (the files themselves are checked against moto in
//! the workspace's `tests/tests/sandbox_exports.rs`).

use sandbox::SeedSegment;
use serde_json::json;

use crate::common::Env;

async fn seeded() -> Env {
    let env = Env::start().await;
    env.admin
        .seed_segment(&SeedSegment::new("seg", 10))
        .await
        .expect("seeded");
    env
}

#[tokio::test]
async fn when_no_bucket_is_configured_then_export_answers_400_naming_the_flag_and_env() {
    let env = seeded().await;
    let answer = env
        .braze(
            "/users/export/segment",
            json!({"segment_id": "seg", "fields_to_export": ["external_id"]}),
        )
        .await;
    assert_eq!(answer.status, 400);
    let message = answer.json()["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(message.contains("no S3 export bucket"), "{message}");
    assert!(message.contains("--export-bucket") && message.contains("SANDBOX_EXPORT_BUCKET"));
    assert!(env.admin.exports().await.expect("exports").is_empty());
}

#[tokio::test]
async fn when_segment_id_or_fields_are_missing_then_400() {
    let env = seeded().await;
    let no_fields = env
        .braze("/users/export/segment", json!({"segment_id": "seg"}))
        .await;
    assert_eq!(no_fields.status, 400);
    assert!(
        no_fields.json()["message"]
            .as_str()
            .expect("message")
            .contains("fields_to_export")
    );
    let no_segment = env
        .braze(
            "/users/export/segment",
            json!({"fields_to_export": ["external_id"]}),
        )
        .await;
    assert_eq!(no_segment.status, 400);
    assert!(
        no_segment.json()["message"]
            .as_str()
            .expect("message")
            .contains("segment_id")
    );
}

#[tokio::test]
async fn when_segment_is_unknown_or_format_invalid_then_400() {
    let env = seeded().await;
    let unknown = env
        .braze(
            "/users/export/segment",
            json!({"segment_id": "nope", "fields_to_export": ["external_id"]}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.json()["message"]
            .as_str()
            .expect("message")
            .contains("segment_id")
    );
    let format = env
        .braze(
            "/users/export/segment",
            json!({"segment_id": "seg", "fields_to_export": ["external_id"], "output_format": "csv"}),
        )
        .await;
    assert_eq!(format.status, 400);
    assert!(
        format.json()["message"]
            .as_str()
            .expect("message")
            .contains("output_format")
    );
}

#[tokio::test]
async fn when_cancel_finds_no_running_export_then_400() {
    let env = seeded().await;
    let answer = env
        .braze("/export/segment/cancel", json!({"segment_id": "seg"}))
        .await;
    assert_eq!(answer.status, 400);
    let missing = env.braze("/export/segment/cancel", json!({})).await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn when_export_storage_is_set_through_admin_then_it_is_reported_and_can_be_removed() {
    let env = seeded().await;
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
}
