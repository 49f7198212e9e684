//! The synthetic bulk generator's files, records and callback.

use super::*;

#[tokio::test]
async fn when_a_synthetic_export_is_written_then_files_records_and_callback_follow() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let request = SyntheticExport {
        users_per_file: 400,
        seed: 11,
        members_per_zip: 2,
        callback_endpoint: Some(format!("{}/cb?job=bench", catcher.url())),
        ..SyntheticExport::new("bench-seg", 1_050)
    };
    let started = admin.synthetic_export(&request).await.expect("written");
    assert_eq!(started.users, 1_050);
    assert_eq!(started.files.len(), 3, "400 + 400 + 250");
    let mut keys = started.files.clone();
    keys.sort();
    assert_eq!(stack.keys("segment-export/bench-seg/").await, keys);
    let timestamp = prefix_timestamp(&started.object_prefix);
    let folder = format!(
        "segment-export/bench-seg/{}/{}/",
        utc_date(timestamp, 0),
        started.object_prefix
    );
    assert!(
        started
            .files
            .iter()
            .all(|k| k.starts_with(&folder) && k.ends_with(".zip"))
    );

    let callback = catcher
        .next(Duration::from_secs(20))
        .await
        .expect("callback");
    assert_eq!(callback.path_and_query, "/cb?job=bench");
    assert_eq!(callback.json().expect("JSON"), json!({"success": true}));
    let record = admin
        .wait_for_export(&started.object_prefix, Duration::from_secs(10))
        .await
        .expect("recorded");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.callback_status, Some(200));
    assert_eq!(record.files, started.files);
    assert_eq!((record.users, record.lines), (1_050, 1_050));
    assert_eq!(record.output_format, "zip");

    let first = stack.download(&started.files[0]).await;
    assert_eq!(
        first,
        sandbox::synthetic_export_file(0, 400, 11, ExportFormat::Zip, 2),
        "the route writes what the pure generator makes"
    );
    let mut ids = Vec::new();
    let mut bytes = 0;
    for key in &started.files {
        for line in numbered_lines(key, stack.download(key).await).await {
            bytes += line.text.len();
            let user: Value = serde_json::from_str(&line.text).expect("JSON user");
            assert!(is_braze_timestamp(
                user["created_at"].as_str().expect("created_at")
            ));
            ids.push(
                user["external_id"]
                    .as_str()
                    .expect("external_id")
                    .to_owned(),
            );
        }
    }
    let expected: Vec<String> = (0..1_050).map(|i| format!("bench-{i:08}")).collect();
    assert_eq!(ids, expected);
    assert!(
        (800..1400).contains(&(bytes / ids.len())),
        "{} bytes a line",
        bytes / ids.len()
    );
}

#[tokio::test]
async fn when_a_synthetic_gzip_export_has_no_callback_then_it_is_completed_when_answered() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    let request = SyntheticExport {
        users_per_file: 100,
        output_format: ExportFormat::Gzip,
        ..SyntheticExport::new("bench-gz", 250)
    };
    let started = admin.synthetic_export(&request).await.expect("written");
    let record = admin
        .exports()
        .await
        .expect("exports")
        .into_iter()
        .find(|r| r.object_prefix == started.object_prefix)
        .expect("recorded");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.files.len(), 3);
    let mut lines = 0;
    for key in &started.files {
        assert!(key.ends_with(".gz"), "{key}");
        lines += gunzip(&stack.download(key).await)
            .await
            .expect("gzip")
            .lines()
            .count();
    }
    assert_eq!(lines, 250);
}
