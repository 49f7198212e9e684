//! `relay export start|status|cancel` end to end: the relay binary against moto (the state
//! bucket and the export bucket) and the sandbox's Braze in process, whose segment exports
//! write real files to moto and call back a [`CallbackCatcher`].

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use async_compression::tokio::bufread::GzipDecoder;
use bytes::Bytes;
use chrono::Utc;
use common::{code, json, relay, stderr};
use relay_clients::braze::models::OutputFormat;
use relay_core::env::Env;
use relay_core::export::callback::{CallbackAuthError, CallbackQuery, CallbackSigner};
use relay_core::export::line::ExportMapping;
use relay_core::export::manifest::{
    Change, ExportAction, ExportManifest, ExportState, JobId, MANIFEST_VERSION, Manifests,
};
use relay_core::export::progress::{FileCounts, FileProgress, FileState, progress_key};
use relay_core::store::{ObjectStore, S3Store};
use relay_tests::Moto;
use sandbox::{
    CallbackCatcher, ExportSettingsPatch, ExportState as SandboxExportState, ExportStorage,
    Sandbox, SandboxConfig, SeedSegment,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// The callback secret of every test (at least 16 bytes).
const SECRET: &str = "export-callback-secret-of-the-tests";

/// One moto for the whole file (it stops when this process ends); buckets are unique per test.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// A sandbox whose exports go to a fresh moto bucket, a fresh state bucket, and a catcher
/// standing in for the callback route.
struct Stack {
    sandbox: Sandbox,
    catcher: CallbackCatcher,
    state_bucket: String,
    export_bucket: String,
    s3: aws_sdk_s3::Client,
}

impl Stack {
    async fn start() -> Stack {
        let moto = moto();
        let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
        let export_bucket = moto.create_bucket("braze-exports").await;
        sandbox
            .admin()
            .set_export_storage(&ExportStorage {
                bucket: export_bucket.clone(),
                endpoint: Some(moto.endpoint().to_owned()),
                region: "us-east-1".into(),
            })
            .await
            .unwrap();
        Stack {
            sandbox,
            catcher: CallbackCatcher::start().await.unwrap(),
            state_bucket: moto.create_bucket("relay-state").await,
            export_bucket,
            s3: moto.s3_client().await,
        }
    }

    /// The settings of an operator's relay for this stack.
    fn env(&self) -> HashMap<String, String> {
        let info = self.sandbox.info();
        [
            ("AWS_ENDPOINT_URL", moto().endpoint()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("STATE_BUCKET", self.state_bucket.as_str()),
            ("BRAZE_REST_ENDPOINT", info.braze.as_str()),
            ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true"),
            ("BRAZE_API_KEY", info.braze_key.as_str()),
            (
                "EXPORT_CALLBACK_URL",
                &format!("{}/braze/export-callback", self.catcher.url()),
            ),
            ("EXPORT_CALLBACK_SECRET", SECRET),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn store(&self) -> S3Store {
        S3Store::new(self.s3.clone(), self.state_bucket.clone())
    }

    async fn manifest(&self, job: &JobId) -> ExportManifest {
        Manifests::new(&self.store())
            .load(job)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no manifest for {job}"))
    }

    /// Seeds `count` users into `segment`.
    async fn seed(&self, segment: &str, count: usize) {
        self.sandbox
            .admin()
            .seed_segment(&SeedSegment::new(segment, count))
            .await
            .unwrap();
    }

    /// The JSON Lines of one gzip export file.
    async fn gzip_lines(&self, key: &str) -> Vec<Value> {
        let body = self
            .s3
            .get_object()
            .bucket(&self.export_bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let mut decoder = GzipDecoder::new(&body[..]);
        decoder.multiple_members(true);
        let mut text = String::new();
        decoder.read_to_string(&mut text).await.unwrap();
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// A manifest of `state` with `files` files, written straight to the state bucket.
async fn put_manifest(stack: &Stack, job: &JobId, state: ExportState, files: usize) {
    let now = Utc::now();
    Manifests::new(&stack.store())
        .create(&ExportManifest {
            v: MANIFEST_VERSION,
            job: job.clone(),
            segment_id: "seg-status".into(),
            action: ExportAction::UserflowSync,
            output_format: OutputFormat::Gzip,
            fields: vec!["external_id".into(), "braze_id".into()],
            custom_attributes: vec![],
            object_prefix: Some("prefix-1".into()),
            requested_at: now,
            callback_expires_at: now + chrono::Duration::hours(24),
            state,
            updated_at: now,
            files: (0..files)
                .map(|i| format!("segment-export/seg-status/2026-12-06/prefix-1/{i}.gz"))
                .collect(),
            error: (state == ExportState::Failed).then(|| "Braze reported failure".to_owned()),
            totals: None,
        })
        .await
        .unwrap();
}

/// File `index`'s progress document, as the worker writes it.
async fn put_progress(
    stack: &Stack,
    job: &JobId,
    index: usize,
    state: FileState,
    counts: FileCounts,
) {
    let progress = FileProgress {
        key: format!("segment-export/seg-status/2026-12-06/prefix-1/{index}.gz"),
        state,
        lines_done: counts.lines,
        finished_above: vec![],
        counts,
        error: (state == FileState::Failed).then(|| "the zip is truncated".to_owned()),
        lease: None,
        updated_at: Utc::now(),
    };
    stack
        .store()
        .put(
            &progress_key(job, index),
            Bytes::from(serde_json::to_vec(&progress).unwrap()),
            "application/json",
        )
        .await
        .unwrap();
}

fn counts(lines: u64, upserted: u64, skipped: u64, duplicates: u64, rejected: u64) -> FileCounts {
    FileCounts {
        lines,
        users: lines - rejected,
        upserted,
        skipped,
        duplicates,
        rejected,
        dropped_attributes: 1,
    }
}

/// A job for the status test: its id, manifest state, files' end states and counts, and the
/// exit `relay export status` must give.
type StatusCase = (&'static str, ExportState, Vec<(FileState, FileCounts)>, i32);

fn text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn when_an_export_is_started_then_the_manifest_braze_and_the_signed_callback_agree() {
    let stack = Stack::start().await;
    stack.seed("seg", 30).await;
    let mut env = stack.env();
    env.insert("EXPORT_CUSTOM_ATTRIBUTES".into(), "plan".into());

    let started = relay(
        &[
            "--json",
            "export",
            "start",
            "--segment",
            "seg",
            "--format",
            "gzip",
        ],
        &env,
    )
    .await;
    assert_eq!(code(&started), 0, "{}", stderr(&started));
    let printed = json(&started);
    let job = JobId::parse(printed["job"].as_str().unwrap()).unwrap();
    let out = format!("{}{}", text(&started), stderr(&started));
    assert!(!out.contains("sig=") && !out.contains(SECRET), "{out}");

    let mapping = ExportMapping::from_env(&Env::from_map(env.clone())).unwrap();
    let manifest = stack.manifest(&job).await;
    assert_eq!(manifest.state, ExportState::Requested);
    assert_eq!(manifest.fields, mapping.fields_to_export());
    assert_eq!(manifest.custom_attributes, ["plan"]);
    assert_eq!(manifest.output_format, OutputFormat::Gzip);
    assert_eq!(
        printed["object_prefix"],
        manifest.object_prefix.clone().unwrap().as_str()
    );
    assert_eq!(
        printed["fields"],
        serde_json::to_value(&manifest.fields).unwrap()
    );

    // Braze (the sandbox) exported exactly what was asked.
    let object_prefix = manifest.object_prefix.clone().unwrap();
    let record = stack
        .sandbox
        .admin()
        .wait_for_export(&object_prefix, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(record.state, SandboxExportState::Completed);
    assert_eq!(record.segment_id, "seg");
    assert_eq!(record.output_format, "gzip");
    let allowed: BTreeSet<&str> = manifest
        .fields
        .iter()
        .map(String::as_str)
        .chain(["custom_attributes"])
        .collect();
    let mut seen = BTreeSet::new();
    for key in &record.files {
        for line in stack.gzip_lines(key).await {
            for (field, value) in line.as_object().unwrap() {
                assert!(allowed.contains(field.as_str()), "{field} was not asked");
                seen.insert(field.clone());
                if field == "custom_attributes" {
                    let names: Vec<&String> = value.as_object().unwrap().keys().collect();
                    assert!(names.iter().all(|n| *n == "plan"), "{names:?}");
                }
            }
        }
    }
    assert!(
        seen.contains("external_id") && seen.contains("email"),
        "{seen:?}"
    );

    // The callback URL verifies for this job only.
    let caught = stack
        .catcher
        .next(Duration::from_secs(30))
        .await
        .expect("the callback arrives");
    let (path, query) = caught.path_and_query.split_once('?').unwrap();
    assert_eq!(path, "/braze/export-callback");
    assert_eq!(caught.json().unwrap()["success"], true);
    let signer = CallbackSigner::new(SecretString::from(SECRET));
    let query = CallbackQuery::parse(query);
    assert_eq!(signer.verify(&query, Utc::now()), Ok(job.clone()));
    let tampered = CallbackQuery {
        job: Some(format!("{}x", job.as_str())),
        ..query.clone()
    };
    assert_eq!(
        signer.verify(&tampered, Utc::now()),
        Err(CallbackAuthError::BadSignature)
    );
    let expires = manifest.callback_expires_at.timestamp();
    assert_eq!(query.exp, Some(expires.to_string()));
    let ttl = expires - manifest.requested_at.timestamp();
    assert!(
        (24 * 3600 - 1..=24 * 3600).contains(&ttl),
        "default TTL 24 h: {ttl}"
    );

    // The text form names the job and the object prefix.
    let again = relay(
        &[
            "export",
            "start",
            "--segment",
            "seg",
            "--fields",
            "external_id,email",
        ],
        &env,
    )
    .await;
    // Without braze_id the sync could not recognise duplicates: refused before anything runs.
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("braze_id"), "{}", stderr(&again));
    let again = relay(
        &[
            "export",
            "start",
            "--segment",
            "seg",
            "--fields",
            "external_id,braze_id,email",
        ],
        &env,
    )
    .await;
    // One export per segment at a time in Braze: the first one finished, so this one runs.
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    let line = text(&again);
    let second = line
        .strip_prefix("started export ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"));
    let second = stack.manifest(&JobId::parse(second).unwrap()).await;
    assert!(
        line.contains(&format!(
            "of segment seg (object prefix {})",
            second.object_prefix.as_deref().unwrap()
        )),
        "{line}"
    );
    assert_eq!(second.fields, ["external_id", "braze_id", "email"]);
    assert_eq!(second.custom_attributes, ["plan"], "from the mapping");
}

#[tokio::test]
async fn when_braze_refuses_the_segment_then_exit_1_with_its_reason_and_the_job_is_failed() {
    let stack = Stack::start().await;
    let refused = relay(
        &["export", "start", "--segment", "no-such-segment"],
        &stack.env(),
    )
    .await;
    assert_eq!(code(&refused), 1, "{refused:?}");
    let error = stderr(&refused);
    assert!(error.contains("no-such-segment"), "{error}");
    assert!(error.contains("no such segment"), "Braze's reason: {error}");
    assert!(!error.contains("sig="), "{error}");

    let store = stack.store();
    let jobs = Manifests::new(&store).jobs().await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let manifest = stack.manifest(&jobs[0]).await;
    assert_eq!(manifest.state, ExportState::Failed);
    let reason = manifest.error.unwrap();
    assert!(reason.contains("Braze refused the export"), "{reason}");
    assert!(manifest.object_prefix.is_none());
}

#[tokio::test]
async fn when_a_setting_is_missing_or_out_of_range_then_exit_2_names_it_and_nothing_starts() {
    let stack = Stack::start().await;
    stack.seed("seg", 5).await;
    let cases: [(&str, Option<&str>); 5] = [
        ("EXPORT_CALLBACK_URL", None),
        ("EXPORT_CALLBACK_URL", Some("not a url")),
        ("EXPORT_CALLBACK_SECRET", Some("short")),
        ("EXPORT_CALLBACK_TTL_HOURS", Some("0")),
        ("EXPORT_CALLBACK_TTL_HOURS", Some("169")),
    ];
    for (variable, value) in cases {
        let mut env = stack.env();
        match value {
            None => env.remove(variable),
            Some(value) => env.insert(variable.to_owned(), value.to_owned()),
        };
        let output = relay(&["--json", "export", "start", "--segment", "seg"], &env).await;
        assert_eq!(code(&output), 2, "{variable}={value:?}: {output:?}");
        assert_eq!(json(&output)["error"]["variable"], variable);
    }
    let unset = {
        let mut env = stack.env();
        env.remove("STATE_BUCKET");
        relay(&["export", "status"], &env).await
    };
    assert_eq!(code(&unset), 2);
    assert!(stderr(&unset).contains("STATE_BUCKET"));

    let store = stack.store();
    assert!(Manifests::new(&store).jobs().await.unwrap().is_empty());
    assert!(stack.sandbox.admin().exports().await.unwrap().is_empty());
}

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

#[tokio::test]
async fn when_a_running_export_is_cancelled_then_braze_stops_and_a_second_cancel_exits_1() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(5),
            file_delay_ms: Some(2_000),
            ..ExportSettingsPatch::default()
        })
        .await
        .unwrap();
    stack.seed("seg", 30).await;
    let env = stack.env();
    let started = relay(&["--json", "export", "start", "--segment", "seg"], &env).await;
    assert_eq!(code(&started), 0, "{started:?}");
    let job = json(&started)["job"].as_str().unwrap().to_owned();

    let cancelled = relay(&["export", "cancel", &job], &env).await;
    assert_eq!(code(&cancelled), 0, "{cancelled:?}");
    assert!(
        text(&cancelled).contains("Braze's running export was cancelled too"),
        "{}",
        text(&cancelled)
    );
    let manifest = stack.manifest(&JobId::parse(&job).unwrap()).await;
    assert_eq!(manifest.state, ExportState::Cancelled);
    let record = admin
        .wait_for_export(
            manifest.object_prefix.as_deref().unwrap(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(record.state, SandboxExportState::Cancelled);
    assert!(record.files.len() < 6, "stopped early: {:?}", record.files);

    let again = relay(&["--json", "export", "cancel", &job], &env).await;
    assert_eq!(code(&again), 1, "{again:?}");
    let document = json(&again);
    assert_eq!(document["cancelled"], false);
    assert_eq!(document["state"], "cancelled");
    let status = relay(&["export", "status", &job], &env).await;
    assert_eq!(code(&status), 1, "a cancelled job exits 1");
    assert!(
        text(&status).contains("reason: cancelled by an operator"),
        "{status:?}"
    );

    let unknown = relay(&["export", "cancel", "job-none"], &env).await;
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("no export job job-none"),
        "{unknown:?}"
    );
}
