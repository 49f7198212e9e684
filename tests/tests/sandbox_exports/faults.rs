//! Injected faults, checked line by line against the sandbox's record.

use super::*;

#[tokio::test]
async fn when_zip_faults_are_set_then_files_hold_them_exactly_as_recorded() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(25),
            duplicate_every: Some(0),
            malformed_every: Some(7),
            members_per_zip: Some(3),
            empty_files: Some(1),
            truncate_files: Some(1),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-faults", 60))
        .await
        .expect("seeded");

    let record = export_and_wait(&stack, "seg-faults", "zip").await;
    assert_eq!(record.files.len(), 5, "3 intact + 1 empty + 1 truncated");
    assert_eq!((record.empty.len(), record.truncated.len()), (1, 1));
    assert!(record.files.contains(&record.empty[0]));
    assert!(record.files.contains(&record.truncated[0]));
    let mut recorded = record.files.clone();
    recorded.sort();
    assert_eq!(stack.keys("segment-export/seg-faults/").await, recorded);

    // 60 users + k bad lines, a bad line at every 7th position: k = 9 (69 lines).
    let (users, bad_positions) = check_intact_files(&stack, &record).await;
    assert_eq!(record.injected.len(), 9);
    assert_eq!(bad_positions, (1..=9).map(|k| k * 7).collect::<Vec<u64>>());
    let kinds: Vec<&str> = record.injected[..4]
        .iter()
        .map(|i| i.text.as_str())
        .collect();
    assert_eq!(&kinds[..3], [r#"{"external_id":"x"#, "[1,2]", "not json"]);
    assert!(kinds[3].starts_with(r#"{"external_id":{"a":1},"braze_id":""#));
    assert_eq!(users.len(), 60, "no user lost to a bad line");
    assert_eq!(users.iter().collect::<BTreeSet<_>>().len(), 60);
    assert_eq!(record.lines, 60);
    assert_eq!(record.users, 60);

    let intact = &record.files[0];
    let bytes = stack.download(intact).await;
    let entries = zip_entries(bytes.clone()).await.expect("zip");
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "data/",
            "data/part-1.json",
            "data/part-2.txt",
            "data/part-3.json"
        ]
    );
    assert_eq!(
        python_zip_listing(&bytes).expect("python reads it"),
        vec![
            ("data/".to_owned(), true),
            ("data/part-1.json".to_owned(), false),
            ("data/part-2.txt".to_owned(), false),
            ("data/part-3.json".to_owned(), false),
        ]
    );

    let empty = zip_entries(stack.download(&record.empty[0]).await)
        .await
        .expect("empty zip is valid");
    assert_eq!(empty.len(), 1);
    assert!(empty[0].0.ends_with(".json") && empty[0].1.is_empty());

    let truncated = stack.download(&record.truncated[0]).await;
    assert!(!truncated.is_empty());
    assert!(zip_entries(truncated.clone()).await.is_err(), "cut archive");
    assert_eq!(python_zip_listing(&truncated), None);
}

#[tokio::test]
async fn when_gzip_faults_are_set_then_bad_lines_empty_and_cut_files_match_the_record() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(10),
            duplicate_every: Some(0),
            malformed_every: Some(5),
            members_per_zip: Some(4),
            empty_files: Some(2),
            truncate_files: Some(2),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-gz-faults", 30))
        .await
        .expect("seeded");

    let record = export_and_wait(&stack, "seg-gz-faults", "gzip").await;
    assert_eq!(record.files.len(), 7, "3 intact + 2 empty + 2 truncated");
    let (users, bad_positions) = check_intact_files(&stack, &record).await;
    assert!(
        record.injected.iter().all(|i| i.member.is_none()),
        "gzip has no members"
    );
    // 30 users + 7 bad lines (37 lines): positions 5, 10, .., 35.
    assert_eq!(bad_positions, (1..=7).map(|k| k * 5).collect::<Vec<u64>>());
    let intact: BTreeSet<String> = users.iter().cloned().collect();
    assert_eq!((users.len(), intact.len()), (30, 30));

    for key in &record.empty {
        let bytes = stack.download(key).await;
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a real gzip");
        assert_eq!(gunzip(&bytes).await.expect("valid gzip"), "");
    }
    for key in &record.truncated {
        let bytes = stack.download(key).await;
        assert!(gunzip(&bytes).await.is_err(), "{key} is cut");
        // Whatever inflates before the cut is users the intact files hold too.
        let mut partial = Vec::new();
        let _ = GzipDecoder::new(&bytes[..]).read_to_end(&mut partial).await;
        for line in String::from_utf8_lossy(&partial).lines() {
            if let Ok(user) = serde_json::from_str::<Value>(line) {
                let id = user["braze_id"].as_str().expect("braze_id");
                assert!(intact.contains(id), "{id} only in a truncated file");
            }
        }
    }
}
