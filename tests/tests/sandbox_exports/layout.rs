//! Braze's key layout, formats, duplicates, fields, the callback, 429 and cancel.

use super::*;

#[tokio::test]
async fn when_a_zip_export_completes_then_files_follow_brazes_layout_and_hold_every_user() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(40),
            duplicate_every: Some(25),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-zip", 100))
        .await
        .expect("seeded");
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let fields = [
        "external_id",
        "braze_id",
        "user_aliases",
        "email",
        "created_at",
        "custom_attributes",
    ];

    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({
                "segment_id": "seg-zip",
                "callback_endpoint": format!("{}/braze/export-callback?job=j1&sig=abc", catcher.url()),
                "fields_to_export": fields,
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["message"], "success");
    assert!(answer["url"].is_null());
    let object_prefix = answer["object_prefix"]
        .as_str()
        .expect("object_prefix")
        .to_owned();
    let timestamp = prefix_timestamp(&object_prefix);

    let callback = catcher
        .next(Duration::from_secs(30))
        .await
        .expect("callback arrives");
    assert_eq!(
        callback.path_and_query,
        "/braze/export-callback?job=j1&sig=abc"
    );
    assert_eq!(callback.content_type.as_deref(), Some("application/json"));
    assert_eq!(callback.json().expect("JSON"), json!({"success": true}));

    let keys = stack.keys("segment-export/seg-zip/").await;
    assert_eq!(keys.len(), 3, "100 users at 40 per file: {keys:?}");
    let folder = format!(
        "segment-export/seg-zip/{}/{object_prefix}/",
        utc_date(timestamp, 0)
    );
    for key in &keys {
        let name = key
            .strip_prefix(&folder)
            .unwrap_or_else(|| panic!("{key} not under {folder}"));
        assert!(name.ends_with(".zip") && !name.contains('/'), "{key}");
    }

    let record = admin
        .wait_for_export(&object_prefix, Duration::from_secs(10))
        .await
        .expect("export finishes");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.callback_status, Some(200));
    let mut recorded = record.files.clone();
    recorded.sort();
    assert_eq!(recorded, keys);

    // Read the files in the order they were written.
    let mut per_file: Vec<Vec<Value>> = Vec::new();
    for key in &record.files {
        per_file.push(lines_of(key, stack.download(key).await).await);
    }
    let all: Vec<&Value> = per_file.iter().flatten().collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &all {
        *seen
            .entry(line["braze_id"].as_str().expect("braze_id"))
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 100, "every member once");
    assert_eq!(all.len(), 104, "members 25, 50, 75 and 100 appear twice");
    assert_eq!(seen.values().filter(|n| **n == 2).count(), 4);
    assert_eq!(record.users, 100);
    assert_eq!(record.lines, 104);
    // The duplicate of member 25 (file 1) lands in file 2.
    let member_25 = per_file[0][24]["braze_id"].clone();
    assert!(per_file[1].iter().any(|l| l["braze_id"] == member_25));

    let allowed: BTreeSet<&str> = fields.into_iter().collect();
    for line in &all {
        let obj = line.as_object().expect("object line");
        assert!(obj.keys().all(|k| allowed.contains(k.as_str())), "{line}");
        assert!(
            is_braze_timestamp(line["created_at"].as_str().expect("created_at")),
            "{line}"
        );
        assert!(
            obj.contains_key("external_id") || obj.contains_key("user_aliases"),
            "{line}"
        );
    }
    assert!(
        all.iter().any(|l| l.get("external_id").is_none()),
        "alias-only users exported"
    );
    let seats: BTreeSet<&str> = all
        .iter()
        .filter_map(|l| l["custom_attributes"].get("seats"))
        .map(|v| if v.is_string() { "string" } else { "number" })
        .collect();
    assert_eq!(
        seats,
        BTreeSet::from(["number", "string"]),
        "stored types kept"
    );
}

