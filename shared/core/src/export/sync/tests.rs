//! Unit tests of [`FileSync::attempt`]'s counts: exactly what the attempt's checkpoints saved,
//! whatever the outcome, so each line is counted once across attempts.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use flate2::Compression;
use flate2::write::GzEncoder;
use relay_clients::upstream::FailureClass;
use relay_clients::userflow::{UserflowClient, UserflowConfig};
use tokio::sync::Notify;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::export::manifest::tests::manifest;
use crate::export::progress::progress_key;
use crate::queue::MemoryQueue;
use crate::store::MemoryStore;

const FILE: &str = "f0.gz";
const USERS: u64 = 5;

/// Five users, one per line, gzipped.
fn file() -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for n in 1..=USERS {
        writeln!(gz, r#"{{"braze_id":"b-{n}","external_id":"u-{n}"}}"#).unwrap();
    }
    gz.finish().unwrap()
}

/// One send at a time and a checkpoint every two lines: the first checkpoint saves lines 1-2,
/// the second (after lines 3-4 are answered) 3-4.
fn settings() -> FileSyncSettings {
    FileSyncSettings {
        concurrency: 1,
        checkpoint_lines: 2,
        checkpoint_interval: Duration::from_secs(600),
        ..FileSyncSettings::default()
    }
}

async fn dispatched(store: &MemoryStore, job: &str) -> ExportFileJob {
    let mut m = manifest(job);
    m.state = ExportState::Dispatched;
    m.files = vec![FILE.into()];
    Manifests::new(store).create(&m).await.unwrap();
    ExportFileJob {
        export: m.job,
        index: 0,
        key: FILE.into(),
    }
}

fn userflow(server: &MockServer) -> UserflowClient {
    UserflowClient::new(
        UserflowConfig::with_base_url(server.uri(), secrecy::SecretString::from("ak_test")),
        reqwest::Client::new(),
    )
    .unwrap()
}

/// Whether `request` upserts user `id`.
fn upserts(request: &Request, id: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(&request.body).is_ok_and(|body| body["id"] == id)
}

async fn attempt(
    store: &MemoryStore,
    userflow: &UserflowClient,
    job: &ExportFileJob,
    owner: &str,
) -> FileAttempt {
    let mapping = ExportMapping::default();
    let settings = settings();
    let sync = FileSync::<_, MemoryQueue> {
        state: store,
        userflow,
        erasures: None,
        mapping: &mapping,
        settings: &settings,
    };
    let source = crate::export::reader::MemorySource::new(FILE, file());
    sync.attempt(
        job,
        source,
        owner,
        Instant::now() + Duration::from_secs(30),
        Utc::now() + chrono::Duration::seconds(60),
    )
    .await
}

fn users(counts: Option<FileCounts>) -> (u64, u64) {
    let counts = counts.expect("the attempt claimed the file");
    (counts.users, counts.upserted)
}

#[tokio::test]
async fn when_a_checkpoint_fails_after_one_was_saved_then_the_attempt_counts_exactly_the_saved_lines()
 {
    let store = Arc::new(MemoryStore::new());
    let job = dispatched(&store, "job-save-fails").await;
    let server = MockServer::start().await;
    // Line 3's first send comes after the first checkpoint: the second one's write then
    // fails (once: the next attempt sends line 3 again).
    let faulty = Arc::clone(&store);
    let once = std::sync::Once::new();
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(move |request: &Request| {
            if upserts(request, "u-3") {
                once.call_once(|| faulty.fail_next("put_if_match", FailureClass::Transient));
            }
            ResponseTemplate::new(200)
        })
        .mount(&server)
        .await;
    let userflow = userflow(&server);

    let first = attempt(&store, &userflow, &job, "m1").await;
    assert!(first.outcome.is_err(), "{:?}", first.outcome);
    assert_eq!(
        users(first.counts),
        (2, 2),
        "lines 1-2 were saved; 3-4 were sent but not saved"
    );
    let second = attempt(&store, &userflow, &job, "m1").await;
    assert_eq!(second.outcome.unwrap(), FileOutcome::Ended(FileState::Done));
    assert_eq!(users(second.counts), (3, 3), "lines 3-5, sent again");
    // Every line counted once over the two attempts, as the file's own counts say.
    let saved: FileProgress =
        serde_json::from_slice(&store.get_now(&progress_key(&job.export, 0)).unwrap()).unwrap();
    assert_eq!(saved.counts.users, USERS);
}

#[tokio::test]
async fn when_the_marker_fails_after_the_file_was_saved_done_then_the_attempt_still_counts_it() {
    let store = MemoryStore::new();
    let job = dispatched(&store, "job-marker-fails").await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let userflow = userflow(&server);
    // No rejects: the only plain put is the `finished/` marker, after the final checkpoint.
    store.fail_next("put", FailureClass::Transient);

    let first = attempt(&store, &userflow, &job, "m1").await;
    assert!(first.outcome.is_err(), "{:?}", first.outcome);
    assert_eq!(
        users(first.counts),
        (USERS, USERS),
        "every line was saved done"
    );
    let second = attempt(&store, &userflow, &job, "m1").await;
    assert_eq!(second.outcome.unwrap(), FileOutcome::Ended(FileState::Done));
    assert_eq!(second.counts, None, "the file had ended: nothing read");
}

#[tokio::test]
async fn when_another_reader_takes_the_file_over_then_the_unsaved_lines_are_counted_by_it_only() {
    let store = MemoryStore::new();
    let job = dispatched(&store, "job-takeover").await;
    let server = MockServer::start().await;
    // Line 3's send comes after the first checkpoint; its answer (and line 4's) waits while
    // the test hands the file to reader `m2`.
    let sending_3 = Arc::new(Notify::new());
    let signal = Arc::clone(&sending_3);
    Mock::given(method("POST"))
        .and(path("/users"))
        .respond_with(move |request: &Request| {
            let response = ResponseTemplate::new(200);
            if upserts(request, "u-3") {
                signal.notify_one();
                return response.set_delay(Duration::from_millis(300));
            }
            response
        })
        .mount(&server)
        .await;
    let userflow = userflow(&server);
    let key = progress_key(&job.export, 0);
    let take_over = async {
        sending_3.notified().await;
        let mut progress: FileProgress =
            serde_json::from_slice(&store.get_now(&key).unwrap()).unwrap();
        assert_eq!(progress.lines_done, 2, "the first checkpoint was saved");
        progress.lease = Some(Lease {
            owner: "m2".into(),
            until: Utc::now() + chrono::Duration::seconds(60),
        });
        let body = serde_json::to_vec(&progress).unwrap();
        store
            .put(&key, body.into(), "application/json")
            .await
            .unwrap();
    };

    let (first, ()) = tokio::join!(attempt(&store, &userflow, &job, "m1"), take_over);
    assert_eq!(first.outcome.unwrap(), FileOutcome::TakenOver);
    assert_eq!(
        users(first.counts),
        (2, 2),
        "lines 3-4 were finished here but never saved: the new reader counts them"
    );
    let second = attempt(&store, &userflow, &job, "m2").await;
    assert_eq!(second.outcome.unwrap(), FileOutcome::Ended(FileState::Done));
    assert_eq!(users(second.counts), (3, 3), "lines 3-5");
    assert_eq!(
        users(first.counts).0 + users(second.counts).0,
        USERS,
        "each line counted once"
    );
}
