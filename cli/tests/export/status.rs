//! `relay export status`: counts, exit codes, the listing, `--watch` and its timeout.

use super::*;

#[tokio::test]
async fn when_a_job_is_looked_at_then_its_counts_add_up_and_the_exit_says_how_it_ended() {
    let stack = Stack::start().await;
    let env = stack.env();
    let clean = [counts(10, 8, 1, 1, 0), counts(20, 19, 0, 1, 0)];
    // (job, manifest state, files' end states and counts, expected exit)
    let cases: Vec<StatusCase> = vec![
        ("job-a-requested", ExportState::Requested, vec![], 0),
        (
            "job-b-clean",
            ExportState::Completed,
            vec![(FileState::Done, clean[0]), (FileState::Done, clean[1])],
            0,
        ),
        (
            "job-c-rejects",
            ExportState::Completed,
            vec![
                (FileState::Done, clean[0]),
                (FileState::Done, counts(7, 4, 0, 0, 3)),
            ],
            3,
        ),
        (
            "job-d-failed-file",
            ExportState::Completed,
            vec![
                (FileState::Done, clean[0]),
                (FileState::Failed, counts(0, 0, 0, 0, 0)),
            ],
            3,
        ),
        ("job-e-failed", ExportState::Failed, vec![], 1),
        (
            "job-f-running",
            ExportState::Dispatched,
            vec![(FileState::Reading, counts(5, 5, 0, 0, 0))],
            0,
        ),
    ];
    for (job, state, files, _) in &cases {
        let job = JobId::parse(job).unwrap();
        put_manifest(&stack, &job, *state, files.len()).await;
        for (index, (file_state, file_counts)) in files.iter().enumerate() {
            put_progress(&stack, &job, index, *file_state, *file_counts).await;
        }
    }
    for (job, state, files, exit) in &cases {
        let output = relay(&["--json", "export", "status", job], &env).await;
        assert_eq!(code(&output), *exit, "{job}: {output:?}");
        let document = json(&output);
        assert_eq!(document["manifest"]["state"], state.as_str(), "{job}");
        let mut expected = FileCounts::default();
        for (_, file_counts) in files {
            expected.lines += file_counts.lines;
            expected.upserted += file_counts.upserted;
            expected.rejected += file_counts.rejected;
            expected.duplicates += file_counts.duplicates;
        }
        assert_eq!(document["counts"]["lines"], expected.lines, "{job}");
        assert_eq!(document["counts"]["upserted"], expected.upserted, "{job}");
        assert_eq!(document["counts"]["rejected"], expected.rejected, "{job}");
        assert_eq!(
            document["counts"]["duplicates"], expected.duplicates,
            "{job}"
        );
        let done = files.iter().filter(|(s, _)| *s == FileState::Done).count();
        let failed = files
            .iter()
            .filter(|(s, _)| *s == FileState::Failed)
            .count();
        assert_eq!(document["files_done"], done, "{job}");
        assert_eq!(document["files_failed"], failed, "{job}");
        assert_eq!(document["files_total"], files.len(), "{job}");
        assert_eq!(
            document["rejects"],
            format!("s3://{}/exports/{job}/rejects/", stack.state_bucket)
        );
    }

    let rejects = relay(&["export", "status", "job-c-rejects"], &env).await;
    let shown = text(&rejects);
    assert!(
        shown.contains("export job-c-rejects of segment seg-status: completed"),
        "{shown}"
    );
    assert!(
        shown.contains("files: 2 done, 0 failed, 2 total"),
        "{shown}"
    );
    assert!(
        shown.contains("lines 17, users 14, upserted 12, skipped without external id 1, duplicates 1, rejected 3, dropped attributes 2"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "s3://{}/exports/job-c-rejects/rejects/",
            stack.state_bucket
        )),
        "{shown}"
    );
    let failed_file = relay(&["export", "status", "job-d-failed-file"], &env).await;
    assert!(
        text(&failed_file).contains("/1.gz: the zip is truncated"),
        "{}",
        text(&failed_file)
    );

    let unknown = relay(&["export", "status", "job-z-none"], &env).await;
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("no export job job-z-none"),
        "{unknown:?}"
    );
    let bad = relay(&["export", "status", "../x"], &env).await;
    assert_eq!(code(&bad), 2, "{bad:?}");

    let listed = relay(&["--json", "export", "status"], &env).await;
    assert_eq!(code(&listed), 0, "{listed:?}");
    let jobs: Vec<(String, String)> = json(&listed)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap().to_owned(),
                j["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = cases
        .iter()
        .map(|(job, state, _, _)| ((*job).to_owned(), state.as_str().to_owned()))
        .collect();
    assert_eq!(jobs, expected, "oldest (smallest id) first");
    let table = text(&relay(&["export", "status"], &env).await);
    assert!(table.starts_with("job"), "{table}");
    assert!(
        table.lines().last().unwrap().starts_with("job-f-running"),
        "{table}"
    );
}

#[tokio::test]
async fn when_a_job_is_watched_then_the_command_waits_for_its_end_and_exits_by_it() {
    let stack = Stack::start().await;
    let env = stack.env();
    let job = JobId::parse("job-watched").unwrap();
    put_manifest(&stack, &job, ExportState::Dispatched, 1).await;
    put_progress(&stack, &job, 0, FileState::Reading, counts(4, 4, 0, 0, 0)).await;

    let watching = tokio::spawn({
        let env = env.clone();
        async move {
            relay(
                &[
                    "--json",
                    "export",
                    "status",
                    "job-watched",
                    "--watch",
                    "--interval-ms",
                    "50",
                ],
                &env,
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !watching.is_finished(),
        "--watch returned before the job ended"
    );
    put_progress(&stack, &job, 0, FileState::Done, counts(9, 7, 0, 0, 2)).await;
    Manifests::new(&stack.store())
        .update(&job, |m| {
            m.state = ExportState::Completed;
            Change::Write
        })
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(30), watching)
        .await
        .expect("--watch ends once the job is completed")
        .unwrap();
    assert_eq!(code(&output), 3, "rejected lines: partly done; {output:?}");
    let document = json(&output);
    assert_eq!(document["manifest"]["state"], "completed");
    assert_eq!(document["counts"]["upserted"], 7);
    assert_eq!(document["files_done"], 1);

    // A job that does not end: --timeout-secs gives up with exit 1 and the status so far.
    let stuck = JobId::parse("job-stuck").unwrap();
    put_manifest(&stack, &stuck, ExportState::Dispatched, 1).await;
    let gave_up = relay(
        &[
            "export",
            "status",
            "job-stuck",
            "--watch",
            "--interval-ms",
            "50",
            "--timeout-secs",
            "1",
        ],
        &env,
    )
    .await;
    assert_eq!(code(&gave_up), 1, "{gave_up:?}");
    assert!(
        text(&gave_up).contains("gave up watching after 1 s: the job is still dispatched"),
        "{}",
        text(&gave_up)
    );
}