#[tokio::test]
async fn when_a_gzip_export_runs_with_a_shifted_date_then_the_folder_is_that_day() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            date_shift_days: Some(1),
            duplicate_every: Some(0),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-gz", 30))
        .await
        .expect("seeded");
    let removed = admin
        .braze_users(&sandbox::BrazeUserQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .expect("users");
    let removed_ids: Vec<String> = removed.users.iter().map(|u| u.braze_id.clone()).collect();
    let (status, _) = stack
        .braze("/users/delete", json!({"braze_ids": removed_ids}))
        .await;
    assert_eq!(status, 201);
    let catcher = CallbackCatcher::start().await.expect("callback server");

    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({
                "segment_id": "seg-gz",
                "callback_endpoint": catcher.url(),
                "fields_to_export": ["braze_id", "first_name"],
                "custom_attributes_to_export": ["plan"],
                "output_format": "gzip",
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let object_prefix = answer["object_prefix"]
        .as_str()
        .expect("object_prefix")
        .to_owned();
    let callback = catcher
        .next(Duration::from_secs(30))
        .await
        .expect("callback");
    assert_eq!(callback.json().expect("JSON"), json!({"success": true}));

    let keys = stack.keys("segment-export/seg-gz/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let tomorrow = utc_date(prefix_timestamp(&object_prefix), 1);
    assert!(
        keys[0].starts_with(&format!(
            "segment-export/seg-gz/{tomorrow}/{object_prefix}/"
        )),
        "{} vs {tomorrow}",
        keys[0]
    );
    let lines = lines_of(&keys[0], stack.download(&keys[0]).await).await;
    assert_eq!(lines.len(), 28, "deleted members are left out");
    for line in &lines {
        let custom = line["custom_attributes"]
            .as_object()
            .expect("custom_attributes");
        assert_eq!(custom.keys().collect::<Vec<_>>(), vec!["plan"]);
        assert!(line["first_name"].is_string());
        assert!(!removed_ids.iter().any(|id| line["braze_id"] == id.as_str()));
    }
}

#[tokio::test]
async fn when_an_export_is_running_then_a_second_one_gets_429_and_cancel_stops_it() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(10),
            file_delay_ms: Some(400),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-slow", 60))
        .await
        .expect("seeded");
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let request = json!({
        "segment_id": "seg-slow",
        "callback_endpoint": catcher.url(),
        "fields_to_export": ["braze_id"],
    });

    let (status, first) = stack.braze("/users/export/segment", request.clone()).await;
    assert_eq!(status, 201);
    let (status, second) = stack.braze("/users/export/segment", request.clone()).await;
    assert_eq!(status, 429, "{second}");
    let (status, cancelled) = stack
        .braze("/export/segment/cancel", json!({"segment_id": "seg-slow"}))
        .await;
    assert_eq!(status, 200, "{cancelled}");

    let object_prefix = first["object_prefix"].as_str().expect("object_prefix");
    let record = admin
        .wait_for_export(object_prefix, Duration::from_secs(10))
        .await
        .expect("export stops");
    assert_eq!(record.state, ExportState::Cancelled);
    assert!(record.files.len() < 6, "{:?}", record.files);
    assert!(
        catcher.next(Duration::from_millis(800)).await.is_none(),
        "no callback"
    );

    admin
        .set_export_settings(ExportSettingsPatch {
            file_delay_ms: Some(0),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    let (status, _) = stack.braze("/users/export/segment", request).await;
    assert_eq!(status, 201, "a new export may start once the first stopped");
    assert!(catcher.next(Duration::from_secs(30)).await.is_some());
}

#[tokio::test]
async fn when_the_callback_endpoint_fails_then_the_export_still_completes_and_records_it() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .seed_segment(&SeedSegment::new("seg-cb", 5))
        .await
        .expect("seeded");
    let catcher = CallbackCatcher::start_answering(reqwest::StatusCode::UNAUTHORIZED)
        .await
        .expect("callback server");
    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({"segment_id": "seg-cb", "callback_endpoint": catcher.url(), "fields_to_export": ["braze_id"]}),
        )
        .await;
    assert_eq!(status, 201);
    let record = admin
        .wait_for_export(
            answer["object_prefix"].as_str().expect("prefix"),
            Duration::from_secs(30),
        )
        .await
        .expect("finishes");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.callback_status, Some(401));
    assert!(record.error.as_deref().is_some_and(|e| e.contains("401")));
    assert_eq!(record.files.len(), 1);
}

/// relay-core's Braze client starts the export the way `relay export start` will: files land
/// under the prefix Braze answered, the callback arrives, and a running export can be cancelled.
#[tokio::test]
async fn when_the_braze_client_starts_an_export_then_its_files_and_callback_follow() {
    use relay_clients::braze::{BrazeClient, BrazeConfig, BrazeEndpoint, OutputFormat};
    use secrecy::SecretString;

    let stack = Stack::start().await;
    let info = stack.sandbox.info();
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(50),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-client", 120))
        .await
        .expect("seeded");
    let endpoint = BrazeEndpoint::parse(&info.braze, true).expect("sandbox endpoint");
    let config = BrazeConfig::new(endpoint, SecretString::from(info.braze_key.clone()));
    let braze = BrazeClient::new(config, reqwest::Client::new()).expect("client");
    let catcher = CallbackCatcher::start().await.expect("callback server");

    let started = braze
        .export_segment("seg-client")
        .fields(["external_id", "braze_id", "email"])
        .output_format(OutputFormat::Gzip)
        .callback_endpoint(catcher.url())
        .send()
        .await
        .expect("export started");

    prefix_timestamp(&started.object_prefix);
    let callback = catcher
        .next(Duration::from_secs(20))
        .await
        .expect("callback arrives");
    assert_eq!(
        callback.json().expect("JSON callback"),
        json!({"success": true})
    );
    let keys = stack.keys("segment-export/seg-client/").await;
    assert_eq!(keys.len(), 3, "120 users at 50 per file: {keys:?}");
    for key in &keys {
        let folder = key.rsplit('/').nth(1).expect("prefix folder");
        assert_eq!(folder, started.object_prefix, "{key}");
        assert!(key.ends_with(".gz"), "{key}");
    }

    admin
        .set_export_settings(ExportSettingsPatch {
            file_delay_ms: Some(2_000),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    let running = braze
        .export_segment("seg-client")
        .fields(["external_id"])
        .send()
        .await
        .expect("second export started");
    braze
        .cancel_segment_export("seg-client")
        .await
        .expect("cancelled");
    let record = admin
        .wait_for_export(&running.object_prefix, Duration::from_secs(20))
        .await
        .expect("export record");
    assert_eq!(record.state, ExportState::Cancelled);
}
