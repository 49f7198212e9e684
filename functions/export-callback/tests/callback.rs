//! export-callback end to end on moto: real API Gateway v2 events through relay-lambda's edge
//! and the handler, manifests in a real S3 bucket, export files listed from another bucket,
//! `export_file` jobs on a real SQS queue.

use bytes::Bytes;
use chrono::{Duration, Utc};
use export_callback::{Deps, handler};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::{Body, Context, LambdaEvent};
use relay_core::export::callback::CallbackSigner;
use relay_core::export::location::ExportLocation;
use relay_core::export::manifest::{
    ExportAction, ExportManifest, ExportState, JobId, MANIFEST_VERSION, Manifests,
};
use relay_core::jobs::Job;
use relay_core::queue::SqsQueue;
use relay_core::store::{ObjectStore, S3Store};
use relay_lambda::http_edge::{EdgeError, answer};
use relay_lambda::metrics::{MemoryMetrics, Metric};
use relay_lambda::problem::Problem;
use relay_tests::Moto;
use relay_tests::exports::{callback_event, query_of};
use secrecy::SecretString;
use serde_json::Value;

const SECRET: &str = "export-callback-test-secret-0123456789";
const BASE: &str = "https://relay.example.com/braze/export-callback";

struct Stack {
    moto: Moto,
    deps: Deps<S3Store, S3Store, SqsQueue>,
    queue_url: String,
    metrics: MemoryMetrics,
}

impl Stack {
    async fn start() -> Stack {
        let moto = Moto::start();
        let state_bucket = moto.create_bucket("state").await;
        let export_bucket = moto.create_bucket("exports").await;
        let queue_url = moto.create_queue("sync").await;
        let s3 = moto.s3_client().await;
        let metrics = MemoryMetrics::new();
        let deps = Deps {
            state: S3Store::new(s3.clone(), state_bucket),
            exports: S3Store::new(s3, export_bucket),
            queue: SqsQueue::new(moto.sqs_client().await, queue_url.clone()),
            location: ExportLocation::in_folder("braze-exports"),
            signer: signer(SECRET),
            metrics: metrics.sink(),
        };
        Stack {
            moto,
            deps,
            queue_url,
            metrics,
        }
    }

    /// A `requested` job for `segment` whose Braze folder is `object_prefix`.
    async fn job(&self, segment: &str, object_prefix: Option<&str>) -> JobId {
        let now = Utc::now();
        let job = JobId::generate(now);
        Manifests::new(&self.deps.state)
            .create(&ExportManifest {
                v: MANIFEST_VERSION,
                job: job.clone(),
                segment_id: segment.into(),
                action: ExportAction::UserflowSync,
                output_format: relay_clients::braze::models::OutputFormat::Zip,
                fields: vec!["external_id".into(), "braze_id".into()],
                custom_attributes: vec![],
                object_prefix: object_prefix.map(str::to_owned),
                requested_at: now,
                callback_expires_at: now + Duration::hours(1),
                state: ExportState::Requested,
                updated_at: now,
                files: vec![],
                error: None,
                totals: None,
            })
            .await
            .unwrap();
        job
    }

    async fn file(&self, key: &str) {
        self.deps
            .exports
            .put(key, Bytes::from_static(b"PK\x05\x06"), "application/zip")
            .await
            .unwrap();
    }

    async fn manifest(&self, job: &JobId) -> ExportManifest {
        Manifests::new(&self.deps.state)
            .load(job)
            .await
            .unwrap()
            .unwrap()
    }

    async fn callback(&self, query: &str, body: &str) -> (u16, Value) {
        let document = serve(&self.deps, callback_event(query, body)).await;
        let Some(Body::Text(text)) = &document.body else {
            panic!("a text body: {document:?}");
        };
        (
            document.status_code as u16,
            serde_json::from_str(text).expect("a JSON body"),
        )
    }

    /// Braze's `{"success":true}` on this job's valid URL.
    async fn signed_success(&self, job: &JobId) -> (u16, Value) {
        self.callback(
            &signed_query(SECRET, job, Duration::hours(1)),
            r#"{"success":true}"#,
        )
        .await
    }

    /// `(Rejected, ExportFilesQueued)` of the last callback's metrics.
    fn last_metrics(&self) -> (Option<u64>, Option<u64>) {
        let set = self
            .metrics
            .last()
            .expect("every callback reports its metrics");
        (
            set.count(Metric::Rejected),
            set.count(Metric::ExportFilesQueued),
        )
    }

    async fn queued(&self) -> Vec<Job> {
        self.moto
            .receive_all(&self.queue_url)
            .await
            .iter()
            .map(|body| Job::decode(body).expect("an export_file job"))
            .collect()
    }
}

fn signer(secret: &str) -> CallbackSigner {
    CallbackSigner::new(SecretString::from(secret))
}

fn signed_query(secret: &str, job: &JobId, expires_in: Duration) -> String {
    query_of(&signer(secret).url(BASE, job, Utc::now() + expires_in)).to_owned()
}

async fn serve(deps: &Deps<S3Store, S3Store, SqsQueue>, event: Value) -> ApiGatewayV2httpResponse {
    answer(
        LambdaEvent::new(event, Context::default()),
        &|request| handler(deps, request),
        &|error: &EdgeError| Problem::from(error).into_response(),
    )
    .await
    .expect("export-callback always answers")
}

#[tokio::test]
async fn when_braze_calls_back_then_one_job_per_file_of_the_export_is_queued_once() {
    let stack = Stack::start().await;
    let job = stack.job("seg-42", Some("p1-1796573700")).await;
    // The date folder is the next day; another export, a CSV and another segment are ignored.
    let tomorrow = (Utc::now() + Duration::days(1)).format("%Y-%m-%d");
    let ours = [
        format!("braze-exports/segment-export/seg-42/{tomorrow}/p1-1796573700/b.zip"),
        format!("braze-exports/segment-export/seg-42/{tomorrow}/p1-1796573700/a.zip"),
    ];
    for key in ours.iter().cloned().chain([
        format!("braze-exports/segment-export/seg-42/{tomorrow}/p0-1796570000/old.zip"),
        "braze-exports/segment-export/seg-42/dashboard.csv".to_owned(),
        format!("braze-exports/segment-export/seg-43/{tomorrow}/p1-1796573700/c.zip"),
        format!("segment-export/seg-42/{tomorrow}/p1-1796573700/no-folder.zip"),
    ]) {
        stack.file(&key).await;
    }
    let query = signed_query(SECRET, &job, Duration::hours(1));

    let (status, body) = stack.callback(&query, r#"{"success": true}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "dispatched");
    assert_eq!(body["files"], 2);
    assert_eq!(stack.last_metrics(), (Some(0), Some(2)));
    let mut expected: Vec<String> = ours.to_vec();
    expected.sort();
    let manifest = stack.manifest(&job).await;
    assert_eq!(manifest.state, ExportState::Dispatched);
    assert_eq!(manifest.files, expected);
    let mut queued: Vec<(usize, String)> = stack
        .queued()
        .await
        .into_iter()
        .map(|job_message| match job_message {
            Job::ExportFile(file) => {
                assert_eq!(file.export, job);
                (file.index, file.key)
            }
            other => panic!("not an export_file job: {other:?}"),
        })
        .collect();
    queued.sort();
    assert_eq!(
        queued,
        vec![(0, expected[0].clone()), (1, expected[1].clone())]
    );

    // Braze (or anyone holding the URL) calls again: nothing changes, nothing is queued.
    let (status, body) = stack.callback(&query, r#"{"success": true}"#).await;
    assert_eq!(
        (status, &body["outcome"]),
        (200, &Value::from("already-handled")),
        "{body}"
    );
    assert!(stack.queued().await.is_empty());
    assert_eq!(stack.manifest(&job).await.state, ExportState::Dispatched);
    assert_eq!(
        stack.last_metrics(),
        (Some(0), Some(0)),
        "nothing queued again"
    );
    assert_eq!(stack.metrics.emitted().len(), 2, "one set per callback");
}

#[tokio::test]
async fn when_the_url_is_forged_expired_or_for_another_job_then_401_and_nothing_changes() {
    let stack = Stack::start().await;
    let job = stack.job("seg-1", Some("p-1")).await;
    let other = stack.job("seg-1", Some("p-2")).await;
    stack
        .file(&format!(
            "braze-exports/segment-export/seg-1/{}/p-1/a.zip",
            Utc::now().format("%Y-%m-%d")
        ))
        .await;
    let valid_for_other = signed_query(SECRET, &other, Duration::hours(1));
    let cases = [
        (
            "signed with another secret",
            signed_query("not-the-relay-secret-at-all", &job, Duration::hours(1)),
        ),
        ("expired", signed_query(SECRET, &job, Duration::seconds(-5))),
        (
            "another job's URL",
            valid_for_other.replace(other.as_str(), job.as_str()),
        ),
        ("no signature", format!("job={job}&exp=9999999999")),
        ("nothing", String::new()),
    ];
    let mut refused = 0;
    for (case, query) in cases {
        let (status, body) = stack.callback(&query, r#"{"success": true}"#).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(
            body["type"], "urn:lifecycle-relay:problem:callback-unauthorized",
            "{case}"
        );
        assert!(!body.to_string().contains(SECRET), "{case}");
        assert_eq!(stack.last_metrics(), (Some(1), Some(0)), "{case}: refused");
        refused += 1;
        assert_eq!(
            stack.metrics.emitted().len(),
            refused,
            "{case}: one set each"
        );
    }
    assert_eq!(stack.manifest(&job).await.state, ExportState::Requested);
    assert!(stack.queued().await.is_empty());
}

#[tokio::test]
async fn when_the_job_is_unknown_or_braze_reports_failure_then_404_or_failed_is_recorded() {
    let stack = Stack::start().await;
    let unknown = JobId::generate(Utc::now());
    let (status, body) = stack
        .callback(
            &signed_query(SECRET, &unknown, Duration::hours(1)),
            r#"{"success": true}"#,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["type"],
        "urn:lifecycle-relay:problem:unknown-export-job"
    );
    assert_eq!(
        stack.last_metrics(),
        (Some(1), Some(0)),
        "unknown job: refused"
    );

    let job = stack.job("seg-1", Some("p-1")).await;
    let query = signed_query(SECRET, &job, Duration::hours(1));
    let (status, body) = stack.callback(&query, r#"{"success": "false"}"#).await;
    assert_eq!(
        (status, &body["outcome"]),
        (200, &Value::from("recorded-failure")),
        "{body}"
    );
    let manifest = stack.manifest(&job).await;
    assert_eq!(manifest.state, ExportState::Failed);
    assert!(manifest.error.unwrap().contains("Braze reported"));
    assert_eq!(
        stack.last_metrics(),
        (Some(0), Some(0)),
        "a failure Braze reports is recorded, not refused"
    );

    let (status, body) = stack.callback(&query, r#"{"succes": true}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("success"),
        "{body}"
    );
    assert_eq!(
        stack.last_metrics(),
        (Some(1), Some(0)),
        "malformed: refused"
    );
}

#[tokio::test]
async fn when_the_export_has_no_file_then_the_job_completes_at_once() {
    let stack = Stack::start().await;
    let job = stack.job("empty-segment", Some("p-0")).await;
    let (status, body) = stack.signed_success(&job).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["files"], &body["state"]),
        (&Value::from(0), &Value::from("completed"))
    );
    let manifest = stack.manifest(&job).await;
    assert_eq!(manifest.state, ExportState::Completed);
    assert_eq!(manifest.totals.unwrap().lines, 0);
}

#[tokio::test]
async fn when_the_queue_refuses_then_503_and_a_retried_callback_dispatches() {
    let mut stack = Stack::start().await;
    let job = stack.job("seg-9", Some("p-9")).await;
    stack
        .file(&format!(
            "braze-exports/segment-export/seg-9/{}/p-9/a.gz",
            Utc::now().format("%Y-%m-%d")
        ))
        .await;
    let good_queue = std::mem::replace(
        &mut stack.deps.queue,
        SqsQueue::new(
            stack.moto.sqs_client().await,
            format!("{}-missing", stack.queue_url),
        ),
    );
    let query = signed_query(SECRET, &job, Duration::hours(1));
    let (status, body) = stack.callback(&query, r#"{"success":true}"#).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "urn:lifecycle-relay:problem:dispatch-failed");
    let failed = stack.manifest(&job).await;
    assert_eq!(failed.state, ExportState::Dispatching);
    assert!(failed.error.unwrap().contains("send the callback again"));
    assert_eq!(
        stack.last_metrics(),
        (Some(0), Some(0)),
        "a 503 is a failure to retry, not a refusal"
    );

    stack.deps.queue = good_queue;
    let (status, body) = stack.callback(&query, r#"{"success":true}"#).await;
    assert_eq!(
        (status, &body["outcome"]),
        (200, &Value::from("dispatched")),
        "{body}"
    );
    assert_eq!(stack.queued().await.len(), 1);
    assert_eq!(stack.last_metrics(), (Some(0), Some(1)));
}

#[tokio::test]
async fn when_the_job_was_cancelled_then_braze_calling_back_changes_nothing() {
    let stack = Stack::start().await;
    let job = stack.job("seg-5", Some("p-5")).await;
    stack
        .file(&format!(
            "braze-exports/segment-export/seg-5/{}/p-5/a.zip",
            Utc::now().format("%Y-%m-%d")
        ))
        .await;
    Manifests::new(&stack.deps.state)
        .update(&job, |m| {
            m.state = ExportState::Cancelled;
            relay_core::export::manifest::Change::Write
        })
        .await
        .unwrap();
    let (status, body) = stack.signed_success(&job).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["outcome"], &body["state"]),
        (&Value::from("already-handled"), &Value::from("cancelled"))
    );
    assert!(stack.queued().await.is_empty());
    assert_eq!(stack.manifest(&job).await.state, ExportState::Cancelled);
}

#[tokio::test]
async fn when_the_body_is_deep_not_utf8_or_too_large_then_400_or_413_and_nothing_changes() {
    let stack = Stack::start().await;
    let job = stack.job("seg-1", Some("p-1")).await;
    let query = signed_query(SECRET, &job, Duration::hours(1));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, body) = stack.callback(&query, &deep).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "urn:lifecycle-relay:problem:malformed-body");
    let big = format!(r#"{{"success":true,"pad":"{}"}}"#, "x".repeat(70_000));
    let (status, body) = stack.callback(&query, &big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        body["type"],
        "urn:lifecycle-relay:problem:payload-too-large"
    );
    // `{"success":<0xff>}`, base64-encoded as API Gateway sends a binary body.
    let mut event = callback_event(&query, "");
    event["body"] = "eyJzdWNjZXNzIjr/fQ==".into();
    event["isBase64Encoded"] = true.into();
    let document = serve(&stack.deps, event).await;
    assert_eq!(document.status_code, 400, "{document:?}");
    assert_eq!(stack.manifest(&job).await.state, ExportState::Requested);
    assert!(stack.queued().await.is_empty());
}
